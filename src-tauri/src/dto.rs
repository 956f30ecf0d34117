//! The app's own results: errors as every command returns them, what the app is running on,
//! download and task progress. Every value a view shows is the core's wire
//! (`selectra::api::wire`, re-exported here with the core types that travel as they are), the
//! same objects `selectra ... --json` prints; what commands take is in [`crate::args`].

use serde::Serialize;
use ts_rs::TS;

pub use selectra::analysis::agreement::{AnnotatorAgreement, AnnotatorCount, FleissAgreement, PairAgreement, SpanAgreement};
pub use selectra::analysis::evaluate::LabelSource;
pub use selectra::analysis::evaluate::{Mistake, ReferenceCounts, RunEvaluation, RunMetrics};
pub use selectra::analysis::label_issues::{LabelNoise, RecordIssue, RunLabelIssues};
pub use selectra::analysis::learn::{Baseline, Candidate, ClassWeight};
pub use selectra::analysis::metrics::{CoveragePoint, Estimate, LabelStats, MultiLabelMetrics, ReliabilityBin, SingleLabelMetrics};
pub use selectra::analysis::scans::{ScanComparison, ScanDisagreement};
pub use selectra::analysis::similar::{DuplicateGroup, DuplicateReport, GroupMember, Neighbour};
pub use selectra::api::task::FastOutlookView;
pub use selectra::api::wire::*;
pub use selectra::domain::annotation::Status;
pub use selectra::domain::attribution::{Explanation, Method, WordWeight};
pub use selectra::domain::dataset::{ConfigLayout, DataFile, DatasetId, HubOrigin, SplitLayout};
pub use selectra::domain::labels::SchemaKind;
pub use selectra::domain::map::{ColourBy, MapPoints, ProjectionMethod};
pub use selectra::domain::precision::{AgreementCheck, AgreementGate, FastOutlook, Precision, PrecisionOutcome};
pub use selectra::domain::query::{EvalFilter, FilterSpec};
pub use selectra::domain::rtd::ScannedWord;
pub use selectra::domain::spans::Span;
pub use selectra::engine::classify::Classification;
pub use selectra::engine::hub::ModelEntry;
pub use selectra::engine::inspect::{Inspection, TokenScore, WordScore};
pub use selectra::engine::tag::{Entity, Tagging};
pub use selectra::engine::zeroshot::ZeroShotResult;
pub use selectra::exchange::hub::{HubDataset, PushOutcome};
pub use selectra::jobs::corpus_run::ScanSummary;
pub use selectra::jobs::explain::{KeyWord, LabelKeyWords, RunKeyWords};
pub use selectra::jobs::finetune::{EpochResult, FinetuneOptions, FinetuneSummary, FinetuneTarget};
pub use selectra::report::published::{LoadableModel, PublishedScore, Source};
pub use selectra::store::RunEntity;
pub use selectra::store::{
    AnnotationEvent, BadRow, BatchOutcome, CorpusInfo, FlaggedWord, HistoryEntry, ImportOutcome, LabelDef, LabelSchema, LabelSources,
    RecordPrediction, RunInfo, RunKey, RunKind, ScanInfo, ScanKey,
};
pub use selectra::store::{EmbeddingKey, EmbeddingSetInfo};
pub use selectra::store::{MapColours, MapInfo};
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
    pub retrain_every: u32,
    pub auto_retrain_max_secs: f64,
    /// The cosine similarity from which two records are near-duplicates (the core's default).
    pub near_duplicate_cosine: f32,
    /// How many records a similarity search returns (the core's default).
    pub neighbours: u32,
    /// Fine-tuning's defaults (the transformers Trainer's, and the held-out share).
    pub finetune: FinetuneOptions,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DownloadEvent {
    /// Bytes of `file` fetched so far (a cache hit reports done == total at once).
    Progress { file: String, done: u64, total: u64 },
}

/// Progress of long work: `done` of `total` units (bytes for imports, records for runs).
#[derive(Debug, Clone, Serialize, TS)]
pub struct TaskProgress {
    pub done: u64,
    pub total: u64,
    pub message: String,
    pub eta_secs: Option<f64>,
    /// What the work is doing now, in the core's words ("embedding the records", "training the
    /// classifier"), when it has stages.
    pub stage: Option<String>,
}

/// The first rows of a Hub dataset's split, and the name its corpus gets by default.
#[derive(Debug, Clone, serde::Serialize, TS)]
pub struct HubPreviewDto {
    pub preview: PreviewDto,
    pub config: String,
    pub split: String,
    pub name: String,
}

/// A map and every record's place on it.
#[derive(Debug, Clone, serde::Serialize, TS)]
pub struct MapView {
    pub info: MapInfo,
    pub points: MapPoints,
}
