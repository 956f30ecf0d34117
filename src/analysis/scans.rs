//! Two scans of one corpus side by side (two discriminators, or one with and without accents):
//! how far their flagged words agree, word by word (by character span, so the tokenizers need
//! not agree), with Cohen's kappa, and the records where they disagree most. The store reads
//! the records both scans cover; the counting is here.

use std::collections::HashMap;

use serde::Serialize;

use crate::analysis::metrics::binary_agreement;
use crate::domain::rtd::{words, ScannedToken};
use crate::error::Result;
use crate::store::Store;

/// Two scans of one corpus side by side (two discriminators, or one with and without accents):
/// how far their flagged words agree, and where they disagree most.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScanComparison {
    pub a: i64,
    pub b: i64,
    /// Records both scans cover.
    pub records: u64,
    /// Words (by character span, so tokenizers need not agree) both scans score.
    pub words: u64,
    pub flagged_by_a: u64,
    pub flagged_by_b: u64,
    pub flagged_by_both: u64,
    /// Share of words on which both agree (flagged or not).
    pub agreement: f64,
    /// Cohen's kappa of the two flagged/not-flagged labelings; `None` when it is undefined
    /// (both scans flag everything, or nothing).
    pub kappa: Option<f64>,
    /// The records where the scans disagree most: most words flagged by exactly one, then the
    /// largest suspicion gap.
    pub disagreements: Vec<ScanDisagreement>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScanDisagreement {
    pub record_id: i64,
    pub row_number: u64,
    pub text: String,
    pub suspicion_a: f32,
    pub suspicion_b: f32,
    /// (start, end) character spans of the words only scan A flags, and only scan B flags.
    pub only_a: Vec<(usize, usize)>,
    pub only_b: Vec<(usize, usize)>,
}

/// Compares scans `a` and `b` over the records both cover, keeping the `limit` records where they
/// disagree most.
pub fn compare_scans(store: &Store, a: i64, b: i64, limit: usize) -> Result<ScanComparison> {
    let (mut records, mut words_seen, mut fa, mut fb, mut both) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut disagreements = Vec::new();
    let flagged_words =
        |tokens: &[ScannedToken]| -> HashMap<(usize, usize), bool> { words(tokens).into_iter().map(|w| ((w.start, w.end), w.flagged)).collect() };
    store.shared_scan_records(a, b, |record| {
        let (wa, wb) = (flagged_words(&record.tokens_a), flagged_words(&record.tokens_b));
        records += 1;
        let (mut only_a, mut only_b) = (Vec::new(), Vec::new());
        for (span, &flag_a) in &wa {
            let Some(&flag_b) = wb.get(span) else { continue };
            words_seen += 1;
            fa += u64::from(flag_a);
            fb += u64::from(flag_b);
            both += u64::from(flag_a && flag_b);
            if flag_a && !flag_b {
                only_a.push(*span);
            } else if flag_b && !flag_a {
                only_b.push(*span);
            }
        }
        if !only_a.is_empty() || !only_b.is_empty() {
            only_a.sort();
            only_b.sort();
            disagreements.push(ScanDisagreement {
                record_id: record.record_id,
                row_number: record.row_number,
                text: record.text,
                suspicion_a: record.suspicion_a,
                suspicion_b: record.suspicion_b,
                only_a,
                only_b,
            });
        }
        Ok(())
    })?;
    disagreements.sort_by(|x, y| {
        let n = |d: &ScanDisagreement| d.only_a.len() + d.only_b.len();
        n(y).cmp(&n(x))
            .then((y.suspicion_a - y.suspicion_b).abs().total_cmp(&(x.suspicion_a - x.suspicion_b).abs()))
            .then(x.record_id.cmp(&y.record_id))
    });
    disagreements.truncate(limit);
    let (agreement, kappa) = binary_agreement(words_seen, fa, fb, both);
    Ok(ScanComparison {
        a,
        b,
        records,
        words: words_seen,
        flagged_by_a: fa,
        flagged_by_b: fb,
        flagged_by_both: both,
        agreement,
        kappa,
        disagreements,
    })
}
