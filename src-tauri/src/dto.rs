//! The wire types: what commands take and return. Core types stay free to change; these are the
//! contract with the UI, and their TypeScript twins in `ui/src/lib/bindings.ts` are generated
//! from them (see [`crate::bindings`]). Conversions from core types live here too, so commands
//! stay one call and one `into()`.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

// Core types that are already the wire shape travel as they are (their TypeScript comes from the
// core's `ts` feature); the types below are the app's own views.
pub use selectra::analysis::metrics::Estimate;
pub use selectra::domain::annotation::Status;
pub use selectra::domain::query::{EvalFilter, FilterSpec};
pub use selectra::engine::zeroshot::ZeroShotResult;
pub use selectra::store::{BadRow, BatchOutcome, CorpusInfo, ImportOutcome};
use selectra::ErrorCode;

/// Every command's error: `code` is a closed set the UI branches on, `message` says what was
/// wrong and what to do.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ErrorDto {
    pub code: ErrorCode,
    pub message: String,
    /// The settings that fix the error, most relevant first (the field to focus); usually none.
    pub settings: Vec<selectra::Setting>,
}

impl From<selectra::Error> for ErrorDto {
    fn from(e: selectra::Error) -> Self {
        Self { code: e.code(), message: e.to_string(), settings: e.settings().to_vec() }
    }
}

pub type CmdResult<T> = Result<T, ErrorDto>;

#[derive(Debug, Clone, Serialize, TS)]
pub struct AppInfo {
    /// The core's version and commit, as `selectra --version` prints them.
    pub version: String,
    /// The open project database.
    pub project: String,
    /// The Hugging Face cache models are downloaded into.
    pub hub_cache: String,
    pub offline: bool,
    /// P(replaced) from which a word counts as flagged (the core's threshold).
    pub replaced_threshold: f32,
    /// Learning's defaults: new labels between retrainings, and the longest training (seconds)
    /// that is retrained without being asked.
    pub retrain_every: f64,
    pub auto_retrain_max_secs: f64,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct ModelEntryDto {
    pub id: String,
    pub description: String,
    pub preset: bool,
    pub cached: bool,
    pub cached_refs: Vec<String>,
}

impl From<selectra::engine::hub::ModelEntry> for ModelEntryDto {
    fn from(e: selectra::engine::hub::ModelEntry) -> Self {
        Self { id: e.id, description: e.description, preset: e.preset, cached: e.cached_snapshots > 0, cached_refs: e.cached_refs }
    }
}

/// A model to load: a Hub id `ORG/NAME[@REV]` or a folder, and the accent-stripping override.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct ModelRef {
    pub spec: String,
    pub strip_accents: Option<bool>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DownloadEvent {
    /// Bytes of `file` fetched so far (a cache hit reports done == total at once).
    Progress { file: String, done: f64, total: f64 },
}

/// What the Models view shows about a loaded model.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ModelFacts {
    pub name: String,
    pub folder: String,
    pub weights_file: String,
    pub model_type: String,
    pub architecture: String,
    /// "discriminator" (per-token scores) or "classifier" (zero-shot NLI).
    pub role: String,
    pub parameters: f64,
    pub layers: usize,
    pub hidden_size: usize,
    pub embedding_size: usize,
    pub attention_heads: usize,
    pub intermediate_size: usize,
    pub vocab_size: usize,
    pub max_positions: usize,
    pub labels: Vec<String>,
    /// The tokenizer class and algorithm, e.g. "RobertaTokenizer (byte-level BPE)".
    pub tokenizer: String,
    /// Whether the tokenizer has the lower-case and accent settings (WordPiece only).
    pub accent_setting: bool,
    pub do_lower_case: bool,
    /// Whether the model's own tokenizer files strip accents (an unset value follows lower-casing).
    pub files_strip_accents: bool,
    /// What is in effect, after the user's override.
    pub strips_accents: bool,
}

impl From<&selectra::Model> for ModelFacts {
    fn from(m: &selectra::Model) -> Self {
        let c = &m.config;
        let settings = m.tokenizer.settings();
        Self {
            name: m.name.clone(),
            folder: m.files.folder.display().to_string(),
            weights_file: m.files.weights.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
            model_type: c.model_type.name().to_string(),
            architecture: c.architecture.name().to_string(),
            role: if c.architecture.is_classifier() { "classifier" } else { "discriminator" }.to_string(),
            parameters: m.parameters as f64,
            layers: c.num_hidden_layers,
            hidden_size: c.hidden_size,
            embedding_size: c.embedding_size,
            attention_heads: c.num_attention_heads,
            intermediate_size: c.intermediate_size,
            vocab_size: c.vocab_size,
            max_positions: m.tokenizer.max_length(),
            labels: c.id2label.clone(),
            tokenizer: settings.kind.label(),
            accent_setting: settings.kind.has_accent_setting(),
            do_lower_case: settings.do_lower_case,
            files_strip_accents: m.tokenizer.files_strip_accents(),
            strips_accents: m.tokenizer.strips_accents(),
        }
    }
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

#[derive(Debug, Clone, Serialize, TS)]
pub struct TokenDto {
    pub token: String,
    pub id: u32,
    /// Character (Unicode scalar) offsets into the text, end exclusive.
    pub start: usize,
    pub end: usize,
    pub logit: f32,
    pub probability: f32,
    /// Accents kept on a model whose files strip them, and this piece has one: its embedding
    /// was never trained.
    pub untrained_embedding: bool,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct WordDto {
    pub text: String,
    pub start: usize,
    pub end: usize,
    pub probability: f32,
    pub first_token: usize,
    pub token_count: usize,
    pub untrained_embedding: bool,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct InspectionDto {
    pub model: String,
    pub text: String,
    pub tokens: Vec<TokenDto>,
    pub words: Vec<WordDto>,
    pub truncated: bool,
    /// Whether the model's files strip accents, and whether accents were stripped here.
    pub files_strip_accents: bool,
    pub strips_accents: bool,
    /// What an untrained-embedding mark means (the core's wording).
    pub untrained_note: String,
}

impl InspectionDto {
    pub fn new(i: selectra::engine::inspect::Inspection, model: &selectra::Model) -> Self {
        Self { files_strip_accents: model.tokenizer.files_strip_accents(), strips_accents: model.tokenizer.strips_accents(), ..Self::from(i) }
    }
}

impl From<selectra::engine::inspect::Inspection> for InspectionDto {
    fn from(i: selectra::engine::inspect::Inspection) -> Self {
        let words = i
            .words()
            .into_iter()
            .map(|w| WordDto {
                text: w.text,
                start: w.start,
                end: w.end,
                probability: w.probability,
                first_token: w.first_token,
                token_count: w.token_count,
                untrained_embedding: w.untrained_embedding,
            })
            .collect();
        Self {
            tokens: i
                .tokens
                .iter()
                .map(|t| TokenDto {
                    token: t.token.clone(),
                    id: t.id,
                    start: t.start,
                    end: t.end,
                    logit: t.logit,
                    probability: t.probability,
                    untrained_embedding: t.untrained_embedding,
                })
                .collect(),
            words,
            truncated: i.truncated,
            files_strip_accents: false,
            strips_accents: false,
            untrained_note: selectra::domain::rtd::UNTRAINED_NOTE.to_string(),
            model: i.model,
            text: i.text,
        }
    }
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
    /// csv, tsv, jsonl or txt; `null` guesses from the file name.
    pub format: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct PreviewDto {
    pub format: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl From<selectra::exchange::import::Preview> for PreviewDto {
    fn from(p: selectra::exchange::import::Preview) -> Self {
        Self { format: p.format.name().to_string(), columns: p.columns, rows: p.rows }
    }
}

#[derive(Debug, Clone, Deserialize, TS)]
pub struct ImportArgs {
    pub path: String,
    pub name: String,
    pub format: Option<String>,
    pub text_column: Option<String>,
    pub id_column: Option<String>,
    pub label_column: Option<String>,
    pub metadata_columns: Vec<String>,
    pub skip_bad: bool,
}

/// Progress of long work: `done` of `total` units (bytes for imports, records for runs).
#[derive(Debug, Clone, Serialize, TS)]
pub struct TaskProgress {
    pub done: f64,
    pub total: f64,
    pub message: String,
    pub eta_secs: Option<f64>,
    /// What the work is doing now, in the core's words ("embedding the records", "training the
    /// classifier"), when it has stages.
    pub stage: Option<String>,
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
}

#[derive(Debug, Clone, Deserialize, TS)]
pub struct BrowseArgs {
    pub corpus: String,
    pub filter: FilterSpec,
    pub sort: SortDto,
    pub after: Option<String>,
    pub limit: f64,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct MetaEntry {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct RecordDto {
    pub record_id: f64,
    pub row_number: f64,
    pub source_id: Option<String>,
    pub text: String,
    pub gold: Option<String>,
    /// The record's metadata, each value as text (as the filter bar compares it).
    pub metadata: Vec<MetaEntry>,
    pub annotation_labels: Option<Vec<String>>,
    pub annotation_status: Option<Status>,
    /// Who changed the annotation last.
    pub annotator: Option<String>,
    pub top_label: Option<String>,
    pub top_score: Option<f64>,
    pub margin: Option<f64>,
    /// The record's suspicion in the browsed scan.
    pub suspicion: Option<f64>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct PageDto {
    pub rows: Vec<RecordDto>,
    /// Matching records over all pages; only counted for the first page.
    pub total: Option<f64>,
    /// The cursor of the next page; `null` on the last.
    pub next: Option<String>,
}

impl From<selectra::store::Page> for PageDto {
    fn from(p: selectra::store::Page) -> Self {
        Self {
            rows: p
                .rows
                .into_iter()
                .map(|r| RecordDto {
                    record_id: r.record_id as f64,
                    row_number: r.row_number as f64,
                    source_id: r.source_id,
                    text: r.text,
                    gold: r.gold,
                    metadata: match &r.metadata {
                        Some(serde_json::Value::Object(map)) => {
                            map.iter().map(|(k, v)| MetaEntry { key: k.clone(), value: selectra::store::meta_text(v) }).collect()
                        }
                        _ => Vec::new(),
                    },
                    annotation_labels: r.annotation_labels,
                    annotation_status: r.annotation_status,
                    annotator: r.annotator,
                    top_label: r.top_label,
                    top_score: r.top_score,
                    margin: r.margin,
                    suspicion: r.suspicion,
                })
                .collect(),
            total: p.total.map(|t| t as f64),
            next: p.next.map(|c| c.to_string()),
        }
    }
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct RunDto {
    pub id: f64,
    /// The name someone gave the run.
    pub name: Option<String>,
    /// "zeroshot", or "trained" (a head trained on the corpus's labels).
    pub kind: String,
    pub corpus: String,
    pub model: String,
    pub labels: Vec<String>,
    pub template: String,
    pub multi_label: bool,
    pub strip_accents: Option<bool>,
    pub created_at: String,
    pub finished_at: Option<String>,
    pub predictions: f64,
    pub records: f64,
    /// "exact", or "bf16" (the fast mode).
    pub precision: String,
    /// The fast mode's agreement check that decided the run's precision, in words.
    pub precision_check: Option<String>,
}

impl From<selectra::store::RunInfo> for RunDto {
    fn from(r: selectra::store::RunInfo) -> Self {
        Self {
            id: r.id as f64,
            name: r.name,
            kind: r.kind,
            corpus: r.key.corpus,
            model: r.key.model,
            labels: r.key.labels,
            template: r.key.template,
            multi_label: r.key.multi_label,
            strip_accents: r.key.strip_accents,
            created_at: r.created_at,
            finished_at: r.finished_at,
            predictions: r.predictions as f64,
            records: r.records as f64,
            precision: r.key.precision.name().into(),
            precision_check: r.precision_check.map(|c| c.summary()),
        }
    }
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

#[derive(Debug, Clone, Serialize, TS)]
pub struct RunSummaryDto {
    pub run: RunDto,
    pub predicted_now: f64,
    pub cancelled: bool,
    /// The fast mode's check made in this session, in words.
    pub precision_check: Option<String>,
    /// Why the fast mode was not used, or that an earlier check is relied on.
    pub precision_note: Option<String>,
}

impl From<selectra::jobs::corpus_run::RunSummary> for RunSummaryDto {
    fn from(s: selectra::jobs::corpus_run::RunSummary) -> Self {
        Self {
            run: s.run.into(),
            predicted_now: s.predicted_now as f64,
            cancelled: s.cancelled,
            precision_check: s.precision.check.map(|c| c.summary()),
            precision_note: s.precision.note,
        }
    }
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct LabelCount {
    pub label: String,
    pub count: f64,
}

#[derive(Debug, Clone, Deserialize, TS)]
pub struct AnnotateArgs {
    pub record_id: f64,
    pub labels: Vec<String>,
    pub status: Status,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct AnnotationEventDto {
    pub record_id: f64,
    /// The record's state after the change (`null`: no annotation any more).
    pub labels: Option<Vec<String>>,
    pub status: Option<Status>,
    pub undo: bool,
}

impl From<selectra::store::AnnotationEvent> for AnnotationEventDto {
    fn from(e: selectra::store::AnnotationEvent) -> Self {
        Self { record_id: e.record_id as f64, labels: e.labels, status: e.status, undo: e.undoes.is_some() }
    }
}

/// What an undo reverted: one change (`event`), or a bulk action's batch of `records` records.
#[derive(Debug, Clone, Serialize, TS)]
pub struct UndoneDto {
    pub event: Option<AnnotationEventDto>,
    pub batch: Option<f64>,
    pub records: f64,
}

impl From<selectra::store::Undone> for UndoneDto {
    fn from(u: selectra::store::Undone) -> Self {
        match u {
            selectra::store::Undone::Change(e) => Self { event: Some(e.into()), batch: None, records: 1.0 },
            selectra::store::Undone::Batch { batch, records } => Self { event: None, batch: Some(batch as f64), records: records as f64 },
        }
    }
}

/// A bulk action: `records` (the chosen rows), or with `filter` every record it matches.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct BulkLabelArgs {
    pub corpus: String,
    pub records: Vec<f64>,
    pub filter: Option<FilterSpec>,
    /// The labels (none to discard).
    pub labels: Vec<String>,
    pub status: Status,
}

/// One label of a corpus's schema (see `selectra::store::LabelDef`).
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct LabelDefDto {
    pub name: String,
    pub description: String,
    /// One character; the core gives the first nine labels 1–9 when none is chosen.
    pub key: Option<String>,
    /// `#rrggbb`; the core fills a default.
    pub colour: Option<String>,
    /// The NLI hypothesis; `null`: the run's template filled with the name.
    pub hypothesis: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct LabelSchemaDto {
    pub labels: Vec<LabelDefDto>,
    pub guidelines: String,
}

impl From<selectra::store::LabelSchema> for LabelSchemaDto {
    fn from(s: selectra::store::LabelSchema) -> Self {
        Self {
            labels: s
                .labels
                .into_iter()
                .map(|l| LabelDefDto { name: l.name, description: l.description, key: l.key, colour: l.colour, hypothesis: l.hypothesis })
                .collect(),
            guidelines: s.guidelines,
        }
    }
}

impl From<LabelSchemaDto> for selectra::store::LabelSchema {
    fn from(s: LabelSchemaDto) -> Self {
        Self {
            labels: s
                .labels
                .into_iter()
                .map(|l| selectra::store::LabelDef {
                    name: l.name,
                    description: l.description,
                    key: l.key,
                    colour: l.colour,
                    hypothesis: l.hypothesis,
                })
                .collect(),
            guidelines: s.guidelines,
        }
    }
}

/// The corpus's schema, and the labels it already uses (to start a schema from).
#[derive(Debug, Clone, Serialize, TS)]
pub struct SchemaViewDto {
    pub schema: LabelSchemaDto,
    pub suggested: Vec<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct PairAgreementDto {
    pub a: String,
    pub b: String,
    pub records: f64,
    pub observed: Option<f64>,
    /// Cohen's kappa.
    pub kappa: Option<f64>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct AgreementDto {
    /// Each annotator and how many records they accepted.
    pub annotators: Vec<(String, f64)>,
    pub pairs: Vec<PairAgreementDto>,
    /// Fleiss' kappa over the records all annotators accepted (three or more annotators).
    pub fleiss_kappa: Option<f64>,
    pub fleiss_records: f64,
    /// Records accepted with different labels by different annotators.
    pub disputed: f64,
}

impl From<selectra::analysis::agreement::AnnotatorAgreement> for AgreementDto {
    fn from(a: selectra::analysis::agreement::AnnotatorAgreement) -> Self {
        Self {
            annotators: a.annotators.into_iter().map(|c| (c.annotator, c.records as f64)).collect(),
            pairs: a
                .pairs
                .into_iter()
                .map(|p| PairAgreementDto { a: p.a, b: p.b, records: p.records as f64, observed: p.observed, kappa: p.kappa })
                .collect(),
            fleiss_kappa: a.fleiss.as_ref().and_then(|f| f.kappa),
            fleiss_records: a.fleiss.as_ref().map_or(0.0, |f| f.records as f64),
            disputed: a.disputed as f64,
        }
    }
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct HistoryEntryDto {
    pub at: String,
    pub annotator: String,
    pub labels: Option<Vec<String>>,
    pub status: Option<Status>,
    pub undo: bool,
    pub batch: Option<f64>,
}

impl From<selectra::store::HistoryEntry> for HistoryEntryDto {
    fn from(h: selectra::store::HistoryEntry) -> Self {
        Self { at: h.at, annotator: h.annotator, labels: h.labels, status: h.status, undo: h.undoes.is_some(), batch: h.batch.map(|b| b as f64) }
    }
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct RecordPredictionDto {
    pub run_id: f64,
    pub model: String,
    pub labels: Vec<String>,
    pub scores: Vec<f32>,
    /// The labels the run suggests (the core decides: top label, or those over the threshold).
    pub suggested: Vec<String>,
}

impl From<selectra::store::RecordPrediction> for RecordPredictionDto {
    fn from(p: selectra::store::RecordPrediction) -> Self {
        Self { suggested: p.suggested(), run_id: p.run_id as f64, model: p.model, labels: p.labels, scores: p.scores }
    }
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct PublishedScoreDto {
    pub model: String,
    pub hub_id: String,
    pub family: String,
    pub params_millions: Option<f64>,
    pub task: String,
    pub metric: String,
    pub mean: f64,
    pub std: Option<f64>,
    /// The number as the source prints it ("0.865 ± 0.004", "0.8691"): what the table shows.
    pub display: String,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct SourceDto {
    pub key: String,
    pub citation: String,
    pub url: String,
    pub note: String,
}

/// A chart drawn by the core, as SVG text (shown as an image, never as markup).
#[derive(Debug, Clone, Serialize, TS)]
pub struct FigureDto {
    pub name: String,
    pub caption: String,
    pub svg: String,
}

impl FigureDto {
    pub fn from_figure(f: selectra::report::Figure) -> selectra::Result<Self> {
        Ok(Self { svg: f.chart.svg()?, name: f.name, caption: f.caption })
    }
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct PublishedDto {
    /// The card's comparison table: its fine-tuned models (rows) and tasks (columns), in order.
    pub card_models: Vec<String>,
    pub card_tasks: Vec<String>,
    pub scores: Vec<PublishedScoreDto>,
    pub sources: Vec<SourceDto>,
    pub figures: Vec<FigureDto>,
    /// What loads for each published model's family.
    pub models: Vec<LoadableModelDto>,
}

/// A published row's loadable model (or why there is none).
#[derive(Debug, Clone, Serialize, TS)]
pub struct LoadableModelDto {
    pub model: String,
    pub load_id: Option<String>,
    pub architecture: Option<String>,
    pub note: String,
}

#[derive(Debug, Clone, Deserialize, TS)]
pub struct EvaluateArgs {
    pub corpus: String,
    /// Empty: every run of the corpus.
    pub runs: Vec<i64>,
    /// Score only records whose reference labels every run can predict.
    pub within_run_labels: bool,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct RunScoreDto {
    pub run: RunDto,
    pub multi_label: bool,
    pub n: f64,
    /// Accuracy (single-label) or subset accuracy (multi-label; no interval).
    pub accuracy: Estimate,
    pub macro_f1: Estimate,
    /// Expected calibration error (single-label only).
    pub ece: Option<f64>,
    /// The labels the confusion matrix covers (single-label).
    pub labels: Vec<String>,
    /// `confusion[t][p]`: records with reference `labels[t]` predicted `labels[p]`.
    pub confusion: Vec<Vec<f64>>,
    /// The reliability bins of the top score (single-label).
    pub reliability: Vec<ReliabilityBinDto>,
    /// The most confident mistakes.
    pub mistakes: Vec<MistakeDto>,
    /// Scored records whose reference this run cannot predict, and the core's warning about them.
    pub outside_references: f64,
    pub outside_warning: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct ReliabilityBinDto {
    pub lower: f64,
    pub upper: f64,
    pub count: f64,
    pub confidence: Option<f64>,
    pub accuracy: Option<f64>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct MistakeDto {
    pub row_number: f64,
    pub text: String,
    pub reference: Vec<String>,
    pub predicted: Vec<String>,
    pub confidence: f64,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct EvaluationDto {
    /// The runs scored, on the records every one of them predicted.
    pub run_ids: Vec<i64>,
    pub corpus: String,
    pub accepted_annotations: f64,
    pub gold: f64,
    pub excluded: f64,
    /// Records left out because their reference lies outside some run's labels (when asked).
    pub outside_run_labels: f64,
    pub runs: Vec<RunScoreDto>,
    pub figures: Vec<FigureDto>,
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

impl EvaluationDto {
    pub fn from_evaluation(e: &selectra::analysis::evaluate::Evaluation) -> selectra::Result<Self> {
        use selectra::analysis::evaluate::RunMetrics;
        let runs = e
            .runs
            .iter()
            .map(|r| {
                let mistakes = r
                    .mistakes
                    .iter()
                    .map(|m| MistakeDto {
                        row_number: m.row_number as f64,
                        text: m.text.clone(),
                        reference: m.reference.clone(),
                        predicted: m.predicted.clone(),
                        confidence: m.confidence,
                    })
                    .collect();
                match &r.metrics {
                    RunMetrics::SingleLabel(m) => RunScoreDto {
                        run: r.run.clone().into(),
                        multi_label: false,
                        n: m.n as f64,
                        accuracy: m.accuracy,
                        macro_f1: m.macro_f1,
                        ece: Some(m.ece),
                        labels: m.labels.clone(),
                        confusion: m.confusion.iter().map(|row| row.iter().map(|&c| c as f64).collect()).collect(),
                        reliability: m
                            .reliability
                            .iter()
                            .map(|b| ReliabilityBinDto {
                                lower: b.lower,
                                upper: b.upper,
                                count: b.count as f64,
                                confidence: b.confidence,
                                accuracy: b.accuracy,
                            })
                            .collect(),
                        mistakes,
                        outside_references: r.outside_references as f64,
                        outside_warning: r.outside_warning(),
                    },
                    RunMetrics::MultiLabel(m) => RunScoreDto {
                        run: r.run.clone().into(),
                        multi_label: true,
                        n: m.n as f64,
                        accuracy: Estimate { value: m.subset_accuracy, low: m.subset_accuracy, high: m.subset_accuracy },
                        macro_f1: m.macro_f1,
                        ece: None,
                        labels: Vec::new(),
                        confusion: Vec::new(),
                        reliability: Vec::new(),
                        mistakes,
                        outside_references: r.outside_references as f64,
                        outside_warning: r.outside_warning(),
                    },
                }
            })
            .collect();
        let figures = selectra::report::evaluation_figures(e).into_iter().map(FigureDto::from_figure).collect::<selectra::Result<_>>()?;
        Ok(Self {
            run_ids: e.runs.iter().map(|r| r.run.id).collect(),
            corpus: e.corpus.clone(),
            accepted_annotations: e.references.accepted_annotations as f64,
            gold: e.references.gold as f64,
            excluded: e.references.excluded as f64,
            outside_run_labels: e.references.outside_run_labels as f64,
            runs,
            figures,
        })
    }
}

/// A scan of a corpus by a discriminator.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ScanDto {
    pub id: f64,
    /// The name someone gave the scan.
    pub name: Option<String>,
    pub corpus: String,
    pub model: String,
    pub strip_accents: Option<bool>,
    pub created_at: String,
    pub finished_at: Option<String>,
    pub scanned: f64,
    pub records: f64,
}

impl From<selectra::store::ScanInfo> for ScanDto {
    fn from(s: selectra::store::ScanInfo) -> Self {
        Self {
            id: s.id as f64,
            name: s.name,
            corpus: s.key.corpus,
            model: s.key.model,
            strip_accents: s.key.strip_accents,
            created_at: s.created_at,
            finished_at: s.finished_at,
            scanned: s.scanned as f64,
            records: s.records as f64,
        }
    }
}

#[derive(Debug, Clone, Deserialize, TS)]
pub struct ScanArgs {
    pub corpus: String,
    pub model: ModelRef,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct ScanSummaryDto {
    pub scan: ScanDto,
    pub scanned_now: f64,
    pub cancelled: bool,
}

impl From<selectra::jobs::corpus_run::ScanSummary> for ScanSummaryDto {
    fn from(s: selectra::jobs::corpus_run::ScanSummary) -> Self {
        Self { scan: s.scan.into(), scanned_now: s.scanned_now as f64, cancelled: s.cancelled }
    }
}

/// A word of a scanned record: its character span and its P(replaced) (its highest token's).
#[derive(Debug, Clone, Serialize, TS)]
pub struct ScannedWordDto {
    pub start: usize,
    pub end: usize,
    pub probability: f32,
    /// At or above the core's flagged threshold.
    pub flagged: bool,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct SuspiciousRecordDto {
    pub record_id: f64,
    pub row_number: f64,
    pub source_id: Option<String>,
    pub text: String,
    pub suspicion: f32,
    pub flagged: u32,
    pub mean: f32,
    pub words: Vec<ScannedWordDto>,
}

impl From<selectra::store::SuspiciousRecord> for SuspiciousRecordDto {
    fn from(r: selectra::store::SuspiciousRecord) -> Self {
        let words =
            r.words().into_iter().map(|w| ScannedWordDto { start: w.start, end: w.end, probability: w.probability, flagged: w.flagged }).collect();
        Self {
            record_id: r.record_id as f64,
            row_number: r.row_number as f64,
            source_id: r.source_id,
            text: r.text,
            suspicion: r.suspicion,
            flagged: r.flagged,
            mean: r.mean,
            words,
        }
    }
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct FlaggedWordDto {
    pub word: String,
    pub count: f64,
    pub mean_probability: f32,
    pub examples: Vec<f64>,
}

impl From<selectra::store::FlaggedWord> for FlaggedWordDto {
    fn from(w: selectra::store::FlaggedWord) -> Self {
        Self {
            word: w.word,
            count: w.count as f64,
            mean_probability: w.mean_probability,
            examples: w.examples.into_iter().map(|e| e as f64).collect(),
        }
    }
}

/// What the Suspicious tokens view shows of one scan.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ScanViewDto {
    pub scan: ScanDto,
    /// The most suspicious records, most suspicious first.
    pub records: Vec<SuspiciousRecordDto>,
    /// The word forms flagged most often.
    pub words: Vec<FlaggedWordDto>,
    /// Records per tenth of suspicion, [0, 0.1) first.
    pub histogram: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct ScanDisagreementDto {
    pub record_id: f64,
    pub row_number: f64,
    pub text: String,
    pub suspicion_a: f32,
    pub suspicion_b: f32,
    /// Character spans of the words only scan A (or only B) flags.
    pub only_a: Vec<(usize, usize)>,
    pub only_b: Vec<(usize, usize)>,
}

/// Two scans of a corpus side by side.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ScanComparisonDto {
    pub a: f64,
    pub b: f64,
    pub records: f64,
    pub words: f64,
    pub flagged_by_a: f64,
    pub flagged_by_b: f64,
    pub flagged_by_both: f64,
    pub agreement: f64,
    pub kappa: Option<f64>,
    pub disagreements: Vec<ScanDisagreementDto>,
}

impl From<selectra::analysis::scans::ScanComparison> for ScanComparisonDto {
    fn from(c: selectra::analysis::scans::ScanComparison) -> Self {
        Self {
            a: c.a as f64,
            b: c.b as f64,
            records: c.records as f64,
            words: c.words as f64,
            flagged_by_a: c.flagged_by_a as f64,
            flagged_by_b: c.flagged_by_b as f64,
            flagged_by_both: c.flagged_by_both as f64,
            agreement: c.agreement,
            kappa: c.kappa,
            disagreements: c
                .disagreements
                .into_iter()
                .map(|d| ScanDisagreementDto {
                    record_id: d.record_id as f64,
                    row_number: d.row_number as f64,
                    text: d.text,
                    suspicion_a: d.suspicion_a,
                    suspicion_b: d.suspicion_b,
                    only_a: d.only_a,
                    only_b: d.only_b,
                })
                .collect(),
        }
    }
}

/// Training a head on the corpus's labels over `model`'s embeddings.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct TrainArgs {
    pub corpus: String,
    pub model: ModelRef,
    pub folds: f64,
    pub seed: f64,
    /// annotations, gold or both.
    pub source: String,
}

/// What a head could learn from, and what the core suggests.
#[derive(Debug, Clone, Serialize, TS)]
pub struct LabelSourcesDto {
    pub annotations: f64,
    pub annotation_kinds: f64,
    pub gold: f64,
    pub gold_kinds: f64,
    /// annotations, gold or both.
    pub suggested: String,
}

impl From<selectra::store::LabelSources> for LabelSourcesDto {
    fn from(s: selectra::store::LabelSources) -> Self {
        let suggested = selectra::analysis::evaluate::LabelSource::suggested(&s).as_str();
        Self {
            annotations: s.annotations as f64,
            annotation_kinds: s.annotation_kinds as f64,
            gold: s.gold as f64,
            gold_kinds: s.gold_kinds as f64,
            suggested: suggested.into(),
        }
    }
}

/// One metadata filter as the core reads it, with the values of its key that contain its text.
#[derive(Debug, Clone, Serialize, TS)]
pub struct MetaFilterHelpDto {
    pub key: String,
    /// equals, contains, prefix or range.
    pub kind: String,
    /// The text compared (empty for a range).
    pub value: String,
    /// The key's most frequent values containing `value` (ignoring case and accents).
    pub values: Vec<MetaValueDto>,
}

/// A metadata value and how many records have it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct MetaValueDto {
    pub value: String,
    pub records: f64,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct CurvePointDto {
    pub n: f64,
    pub accuracy: f64,
    pub macro_f1: f64,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct TrainSummaryDto {
    /// The trained run (its scores are the suggestions).
    pub run: RunDto,
    /// What it learned from, in words ("accepted annotations").
    pub source: String,
    /// How long the training took (embedding included), in seconds.
    pub secs: f64,
    /// Of those, the fits and storing the run: what a retrain costs.
    pub fit_secs: f64,
    pub n_train: f64,
    pub labels: Vec<String>,
    pub folds: f64,
    /// Cross-validated, with bootstrap intervals.
    pub accuracy: Estimate,
    pub macro_f1: Estimate,
    pub learning_curve: Vec<CurvePointDto>,
    /// Always answering the most frequent label: what it predicts, its accuracy and macro F1.
    pub baseline_predicts: String,
    pub baseline_accuracy: f64,
    pub baseline_macro_f1: f64,
    /// Whether the head learned more than the label counts, and the core's sentence saying so.
    pub beats_baseline: bool,
    pub verdict: String,
}

impl From<selectra::jobs::train::TrainSummary> for TrainSummaryDto {
    fn from(t: selectra::jobs::train::TrainSummary) -> Self {
        let cv = t.cross_validation;
        let (beats_baseline, verdict) = (cv.beats_baseline(), cv.verdict());
        Self {
            source: t.source.description().into(),
            secs: t.secs,
            fit_secs: t.fit_secs,
            baseline_predicts: cv.baseline.predicts.clone(),
            baseline_accuracy: cv.baseline.accuracy,
            baseline_macro_f1: cv.baseline.macro_f1,
            beats_baseline,
            verdict,
            run: t.run.into(),
            n_train: t.n_train as f64,
            labels: t.labels,
            folds: cv.folds as f64,
            accuracy: cv.accuracy,
            macro_f1: cv.macro_f1,
            learning_curve: cv
                .learning_curve
                .into_iter()
                .map(|p| CurvePointDto { n: p.n as f64, accuracy: p.accuracy, macro_f1: p.macro_f1 })
                .collect(),
        }
    }
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
    pub sample: Option<f64>,
    /// The reference labels: annotations, gold or both.
    pub source: String,
    /// Score only records whose reference is among the labels.
    pub within_labels: bool,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct TemplateScoreDto {
    pub template: String,
    pub accuracy: Estimate,
    pub macro_f1: Estimate,
    pub n: f64,
    /// Labeled records left out because their reference is outside the labels.
    pub outside: f64,
}

impl From<selectra::jobs::templates::TemplateScore> for TemplateScoreDto {
    fn from(t: selectra::jobs::templates::TemplateScore) -> Self {
        Self { template: t.template, accuracy: t.accuracy, macro_f1: t.macro_f1, n: t.n as f64, outside: t.outside as f64 }
    }
}
