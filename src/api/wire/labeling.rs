//! Labeling: a page of records as the filters found them, undo, the label schema with the labels
//! in use, a record's predictions, what a head could learn from, the filter bar's help.

use serde::Serialize;

use crate::analysis::evaluate::LabelSource;
use crate::domain::annotation::Status;
use crate::store::{AnnotationEvent, LabelSchema, LabelSources, Page, QueryRow, RecordPrediction, Undone};

/// A page of the records a filter matches (`selectra query --json`, the Annotate view's list).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PageDto {
    /// Matching records over all pages: always counted by the CLI, by the app for the first page
    /// only (counting a million rows costs more than reading a page).
    pub total: Option<u64>,
    pub records: Vec<RecordDto>,
    /// The cursor of the next page; `null` on the last.
    pub next: Option<String>,
}

impl PageDto {
    /// `total` overrides the page's own count (which only the first page has).
    pub fn new(page: Page, total: Option<u64>) -> Self {
        Self { total: total.or(page.total), records: page.rows.into_iter().map(RecordDto::from).collect(), next: page.next.map(|c| c.to_string()) }
    }
}

/// One record of a page.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RecordDto {
    pub record_id: i64,
    /// The 1-based row of the source file.
    pub row: u64,
    /// The source's id column.
    pub id: Option<String>,
    pub text: String,
    /// The second text of a sentence pair (`null` for single texts).
    pub text_pair: Option<String>,
    pub gold: Option<String>,
    /// The metadata object as imported.
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown> | null"))]
    pub metadata: Option<serde_json::Value>,
    /// Each metadata value as text, as the filters compare it.
    pub metadata_text: Vec<MetaEntry>,
    /// The annotation: its labels, status and who changed it last.
    pub labels: Option<Vec<String>>,
    /// The annotation's entity spans, when it has them.
    pub spans: Option<Vec<crate::domain::spans::Span>>,
    pub status: Option<Status>,
    pub annotator: Option<String>,
    /// The browsed run's top label, its score, the margin to the second and the entropy.
    pub predicted: Option<String>,
    pub score: Option<f64>,
    pub margin: Option<f64>,
    pub entropy: Option<f64>,
    /// The record's suspicion in the browsed scan.
    pub suspicion: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MetaEntry {
    pub key: String,
    pub value: String,
}

impl From<QueryRow> for RecordDto {
    fn from(r: QueryRow) -> Self {
        let metadata_text = match &r.metadata {
            Some(serde_json::Value::Object(map)) => {
                map.iter().map(|(k, v)| MetaEntry { key: k.clone(), value: crate::store::meta_text(v) }).collect()
            }
            _ => Vec::new(),
        };
        Self {
            record_id: r.record_id,
            row: r.row_number,
            id: r.source_id,
            text: r.text,
            text_pair: r.text_pair,
            gold: r.gold,
            metadata: r.metadata,
            metadata_text,
            labels: r.annotation_labels,
            spans: r.annotation_spans,
            status: r.annotation_status,
            annotator: r.annotator,
            predicted: r.top_label,
            score: r.top_score,
            margin: r.margin,
            entropy: r.entropy,
            suspicion: r.suspicion,
        }
    }
}

/// What an undo reverted: one change (`event`), or a bulk action's batch of `records` records.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UndoneDto {
    pub event: Option<AnnotationEvent>,
    pub batch: Option<i64>,
    pub records: u64,
}

impl From<Undone> for UndoneDto {
    fn from(u: Undone) -> Self {
        match u {
            Undone::Change(e) => Self { event: Some(e), batch: None, records: 1 },
            Undone::Batch { batch, records } => Self { event: None, batch: Some(batch), records },
        }
    }
}

/// The corpus's schema, and the labels it already uses (to start a schema from).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SchemaViewDto {
    pub schema: LabelSchema,
    pub suggested: Vec<String>,
}

/// How many of a run's records have each top label.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LabelCount {
    pub label: String,
    pub count: u64,
}

/// A run's prediction for one record, with the labels it suggests.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RecordPredictionDto {
    #[serde(flatten)]
    pub prediction: RecordPrediction,
    /// The core's rule: the top label, or for a multi-label run those over the threshold.
    pub suggested: Vec<String>,
}

impl From<RecordPrediction> for RecordPredictionDto {
    fn from(prediction: RecordPrediction) -> Self {
        Self { suggested: prediction.suggested(), prediction }
    }
}

/// What a head could learn from, and what the core suggests.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LabelSourcesDto {
    #[serde(flatten)]
    pub sources: LabelSources,
    /// annotations, gold or both.
    pub suggested: String,
}

impl From<LabelSources> for LabelSourcesDto {
    fn from(sources: LabelSources) -> Self {
        Self { suggested: LabelSource::suggested(&sources).as_str().into(), sources }
    }
}

/// One metadata filter as the core reads it, with the values of its key that contain its text.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MetaValueDto {
    pub value: String,
    pub records: u64,
}
