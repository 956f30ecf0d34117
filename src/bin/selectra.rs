//! The `selectra` command line: a thin adapter over the library. Each subcommand parses its
//! arguments, calls one library function, and prints the result (a table, or JSON with `--json`).
//! Errors go to stderr as one line and the process exits non-zero; stdout stays parseable.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use std::path::PathBuf;

use selectra::domain::precision::{AgreementGate, Precision};
use selectra::domain::progress::{RunProgress, Watch};
use selectra::domain::query::FilterSpec;
use selectra::domain::task::{ZeroShotTask, DEFAULT_TEMPLATE};
use selectra::engine::hub::{self, DownloadObserver, HubSettings};
use selectra::engine::inspect::{self, Inspection};
use selectra::engine::model::{LoadOptions, Model};
use selectra::engine::tokenize::TokenizerOptions;
use selectra::engine::zeroshot::{ZeroShotClassifier, ZeroShotResult};
use selectra::exchange::export::{self, ExportFormat, ExportOptions};
use selectra::exchange::import::{self, Format, ImportOptions};
use selectra::jobs::corpus_run;
use selectra::store::{Status, Store};
use selectra::Setting;

/// Prints a line to stdout, ignoring write errors: output piped into `head` that closes early must
/// end quietly, not panic as `println!` does on a broken pipe.
macro_rules! out {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

#[derive(Parser)]
#[command(name = "selectra", version = selectra::VERSION, about = "SELECTRA (Spanish ELECTRA) models from the command line")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Per-token discriminator scores: which tokens look replaced?
    Inspect {
        /// A model folder, or a Hub id ORG/NAME[@REVISION] (e.g. Recognai/selectra_small).
        #[arg(long)]
        model: String,
        /// Override the accent stripping of the model's tokenizer files (default: as the files say;
        /// accented pieces of a model pre-trained without accents are then marked untrained).
        #[arg(long, value_name = "true|false")]
        strip_accents: Option<bool>,
        /// Merge subwords into words (a word scores as its most suspicious token).
        #[arg(long, conflicts_with = "json")]
        words: bool,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// The text to inspect.
        text: String,
    },
    /// Zero-shot classification with an NLI model, as transformers' pipeline computes it.
    Zeroshot {
        #[command(flatten)]
        zs: ZeroShotArgs,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// The text to classify.
        text: String,
    },
    /// Corpora in a project database: import, list.
    Corpus {
        #[command(subcommand)]
        command: CorpusCommand,
    },
    /// Zero-shot labels for every record of a corpus; the identical command resumes a run.
    Run {
        /// The project database (created if missing).
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        corpus: String,
        #[command(flatten)]
        zs: ZeroShotArgs,
        /// Records per batch (each batch is committed at once).
        #[arg(long, default_value_t = selectra::jobs::corpus_run::RUN_BATCH_RECORDS)]
        batch_size: usize,
        /// Take the labels and their hypotheses from the corpus's label schema (see `schema`)
        /// instead of --labels; a label without its own hypothesis gets the template's.
        #[arg(long, conflicts_with = "labels")]
        schema: bool,
        /// exact (f32, transformers' results), or fast: bf16 products on CPUs with AVX512_BF16,
        /// used only when a check against exact on a sample of the corpus passes (else the run
        /// is exact); fast and exact runs of the same labels are different runs.
        #[arg(long, default_value_t = Precision::default(), value_parser = parse_precision)]
        precision: Precision,
        /// Print the run summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Scan every record of a corpus with a discriminator (which tokens look replaced?); the
    /// identical command resumes a scan.
    Scan {
        /// The project database.
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        corpus: String,
        /// A discriminator: folder or Hub id ORG/NAME[@REVISION] (e.g. Recognai/selectra_small).
        #[arg(long)]
        model: String,
        /// Override the accent stripping of the model's tokenizer files.
        #[arg(long, value_name = "true|false")]
        strip_accents: Option<bool>,
        /// Records per batch (each batch is committed at once).
        #[arg(long, default_value_t = selectra::jobs::corpus_run::SCAN_BATCH_RECORDS)]
        batch_size: usize,
        /// Print the scan summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Embed every record of a corpus (the mean of the encoder's last hidden states, unit
    /// length), with any ELECTRA or BERT checkpoint; the identical command resumes.
    Embed {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        corpus: String,
        /// A model folder or Hub id (discriminator or NLI).
        #[arg(long)]
        model: String,
        /// Override the accent stripping of the model's tokenizer files.
        #[arg(long, value_name = "true|false")]
        strip_accents: Option<bool>,
        /// Records per batch (each batch is committed at once).
        #[arg(long, default_value_t = selectra::jobs::corpus_run::EMBED_BATCH_RECORDS)]
        batch_size: usize,
        #[arg(long)]
        json: bool,
    },
    /// Train a classifier on the corpus's labels (accepted annotations, else gold) over a model's
    /// embeddings (embedding what is missing): cross-validated, and stored as a run of kind
    /// "trained" with every record's scores.
    Train {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        corpus: String,
        /// The model whose embeddings the classifier reads (any ELECTRA or BERT checkpoint).
        #[arg(long)]
        model: String,
        #[arg(long, value_name = "true|false")]
        strip_accents: Option<bool>,
        /// Cross-validation folds (stratified).
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// The seed of the folds, the learning curve's subsets and the bootstrap intervals.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// The inverse regularization strength, or `auto`: chosen by cross-validation on the labels.
        #[arg(long = "c", value_name = "auto|C", default_value = "auto")]
        c: String,
        /// `none`, `balanced` (each label weighs the same in total), or `auto`: chosen by
        /// cross-validation on the labels.
        #[arg(long, value_name = "auto|none|balanced", default_value = "auto")]
        class_weight: String,
        /// The labels to learn from: `annotations` (accepted ones only), `gold` (the label
        /// column only) or `both` (the accepted annotation, else gold).
        #[arg(long, value_name = "annotations|gold|both", default_value = "both")]
        train_on: String,
        #[arg(long)]
        json: bool,
    },
    /// The template lab: several hypothesis templates scored on the labeled records (accepted
    /// annotations, else gold) in one go, best macro F1 first; each number is what a run with
    /// the template followed by evaluation gives.
    Templates {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        corpus: String,
        /// An NLI model folder or Hub id.
        #[arg(long)]
        model: String,
        /// Comma-separated candidate labels.
        #[arg(long)]
        labels: String,
        /// A hypothesis template ({} is the label); repeat for each one to compare.
        #[arg(long = "template", required_unless_present_any = ["hypothesis_sets", "schema"])]
        templates: Vec<String>,
        /// A set of per-label hypotheses, one per label in --labels order, separated by |;
        /// repeatable.
        #[arg(long = "hypotheses", value_name = "H1|H2|...")]
        hypothesis_sets: Vec<String>,
        /// Also score the corpus's label schema's own hypotheses (see `schema`).
        #[arg(long)]
        schema: bool,
        #[arg(long)]
        multi_label: bool,
        #[arg(long, value_name = "true|false")]
        strip_accents: Option<bool>,
        /// Score a seeded random sample of this many labeled records.
        #[arg(long)]
        sample: Option<usize>,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// The reference labels: `annotations` (accepted ones only), `gold` (the label column
        /// only) or `both` (the accepted annotation, else gold).
        #[arg(long, value_name = "annotations|gold|both", default_value = "both")]
        against: String,
        /// Score only the records whose reference is among the labels (the others are counted).
        #[arg(long)]
        within_labels: bool,
        #[arg(long)]
        json: bool,
    },
    /// Write a trained run's head for use elsewhere: head.safetensors (weight, bias) and
    /// head.json (labels, base model, embedding recipe, cross-validation).
    ExportHead {
        #[arg(long)]
        db: PathBuf,
        /// The trained run (see `train`).
        #[arg(long)]
        run: i64,
        /// The folder to write into (created if missing).
        #[arg(long)]
        output: PathBuf,
    },
    /// Delete a run (with its predictions), a scan (with its results) or an embedding set (with
    /// its vectors and the trained runs that read it), as the app's delete buttons do.
    #[command(group(clap::ArgGroup::new("what").required(true).args(["run", "scan", "embeddings"])))]
    Delete {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        run: Option<i64>,
        #[arg(long)]
        scan: Option<i64>,
        /// The embedding set's id (`embed --json` prints it).
        #[arg(long, value_name = "SET")]
        embeddings: Option<i64>,
    },
    /// The scans in a project, with their ids and progress.
    Scans {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        corpus: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The most suspicious records of a scan with their flagged words, or with --words the word
    /// forms flagged most often.
    Suspicious {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        corpus: String,
        /// The scan (default: the corpus's newest).
        #[arg(long)]
        scan: Option<i64>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// The most flagged word forms instead of records.
        #[arg(long, conflicts_with = "compare")]
        words: bool,
        /// Compare with another scan of the corpus (another discriminator): agreement on flagged
        /// words, and the records where the two disagree most.
        #[arg(long, value_name = "SCAN")]
        compare: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Store the results of a corpus job computed elsewhere (the Python package's Ray jobs) as
    /// the run, scan or embedding set the same job makes here. Importing again adds nothing.
    ImportRun {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        corpus: String,
        /// The job's output directory (manifest.json and results/).
        #[arg(long = "from", value_name = "DIR")]
        from: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Write a corpus and its predictions out.
    Export {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        corpus: String,
        /// jsonl, csv or parquet.
        #[arg(long)]
        format: String,
        /// Where to write (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
        /// CSV: write cells exactly as stored. By default a cell a spreadsheet would run as a
        /// formula (starting with =, +, -, @, tab or CR) gets a leading ' (CSV injection).
        #[arg(long)]
        raw_csv: bool,
        /// Add each record's embedding by this model (as given to `selectra embed`), JSONL or
        /// Parquet.
        #[arg(long, value_name = "MODEL")]
        embeddings: Option<String>,
    },
    /// Annotate records from a stream of JSON lines on stdin, one acknowledgement per line on
    /// stdout once the change is durable. A line is {"row": N, "labels": [..], "status": "accepted"}
    /// (status defaults to accepted) or {"undo": true}.
    Annotate {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        corpus: String,
        /// Who is annotating (stored with every change; default: the project's annotator).
        #[arg(long)]
        annotator: Option<String>,
    },
    /// A shareable comparison report: index.html (inline SVG charts), report.json and figures/
    /// (SVG and PNG). With --db, runs are scored against accepted annotations or the gold column;
    /// with --published, only the published SELECTRA comparison.
    Report {
        /// The project database holding the runs.
        #[arg(long, required_unless_present = "published", conflicts_with = "published")]
        db: Option<PathBuf>,
        /// The corpus (default: the only corpus, or the one the --runs belong to).
        #[arg(long, requires = "db")]
        corpus: Option<String>,
        /// Comma-separated run ids to compare (default: every run of the corpus).
        #[arg(long, value_delimiter = ',', requires = "db")]
        runs: Vec<i64>,
        /// Only the published comparison (no database needed).
        #[arg(long)]
        published: bool,
        /// Score only the records whose reference labels every compared run can predict (the
        /// others are counted, not scored).
        #[arg(long, requires = "db")]
        within_run_labels: bool,
        /// The folder to write into (created if missing; existing report files are replaced).
        #[arg(long)]
        output: PathBuf,
        /// Also print the metrics as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The records of a corpus that match filters, a page at a time (with --json: one object
    /// {"total": N, "records": [...], "next": CURSOR}).
    Query {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        corpus: String,
        #[command(flatten)]
        filters: FilterArgs,
        /// Only records whose annotation was last changed by this annotator.
        #[arg(long)]
        annotator: Option<String>,
        /// import, margin, entropy, score, score-asc, suspicion or random (shuffled by --seed).
        #[arg(long, default_value = "import")]
        order: String,
        #[arg(long, default_value_t = 20)]
        limit: u64,
        /// The page after this cursor (a previous page's "next").
        #[arg(long)]
        after: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Labels (or discards) every record matching the filters in one batch, and prints the batch
    /// id; `{"undo": true}` on `selectra annotate` reverts the whole batch.
    Label {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        corpus: String,
        #[command(flatten)]
        filters: FilterArgs,
        /// Only records whose annotation was last changed by this annotator.
        #[arg(long)]
        annotated_by: Option<String>,
        /// Comma-separated labels to give every matching record (status accepted).
        #[arg(long, value_delimiter = ',', required_unless_present = "discard", conflicts_with = "discard")]
        labels: Vec<String>,
        /// Discard every matching record instead.
        #[arg(long)]
        discard: bool,
        /// Who is labeling (default: the project's annotator).
        #[arg(long)]
        annotator: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// A corpus's label schema: names, descriptions, keys, colours, hypotheses and guidelines.
    Schema {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        corpus: String,
        /// Replace the schema with this JSON file ({"labels": [{"name": ..}], "guidelines": ..}).
        #[arg(long, conflicts_with = "labels")]
        set: Option<PathBuf>,
        /// Replace the schema with these comma-separated labels (keys and colours by position).
        #[arg(long)]
        labels: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Agreement between a corpus's annotators: Cohen's kappa per pair, Fleiss' kappa for three
    /// or more, and how many records they dispute.
    Agreement {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        corpus: String,
        #[arg(long)]
        json: bool,
    },
    /// The preset models and what the Hugging Face cache holds.
    Models {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// What zero-shot classification needs, shared by `zeroshot` and `run`.
#[derive(clap::Args)]
struct ZeroShotArgs {
    /// An NLI model folder or Hub id (e.g. Recognai/zeroshot_selectra_medium).
    #[arg(long)]
    model: String,
    /// Comma-separated candidate labels.
    #[arg(long)]
    labels: Option<String>,
    /// Hypothesis template; {} is replaced by each label.
    #[arg(long, default_value = DEFAULT_TEMPLATE)]
    template: String,
    /// Score each label independently instead of making labels compete.
    #[arg(long)]
    multi_label: bool,
    /// Override the tokenizer's accent stripping.
    #[arg(long, value_name = "true|false")]
    strip_accents: Option<bool>,
}

impl ZeroShotArgs {
    /// The validated task; checked before anything slow (opening a project, loading a model).
    /// The task these flags ask for: the typed labels, or the corpus's schema.
    fn spec(&self, schema: bool) -> selectra::api::task::TaskSpec {
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

    fn task(&self) -> selectra::Result<ZeroShotTask> {
        ZeroShotTask::new(ZeroShotTask::parse_labels(self.labels.as_deref().unwrap_or("")), &self.template, self.multi_label)
    }

    fn model(&self) -> selectra::Result<Model> {
        load(&self.model, self.strip_accents)
    }
}

/// The filters `query` and `label` share (the app's filter bar offers the same).
#[derive(clap::Args)]
struct FilterArgs {
    /// Records containing every word (whole words, case- and accent-insensitive).
    #[arg(long)]
    search: Option<String>,
    /// Records with this gold label.
    #[arg(long)]
    gold: Option<String>,
    /// unannotated, pending, accepted or discarded.
    #[arg(long)]
    status: Option<String>,
    /// The run whose predictions the prediction filters and orders use.
    #[arg(long)]
    run: Option<i64>,
    /// Records whose top label in the run is this.
    #[arg(long, requires = "run")]
    predicted: Option<String>,
    #[arg(long, requires = "run")]
    min_score: Option<f64>,
    #[arg(long, requires = "run")]
    max_score: Option<f64>,
    /// The margin between the run's top two scores.
    #[arg(long, requires = "run")]
    min_margin: Option<f64>,
    #[arg(long, requires = "run")]
    max_margin: Option<f64>,
    /// RUN1,RUN2 (top labels differ), RUN,annotation, RUN,gold or annotators.
    #[arg(long)]
    disagree: Option<String>,
    /// KEY=VALUE, KEY>=X, KEY<=Y or KEY=X..Y on the record's metadata; repeatable.
    #[arg(long)]
    meta: Vec<String>,
    /// The scan whose suspicion filters and orders.
    #[arg(long)]
    scan: Option<i64>,
    #[arg(long, requires = "scan")]
    min_suspicion: Option<f64>,
    /// A random sample of N of the matching records (the same --seed, the same sample).
    #[arg(long)]
    sample: Option<u64>,
    /// The seed of --sample and of --order random.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

impl FilterArgs {
    /// The flags as the core's one text form of a filter (the app's filter bar fills the same).
    fn spec(self, annotator: Option<String>) -> FilterSpec {
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
            ..FilterSpec::default()
        }
    }

    fn query(self, annotator: Option<String>) -> selectra::Result<selectra::store::Query> {
        self.spec(annotator).query()
    }
}

#[derive(Subcommand)]
enum CorpusCommand {
    /// Import a CSV, TSV, JSONL or plain-text file as a new corpus (all rows or none).
    Import {
        #[arg(long)]
        db: PathBuf,
        /// The new corpus's name.
        #[arg(long)]
        name: String,
        /// csv, tsv, jsonl or txt (default: from the file extension).
        #[arg(long)]
        format: Option<String>,
        /// The column (or JSON field) holding the text (default: "text").
        #[arg(long)]
        text_column: Option<String>,
        #[arg(long)]
        id_column: Option<String>,
        /// The column holding a gold label, if any.
        #[arg(long)]
        label_column: Option<String>,
        /// Comma-separated columns kept as metadata.
        #[arg(long, value_delimiter = ',')]
        metadata_columns: Vec<String>,
        /// Import the good rows and report the bad ones, instead of importing nothing.
        #[arg(long)]
        skip_bad: bool,
        /// The longest record accepted, in bytes (default 1 MiB); a longer one is a bad row.
        #[arg(long)]
        max_record_bytes: Option<usize>,
        /// Print the outcome as JSON.
        #[arg(long)]
        json: bool,
        path: PathBuf,
    },
    /// The corpora in a project database.
    List {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}{}", flag_hint(&e));
            ExitCode::FAILURE
        }
    }
}

/// The flag (or command) that changes a setting the core says would fix an error. The core's
/// messages never name flags (the app shows them too); the CLI adds its own.
fn flag(setting: Setting) -> &'static str {
    match setting {
        Setting::TextColumn => "--text-column",
        Setting::IdColumn => "--id-column",
        Setting::LabelColumn => "--label-column",
        Setting::MetadataColumns => "--metadata-columns",
        Setting::Format => "--format",
        Setting::CorpusName => "--name",
        Setting::Corpus => "--corpus",
        Setting::MaxRecordBytes => "--max-record-bytes",
        Setting::BatchSize => "--batch-size",
        Setting::SkipBad => "--skip-bad",
        Setting::LabelSchema => "selectra schema --labels",
    }
}

/// " (see --skip-bad, --max-record-bytes)" for an error that settings fix; empty otherwise.
fn flag_hint(error: &selectra::Error) -> String {
    let flags: Vec<&str> = error.settings().iter().map(|s| flag(*s)).collect();
    if flags.is_empty() {
        String::new()
    } else {
        format!(" (see {})", flags.join(", "))
    }
}

fn run(command: Command) -> selectra::Result<()> {
    match command {
        Command::Inspect { model, strip_accents, words, json, text } => {
            let model = load(&model, strip_accents)?;
            let inspection = inspect::inspect(&model, &text)?;
            if inspection.truncated {
                eprintln!("warning: the text is longer than the model's {} tokens; only its beginning was scored", model.tokenizer.max_length());
            }
            if json {
                print_json(&inspection);
            } else if words {
                print_words(&inspection);
            } else {
                print_tokens(&inspection);
            }
        }
        Command::Zeroshot { zs, json, text } => {
            let task = zs.task()?;
            let model = zs.model()?;
            let classifier = ZeroShotClassifier::new(&model)?;
            if classifier.entailment_guessed {
                eprintln!(
                    "warning: no class of {} is named entailment; using class {} as entailment (results may be meaningless)",
                    model.name,
                    classifier.entailment_id()
                );
            }
            let result = classifier.classify(&text, &task)?;
            if json {
                print_json(&result);
            } else {
                print_scores(&result);
            }
        }
        Command::Corpus {
            command:
                CorpusCommand::Import { db, name, format, text_column, id_column, label_column, metadata_columns, skip_bad, max_record_bytes, json, path },
        } => {
            let options = ImportOptions {
                name,
                format: format.as_deref().map(Format::parse).transpose()?,
                text_column,
                id_column,
                label_column,
                metadata_columns,
                skip_bad,
                max_record_bytes,
            };
            let mut store = Store::open(&db)?;
            let bar = TaskBar::new("{bar:30} {percent}%  {msg}  {elapsed}");
            let cancel = cancel_on_ctrl_c();
            let outcome = import::import_file(
                &mut store,
                &path,
                &options,
                &mut |p| {
                    bar.update(p.bytes_read, p.total_bytes, &format!("{} records", p.records));
                },
                &cancel,
            )?;
            drop(bar);
            if json {
                print_json(&outcome);
            } else {
                out!("imported {} records into corpus {:?} ({})", outcome.imported, outcome.corpus.name, db.display());
                if !outcome.skipped.is_empty() {
                    out!("skipped {} bad rows:", outcome.skipped.len());
                    for bad in &outcome.skipped {
                        out!("  row {}: {}", bad.line, bad.reason);
                    }
                }
            }
        }
        Command::Corpus { command: CorpusCommand::List { db, json } } => {
            let corpora = Store::open_existing(&db)?.corpora()?;
            if json {
                print_json(&corpora);
            } else if corpora.is_empty() {
                out!("no corpora in {}", db.display());
            } else {
                let width = corpora.iter().map(|c| c.name.chars().count()).max().unwrap_or(4).max(4);
                out!("{:width$}  {:>9}  {:<6}  {:<24}  source", "name", "records", "format", "imported");
                for c in &corpora {
                    out!("{:width$}  {:>9}  {:<6}  {:<24}  {}", c.name, c.records, c.format, c.created_at, c.source_path);
                }
            }
        }
        Command::Run { db, corpus, zs, batch_size, schema, precision, json } => {
            let spec = zs.spec(schema);
            let mut store = Store::open_existing(&db)?;
            store.corpus(&corpus)?;
            let task = spec.resolve(&store, &corpus)?;
            let model = zs.model()?;
            let summary = with_job_progress(|progress, cancel| {
                let fast = AgreementGate::for_precision(precision);
                corpus_run::run_zeroshot(&mut store, &model, &corpus, &task, zs.strip_accents, fast, batch_size, progress, cancel)
            })?;
            if !json {
                let outcome = &summary.precision;
                if let Some(check) = &outcome.check {
                    out!("{}", check.summary());
                }
                if let Some(note) = &outcome.note {
                    out!("precision: {note}");
                }
            }
            let r = &summary.run;
            report_job(
                &summary,
                json,
                summary.cancelled,
                format!("run {} has {}/{} records", r.id, r.predictions, r.records),
                format!("run {} complete: {} records ({} predicted now)", r.id, r.records, summary.predicted_now),
            )?;
        }
        Command::Scan { db, corpus, model, strip_accents, batch_size, json } => {
            let mut store = Store::open_existing(&db)?;
            store.corpus(&corpus)?;
            let model = load(&model, strip_accents)?;
            let summary =
                with_job_progress(|progress, cancel| corpus_run::run_scan(&mut store, &model, &corpus, strip_accents, batch_size, progress, cancel))?;
            let s = &summary.scan;
            report_job(
                &summary,
                json,
                summary.cancelled,
                format!("scan {} has {}/{} records", s.id, s.scanned, s.records),
                format!("scan {} complete: {} records ({} scanned now)", s.id, s.records, summary.scanned_now),
            )?;
        }
        Command::Embed { db, corpus, model, strip_accents, batch_size, json } => {
            let mut store = Store::open_existing(&db)?;
            store.corpus(&corpus)?;
            let model = load(&model, strip_accents)?;
            let summary = with_job_progress(|progress, cancel| {
                corpus_run::run_embed(&mut store, &model, &corpus, strip_accents, batch_size, progress, cancel)
            })?;
            let e = &summary.embeddings;
            report_job(
                &summary,
                json,
                summary.cancelled,
                format!("embedding set {} has {}/{} records", e.id, e.embedded, e.records),
                format!("embedding set {} complete: {} records of {} numbers ({} embedded now)", e.id, e.records, e.dim, summary.embedded_now),
            )?;
        }
        Command::ImportRun { db, corpus, from, json } => {
            let mut store = Store::open_existing(&db)?;
            store.corpus(&corpus)?;
            let summary =
                with_job_progress(|progress, cancel| selectra::jobs::scale_out::import_results(&mut store, &corpus, &from, progress, cancel))?;
            let noun = summary.kind.noun();
            report_job(
                &summary,
                json,
                summary.cancelled,
                format!("{noun} {} has {}/{} records", summary.id, summary.done, summary.records),
                format!(
                    "{noun} {}: {}/{} records ({} imported now, {} already present){}",
                    summary.id,
                    summary.done,
                    summary.records,
                    summary.imported,
                    summary.already_present,
                    if summary.complete { "" } else { "; the same `selectra run`, `scan` or `embed` here computes the rest" }
                ),
            )?;
        }
        Command::Train { db, corpus, model, strip_accents, folds, seed, c, class_weight, train_on, json } => {
            let choice = selectra::analysis::learn::TrainChoice::parse(&c, &class_weight)?;
            let source = selectra::analysis::evaluate::LabelSource::parse(&train_on)?;
            let mut store = Store::open_existing(&db)?;
            store.corpus(&corpus)?;
            let model = load(&model, strip_accents)?;
            let bar = TaskBar::new("embedding {bar:30} {pos}/{len} records  {msg}");
            let cancel = cancel_on_ctrl_c();
            let t = selectra::jobs::train::train(
                &mut store,
                &model,
                &corpus,
                strip_accents,
                folds,
                seed,
                &choice,
                source,
                &mut job_progress(&bar),
                &cancel,
            )?;
            drop(bar);
            let cv = &t.cross_validation;
            if json {
                print_json(&serde_json::json!({
                    "run": t.run.id,
                    "n_train": t.n_train,
                    "labels": t.labels,
                    "cv_accuracy": cv.accuracy.value,
                    "cv_macro_f1": cv.macro_f1.value,
                    "cv_accuracy_ci": [cv.accuracy.low, cv.accuracy.high],
                    "cv_macro_f1_ci": [cv.macro_f1.low, cv.macro_f1.high],
                    "learning_curve": cv.learning_curve.iter().map(|p| serde_json::json!({"n": p.n, "accuracy": p.accuracy, "macro_f1": p.macro_f1})).collect::<Vec<_>>(),
                    "baseline": cv.baseline,
                    "beats_baseline": cv.beats_baseline(),
                    "c": cv.options.c,
                    "class_weight": cv.options.class_weight,
                    "selection": cv.selection.as_ref().map(|s| &s.candidates),
                }));
            } else {
                out!("run {}: a logistic head on {} labeled records ({} labels), every record scored", t.run.id, t.n_train, t.labels.len());
                out!(
                    "{}-fold cross-validation: accuracy {:.3} ({:.3}–{:.3}), macro F1 {:.3} ({:.3}–{:.3})",
                    cv.folds,
                    cv.accuracy.value,
                    cv.accuracy.low,
                    cv.accuracy.high,
                    cv.macro_f1.value,
                    cv.macro_f1.low,
                    cv.macro_f1.high
                );
                for p in &cv.learning_curve {
                    out!("  {:>6} labels: accuracy {:.3}, macro F1 {:.3}", p.n, p.accuracy, p.macro_f1);
                }
                out!("{}", cv.verdict());
            }
        }
        Command::Templates {
            db,
            corpus,
            model,
            labels,
            templates,
            hypothesis_sets,
            schema,
            multi_label,
            strip_accents,
            sample,
            seed,
            against,
            within_labels,
            json,
        } => {
            let source = selectra::analysis::evaluate::LabelSource::parse(&against)?;
            let labels = ZeroShotTask::parse_labels(&labels);
            let hypothesis_sets: Vec<Vec<String>> =
                hypothesis_sets.iter().map(|set| set.split('|').map(|h| h.trim().to_string()).collect()).collect();
            let mut store = Store::open_existing(&db)?;
            let tasks = selectra::api::task::template_lab_tasks(&store, &corpus, &labels, &templates, &hypothesis_sets, schema, multi_label)?;
            let model = load(&model, strip_accents)?;
            let options = selectra::analysis::metrics::EvalOptions { seed, within_run_labels: within_labels, ..Default::default() };
            let bar = TaskBar::new("{bar:30} {pos}/{len} (template, record) pairs");
            let cancel = cancel_on_ctrl_c();
            let scores = selectra::jobs::templates::template_lab(
                &mut store,
                &model,
                &corpus,
                &tasks,
                sample,
                source,
                &options,
                &mut |done, total| bar.update(done, total, ""),
                &cancel,
            )?;
            drop(bar);
            if json {
                print_json(
                    &scores
                        .iter()
                        .map(|s| {
                            serde_json::json!({
                                "template": s.template,
                                "accuracy": s.accuracy.value,
                                "macro_f1": s.macro_f1.value,
                                "ci": [s.accuracy.low, s.accuracy.high],
                                "macro_f1_ci": [s.macro_f1.low, s.macro_f1.high],
                                "n": s.n,
                                "outside": s.outside,
                            })
                        })
                        .collect::<Vec<_>>(),
                );
            } else {
                for s in &scores {
                    out!(
                        "macro F1 {:.3} ({:.3}–{:.3})  accuracy {:.3} ({:.3}–{:.3})  n={}  {}",
                        s.macro_f1.value,
                        s.macro_f1.low,
                        s.macro_f1.high,
                        s.accuracy.value,
                        s.accuracy.low,
                        s.accuracy.high,
                        s.n,
                        s.template
                    );
                }
            }
        }
        Command::ExportHead { db, run, output } => {
            let store = Store::open_existing(&db)?;
            let (weights, json) = selectra::jobs::train::export_head(&store, run, &output)?;
            out!("wrote {} and {}", weights.display(), json.display());
        }
        Command::Delete { db, run, scan, embeddings } => {
            use selectra::store::ResultSet;
            let set = run.map(ResultSet::Run).or(scan.map(ResultSet::Scan)).or(embeddings.map(ResultSet::Embeddings));
            let set = set.ok_or_else(|| selectra::Error::Input("choose what to delete: a run, a scan or an embedding set".into()))?;
            Store::open_existing(&db)?.delete_result_set(set)?;
            out!("deleted {} {}", set.noun(), set.id());
        }
        Command::Scans { db, corpus, json } => {
            let scans = Store::open_existing(&db)?.scans(corpus.as_deref())?;
            if json {
                print_json(&scans);
            } else if scans.is_empty() {
                out!("no scans in {}", db.display());
            } else {
                out!("{:>4}  {:<16}  {:>15}  {:<8}  model", "scan", "corpus", "records", "state");
                for s in &scans {
                    let state = if s.finished_at.is_some() { "complete" } else { "partial" };
                    out!("{:>4}  {:<16}  {:>15}  {state:<8}  {}", s.id, s.key.corpus, format!("{}/{}", s.scanned, s.records), s.key.model);
                }
            }
        }
        Command::Suspicious { db, corpus, scan, limit, words, compare, json } => {
            let store = Store::open_existing(&db)?;
            let scan = store.corpus_scan(&corpus, scan)?;
            if let Some(other) = compare {
                let c = selectra::analysis::scans::compare_scans(&store, scan.id, other, limit)?;
                if json {
                    print_json(&c);
                } else {
                    let kappa = c.kappa.map_or("undefined".to_string(), |k| format!("{k:.3}"));
                    out!(
                        "scans {} and {}: {} records, {} words; flagged by {}: {}, by {}: {}, by both: {}",
                        c.a,
                        c.b,
                        c.records,
                        c.words,
                        c.a,
                        c.flagged_by_a,
                        c.b,
                        c.flagged_by_b,
                        c.flagged_by_both
                    );
                    out!("agreement {:.1}%, Cohen's kappa {kappa}", 100.0 * c.agreement);
                    for d in &c.disagreements {
                        out!(
                            "row {:>6}  suspicion {:.3} vs {:.3}  only {}: {}  only {}: {}",
                            d.row_number,
                            d.suspicion_a,
                            d.suspicion_b,
                            c.a,
                            d.only_a.len(),
                            c.b,
                            d.only_b.len()
                        );
                    }
                }
            } else if words {
                let words = store.flagged_words(scan.id, limit)?;
                if json {
                    print_json(&words);
                } else {
                    out!("{:>6}  {:>9}  {:<24}  rows", "count", "mean P", "word");
                    for w in &words {
                        let rows: Vec<String> = w.examples.iter().map(u64::to_string).collect();
                        out!("{:>6}  {:>9.4}  {:<24}  {}", w.count, w.mean_probability, w.word, rows.join(", "));
                    }
                }
            } else {
                let records = store.suspicious_records(scan.id, limit)?;
                if json {
                    let rows: Vec<serde_json::Value> = records.iter().map(suspicious_json).collect();
                    print_json(&rows);
                } else {
                    for r in &records {
                        let flagged: Vec<String> =
                            r.words().iter().filter(|w| w.flagged).map(|w| format!("{} ({:.2})", w.text(&r.text), w.probability)).collect();
                        out!("row {:>6}  suspicion {:.4}  flagged {}  {}", r.row_number, r.suspicion, r.flagged, flagged.join(", "));
                    }
                }
            }
        }
        Command::Export { db, corpus, format, output, raw_csv, embeddings } => {
            let store = Store::open_existing(&db)?;
            let format = ExportFormat::parse(&format)?;
            let embeddings = match embeddings {
                None => None,
                Some(model) => Some(
                    store
                        .embedding_sets(&corpus)?
                        .into_iter()
                        .rev()
                        .find(|s| s.key.model == model)
                        .ok_or_else(|| {
                            selectra::Error::Input(format!("corpus {corpus:?} has no embeddings by {model:?}; run selectra embed with it first"))
                        })?
                        .id,
                ),
            };
            let options = ExportOptions { raw_csv, embeddings };
            match output {
                Some(path) => {
                    let n = export::export_to_file(&store, &corpus, format, &options, &path, &mut Watch::none())?;
                    eprintln!("exported {n} records to {}", path.display());
                }
                None => {
                    // Stdout itself (not its lock) is Send, which the Parquet writer needs.
                    let mut out = std::io::BufWriter::new(std::io::stdout());
                    export::export(&store, &corpus, format, &options, &mut out, &mut Watch::none())?;
                    out.flush().map_err(|e| selectra::Error::Io { path: "<stdout>".into(), source: e })?;
                }
            }
        }
        Command::Annotate { db, corpus, annotator } => annotate_stream(&db, &corpus, annotator)?,
        Command::Report { db, corpus, runs, published: _, within_run_labels, output, json } => {
            report(db.as_deref(), corpus, &runs, &output, within_run_labels, json)?
        }
        Command::Query { db, corpus, filters, annotator, order, limit, after, json } => {
            let seed = filters.seed;
            let mut q = filters.query(annotator)?;
            q.sort = selectra::store::Sort::parse(&order, seed)?;
            q.limit = limit;
            q.after = after.as_deref().map(selectra::store::Cursor::parse).transpose()?;
            let store = Store::open_existing(&db)?;
            let page = store.query(&corpus, &q)?;
            let total = match page.total {
                Some(t) => t,
                None => store.count(&corpus, &q)?,
            };
            if json {
                print_json(&serde_json::json!({
                    "total": total,
                    "records": page.rows.iter().map(query_row_json).collect::<Vec<_>>(),
                    "next": page.next.map(|c| c.to_string()),
                }));
            } else {
                out!("{total} matching records");
                for r in &page.rows {
                    let label = r.annotation_labels.as_ref().map(|l| l.join(",")).unwrap_or_default();
                    let predicted = match (&r.top_label, r.top_score) {
                        (Some(l), Some(s)) => format!("{l} {s:.2}"),
                        _ => String::new(),
                    };
                    out!("{:>7}  {:<16}  {:<20}  {}", r.row_number, label, predicted, selectra::domain::text::cell(&r.text, 80));
                }
                if let Some(next) = page.next {
                    out!("more: --after {next}");
                }
            }
        }
        Command::Label { db, corpus, filters, annotated_by, labels, discard, annotator, json } => {
            let q = filters.query(annotated_by)?;
            let mut store = Store::open_existing(&db)?;
            let annotator = match annotator {
                Some(a) => a,
                None => store.annotator()?,
            };
            let (labels, status) = if discard { (Vec::new(), Status::Discarded) } else { (labels, Status::Accepted) };
            let outcome = store.annotate_matching(&corpus, &q, &labels, status, &annotator)?;
            if json {
                print_json(&outcome);
            } else {
                match outcome.batch {
                    Some(batch) => out!(
                        "batch {batch}: {} of {} matching records changed ({} already had this annotation)",
                        outcome.changed,
                        outcome.matched,
                        outcome.matched - outcome.changed
                    ),
                    None => out!("nothing changed: {} matching records already had this annotation", outcome.matched),
                }
            }
        }
        Command::Schema { db, corpus, set, labels, json } => {
            let mut store = Store::open_existing(&db)?;
            let schema = if let Some(file) = set {
                store.set_label_schema(&corpus, selectra::exchange::import::read_label_schema(&file)?)?
            } else if let Some(labels) = labels {
                store.set_label_schema(&corpus, selectra::store::LabelSchema::from_names(&ZeroShotTask::parse_labels(&labels))?)?
            } else {
                store.label_schema(&corpus)?
            };
            if json {
                print_json(&schema);
            } else if schema.labels.is_empty() {
                out!("corpus {corpus:?} has no label schema yet");
            } else {
                // Stored text is printed with its control characters escaped: a description
                // cannot drive the terminal.
                use selectra::domain::text::{one_line, printable};
                for l in &schema.labels {
                    out!(
                        "{:>3}  {:<20}  {}  {}",
                        one_line(l.key.as_deref().unwrap_or("")),
                        printable(&l.name),
                        l.colour.as_deref().unwrap_or(""),
                        printable(&l.description)
                    );
                }
                for warning in schema.warnings() {
                    out!("note: {}", printable(&warning));
                }
                if !schema.guidelines.is_empty() {
                    out!("\n{}", printable(&schema.guidelines));
                }
            }
        }
        Command::Agreement { db, corpus, json } => {
            let store = Store::open_existing(&db)?;
            let a = store.annotator_agreement(&corpus)?;
            if json {
                print_json(&a);
            } else {
                let fmt = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.3}"));
                for c in &a.annotators {
                    out!("{:<20} {} accepted", c.annotator, c.records);
                }
                for p in &a.pairs {
                    out!("{} vs {}: {} shared records, agreement {}, Cohen's kappa {}", p.a, p.b, p.records, fmt(p.observed), fmt(p.kappa));
                }
                if let Some(f) = &a.fleiss {
                    out!("all {} annotators: {} shared records, Fleiss' kappa {}", f.annotators, f.records, fmt(f.kappa));
                }
                out!("{} records disputed", a.disputed);
            }
        }
        Command::Models { json } => list_models(json)?,
    }
    Ok(())
}

fn query_row_json(r: &selectra::store::QueryRow) -> serde_json::Value {
    serde_json::json!({
        "row": r.row_number,
        "id": r.source_id,
        "text": r.text,
        "gold": r.gold,
        "metadata": r.metadata,
        "labels": r.annotation_labels,
        "status": r.annotation_status,
        "annotator": r.annotator,
        "predicted": r.top_label,
        "score": r.top_score,
        "margin": r.margin,
        "entropy": r.entropy,
        "suspicion": r.suspicion,
    })
}

fn report(
    db: Option<&std::path::Path>,
    corpus: Option<String>,
    runs: &[i64],
    output: &std::path::Path,
    within_run_labels: bool,
    json: bool,
) -> selectra::Result<()> {
    let store = match db {
        None => None,
        Some(db) => Some(Store::open_existing(db)?),
    };
    let options = selectra::analysis::metrics::EvalOptions { within_run_labels, ..Default::default() };
    let (files, evaluation) = selectra::report::write_project_report(store.as_ref(), corpus.as_deref(), runs, output, &options, &mut Watch::none())?;
    for warning in evaluation.iter().flat_map(|e| &e.runs).filter_map(|r| r.outside_warning()) {
        eprintln!("warning: {warning}");
    }
    if let Some(e) = evaluation.as_ref().filter(|e| e.references.outside_run_labels > 0) {
        eprintln!("note: {} records with a reference outside the runs' labels were not scored", e.references.outside_run_labels);
    }
    if json {
        out!("{}", serde_json::to_string(&serde_json::json!({"files": files, "evaluation": evaluation})).expect("serializes"));
    } else {
        out!("wrote {} and {} figures (SVG and PNG) to {}", files.html.display(), files.figures.len() / 2, output.join("figures").display());
    }
    Ok(())
}

fn load(spec: &str, strip_accents: Option<bool>) -> selectra::Result<Model> {
    let options = LoadOptions { tokenizer: TokenizerOptions { strip_accents }, hub: HubSettings::from_env() };
    Model::load(spec, &options, Arc::new(DownloadBar::new()))
}

/// A download progress bar on stderr. It appears only while bytes are actually being fetched
/// (cache hits report completion and nothing else) and only when stderr is a terminal.
struct DownloadBar {
    bar: ProgressBar,
    shown: AtomicBool,
}

impl DownloadBar {
    fn new() -> Self {
        let bar = ProgressBar::hidden();
        bar.set_style(ProgressStyle::with_template("{msg:30} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} {eta}").expect("valid template"));
        Self { bar, shown: AtomicBool::new(false) }
    }
}

impl DownloadObserver for DownloadBar {
    fn progress(&self, file: &str, done: u64, total: u64) {
        if done < total && std::io::stderr().is_terminal() && !self.shown.swap(true, Ordering::Relaxed) {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.bar.enable_steady_tick(Duration::from_millis(200));
        }
        self.bar.set_message(file.to_string());
        self.bar.set_length(total.max(done));
        self.bar.set_position(done);
    }
}

impl Drop for DownloadBar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AnnotateLine {
    row: Option<u64>,
    #[serde(default)]
    labels: Vec<String>,
    status: Option<String>,
    #[serde(default)]
    undo: bool,
}

/// Applies each stdin line as one durable change and acknowledges it on stdout. A bad line is
/// reported on stderr (with its line number) and skipped; the exit status then says so.
fn annotate_stream(db: &std::path::Path, corpus: &str, annotator: Option<String>) -> selectra::Result<()> {
    use std::io::BufRead;
    let mut store = Store::open_existing(db)?;
    store.corpus(corpus)?;
    let annotator = match annotator {
        Some(a) => a,
        None => store.annotator()?,
    };
    let annotator = annotator.as_str();
    let mut failed = 0usize;
    let stdout = std::io::stdout();
    // Lines are read as bytes, so that one line that is not UTF-8 is reported and skipped like
    // any other bad line instead of ending the stream.
    for (n, line) in std::io::stdin().lock().split(b'\n').enumerate() {
        let line = line.map_err(|e| selectra::Error::Io { path: "<stdin>".into(), source: e })?;
        let line = match String::from_utf8(line) {
            Ok(line) => line,
            Err(e) => {
                failed += 1;
                eprintln!(
                    "line {}: not UTF-8 text (invalid byte at position {}); annotation lines are JSON in UTF-8",
                    n + 1,
                    e.utf8_error().valid_up_to() + 1
                );
                continue;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let result = serde_json::from_str::<AnnotateLine>(line.trim_start_matches('\u{feff}'))
            .map_err(|e| selectra::Error::Input(format!("not an annotation line ({})", selectra::error::shortened(&e.to_string()))))
            .and_then(|a| {
                if a.undo {
                    return store.undo_last(corpus, annotator);
                }
                let row = a.row.ok_or_else(|| selectra::Error::Input("the line has no \"row\"".into()))?;
                let status = Status::parse(a.status.as_deref().unwrap_or("accepted"))?;
                let record = store.record_id(corpus, row)?;
                store.annotate(record, &a.labels, status, annotator).map(|e| Some(selectra::store::Undone::Change(e)))
            });
        match result {
            Ok(event) => {
                let mut out = stdout.lock();
                let _ = writeln!(out, "{}", serde_json::to_string(&event).expect("plain data serializes"));
                let _ = out.flush();
            }
            Err(e) => {
                failed += 1;
                eprintln!("line {}: {e}", n + 1);
            }
        }
    }
    if failed > 0 {
        return Err(selectra::Error::Input(format!("{failed} line(s) were not applied")));
    }
    Ok(())
}

/// Ctrl-C asks long work to stop at the next safe point (the current batch is kept).
fn cancel_on_ctrl_c() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    // Failing to install the handler only means Ctrl-C kills the process, which is still safe.
    let _ = ctrlc::set_handler(move || handler_flag.store(true, Ordering::Relaxed));
    flag
}

/// A progress bar for long work on stderr, drawn only on a terminal.
struct TaskBar {
    bar: ProgressBar,
}

impl TaskBar {
    fn new(template: &str) -> Self {
        let bar = if std::io::stderr().is_terminal() { ProgressBar::new(0) } else { ProgressBar::hidden() };
        bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
        Self { bar }
    }

    fn update(&self, position: u64, length: u64, message: &str) {
        self.bar.set_length(length);
        self.bar.set_position(position);
        self.bar.set_message(message.to_string());
    }
}

impl Drop for TaskBar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

fn print_json<T: serde::Serialize>(value: &T) {
    let text = serde_json::to_string(value).expect("plain data serializes");
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}

fn print_tokens(inspection: &Inspection) {
    let width = inspection.tokens.iter().map(|t| t.token.chars().count()).max().unwrap_or(5).max(5);
    out!("{:width$}  {:>9}  {:>8}  {:>11}", "token", "chars", "logit", "P(replaced)");
    for t in &inspection.tokens {
        out!(
            "{:width$}  {:>9}  {:>8.4}  {:>11.4}{}",
            t.token,
            format!("{}-{}", t.start, t.end),
            t.logit,
            t.probability,
            notes(t.probability, t.untrained_embedding)
        );
    }
    untrained_footnote(inspection.tokens.iter().any(|t| t.untrained_embedding));
}

fn print_words(inspection: &Inspection) {
    let words = inspection.words();
    let width = words.iter().map(|w| w.text.chars().count()).max().unwrap_or(4).max(4);
    out!("{:width$}  {:>9}  {:>11}", "word", "chars", "P(replaced)");
    for w in &words {
        out!("{:width$}  {:>9}  {:>11.4}{}", w.text, format!("{}-{}", w.start, w.end), w.probability, notes(w.probability, w.untrained_embedding));
    }
    untrained_footnote(words.iter().any(|w| w.untrained_embedding));
}

fn suspicious_json(r: &selectra::store::SuspiciousRecord) -> serde_json::Value {
    let spans: Vec<serde_json::Value> = r
        .words()
        .into_iter()
        .filter(|w| w.flagged)
        .map(|w| serde_json::json!({"word": w.text(&r.text), "start": w.start, "end": w.end, "probability": w.probability}))
        .collect();
    serde_json::json!({
        "row": r.row_number,
        "id": r.source_id,
        "text": r.text,
        "suspicion": r.suspicion,
        "flagged": r.flagged,
        "mean": r.mean,
        "spans": spans,
    })
}

/// A corpus job's progress (a run, a scan) on its bar: records done, rate and ETA.
/// Runs a corpus job (a zero-shot run, a scan, an embedding set) with a progress bar and Ctrl-C
/// as its cancel; the bar is gone when it returns.
fn with_job_progress<T>(job: impl FnOnce(&mut dyn FnMut(RunProgress), &AtomicBool) -> selectra::Result<T>) -> selectra::Result<T> {
    let bar = TaskBar::new("{bar:30} {pos}/{len} records  {msg}");
    let cancel = cancel_on_ctrl_c();
    let mut progress = job_progress(&bar);
    let result = job(&mut progress, &cancel);
    drop(progress);
    result
}

/// Prints a corpus job's summary: JSON, or a line saying it is complete or how far it got; a
/// cancelled job ends the command as cancelled (the same command resumes it).
fn report_job(summary: &impl serde::Serialize, json: bool, cancelled: bool, stopped_at: String, complete: String) -> selectra::Result<()> {
    if json {
        print_json(summary);
    } else if cancelled {
        out!("cancelled: {stopped_at}; run the same command to resume");
    } else {
        out!("{complete}");
    }
    if cancelled {
        return Err(selectra::Error::Cancelled);
    }
    Ok(())
}

fn job_progress(bar: &TaskBar) -> impl FnMut(RunProgress) + '_ {
    |p| {
        let eta = p.eta_secs.map(|s| format!("{:.1} rec/s, ETA {}s", p.records_per_sec, s.round())).unwrap_or_default();
        let message = match p.stage.description() {
            None => eta,
            Some(stage) => format!("{stage}  {eta}"),
        };
        bar.update(p.done, p.total, &message);
    }
}

fn parse_precision(name: &str) -> Result<Precision, String> {
    Precision::parse(name).map_err(|e| e.to_string())
}

fn notes(probability: f32, untrained: bool) -> String {
    let mut notes = String::new();
    if selectra::domain::rtd::looks_replaced(probability) {
        notes.push_str("  <- looks replaced");
    }
    if untrained {
        notes.push_str("  * embedding not trained");
    }
    notes
}

fn untrained_footnote(any: bool) {
    if any {
        out!("* {}", selectra::domain::rtd::UNTRAINED_NOTE);
    }
}

fn print_scores(result: &ZeroShotResult) {
    let width = result.labels.iter().map(|l| l.chars().count()).max().unwrap_or(5).max(5);
    out!("{:width$}  {:>6}", "label", "score");
    for (label, score) in result.labels.iter().zip(&result.scores) {
        let bar = "#".repeat((score * 30.0).round() as usize);
        out!("{label:width$}  {score:>6.4}  {bar}");
    }
}

fn list_models(json: bool) -> selectra::Result<()> {
    let settings = HubSettings::from_env();
    let rows = hub::model_list(&settings)?;
    if json {
        print_json(&serde_json::json!({ "cache": settings.cache_dir, "models": rows }));
        return Ok(());
    }
    out!("Hugging Face cache: {}", settings.cache_dir.display());
    let width = rows.iter().map(|r| r.id.len()).max().unwrap_or(2);
    out!("{:width$}  {:<18}  description", "model", "cached");
    for r in &rows {
        let cached = if r.cached_snapshots == 0 { "no".to_string() } else { format!("yes ({})", r.cached_refs.join(", ")) };
        out!("{:width$}  {:<18}  {}", r.id, cached, r.description);
    }
    Ok(())
}
