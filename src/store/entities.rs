//! Tagging runs' results: which records a token classifier's run has done, and their entities
//! (character spans of the record's text with a type and a score), written a batch per
//! transaction like predictions.

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use super::Store;
use crate::domain::spans::Span;
use crate::error::{Error, Result};

/// One entity a tagging run found in a record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunEntity {
    pub run: i64,
    /// The entity's type (`entity_group`, or the token's label without aggregation).
    pub label: String,
    /// Character offsets into the record's text, end exclusive.
    pub start: usize,
    pub end: usize,
    pub score: f32,
    /// The record's text from `start` to `end`.
    pub text: String,
}

/// An entity as a tagging run keeps it: (label, start, end, score, the text it covers).
pub type TaggedEntity = (String, usize, usize, f32, String);

/// One record's result in a tagging run: its entities in the pipeline's order, and whether the
/// model saw only its beginning.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggedRecord {
    pub record_id: i64,
    pub entities: Vec<TaggedEntity>,
    pub truncated: bool,
}

/// A record's entities in every tagging run (an export reads it once per record: seeks only).
pub(super) const RECORD_ENTITIES_SQL: &str = "SELECT e.run_id, e.label, e.start, e.\"end\", e.score, e.text FROM tagged_record t \
     JOIN run_entity e ON e.run_id = t.run_id AND e.record_id = t.record_id WHERE t.record_id = ?1 ORDER BY e.run_id, e.seq";

impl Store {
    /// Up to `limit` records of the run's corpus with ids above `after` that the tagging run has
    /// not done, by id, with their texts.
    pub fn untagged_records(&self, run_id: i64, after: i64, limit: usize) -> Result<Vec<(i64, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT x.id, x.text FROM record x JOIN run r ON r.corpus_id = x.corpus_id WHERE r.id = ?1 AND x.id > ?2 \
                 AND NOT EXISTS (SELECT 1 FROM tagged_record t WHERE t.run_id = ?1 AND t.record_id = x.id) \
                 ORDER BY x.id LIMIT ?3",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map(params![run_id, after, limit as i64], |r| Ok((r.get(0)?, r.get(1)?))).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }

    /// Keeps a batch of records' results of a tagging run, in one transaction.
    pub fn save_tagged(&mut self, run_id: i64, records: &[TaggedRecord]) -> Result<()> {
        let path = self.path.clone();
        let err = |e| super::db_error(&path, e);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        {
            let mut done = tx
                .prepare_cached(
                    "INSERT INTO tagged_record (run_id, record_id, entities, min_score, truncated, gold_differs) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(err)?;
            let mut reference = tx.prepare_cached("SELECT gold_spans FROM record WHERE id = ?1").map_err(err)?;
            let mut put = tx
                .prepare_cached(
                    "INSERT INTO run_entity (run_id, record_id, seq, label, start, \"end\", score, text) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(err)?;
            for record in records {
                let min_score = record.entities.iter().map(|e| f64::from(e.3)).reduce(f64::min);
                // Whether the entities differ from the record's imported spans (kept for the
                // span disagreement filter; imported spans never change).
                let imported: Option<String> = reference.query_row([record.record_id], |r| r.get(0)).optional().map_err(err)?.flatten();
                let gold_differs = imported
                    .map(|json| {
                        serde_json::from_str::<Vec<Span>>(&json)
                            .map_err(|e| Error::Input(format!("record {}: stored reference spans: {e}", record.record_id)))
                    })
                    .transpose()?
                    .map(|gold| {
                        let entities: Vec<Span> =
                            record.entities.iter().map(|(label, start, end, _, _)| Span { start: *start, end: *end, label: label.clone() }).collect();
                        crate::domain::spans::differ(&gold, &entities)
                    });
                done.execute(params![run_id, record.record_id, record.entities.len() as i64, min_score, record.truncated as i64, gold_differs])
                    .map_err(|e| super::manage::concurrent_writer(&path, e, "run"))?;
                for (seq, (label, start, end, score, text)) in record.entities.iter().enumerate() {
                    put.execute(params![run_id, record.record_id, seq as i64, label, *start as i64, *end as i64, f64::from(*score), text])
                        .map_err(err)?;
                }
            }
        }
        tx.commit().map_err(err)
    }

    /// One record's result in a tagging run, if the run has tagged it.
    pub fn tagged(&self, run_id: i64, record_id: i64) -> Result<Option<TaggedRecord>> {
        let truncated: Option<bool> = self
            .conn
            .prepare_cached("SELECT truncated FROM tagged_record WHERE run_id = ?1 AND record_id = ?2")
            .and_then(|mut stmt| stmt.query_row(params![run_id, record_id], |r| Ok(r.get::<_, i64>(0)? == 1)).optional())
            .map_err(|e| self.err(e))?;
        let Some(truncated) = truncated else { return Ok(None) };
        let mut stmt = self
            .conn
            .prepare_cached("SELECT label, start, \"end\", score, text FROM run_entity WHERE run_id = ?1 AND record_id = ?2 ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let entities = stmt
            .query_map(params![run_id, record_id], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? as usize, r.get::<_, i64>(2)? as usize, r.get::<_, f64>(3)? as f32, r.get(4)?))
            })
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        Ok(Some(TaggedRecord { record_id, entities, truncated }))
    }

    /// A record's entities in every tagging run that tagged it, by run, each run's in order.
    pub fn record_entities(&self, record_id: i64) -> Result<Vec<RunEntity>> {
        let mut stmt = self.conn.prepare_cached(RECORD_ENTITIES_SQL).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([record_id], |r| {
                Ok(RunEntity {
                    run: r.get(0)?,
                    label: r.get(1)?,
                    start: r.get::<_, i64>(2)? as usize,
                    end: r.get::<_, i64>(3)? as usize,
                    score: r.get::<_, f64>(4)? as f32,
                    text: r.get(5)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }

    /// The records a tagging run has done (with entities or without), by id.
    pub fn tagged_record_ids(&self, run_id: i64) -> Result<Vec<i64>> {
        let mut stmt =
            self.conn.prepare_cached("SELECT record_id FROM tagged_record WHERE run_id = ?1 ORDER BY record_id").map_err(|e| self.err(e))?;
        let rows = stmt.query_map([run_id], |r| r.get(0)).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }

    /// How many entities of each type a tagging run found, most frequent first.
    pub fn entity_counts(&self, run_id: i64) -> Result<Vec<(String, u64)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT label, COUNT(*) FROM run_entity WHERE run_id = ?1 GROUP BY label ORDER BY COUNT(*) DESC, label")
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([run_id], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }
}
