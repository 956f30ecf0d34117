//! A record's annotation as values: its status, and the reference labels an evaluation and the
//! labeling filters both compare against (an accepted annotation first, the gold cell after).

use serde::Serialize;

use crate::error::{Error, Result};

/// Where a record stands with an annotator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Status {
    Pending,
    Accepted,
    Discarded,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Accepted => "accepted",
            Status::Discarded => "discarded",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "pending" => Ok(Status::Pending),
            "accepted" => Ok(Status::Accepted),
            "discarded" => Ok(Status::Discarded),
            other => Err(Error::Input(format!("unknown status {other:?}; use pending, accepted or discarded"))),
        }
    }
}

/// Whether every label of `reference` is one of `labels` (a run, or the template lab, could
/// predict it).
pub fn within(reference: &[String], labels: &[String]) -> bool {
    reference.iter().all(|l| labels.contains(l))
}

/// Multi-label runs predict a label when its score reaches this.
pub const MULTI_LABEL_THRESHOLD: f64 = 0.5;

/// Where a record's reference labels come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceSource {
    Annotation,
    Gold,
}

/// A record's reference labels: its annotation when accepted (with labels), otherwise its gold
/// cell (split at `|` when `split_gold`, for evaluations with a multi-label run); `None` for a
/// discarded record or one with neither. The one definition the evaluation and the labeling
/// filters (the `selectra_reference` SQL function) share.
pub fn reference(annotation: Option<(&[String], Status)>, gold: Option<&str>, split_gold: bool) -> Option<(Vec<String>, ReferenceSource)> {
    match annotation {
        Some((_, Status::Discarded)) => None,
        Some((labels, Status::Accepted)) if !labels.is_empty() => Some((labels.to_vec(), ReferenceSource::Annotation)),
        _ => {
            let labels: Vec<String> = match gold {
                Some(g) if split_gold => g.split('|').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
                Some(g) if !g.trim().is_empty() => vec![g.trim().to_string()],
                _ => Vec::new(),
            };
            // A gold cell with no label in it (empty, or only separators) is no reference.
            (!labels.is_empty()).then_some((labels, ReferenceSource::Gold))
        }
    }
}
