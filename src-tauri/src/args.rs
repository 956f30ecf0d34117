//! What the app's commands take, as the UI sends them (the CLI's flags fill the same core calls).

use serde::Deserialize;
use ts_rs::TS;

use crate::dto::{FilterSpec, Span, Status};

/// A model to load: a Hub id `ORG/NAME[@REV]` or a folder, and the accent-stripping override.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct ModelRef {
    pub spec: String,
    pub strip_accents: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, TS)]
pub struct InspectArgs {
    pub model: ModelRef,
    pub text: String,
}

/// Scores the text with its token `index` replaced by the vocabulary token `replacement`.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct ReplaceArgs {
    pub model: ModelRef,
    pub text: String,
    pub index: usize,
    pub replacement: String,
}

/// One text (or a text pair) for a sequence classifier used with its own labels.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct ClassifyTextArgs {
    pub model: ModelRef,
    pub text: String,
    pub text_pair: Option<String>,
}

/// One text for a token classifier, with the pipeline's aggregation strategy.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct TagTextArgs {
    pub model: ModelRef,
    pub text: String,
    /// none, simple, first, average or max.
    pub aggregation: String,
}

/// A fine-tuned task model over a corpus: a classifier's labels, or a tagger's entities.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct ModelRunArgs {
    pub corpus: String,
    pub model: ModelRef,
    /// A tagger's aggregation (none, simple, first, average or max); null: the core's default.
    pub aggregation: Option<String>,
}

#[derive(Debug, Clone, Deserialize, TS)]
pub struct ClassifyArgs {
    pub model: ModelRef,
    pub text: String,
    pub labels: Vec<String>,
    pub template: String,
    pub multi_label: bool,
}

#[derive(Debug, Clone, Deserialize, TS)]
pub struct PreviewArgs {
    pub path: String,
    /// csv, tsv, jsonl, txt, conll or parquet; `null` guesses from the file name.
    pub format: Option<String>,
}

#[derive(Debug, Clone, Deserialize, TS)]
pub struct ImportArgs {
    pub path: String,
    #[serde(flatten)]
    pub columns: ColumnArgs,
}

/// How an import reads its rows: the new corpus's name, the format and the columns chosen.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct ColumnArgs {
    pub name: String,
    pub format: Option<String>,
    pub text_column: Option<String>,
    /// The second text of a sentence-pair corpus, if any.
    pub text_pair_column: Option<String>,
    pub id_column: Option<String>,
    pub label_column: Option<String>,
    /// Each record's reference entity spans, if any.
    pub spans_column: Option<String>,
    pub metadata_columns: Vec<String>,
    pub skip_bad: bool,
}

/// A Hub dataset (`ORG/NAME[@REVISION]`) and, optionally, one of its configs and splits (the
/// defaults otherwise).
#[derive(Debug, Clone, Deserialize, TS)]
pub struct HubSplitArgs {
    pub dataset: String,
    pub config: Option<String>,
    pub split: Option<String>,
}

/// One split of a Hub dataset imported as a new corpus (an empty name: the core's default).
#[derive(Debug, Clone, Deserialize, TS)]
pub struct HubImportArgs {
    #[serde(flatten)]
    pub source: HubSplitArgs,
    #[serde(flatten)]
    pub columns: ColumnArgs,
}

/// A corpus pushed to a Hub dataset repository as one split ("" is the default split).
#[derive(Debug, Clone, Deserialize, TS)]
pub struct PushArgs {
    pub corpus: String,
    pub to: String,
    pub split: String,
    pub private: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SortDto {
    Row,
    Margin,
    Entropy,
    ScoreDesc,
    ScoreAsc,
    /// Most suspicious first (needs a scan).
    Suspicion,
    /// A shuffle, seeded by the filter's seed.
    Random,
    /// Least sure entities first (needs the filter's tagging run).
    EntityScore,
    /// The order of the filter's listed records (a search's or a tool's).
    Listed,
}

#[derive(Debug, Clone, Deserialize, TS)]
pub struct BrowseArgs {
    pub corpus: String,
    pub filter: FilterSpec,
    pub sort: SortDto,
    pub after: Option<String>,
    pub limit: u32,
}

/// A zero-shot run over a corpus; the same arguments resume an unfinished run.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct RunArgs {
    pub corpus: String,
    pub model: ModelRef,
    /// Ignored with `use_schema`.
    pub labels: Vec<String>,
    pub template: String,
    pub multi_label: bool,
    /// The labels and their hypotheses from the corpus's label schema.
    pub use_schema: bool,
    /// The bf16 fast mode, behind its agreement check on the corpus (else exact f32).
    pub fast: bool,
}

/// An export of a corpus, as `selectra export` writes it.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct ExportArgs {
    pub corpus: String,
    /// jsonl, csv or parquet.
    pub format: String,
    pub path: String,
    /// CSV cells exactly as stored (no guard against spreadsheet formulas).
    pub raw_csv: bool,
}

#[derive(Debug, Clone, Deserialize, TS)]
pub struct AnnotateArgs {
    pub record_id: i64,
    pub labels: Vec<String>,
    pub status: Status,
}

/// A record's entity spans, as the span editor shows them.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct AnnotateSpansArgs {
    pub record_id: i64,
    pub spans: Vec<Span>,
    pub status: Status,
}

/// A bulk action: `records` (the chosen rows), or with `filter` every record it matches.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct BulkLabelArgs {
    pub corpus: String,
    pub records: Vec<i64>,
    pub filter: Option<FilterSpec>,
    /// The labels (none to discard).
    pub labels: Vec<String>,
    pub status: Status,
}

/// A bulk acceptance of a tagging run's entities as spans: `records` (the chosen rows), or with
/// `filter` every record it matches.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct BulkEntitiesArgs {
    pub corpus: String,
    pub records: Vec<i64>,
    pub filter: Option<FilterSpec>,
    /// The tagging run whose entities become the records' spans.
    pub run: i64,
    /// Accepted, or pending (to review).
    pub status: Status,
}

#[derive(Debug, Clone, Deserialize, TS)]
pub struct EvaluateArgs {
    pub corpus: String,
    /// Empty: every run of the corpus.
    pub runs: Vec<i64>,
    /// Score only records whose reference labels every run can predict.
    pub within_run_labels: bool,
}

#[derive(Debug, Clone, Deserialize, TS)]
pub struct ReportArgs {
    /// `null`: only the published comparison.
    pub corpus: Option<String>,
    pub runs: Vec<i64>,
    /// The folder to write index.html, report.json and figures/ into.
    pub output: String,
    /// Score only records whose reference labels every run can predict.
    pub within_run_labels: bool,
}

#[derive(Debug, Clone, Deserialize, TS)]
pub struct ScanArgs {
    pub corpus: String,
    pub model: ModelRef,
}

/// Training a head on the corpus's labels over `model`'s embeddings.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct TrainArgs {
    pub corpus: String,
    pub model: ModelRef,
    pub folds: u32,
    pub seed: u64,
    /// annotations, gold or both.
    pub source: String,
}

/// Fine-tunes `model` on `corpus`'s labels into the folder `output` (the core's defaults for
/// what is null).
#[derive(Debug, Clone, Deserialize, TS)]
pub struct FinetuneArgs {
    pub corpus: String,
    pub model: String,
    pub output: String,
    pub epochs: Option<u32>,
    pub learning_rate: Option<f64>,
    pub batch_size: Option<u32>,
    pub validation_share: Option<f64>,
    /// Cross-validation folds (none: one model and the validation share).
    pub folds: Option<u32>,
    /// annotations, gold or both.
    pub source: String,
    /// labels (a classifier) or spans (a tagger); none: what the corpus has.
    pub target: Option<String>,
}

/// The template lab: these templates over the labeled records of `corpus`.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct TemplateLabArgs {
    pub corpus: String,
    pub model: ModelRef,
    pub labels: Vec<String>,
    pub templates: Vec<String>,
    pub multi_label: bool,
    /// Also score the corpus's label schema with its own hypotheses (labels as the schema has them).
    pub with_schema: bool,
    /// Score a seeded sample of this many labeled records.
    pub sample: Option<u32>,
    /// The reference labels: annotations, gold or both.
    pub source: String,
    /// Score only records whose reference is among the labels.
    pub within_labels: bool,
}

/// Embedding every record of `corpus` with `model` (resumable; the set the tools search).
#[derive(Debug, Clone, Deserialize, TS)]
pub struct EmbedCorpusArgs {
    pub corpus: String,
    pub model: ModelRef,
}

/// Duplicate groups: exact ones, and with an embedding set near ones at `threshold` (the core's
/// default when `null`).
#[derive(Debug, Clone, Deserialize, TS)]
pub struct DuplicatesArgs {
    pub corpus: String,
    pub embeddings: Option<i64>,
    pub threshold: Option<f32>,
}

/// The records nearest one record of the set, or a typed text (embedded by the set's model).
#[derive(Debug, Clone, Deserialize, TS)]
pub struct SimilarArgs {
    pub corpus: String,
    pub embeddings: i64,
    pub record: Option<i64>,
    pub text: Option<String>,
    /// `null`: the core's default.
    pub k: Option<u32>,
}

/// Discarding these records as one batch (the rest of a duplicate group).
#[derive(Debug, Clone, Deserialize, TS)]
pub struct DiscardArgs {
    pub corpus: String,
    pub records: Vec<i64>,
}

/// Why a run gave a record its label: word attributions by the run's own model.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct ExplainRecordArgs {
    pub run: i64,
    pub record: i64,
    /// `null`: the label the run's model scores highest on the record.
    pub label: Option<String>,
    pub method: selectra::domain::attribution::Method,
}

/// Why a model gives a typed text a label: a zero-shot model with `labels`, else a classifier
/// with its own labels.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct ExplainTextArgs {
    pub model: ModelRef,
    pub text: String,
    pub text_pair: Option<String>,
    /// Zero-shot candidate labels as typed (comma-separated; the core splits them); `null` for a
    /// classifier.
    pub labels: Option<String>,
    /// `null`: the core's default template.
    pub template: Option<String>,
    pub multi_label: bool,
    pub label: Option<String>,
    pub method: selectra::domain::attribution::Method,
}

/// What a run keys on: each label's words over its most confident records.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct KeyWordsArgs {
    pub run: i64,
    /// `null`: the core's default.
    pub per_label: Option<u32>,
    pub method: selectra::domain::attribution::Method,
}

/// A map of an embedding set.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct MapArgs {
    pub corpus: String,
    pub embeddings: i64,
    pub method: selectra::domain::map::ProjectionMethod,
    /// UMAP's seed; `null`: the core's default.
    pub seed: Option<u32>,
}

/// A map's colours.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct MapColourArgs {
    pub corpus: String,
    pub map: i64,
    pub by: selectra::domain::map::ColourBy,
}

/// The records of a map inside a drawn outline (the lasso), in map coordinates.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct LassoArgs {
    pub corpus: String,
    pub map: i64,
    pub outline: Vec<(f64, f64)>,
}
