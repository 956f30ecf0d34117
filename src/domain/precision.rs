//! The fast mode of zero-shot corpus runs: the encoder's dense products in bfloat16 (see
//! `engine::model::bf16`), never the default, and only where an agreement check on the user's own corpus
//! says it changes nothing that matters.
//!
//! Before a fast run predicts anything, [`AgreementGate::records`] records spread evenly over the
//! corpus are classified both ways. The fast mode is kept when the top label is the same on at
//! least [`AgreementGate::min_same_top_label`] of them and no label's score moves by more than
//! [`AgreementGate::max_score_delta`]; otherwise the run falls back to exact f32 (the ordinary
//! run of the same task). Either way the check is reported and kept on the run it decided, and
//! the precision is part of the run's identity (`store::RunKey`): fast and exact runs of one task
//! are two runs, never mixed.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How the encoder's dense products are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// f32, as transformers computes (parity with it to 1e-4).
    #[default]
    Exact,
    /// Weights and activations rounded to bfloat16, sums in f32 (AVX512_BF16 CPUs).
    Bf16,
}

impl Precision {
    pub const ALL: [Precision; 2] = [Precision::Exact, Precision::Bf16];

    /// The name runs record and front ends show.
    pub fn name(self) -> &'static str {
        match self {
            Precision::Exact => "exact",
            Precision::Bf16 => "bf16",
        }
    }

    /// "exact", or "bf16" (also "fast", what the choice is called in front ends).
    pub fn parse(name: &str) -> Result<Self> {
        match name.trim().to_lowercase().as_str() {
            "exact" | "f32" => Ok(Precision::Exact),
            "bf16" | "fast" => Ok(Precision::Bf16),
            other => Err(Error::Input(format!("unknown precision {other:?}; it is \"exact\" (f32) or \"fast\" (bf16)"))),
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// When the fast mode may replace exact f32 on a corpus.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AgreementGate {
    /// Records compared (spread evenly over the corpus). A corpus with fewer runs exact: checking
    /// all of it would cost more than computing it exactly once.
    pub records: usize,
    /// The least share of those records whose top label must be the same.
    pub min_same_top_label: f64,
    /// The most any label's score may differ on any of them.
    pub max_score_delta: f32,
}

impl AgreementGate {
    pub const DEFAULT: AgreementGate = AgreementGate { records: 2000, min_same_top_label: 0.995, max_score_delta: 0.02 };

    /// What a run asked to be in `precision` passes to `corpus_run::run_zeroshot`: the default
    /// gate for the fast mode, none (exact) otherwise.
    pub fn for_precision(precision: Precision) -> Option<AgreementGate> {
        (precision == Precision::Bf16).then_some(Self::DEFAULT)
    }
}

impl Default for AgreementGate {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What an agreement check measured, and its verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AgreementCheck {
    /// Records compared.
    pub records: usize,
    /// Of those, records whose top label is the same in both precisions.
    pub same_top_label: usize,
    /// The largest difference of any label's score on any record.
    pub max_score_delta: f32,
    /// The thresholds it was held to.
    pub gate: AgreementGate,
    /// Seconds each precision took on the sample (the exact side may come from the logits cache).
    pub exact_secs: f64,
    pub fast_secs: f64,
    /// The exact scores were read from the logits cache, not computed: their time says nothing
    /// about exact's speed.
    #[serde(default)]
    pub exact_cached: bool,
    pub passed: bool,
}

impl AgreementCheck {
    /// Compares one sample's predictions: `(labels, scores)` per record in each precision, in
    /// the same record order (labels sorted by score, as runs store them).
    pub fn measure(exact: &[(Vec<String>, Vec<f32>)], fast: &[(Vec<String>, Vec<f32>)], gate: AgreementGate) -> Self {
        assert_eq!(exact.len(), fast.len(), "one fast prediction per exact one");
        let mut same_top_label = 0;
        let mut max_score_delta = 0f32;
        for ((exact_labels, exact_scores), (fast_labels, fast_scores)) in exact.iter().zip(fast) {
            if exact_labels.first() == fast_labels.first() {
                same_top_label += 1;
            }
            for (label, score) in exact_labels.iter().zip(exact_scores) {
                let other = fast_labels.iter().position(|l| l == label).map(|i| fast_scores[i]);
                // A label missing on one side cannot agree: the largest possible difference.
                let delta = other.map_or(1.0, |o| (o - score).abs());
                max_score_delta = max_score_delta.max(if delta.is_nan() { 1.0 } else { delta });
            }
        }
        let records = exact.len();
        let passed = records > 0 && same_top_label as f64 >= gate.min_same_top_label * records as f64 && max_score_delta <= gate.max_score_delta;
        Self { records, same_top_label, max_score_delta, gate, exact_secs: 0.0, fast_secs: 0.0, exact_cached: false, passed }
    }

    /// The share of records with the same top label.
    pub fn same_top_label_share(&self) -> f64 {
        self.same_top_label as f64 / self.records.max(1) as f64
    }

    /// One sentence for people: what was measured against what.
    pub fn summary(&self) -> String {
        let speed = if self.exact_cached && self.fast_secs > 0.0 {
            format!("; on these records bf16 took {:.1} s (exact's scores came from the cache, so its time is not compared)", self.fast_secs)
        } else if self.exact_secs > 0.0 && self.fast_secs > 0.0 {
            format!("; on these records bf16 took {:.1} s, exact {:.1} s", self.fast_secs, self.exact_secs)
        } else {
            String::new()
        };
        format!(
            "bf16 against exact on {} records: same top label on {:.2}% (at least {:.1}% required), largest score difference {:.4} (at most {} allowed): {}{speed}",
            self.records,
            100.0 * self.same_top_label_share(),
            100.0 * self.gate.min_same_top_label,
            self.max_score_delta,
            self.gate.max_score_delta,
            if self.passed { "passed" } else { "failed" },
        )
    }
}

/// The precision a run asked for, the one it used, and why they differ.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PrecisionOutcome {
    pub requested: Precision,
    pub used: Precision,
    /// The agreement check, when one was made in this session.
    pub check: Option<AgreementCheck>,
    /// Why the fast mode was not used, or that an earlier check is being relied on.
    pub note: Option<String>,
}

impl PrecisionOutcome {
    pub fn exact() -> Self {
        Self { requested: Precision::Exact, used: Precision::Exact, check: None, note: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(labels: &[&str], scores: &[f32]) -> (Vec<String>, Vec<f32>) {
        (labels.iter().map(|l| l.to_string()).collect(), scores.to_vec())
    }

    #[test]
    fn exact_from_the_cache_is_not_timed() {
        let both = [p(&["a", "b"], &[0.6, 0.4])];
        let mut check = AgreementCheck::measure(&both, &both, AgreementGate::DEFAULT);
        (check.exact_secs, check.fast_secs) = (0.01, 2.5);
        assert!(check.summary().contains("exact 0.0 s"), "a computed exact side is compared, however fast");
        check.exact_cached = true;
        let summary = check.summary();
        assert!(!summary.contains("exact 0.0 s") && summary.contains("bf16 took 2.5 s") && summary.contains("cache"), "{summary}");
    }

    #[test]
    fn the_check_compares_top_labels_and_every_labels_score() {
        let gate = AgreementGate { records: 4, min_same_top_label: 0.75, max_score_delta: 0.05 };
        let exact = [p(&["a", "b"], &[0.6, 0.4]), p(&["b", "a"], &[0.51, 0.49]), p(&["a", "b"], &[0.9, 0.1]), p(&["a", "b"], &[0.7, 0.3])];
        // One top label flips (a near tie); scores move by at most 0.03.
        let fast = [p(&["a", "b"], &[0.61, 0.39]), p(&["a", "b"], &[0.52, 0.48]), p(&["a", "b"], &[0.88, 0.12]), p(&["a", "b"], &[0.67, 0.33])];
        let check = AgreementCheck::measure(&exact, &fast, gate);
        assert_eq!((check.records, check.same_top_label), (4, 3));
        assert!((check.max_score_delta - 0.03).abs() < 1e-6, "{}", check.max_score_delta);
        assert!(check.passed);
        assert!(!AgreementCheck::measure(&exact, &fast, AgreementGate { min_same_top_label: 0.8, ..gate }).passed);
        assert!(!AgreementCheck::measure(&exact, &fast, AgreementGate { max_score_delta: 0.02, ..gate }).passed);
        // A NaN score or a missing label is the largest difference.
        let broken = [p(&["a", "b"], &[f32::NAN, 0.4]), p(&["b"], &[0.51]), fast[2].clone(), fast[3].clone()];
        assert_eq!(AgreementCheck::measure(&exact, &broken, gate).max_score_delta, 1.0);
        assert!(!AgreementCheck::measure(&[], &[], gate).passed, "nothing compared is no agreement");
        assert!(check.summary().contains("75.00%") && check.summary().contains("passed"), "{}", check.summary());
    }

    #[test]
    fn precisions_parse_by_name() {
        for p in Precision::ALL {
            assert_eq!(Precision::parse(p.name()).unwrap(), p);
        }
        assert_eq!(Precision::parse("Fast").unwrap(), Precision::Bf16);
        assert!(Precision::parse("int4").unwrap_err().to_string().contains("\"exact\""));
    }
}
