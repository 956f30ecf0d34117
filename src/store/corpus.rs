//! Corpora: creating one from a stream of parsed rows, all or nothing, and listing them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use super::{now, Store};
use crate::domain::dataset::HubOrigin;
use crate::error::{Error, Result, Setting};

/// One record to insert, as the importer parsed it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRecord {
    /// 1-based data row (CSV/TSV, header excluded) or line (JSONL/TXT) in the source.
    pub row_number: u64,
    pub source_id: Option<String>,
    pub text: String,
    /// The second text of a sentence pair, if the corpus has pairs.
    pub text_pair: Option<String>,
    /// The record's reference entity spans (JSON of `domain::spans::Span`s), if the source
    /// has them: an empty list is a record without entities.
    pub gold_spans: Option<String>,
    pub gold: Option<String>,
    /// A JSON object of the chosen metadata columns.
    pub metadata: Option<String>,
}

/// A line of an import file that was not stored, and why (the import's contract with the store:
/// `exchange::import` reads files into these items, the store writes them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BadRow {
    pub line: u64,
    pub reason: String,
    /// The setting that would let this row in, if one would.
    #[serde(skip)]
    pub setting: Option<Setting>,
}

impl BadRow {
    pub fn new(line: u64, reason: impl Into<String>) -> Self {
        BadRow { line, reason: reason.into(), setting: None }
    }

    /// A row that `setting` would let in.
    pub fn fixed_by(line: u64, reason: impl Into<String>, setting: Setting) -> Self {
        BadRow { line, reason: reason.into(), setting: Some(setting) }
    }
}

/// One item of an import: a record to store, or a line that could not be one.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportItem {
    Record(NewRecord),
    Bad(BadRow),
}

/// What an import did: the corpus, how many records it stored, and the lines it skipped.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImportOutcome {
    pub corpus: CorpusInfo,
    pub imported: u64,
    pub skipped: Vec<BadRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CorpusInfo {
    pub id: i64,
    pub name: String,
    pub source_path: String,
    pub format: String,
    pub created_at: String,
    pub records: u64,
    /// Where a corpus pulled from the Hub came from; none for a file's.
    pub origin: Option<HubOrigin>,
}

/// How many bad rows an import error lists (the total is always given).
const BAD_ROWS_SHOWN: usize = 10;

/// An import commits a chunk of rows at least this often, so that other writers (labeling in the
/// app, a CLI run) never wait longer than about this for the write lock.
pub const IMPORT_CHUNK: Duration = Duration::from_millis(200);

/// The pause between two chunks: several times the busy handler's 1 ms look interval.
const CHUNK_GAP: Duration = Duration::from_millis(4);

/// Holds the exclusive lock on an import's lock file (`<db>-import-<corpus id>.lock`) for as long
/// as the import runs: the operating system releases it when the process dies, which is how a
/// later import tells a live import from one killed half-way.
struct ImportLock {
    file: std::fs::File,
    path: PathBuf,
}

impl ImportLock {
    fn path(db: &Path, corpus_id: i64) -> PathBuf {
        let mut name = db.as_os_str().to_owned();
        name.push(format!("-import-{corpus_id}.lock"));
        PathBuf::from(name)
    }

    fn take(db: &Path, corpus_id: i64) -> Result<Self> {
        let path = Self::path(db, corpus_id);
        let file = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
        file.try_lock().map_err(|e| Error::io(&path, std::io::Error::other(e.to_string())))?;
        Ok(Self { file, path })
    }

    /// True when no live process holds the lock of `corpus_id`'s import.
    fn abandoned(db: &Path, corpus_id: i64) -> bool {
        let path = Self::path(db, corpus_id);
        match std::fs::OpenOptions::new().write(true).open(&path) {
            Ok(file) => file.try_lock().is_ok(),
            Err(_) => true,
        }
    }

    fn release(self) {
        let _ = self.file.unlock();
        drop(self.file);
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Store {
    /// The second text of each of these records (`None` for a single text), by primary key.
    pub fn record_text_pairs(&self, records: &[i64]) -> Result<Vec<Option<String>>> {
        let mut stmt = self.conn.prepare_cached("SELECT text_pair FROM record WHERE id = ?1").map_err(|e| self.err(e))?;
        records.iter().map(|id| stmt.query_row([id], |r| r.get(0)).map_err(|e| self.err(e))).collect()
    }

    /// Whether any record of `corpus` holds a second text (a sentence-pair corpus). Stops at the
    /// first; a corpus without pairs is read once, as an export reads it.
    pub fn corpus_has_pairs(&self, corpus: &str) -> Result<bool> {
        self.corpus_has(corpus, "x.text_pair IS NOT NULL")
    }

    /// Whether any record of the corpus has reference entity spans (exports then write them).
    pub fn corpus_has_gold_spans(&self, corpus: &str) -> Result<bool> {
        self.corpus_has(corpus, "x.gold_spans IS NOT NULL")
    }

    /// Whether any record of the corpus has an annotation with entity spans.
    pub fn corpus_has_span_annotations(&self, corpus: &str) -> Result<bool> {
        self.corpus_has(corpus, "EXISTS (SELECT 1 FROM annotation a WHERE a.record_id = x.id AND a.spans IS NOT NULL)")
    }

    /// Whether any record `x` of the corpus meets `condition` (SQL over the record); stops at
    /// the first.
    fn corpus_has(&self, corpus: &str, condition: &str) -> Result<bool> {
        let corpus_id = self.corpus_id(corpus)?;
        self.conn
            .query_row(&format!("SELECT EXISTS (SELECT 1 FROM record x WHERE x.corpus_id = ?1 AND {condition})"), [corpus_id], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Creates corpus `name` from `items`, all or nothing. Rows are committed in chunks (see
    /// [`IMPORT_CHUNK`]) so that a long import never blocks other writers for long, while the
    /// corpus stays invisible (`importing_since` set) until the last row is in. Bad rows, a
    /// cancel or an error delete what was written, so no half import is ever seen; one killed
    /// half-way is invisible, and removed by the next import. `skip_bad` imports the good rows
    /// and reports the bad ones. `progress` is called with the number of records stored so far.
    pub fn import_corpus(
        &mut self,
        name: &str,
        source_path: &str,
        format: &str,
        items: &mut dyn Iterator<Item = Result<ImportItem>>,
        skip_bad: bool,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ImportOutcome> {
        self.import_corpus_from(name, source_path, None, format, items, skip_bad, progress)
    }

    /// [`Store::import_corpus`], keeping where a Hub dataset's corpus came from with it (written
    /// with the corpus's row, so an import that fails or is killed leaves neither).
    #[allow(clippy::too_many_arguments)]
    pub fn import_corpus_from(
        &mut self,
        name: &str,
        source_path: &str,
        origin: Option<&HubOrigin>,
        format: &str,
        items: &mut dyn Iterator<Item = Result<ImportItem>>,
        skip_bad: bool,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ImportOutcome> {
        let origin = origin.map(|o| serde_json::to_string(o).expect("an origin serializes"));
        // Empty, overlong or holding a control character (a newline would break every listing).
        super::manage::check_name(name, "corpus")?;
        self.remove_abandoned_imports()?;
        let path = self.path.clone();
        let err = |e: rusqlite::Error| super::db_error(&path, e);
        let corpus_id = {
            let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
            let exists: Option<bool> =
                tx.query_row("SELECT importing_since IS NOT NULL FROM corpus WHERE name = ?1", [name], |r| r.get(0)).optional().map_err(err)?;
            match exists {
                Some(false) => {
                    return Err(Error::Input(format!("a corpus named {name:?} exists already in {}; choose another name", path.display()))
                        .fixed_by(Setting::CorpusName))
                }
                Some(true) => {
                    return Err(Error::Input(format!(
                        "a corpus named {name:?} is being imported into {} right now; choose another name or wait",
                        path.display()
                    ))
                    .fixed_by(Setting::CorpusName))
                }
                None => {}
            }
            let created_at = now(&tx).map_err(err)?;
            tx.execute(
                "INSERT INTO corpus (name, source_path, format, created_at, importing_since, origin) VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
                params![name, source_path, format, created_at, origin],
            )
            .map_err(err)?;
            let id = tx.last_insert_rowid();
            tx.commit().map_err(err)?;
            id
        };
        let lock = match ImportLock::take(&path, corpus_id) {
            Ok(lock) => lock,
            Err(e) => {
                self.delete_corpus_rows(corpus_id)?;
                return Err(e);
            }
        };
        let outcome = self.import_rows(corpus_id, items, progress);
        let result = match outcome {
            Ok((_, bad)) if !bad.is_empty() && !skip_bad => {
                let shown: Vec<String> = bad.iter().take(BAD_ROWS_SHOWN).map(|b| format!("row {}: {}", b.line, b.reason)).collect();
                let error = Error::Import {
                    path: source_path.into(),
                    message: format!(
                        "{} bad row(s), nothing was imported. {}{}. Fix them, or skip bad rows to import the other rows",
                        bad.len(),
                        shown.join("; "),
                        if bad.len() > BAD_ROWS_SHOWN { "; ..." } else { "" }
                    ),
                };
                // Skipping them always works; a setting that would let a shown row in helps too.
                Err(bad.iter().take(BAD_ROWS_SHOWN).filter_map(|b| b.setting).fold(error.fixed_by(Setting::SkipBad), Error::fixed_by))
            }
            Ok((0, _)) => Err(Error::Import { path: source_path.into(), message: "no records to import (the file has no data rows)".into() }),
            other => other,
        };
        let result = match result {
            Ok((imported, bad)) => {
                self.conn.execute("UPDATE corpus SET importing_since = NULL WHERE id = ?1", [corpus_id]).map_err(err).map(|_| (imported, bad))
            }
            Err(e) => Err(e),
        };
        match result {
            Ok((imported, skipped)) => {
                lock.release();
                Ok(ImportOutcome { corpus: self.corpus(name)?, imported, skipped })
            }
            Err(e) => {
                // Nothing of a failed import stays; the lock is held until it is all gone.
                self.delete_corpus_rows(corpus_id)?;
                lock.release();
                Err(e)
            }
        }
    }

    /// Inserts the rows of a corpus being imported, a transaction per [`IMPORT_CHUNK`].
    fn import_rows(
        &mut self,
        corpus_id: i64,
        items: &mut dyn Iterator<Item = Result<ImportItem>>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(u64, Vec<BadRow>)> {
        let path = self.path.clone();
        let err = |e: rusqlite::Error| super::db_error(&path, e);
        let mut bad: Vec<BadRow> = Vec::new();
        let mut imported = 0u64;
        let mut items = items.peekable();
        while items.peek().is_some() {
            let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
            let started = Instant::now();
            {
                let mut insert = tx
                    .prepare_cached(
                        "INSERT INTO record (corpus_id, row_number, source_id, text, gold, metadata, text_pair, gold_spans) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    )
                    .map_err(err)?;
                let mut find_id = tx.prepare_cached("SELECT row_number FROM record WHERE corpus_id = ?1 AND source_id = ?2").map_err(err)?;
                while started.elapsed() < IMPORT_CHUNK {
                    let Some(item) = items.next() else { break };
                    match item? {
                        ImportItem::Bad(row) => bad.push(row),
                        ImportItem::Record(r) => {
                            if let Some(id) = &r.source_id {
                                let earlier: Option<i64> = find_id.query_row(params![corpus_id, id], |row| row.get(0)).optional().map_err(err)?;
                                if let Some(earlier) = earlier {
                                    bad.push(BadRow::new(r.row_number, format!("id {id:?} repeats the id of row {earlier}")));
                                    continue;
                                }
                            }
                            insert
                                .execute(params![corpus_id, r.row_number as i64, r.source_id, r.text, r.gold, r.metadata, r.text_pair, r.gold_spans])
                                .map_err(err)?;
                            imported += 1;
                            if imported.is_multiple_of(1000) {
                                progress(imported);
                            }
                        }
                    }
                }
            }
            tx.commit().map_err(err)?;
            // A moment without the write lock, so that a waiting writer (labeling) takes its
            // turn between chunks instead of after the whole import.
            std::thread::sleep(CHUNK_GAP);
        }
        progress(imported);
        Ok((imported, bad))
    }

    /// Deletes a corpus and everything in it, a few thousand records per transaction, so that
    /// other writers keep their turn while a large one goes.
    fn delete_corpus_rows(&mut self, corpus_id: i64) -> Result<()> {
        let path = self.path.clone();
        let err = |e: rusqlite::Error| super::db_error(&path, e);
        loop {
            let deleted = self
                .conn
                .execute("DELETE FROM record WHERE id IN (SELECT id FROM record WHERE corpus_id = ?1 LIMIT 5000)", [corpus_id])
                .map_err(err)?;
            if deleted == 0 {
                break;
            }
        }
        self.conn.execute("DELETE FROM corpus WHERE id = ?1", [corpus_id]).map_err(err)?;
        Ok(())
    }

    /// Removes the rows of imports whose process died half-way (their lock is free).
    fn remove_abandoned_imports(&mut self) -> Result<()> {
        let ids: Vec<i64> = {
            let mut stmt = self.conn.prepare("SELECT id FROM corpus WHERE importing_since IS NOT NULL").map_err(|e| self.err(e))?;
            let rows = stmt.query_map([], |r| r.get(0)).map_err(|e| self.err(e))?;
            rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))?
        };
        for id in ids {
            if ImportLock::abandoned(&self.path, id) {
                self.delete_corpus_rows(id)?;
                let _ = std::fs::remove_file(ImportLock::path(&self.path, id));
            }
        }
        Ok(())
    }

    pub fn corpora(&self) -> Result<Vec<CorpusInfo>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT c.id, c.name, c.source_path, c.format, c.created_at, \
                 (SELECT COUNT(*) FROM record r WHERE r.corpus_id = c.id), c.origin FROM corpus c WHERE c.importing_since IS NULL ORDER BY c.name",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], corpus_from_row).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }

    /// The id of the corpus called `name`, without counting its records.
    pub(crate) fn corpus_id(&self, name: &str) -> Result<i64> {
        let id: Option<i64> = self
            .conn
            .query_row("SELECT id FROM corpus WHERE name = ?1 AND importing_since IS NULL", [name], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        match id {
            Some(id) => Ok(id),
            None => self.corpus(name).map(|c| c.id),
        }
    }

    /// How exports name this corpus's records that have no source id: by row number, after a
    /// prefix that no source id of the corpus starts with. Without source ids at all the prefix
    /// is empty (the id is the row number); where some records have one, it is one `#` more than
    /// the longest run of `#` any source id starts with, so a blank id's record can never take
    /// another record's id (`uno,2` / `dos,` exports `2` and `#2`).
    pub fn row_id_prefix(&self, corpus_id: i64) -> Result<String> {
        let any: bool = self
            .conn
            .query_row("SELECT EXISTS (SELECT 1 FROM record WHERE corpus_id = ?1 AND source_id IS NOT NULL)", [corpus_id], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if !any {
            return Ok(String::new());
        }
        // A range read of the source-id index: the ids that start with '#' ('$' follows it).
        let mut stmt = self
            .conn
            .prepare_cached("SELECT source_id FROM record WHERE corpus_id = ?1 AND source_id >= '#' AND source_id < '$'")
            .map_err(|e| self.err(e))?;
        let ids = stmt.query_map([corpus_id], |r| r.get::<_, String>(0)).map_err(|e| self.err(e))?;
        let mut longest = 0;
        for id in ids {
            longest = longest.max(id.map_err(|e| self.err(e))?.bytes().take_while(|&b| b == b'#').count());
        }
        Ok("#".repeat(longest + 1))
    }

    /// The record an export calls `id` (its source id, else its row number after the corpus's
    /// [`Store::row_id_prefix`], as every export writes it), with its text: (record id, text).
    /// A plain row number still finds a record without a source id when no source id equals it
    /// (what exports wrote before the prefix existed).
    pub fn record_by_export_id(&self, corpus_id: i64, id: &str, row_prefix: &str) -> Result<Option<(i64, String)>> {
        if let Some(row) = id.strip_prefix(row_prefix).filter(|_| !row_prefix.is_empty()) {
            return self.record_without_source_id(corpus_id, row);
        }
        let by_source = self
            .conn
            .prepare_cached("SELECT id, text FROM record WHERE corpus_id = ?1 AND source_id = ?2")
            .and_then(|mut stmt| stmt.query_row(params![corpus_id, id], |r| Ok((r.get(0)?, r.get(1)?))).optional())
            .map_err(|e| self.err(e))?;
        if by_source.is_some() {
            return Ok(by_source);
        }
        self.record_without_source_id(corpus_id, id)
    }

    fn record_without_source_id(&self, corpus_id: i64, row: &str) -> Result<Option<(i64, String)>> {
        let Ok(row_number) = row.parse::<i64>() else { return Ok(None) };
        if row_number.to_string() != row {
            return Ok(None);
        }
        self.conn
            .prepare_cached("SELECT id, text FROM record WHERE corpus_id = ?1 AND row_number = ?2 AND source_id IS NULL")
            .and_then(|mut stmt| stmt.query_row(params![corpus_id, row_number], |r| Ok((r.get(0)?, r.get(1)?))).optional())
            .map_err(|e| self.err(e))
    }

    /// The corpus called `name`; the error lists the corpora that exist.
    pub fn corpus(&self, name: &str) -> Result<CorpusInfo> {
        let found = self
            .conn
            .query_row(
                "SELECT c.id, c.name, c.source_path, c.format, c.created_at, \
                 (SELECT COUNT(*) FROM record r WHERE r.corpus_id = c.id), c.origin FROM corpus c WHERE c.name = ?1 AND c.importing_since IS NULL",
                [name],
                corpus_from_row,
            )
            .optional()
            .map_err(|e| self.err(e))?;
        match found {
            Some(c) => Ok(c),
            None => {
                let names: Vec<String> = self.corpora()?.into_iter().map(|c| c.name).collect();
                Err(Error::Input(format!(
                    "no corpus named {name:?} in {}; {}",
                    self.path.display(),
                    if names.is_empty() { "import one first".to_string() } else { format!("it has: {}", names.join(", ")) }
                )))
            }
        }
    }
}

fn corpus_from_row(row: &rusqlite::Row) -> rusqlite::Result<CorpusInfo> {
    Ok(CorpusInfo {
        id: row.get(0)?,
        name: row.get(1)?,
        source_path: row.get(2)?,
        format: row.get(3)?,
        created_at: row.get(4)?,
        records: row.get::<_, i64>(5)? as u64,
        origin: row.get::<_, Option<String>>(6)?.and_then(|json| serde_json::from_str(&json).ok()),
    })
}
