//! Maps of a corpus (`domain::map`): a projection of an embedding set kept whole, and the
//! per-record values a map is coloured by.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{now, Store};
use crate::domain::map::{MapPoints, ProjectionMethod};
use crate::error::{Error, Result};

/// A stored map, without its points.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MapInfo {
    pub id: i64,
    pub embedding_set: i64,
    pub method: ProjectionMethod,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub seed: u64,
    /// Records on the map (the set's vectors when it was made).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub records: u64,
    pub explained_variance_ratio: Vec<f64>,
    pub created_at: String,
}

/// What each point of a map is coloured by: a category (an index into `categories`, −1 for
/// none) or a number (NaN for none), in the map's record order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MapColours {
    pub categories: Vec<String>,
    pub category: Vec<i32>,
    pub values: Option<Vec<f32>>,
}

/// A record's id, gold cell and reference label.
pub type ReferenceCell = (i64, Option<String>, Option<String>);

const MAP_COLUMNS: &str = "id, set_id, method, seed, records, explained, created_at";

fn map_from_row(row: &rusqlite::Row) -> rusqlite::Result<MapInfo> {
    let method: String = row.get(2)?;
    let explained: String = row.get(5)?;
    let bad = |what: String| rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, what.into());
    Ok(MapInfo {
        id: row.get(0)?,
        embedding_set: row.get(1)?,
        method: ProjectionMethod::parse(&method).map_err(|e| bad(e.to_string()))?,
        seed: row.get::<_, i64>(3)? as u64,
        records: row.get::<_, i64>(4)? as u64,
        explained_variance_ratio: serde_json::from_str(&explained).map_err(|e| bad(format!("a map's explained variance is not a list: {e}")))?,
        created_at: row.get(6)?,
    })
}

impl Store {
    /// Keeps a map of embedding set `set_id` (replacing the one with the same method and seed),
    /// written in one statement: a map is complete or absent.
    pub fn save_map(&mut self, set_id: i64, method: ProjectionMethod, seed: u64, points: &MapPoints) -> Result<MapInfo> {
        let n = points.record_ids.len();
        if points.x.len() != n || points.y.len() != n {
            return Err(Error::Input("a map needs two coordinates for every record".into()));
        }
        let mut blob = Vec::with_capacity(n * 16);
        for i in 0..n {
            blob.extend_from_slice(&points.record_ids[i].to_le_bytes());
            blob.extend_from_slice(&points.x[i].to_le_bytes());
            blob.extend_from_slice(&points.y[i].to_le_bytes());
        }
        let explained = serde_json::to_string(&points.explained_variance_ratio).expect("numbers serialize");
        let created = now(&self.conn).map_err(|e| self.err(e))?;
        self.conn
            .execute(
                "INSERT INTO corpus_map (set_id, method, seed, records, points, explained, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                 ON CONFLICT (set_id, method, seed) DO UPDATE SET records = excluded.records, points = excluded.points, \
                 explained = excluded.explained, created_at = excluded.created_at",
                params![set_id, method.as_str(), seed as i64, n as i64, blob, explained, created],
            )
            .map_err(|e| self.err(e))?;
        self.find_map(set_id, method, seed)?.ok_or_else(|| Error::Inference("the map just written cannot be read back".into()))
    }

    pub fn find_map(&self, set_id: i64, method: ProjectionMethod, seed: u64) -> Result<Option<MapInfo>> {
        self.conn
            .query_row(
                &format!("SELECT {MAP_COLUMNS} FROM corpus_map WHERE set_id = ?1 AND method = ?2 AND seed = ?3"),
                params![set_id, method.as_str(), seed as i64],
                map_from_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The maps of a corpus's embedding sets, newest first.
    pub fn maps(&self, corpus: &str) -> Result<Vec<MapInfo>> {
        let corpus_id = self.corpus_id(corpus)?;
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {MAP_COLUMNS} FROM corpus_map WHERE set_id IN (SELECT id FROM embedding_set WHERE corpus_id = ?1) ORDER BY id DESC"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([corpus_id], map_from_row).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }

    /// A map's points; `corpus` must be the corpus of the map's embedding set.
    pub fn map_points(&self, corpus: &str, map_id: i64) -> Result<(MapInfo, MapPoints)> {
        let corpus_id = self.corpus_id(corpus)?;
        let found: Option<(MapInfo, Vec<u8>)> = self
            .conn
            .query_row(
                &format!(
                    "SELECT {MAP_COLUMNS}, points FROM corpus_map WHERE id = ?1 AND set_id IN (SELECT id FROM embedding_set WHERE corpus_id = ?2)"
                ),
                params![map_id, corpus_id],
                |r| Ok((map_from_row(r)?, r.get(7)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let Some((info, blob)) = found else {
            return Err(Error::Input(format!("corpus {corpus:?} has no map {map_id}")));
        };
        if blob.len() % 16 != 0 {
            return Err(Error::Database { path: self.path.clone(), message: format!("map {map_id}'s points are damaged ({} bytes)", blob.len()) });
        }
        let mut points =
            MapPoints { record_ids: Vec::new(), x: Vec::new(), y: Vec::new(), explained_variance_ratio: info.explained_variance_ratio.clone() };
        for c in blob.chunks_exact(16) {
            points.record_ids.push(i64::from_le_bytes(c[0..8].try_into().expect("8 bytes")));
            points.x.push(f32::from_le_bytes(c[8..12].try_into().expect("4 bytes")));
            points.y.push(f32::from_le_bytes(c[12..16].try_into().expect("4 bytes")));
        }
        Ok((info, points))
    }

    /// Every record of a corpus with its gold cell and its reference label (accepted annotation
    /// first, else the gold cell as it is: `domain::annotation::reference`, the first label), by id.
    pub fn reference_cells(&self, corpus: &str) -> Result<Vec<ReferenceCell>> {
        let corpus_id = self.corpus_id(corpus)?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT x.id, x.gold, selectra_reference(a.labels, a.status, x.gold, 0) FROM record x \
                 LEFT JOIN annotation a ON a.record_id = x.id WHERE x.corpus_id = ?1 ORDER BY x.id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([corpus_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }

    /// A run's top label and score of every record it scored.
    pub fn top_predictions(&self, run_id: i64) -> Result<Vec<(i64, String, f32)>> {
        let mut stmt = self.conn.prepare("SELECT record_id, top_label, top_score FROM prediction WHERE run_id = ?1").map_err(|e| self.err(e))?;
        let rows = stmt.query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, f64>(2)? as f32))).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }
}
