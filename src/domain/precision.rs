//! The fast mode of zero-shot corpus runs: the encoder's dense products in bfloat16 (see
//! `engine::model::bf16`), never the default, and only where an agreement check on the user's own corpus
//! says it changes nothing that matters.
//!
//! Before a fast run predicts anything, records of the corpus (spread over it, taken in a seeded
//! random order) are classified both ways, a batch at a time, until a sequential test decides
//! ([`AgreementGate::verdict`]): Wald's sequential probability ratio test between "bf16 flips
//! the top label on half the allowed share of records" and "on twice it", at
//! [`AgreementGate::error_rate`] each way, so a clear pass stops after a few hundred records and a
//! clear failure after a handful. Any label's score moving by more than
//! [`AgreementGate::max_score_delta`] fails at once. At [`AgreementGate::max_records`] without a
//! decision, the share itself is held to [`AgreementGate::min_same_top_label`]. A failed check
//! falls back to exact f32 (the ordinary run of the same task). Either way the check is reported
//! and kept on the run it decided, and the precision is part of the run's identity
//! (`store::RunKey`): fast and exact runs of one task are two runs, never mixed.
//!
//! The check costs its records twice, so the fast mode pays off only on corpora larger than
//! [`FastOutlook::pays_off_from`], which depends on how much faster bf16 is on the machine.

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
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AgreementGate {
    /// The most records compared.
    pub max_records: usize,
    /// The least share of records whose top label must be the same.
    pub min_same_top_label: f64,
    /// The most any label's score may differ on any record compared.
    pub max_score_delta: f32,
    /// The sequential test's chance of passing where bf16 flips twice the allowed share of top
    /// labels, and of failing where it flips half of it.
    pub error_rate: f64,
    /// Corpora with fewer records run exact: the check would cost more than the fast mode saves
    /// ([`FastOutlook::pays_off_from`], set from bf16's speed on the machine; `u64::MAX` where it
    /// is no faster; `None`: no floor).
    pub pays_off_from: Option<u64>,
}

impl<'de> Deserialize<'de> for AgreementGate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        /// As runs store it: checks made before the test was sequential called the sample's
        /// size `records` and had no error rate.
        #[derive(Deserialize)]
        struct Stored {
            #[serde(alias = "records")]
            max_records: usize,
            min_same_top_label: f64,
            max_score_delta: f32,
            #[serde(default = "AgreementGate::default_error_rate")]
            error_rate: f64,
            #[serde(default)]
            pays_off_from: Option<u64>,
        }
        let Stored { max_records, min_same_top_label, max_score_delta, error_rate, pays_off_from } = Stored::deserialize(deserializer)?;
        Ok(AgreementGate { max_records, min_same_top_label, max_score_delta, error_rate, pays_off_from })
    }
}

/// Where a sequential agreement check stands after some records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// Not clear yet: compare more records.
    Undecided,
}

impl AgreementGate {
    pub const DEFAULT: AgreementGate =
        AgreementGate { max_records: 2000, min_same_top_label: 0.995, max_score_delta: 0.02, error_rate: 0.05, pays_off_from: None };

    fn default_error_rate() -> f64 {
        Self::DEFAULT.error_rate
    }

    /// What a run asked to be in `precision` passes to `corpus_run::run_zeroshot`, given the
    /// machine's outlook: the default gate with the outlook's corpus floor for the fast mode,
    /// none (exact) otherwise.
    pub fn for_precision(precision: Precision, outlook: &FastOutlook) -> Option<AgreementGate> {
        let floor = outlook.available.then(|| outlook.pays_off_from.unwrap_or(u64::MAX));
        (precision == Precision::Bf16).then_some(AgreementGate { pays_off_from: floor, ..Self::DEFAULT })
    }

    /// Why a corpus of `records` runs exact under this gate's floor, or `None` if it may run fast.
    pub fn too_small(&self, records: u64) -> Option<String> {
        match self.pays_off_from {
            Some(u64::MAX) => Some("bf16 is no faster than exact f32 on this CPU, so the fast mode cannot pay off; the run is exact f32".into()),
            Some(from) if records < from => Some(format!(
                "the fast mode pays off from about {from} records on this CPU (its check compares {} to {} records both ways first); \
                 this corpus has {records}, so the run is exact f32",
                self.min_records(),
                self.max_records
            )),
            _ => None,
        }
    }

    /// The share of records whose top label may flip.
    fn allowed_flips(&self) -> f64 {
        (1.0 - self.min_same_top_label).clamp(0.0, 1.0)
    }

    /// The two flip rates the sequential test tells apart (half and twice the allowed share),
    /// and what each agreeing and each flipped record adds to the log-likelihood ratio of the
    /// first over the second. `None` where the allowed share is 0 or 1 (no test: any flip
    /// fails, or none can).
    fn sprt(&self) -> Option<(f64, f64)> {
        let allowed = self.allowed_flips();
        if allowed <= 0.0 || allowed >= 1.0 {
            return None;
        }
        let (low, high) = (allowed / 2.0, (2.0 * allowed).min((1.0 + allowed) / 2.0));
        Some((((1.0 - low) / (1.0 - high)).ln(), (low / high).ln()))
    }

    /// The log-likelihood ratio at which the test decides (passing above it, failing below its
    /// negative): Wald's bound for equal error rates.
    fn bound(&self) -> f64 {
        let e = self.error_rate.clamp(1e-9, 0.49);
        ((1.0 - e) / e).ln()
    }

    /// The verdict after comparing `records` records, `flips` of which changed their top label,
    /// the largest score change being `max_score_delta` (NaN counts as too large).
    pub fn verdict(&self, records: usize, flips: usize, max_score_delta: f32) -> Verdict {
        if max_score_delta.is_nan() || max_score_delta > self.max_score_delta {
            return Verdict::Fail;
        }
        if records == 0 {
            return Verdict::Undecided;
        }
        let allowed = self.allowed_flips();
        let fixed = || if flips as f64 <= allowed * records as f64 { Verdict::Pass } else { Verdict::Fail };
        if records >= self.max_records {
            return fixed();
        }
        let Some((agree, flip)) = self.sprt() else {
            return if allowed >= 1.0 {
                Verdict::Pass
            } else if flips > 0 {
                Verdict::Fail
            } else {
                Verdict::Undecided
            };
        };
        let ratio = agree * (records - flips) as f64 + flip * flips as f64;
        if ratio >= self.bound() {
            Verdict::Pass
        } else if ratio <= -self.bound() {
            Verdict::Fail
        } else {
            Verdict::Undecided
        }
    }

    /// The verdict on everything a check could compare: [`Self::verdict`], and where that is
    /// still open (the corpus had fewer records than the test wanted), the share itself held to
    /// the gate.
    pub fn final_verdict(&self, records: usize, flips: usize, max_score_delta: f32) -> Verdict {
        match self.verdict(records, flips, max_score_delta) {
            Verdict::Undecided if records > 0 => {
                if flips as f64 <= self.allowed_flips() * records as f64 {
                    Verdict::Pass
                } else {
                    Verdict::Fail
                }
            }
            verdict => verdict,
        }
    }

    /// The fewest records a passing check compares (all of them agreeing).
    pub fn min_records(&self) -> usize {
        match self.sprt() {
            Some((agree, _)) => ((self.bound() / agree).ceil() as usize).clamp(1, self.max_records.max(1)),
            None if self.allowed_flips() >= 1.0 => 1,
            None => self.max_records.max(1),
        }
    }
}

impl Default for AgreementGate {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What the fast mode would cost and save on this machine, said before a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FastOutlook {
    /// The CPU has the instructions the fast mode needs.
    pub available: bool,
    /// bf16 products' speed over exact f32's, measured on this machine.
    pub speedup: Option<f64>,
    /// The instructions bf16 products run on here ("AMX" or "AVX512_BF16").
    pub kernel: Option<String>,
    /// The fewest and the most records the check compares both ways.
    pub min_check_records: usize,
    pub max_check_records: usize,
    /// The smallest corpus on which a fast run can take less time than an exact one (its check
    /// passing as early as it can); `None` where bf16 is not faster here.
    pub pays_off_from: Option<u64>,
}

impl FastOutlook {
    /// From the gate, the measured speed-up (`None`: no fast mode on this CPU) and the kernel it
    /// was measured on. A check of
    /// `n` records costs them in both precisions and keeps the bf16 side, so a corpus of `N`
    /// takes `n·exact + N·bf16` against `N·exact`: less from `N > n·s / (s − 1)`.
    pub fn new(gate: &AgreementGate, speedup: Option<f64>, kernel: Option<&str>) -> Self {
        let min = gate.min_records();
        let pays_off_from = speedup.filter(|s| *s > 1.0).map(|s| (min as f64 * s / (s - 1.0)).floor() as u64 + 1);
        let kernel = speedup.and(kernel).map(str::to_owned);
        Self { available: speedup.is_some(), speedup, kernel, min_check_records: min, max_check_records: gate.max_records, pays_off_from }
    }

    /// Whether a corpus of `records` is large enough for the fast mode to save time.
    pub fn pays_off(&self, records: u64) -> bool {
        self.pays_off_from.is_some_and(|from| records >= from)
    }

    /// What the outlook means for a corpus of `records`, for people, before a fast run.
    pub fn for_corpus(&self, records: u64) -> String {
        if !self.available {
            String::new()
        } else if self.pays_off(records) {
            format!("this corpus has {records} records: enough for the fast mode to save time if its check passes")
        } else {
            format!("this corpus has {records} records, too few: a fast run would be exact f32")
        }
    }

    /// One sentence for people, before a run.
    pub fn summary(&self) -> String {
        let Some(speedup) = self.speedup else {
            return "this CPU lacks the AVX512_BF16 instructions the fast mode needs; runs are exact f32".into();
        };
        let check = format!("the check compares {} to {} records both ways first", self.min_check_records, self.max_check_records);
        let on = self.kernel.as_deref().map(|k| format!(" ({k})")).unwrap_or_default();
        match self.pays_off_from {
            Some(from) => {
                format!("bf16 products{on} run {speedup:.1}× exact f32 on this CPU and {check}, so the fast mode pays off from about {from} records")
            }
            None => format!("bf16 products{on} run {speedup:.2}× exact f32 on this CPU, no faster, so the fast mode never pays off here ({check})"),
        }
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
        let passed = records > 0 && gate.final_verdict(records, records - same_top_label, max_score_delta) == Verdict::Pass;
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
            "bf16 against exact on {} records (a sequential test, {:.0}% sure): same top label on {:.2}% (at least {:.1}% required), largest score difference {:.4} (at most {} allowed): {}{speed}",
            self.records,
            100.0 * (1.0 - self.gate.error_rate),
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
        let gate = AgreementGate { max_records: 4, min_same_top_label: 0.75, max_score_delta: 0.05, error_rate: 0.05, pays_off_from: None };
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

    /// Wald's test on the default gate (0.5% of top labels may flip): 391 agreeing records pass,
    /// a few early flips fail, a score beyond the limit fails at once, and at the most records
    /// the share itself decides.
    #[test]
    fn the_sequential_check_stops_when_the_verdict_is_clear() {
        let gate = AgreementGate::DEFAULT;
        // ln(19) / ln(0.9975 / 0.99) = 390.1
        assert_eq!(gate.min_records(), 391);
        assert_eq!(gate.verdict(390, 0, 0.001), Verdict::Undecided);
        assert_eq!(gate.verdict(391, 0, 0.001), Verdict::Pass);
        assert_eq!(gate.verdict(50, 2, 0.0), Verdict::Undecided);
        assert_eq!(gate.verdict(50, 3, 0.0), Verdict::Fail);
        // Each flip costs ln(4) / 0.00755 = 184 more agreeing records.
        assert_eq!(gate.verdict(391 + 183, 1, 0.0), Verdict::Undecided);
        assert_eq!(gate.verdict(391 + 185, 1, 0.0), Verdict::Pass);
        assert_eq!(gate.verdict(1, 0, 0.03), Verdict::Fail);
        assert_eq!(gate.verdict(1, 0, f32::NAN), Verdict::Fail);
        // Undecided at the cap: 10 flips in 2000 is exactly the allowed 0.5%, 11 is more.
        assert_eq!(gate.verdict(1999, 10, 0.0), Verdict::Undecided);
        assert_eq!(gate.verdict(2000, 10, 0.0), Verdict::Pass);
        assert_eq!(gate.verdict(2000, 11, 0.0), Verdict::Fail);
        // A corpus that ran out first is held to the share.
        assert_eq!(gate.final_verdict(300, 1, 0.0), Verdict::Pass);
        assert_eq!(gate.final_verdict(300, 2, 0.0), Verdict::Fail);
        // No flip allowed: any flip fails, passing takes every record; every flip allowed: only scores count.
        let strict = AgreementGate { min_same_top_label: 1.0, ..gate };
        assert_eq!((strict.verdict(5, 1, 0.0), strict.verdict(1999, 0, 0.0), strict.min_records()), (Verdict::Fail, Verdict::Undecided, 2000));
        let loose = AgreementGate { min_same_top_label: 0.0, ..gate };
        assert_eq!((loose.verdict(1, 1, 0.0), loose.min_records()), (Verdict::Pass, 1));
    }

    /// The test's error rates, simulated: corpora where bf16 flips twice the allowed share pass
    /// at most about 5% of the time, corpora with half of it fail at most about as often, and
    /// clear cases stop long before 2,000 records. Checked after each batch of 16, as runs do.
    #[test]
    fn the_sequential_check_keeps_its_error_rates() {
        use rand::{Rng, SeedableRng};
        let gate = AgreementGate::DEFAULT;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut simulate = |rate: f64| {
            let (mut passed, mut records) = (0usize, 0usize);
            let trials = 2000;
            for _ in 0..trials {
                let (mut n, mut flips) = (0, 0);
                let verdict = loop {
                    for _ in 0..16 {
                        n += 1;
                        flips += usize::from(rng.random::<f64>() < rate);
                    }
                    match gate.verdict(n, flips, 0.0) {
                        Verdict::Undecided => continue,
                        verdict => break verdict,
                    }
                };
                passed += usize::from(verdict == Verdict::Pass);
                records += n;
            }
            (passed as f64 / trials as f64, records as f64 / trials as f64)
        };
        let (pass_bad, n_bad) = simulate(0.01);
        let (pass_good, n_good) = simulate(0.0025);
        let (pass_none, n_none) = simulate(0.0);
        let (pass_awful, n_awful) = simulate(0.05);
        assert!(pass_bad <= 0.06, "passed {pass_bad} of corpora flipping 1%");
        assert!(pass_good >= 0.94, "passed only {pass_good} of corpora flipping 0.25%");
        assert!(pass_none == 1.0 && n_none < 410.0, "{pass_none} {n_none}");
        assert!(pass_awful == 0.0 && n_awful < 150.0, "{pass_awful} {n_awful}");
        assert!(n_bad < 1000.0 && n_good < 1000.0, "mean records {n_bad} and {n_good}");
    }

    #[test]
    fn the_outlook_says_from_which_corpus_size_the_fast_mode_pays_off() {
        let gate = AgreementGate::DEFAULT;
        // 391 records both ways, then bf16 at twice exact's speed: 391·2/(2−1) = 782.
        let twice = FastOutlook::new(&gate, Some(2.0), Some("AMX"));
        assert_eq!((twice.pays_off_from, twice.min_check_records, twice.max_check_records), (Some(783), 391, 2000));
        assert!(twice.pays_off(783) && !twice.pays_off(782));
        assert!(twice.summary().contains("pays off from about 783 records"), "{}", twice.summary());
        assert!(twice.summary().starts_with("bf16 products (AMX) run 2.0×"), "{}", twice.summary());
        let slower = FastOutlook::new(&gate, Some(0.9), Some("AVX512_BF16"));
        assert!(slower.available && slower.pays_off_from.is_none() && !slower.pays_off(u64::MAX));
        assert!(slower.summary().contains("never pays off"), "{}", slower.summary());
        let none = FastOutlook::new(&gate, None, Some("AMX"));
        assert!(!none.available && none.kernel.is_none() && none.summary().contains("AVX512_BF16"));
        // A fast run's gate carries the floor; exact runs have no gate.
        let fast = AgreementGate::for_precision(Precision::Bf16, &twice).unwrap();
        assert_eq!(fast.pays_off_from, Some(783));
        assert!(fast.too_small(782).unwrap().contains("pays off from about 783 records") && fast.too_small(783).is_none());
        assert!(AgreementGate::for_precision(Precision::Exact, &twice).is_none());
        let never = AgreementGate::for_precision(Precision::Bf16, &slower).unwrap();
        assert!(never.too_small(u64::MAX - 1).unwrap().contains("no faster"));
        // Where the CPU has no bf16 the run itself says so; the gate has no floor.
        assert_eq!(AgreementGate::for_precision(Precision::Bf16, &none).unwrap().pays_off_from, None);
    }

    /// Checks stored before the test was sequential (`records`, no error rate) still read.
    #[test]
    fn gates_stored_before_the_sequential_test_still_read() {
        let old: AgreementGate = serde_json::from_str(r#"{"records":2000,"min_same_top_label":0.995,"max_score_delta":0.02}"#).unwrap();
        assert_eq!(old, AgreementGate::DEFAULT);
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
