//! The project database: one SQLite file holding corpora, zero-shot runs and their predictions.
//!
//! This is the only module that touches rusqlite. Durability rules: WAL journal with
//! `synchronous=FULL` (a committed transaction survives kill -9 and power loss), foreign keys on,
//! writers take the lock up front (`BEGIN IMMEDIATE`) and wait for it (polling every millisecond,
//! see [`wait_for_lock`]) instead of failing, and every multi-row change is one transaction, so a crash leaves all of it or none.

mod annotations;
mod corpus;
mod embeddings;
mod entities;
mod labels;
mod manage;
mod maps;
mod query;
mod runs;
mod scans;
mod schema;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

pub use crate::domain::annotation::Status;
pub use crate::domain::labels::{LabelDef, LabelSchema, LABEL_COLOURS};
pub use annotations::{default_annotator, Annotation, AnnotationEvent, BatchOutcome, HistoryEntry, Target, Undone};
pub use corpus::{BadRow, CorpusInfo, ImportItem, ImportOutcome, NewRecord};
pub use embeddings::{EmbeddingKey, EmbeddingSetInfo};
pub use entities::{RunEntity, TaggedEntity, TaggedRecord};
pub use labels::LabelSources;
pub use manage::ResultSet;
pub use maps::{MapColours, MapInfo};
pub use query::{meta_text, Cursor, Disagreement, EvalFilter, MetaFilter, Page, Query, QueryRow, Sample, Sort, StatusFilter, MAX_PAGE};
pub use runs::{ExportRow, PredictionRow, RecordPrediction, RunInfo, RunKey, RunKind};
pub use scans::{ExportScan, FlaggedWord, ScanInfo, ScanKey, SharedScanRecord, SuspiciousRecord};

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// SQLite's `application_id` of a project file ("SLST"), so that tools (`file`, SQLite itself)
/// and this code tell a project from any other SQLite database.
pub const APPLICATION_ID: i32 = 0x534C_5354;

impl Store {
    /// Opens (creating if needed) a project database and brings its schema up to date. An SQLite
    /// file of another program is refused before anything is written to it. Only starting a
    /// project creates one (importing a corpus in the CLI, "New…" in the app); everything else
    /// opens with [`Store::open_existing`], since a run, scan or embedding set needs a corpus a
    /// new file cannot have.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, true)
    }

    /// Opens a project database that must already exist: a mistyped name is an error, never a
    /// new empty project.
    pub fn open_existing(path: &Path) -> Result<Self> {
        Self::open_with(path, false)
    }

    fn open_with(path: &Path, create: bool) -> Result<Self> {
        if !create && !path.is_file() {
            let message = if path.exists() {
                "is not a file; choose a project file".to_string()
            } else {
                "does not exist; choose an existing project file (a project is created by importing a corpus into it)".to_string()
            };
            return Err(Error::Database { path: path.to_path_buf(), message });
        }
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let mut conn = Connection::open_with_flags(path, flags).map_err(|e| db_error(path, e))?;
        conn.busy_handler(Some(wait_for_lock)).map_err(|e| db_error(path, e))?;
        query::register_functions(&conn).map_err(|e| db_error(path, e))?;
        // Only reads until the file is known to be ours (or empty): setting WAL would rewrite
        // the header of someone else's database.
        let application_id: i32 = conn.pragma_query_value(None, "application_id", |row| row.get(0)).map_err(|e| db_error(path, e))?;
        if application_id != APPLICATION_ID {
            let tables: Vec<String> = {
                let mut stmt = conn
                    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
                    .map_err(|e| db_error(path, e))?;
                let rows = stmt.query_map([], |row| row.get(0)).map_err(|e| db_error(path, e))?;
                rows.collect::<rusqlite::Result<_>>().map_err(|e| db_error(path, e))?
            };
            // Projects written before the mark existed have application_id 0 and our tables.
            let ours = application_id == 0 && (tables.is_empty() || ["corpus", "record", "run"].iter().all(|t| tables.iter().any(|n| n == t)));
            if !ours {
                return Err(Error::Database {
                    path: path.to_path_buf(),
                    message: "not a Selectra Studio project (an SQLite database of another program); it was left untouched. \
                              Choose a project file, or a new file name to start a project"
                        .into(),
                });
            }
        }
        conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| db_error(path, e))?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(|e| db_error(path, e))?;

        let version: usize = conn.pragma_query_value(None, "user_version", |row| row.get::<_, i64>(0)).map_err(|e| db_error(path, e))? as usize;
        if version > schema::latest_version() {
            return Err(Error::Database {
                path: path.to_path_buf(),
                message: format!(
                    "this project was written by a newer Selectra Studio (schema version {version}, this build knows up to {}); \
                     update Selectra Studio to open it",
                    schema::latest_version()
                ),
            });
        }
        // Off while migrating (SQLite's bundled build turns them on by default): a migration that
        // rebuilds a table (version 7) must not cascade the old table's deletion into the rows
        // that reference it.
        conn.pragma_update(None, "foreign_keys", "OFF").map_err(|e| db_error(path, e))?;
        schema::migrations()
            .to_latest(&mut conn)
            .map_err(|e| Error::Database { path: path.to_path_buf(), message: format!("cannot bring the database schema up to date: {e}") })?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(|e| db_error(path, e))?;
        if application_id != APPLICATION_ID {
            conn.pragma_update(None, "application_id", APPLICATION_ID).map_err(|e| db_error(path, e))?;
        }
        Ok(Self { conn, path: path.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether `path` is this project's database file, or its WAL or shared-memory file.
    pub fn is_own_file(&self, path: &Path) -> bool {
        let Ok(db) = std::fs::canonicalize(&self.path) else { return false };
        let Some(target) = canonical_destination(path) else { return false };
        let mut own = vec![db.clone()];
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut name = db.clone().into_os_string();
            name.push(suffix);
            own.push(PathBuf::from(name));
        }
        own.contains(&target)
    }

    /// The schema version recorded in the file.
    pub fn schema_version(&self) -> Result<usize> {
        let v: i64 = self.conn.pragma_query_value(None, "user_version", |row| row.get(0)).map_err(|e| self.err(e))?;
        Ok(v as usize)
    }

    /// `PRAGMA integrity_check`, "ok" when the file is sound.
    pub fn integrity_check(&self) -> Result<String> {
        self.conn.query_row("PRAGMA integrity_check", [], |row| row.get(0)).map_err(|e| self.err(e))
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        db_error(&self.path, e)
    }
}

/// SQLite's busy handler: wait for another writer's lock up to [`BUSY_TIMEOUT`], looking every
/// millisecond. SQLite's own `busy_timeout` backs off to 100 ms between looks, so a writer that
/// waits behind an import's chunks rarely looks in the short gap between two of them and can
/// starve for seconds; looking often makes the wait about one chunk.
fn wait_for_lock(attempts: i32) -> bool {
    std::thread::sleep(Duration::from_millis(1));
    u128::from(attempts.unsigned_abs()) < BUSY_TIMEOUT.as_millis()
}

/// How long a writer waits for another connection's write lock before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a file written to `path` would land: its folder resolved (links, `..`), its name kept.
fn canonical_destination(path: &Path) -> Option<PathBuf> {
    if let Ok(existing) = std::fs::canonicalize(path) {
        return Some(existing);
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(std::fs::canonicalize(parent).ok()?.join(path.file_name()?))
}

fn db_error(path: &Path, e: rusqlite::Error) -> Error {
    let message = match &e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
            "not a Selectra Studio project (not an SQLite database)".to_string()
        }
        _ => e.to_string(),
    };
    Error::Database { path: path.to_path_buf(), message }
}

/// How an accent-stripping override is stored (-1: the model's own setting, 0, 1), so that
/// UNIQUE constraints see no NULLs.
fn strip_code(s: Option<bool>) -> i64 {
    match s {
        None => -1,
        Some(false) => 0,
        Some(true) => 1,
    }
}

fn strip_from_code(code: i64) -> Option<bool> {
    match code {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}

/// The current time as an RFC 3339 UTC timestamp, computed by SQLite so no clock crate is needed.
fn now(conn: &Connection) -> rusqlite::Result<String> {
    conn.query_row("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')", [], |row| row.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan's table accesses (SCAN/SEARCH lines) in loop order, outermost first.
    fn plan(store: &Store, sql: &str, params: &[i64]) -> Vec<String> {
        let mut stmt = store.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| r.get::<_, String>(3)).unwrap();
        rows.map(Result::unwrap).filter(|d| d.starts_with("SCAN") || d.starts_with("SEARCH")).collect()
    }

    /// The statements an export runs, on a project with two runs, a scan, annotations by two
    /// annotators and an embedding set: the one pass over the corpus may scan its records, and
    /// everything it joins or looks up per record is an index seek. A scan nested in that loop
    /// (the plan before schema version 8: `SCAN p USING COVERING INDEX prediction_by_entropy`
    /// per record) makes an export quadratic in the corpus.
    #[test]
    fn exports_seek_per_record_and_never_scan() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.sqlite")).unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO corpus (id, name, source_path, format, created_at) VALUES (1, 'c', 'c.csv', 'csv', 'now');
                 INSERT INTO record (id, corpus_id, row_number, text) VALUES (1, 1, 1, 'uno'), (2, 1, 2, 'dos'), (3, 1, 3, 'tres');
                 INSERT INTO run (id, corpus_id, model, weights_sha256, labels, template, multi_label, strip_accents, created_at)
                   VALUES (1, 1, 'm', 'a', '[\"x\",\"y\"]', 't', 0, -1, 'now'), (2, 1, 'n', 'b', '[\"x\",\"y\"]', 't', 0, -1, 'now');
                 INSERT INTO prediction (run_id, record_id, labels, scores, top_label, top_score, margin, entropy)
                   SELECT run.id, record.id, '[\"x\",\"y\"]', '[0.6,0.4]', 'x', 0.6, 0.2, 0.6 FROM run, record;
                 INSERT INTO scan (id, corpus_id, model, weights_sha256, strip_accents, created_at) VALUES (1, 1, 'd', 'c', -1, 'now');
                 INSERT INTO scan_result (scan_id, record_id, suspicion, flagged, mean, windows, tokens) SELECT 1, id, 0.1, 0, 0.1, 1, x'' FROM record;
                 INSERT INTO annotation (record_id, labels, status, annotator, updated_at) VALUES (1, '[\"x\"]', 'accepted', 'ana', 'now');
                 INSERT INTO annotator_label (record_id, annotator, labels, status) VALUES (1, 'ana', '[\"x\"]', 'accepted'), (1, 'luis', '[\"y\"]', 'accepted');
                 INSERT INTO embedding_set (id, corpus_id, model, weights_sha256, strip_accents, dim, created_at) VALUES (1, 1, 'm', 'a', -1, 1, 'now');
                 INSERT INTO embedding (set_id, record_id, vector) SELECT 1, id, x'0000803f' FROM record;
                 INSERT INTO run (id, corpus_id, model, weights_sha256, labels, template, multi_label, strip_accents, created_at, kind)
                   VALUES (3, 1, 't', 'c', '[\"PER\"]', 'aggregation=simple', 0, -1, 'now', 'tagger');
                 INSERT INTO tagged_record (run_id, record_id, entities, min_score, truncated) SELECT 3, id, 1, 0.5, 0 FROM record;
                 INSERT INTO run_entity (run_id, record_id, seq, label, start, \"end\", score, text) SELECT 3, id, 0, 'PER', 0, 2, 0.5, 'un' FROM record;",
            )
            .unwrap();
        let statements = [
            ("export rows", runs::EXPORT_ROWS_SQL, vec![1]),
            ("annotators", runs::EXPORT_ANNOTATORS_SQL, vec![1]),
            ("scans", scans::RECORD_SCANS_SQL, vec![1]),
            ("embedding", embeddings::EMBEDDING_SQL, vec![1, 1]),
            ("entities", entities::RECORD_ENTITIES_SQL, vec![1]),
        ];
        for (name, sql, params) in statements {
            let accesses = plan(&store, sql, &params);
            assert!(!accesses.is_empty(), "{name}: no plan");
            // Only the outermost loop of the one pass may read a table through.
            let nested_scans: Vec<&String> = accesses.iter().skip(1).filter(|a| a.starts_with("SCAN")).collect();
            assert!(nested_scans.is_empty(), "{name}: {accesses:?}");
            if name != "export rows" {
                assert!(accesses[0].starts_with("SEARCH"), "{name} runs once per record: {accesses:?}");
            }
        }
    }

    /// A project with corpus "c" of one record and tagging run 3 over it, finished or not.
    fn tagged_project(finished: bool) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.sqlite")).unwrap();
        store
            .conn
            .execute_batch(&format!(
                "INSERT INTO corpus (id, name, source_path, format, created_at) VALUES (1, 'c', 'c.csv', 'csv', 'now');
                 INSERT INTO record (id, corpus_id, row_number, text) VALUES (1, 1, 1, 'uno');
                 INSERT INTO run (id, corpus_id, model, weights_sha256, labels, template, multi_label, strip_accents, created_at, kind, finished_at)
                   VALUES (3, 1, 't', 'c', '[\"PER\"]', 'aggregation=simple', 0, -1, 'now', 'tagger', {});",
                if finished { "'now'" } else { "NULL" }
            ))
            .unwrap();
        (dir, store)
    }

    /// "Run and reference disagree on spans" reads the kept comparison through its index and
    /// compares spans only for records annotated with spans: no pass over the run's records.
    #[test]
    fn span_disagreement_reads_an_index_not_every_tagged_record() {
        let (_dir, store) = tagged_project(false);
        let q = Query { disagree: Some(Disagreement::RunSpans(3)), ..Default::default() };
        let p = store.plan("c", &q).unwrap();
        let accesses = plan(&store, &format!("SELECT COUNT(*) {} WHERE {}", p.count_from(), p.filter), &[1]);
        assert!(accesses.iter().any(|a| a.contains("tagged_record_by_gold_difference (run_id=? AND gold_differs=?)")), "{accesses:?}");
        assert!(!accesses.iter().any(|a| a.starts_with("SCAN t")), "{accesses:?}");
    }

    /// "Least sure entity first" over a finished tagging run reads its index in order (no sort
    /// of the corpus per page), from the first page and from a cursor.
    #[test]
    fn the_entity_order_reads_its_index() {
        let (_dir, store) = tagged_project(true);
        let q = Query { tagging_run: Some(3), sort: Sort::EntityScoreAsc, ..Default::default() };
        let p = store.plan("c", &q).unwrap();
        for (cursor, seek) in [(String::new(), "(run_id=?)"), (format!(" AND {}", p.after_cursor(1)), "(run_id=? AND <expr>>?)")] {
            let sql = format!("SELECT x.id {} WHERE {}{cursor} ORDER BY {}, t.record_id LIMIT 50", p.count_from(), p.filter, p.key);
            let mut stmt = store.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let params: &[f64] = if cursor.is_empty() { &[] } else { &[0.5, 1.0] };
            let lines: Vec<String> =
                stmt.query_map(rusqlite::params_from_iter(params), |r| r.get::<_, String>(3)).unwrap().map(Result::unwrap).collect();
            // A deep page seeks to its cursor in the index (before, a row value over the
            // expression read the index from its start: 2 s a page at a million records).
            assert!(lines.iter().any(|l| l.contains(&format!("tagged_record_by_entity_order {seek}"))), "{lines:?}");
            assert!(!lines.iter().any(|l| l.contains("TEMP B-TREE")), "a sort per page: {lines:?}");
        }
    }
}
