//! Discriminator scans: a scanned record with its flagged words, and the Suspicious view of a
//! scan. Scans themselves (`store::ScanInfo`), flagged word forms (`store::FlaggedWord`) and two
//! scans compared (`analysis::scans::ScanComparison`) travel as the core has them.

use serde::Serialize;

use crate::domain::rtd::ScannedWord;
use crate::error::Result;
use crate::store::{FlaggedWord, ScanInfo, Store, SuspiciousRecord};

/// A scanned record (`selectra suspicious --json` prints a list of these).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SuspiciousRecordDto {
    pub record_id: i64,
    /// The 1-based row of the source file, and the source's id.
    pub row: u64,
    pub id: Option<String>,
    pub text: String,
    /// The record's suspicion (its most suspicious word's P(replaced)), its flagged words and
    /// the mean P(replaced).
    pub suspicion: f32,
    pub flagged: u32,
    pub mean: f32,
    /// The flagged words, as they read.
    pub spans: Vec<FlaggedSpan>,
    /// Every word: character span, P(replaced), flagged.
    pub words: Vec<ScannedWord>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FlaggedSpan {
    pub word: String,
    pub start: usize,
    pub end: usize,
    pub probability: f32,
}

impl From<SuspiciousRecord> for SuspiciousRecordDto {
    fn from(r: SuspiciousRecord) -> Self {
        let words = r.words();
        let spans = words
            .iter()
            .filter(|w| w.flagged)
            .map(|w| FlaggedSpan { word: w.text(&r.text), start: w.start, end: w.end, probability: w.probability })
            .collect();
        Self {
            record_id: r.record_id,
            row: r.row_number,
            id: r.source_id,
            text: r.text,
            suspicion: r.suspicion,
            flagged: r.flagged,
            mean: r.mean,
            spans,
            words,
        }
    }
}

/// What the Suspicious tokens view shows of one scan.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScanViewDto {
    pub scan: ScanInfo,
    /// The most suspicious records, most suspicious first.
    pub records: Vec<SuspiciousRecordDto>,
    /// The word forms flagged most often.
    pub words: Vec<FlaggedWord>,
    /// Records per tenth of suspicion, [0, 0.1) first.
    pub histogram: Vec<u64>,
}

impl ScanViewDto {
    /// The `limit` most suspicious records and most flagged word forms of `scan`.
    pub fn read(store: &Store, scan: i64, limit: usize) -> Result<Self> {
        Ok(Self {
            scan: store.scan(scan)?,
            records: store.suspicious_records(scan, limit)?.into_iter().map(Into::into).collect(),
            words: store.flagged_words(scan, limit)?,
            histogram: store.suspicion_histogram(scan)?.to_vec(),
        })
    }
}
