//! Renaming and deleting corpora, runs, scans and embedding sets. Deleting is the one destructive action: each
//! delete is one transaction (the rows that depend on the deleted one go with it, by the
//! schema's `ON DELETE CASCADE`), so a crash leaves all of it or none.

use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::Store;
use crate::error::{Error, Result, Setting};

/// The longest name accepted for a corpus, run or scan.
const MAX_NAME_CHARS: usize = 200;

/// A name as the store keeps it (trimmed), or why it cannot be one: empty, longer than
/// [`MAX_NAME_CHARS`], or holding a control character (a newline would break every listing).
pub(crate) fn check_name(name: &str, what: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::Input(format!("the {what} name is empty; name the {what}")));
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Error::Input(format!("a {what} name is one line of at most {MAX_NAME_CHARS} characters")));
    }
    Ok(name.to_string())
}

impl Store {
    /// Renames a corpus; runs, scans and labels stay with it.
    pub fn rename_corpus(&mut self, name: &str, new_name: &str) -> Result<()> {
        let id = self.corpus_id(name)?;
        let new_name = check_name(new_name, "corpus")?;
        let taken: Option<i64> =
            self.conn.query_row("SELECT id FROM corpus WHERE name = ?1", [&new_name], |r| r.get(0)).optional().map_err(|e| self.err(e))?;
        match taken {
            Some(other) if other != id => {
                Err(Error::Input(format!("a corpus named {new_name:?} exists already; choose another name")).fixed_by(Setting::CorpusName))
            }
            _ => {
                self.conn.execute("UPDATE corpus SET name = ?1 WHERE id = ?2", params![new_name, id]).map_err(|e| self.err(e))?;
                Ok(())
            }
        }
    }

    /// Deletes a corpus with everything of it: records, runs, scans, annotations and history,
    /// label schema. Returns how many records went.
    pub fn delete_corpus(&mut self, name: &str) -> Result<u64> {
        let id = self.corpus_id(name)?;
        let path = self.path.clone();
        let err = |e| super::db_error(&path, e);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        let records: i64 = tx.query_row("SELECT COUNT(*) FROM record WHERE corpus_id = ?1", [id], |r| r.get(0)).map_err(err)?;
        // The NLI logits cache and annotation history hang off records; the cascade takes them.
        tx.execute("DELETE FROM corpus WHERE id = ?1", [id]).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(records as u64)
    }

    /// Names a run (`None` clears the name); its id and identity do not change.
    pub fn rename_run(&mut self, id: i64, name: Option<&str>) -> Result<()> {
        let name = name.filter(|n| !n.trim().is_empty()).map(|n| check_name(n, "run")).transpose()?;
        let n = self.conn.execute("UPDATE run SET name = ?1 WHERE id = ?2", params![name, id]).map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(Error::Input(format!("there is no run {id}")));
        }
        Ok(())
    }

    /// Deletes a run and its predictions (annotations are the user's and stay).
    pub fn delete_run(&mut self, id: i64) -> Result<()> {
        let n = self.conn.execute("DELETE FROM run WHERE id = ?1", [id]).map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(Error::Input(format!("there is no run {id}")));
        }
        Ok(())
    }

    /// Names a scan (`None` clears the name).
    pub fn rename_scan(&mut self, id: i64, name: Option<&str>) -> Result<()> {
        let name = name.filter(|n| !n.trim().is_empty()).map(|n| check_name(n, "scan")).transpose()?;
        let n = self.conn.execute("UPDATE scan SET name = ?1 WHERE id = ?2", params![name, id]).map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(Error::Input(format!("there is no scan {id}")));
        }
        Ok(())
    }

    /// Deletes a scan and its results.
    pub fn delete_scan(&mut self, id: i64) -> Result<()> {
        let n = self.conn.execute("DELETE FROM scan WHERE id = ?1", [id]).map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(Error::Input(format!("there is no scan {id}")));
        }
        Ok(())
    }

    /// Deletes an embedding set and its vectors, and the trained runs that read it (their heads
    /// were fitted on these vectors).
    pub fn delete_embedding_set(&mut self, id: i64) -> Result<()> {
        let path = self.path.clone();
        let err = |e| super::db_error(&path, e);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        tx.execute("DELETE FROM run WHERE id IN (SELECT run_id FROM trained_head WHERE embedding_set = ?1)", [id]).map_err(err)?;
        let n = tx.execute("DELETE FROM embedding_set WHERE id = ?1", [id]).map_err(err)?;
        if n == 0 {
            return Err(Error::Input(format!("there is no embedding set {id}")));
        }
        tx.commit().map_err(err)
    }

    /// Deletes one result set: a run, a scan or an embedding set.
    pub fn delete_result_set(&mut self, set: ResultSet) -> Result<()> {
        match set {
            ResultSet::Run(id) | ResultSet::Tagging(id) => self.delete_run(id),
            ResultSet::Scan(id) => self.delete_scan(id),
            ResultSet::Embeddings(id) => self.delete_embedding_set(id),
        }
    }

    /// Removes the results of `records` from `set`, in one transaction: what takes back an
    /// import that was refused part way.
    pub fn delete_results(&mut self, set: ResultSet, records: &[i64]) -> Result<()> {
        let (sql, id) = match set {
            ResultSet::Run(id) => ("DELETE FROM prediction WHERE run_id = ?1 AND record_id = ?2", id),
            // The record's entities go with it (ON DELETE CASCADE).
            ResultSet::Tagging(id) => ("DELETE FROM tagged_record WHERE run_id = ?1 AND record_id = ?2", id),
            ResultSet::Scan(id) => ("DELETE FROM scan_result WHERE scan_id = ?1 AND record_id = ?2", id),
            ResultSet::Embeddings(id) => ("DELETE FROM embedding WHERE set_id = ?1 AND record_id = ?2", id),
        };
        let path = self.path.clone();
        let err = |e| super::db_error(&path, e);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        {
            let mut delete = tx.prepare_cached(sql).map_err(err)?;
            for record in records {
                delete.execute(params![id, record]).map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    /// How many records have a result in `set`.
    pub fn result_count(&self, set: ResultSet) -> Result<u64> {
        let (sql, id) = match set {
            ResultSet::Run(id) => ("SELECT COUNT(*) FROM prediction WHERE run_id = ?1", id),
            ResultSet::Tagging(id) => ("SELECT COUNT(*) FROM tagged_record WHERE run_id = ?1", id),
            ResultSet::Scan(id) => ("SELECT COUNT(*) FROM scan_result WHERE scan_id = ?1", id),
            ResultSet::Embeddings(id) => ("SELECT COUNT(*) FROM embedding WHERE set_id = ?1", id),
        };
        let n: i64 = self.conn.query_row(sql, [id], |r| r.get(0)).map_err(|e| self.err(e))?;
        Ok(n as u64)
    }
}

/// One of a corpus's result sets, each holding at most one result per record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultSet {
    Run(i64),
    /// A tagger's run: its results are entities per record.
    Tagging(i64),
    Scan(i64),
    Embeddings(i64),
}

impl ResultSet {
    pub fn id(self) -> i64 {
        match self {
            Self::Run(id) | Self::Tagging(id) | Self::Scan(id) | Self::Embeddings(id) => id,
        }
    }

    /// What the set is called in messages.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Run(_) | Self::Tagging(_) => "run",
            Self::Scan(_) => "scan",
            Self::Embeddings(_) => "embedding set",
        }
    }
}

/// The error for a result that another connection stored first: two processes are computing or
/// importing the same run, scan or embedding set. Nothing is lost (the first result stays).
pub(super) fn concurrent_writer(path: &std::path::Path, e: rusqlite::Error, noun: &str) -> Error {
    match &e {
        rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY => Error::Database {
            path: path.to_path_buf(),
            message: format!(
                "another process is writing this {noun} (a record got its result from it first); \
                 nothing was lost: let that one finish, then start this again to resume"
            ),
        },
        _ => super::db_error(path, e),
    }
}
