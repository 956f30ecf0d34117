//! The labeling queries: filter a corpus's records by prediction, score, annotation status and
//! text, sort them by uncertainty, score or a seeded shuffle, and read them a page at a time.

use rusqlite::types::Value as Sql;
use rusqlite::OptionalExtension;
use serde::Serialize;

use super::Store;
use crate::error::{Error, Result};
use crate::store::Status;

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

#[derive(Debug, Clone, Default)]
pub struct Query {
    /// The run whose predictions filter and sort; required by the prediction filters and sorts.
    pub run: Option<i64>,
    pub predicted_label: Option<String>,
    pub min_score: Option<f64>,
    pub max_score: Option<f64>,
    pub status: Option<StatusFilter>,
    /// Full-text search; every word must occur.
    pub text: Option<String>,
    /// The scan whose suspicion filters, sorts and is shown.
    pub scan: Option<i64>,
    /// Only records whose suspicion in the scan is at least this.
    pub min_suspicion: Option<f64>,
    pub sort: Sort,
    pub offset: u64,
    pub limit: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryRow {
    pub record_id: i64,
    pub row_number: u64,
    pub source_id: Option<String>,
    pub text: String,
    pub gold: Option<String>,
    pub annotation_labels: Option<Vec<String>>,
    pub annotation_status: Option<Status>,
    pub top_label: Option<String>,
    pub top_score: Option<f64>,
    pub margin: Option<f64>,
    pub entropy: Option<f64>,
    /// The record's suspicion in the query's scan.
    pub suspicion: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page {
    pub rows: Vec<QueryRow>,
    /// How many records match, over all pages; counted for the first page (offset 0) only,
    /// since counting a million rows costs more than reading a page.
    pub total: Option<u64>,
}

/// FTS5 query syntax would turn user input like `"` or `AND` into syntax; quote every word.
fn fts_phrase(text: &str) -> String {
    text.split_whitespace().map(|w| format!("\"{}\"", w.replace('"', "\"\""))).collect::<Vec<_>>().join(" ")
}

impl Store {
    pub fn query(&self, corpus: &str, q: &Query) -> Result<Page> {
        let corpus_id = self.corpus_id(corpus)?;
        let needs_run = q.predicted_label.is_some()
            || q.min_score.is_some()
            || q.max_score.is_some()
            || matches!(q.sort, Sort::Margin | Sort::Entropy | Sort::ScoreAsc | Sort::ScoreDesc);
        if needs_run && q.run.is_none() {
            return Err(Error::Input("filtering or sorting by predictions needs a run; pick one".into()));
        }
        if let Some(run) = q.run {
            let run_corpus: Option<i64> =
                self.conn.query_row("SELECT corpus_id FROM run WHERE id = ?1", [run], |r| r.get(0)).optional().map_err(|e| self.err(e))?;
            match run_corpus {
                None => return Err(Error::Input(format!("there is no run {run}"))),
                Some(c) if c != corpus_id => return Err(Error::Input(format!("run {run} is over another corpus than {corpus:?}"))),
                Some(_) => {}
            }
        }
        if (q.min_suspicion.is_some() || q.sort == Sort::SuspicionDesc) && q.scan.is_none() {
            return Err(Error::Input("filtering or sorting by suspicion needs a scan; pick one".into()));
        }
        if let Some(scan) = q.scan {
            let scan_corpus: Option<i64> =
                self.conn.query_row("SELECT corpus_id FROM scan WHERE id = ?1", [scan], |r| r.get(0)).optional().map_err(|e| self.err(e))?;
            match scan_corpus {
                None => return Err(Error::Input(format!("there is no scan {scan}"))),
                Some(c) if c != corpus_id => return Err(Error::Input(format!("scan {scan} is of another corpus than {corpus:?}"))),
                Some(_) => {}
            }
        }
        if q.limit == 0 || q.limit > 10_000 {
            return Err(Error::Input("a page holds 1 to 10000 records".into()));
        }

        let mut args: Vec<Sql> = if needs_run { Vec::new() } else { vec![Sql::Integer(corpus_id)] };
        // The run id is an integer and goes into the SQL text, so each statement binds exactly
        // the parameters it uses.
        let run = q.run.unwrap_or(-1);
        // Driven from a run's predictions, the corpus is implied (the run was checked to be over
        // it) and rows are named by p.record_id, so counts can skip the record table.
        let rid = if needs_run { "p.record_id" } else { "x.id" };
        let mut filters = if needs_run { vec![format!("p.run_id = {run}")] } else { vec!["x.corpus_id = ?1".to_string()] };
        let bind = |value: Sql, args: &mut Vec<Sql>| {
            args.push(value);
            format!("?{}", args.len())
        };
        if let Some(label) = &q.predicted_label {
            filters.push(format!("p.top_label = {}", bind(Sql::Text(label.clone()), &mut args)));
        }
        if let Some(min) = q.min_score {
            filters.push(format!("p.top_score >= {}", bind(Sql::Real(min), &mut args)));
        }
        if let Some(max) = q.max_score {
            filters.push(format!("p.top_score <= {}", bind(Sql::Real(max), &mut args)));
        }
        match q.status {
            Some(StatusFilter::Unannotated) => filters.push("a.record_id IS NULL".into()),
            Some(StatusFilter::Is(s)) => filters.push(format!("a.status = {}", bind(Sql::Text(s.as_str().into()), &mut args))),
            None => {}
        }
        if let Some(min) = q.min_suspicion {
            filters.push(format!("s.suspicion >= {}", bind(Sql::Real(min), &mut args)));
        }
        if let Some(text) = q.text.as_deref().filter(|t| !t.trim().is_empty()) {
            filters.push(format!("{rid} IN (SELECT rowid FROM record_fts WHERE record_fts MATCH {})", bind(Sql::Text(fts_phrase(text)), &mut args)));
        }
        // Each order matches an index (record: corpus_id, row_number; prediction: run_id, key,
        // record_id), scanned forwards or backwards, so a page reads only its rows.
        let order = match q.sort {
            Sort::Row => "x.row_number".to_string(),
            Sort::Margin => "p.margin ASC, p.record_id ASC".into(),
            Sort::Entropy => "p.entropy DESC, p.record_id DESC".into(),
            Sort::ScoreDesc => "p.top_score DESC, p.record_id DESC".into(),
            Sort::ScoreAsc => "p.top_score ASC, p.record_id ASC".into(),
            // A full sort by a seeded hash of the id: the one order no index can serve.
            Sort::Random(seed) => format!("((x.id * 2654435761 + {}) % 4294967311), x.id", seed % 4294967311),
            Sort::SuspicionDesc => "s.suspicion DESC, x.id ASC".into(),
        };
        // The scan (an integer, in the SQL text like the run) joins its summary to each record.
        let scan_join = format!("LEFT JOIN scan_result s ON s.scan_id = {} AND s.record_id = {rid}", q.scan.unwrap_or(-1));
        // Filtering or sorting by predictions drives the query from the run's predictions, so the
        // (run, label, score) and (run, margin) indexes serve the filter and the order.
        let from = if needs_run {
            format!("FROM prediction p JOIN record x ON x.id = p.record_id LEFT JOIN annotation a ON a.record_id = x.id {scan_join}")
        } else {
            format!(
                "FROM record x LEFT JOIN prediction p ON p.run_id = {run} AND p.record_id = x.id LEFT JOIN annotation a ON a.record_id = x.id {scan_join}"
            )
        };
        let filter = filters.join(" AND ");

        // The count joins only what the filters read.
        let mut count_from = match (needs_run, q.status.is_some()) {
            (true, true) => "FROM prediction p LEFT JOIN annotation a ON a.record_id = p.record_id".to_string(),
            (true, false) => "FROM prediction p".to_string(),
            (false, true) => "FROM record x LEFT JOIN annotation a ON a.record_id = x.id".to_string(),
            (false, false) => "FROM record x".to_string(),
        };
        if q.min_suspicion.is_some() {
            count_from = format!("{count_from} {scan_join}");
        }
        let total: Option<i64> = if q.offset == 0 {
            Some(
                self.conn
                    .query_row(&format!("SELECT COUNT(*) {count_from} WHERE {filter}"), rusqlite::params_from_iter(args.iter()), |r| r.get(0))
                    .map_err(|e| self.err(e))?,
            )
        } else {
            None
        };
        let limit = bind(Sql::Integer(q.limit as i64), &mut args);
        let offset = bind(Sql::Integer(q.offset as i64), &mut args);
        let sql = format!(
            "SELECT x.id, x.row_number, x.source_id, x.text, x.gold, a.labels, a.status, p.top_label, p.top_score, p.margin, p.entropy, s.suspicion \
             {from} WHERE {filter} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                let labels: Option<String> = r.get(5)?;
                Ok(QueryRow {
                    record_id: r.get(0)?,
                    row_number: r.get::<_, i64>(1)? as u64,
                    source_id: r.get(2)?,
                    text: r.get(3)?,
                    gold: r.get(4)?,
                    annotation_labels: labels.and_then(|l| serde_json::from_str(&l).ok()),
                    annotation_status: super::annotations::decode_status(r.get(6)?)?,
                    top_label: r.get(7)?,
                    top_score: r.get(8)?,
                    margin: r.get(9)?,
                    entropy: r.get(10)?,
                    suspicion: r.get(11)?,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        Ok(Page { rows, total: total.map(|t| t as u64) })
    }
}
