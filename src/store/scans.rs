//! Scans: the discriminator over a corpus. Their identity, the records still to scan, results
//! written a batch per transaction (every token in a compact blob, the summaries in columns that
//! are indexed for sorting), and the reads the CLI, the app and exports make of them.

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use super::{now, Store};
use crate::domain::rtd::{RecordScan, ScannedToken};
use crate::error::{Error, Result};

/// Everything that determines a scan's results; the same key resumes the same scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScanKey {
    pub corpus: String,
    /// The model as named (Hub id with its revision, or folder).
    pub model: String,
    pub weights_sha256: String,
    /// `None`: the model's own tokenizer setting.
    pub strip_accents: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScanInfo {
    pub id: i64,
    /// The name someone gave the scan, if any.
    pub name: Option<String>,
    #[serde(flatten)]
    pub key: ScanKey,
    pub created_at: String,
    pub finished_at: Option<String>,
    /// Records with a result.
    pub scanned: u64,
    pub records: u64,
}

/// A scanned record, as the suspicious-records list shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuspiciousRecord {
    pub record_id: i64,
    pub row_number: u64,
    pub source_id: Option<String>,
    pub text: String,
    pub suspicion: f32,
    pub flagged: u32,
    pub mean: f32,
    pub tokens: Vec<ScannedToken>,
}

impl SuspiciousRecord {
    /// The record's words (character spans, P(replaced), flagged), as [`crate::domain::rtd::words`] makes them.
    pub fn words(&self) -> Vec<crate::domain::rtd::ScannedWord> {
        crate::domain::rtd::words(&self.tokens)
    }
}

/// A word form flagged across a scan: how often, how strongly, and a few records that have it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FlaggedWord {
    pub word: String,
    pub count: u64,
    pub mean_probability: f32,
    /// Row numbers of the first records where it is flagged (at most 3).
    pub examples: Vec<u64>,
}

/// A record two scans both cover, as [`Store::shared_scan_records`] reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedScanRecord {
    pub record_id: i64,
    pub row_number: u64,
    pub text: String,
    pub suspicion_a: f32,
    pub suspicion_b: f32,
    pub tokens_a: Vec<ScannedToken>,
    pub tokens_b: Vec<ScannedToken>,
}

/// A record's scan as an export writes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportScan {
    pub scan: i64,
    pub model: String,
    pub suspicion: f32,
    pub flagged: u32,
    pub tokens: Vec<ScannedToken>,
}

const SCAN_COLUMNS: &str = "s.id, c.name, s.model, s.weights_sha256, s.strip_accents, s.created_at, s.finished_at, \
     (SELECT COUNT(*) FROM scan_result r WHERE r.scan_id = s.id), (SELECT COUNT(*) FROM record x WHERE x.corpus_id = s.corpus_id), s.name";

fn scan_from_row(row: &rusqlite::Row) -> rusqlite::Result<ScanInfo> {
    Ok(ScanInfo {
        id: row.get(0)?,
        name: row.get(9)?,
        key: ScanKey { corpus: row.get(1)?, model: row.get(2)?, weights_sha256: row.get(3)?, strip_accents: super::strip_from_code(row.get(4)?) },
        created_at: row.get(5)?,
        finished_at: row.get(6)?,
        scanned: row.get::<_, i64>(7)? as u64,
        records: row.get::<_, i64>(8)? as u64,
    })
}

/// Tokens as stored: per token its start and end (u32), P(replaced) (f32), a word-start flag
/// (u8) and its string (u16 length, UTF-8), little-endian, after a format byte.
const TOKENS_FORMAT: u8 = 1;

fn encode_tokens(tokens: &[ScannedToken]) -> Vec<u8> {
    let mut blob = Vec::with_capacity(1 + tokens.iter().map(|t| 15 + t.token.len()).sum::<usize>());
    blob.push(TOKENS_FORMAT);
    for t in tokens {
        let text = &t.token.as_bytes()[..t.token.len().min(u16::MAX as usize)];
        blob.extend_from_slice(&(t.start as u32).to_le_bytes());
        blob.extend_from_slice(&(t.end as u32).to_le_bytes());
        blob.extend_from_slice(&t.probability.to_le_bytes());
        blob.push(t.word_start as u8);
        blob.extend_from_slice(&(text.len() as u16).to_le_bytes());
        blob.extend_from_slice(text);
    }
    blob
}

fn decode_tokens(blob: &[u8]) -> std::result::Result<Vec<ScannedToken>, String> {
    let (&format, data) = blob.split_first().ok_or("an empty token blob")?;
    if format != TOKENS_FORMAT {
        return Err(format!("token blob format {format} is not one this build reads"));
    }
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let head = data.get(at..at + 15).ok_or("a truncated token blob")?;
        let u32_at = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]) as usize;
        let probability = f32::from_le_bytes([head[8], head[9], head[10], head[11]]);
        let len = u16::from_le_bytes([head[13], head[14]]) as usize;
        let text = data.get(at + 15..at + 15 + len).ok_or("a truncated token blob")?;
        let token = String::from_utf8(text.to_vec()).map_err(|_| "a token that is not UTF-8".to_string())?;
        tokens.push(ScannedToken { token, start: u32_at(0), end: u32_at(4), probability, word_start: head[12] != 0 });
        at += 15 + len;
    }
    Ok(tokens)
}

/// A row of [`Store::shared_scan_records`]' query: record id, row number, text, and each scan's
/// suspicion and encoded tokens.
type SharedRow = (i64, i64, String, f64, Vec<u8>, f64, Vec<u8>);

fn blob_error(e: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, e.into())
}

/// One record's scan results, every scan's (by `scan_result_by_record`); the export reads it per record.
pub(super) const RECORD_SCANS_SQL: &str = "SELECT r.scan_id, s.model, r.suspicion, r.flagged, r.tokens FROM scan_result r \
     JOIN scan s ON s.id = r.scan_id WHERE r.record_id = ?1 ORDER BY r.scan_id";

impl Store {
    /// The scan with this key, created if it does not exist yet.
    pub fn open_scan(&mut self, key: &ScanKey) -> Result<ScanInfo> {
        let corpus_id = self.corpus_id(&key.corpus)?;
        let path = self.path.clone();
        let err = |e| super::db_error(&path, e);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        let found: Option<i64> = tx
            .query_row(
                "SELECT id FROM scan WHERE corpus_id = ?1 AND model = ?2 AND weights_sha256 = ?3 AND strip_accents = ?4",
                params![corpus_id, key.model, key.weights_sha256, super::strip_code(key.strip_accents)],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        let id = match found {
            Some(id) => id,
            None => {
                let created = now(&tx).map_err(err)?;
                tx.execute(
                    "INSERT INTO scan (corpus_id, model, weights_sha256, strip_accents, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![corpus_id, key.model, key.weights_sha256, super::strip_code(key.strip_accents), created],
                )
                .map_err(err)?;
                tx.last_insert_rowid()
            }
        };
        tx.commit().map_err(err)?;
        self.scan(id)
    }

    pub fn scan(&self, id: i64) -> Result<ScanInfo> {
        self.conn
            .query_row(&format!("SELECT {SCAN_COLUMNS} FROM scan s JOIN corpus c ON c.id = s.corpus_id WHERE s.id = ?1"), [id], scan_from_row)
            .optional()
            .map_err(|e| self.err(e))?
            .ok_or_else(|| Error::Input(format!("there is no scan {id} in {}", self.path.display())))
    }

    /// The scans of one corpus, or of every corpus, oldest first.
    pub fn scans(&self, corpus: Option<&str>) -> Result<Vec<ScanInfo>> {
        let corpus_id = corpus.map(|c| self.corpus_id(c)).transpose()?;
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {SCAN_COLUMNS} FROM scan s JOIN corpus c ON c.id = s.corpus_id \
                 WHERE c.importing_since IS NULL AND (?1 IS NULL OR s.corpus_id = ?1) ORDER BY s.id"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([corpus_id], scan_from_row).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }

    /// The scan `id` of `corpus`, or when none is named the corpus's newest.
    pub fn corpus_scan(&self, corpus: &str, id: Option<i64>) -> Result<ScanInfo> {
        match id {
            Some(id) => {
                let scan = self.scan(id)?;
                if scan.key.corpus != corpus {
                    return Err(Error::Input(format!("scan {id} is of corpus {:?}, not {corpus:?}", scan.key.corpus)));
                }
                Ok(scan)
            }
            None => self
                .scans(Some(corpus))?
                .pop()
                .ok_or_else(|| Error::Input(format!("corpus {corpus:?} has not been scanned yet; scan it with a discriminator first"))),
        }
    }

    /// Up to `limit` records of the scan's corpus with ids above `after` and no result yet, by id.
    pub fn pending_scan_records(&self, scan_id: i64, after: i64, limit: usize) -> Result<Vec<(i64, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT x.id, x.text FROM record x JOIN scan s ON s.corpus_id = x.corpus_id WHERE s.id = ?1 AND x.id > ?2 \
                 AND NOT EXISTS (SELECT 1 FROM scan_result r WHERE r.scan_id = ?1 AND r.record_id = x.id) \
                 ORDER BY x.id LIMIT ?3",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map(params![scan_id, after, limit as i64], |r| Ok((r.get(0)?, r.get(1)?))).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }

    /// Stores a batch of scanned records in one transaction.
    pub fn save_scan_results(&mut self, scan_id: i64, results: &[(i64, RecordScan)]) -> Result<()> {
        let path = self.path.clone();
        let err = |e| super::db_error(&path, e);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        {
            let mut put = tx
                .prepare_cached(
                    "INSERT INTO scan_result (scan_id, record_id, suspicion, flagged, mean, windows, tokens) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(err)?;
            for (record, r) in results {
                put.execute(params![scan_id, record, r.suspicion as f64, r.flagged, r.mean as f64, r.windows as i64, encode_tokens(&r.tokens)])
                    .map_err(|e| super::manage::concurrent_writer(&path, e, "scan"))?;
            }
        }
        tx.commit().map_err(err)
    }

    /// One record's result in a scan, if it has one.
    pub fn scan_result(&self, scan_id: i64, record_id: i64) -> Result<Option<RecordScan>> {
        self.conn
            .prepare_cached("SELECT suspicion, flagged, mean, windows, tokens FROM scan_result WHERE scan_id = ?1 AND record_id = ?2")
            .and_then(|mut stmt| {
                stmt.query_row(params![scan_id, record_id], |r| {
                    Ok(RecordScan {
                        suspicion: r.get::<_, f64>(0)? as f32,
                        flagged: r.get(1)?,
                        mean: r.get::<_, f64>(2)? as f32,
                        windows: r.get::<_, i64>(3)? as usize,
                        tokens: decode_tokens(&r.get::<_, Vec<u8>>(4)?).map_err(blob_error)?,
                    })
                })
                .optional()
            })
            .map_err(|e| self.err(e))
    }

    pub fn finish_scan(&mut self, scan_id: i64) -> Result<()> {
        let at = now(&self.conn).map_err(|e| self.err(e))?;
        self.conn.execute("UPDATE scan SET finished_at = ?1 WHERE id = ?2", params![at, scan_id]).map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The `limit` most suspicious records of a scan, most suspicious first (ties by record).
    pub fn suspicious_records(&self, scan_id: i64, limit: usize) -> Result<Vec<SuspiciousRecord>> {
        self.scanned_records("r.scan_id = ?1 ORDER BY r.suspicion DESC, r.record_id LIMIT ?2", params![scan_id, limit as i64])
    }

    /// One record of a scan, by its row number in the corpus (where a flagged word was seen).
    pub fn scanned_record(&self, scan_id: i64, row_number: u64) -> Result<SuspiciousRecord> {
        self.scanned_records("r.scan_id = ?1 AND x.row_number = ?2", params![scan_id, row_number as i64])?
            .pop()
            .ok_or_else(|| Error::Input(format!("scan {scan_id} has no record at row {row_number}")))
    }

    fn scanned_records(&self, condition: &str, args: impl rusqlite::Params) -> Result<Vec<SuspiciousRecord>> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT x.id, x.row_number, x.source_id, x.text, r.suspicion, r.flagged, r.mean, r.tokens FROM scan_result r \
                 JOIN record x ON x.id = r.record_id WHERE {condition}"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(args, |row| {
                Ok(SuspiciousRecord {
                    record_id: row.get(0)?,
                    row_number: row.get::<_, i64>(1)? as u64,
                    source_id: row.get(2)?,
                    text: row.get(3)?,
                    suspicion: row.get::<_, f64>(4)? as f32,
                    flagged: row.get(5)?,
                    mean: row.get::<_, f64>(6)? as f32,
                    tokens: decode_tokens(&row.get::<_, Vec<u8>>(7)?).map_err(blob_error)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }

    /// The word forms flagged most often across a scan (as written in the text), with their mean
    /// P(replaced) where flagged and the first records that have them; most frequent first.
    pub fn flagged_words(&self, scan_id: i64, limit: usize) -> Result<Vec<FlaggedWord>> {
        let mut stmt = self
            .conn
            .prepare("SELECT x.row_number, x.text, r.tokens FROM scan_result r JOIN record x ON x.id = r.record_id WHERE r.scan_id = ?1 AND r.flagged > 0 ORDER BY r.record_id")
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([scan_id]).map_err(|e| self.err(e))?;
        let mut forms: HashMap<String, (u64, f64, Vec<u64>)> = HashMap::new();
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let row_number = row.get::<_, i64>(0).map_err(|e| self.err(e))? as u64;
            let text: String = row.get(1).map_err(|e| self.err(e))?;
            let tokens = decode_tokens(&row.get::<_, Vec<u8>>(2).map_err(|e| self.err(e))?).map_err(|e| self.err(blob_error(e)))?;
            for word in crate::domain::rtd::words(&tokens).into_iter().filter(|w| w.flagged) {
                let entry = forms.entry(word.text(&text)).or_insert((0, 0.0, Vec::new()));
                entry.0 += 1;
                entry.1 += f64::from(word.probability);
                if entry.2.len() < 3 && entry.2.last() != Some(&row_number) {
                    entry.2.push(row_number);
                }
            }
        }
        let mut words: Vec<FlaggedWord> = forms
            .into_iter()
            .map(|(word, (count, sum, examples))| FlaggedWord { word, count, mean_probability: (sum / count as f64) as f32, examples })
            .collect();
        words.sort_by(|a, b| b.count.cmp(&a.count).then(b.mean_probability.total_cmp(&a.mean_probability)).then(a.word.cmp(&b.word)));
        words.truncate(limit);
        Ok(words)
    }

    /// How many records of a scan have a suspicion in each tenth of [0, 1] (1.0 counts in the last).
    pub fn suspicion_histogram(&self, scan_id: i64) -> Result<[u64; 10]> {
        let mut stmt = self
            .conn
            .prepare("SELECT MIN(CAST(suspicion * 10 AS INTEGER), 9), COUNT(*) FROM scan_result WHERE scan_id = ?1 GROUP BY 1")
            .map_err(|e| self.err(e))?;
        let mut bins = [0u64; 10];
        let rows = stmt.query_map([scan_id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))).map_err(|e| self.err(e))?;
        for row in rows {
            let (bin, count) = row.map_err(|e| self.err(e))?;
            bins[bin.clamp(0, 9) as usize] += count as u64;
        }
        Ok(bins)
    }

    /// Calls `each` with every record both scans cover, in record order: the record and its
    /// tokens in each scan. The comparison itself is `analysis::scans`.
    pub fn shared_scan_records(&self, a: i64, b: i64, mut each: impl FnMut(SharedScanRecord) -> Result<()>) -> Result<()> {
        let (sa, sb) = (self.scan(a)?, self.scan(b)?);
        if sa.key.corpus != sb.key.corpus {
            return Err(Error::Input(format!("scans {a} and {b} are of different corpora ({:?}, {:?})", sa.key.corpus, sb.key.corpus)));
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT x.id, x.row_number, x.text, ra.suspicion, ra.tokens, rb.suspicion, rb.tokens FROM scan_result ra \
                 JOIN scan_result rb ON rb.record_id = ra.record_id AND rb.scan_id = ?2 JOIN record x ON x.id = ra.record_id \
                 WHERE ra.scan_id = ?1 ORDER BY x.id",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query(params![a, b]).map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let read = |row: &rusqlite::Row| -> rusqlite::Result<SharedRow> {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?))
            };
            let (record_id, row_number, text, suspicion_a, tokens_a, suspicion_b, tokens_b) = read(row).map_err(|e| self.err(e))?;
            let decode = |blob: &[u8]| decode_tokens(blob).map_err(|e| self.err(blob_error(e)));
            each(SharedScanRecord {
                record_id,
                row_number: row_number as u64,
                text,
                suspicion_a: suspicion_a as f32,
                suspicion_b: suspicion_b as f32,
                tokens_a: decode(&tokens_a)?,
                tokens_b: decode(&tokens_b)?,
            })?;
        }
        Ok(())
    }

    /// A record's results in every scan of its corpus, oldest scan first, for exports.
    pub fn record_scans(&self, record_id: i64) -> Result<Vec<ExportScan>> {
        let mut stmt = self.conn.prepare_cached(RECORD_SCANS_SQL).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([record_id], |row| {
                Ok(ExportScan {
                    scan: row.get(0)?,
                    model: row.get(1)?,
                    suspicion: row.get::<_, f64>(2)? as f32,
                    flagged: row.get(3)?,
                    tokens: decode_tokens(&row.get::<_, Vec<u8>>(4)?).map_err(blob_error)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_survive_the_blob_and_damage_is_an_error() {
        let tokens = vec![
            ScannedToken { token: "desayun".into(), start: 8, end: 15, probability: 0.031, word_start: true },
            ScannedToken { token: "##ando".into(), start: 15, end: 19, probability: 0.5, word_start: false },
            ScannedToken { token: "ñú🍵".into(), start: 20, end: 23, probability: 1.0, word_start: true },
        ];
        let blob = encode_tokens(&tokens);
        assert_eq!(decode_tokens(&blob).unwrap(), tokens);
        assert_eq!(decode_tokens(&encode_tokens(&[])).unwrap(), vec![]);
        assert!(decode_tokens(&blob[..blob.len() - 1]).is_err());
        assert!(decode_tokens(&[]).is_err());
        assert!(decode_tokens(&[9]).is_err());
    }
}
