//! Annotations: a record's label (or label set) and status, with an append-only history.
//!
//! Every change is one transaction that appends an event (new state and the state it replaced)
//! and updates the current state; when `annotate` returns, the change is durable. Undo appends
//! the inverse of the latest change not yet undone, so history is never rewritten.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use super::{now, Store};
use crate::domain::annotation::Status;
use crate::domain::spans::Span;
use crate::error::{Error, Result};

/// The longest annotator name accepted.
const MAX_ANNOTATOR_CHARS: usize = 100;

/// The annotator's name when the project has none stored: the system's user name.
pub fn default_annotator() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|v| v.trim().to_string())
        .find(|v| check_annotator(v).is_ok())
        .unwrap_or_else(|| "annotator".into())
}

fn check_annotator(name: &str) -> Result<&str> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::Input("the annotator's name is empty; enter a name".into()));
    }
    if name.chars().count() > MAX_ANNOTATOR_CHARS || name.chars().any(char::is_control) {
        return Err(Error::Input(format!("an annotator's name is one line of at most {MAX_ANNOTATOR_CHARS} characters")));
    }
    Ok(name)
}

fn labels_json(labels: &[String]) -> Result<String> {
    if labels.iter().any(|l| !crate::domain::text::has_visible(l)) {
        return Err(Error::Input("an annotation label is empty (nothing in it shows)".into()));
    }
    if let Some(l) = labels.iter().find(|l| l.chars().any(char::is_control)) {
        return Err(Error::Input(format!("the label {} holds a control character; a label is one line of text", crate::error::quoted(l))));
    }
    Ok(serde_json::to_string(labels).expect("strings serialize"))
}

/// What a bulk change did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BatchOutcome {
    /// The batch (for undo); `None` when nothing changed.
    pub batch: Option<i64>,
    /// Records asked for.
    pub matched: u64,
    /// Records whose annotation changed (the others already had it).
    pub changed: u64,
}

/// What an undo reverted: one change (serialized as its event), or a bulk action's batch
/// (serialized as `{"batch": id, "records": n}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Undone {
    Change(AnnotationEvent),
    Batch { batch: i64, records: u64 },
}

/// One line of a record's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HistoryEntry {
    pub id: i64,
    pub at: String,
    pub annotator: String,
    /// The state after the change; `None` when the record had no annotation any more.
    pub labels: Option<Vec<String>>,
    pub status: Option<Status>,
    /// The change this one undid.
    pub undoes: Option<i64>,
    /// The bulk action it was part of.
    pub batch: Option<i64>,
}

/// A change an undo takes back: its record, the state it set and the state it replaced.
struct UndoEvent {
    id: i64,
    record: i64,
    prev_labels: Option<String>,
    prev_status: Option<String>,
    labels: Option<String>,
    status: Option<String>,
    prev_annotator: Option<String>,
    spans: Option<String>,
    prev_spans: Option<String>,
}

enum BatchError {
    Db(rusqlite::Error),
    Foreign(i64),
}

impl From<rusqlite::Error> for BatchError {
    fn from(e: rusqlite::Error) -> Self {
        BatchError::Db(e)
    }
}

/// A record's annotation as stored: labels (JSON), status, spans (JSON, if any).
type Stored = (String, String, Option<String>);

/// A record's new annotation in a bulk change: labels (JSON), spans (JSON, if any), status.
type NewState = (String, Option<String>, Status);

/// A bulk change's rule: a record's new state from what it has now, read in the change's
/// transaction; `None` leaves the record alone.
type NextState<'a> = dyn FnMut(&Connection, i64, Option<&Stored>) -> rusqlite::Result<Option<NewState>> + 'a;

/// Which records a bulk change is for: these, or every record a query matches (all pages; its
/// order and paging are ignored).
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Records(&'a [i64]),
    Matching(&'a super::Query),
}

/// A batch inside the caller's transaction: `next` gives each record's new labels, spans and
/// status from what it has now (`None`: leave it alone); a record whose annotation would not
/// change is left alone too (no event).
fn batch_in(
    tx: &Connection,
    corpus_id: i64,
    records: &[i64],
    annotator: &str,
    next: &mut NextState,
) -> std::result::Result<BatchOutcome, BatchError> {
    let at = now(tx)?;
    let mut batch = None;
    let mut changed = 0u64;
    let mut in_corpus = tx.prepare_cached("SELECT corpus_id FROM record WHERE id = ?1")?;
    let mut current = tx.prepare_cached("SELECT labels, status, spans FROM annotation WHERE record_id = ?1")?;
    for &record in records {
        let corpus: Option<i64> = in_corpus.query_row([record], |r| r.get(0)).optional()?;
        if corpus != Some(corpus_id) {
            return Err(BatchError::Foreign(record));
        }
        let now_state: Option<Stored> = current.query_row([record], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional()?;
        let Some((labels, spans, status)) = next(tx, record, now_state.as_ref())? else { continue };
        if now_state.as_ref().is_some_and(|(l, s, sp)| *l == labels && s == status.as_str() && *sp == spans) {
            continue;
        }
        let (labels_json, spans) = (labels.as_str(), spans);
        let id = match batch {
            Some(id) => id,
            None => {
                tx.execute(
                    "INSERT INTO annotation_batch (corpus_id, annotator, at, size) VALUES (?1, ?2, ?3, 0)",
                    params![corpus_id, annotator, at],
                )?;
                *batch.insert(tx.last_insert_rowid())
            }
        };
        apply(tx, record, Some(State { labels: labels_json, spans: spans.as_deref(), status }), annotator, None, None, Some(id), &at)?;
        changed += 1;
    }
    if let Some(id) = batch {
        tx.execute("UPDATE annotation_batch SET size = ?1 WHERE id = ?2", params![changed as i64, id])?;
    }
    Ok(BatchOutcome { batch, matched: records.len() as u64, changed })
}

/// An annotation's state as stored: labels (JSON), entity spans (JSON, if any), status.
#[derive(Debug, Clone, Copy)]
struct State<'a> {
    labels: &'a str,
    spans: Option<&'a str>,
    status: Status,
}

/// One change inside the caller's transaction: appends the event (with the state it replaces and
/// who had set it), sets the record's annotation, and keeps the annotator's own latest labels
/// and spans. The annotation is recorded as `owner`'s (an undo gives it back to whoever set
/// that state), else as `annotator`'s. Returns the event id.
#[allow(clippy::too_many_arguments)]
fn apply(
    tx: &Connection,
    record_id: i64,
    new: Option<State>,
    annotator: &str,
    owner: Option<&str>,
    undoes: Option<i64>,
    batch: Option<i64>,
    at: &str,
) -> rusqlite::Result<i64> {
    let previous: Option<(String, String, String, Option<String>)> = tx
        .prepare_cached("SELECT labels, status, annotator, spans FROM annotation WHERE record_id = ?1")?
        .query_row([record_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    tx.prepare_cached(
        "INSERT INTO annotation_event (record_id, labels, status, prev_labels, prev_status, prev_annotator, annotator, at, undoes, batch_id, \
         spans, prev_spans) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        record_id,
        new.map(|n| n.labels),
        new.map(|n| n.status.as_str()),
        previous.as_ref().map(|p| &p.0),
        previous.as_ref().map(|p| &p.1),
        previous.as_ref().map(|p| &p.2),
        annotator,
        at,
        undoes,
        batch,
        new.and_then(|n| n.spans),
        previous.as_ref().and_then(|p| p.3.as_ref()),
    ])?;
    let id = tx.last_insert_rowid();
    match &new {
        Some(state) => tx
            .prepare_cached(
                "INSERT INTO annotation (record_id, labels, status, annotator, updated_at, spans) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT (record_id) DO UPDATE SET labels = excluded.labels, status = excluded.status, \
                 annotator = excluded.annotator, updated_at = excluded.updated_at, spans = excluded.spans",
            )?
            .execute(params![record_id, state.labels, state.status.as_str(), owner.unwrap_or(annotator), at, state.spans])?,
        None => tx.prepare_cached("DELETE FROM annotation WHERE record_id = ?1")?.execute([record_id])?,
    };
    // The annotator's own state: after an undo, their latest change that is still in effect.
    // By the record's index: by the annotator's, the newest-first walk would pass all of a large
    // batch's events before this record's (an undo of 40 000 records took minutes).
    tx.prepare_cached("DELETE FROM annotator_label WHERE record_id = ?1 AND annotator = ?2")?.execute(params![record_id, annotator])?;
    tx.prepare_cached(
        "INSERT INTO annotator_label (record_id, annotator, labels, status, spans) \
         SELECT f.record_id, f.annotator, f.labels, f.status, f.spans FROM annotation_event f INDEXED BY annotation_event_by_record \
         WHERE f.record_id = ?1 AND f.annotator = ?2 AND f.undoes IS NULL \
         AND NOT EXISTS (SELECT 1 FROM annotation_event u WHERE u.undoes = f.id) ORDER BY f.id DESC LIMIT 1",
    )?
    .execute(params![record_id, annotator])?;
    Ok(id)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Annotation {
    pub record_id: i64,
    pub labels: Vec<String>,
    /// The record's entity spans, when the annotation has them.
    pub spans: Option<Vec<Span>>,
    pub status: Status,
    pub annotator: String,
    pub updated_at: String,
}

/// What one committed change did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AnnotationEvent {
    pub id: i64,
    pub record_id: i64,
    /// The state after the change; `None` when the record has no annotation any more.
    pub labels: Option<Vec<String>>,
    pub status: Option<Status>,
    pub undoes: Option<i64>,
    /// The entity spans after the change, when the annotation has them (left out otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub spans: Option<Vec<Span>>,
}

fn decode_spans(text: Option<String>) -> rusqlite::Result<Option<Vec<Span>>> {
    text.map(|t| serde_json::from_str(&t).map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))))
        .transpose()
}

fn decode_labels(text: Option<String>) -> rusqlite::Result<Option<Vec<String>>> {
    text.map(|t| serde_json::from_str(&t).map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))))
        .transpose()
}

pub(super) fn decode_status(text: Option<String>) -> rusqlite::Result<Option<Status>> {
    text.map(|t| Status::parse(&t).map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))).transpose()
}

impl Store {
    /// A record's text.
    pub fn record_text(&self, record_id: i64) -> Result<String> {
        self.conn
            .query_row("SELECT text FROM record WHERE id = ?1", [record_id], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?
            .ok_or_else(|| Error::Input(format!("there is no record {record_id}")))
    }

    /// A record's 1-based source row.
    pub fn record_row(&self, record_id: i64) -> Result<u64> {
        self.conn
            .query_row("SELECT row_number FROM record WHERE id = ?1", [record_id], |r| r.get::<_, i64>(0))
            .optional()
            .map_err(|e| self.err(e))?
            .map(|r| r as u64)
            .ok_or_else(|| Error::Input(format!("there is no record {record_id}")))
    }

    /// The record of `corpus` at 1-based source row `row_number`.
    pub fn record_id(&self, corpus: &str, row_number: u64) -> Result<i64> {
        let corpus_id = self.corpus_id(corpus)?;
        self.conn
            .query_row("SELECT id FROM record WHERE corpus_id = ?1 AND row_number = ?2", params![corpus_id, row_number as i64], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?
            .ok_or_else(|| Error::Input(format!("corpus {corpus:?} has no record at row {row_number}")))
    }

    /// Sets a record's labels and status (its entity spans, if any, stay); durable when this
    /// returns.
    pub fn annotate(&mut self, record_id: i64, labels: &[String], status: Status, annotator: &str) -> Result<AnnotationEvent> {
        self.annotate_record(record_id, Some(labels), None, status, annotator)
    }

    /// Sets a record's entity spans and status (its labels, if any, stay): offsets are
    /// characters of the record's text, checked against it (`domain::spans::parse_spans`'s
    /// rules: inside the text, not empty, not overlapping). Durable when this returns.
    pub fn annotate_spans(&mut self, record_id: i64, spans: &[Span], status: Status, annotator: &str) -> Result<AnnotationEvent> {
        self.annotate_record(record_id, None, Some(spans), status, annotator)
    }

    /// Labels, spans or both in one change (what is `None` stays as the record has it).
    pub fn annotate_record(
        &mut self,
        record_id: i64,
        labels: Option<&[String]>,
        spans: Option<&[Span]>,
        status: Status,
        annotator: &str,
    ) -> Result<AnnotationEvent> {
        let annotator = check_annotator(annotator)?;
        let path = self.path.clone();
        let err = |e| super::db_error(&path, e);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        let text: Option<String> = tx.query_row("SELECT text FROM record WHERE id = ?1", [record_id], |r| r.get(0)).optional().map_err(err)?;
        let Some(text) = text else {
            return Err(Error::Input(format!("there is no record {record_id}")));
        };
        let current: Option<(String, Option<String>)> = tx
            .query_row("SELECT labels, spans FROM annotation WHERE record_id = ?1", [record_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(err)?;
        let labels_json = match labels {
            Some(labels) => labels_json(labels)?,
            None => current.as_ref().map_or_else(|| "[]".to_string(), |c| c.0.clone()),
        };
        let spans_json = match spans {
            Some(spans) => {
                let checked =
                    crate::domain::spans::parse_spans(&serde_json::to_value(spans).expect("spans serialize"), &text).map_err(Error::Input)?;
                Some(serde_json::to_string(&checked).expect("spans serialize"))
            }
            None => current.and_then(|c| c.1),
        };
        let at = now(&tx).map_err(err)?;
        let state = State { labels: &labels_json, spans: spans_json.as_deref(), status };
        let id = apply(&tx, record_id, Some(state), annotator, None, None, None, &at).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(AnnotationEvent {
            id,
            record_id,
            labels: Some(serde_json::from_str(&labels_json).expect("stored labels are a JSON list")),
            status: Some(status),
            undoes: None,
            spans: spans_json.map(|j| serde_json::from_str(&j).expect("stored spans are JSON spans")),
        })
    }

    /// Gives every record in `records` (all of one corpus) the same labels and status in one
    /// transaction: all of them or, after a crash, none. The changes share a batch that one undo
    /// reverts whole. Records that already have exactly this annotation are left alone (no event).
    pub fn annotate_batch(&mut self, corpus: &str, records: &[i64], labels: &[String], status: Status, annotator: &str) -> Result<BatchOutcome> {
        let labels_json = labels_json(labels)?;
        self.bulk(corpus, Target::Records(records), annotator, &mut |_, _, now| {
            Ok(Some((labels_json.clone(), now.and_then(|n| n.2.clone()), status)))
        })
    }

    /// Labels every record `query` matches (all pages; its order and paging are ignored) as one
    /// batch, selected and changed in one transaction.
    pub fn annotate_matching(
        &mut self,
        corpus: &str,
        query: &super::Query,
        labels: &[String],
        status: Status,
        annotator: &str,
    ) -> Result<BatchOutcome> {
        let labels_json = labels_json(labels)?;
        self.bulk(corpus, Target::Matching(query), annotator, &mut |_, _, now| Ok(Some((labels_json.clone(), now.and_then(|n| n.2.clone()), status))))
    }

    /// Discards the chosen records (the rest of a duplicate group, say) as one batch that one
    /// undo reverts: all of them or, after a crash, none. Their labels and spans stay, so an
    /// undo, or accepting one again, finds them as they were.
    pub fn discard(&mut self, corpus: &str, target: Target, annotator: &str) -> Result<BatchOutcome> {
        self.bulk(corpus, target, annotator, &mut |_, _, now| {
            Ok(Some(match now {
                Some((labels, _, spans)) => (labels.clone(), spans.clone(), Status::Discarded),
                None => ("[]".to_string(), None, Status::Discarded),
            }))
        })
    }

    /// Gives the chosen records a tagging run's entities as their spans, with `status`
    /// (accepted or pending), as one batch that one undo reverts: all of them or, after a crash,
    /// none. A record the run has not tagged is left alone; one it found no entity in gets no
    /// spans (the tagger's answer). Of entities that overlap, the first by position is kept.
    /// The record's labels stay.
    pub fn accept_entities(&mut self, corpus: &str, target: Target, run: i64, status: Status, annotator: &str) -> Result<BatchOutcome> {
        let info = self.run(run)?;
        if info.kind != super::RunKind::Tagger || info.key.corpus != corpus {
            return Err(Error::Input(format!("run {run} is not a tagging run over corpus {corpus:?}; entities come from a token classifier's run")));
        }
        if crate::domain::tagging::TagOptions::from_description(&info.key.template)?.aggregation == crate::domain::tagging::Aggregation::None {
            return Err(Error::Input(format!(
                "run {run} tagged tokens without aggregation: its entities are tokens' tags, not spans; tag with an aggregation (simple, first, average or max)"
            )));
        }
        if status == Status::Discarded {
            return Err(Error::Input("accepting entities gives a record spans; to discard records, discard them".into()));
        }
        self.bulk(corpus, target, annotator, &mut |tx, record, now| {
            let tagged = tx.prepare_cached("SELECT 1 FROM tagged_record WHERE run_id = ?1 AND record_id = ?2")?.exists(params![run, record])?;
            if !tagged {
                return Ok(None);
            }
            let mut stmt =
                tx.prepare_cached("SELECT start, \"end\", label FROM run_entity WHERE run_id = ?1 AND record_id = ?2 ORDER BY start, \"end\"")?;
            let mut spans: Vec<Span> = Vec::new();
            for row in stmt.query_map(params![run, record], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?)))? {
                let (start, end, label) = row?;
                let (start, end) = (start as usize, end as usize);
                if end > start && spans.last().is_none_or(|last| last.end <= start) {
                    spans.push(Span { start, end, label });
                }
            }
            let labels = now.map_or_else(|| "[]".to_string(), |n| n.0.clone());
            Ok(Some((labels, Some(serde_json::to_string(&spans).expect("spans serialize")), status)))
        })
    }

    /// One bulk change over `target`, in one transaction (the matching records are selected in
    /// it too): `next` gives each record's new state, see [`batch_in`].
    fn bulk(&mut self, corpus: &str, target: Target, annotator: &str, next: &mut NextState) -> Result<BatchOutcome> {
        let corpus_id = self.corpus_id(corpus)?;
        let annotator = check_annotator(annotator)?;
        let plan = match target {
            Target::Matching(query) => Some(self.plan(corpus, &super::Query { after: None, ..query.clone() })?),
            Target::Records(_) => None,
        };
        let path = self.path.clone();
        let err = |e| super::db_error(&path, e);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        let records = match (&plan, target) {
            (Some(plan), _) => plan.record_ids(&tx).map_err(err)?,
            (None, Target::Records(records)) => records.to_vec(),
            (None, Target::Matching(_)) => Vec::new(),
        };
        let batch = batch_in(&tx, corpus_id, &records, annotator, next).map_err(|e| match e {
            BatchError::Db(e) => err(e),
            BatchError::Foreign(record) => Error::Input(format!("record {record} is not in corpus {corpus:?}")),
        })?;
        tx.commit().map_err(err)?;
        Ok(batch)
    }

    /// Undoes `annotator`'s own latest change in `corpus` that is not itself undone (a bulk
    /// action's whole batch); `None` when there is none. In a shared project, undo is personal:
    /// another annotator's (or a CLI job's) changes are never taken back by someone else's undo.
    /// If another annotator changed a record after this change, undoing would silently overwrite
    /// their work, so it is refused (for a batch: the whole batch).
    pub fn undo_last(&mut self, corpus: &str, annotator: &str) -> Result<Option<Undone>> {
        let corpus_id = self.corpus_id(corpus)?;
        let last: Option<(i64, Option<i64>)> = self
            .conn
            .query_row(
                "SELECT e.id, e.batch_id FROM annotation_event e \
                 JOIN record x ON x.id = e.record_id WHERE x.corpus_id = ?1 AND e.annotator = ?2 AND e.undoes IS NULL \
                 AND NOT EXISTS (SELECT 1 FROM annotation_event u WHERE u.undoes = e.id) ORDER BY e.id DESC LIMIT 1",
                params![corpus_id, annotator],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let Some((last, batch)) = last else { return Ok(None) };
        let path = self.path.clone();
        let err = |e| super::db_error(&path, e);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        let events: Vec<UndoEvent> = {
            let sql = "SELECT e.id, e.record_id, e.prev_labels, e.prev_status, e.labels, e.status, e.prev_annotator, e.spans, e.prev_spans \
                       FROM annotation_event e WHERE (e.id = ?1 OR (?2 IS NOT NULL AND e.batch_id = ?2)) \
                       AND NOT EXISTS (SELECT 1 FROM annotation_event u WHERE u.undoes = e.id) ORDER BY e.id";
            let mut stmt = tx.prepare(sql).map_err(err)?;
            let rows = stmt
                .query_map(params![last, batch], |r| {
                    Ok(UndoEvent {
                        id: r.get(0)?,
                        record: r.get(1)?,
                        prev_labels: r.get(2)?,
                        prev_status: r.get(3)?,
                        labels: r.get(4)?,
                        status: r.get(5)?,
                        prev_annotator: r.get(6)?,
                        spans: r.get(7)?,
                        prev_spans: r.get(8)?,
                    })
                })
                .map_err(err)?;
            rows.collect::<rusqlite::Result<_>>().map_err(err)?
        };
        for UndoEvent { record, labels, status, spans, .. } in &events {
            let current: Option<(String, String, String, Option<String>)> = tx
                .query_row("SELECT labels, status, annotator, spans FROM annotation WHERE record_id = ?1", [record], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .optional()
                .map_err(err)?;
            let unchanged = match (&current, labels, status) {
                (Some((cl, cs, _, csp)), Some(l), Some(s)) => cl == l && cs == s && csp == spans,
                (None, None, None) => true,
                _ => false,
            };
            if !unchanged {
                let who = current.map(|(_, _, a, _)| a).unwrap_or_else(|| "another annotator".into());
                let what = if batch.is_some() { format!("your latest bulk change ({} records)", events.len()) } else { "your latest change".into() };
                return Err(Error::Input(format!("{what} cannot be undone: {who} changed record {record} after you; label it again instead")));
            }
        }
        let at = now(&tx).map_err(err)?;
        let mut undone = Vec::new();
        for UndoEvent { id: event, record, prev_labels, prev_status, prev_annotator, prev_spans, .. } in &events {
            let previous = match (prev_labels, prev_status) {
                (Some(l), Some(s)) => Some(State { labels: l.as_str(), spans: prev_spans.as_deref(), status: Status::parse(s)? }),
                _ => None,
            };
            // The record goes back to whoever had set that state.
            let id = apply(&tx, *record, previous, annotator, prev_annotator.as_deref(), Some(*event), None, &at).map_err(err)?;
            if batch.is_none() {
                undone.push(AnnotationEvent {
                    id,
                    record_id: *record,
                    labels: decode_labels(prev_labels.clone()).map_err(err)?,
                    status: previous.map(|p| p.status),
                    undoes: Some(*event),
                    spans: if previous.is_some() { decode_spans(prev_spans.clone()).map_err(err)? } else { None },
                });
            }
        }
        tx.commit().map_err(err)?;
        Ok(Some(match batch {
            Some(batch) => Undone::Batch { batch, records: events.len() as u64 },
            None => Undone::Change(undone.pop().expect("one event")),
        }))
    }

    /// The annotator's name stored in the project (a project setting), or a default from the
    /// system's user name.
    pub fn annotator(&self) -> Result<String> {
        let stored: Option<String> =
            self.conn.query_row("SELECT value FROM setting WHERE key = 'annotator'", [], |r| r.get(0)).optional().map_err(|e| self.err(e))?;
        Ok(stored.unwrap_or_else(default_annotator))
    }

    /// Stores the annotator's name for this project.
    pub fn set_annotator(&mut self, name: &str) -> Result<()> {
        let name = check_annotator(name)?;
        self.conn
            .execute("INSERT INTO setting (key, value) VALUES ('annotator', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [name])
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// A front end's remembered state (a view's choices, the models it had loaded), stored in the
    /// project so that it survives a restart and travels with the project: a JSON value by key.
    pub fn front_end_setting(&self, key: &str) -> Result<Option<serde_json::Value>> {
        let key = check_setting_key(key)?;
        let stored: Option<String> =
            self.conn.query_row("SELECT value FROM setting WHERE key = ?1", [&key], |r| r.get(0)).optional().map_err(|e| self.err(e))?;
        // A value that no longer parses (written by hand) is as good as none.
        Ok(stored.and_then(|v| serde_json::from_str(&v).ok()))
    }

    /// Stores a front end's state under `key` (at most [`MAX_SETTING_BYTES`] of JSON).
    pub fn set_front_end_setting(&mut self, key: &str, value: &serde_json::Value) -> Result<()> {
        let key = check_setting_key(key)?;
        let text = value.to_string();
        if text.len() > MAX_SETTING_BYTES {
            return Err(Error::Input(format!("the setting {key:?} is {} bytes; a setting holds at most {MAX_SETTING_BYTES}", text.len())));
        }
        self.conn
            .execute("INSERT INTO setting (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [&key, &text])
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// A record's history, oldest first: who did what, and when.
    pub fn record_history(&self, record_id: i64) -> Result<Vec<HistoryEntry>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, at, annotator, labels, status, undoes, batch_id FROM annotation_event WHERE record_id = ?1 ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([record_id], |r| {
                Ok(HistoryEntry {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    annotator: r.get(2)?,
                    labels: decode_labels(r.get(3)?)?,
                    status: decode_status(r.get(4)?)?,
                    undoes: r.get(5)?,
                    batch: r.get(6)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// Each annotator's own latest accepted labels in `corpus`: (record id, annotator, labels),
    /// ordered by record (an annotation of spans alone is not a label). The record's annotation
    /// is whoever changed it last; this keeps everyone's.
    pub fn annotator_labels(&self, corpus: &str) -> Result<Vec<(i64, String, Vec<String>)>> {
        let corpus_id = self.corpus_id(corpus)?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT l.record_id, l.annotator, l.labels FROM annotator_label l JOIN record x ON x.id = l.record_id \
                 WHERE x.corpus_id = ?1 AND l.status = 'accepted' AND NOT (l.labels = '[]' AND l.spans IS NOT NULL) \
                 ORDER BY l.record_id, l.annotator",
            )
            .map_err(|e| self.err(e))?;
        let rows =
            stmt.query_map([corpus_id], |r| Ok((r.get(0)?, r.get(1)?, decode_labels(r.get(2)?)?.unwrap_or_default()))).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// Each annotator's own latest accepted entity spans in `corpus`: (record id, annotator,
    /// spans), ordered by record.
    pub fn annotator_spans(&self, corpus: &str) -> Result<Vec<(i64, String, Vec<Span>)>> {
        let corpus_id = self.corpus_id(corpus)?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT l.record_id, l.annotator, l.spans FROM annotator_label l JOIN record x ON x.id = l.record_id \
                 WHERE x.corpus_id = ?1 AND l.status = 'accepted' AND l.spans IS NOT NULL ORDER BY l.record_id, l.annotator",
            )
            .map_err(|e| self.err(e))?;
        let rows =
            stmt.query_map([corpus_id], |r| Ok((r.get(0)?, r.get(1)?, decode_spans(r.get(2)?)?.unwrap_or_default()))).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// A record's current annotation, if any.
    pub fn annotation(&self, record_id: i64) -> Result<Option<Annotation>> {
        let row: Option<(String, String, String, String, Option<String>)> = self
            .conn
            .query_row("SELECT labels, status, annotator, updated_at, spans FROM annotation WHERE record_id = ?1", [record_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()
            .map_err(|e| self.err(e))?;
        let Some((labels, status, annotator, updated_at, spans)) = row else { return Ok(None) };
        Ok(Some(Annotation {
            record_id,
            labels: decode_labels(Some(labels)).map_err(|e| self.err(e))?.unwrap_or_default(),
            spans: decode_spans(spans).map_err(|e| self.err(e))?,
            status: Status::parse(&status)?,
            annotator,
            updated_at,
        }))
    }

    /// The number of history events for the records of `corpus`.
    pub fn annotation_history_len(&self, corpus: &str) -> Result<u64> {
        let corpus = self.corpus(corpus)?;
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM annotation_event e JOIN record x ON x.id = e.record_id WHERE x.corpus_id = ?1", [corpus.id], |r| {
                r.get(0)
            })
            .map_err(|e| self.err(e))?;
        Ok(n as u64)
    }
}

/// The most bytes of JSON a front end's setting holds.
pub const MAX_SETTING_BYTES: usize = 64 * 1024;

/// Front ends' keys live under `ui.` (lower-case letters, digits, `.`, `_`, `-`; at most 100
/// characters), apart from the project's own settings such as the annotator's name.
fn check_setting_key(key: &str) -> Result<String> {
    let ok = key.len() <= 100
        && key.strip_prefix("ui.").is_some_and(|rest| !rest.is_empty())
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(key.to_string())
    } else {
        Err(Error::Input(format!(
            "{} is not a front end's setting key: keys start with \"ui.\" and hold lower-case letters, digits, '.', '_' or '-' (at most 100)",
            crate::error::quoted(key)
        )))
    }
}
