//! Which records to show, in which order, as values: the filters, orders, samples and keyset
//! cursors a [`Query`] holds, with the parsers for their text forms, and [`FilterSpec`], the one
//! text form of a filter that both front ends fill (the CLI from its flags, the app from its
//! filter bar) and resolve here, so that the same filter text matches the same records in both.
//! The SQL that runs a query is `store::query`.

use serde::{Deserialize, Serialize};

use crate::domain::annotation::Status;
use crate::error::{Error, Result};

/// The most records one page holds.
pub const MAX_PAGE: u64 = 10_000;

/// The most records a query may list (a found set travels with every page's query).
pub const MAX_LISTED: usize = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Import order.
    #[default]
    Row,
    /// Least confident first: smallest margin between the top two scores (needs a run).
    Margin,
    /// Least confident first: highest entropy (needs a run).
    Entropy,
    ScoreDesc,
    ScoreAsc,
    /// A shuffle that is the same for the same seed.
    Random(u64),
    /// Most suspicious first: highest suspicion in the query's scan (needs a scan).
    SuspicionDesc,
    /// Least sure entities first: the lowest score among a record's entities in the query's
    /// tagging run (needs one); records without entities, or not tagged yet, come last.
    EntityScoreAsc,
    /// In the order of the query's listed records (needs them): a search's nearest first, a
    /// tool's most likely problems first.
    Listed,
}

impl Sort {
    /// An order by name: import, margin, entropy, score (highest first), score-asc, suspicion,
    /// entity-score (least sure entities first), or random (shuffled by `seed`).
    pub fn parse(name: &str, seed: u64) -> Result<Self> {
        Ok(match name {
            "import" | "row" => Sort::Row,
            "margin" => Sort::Margin,
            "entropy" => Sort::Entropy,
            "score" => Sort::ScoreDesc,
            "score-asc" => Sort::ScoreAsc,
            "suspicion" => Sort::SuspicionDesc,
            "entity-score" => Sort::EntityScoreAsc,
            "random" => Sort::Random(seed),
            other => {
                return Err(Error::Input(format!(
                    "unknown order {other:?}; use import, margin, entropy, score, score-asc, suspicion, entity-score or random"
                )))
            }
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Unannotated,
    Is(Status),
}

impl StatusFilter {
    /// "unannotated", or a status name (pending, accepted, discarded).
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "unannotated" => Ok(StatusFilter::Unannotated),
            other => Status::parse(other)
                .map(StatusFilter::Is)
                .map_err(|_| Error::Input(format!("unknown status filter {other:?}; use unannotated, pending, accepted or discarded"))),
        }
    }
}

/// Records on which two sources of labels differ. A run's label is its top label; an annotation
/// is an accepted one, and a run disagrees with it when the top label is not among its labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disagreement {
    /// Both runs predicted the record, with different top labels.
    Runs(i64, i64),
    /// The record has an accepted annotation without the run's top label.
    RunAnnotation(i64),
    /// The record has a gold label other than the run's top label.
    RunGold(i64),
    /// Two annotators accepted different labels for the record.
    Annotators,
    /// The record's reference spans (its accepted annotation's, else its imported ones) are
    /// other than the tagging run's entities (as sets of type and boundaries).
    RunSpans(i64),
}

impl Disagreement {
    /// "RUN1,RUN2", "RUN,annotation", "RUN,gold", "RUN,spans" or "annotators".
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || {
            Error::Input(format!(
                "cannot read the disagreement {text:?}; write two run ids (3,5), a run and annotation, gold or spans (3,annotation), or annotators"
            ))
        };
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        let run = |s: &str| s.parse::<i64>().map_err(|_| bad());
        match parts.as_slice() {
            ["annotators"] => Ok(Disagreement::Annotators),
            [a, "annotation" | "annotations"] => Ok(Disagreement::RunAnnotation(run(a)?)),
            [a, "gold"] => Ok(Disagreement::RunGold(run(a)?)),
            [a, "spans"] => Ok(Disagreement::RunSpans(run(a)?)),
            [a, b] => {
                let (a, b) = (run(a)?, run(b)?);
                if a == b {
                    return Err(Error::Input("a run always agrees with itself; compare two different runs".into()));
                }
                Ok(Disagreement::Runs(a, b))
            }
            _ => Err(bad()),
        }
    }
}

/// A filter on a record's metadata (a JSON object of the columns kept at import).
#[derive(Debug, Clone, PartialEq)]
pub enum MetaFilter {
    /// The value, as text (a number as written, true/false), equals this.
    Equals { key: String, value: String },
    /// The value is a number (or text holding one) within the bounds, inclusive.
    Range { key: String, min: Option<f64>, max: Option<f64> },
    /// The value's text contains this, ignoring case and accents.
    Contains { key: String, value: String },
    /// The value's text starts with this, ignoring case and accents.
    Prefix { key: String, value: String },
}

impl MetaFilter {
    /// `KEY=VALUE` (equality), `KEY~TEXT` (contains), `KEY^=TEXT` (starts with), or a range
    /// `KEY>=X`, `KEY<=Y` or `KEY=X..Y` (either end may be empty). The key ends at the first of
    /// `= ~ ^ < >`.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || {
            Error::Input(format!(
                "cannot read the metadata filter {text:?}; write key=value, key~text (contains), key^=text (starts with), \
                 key>=number, key<=number or key=min..max"
            ))
        };
        let number = |s: &str| -> Result<Option<f64>> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            s.parse::<f64>().ok().filter(|v| v.is_finite()).map(Some).ok_or_else(bad)
        };
        let key_of = |k: &str| -> Result<String> {
            let k = k.trim();
            if k.is_empty() {
                Err(bad())
            } else {
                Ok(k.to_string())
            }
        };
        let at = text.find(['=', '~', '^', '<', '>']).ok_or_else(bad)?;
        let (k, rest) = text.split_at(at);
        if let Some(v) = rest.strip_prefix(">=") {
            return Ok(MetaFilter::Range { key: key_of(k)?, min: Some(number(v)?.ok_or_else(bad)?), max: None });
        }
        if let Some(v) = rest.strip_prefix("<=") {
            return Ok(MetaFilter::Range { key: key_of(k)?, min: None, max: Some(number(v)?.ok_or_else(bad)?) });
        }
        let needle = |v: &str| -> Result<String> {
            let v = v.trim();
            if v.is_empty() {
                Err(bad())
            } else {
                Ok(v.to_string())
            }
        };
        if let Some(v) = rest.strip_prefix('~') {
            return Ok(MetaFilter::Contains { key: key_of(k)?, value: needle(v)? });
        }
        if let Some(v) = rest.strip_prefix("^=") {
            return Ok(MetaFilter::Prefix { key: key_of(k)?, value: needle(v)? });
        }
        let v = rest.strip_prefix('=').ok_or_else(bad)?;
        if let Some((lo, hi)) = v.split_once("..") {
            let (min, max) = (number(lo)?, number(hi)?);
            if min.is_none() && max.is_none() {
                return Err(bad());
            }
            return Ok(MetaFilter::Range { key: key_of(k)?, min, max });
        }
        Ok(MetaFilter::Equals { key: key_of(k)?, value: v.to_string() })
    }

    /// The key, the kind (`equals`, `contains`, `prefix` or `range`), and the text compared
    /// (none for a range): what the filter bar suggests values from.
    pub fn parts(&self) -> (&str, &'static str, Option<&str>) {
        match self {
            MetaFilter::Equals { key, value } => (key, "equals", Some(value)),
            MetaFilter::Contains { key, value } => (key, "contains", Some(value)),
            MetaFilter::Prefix { key, value } => (key, "prefix", Some(value)),
            MetaFilter::Range { key, .. } => (key, "range", None),
        }
    }
}

/// The records an evaluation of `runs` scores (a reference label, and a prediction from every
/// one of the runs; see `evaluate`), or a part of them: a confusion-matrix row (the reference
/// label) or a run's mistakes. With a run's predicted label and [`Query::score_bin`] this is
/// every cell, bar and bin of the evaluation's charts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EvalFilter {
    pub runs: Vec<i64>,
    /// The reference label (a multi-label reference's first).
    pub reference: Option<String>,
    /// Only the records this (single-label) run got wrong: its top label is not the reference.
    pub mistakes_of: Option<i64>,
}

/// A seeded random sample of the matching records: the same seed gives the same records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub size: u64,
    pub seed: u64,
}

/// Where the next page starts: the sort key and id of the last record of a page. Opaque to
/// callers; its text form (`Display` / [`Cursor::parse`]) travels through the CLI and the app.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cursor {
    pub(crate) key: f64,
    pub(crate) id: i64,
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // f64's Display round-trips exactly.
        write!(f, "{}:{}", self.key, self.id)
    }
}

impl Cursor {
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || Error::Input(format!("{text:?} is not a page cursor; use the one a page returned"));
        let (key, id) = text.rsplit_once(':').ok_or_else(bad)?;
        Ok(Cursor { key: key.parse().map_err(|_| bad())?, id: id.parse().map_err(|_| bad())? })
    }
}

#[derive(Debug, Clone, Default)]
pub struct Query {
    /// The run whose predictions filter, sort and are shown; required by the prediction filters
    /// and sorts.
    pub run: Option<i64>,
    pub predicted_label: Option<String>,
    pub min_score: Option<f64>,
    pub max_score: Option<f64>,
    pub min_margin: Option<f64>,
    pub max_margin: Option<f64>,
    /// The run's top score in the reliability bin `[b/10, (b+1)/10)` (the last bin closed), as
    /// the evaluation bins it.
    pub score_bin: Option<u32>,
    /// The records an evaluation covers, or a part of them.
    pub evaluation: Option<EvalFilter>,
    pub status: Option<StatusFilter>,
    /// Only records with this gold label.
    pub gold: Option<String>,
    /// Only records whose annotation was last changed by this annotator.
    pub annotator: Option<String>,
    /// Full-text search; every word must occur.
    pub text: Option<String>,
    /// The scan whose suspicion filters, sorts and is shown.
    pub scan: Option<i64>,
    /// Only records whose suspicion in the scan is at least this.
    pub min_suspicion: Option<f64>,
    pub disagree: Option<Disagreement>,
    /// Records with an entity of this type: in `tagging_run`'s entities, else in the record's
    /// annotated spans.
    pub entity: Option<String>,
    /// The tagging run whose entities `entity` filters and the entity order sorts by.
    pub tagging_run: Option<i64>,
    /// Every metadata filter must hold.
    pub meta: Vec<MetaFilter>,
    /// Only these records (what a search or a data-quality tool found), in this order for
    /// [`Sort::Listed`]; at most [`MAX_LISTED`].
    pub records: Option<Vec<i64>>,
    pub sample: Option<Sample>,
    pub sort: Sort,
    /// Keyset paging: the page after this cursor (from the previous page's `next`).
    pub after: Option<Cursor>,
    /// Rows to skip before the page (after `after`, if any); keyset paging is the fast way.
    pub offset: u64,
    pub limit: u64,
}

/// A filter in its text form, as a person types it: every field combinable, and an absent or
/// blank field means "any". Both front ends fill one (the CLI from its flags, the app from its
/// filter bar) and [`FilterSpec::query`] resolves it, so that the same filter matches the same
/// records in both: text fields are trimmed, blank ones ignored, and the text forms (`status`,
/// `disagree`, `meta`) parsed by [`StatusFilter::parse`], [`Disagreement::parse`] and
/// [`MetaFilter::parse`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct FilterSpec {
    /// Whole words, case- and accent-insensitive; every word must occur.
    pub text: Option<String>,
    /// Only records with this gold label.
    pub gold: Option<String>,
    /// A status, "unannotated", or nothing for all.
    pub status: Option<String>,
    /// Whose annotation (the annotator who changed the record last).
    pub annotator: Option<String>,
    /// The run whose predictions are shown, filtered on and sorted by.
    pub run: Option<i64>,
    /// Records whose top label in the run is this.
    pub predicted_label: Option<String>,
    pub min_score: Option<f64>,
    pub max_score: Option<f64>,
    /// The margin between the run's top two scores.
    pub min_margin: Option<f64>,
    pub max_margin: Option<f64>,
    /// "RUN1,RUN2", "RUN,annotation", "RUN,gold", "RUN,spans" or "annotators".
    pub disagree: Option<String>,
    /// Each "key=value", "key~text", "key^=text", "key>=x", "key<=y" or "key=x..y".
    pub meta: Vec<String>,
    /// The run's reliability bin (0–9) of the top score, as the evaluation bins it.
    pub score_bin: Option<u32>,
    /// The records an evaluation covers, or a part of them (a chart's drill-down).
    pub evaluation: Option<EvalFilter>,
    /// A seeded random sample of this many matching records.
    pub sample: Option<u64>,
    /// The seed of the sample and of the random order.
    pub seed: u64,
    /// The scan whose suspicion is shown, filtered on and sorted by.
    pub scan: Option<i64>,
    pub min_suspicion: Option<f64>,
    /// Records with an entity of this type: in `entity_run`'s entities, else in their annotated
    /// spans.
    pub entity: Option<String>,
    /// The tagging run whose entities `entity` filters and the entity order sorts by.
    pub entity_run: Option<i64>,
    /// Only these records: what a search or a data-quality tool found (the order "listed"
    /// keeps theirs).
    pub records: Option<Vec<i64>>,
}

impl FilterSpec {
    /// The query this filter asks for, in import order, one record a page (callers set the
    /// order and paging).
    pub fn query(&self) -> Result<Query> {
        let text = |t: &Option<String>| t.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_string);
        Ok(Query {
            run: self.run,
            predicted_label: text(&self.predicted_label),
            min_score: self.min_score,
            max_score: self.max_score,
            min_margin: self.min_margin,
            max_margin: self.max_margin,
            score_bin: self.score_bin,
            evaluation: self.evaluation.clone(),
            status: text(&self.status).as_deref().map(StatusFilter::parse).transpose()?,
            gold: text(&self.gold),
            annotator: text(&self.annotator),
            text: text(&self.text),
            scan: self.scan,
            min_suspicion: self.min_suspicion,
            disagree: text(&self.disagree).as_deref().map(Disagreement::parse).transpose()?,
            entity: text(&self.entity),
            tagging_run: self.entity_run,
            meta: self.meta.iter().filter(|m| !m.trim().is_empty()).map(|m| MetaFilter::parse(m)).collect::<Result<_>>()?,
            records: self.records.clone(),
            sample: self.sample.map(|size| Sample { size, seed: self.seed }),
            sort: Sort::Row,
            after: None,
            offset: 0,
            limit: 1,
        })
    }
}
