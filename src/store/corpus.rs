//! Corpora: creating one from a stream of parsed rows, all or nothing, and listing them.

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use super::{now, Store};
use crate::error::{Error, Result};
use crate::import::{BadRow, ImportItem, ImportOutcome};

/// One record to insert, as the importer parsed it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRecord {
    /// 1-based data row (CSV/TSV, header excluded) or line (JSONL/TXT) in the source.
    pub row_number: u64,
    pub source_id: Option<String>,
    pub text: String,
    pub gold: Option<String>,
    /// A JSON object of the chosen metadata columns.
    pub metadata: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CorpusInfo {
    pub id: i64,
    pub name: String,
    pub source_path: String,
    pub format: String,
    pub created_at: String,
    pub records: u64,
}

/// How many bad rows an import error lists (the total is always given).
const BAD_ROWS_SHOWN: usize = 10;

impl Store {
    /// Creates corpus `name` from `items` in one transaction. Bad rows roll the whole import back
    /// with a report of the first ones, unless `skip_bad`, which imports the rest and reports
    /// what was skipped. `progress` is called with the number of records stored so far.
    pub fn import_corpus(
        &mut self,
        name: &str,
        source_path: &str,
        format: &str,
        items: &mut dyn Iterator<Item = Result<ImportItem>>,
        skip_bad: bool,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ImportOutcome> {
        if name.trim().is_empty() {
            return Err(Error::Input("the corpus name is empty; pass --name".into()));
        }
        let path = self.path.clone();
        let err = |e: rusqlite::Error| super::db_error(&path, e);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        let exists: Option<i64> = tx.query_row("SELECT id FROM corpus WHERE name = ?1", [name], |r| r.get(0)).optional().map_err(err)?;
        if exists.is_some() {
            return Err(Error::Input(format!("a corpus named {name:?} exists already in {}; choose another --name", path.display())));
        }
        let created_at = now(&tx).map_err(err)?;
        tx.execute(
            "INSERT INTO corpus (name, source_path, format, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![name, source_path, format, created_at],
        )
        .map_err(err)?;
        let corpus_id = tx.last_insert_rowid();

        let mut bad: Vec<BadRow> = Vec::new();
        let mut imported = 0u64;
        {
            let mut insert = tx
                .prepare("INSERT INTO record (corpus_id, row_number, source_id, text, gold, metadata) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .map_err(err)?;
            let mut find_id = tx.prepare("SELECT row_number FROM record WHERE corpus_id = ?1 AND source_id = ?2").map_err(err)?;
            for item in items {
                match item? {
                    ImportItem::Bad(row) => bad.push(row),
                    ImportItem::Record(r) => {
                        if let Some(id) = &r.source_id {
                            let earlier: Option<i64> = find_id.query_row(params![corpus_id, id], |row| row.get(0)).optional().map_err(err)?;
                            if let Some(earlier) = earlier {
                                bad.push(BadRow { line: r.row_number, reason: format!("id {id:?} repeats the id of row {earlier}") });
                                continue;
                            }
                        }
                        insert.execute(params![corpus_id, r.row_number as i64, r.source_id, r.text, r.gold, r.metadata]).map_err(err)?;
                        imported += 1;
                        if imported % 1000 == 0 {
                            progress(imported);
                        }
                    }
                }
            }
        }
        progress(imported);
        if !bad.is_empty() && !skip_bad {
            // Dropping the transaction rolls everything back: no half import.
            let shown: Vec<String> = bad.iter().take(BAD_ROWS_SHOWN).map(|b| format!("row {}: {}", b.line, b.reason)).collect();
            return Err(Error::Import {
                path: source_path.into(),
                message: format!(
                    "{} bad row(s), nothing was imported. {}{}. Fix them, or pass --skip-bad to import the other rows",
                    bad.len(),
                    shown.join("; "),
                    if bad.len() > BAD_ROWS_SHOWN { "; ..." } else { "" }
                ),
            });
        }
        if imported == 0 {
            return Err(Error::Import { path: source_path.into(), message: "no records to import (the file has no data rows)".into() });
        }
        tx.commit().map_err(err)?;
        Ok(ImportOutcome { corpus: self.corpus(name)?, imported, skipped: bad })
    }

    pub fn corpora(&self) -> Result<Vec<CorpusInfo>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT c.id, c.name, c.source_path, c.format, c.created_at, \
                 (SELECT COUNT(*) FROM record r WHERE r.corpus_id = c.id) FROM corpus c ORDER BY c.name",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], corpus_from_row).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }

    /// The id of the corpus called `name`, without counting its records.
    pub(crate) fn corpus_id(&self, name: &str) -> Result<i64> {
        let id: Option<i64> =
            self.conn.query_row("SELECT id FROM corpus WHERE name = ?1", [name], |r| r.get(0)).optional().map_err(|e| self.err(e))?;
        match id {
            Some(id) => Ok(id),
            None => self.corpus(name).map(|c| c.id),
        }
    }

    /// The corpus called `name`; the error lists the corpora that exist.
    pub fn corpus(&self, name: &str) -> Result<CorpusInfo> {
        let found = self
            .conn
            .query_row(
                "SELECT c.id, c.name, c.source_path, c.format, c.created_at, \
                 (SELECT COUNT(*) FROM record r WHERE r.corpus_id = c.id) FROM corpus c WHERE c.name = ?1",
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
                    if names.is_empty() { "import one with `selectra corpus import`".to_string() } else { format!("it has: {}", names.join(", ")) }
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
    })
}
