//! Entity-level precision, recall and F1, as `seqeval` computes them (the CoNLL evaluation NER
//! papers report, the SELECTRA card's NER column included).
//!
//! Entities are read from IOB tag sequences in one of seqeval's two modes:
//! - **default** (CoNLL's `conlleval`): lenient chunking; an `I-` after `O` or after another type
//!   starts an entity, and any change of type ends one;
//! - **strict** with the IOB2 scheme: an entity is a `B-X` and the `I-X` right after it; an `I-`
//!   without its `B-` is no entity, and a tag other than `B-`, `I-` or `O` is an error.
//!
//! An entity is (type, start, end); a predicted entity counts only when one of the reference has
//! the same type and the same boundaries. Per type: precision = matched / predicted, recall =
//! matched / reference, F1 their harmonic mean (0 where undefined, seqeval's `zero_division=0`);
//! micro averages pool the counts, macro averages the types' scores, weighted averages weigh them
//! by support. The same scoring applies to character spans ([`score_spans`]), which is what a
//! tagger's entities and a person's spans are.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::error::{Error, Result};

pub use crate::domain::spans::{entities, Mode, Span};

/// Precision, recall, F1 and support of one type or one average.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Scores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Reference entities (of the type, or of all types for an average).
    pub support: u64,
}

/// seqeval's `classification_report`: every type that occurs in the reference or the
/// predictions (sorted by name), and the micro, macro and weighted averages.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EntityReport {
    pub per_type: Vec<(String, Scores)>,
    pub micro: Scores,
    pub macro_avg: Scores,
    pub weighted: Scores,
    /// Predicted entities, and those that match one of the reference exactly.
    pub predicted: u64,
    pub matched: u64,
}

/// Per-type counts: (matched, predicted, reference).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts(pub BTreeMap<String, (u64, u64, u64)>);

impl Counts {
    /// Adds one sequence's (or one text's) entities.
    pub fn add(&mut self, reference: &[Span], predicted: &[Span]) {
        let reference: BTreeSet<&Span> = reference.iter().collect();
        let predicted: BTreeSet<&Span> = predicted.iter().collect();
        for span in &reference {
            self.0.entry(span.label.clone()).or_default().2 += 1;
        }
        for span in &predicted {
            let entry = self.0.entry(span.label.clone()).or_default();
            entry.1 += 1;
            if reference.contains(span) {
                entry.0 += 1;
            }
        }
    }

    pub fn report(&self) -> EntityReport {
        let scores = |(matched, predicted, reference): (u64, u64, u64)| {
            let precision = ratio(matched as f64, predicted as f64);
            let recall = ratio(matched as f64, reference as f64);
            Scores { precision, recall, f1: ratio(2.0 * precision * recall, precision + recall), support: reference }
        };
        let per_type: Vec<(String, Scores)> = self.0.iter().map(|(label, &counts)| (label.clone(), scores(counts))).collect();
        let total = self.0.values().fold((0, 0, 0), |(a, b, c), &(m, p, r)| (a + m, b + p, c + r));
        let n = per_type.len() as f64;
        let support = total.2;
        let mean = |f: fn(&Scores) -> f64| ratio(per_type.iter().map(|(_, s)| f(s)).sum(), n);
        let weighted = |f: fn(&Scores) -> f64| ratio(per_type.iter().map(|(_, s)| f(s) * s.support as f64).sum(), support as f64);
        EntityReport {
            micro: scores(total),
            macro_avg: Scores { precision: mean(|s| s.precision), recall: mean(|s| s.recall), f1: mean(|s| s.f1), support },
            weighted: Scores { precision: weighted(|s| s.precision), recall: weighted(|s| s.recall), f1: weighted(|s| s.f1), support },
            per_type,
            predicted: total.1,
            matched: total.0,
        }
    }
}

fn ratio(num: f64, den: f64) -> f64 {
    if den == 0.0 {
        0.0
    } else {
        num / den
    }
}

/// seqeval's report on tag sequences (`y_true`, `y_pred`: one sequence per sentence, of equal
/// lengths).
pub fn report(y_true: &[Vec<String>], y_pred: &[Vec<String>], mode: Mode) -> Result<EntityReport> {
    if y_true.len() != y_pred.len() {
        return Err(Error::Input(format!("{} reference sequences but {} predicted ones", y_true.len(), y_pred.len())));
    }
    let mut counts = Counts::default();
    for (i, (t, p)) in y_true.iter().zip(y_pred).enumerate() {
        if t.len() != p.len() {
            return Err(Error::Input(format!("sequence {i} has {} reference tags but {} predicted ones", t.len(), p.len())));
        }
        counts.add(&entities(t, mode)?, &entities(p, mode)?);
    }
    Ok(counts.report())
}

/// The same scoring on spans: one reference and one predicted set of spans per text.
pub fn score_spans(reference: &[Vec<Span>], predicted: &[Vec<Span>]) -> EntityReport {
    let mut counts = Counts::default();
    for (t, p) in reference.iter().zip(predicted) {
        counts.add(t, p);
    }
    counts.report()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn the_two_modes_read_an_orphan_inside_tag_differently() {
        let seq = tags("I-PER I-PER O B-LOC");
        let span = |l: &str, s, e| Span { label: l.into(), start: s, end: e };
        assert_eq!(entities(&seq, Mode::Default).unwrap(), [span("PER", 0, 2), span("LOC", 3, 4)]);
        assert_eq!(entities(&seq, Mode::Strict).unwrap(), [span("LOC", 3, 4)]);
        assert!(entities(&tags("B-PER E-PER"), Mode::Strict).unwrap_err().to_string().contains("not an IOB2 tag"));
    }

    #[test]
    fn a_type_change_inside_an_entity_splits_it() {
        let seq = tags("B-ORG I-PER I-ORG");
        assert_eq!(entities(&seq, Mode::Default).unwrap().len(), 3);
        assert_eq!(entities(&seq, Mode::Strict).unwrap().len(), 1);
    }
}
