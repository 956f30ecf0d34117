//! Record embeddings: one set per (corpus, weights, accent setting), one unit vector per record,
//! written a batch per transaction by the shared corpus-job loop (see `corpus_run::run_embed`).

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use super::{now, strip_code, strip_from_code, Store};
use crate::error::{Error, Result};

/// What identifies an embedding set. The model name is kept for people; the weights' hash and
/// the accent setting decide the vectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EmbeddingKey {
    pub corpus: String,
    pub model: String,
    pub weights_sha256: String,
    pub strip_accents: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EmbeddingSetInfo {
    pub id: i64,
    #[serde(flatten)]
    #[cfg_attr(feature = "ts", ts(flatten))]
    pub key: EmbeddingKey,
    pub dim: usize,
    pub created_at: String,
    pub finished_at: Option<String>,
    /// Records with a vector.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub embedded: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub records: u64,
}

const SET_COLUMNS: &str = "e.id, c.name, e.model, e.weights_sha256, e.strip_accents, e.dim, e.created_at, e.finished_at, \
     (SELECT COUNT(*) FROM embedding v WHERE v.set_id = e.id), (SELECT COUNT(*) FROM record x WHERE x.corpus_id = e.corpus_id)";

fn set_from_row(row: &rusqlite::Row) -> rusqlite::Result<EmbeddingSetInfo> {
    Ok(EmbeddingSetInfo {
        id: row.get(0)?,
        key: EmbeddingKey { corpus: row.get(1)?, model: row.get(2)?, weights_sha256: row.get(3)?, strip_accents: strip_from_code(row.get(4)?) },
        dim: row.get::<_, i64>(5)? as usize,
        created_at: row.get(6)?,
        finished_at: row.get(7)?,
        embedded: row.get::<_, i64>(8)? as u64,
        records: row.get::<_, i64>(9)? as u64,
    })
}

fn encode_vector(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn decode_vector(bytes: &[u8], dim: usize) -> rusqlite::Result<Vec<f32>> {
    if bytes.len() != dim * 4 {
        return Err(rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Blob,
            format!("a stored embedding has {} bytes, not {} ({dim} numbers); the project file is damaged", bytes.len(), dim * 4).into(),
        ));
    }
    Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

/// One record's vector of one set (the primary key's seek); the export reads it per record.
pub(super) const EMBEDDING_SQL: &str =
    "SELECT v.vector, e.dim FROM embedding v JOIN embedding_set e ON e.id = v.set_id WHERE v.set_id = ?1 AND v.record_id = ?2";

impl Store {
    /// The embedding set with this key, created (with vectors of `dim` numbers) if it does not
    /// exist yet.
    pub fn open_embeddings(&mut self, key: &EmbeddingKey, dim: usize) -> Result<EmbeddingSetInfo> {
        let corpus_id = self.corpus_id(&key.corpus)?;
        let path = self.path.clone();
        let err = |e| super::db_error(&path, e);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        let found: Option<(i64, i64)> = tx
            .query_row(
                "SELECT id, dim FROM embedding_set WHERE corpus_id = ?1 AND weights_sha256 = ?2 AND strip_accents = ?3",
                params![corpus_id, key.weights_sha256, strip_code(key.strip_accents)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(err)?;
        let id = match found {
            Some((id, stored)) if stored as usize == dim => id,
            Some((id, stored)) => {
                return Err(Error::Input(format!(
                    "embedding set {id} of these weights holds vectors of {stored} numbers and the model gives {dim}: it was not \
                     computed by this model (imported results of another computation?); delete embedding set {id} and embed again"
                )))
            }
            None => {
                let created = now(&tx).map_err(err)?;
                tx.execute(
                    "INSERT INTO embedding_set (corpus_id, model, weights_sha256, strip_accents, dim, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![corpus_id, key.model, key.weights_sha256, strip_code(key.strip_accents), dim as i64, created],
                )
                .map_err(err)?;
                tx.last_insert_rowid()
            }
        };
        tx.commit().map_err(err)?;
        self.embedding_set(id)
    }

    /// An embedding set that must be over `corpus` (a set of another corpus is refused by name).
    pub fn corpus_embedding_set(&self, corpus: &str, id: i64) -> Result<EmbeddingSetInfo> {
        let set = self.embedding_set(id)?;
        if set.key.corpus != corpus {
            return Err(Error::Input(format!("embedding set {id} is over corpus {:?}, not {corpus:?}", set.key.corpus)));
        }
        Ok(set)
    }

    pub fn embedding_set(&self, id: i64) -> Result<EmbeddingSetInfo> {
        self.conn
            .query_row(&format!("SELECT {SET_COLUMNS} FROM embedding_set e JOIN corpus c ON c.id = e.corpus_id WHERE e.id = ?1"), [id], set_from_row)
            .optional()
            .map_err(|e| self.err(e))?
            .ok_or_else(|| Error::Input(format!("there is no embedding set {id}")))
    }

    /// The embedding sets of a corpus, oldest first.
    pub fn embedding_sets(&self, corpus: &str) -> Result<Vec<EmbeddingSetInfo>> {
        let corpus_id = self.corpus_id(corpus)?;
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {SET_COLUMNS} FROM embedding_set e JOIN corpus c ON c.id = e.corpus_id WHERE e.corpus_id = ?1 ORDER BY e.id"))
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([corpus_id], set_from_row).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }

    /// Up to `limit` records of the set's corpus with ids above `after` and no vector yet, by id.
    pub fn pending_embedding_records(&self, set_id: i64, after: i64, limit: usize) -> Result<Vec<(i64, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT x.id, x.text FROM record x JOIN embedding_set e ON e.corpus_id = x.corpus_id WHERE e.id = ?1 AND x.id > ?2 \
                 AND NOT EXISTS (SELECT 1 FROM embedding v WHERE v.set_id = ?1 AND v.record_id = x.id) \
                 ORDER BY x.id LIMIT ?3",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map(params![set_id, after, limit as i64], |r| Ok((r.get(0)?, r.get(1)?))).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }

    /// Stores a batch of vectors in one transaction.
    pub fn save_embeddings(&mut self, set_id: i64, vectors: &[(i64, Vec<f32>)]) -> Result<()> {
        let path = self.path.clone();
        let err = |e| super::db_error(&path, e);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        {
            let mut put = tx.prepare_cached("INSERT INTO embedding (set_id, record_id, vector) VALUES (?1, ?2, ?3)").map_err(err)?;
            for (record, v) in vectors {
                put.execute(params![set_id, record, encode_vector(v)]).map_err(|e| super::manage::concurrent_writer(&path, e, "embedding set"))?;
            }
        }
        tx.commit().map_err(err)
    }

    pub fn finish_embeddings(&mut self, set_id: i64) -> Result<()> {
        let at = now(&self.conn).map_err(|e| self.err(e))?;
        self.conn.execute("UPDATE embedding_set SET finished_at = ?1 WHERE id = ?2", params![at, set_id]).map_err(|e| self.err(e))?;
        Ok(())
    }

    /// One record's vector in a set, if it has one.
    pub fn embedding(&self, set_id: i64, record_id: i64) -> Result<Option<Vec<f32>>> {
        let mut stmt = self.conn.prepare_cached(EMBEDDING_SQL).map_err(|e| self.err(e))?;
        stmt.query_row(params![set_id, record_id], |r| decode_vector(&r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)? as usize))
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Every stored vector of a set, by record id.
    pub fn embeddings(&self, set_id: i64) -> Result<Vec<(i64, Vec<f32>)>> {
        let dim = self.embedding_set(set_id)?.dim;
        let mut stmt = self.conn.prepare("SELECT record_id, vector FROM embedding WHERE set_id = ?1 ORDER BY record_id").map_err(|e| self.err(e))?;
        let rows = stmt.query_map([set_id], |r| Ok((r.get::<_, i64>(0)?, decode_vector(&r.get::<_, Vec<u8>>(1)?, dim)?))).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }
}
