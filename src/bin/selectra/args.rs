//! The command line's definition: every command, its flags and their help (clap).

use clap::{Parser, Subcommand};
use selectra::domain::precision::Precision;
use selectra::domain::query::FilterSpec;
use selectra::domain::task::{ZeroShotTask, DEFAULT_TEMPLATE};
use selectra::engine::model::Model;
use std::path::PathBuf;

use crate::output::load;

#[derive(Parser)]
#[command(name = "selectra", version = selectra::VERSION, about = "SELECTRA (Spanish ELECTRA) models from the command line")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Per-token discriminator scores: which tokens look replaced?
    Inspect(InspectArgs),
    /// Zero-shot classification with an NLI model, as transformers' pipeline computes it.
    Zeroshot(ZeroshotArgs),
    /// Classify a text (or a text pair) with a fine-tuned classifier's own labels, as
    /// transformers' text-classification pipeline computes it: every label's score, highest first.
    /// With --db and --corpus, every record of a corpus, as a run (the identical command resumes).
    Classify(ClassifyArgs),
    /// Tag the entities of a text with a token classifier (NER), as transformers'
    /// token-classification pipeline computes them.
    Tag(TagArgs),
    /// Corpora in a project database: import, list.
    Corpus {
        #[command(subcommand)]
        command: CorpusCommand,
    },
    /// Zero-shot labels for every record of a corpus; the identical command resumes a run.
    Run(RunArgs),
    /// Scan every record of a corpus with a discriminator (which tokens look replaced?); the
    /// identical command resumes a scan.
    Scan(ScanArgs),
    /// Embed every record of a corpus: a sentence-transformers model as its encode does, any
    /// other checkpoint by the mean of its encoder's last hidden states at unit length; the
    /// identical command resumes.
    Embed(EmbedArgs),
    /// Train a classifier on the corpus's labels (accepted annotations, else gold) over a model's
    /// embeddings (embedding what is missing): cross-validated, and stored as a run of kind
    /// "trained" with every record's scores.
    Train(TrainArgs),
    /// Fine-tune a model (SELECTRA, BERT, RoBERTa: a discriminator, an encoder or a classifier)
    /// on the corpus's labels into a folder transformers loads; its predictions on the held-out
    /// records become a classifier run. The identical command resumes after a kill or Ctrl-C.
    Finetune(FinetuneArgs),
    /// The template lab: several hypothesis templates scored on the labeled records (accepted
    /// annotations, else gold) in one go, best macro F1 first; each number is what a run with
    /// the template followed by evaluation gives.
    Templates(TemplatesArgs),
    /// Write a trained run's head for use elsewhere: head.safetensors (weight, bias) and
    /// head.json (labels, base model, embedding recipe, cross-validation).
    ExportHead(ExportHeadArgs),
    /// Delete a run (with its predictions), a scan (with its results) or an embedding set (with
    /// its vectors and the trained runs that read it), as the app's delete buttons do.
    #[command(group(clap::ArgGroup::new("what").required(true).args(["run", "scan", "embeddings"])))]
    Delete(DeleteArgs),
    /// The scans in a project, with their ids and progress.
    Scans(ScansArgs),
    /// The most suspicious records of a scan with their flagged words, or with --words the word
    /// forms flagged most often.
    Suspicious(SuspiciousArgs),
    /// Store the results of a corpus job computed elsewhere (the Python package's Ray jobs) as
    /// the run, scan or embedding set the same job makes here. Importing again adds nothing.
    ImportRun(ImportRunArgs),
    /// Write a corpus and its predictions out.
    Export(ExportArgs),
    /// Annotate records from a stream of JSON lines on stdin, one acknowledgement per line on
    /// stdout once the change is durable. A line is {"row": N, "labels": [..], "status": "accepted"}
    /// (status defaults to accepted) or {"undo": true}.
    Annotate(AnnotateArgs),
    /// A shareable comparison report: index.html (inline SVG charts), report.json and figures/
    /// (SVG and PNG). With --db, runs are scored against accepted annotations or the gold column;
    /// with --published, only the published SELECTRA comparison.
    Report(ReportArgs),
    /// The records of a corpus that match filters, a page at a time (with --json: one object
    /// {"total": N, "records": [...], "next": CURSOR}).
    Query(QueryArgs),
    /// Labels (or discards, or gives a tagging run's entities as spans) every record matching the
    /// filters in one batch, and prints the batch id; `{"undo": true}` on `selectra annotate`
    /// reverts the whole batch.
    Label(LabelArgs),
    /// A corpus's label schema: names, descriptions, keys, colours, hypotheses and guidelines.
    Schema(SchemaArgs),
    /// Agreement between a corpus's annotators: Cohen's kappa per pair, Fleiss' kappa for three
    /// or more, and how many records they dispute.
    Agreement(AgreementArgs),
    /// Likely label errors (confident learning, as cleanlab finds them) among the records a run
    /// scored that have a reference label, lowest self-confidence first, with the noise matrix.
    Issues(IssuesArgs),
    /// Groups of records that are probably one text twice: the same text after normalisation
    /// (case, spacing, Unicode form) and, with an embedding set, records whose vectors are within
    /// a cosine threshold; labels that disagree inside a group are flagged.
    Duplicates(DuplicatesArgs),
    /// The records most like one record, or like a text you type (embedded by the set's own
    /// model), by cosine similarity of their embeddings (exact search).
    #[command(group(clap::ArgGroup::new("from").required(true).args(["row", "text"])))]
    Similar(SimilarArgs),
    /// Why a model gives a text its label: each word's weight, by leave-one-out (the drop in
    /// the label's score without the word) or LIME (LIT's defaults, seeded). A zero-shot model
    /// with --labels, a classifier with its own labels, or with --db and --run a record of a run
    /// (any kind that labels records, trained heads included); with --key-words, the words each
    /// of the run's labels keys on over its most confident records.
    Explain(ExplainArgs),
    /// The corpus as a 2-D map of an embedding set (PCA or UMAP of its unit vectors), made once
    /// and stored; with --inside, the records a drawn outline encloses (the app's lasso).
    Map(MapArgs),
    /// The preset models and what the Hugging Face cache holds.
    Models(ModelsArgs),
}

/// What zero-shot classification needs, shared by `zeroshot` and `run`.
#[derive(clap::Args)]
pub struct ZeroShotArgs {
    /// An NLI model folder or Hub id (e.g. Recognai/zeroshot_selectra_medium).
    #[arg(long)]
    pub model: String,
    /// Comma-separated candidate labels.
    #[arg(long)]
    pub labels: Option<String>,
    /// Hypothesis template; {} is replaced by each label.
    #[arg(long, default_value = DEFAULT_TEMPLATE)]
    pub template: String,
    /// Score each label independently instead of making labels compete.
    #[arg(long)]
    pub multi_label: bool,
    /// Override the tokenizer's accent stripping.
    #[arg(long, value_name = "true|false")]
    pub strip_accents: Option<bool>,
}

impl ZeroShotArgs {
    /// The validated task; checked before anything slow (opening a project, loading a model).
    /// The task these flags ask for: the typed labels, or the corpus's schema.
    pub fn spec(&self, schema: bool) -> selectra::api::task::TaskSpec {
        use selectra::api::task::TaskSpec;
        if schema {
            TaskSpec::Schema { template: self.template.clone(), multi_label: self.multi_label }
        } else {
            TaskSpec::Labels {
                labels: ZeroShotTask::parse_labels(self.labels.as_deref().unwrap_or("")),
                template: self.template.clone(),
                multi_label: self.multi_label,
            }
        }
    }

    pub fn task(&self) -> selectra::Result<ZeroShotTask> {
        ZeroShotTask::new(ZeroShotTask::parse_labels(self.labels.as_deref().unwrap_or("")), &self.template, self.multi_label)
    }

    pub fn model(&self) -> selectra::Result<Model> {
        load(&self.model, self.strip_accents)
    }
}

/// The filters `query` and `label` share (the app's filter bar offers the same).
#[derive(clap::Args)]
pub struct FilterArgs {
    /// Records containing every word (whole words, case- and accent-insensitive).
    #[arg(long)]
    pub search: Option<String>,
    /// Records with this gold label.
    #[arg(long)]
    pub gold: Option<String>,
    /// unannotated, pending, accepted or discarded.
    #[arg(long)]
    pub status: Option<String>,
    /// The run whose predictions the prediction filters and orders use.
    #[arg(long)]
    pub run: Option<i64>,
    /// Records whose top label in the run is this.
    #[arg(long, requires = "run")]
    pub predicted: Option<String>,
    #[arg(long, requires = "run")]
    pub min_score: Option<f64>,
    #[arg(long, requires = "run")]
    pub max_score: Option<f64>,
    /// The margin between the run's top two scores.
    #[arg(long, requires = "run")]
    pub min_margin: Option<f64>,
    #[arg(long, requires = "run")]
    pub max_margin: Option<f64>,
    /// RUN1,RUN2 (top labels differ), RUN,annotation, RUN,gold, RUN,spans (a tagging run's
    /// entities are not the accepted spans) or annotators.
    #[arg(long)]
    pub disagree: Option<String>,
    /// Records with an entity of this type: in the annotated spans, or with --entity-run in a
    /// tagging run's entities.
    #[arg(long, value_name = "TYPE")]
    pub entity: Option<String>,
    /// The tagging run whose entities --entity filters and `--order entity-score` sorts by.
    #[arg(long, value_name = "RUN")]
    pub entity_run: Option<i64>,
    /// KEY=VALUE, KEY>=X, KEY<=Y or KEY=X..Y on the record's metadata; repeatable.
    #[arg(long)]
    pub meta: Vec<String>,
    /// The scan whose suspicion filters and orders.
    #[arg(long)]
    pub scan: Option<i64>,
    #[arg(long, requires = "scan")]
    pub min_suspicion: Option<f64>,
    /// A random sample of N of the matching records (the same --seed, the same sample).
    #[arg(long)]
    pub sample: Option<u64>,
    /// The seed of --sample and of --order random.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl FilterArgs {
    /// The flags as the core's one text form of a filter (the app's filter bar fills the same).
    pub fn spec(self, annotator: Option<String>) -> FilterSpec {
        FilterSpec {
            text: self.search,
            gold: self.gold,
            status: self.status,
            annotator,
            run: self.run,
            predicted_label: self.predicted,
            min_score: self.min_score,
            max_score: self.max_score,
            min_margin: self.min_margin,
            max_margin: self.max_margin,
            disagree: self.disagree,
            meta: self.meta,
            sample: self.sample,
            seed: self.seed,
            scan: self.scan,
            min_suspicion: self.min_suspicion,
            entity: self.entity,
            entity_run: self.entity_run,
            ..FilterSpec::default()
        }
    }

    pub fn query(self, annotator: Option<String>) -> selectra::Result<selectra::store::Query> {
        self.spec(annotator).query()
    }
}

// Parsed once per process: boxing the larger variant would save nothing worth its noise.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum CorpusCommand {
    /// Import a CSV, TSV, JSONL, text, CoNLL or Parquet file, or one split of a Hub dataset
    /// (--hub), as a new corpus (all rows or none).
    Import(CorpusImportArgs),
    /// The corpora in a project database.
    List(CorpusListArgs),
    /// What a Hub dataset holds: its configs, splits, files, rows and columns (and with
    /// --preview, the first rows of a split) before importing it.
    Hub(CorpusHubArgs),
    /// Push a corpus to a Hub dataset repository as one split: Parquet data and a dataset card,
    /// in one commit (or, with --folder, write those files to a folder).
    Push(CorpusPushArgs),
}

#[derive(clap::Args)]
pub struct CorpusHubArgs {
    /// The dataset: ORG/NAME or ORG/NAME@REVISION.
    pub dataset: String,
    /// The config to preview (default: the dataset's default).
    #[arg(long)]
    pub config: Option<String>,
    /// The split to preview (default: train, or the only one).
    #[arg(long)]
    pub split: Option<String>,
    /// Also show the first N rows of the chosen split (downloads its first file into the cache).
    #[arg(long, value_name = "N")]
    pub preview: Option<usize>,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct CorpusPushArgs {
    #[arg(long)]
    pub db: PathBuf,
    #[arg(long)]
    pub corpus: String,
    /// The dataset repository: ORG/NAME (created when missing), or ORG/NAME@BRANCH.
    #[arg(long, required_unless_present = "folder")]
    pub to: Option<String>,
    /// Write the dataset's files (data/ and README.md) into this folder instead of pushing.
    #[arg(long, conflicts_with_all = ["to", "private", "message"])]
    pub folder: Option<PathBuf>,
    /// Create the repository as private.
    #[arg(long)]
    pub private: bool,
    /// The split the corpus becomes (default: train); the repository's other splits are kept.
    #[arg(long, default_value = "")]
    pub split: String,
    /// The commit message (default: names the corpus and its size).
    #[arg(long)]
    pub message: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct InspectArgs {
    /// A model folder, or a Hub id ORG/NAME[@REVISION] (e.g. Recognai/selectra_small).
    #[arg(long)]
    pub model: String,
    /// Override the accent stripping of the model's tokenizer files (default: as the files say;
    /// accented pieces of a model pre-trained without accents are then marked untrained).
    #[arg(long, value_name = "true|false")]
    pub strip_accents: Option<bool>,
    /// Merge subwords into words (a word scores as its most suspicious token).
    #[arg(long, conflicts_with = "json")]
    pub words: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The text to inspect.
    pub text: String,
}

#[derive(clap::Args)]
pub struct ZeroshotArgs {
    #[command(flatten)]
    pub zs: ZeroShotArgs,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The text to classify.
    pub text: String,
}

#[derive(clap::Args)]
pub struct ClassifyArgs {
    /// A sequence classifier's folder, or its Hub id ORG/NAME[@REVISION].
    #[arg(long)]
    pub model: String,
    /// Override the accent stripping of the model's tokenizer files.
    #[arg(long, value_name = "true|false")]
    pub strip_accents: Option<bool>,
    /// The second text of a pair, for a model trained on pairs (paraphrase, entailment).
    #[arg(long, value_name = "TEXT", conflicts_with = "db")]
    pub text_pair: Option<String>,
    #[command(flatten)]
    pub corpus_run: CorpusRunArgs,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The text to classify (without --db).
    #[arg(required_unless_present = "db")]
    pub text: Option<String>,
}

/// A task model over a whole corpus instead of one text.
#[derive(clap::Args)]
pub struct CorpusRunArgs {
    /// Run over every record of a corpus of this project database instead of one text.
    #[arg(long, requires = "corpus", conflicts_with = "text")]
    pub db: Option<PathBuf>,
    #[arg(long, requires = "db")]
    pub corpus: Option<String>,
    /// Records per batch of a corpus run (each batch is committed at once).
    #[arg(long, default_value_t = selectra::jobs::corpus_run::RUN_BATCH_RECORDS)]
    pub batch_size: usize,
}

#[derive(clap::Args)]
pub struct TagArgs {
    /// A token classifier's folder, or its Hub id ORG/NAME[@REVISION].
    #[arg(long)]
    pub model: String,
    /// Override the accent stripping of the model's tokenizer files.
    #[arg(long, value_name = "true|false")]
    pub strip_accents: Option<bool>,
    /// How tokens become entities (transformers' aggregation_strategy): none (every token),
    /// simple, first, average or max. One text: none, as the pipeline; a corpus: simple.
    #[arg(long, value_name = "none|simple|first|average|max")]
    pub aggregation: Option<String>,
    /// Tag the whole text in windows overlapping by this many tokens (the pipeline's stride);
    /// without it one text is cut at the model's length, and a corpus's records are tagged
    /// whole with an overlap of a quarter of the model's length.
    #[arg(long, value_name = "TOKENS")]
    pub stride: Option<usize>,
    #[command(flatten)]
    pub corpus_run: CorpusRunArgs,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The text to tag (without --db).
    #[arg(required_unless_present = "db")]
    pub text: Option<String>,
}

#[derive(clap::Args)]
pub struct RunArgs {
    /// The project database (an existing one: `corpus import` creates it).
    #[arg(long)]
    pub db: PathBuf,
    #[arg(long)]
    pub corpus: String,
    #[command(flatten)]
    pub zs: ZeroShotArgs,
    /// Records per batch (each batch is committed at once).
    #[arg(long, default_value_t = selectra::jobs::corpus_run::RUN_BATCH_RECORDS)]
    pub batch_size: usize,
    /// Take the labels and their hypotheses from the corpus's label schema (see `schema`)
    /// instead of --labels; a label without its own hypothesis gets the template's.
    #[arg(long, conflicts_with = "labels")]
    pub schema: bool,
    /// exact (f32, transformers' results), or fast: bf16 products on CPUs with AVX512_BF16,
    /// used only when a check against exact on a sample of the corpus passes (else the run
    /// is exact); fast and exact runs of the same labels are different runs.
    #[arg(long, default_value_t = Precision::default(), value_parser = parse_precision)]
    pub precision: Precision,
    /// Print the run summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct ScanArgs {
    /// The project database.
    #[arg(long)]
    pub db: PathBuf,
    #[arg(long)]
    pub corpus: String,
    /// A discriminator: folder or Hub id ORG/NAME[@REVISION] (e.g. Recognai/selectra_small).
    #[arg(long)]
    pub model: String,
    /// Override the accent stripping of the model's tokenizer files.
    #[arg(long, value_name = "true|false")]
    pub strip_accents: Option<bool>,
    /// Records per batch (each batch is committed at once).
    #[arg(long, default_value_t = selectra::jobs::corpus_run::SCAN_BATCH_RECORDS)]
    pub batch_size: usize,
    /// Print the scan summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct EmbedArgs {
    #[arg(long)]
    pub db: PathBuf,
    #[arg(long)]
    pub corpus: String,
    /// A model folder or Hub id: a sentence-embedding model (sentence-transformers, or a bare
    /// encoder), or any ELECTRA, BERT, RoBERTa or XLM-RoBERTa checkpoint.
    #[arg(long)]
    pub model: String,
    /// Override the accent stripping of the model's tokenizer files.
    #[arg(long, value_name = "true|false")]
    pub strip_accents: Option<bool>,
    /// Records per batch (each batch is committed at once).
    #[arg(long, default_value_t = selectra::jobs::corpus_run::EMBED_BATCH_RECORDS)]
    pub batch_size: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct TrainArgs {
    #[arg(long)]
    pub db: PathBuf,
    #[arg(long)]
    pub corpus: String,
    /// The model whose embeddings the classifier reads (any checkpoint; a sentence-embedding
    /// model gives the best).
    #[arg(long)]
    pub model: String,
    #[arg(long, value_name = "true|false")]
    pub strip_accents: Option<bool>,
    /// Cross-validation folds (stratified).
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// The seed of the folds, the learning curve's subsets and the bootstrap intervals.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The inverse regularization strength, or `auto`: chosen by cross-validation on the labels.
    #[arg(long = "c", value_name = "auto|C", default_value = "auto")]
    pub c: String,
    /// `none`, `balanced` (each label weighs the same in total), or `auto`: chosen by
    /// cross-validation on the labels.
    #[arg(long, value_name = "auto|none|balanced", default_value = "auto")]
    pub class_weight: String,
    /// The labels to learn from: `annotations` (accepted ones only), `gold` (the label
    /// column only) or `both` (the accepted annotation, else gold).
    #[arg(long, value_name = "annotations|gold|both", default_value = "both")]
    pub train_on: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct FinetuneArgs {
    #[arg(long)]
    pub db: PathBuf,
    #[arg(long)]
    pub corpus: String,
    /// The model to start from: a folder or a Hub id (e.g. Recognai/selectra_small).
    #[arg(long)]
    pub model: String,
    /// The folder the fine-tuned model is written into (new or empty, or this fine-tune's own).
    #[arg(long)]
    pub output: PathBuf,
    #[arg(long, default_value_t = selectra::jobs::finetune::DEFAULT_EPOCHS)]
    pub epochs: u32,
    /// The peak learning rate (AdamW, linear decay).
    #[arg(long, default_value_t = selectra::jobs::finetune::DEFAULT_LEARNING_RATE)]
    pub lr: f64,
    #[arg(long, default_value_t = selectra::jobs::finetune::DEFAULT_BATCH_SIZE)]
    pub batch_size: usize,
    /// The share of the steps spent warming the learning rate up.
    #[arg(long, default_value_t = 0.0)]
    pub warmup_ratio: f64,
    /// AdamW's decoupled weight decay (never on biases and LayerNorm weights).
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// The share of the labeled records held out to score each epoch (stratified by label).
    #[arg(long, default_value_t = selectra::jobs::finetune::DEFAULT_VALIDATION_SHARE, conflicts_with = "folds")]
    pub validation_share: f64,
    /// Cross-validate instead: this many models, each trained on all folds but one and scored
    /// on it, their out-of-fold predictions stored as one run over every labeled record (the
    /// models in fold-1 … fold-K of the output folder; no validation share then).
    #[arg(long, value_name = "K")]
    pub folds: Option<u32>,
    /// Stop after this many epochs without a better validation score (macro F1, or entity F1
    /// for a tagger).
    #[arg(long)]
    pub patience: Option<u32>,
    /// What the model learns: `labels` (a classifier) or `spans` (a tagger over IOB2 tags).
    /// Default: what the corpus has.
    #[arg(long, value_name = "labels|spans")]
    pub target: Option<String>,
    /// The seed of the split, the shuffles, the dropout and a new head's weights.
    #[arg(long, default_value_t = selectra::jobs::finetune::DEFAULT_SEED)]
    pub seed: u64,
    /// The labels to learn from: `annotations`, `gold` or `both` (the accepted annotation, else gold).
    #[arg(long, value_name = "annotations|gold|both", default_value = "both")]
    pub train_on: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct TemplatesArgs {
    #[arg(long)]
    pub db: PathBuf,
    #[arg(long)]
    pub corpus: String,
    /// An NLI model folder or Hub id.
    #[arg(long)]
    pub model: String,
    /// Comma-separated candidate labels.
    #[arg(long)]
    pub labels: String,
    /// A hypothesis template ({} is the label); repeat for each one to compare.
    #[arg(long = "template", required_unless_present_any = ["hypothesis_sets", "schema"])]
    pub templates: Vec<String>,
    /// A set of per-label hypotheses, one per label in --labels order, separated by |;
    /// repeatable.
    #[arg(long = "hypotheses", value_name = "H1|H2|...")]
    pub hypothesis_sets: Vec<String>,
    /// Also score the corpus's label schema's own hypotheses (see `schema`).
    #[arg(long)]
    pub schema: bool,
    #[arg(long)]
    pub multi_label: bool,
    #[arg(long, value_name = "true|false")]
    pub strip_accents: Option<bool>,
    /// Score a seeded random sample of this many labeled records.
    #[arg(long)]
    pub sample: Option<usize>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The reference labels: `annotations` (accepted ones only), `gold` (the label column
    /// only) or `both` (the accepted annotation, else gold).
    #[arg(long, value_name = "annotations|gold|both", default_value = "both")]
    pub against: String,
    /// Score only the records whose reference is among the labels (the others are counted).
    #[arg(long)]
    pub within_labels: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct ExportHeadArgs {
    #[arg(long)]
    pub db: PathBuf,
    /// The trained run (see `train`).
    #[arg(long)]
    pub run: i64,
    /// The folder to write into (created if missing).
    #[arg(long)]
    pub output: PathBuf,
}

#[derive(clap::Args)]
pub struct DeleteArgs {
    #[arg(long)]
    pub db: PathBuf,
    #[arg(long)]
    pub run: Option<i64>,
    #[arg(long)]
    pub scan: Option<i64>,
    /// The embedding set's id (`embed --json` prints it).
    #[arg(long, value_name = "SET")]
    pub embeddings: Option<i64>,
}

#[derive(clap::Args)]
pub struct ScansArgs {
    #[arg(long)]
    pub db: PathBuf,
    #[arg(long)]
    pub corpus: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct SuspiciousArgs {
    #[arg(long)]
    pub db: PathBuf,
    #[arg(long)]
    pub corpus: String,
    /// The scan (default: the corpus's newest).
    #[arg(long)]
    pub scan: Option<i64>,
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// The most flagged word forms instead of records.
    #[arg(long, conflicts_with = "compare")]
    pub words: bool,
    /// Compare with another scan of the corpus (another discriminator): agreement on flagged
    /// words, and the records where the two disagree most.
    #[arg(long, value_name = "SCAN")]
    pub compare: Option<i64>,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct ImportRunArgs {
    #[arg(long)]
    pub db: PathBuf,
    #[arg(long)]
    pub corpus: String,
    /// The job's output directory (manifest.json and results/).
    #[arg(long = "from", value_name = "DIR")]
    pub from: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    #[arg(long)]
    pub db: PathBuf,
    #[arg(long)]
    pub corpus: String,
    /// jsonl, csv or parquet.
    #[arg(long)]
    pub format: String,
    /// Where to write (default: standard output).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// CSV: write cells exactly as stored. By default a cell a spreadsheet would run as a
    /// formula (starting with =, +, -, @, tab or CR) gets a leading ' (CSV injection).
    #[arg(long)]
    pub raw_csv: bool,
    /// Add each record's embedding by this model (as given to `selectra embed`), JSONL or
    /// Parquet.
    #[arg(long, value_name = "MODEL")]
    pub embeddings: Option<String>,
}

#[derive(clap::Args)]
pub struct AnnotateArgs {
    #[arg(long)]
    pub db: PathBuf,
    #[arg(long)]
    pub corpus: String,
    /// Who is annotating (stored with every change; default: the project's annotator).
    #[arg(long)]
    pub annotator: Option<String>,
}

#[derive(clap::Args)]
pub struct ReportArgs {
    /// The project database holding the runs.
    #[arg(long, required_unless_present = "published", conflicts_with = "published")]
    pub db: Option<PathBuf>,
    /// The corpus (default: the only corpus, or the one the --runs belong to).
    #[arg(long, requires = "db")]
    pub corpus: Option<String>,
    /// Comma-separated run ids to compare (default: every run of the corpus).
    #[arg(long, value_delimiter = ',', requires = "db")]
    pub runs: Vec<i64>,
    /// Only the published comparison (no database needed).
    #[arg(long)]
    pub published: bool,
    /// Score only the records whose reference labels every compared run can predict (the
    /// others are counted, not scored).
    #[arg(long, requires = "db")]
    pub within_run_labels: bool,
    /// The folder to write into (created if missing; existing report files are replaced).
    #[arg(long)]
    pub output: PathBuf,
    /// Also print the metrics as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct QueryArgs {
    #[arg(long)]
    pub db: PathBuf,
    #[arg(long)]
    pub corpus: String,
    #[command(flatten)]
    pub filters: FilterArgs,
    /// Only records whose annotation was last changed by this annotator.
    #[arg(long)]
    pub annotator: Option<String>,
    /// import, margin, entropy, score, score-asc, suspicion, entity-score (least sure entities
    /// first, with --entity-run) or random (shuffled by --seed).
    #[arg(long, default_value = "import")]
    pub order: String,
    #[arg(long, default_value_t = 20)]
    pub limit: u64,
    /// The page after this cursor (a previous page's "next").
    #[arg(long)]
    pub after: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct LabelArgs {
    #[arg(long)]
    pub db: PathBuf,
    #[arg(long)]
    pub corpus: String,
    #[command(flatten)]
    pub filters: FilterArgs,
    /// Only records whose annotation was last changed by this annotator.
    #[arg(long)]
    pub annotated_by: Option<String>,
    /// Comma-separated labels to give every matching record (status accepted).
    #[arg(long, value_delimiter = ',', required_unless_present_any = ["discard", "entities_from"], conflicts_with_all = ["discard", "entities_from"])]
    pub labels: Vec<String>,
    /// Discard every matching record instead.
    #[arg(long, conflicts_with = "entities_from")]
    pub discard: bool,
    /// Give every matching record this tagging run's entities as its spans instead (status
    /// accepted; records the run has not tagged are left alone).
    #[arg(long, value_name = "RUN")]
    pub entities_from: Option<i64>,
    /// With --entities-from: mark them pending (to review) rather than accepted.
    #[arg(long, requires = "entities_from")]
    pub pending: bool,
    /// Who is labeling (default: the project's annotator).
    #[arg(long)]
    pub annotator: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct SchemaArgs {
    #[arg(long)]
    pub db: PathBuf,
    #[arg(long)]
    pub corpus: String,
    /// Replace the schema with this JSON file ({"labels": [{"name": ..}], "guidelines": ..}).
    #[arg(long, conflicts_with = "labels")]
    pub set: Option<PathBuf>,
    /// Replace the schema with these comma-separated labels (keys and colours by position).
    #[arg(long)]
    pub labels: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct AgreementArgs {
    #[arg(long)]
    pub db: PathBuf,
    #[arg(long)]
    pub corpus: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct IssuesArgs {
    #[arg(long)]
    pub db: PathBuf,
    #[arg(long)]
    pub corpus: String,
    /// The run whose scores are the out-of-sample probabilities (zero-shot, or a trained run's
    /// out-of-fold scores).
    #[arg(long)]
    pub run: i64,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct DuplicatesArgs {
    #[arg(long)]
    pub db: PathBuf,
    #[arg(long)]
    pub corpus: String,
    /// An embedding set of the corpus (`embed --json` prints its id): adds near-duplicates to the
    /// exact ones.
    #[arg(long)]
    pub embeddings: Option<i64>,
    /// The cosine similarity at and above which two records are near-duplicates (default: the
    /// core's, printed with the groups).
    #[arg(long, requires = "embeddings")]
    pub threshold: Option<f32>,
    /// Keep one record of each group (the first accepted, else the first) and discard the rest,
    /// as one batch that one undo takes back (`{"undo": true}` on `selectra annotate`).
    #[arg(long)]
    pub discard: bool,
    /// Who discards (default: the project's annotator).
    #[arg(long)]
    pub annotator: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct SimilarArgs {
    #[arg(long)]
    pub db: PathBuf,
    #[arg(long)]
    pub corpus: String,
    /// The embedding set to search (`embed --json` prints its id).
    #[arg(long)]
    pub embeddings: i64,
    /// Records like this one (its row number).
    #[arg(long)]
    pub row: Option<u64>,
    /// Records like this text (embedded by the set's model, which must be in the cache or a
    /// folder).
    #[arg(long)]
    pub text: Option<String>,
    /// How many records (default 10).
    #[arg(short, long)]
    pub k: Option<usize>,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct ExplainArgs {
    /// A zero-shot NLI model (with --labels) or a sequence classifier (its own labels): a
    /// folder or ORG/NAME[@REVISION]. With --run, the run's own model is used.
    #[arg(long, required_unless_present = "run", conflicts_with = "run")]
    pub model: Option<String>,
    /// Zero-shot candidate labels, comma-separated.
    #[arg(long, conflicts_with = "run")]
    pub labels: Option<String>,
    /// The zero-shot hypothesis template; {} is replaced by each label.
    #[arg(long, default_value = DEFAULT_TEMPLATE, conflicts_with = "run")]
    pub template: String,
    #[arg(long, conflicts_with = "run")]
    pub multi_label: bool,
    /// The second text of a pair, for a classifier trained on pairs.
    #[arg(long, value_name = "TEXT", conflicts_with = "run")]
    pub text_pair: Option<String>,
    /// Override the tokenizer's accent stripping (without --run).
    #[arg(long, value_name = "true|false", conflicts_with = "run")]
    pub strip_accents: Option<bool>,
    /// The project database of --run.
    #[arg(long, requires = "run")]
    pub db: Option<PathBuf>,
    /// Explain a run's label of a record (with --row), or what the run keys on (--key-words).
    #[arg(long, requires = "db")]
    pub run: Option<i64>,
    /// The record's row number in the run's corpus.
    #[arg(long, requires = "run", conflicts_with = "key_words")]
    pub row: Option<u64>,
    /// Each label's words with the highest mean weight over the run's most confident records.
    #[arg(long, requires = "run")]
    pub key_words: bool,
    /// Records explained per label for --key-words.
    #[arg(long, default_value_t = selectra::jobs::explain::SUMMARY_RECORDS_PER_LABEL, requires = "key_words")]
    pub per_label: usize,
    /// The label to explain (default: the one the model scores highest).
    #[arg(long)]
    pub label: Option<String>,
    /// loo (leave-one-out) or lime.
    #[arg(long, default_value = "loo")]
    pub method: String,
    /// LIME's seed: the same seed gives the same explanation.
    #[arg(long, default_value_t = selectra::domain::attribution::DEFAULT_SEED)]
    pub seed: u64,
    #[arg(long)]
    pub json: bool,
    /// The text to explain (without --run).
    #[arg(required_unless_present = "run", conflicts_with = "run")]
    pub text: Option<String>,
}

#[derive(clap::Args)]
pub struct MapArgs {
    #[arg(long)]
    pub db: PathBuf,
    #[arg(long)]
    pub corpus: String,
    /// The embedding set to project (`embed --json` prints its id).
    #[arg(long)]
    pub embeddings: i64,
    /// How the map is made: pca, or umap (starting from the PCA map).
    #[arg(long, default_value = "pca")]
    pub method: String,
    /// UMAP's seed: the same seed gives the same map.
    #[arg(long, default_value_t = selectra::domain::map::DEFAULT_SEED)]
    pub seed: u64,
    /// An outline in the map's coordinates, "x,y x,y x,y ...": print the rows inside it.
    #[arg(long, allow_hyphen_values = true)]
    pub inside: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct ModelsArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct CorpusImportArgs {
    #[arg(long)]
    pub db: PathBuf,
    /// The new corpus's name (a Hub dataset's default: its name, then config and split).
    #[arg(long, required_unless_present = "hub")]
    pub name: Option<String>,
    /// Import a split of this Hub dataset (ORG/NAME or ORG/NAME@REVISION) instead of a file.
    #[arg(long, conflicts_with = "path")]
    pub hub: Option<String>,
    /// The Hub dataset's config (default: its default config).
    #[arg(long, requires = "hub")]
    pub config: Option<String>,
    /// The Hub dataset's split (default: train, or the only one).
    #[arg(long, requires = "hub")]
    pub split: Option<String>,
    /// csv, tsv, jsonl, txt, conll or parquet (default: from the file extension).
    #[arg(long)]
    pub format: Option<String>,
    /// The column (or JSON field) holding the text (default: "text").
    #[arg(long)]
    pub text_column: Option<String>,
    /// The column (or JSON field) holding a sentence pair's second text, if any.
    #[arg(long)]
    pub text_pair_column: Option<String>,
    #[arg(long)]
    pub id_column: Option<String>,
    /// The column holding a gold label, if any.
    #[arg(long)]
    pub label_column: Option<String>,
    /// The column (or JSON field) holding each record's reference entity spans, if any: a list
    /// of {"start", "end", "label"} (or [start, end, label]) in characters of the text.
    #[arg(long)]
    pub spans_column: Option<String>,
    /// Comma-separated columns kept as metadata.
    #[arg(long, value_delimiter = ',')]
    pub metadata_columns: Vec<String>,
    /// Import the good rows and report the bad ones, instead of importing nothing.
    #[arg(long)]
    pub skip_bad: bool,
    /// The longest record accepted, in bytes (default 1 MiB); a longer one is a bad row.
    #[arg(long)]
    pub max_record_bytes: Option<usize>,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
    #[arg(required_unless_present = "hub")]
    pub path: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct CorpusListArgs {
    #[arg(long)]
    pub db: PathBuf,
    #[arg(long)]
    pub json: bool,
}

pub(crate) fn parse_precision(name: &str) -> Result<Precision, String> {
    Precision::parse(name).map_err(|e| e.to_string())
}
