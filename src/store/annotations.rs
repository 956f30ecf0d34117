//! Annotations: a record's label (or label set) and status, with an append-only history.
//!
//! Every change is one transaction that appends an event (new state and the state it replaced)
//! and updates the current state; when `annotate` returns, the change is durable. Undo appends
//! the inverse of the latest change not yet undone, so history is never rewritten.

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use super::{now, Store};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Annotation {
    pub record_id: i64,
    pub labels: Vec<String>,
    pub status: Status,
    pub annotator: String,
    pub updated_at: String,
}

/// What one committed change did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnnotationEvent {
    pub id: i64,
    pub record_id: i64,
    /// The state after the change; `None` when the record has no annotation any more.
    pub labels: Option<Vec<String>>,
    pub status: Option<Status>,
    pub undoes: Option<i64>,
}

fn decode_labels(text: Option<String>) -> rusqlite::Result<Option<Vec<String>>> {
    text.map(|t| serde_json::from_str(&t).map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))))
        .transpose()
}

pub(super) fn decode_status(text: Option<String>) -> rusqlite::Result<Option<Status>> {
    text.map(|t| Status::parse(&t).map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))).transpose()
}

impl Store {
    /// The record of `corpus` at 1-based source row `row_number`.
    pub fn record_id(&self, corpus: &str, row_number: u64) -> Result<i64> {
        let corpus_id = self.corpus_id(corpus)?;
        self.conn
            .query_row("SELECT id FROM record WHERE corpus_id = ?1 AND row_number = ?2", params![corpus_id, row_number as i64], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?
            .ok_or_else(|| Error::Input(format!("corpus {corpus:?} has no record at row {row_number}")))
    }

    /// Sets a record's labels and status; durable when this returns.
    pub fn annotate(&mut self, record_id: i64, labels: &[String], status: Status, annotator: &str) -> Result<AnnotationEvent> {
        if labels.iter().any(|l| l.trim().is_empty()) {
            return Err(Error::Input("an annotation label is empty".into()));
        }
        let labels_json = serde_json::to_string(labels).expect("strings serialize");
        self.change(record_id, Some((labels_json, status)), annotator, None)
    }

    /// Undoes `annotator`'s own latest change in `corpus` that is not itself undone; `None` when
    /// there is none. In a shared project, undo is personal: another annotator's (or a CLI job's)
    /// changes are never taken back by someone else's undo. If another annotator changed the
    /// record after this change, undoing would silently overwrite their work, so it is refused.
    pub fn undo_last(&mut self, corpus: &str, annotator: &str) -> Result<Option<AnnotationEvent>> {
        let corpus_id = self.corpus_id(corpus)?;
        type Last = (i64, i64, Option<String>, Option<String>, Option<String>, Option<String>);
        let last: Option<Last> = self
            .conn
            .query_row(
                "SELECT e.id, e.record_id, e.prev_labels, e.prev_status, e.labels, e.status FROM annotation_event e \
                 JOIN record x ON x.id = e.record_id WHERE x.corpus_id = ?1 AND e.annotator = ?2 AND e.undoes IS NULL \
                 AND NOT EXISTS (SELECT 1 FROM annotation_event u WHERE u.undoes = e.id) ORDER BY e.id DESC LIMIT 1",
                params![corpus_id, annotator],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let Some((event, record, prev_labels, prev_status, labels, status)) = last else { return Ok(None) };
        let current: Option<(String, String, String)> = self
            .conn
            .query_row("SELECT labels, status, annotator FROM annotation WHERE record_id = ?1", [record], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()
            .map_err(|e| self.err(e))?;
        let unchanged = match (&current, &labels, &status) {
            (Some((cl, cs, _)), Some(l), Some(s)) => cl == l && cs == s,
            (None, None, None) => true,
            _ => false,
        };
        if !unchanged {
            let who = current.map(|(_, _, a)| a).unwrap_or_else(|| "another annotator".into());
            return Err(Error::Input(format!(
                "your latest change (to record {record}) cannot be undone: {who} changed that record after you; label it again instead"
            )));
        }
        let previous = match (prev_labels, prev_status) {
            (Some(l), Some(s)) => Some((l, Status::parse(&s)?)),
            _ => None,
        };
        self.change(record, previous, annotator, Some(event)).map(Some)
    }

    fn change(&mut self, record_id: i64, new: Option<(String, Status)>, annotator: &str, undoes: Option<i64>) -> Result<AnnotationEvent> {
        let path = self.path.clone();
        let err = |e| super::db_error(&path, e);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        let exists: Option<i64> = tx.query_row("SELECT id FROM record WHERE id = ?1", [record_id], |r| r.get(0)).optional().map_err(err)?;
        if exists.is_none() {
            return Err(Error::Input(format!("there is no record {record_id}")));
        }
        let previous: Option<(String, String)> = tx
            .query_row("SELECT labels, status FROM annotation WHERE record_id = ?1", [record_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(err)?;
        let at = now(&tx).map_err(err)?;
        let (new_labels, new_status) = match &new {
            Some((l, s)) => (Some(l.clone()), Some(s.as_str())),
            None => (None, None),
        };
        tx.execute(
            "INSERT INTO annotation_event (record_id, labels, status, prev_labels, prev_status, annotator, at, undoes) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![record_id, new_labels, new_status, previous.as_ref().map(|p| &p.0), previous.as_ref().map(|p| &p.1), annotator, at, undoes],
        )
        .map_err(err)?;
        let id = tx.last_insert_rowid();
        match &new {
            Some((labels, status)) => tx
                .execute(
                    "INSERT INTO annotation (record_id, labels, status, annotator, updated_at) VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT (record_id) DO UPDATE SET labels = excluded.labels, status = excluded.status, \
                     annotator = excluded.annotator, updated_at = excluded.updated_at",
                    params![record_id, labels, status.as_str(), annotator, at],
                )
                .map_err(err)?,
            None => tx.execute("DELETE FROM annotation WHERE record_id = ?1", [record_id]).map_err(err)?,
        };
        tx.commit().map_err(err)?;
        Ok(AnnotationEvent {
            id,
            record_id,
            labels: decode_labels(new.as_ref().map(|n| n.0.clone())).map_err(|e| self.err(e))?,
            status: new.map(|n| n.1),
            undoes,
        })
    }

    /// A record's current annotation, if any.
    pub fn annotation(&self, record_id: i64) -> Result<Option<Annotation>> {
        let row: Option<(String, String, String, String)> = self
            .conn
            .query_row("SELECT labels, status, annotator, updated_at FROM annotation WHERE record_id = ?1", [record_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()
            .map_err(|e| self.err(e))?;
        let Some((labels, status, annotator, updated_at)) = row else { return Ok(None) };
        Ok(Some(Annotation {
            record_id,
            labels: decode_labels(Some(labels)).map_err(|e| self.err(e))?.unwrap_or_default(),
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
