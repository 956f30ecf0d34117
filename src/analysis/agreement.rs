//! Agreement between annotators of one corpus: Cohen's kappa for every pair (over the records
//! both accepted), Fleiss' kappa when three or more annotators accepted the same records, and
//! how many records are disputed (accepted with different labels). A record's category is its
//! label set, so multi-label annotations agree only when the sets are equal. Entity spans agree
//! pairwise as F1 (an entity matches on type and both boundaries).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::analysis::metrics::{cohen_kappa, fleiss_kappa};
use crate::domain::spans::Span;
use crate::error::Result;
use crate::store::Store;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AnnotatorCount {
    pub annotator: String,
    /// Records this annotator accepted.
    pub records: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PairAgreement {
    pub a: String,
    pub b: String,
    /// Records both accepted.
    pub records: u64,
    /// The share of those with the same labels.
    pub observed: Option<f64>,
    /// Cohen's kappa; `None` with no shared records or when chance agreement is perfect.
    pub kappa: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FleissAgreement {
    pub annotators: u64,
    /// Records every one of them accepted (Fleiss' kappa needs the same raters per record).
    pub records: u64,
    pub kappa: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AnnotatorAgreement {
    pub annotators: Vec<AnnotatorCount>,
    pub pairs: Vec<PairAgreement>,
    /// With three or more annotators.
    pub fleiss: Option<FleissAgreement>,
    /// Records accepted by two or more annotators with different labels (the review filter).
    pub disputed: u64,
    /// Entity spans, for every pair of annotators who both accepted spans of some records.
    pub span_pairs: Vec<SpanAgreement>,
}

/// Agreement on entity spans between two annotators, as NER agreement is usually reported: the
/// F1 of one's entities against the other's (symmetric: 2·matched / (a's + b's)), an entity
/// matching when its type and both boundaries are the same, over the records both accepted.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SpanAgreement {
    pub a: String,
    pub b: String,
    pub records: u64,
    pub a_entities: u64,
    pub b_entities: u64,
    pub matched: u64,
    /// `None` when neither marked an entity in the shared records.
    pub f1: Option<f64>,
}

/// Pairwise span agreement from (record, annotator, accepted spans) triples.
pub fn span_agreement(spans: &[(i64, String, Vec<Span>)]) -> Vec<SpanAgreement> {
    let mut by_record: BTreeMap<i64, BTreeMap<&str, BTreeSet<&Span>>> = BTreeMap::new();
    for (record, annotator, s) in spans {
        by_record.entry(*record).or_default().insert(annotator, s.iter().collect());
    }
    let names: BTreeSet<&str> = spans.iter().map(|(_, a, _)| a.as_str()).collect();
    let names: Vec<&str> = names.into_iter().collect();
    let mut pairs = Vec::new();
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            let (mut records, mut na, mut nb, mut matched) = (0u64, 0u64, 0u64, 0u64);
            for by in by_record.values() {
                if let (Some(x), Some(y)) = (by.get(a), by.get(b)) {
                    records += 1;
                    na += x.len() as u64;
                    nb += y.len() as u64;
                    matched += x.intersection(y).count() as u64;
                }
            }
            if records == 0 {
                continue;
            }
            let f1 = (na + nb > 0).then(|| 2.0 * matched as f64 / (na + nb) as f64);
            pairs.push(SpanAgreement { a: a.to_string(), b: b.to_string(), records, a_entities: na, b_entities: nb, matched, f1 });
        }
    }
    pairs
}

/// Agreement from (record, annotator, accepted labels) triples.
pub fn agreement(labels: &[(i64, String, Vec<String>)]) -> AnnotatorAgreement {
    let category = |l: &Vec<String>| l.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>().join("\u{1f}");
    let mut by_record: BTreeMap<i64, BTreeMap<&str, String>> = BTreeMap::new();
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut categories: BTreeMap<String, usize> = BTreeMap::new();
    for (record, annotator, l) in labels {
        let c = category(l);
        let next = categories.len();
        categories.entry(c.clone()).or_insert(next);
        by_record.entry(*record).or_default().insert(annotator, c);
        *counts.entry(annotator).or_default() += 1;
    }
    let names: Vec<&str> = counts.keys().copied().collect();
    let mut pairs = Vec::new();
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            let (mut x, mut y) = (Vec::new(), Vec::new());
            for by in by_record.values() {
                if let (Some(ca), Some(cb)) = (by.get(a), by.get(b)) {
                    x.push(categories[ca]);
                    y.push(categories[cb]);
                }
            }
            let same = x.iter().zip(&y).filter(|(p, q)| p == q).count();
            pairs.push(PairAgreement {
                a: a.to_string(),
                b: b.to_string(),
                records: x.len() as u64,
                observed: (!x.is_empty()).then(|| same as f64 / x.len() as f64),
                kappa: cohen_kappa(&x, &y),
            });
        }
    }
    let fleiss = (names.len() >= 3).then(|| {
        let rows: Vec<Vec<u64>> = by_record
            .values()
            .filter(|by| by.len() == names.len())
            .map(|by| {
                let mut row = vec![0u64; categories.len()];
                for c in by.values() {
                    row[categories[c]] += 1;
                }
                row
            })
            .collect();
        FleissAgreement { annotators: names.len() as u64, records: rows.len() as u64, kappa: fleiss_kappa(&rows) }
    });
    let disputed = by_record.values().filter(|by| by.values().collect::<BTreeSet<_>>().len() > 1).count() as u64;
    AnnotatorAgreement {
        annotators: counts.into_iter().map(|(annotator, records)| AnnotatorCount { annotator: annotator.to_string(), records }).collect(),
        pairs,
        fleiss,
        disputed,
        span_pairs: Vec::new(),
    }
}

impl Store {
    /// Agreement between the annotators of `corpus`, over their accepted labels and spans.
    pub fn annotator_agreement(&self, corpus: &str) -> Result<AnnotatorAgreement> {
        let mut a = agreement(&self.annotator_labels(corpus)?);
        a.span_pairs = span_agreement(&self.annotator_spans(corpus)?);
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(record: i64, who: &str, labels: &[&str]) -> (i64, String, Vec<String>) {
        (record, who.into(), labels.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn pairs_count_only_shared_records_and_label_sets_compare_whole() {
        let a = agreement(&[
            t(1, "ana", &["x"]),
            t(1, "luis", &["x"]),
            t(2, "ana", &["x", "y"]),
            t(2, "luis", &["y", "x"]),
            t(3, "ana", &["y"]),
            t(3, "luis", &["x"]),
            t(4, "ana", &["y"]),
        ]);
        assert_eq!(a.annotators.iter().map(|c| c.records).collect::<Vec<_>>(), [4, 3]);
        let p = &a.pairs[0];
        assert_eq!((p.records, p.observed), (3, Some(2.0 / 3.0)));
        assert_eq!(a.disputed, 1);
        assert!(a.fleiss.is_none(), "two annotators: Cohen's kappa only");
    }

    #[test]
    fn fleiss_uses_the_records_everyone_labeled() {
        let a = agreement(&[
            t(1, "a", &["x"]),
            t(1, "b", &["x"]),
            t(1, "c", &["y"]),
            t(2, "a", &["y"]),
            t(2, "b", &["y"]),
            t(2, "c", &["y"]),
            t(3, "a", &["x"]),
        ]);
        let f = a.fleiss.unwrap();
        assert_eq!((f.annotators, f.records), (3, 2));
        assert!(f.kappa.is_some());
    }
}
