//! Classification metrics of predictions against reference labels, computed as scikit-learn
//! computes them (`zero_division=0`: a ratio with an empty denominator is 0), plus calibration,
//! accuracy against coverage and bootstrap intervals.
//!
//! Inputs are indices into a label list; turning stored runs and annotations into these vectors is
//! [`crate::analysis::evaluate`]'s job. Nothing here touches the store, so the numbers can be checked against
//! scikit-learn on the same arrays (tests/fixtures/metrics/reference.py).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// Precision, recall, F1 and support of one label.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LabelStats {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// How many records have this label in the reference.
    pub support: u64,
}

/// One bin of a reliability diagram: records whose confidence falls in `[lower, upper)` (the last
/// bin includes 1.0).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReliabilityBin {
    pub lower: f64,
    pub upper: f64,
    pub count: u64,
    /// Mean confidence of the bin's records; `None` for an empty bin.
    pub confidence: Option<f64>,
    /// Share of the bin's records predicted correctly; `None` for an empty bin.
    pub accuracy: Option<f64>,
}

/// Keeping only predictions whose confidence is at least `threshold`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CoveragePoint {
    pub threshold: f64,
    pub kept: u64,
    pub coverage: f64,
    /// Accuracy on the kept records; `None` when none is kept.
    pub accuracy: Option<f64>,
}

/// A point estimate with its percentile-bootstrap 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Estimate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// How intervals and curves are computed.
#[derive(Debug, Clone, Copy)]
pub struct EvalOptions {
    /// Bootstrap resamples (0 turns the intervals into the point estimate).
    pub resamples: usize,
    /// Seed of the resampling, so that a report is reproducible.
    pub seed: u64,
    /// Equal-width confidence bins of the reliability diagram and the ECE.
    pub bins: usize,
    /// Score only the records whose reference labels every evaluated run can predict (a run of
    /// 6 labels next to a gold column of 24 kinds); the others are counted, not scored.
    pub within_run_labels: bool,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self { resamples: 1000, seed: 0, bins: 10, within_run_labels: false }
    }
}

/// Metrics of a single-label run: one predicted label (the top score) per record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SingleLabelMetrics {
    pub n: u64,
    /// The labels the per-label rows, the confusion matrix and the macro average cover: every label
    /// that occurs in the reference or the predictions, in the order given.
    pub labels: Vec<String>,
    pub accuracy: Estimate,
    pub macro_f1: Estimate,
    pub micro_f1: f64,
    pub weighted_f1: f64,
    pub per_label: Vec<LabelStats>,
    /// `confusion[t][p]`: records with reference `labels[t]` predicted as `labels[p]`.
    pub confusion: Vec<Vec<u64>>,
    /// Expected calibration error of the top-label confidence over `bins` equal-width bins.
    pub ece: f64,
    pub reliability: Vec<ReliabilityBin>,
    pub coverage: Vec<CoveragePoint>,
}

/// Metrics of a multi-label run: a label is predicted when its score is at least the threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MultiLabelMetrics {
    pub n: u64,
    pub labels: Vec<String>,
    pub threshold: f64,
    /// Share of records whose predicted set equals the reference set.
    pub subset_accuracy: f64,
    pub hamming_loss: f64,
    pub micro_f1: Estimate,
    pub macro_f1: Estimate,
    pub per_label: Vec<LabelStats>,
}

fn ratio(num: f64, den: f64) -> f64 {
    if den == 0.0 {
        0.0
    } else {
        num / den
    }
}

fn f1(precision: f64, recall: f64) -> f64 {
    ratio(2.0 * precision * recall, precision + recall)
}

/// Per-label counts (true positives, predicted, actual) into precision/recall/F1 rows.
fn label_stats(labels: &[String], tp: &[u64], predicted: &[u64], actual: &[u64]) -> Vec<LabelStats> {
    (0..labels.len())
        .map(|k| {
            let precision = ratio(tp[k] as f64, predicted[k] as f64);
            let recall = ratio(tp[k] as f64, actual[k] as f64);
            LabelStats { label: labels[k].clone(), precision, recall, f1: f1(precision, recall), support: actual[k] }
        })
        .collect()
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    ratio(sum, n as f64)
}

/// Percentile-bootstrap 95% interval of `statistic` over resampled record indices.
pub(crate) fn bootstrap(n: usize, options: &EvalOptions, statistic: impl Fn(&[usize]) -> f64) -> Estimate {
    let all: Vec<usize> = (0..n).collect();
    let value = statistic(&all);
    if options.resamples == 0 || n == 0 {
        return Estimate { value, low: value, high: value };
    }
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut sample = vec![0usize; n];
    let mut stats: Vec<f64> = (0..options.resamples)
        .map(|_| {
            for slot in sample.iter_mut() {
                *slot = rng.random_range(0..n);
            }
            statistic(&sample)
        })
        .collect();
    stats.sort_by(f64::total_cmp);
    // numpy's default ("linear") percentile, so the interval reads the same as one computed there.
    let percentile = |q: f64| {
        let pos = q * (stats.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        stats[lo] + (stats[hi] - stats[lo]) * (pos - lo as f64)
    };
    Estimate { value, low: percentile(0.025), high: percentile(0.975) }
}

/// Single-label confusion counts restricted to `rows`, over `k` labels.
fn confusion(k: usize, truth: &[usize], pred: &[usize], rows: &[usize]) -> Vec<Vec<u64>> {
    let mut m = vec![vec![0u64; k]; k];
    for &i in rows {
        m[truth[i]][pred[i]] += 1;
    }
    m
}

/// Macro F1 over the `present` labels of single-label predictions restricted to `rows`, from
/// per-label counts: O(rows + labels), so a bootstrap over thousands of labels stays linear.
fn macro_f1_of(k: usize, truth: &[usize], pred: &[usize], rows: &[usize], present: &[usize]) -> f64 {
    let (mut tp, mut predicted, mut actual) = (vec![0u64; k], vec![0u64; k], vec![0u64; k]);
    for &i in rows {
        tp[truth[i]] += u64::from(truth[i] == pred[i]);
        predicted[pred[i]] += 1;
        actual[truth[i]] += 1;
    }
    mean(present.iter().map(|&c| f1(ratio(tp[c] as f64, predicted[c] as f64), ratio(tp[c] as f64, actual[c] as f64))))
}

/// Accuracy and macro F1 (over the labels that occur in `truth` or `pred`, scikit-learn's default)
/// of single-label predictions over `k` labels, without intervals: a validation score per epoch.
pub fn accuracy_and_macro_f1(k: usize, truth: &[usize], pred: &[usize]) -> (f64, f64) {
    assert_eq!(truth.len(), pred.len(), "parallel inputs");
    let rows: Vec<usize> = (0..truth.len()).collect();
    let mut seen = vec![false; k];
    truth.iter().chain(pred).for_each(|&i| seen[i] = true);
    let present: Vec<usize> = (0..k).filter(|&i| seen[i]).collect();
    let correct = truth.iter().zip(pred).filter(|(t, p)| t == p).count();
    (ratio(correct as f64, truth.len() as f64), macro_f1_of(k, truth, pred, &rows, &present))
}

/// Metrics of single-label predictions. `truth`, `pred` and `confidence` (the predicted label's
/// score) are parallel; label indices point into `labels`.
pub fn single_label(labels: &[String], truth: &[usize], pred: &[usize], confidence: &[f64], options: &EvalOptions) -> SingleLabelMetrics {
    assert!(truth.len() == pred.len() && pred.len() == confidence.len(), "parallel inputs");
    let n = truth.len();
    // The labels that occur, in the caller's order (scikit-learn's default label set, reordered).
    let mut seen = vec![false; labels.len()];
    truth.iter().chain(pred).for_each(|&i| seen[i] = true);
    let present: Vec<usize> = (0..labels.len()).filter(|&i| seen[i]).collect();
    let all: Vec<usize> = (0..n).collect();
    let full = confusion(labels.len(), truth, pred, &all);
    let confusion_present: Vec<Vec<u64>> = present.iter().map(|&t| present.iter().map(|&p| full[t][p]).collect()).collect();
    let tp: Vec<u64> = present.iter().map(|&c| full[c][c]).collect();
    let predicted: Vec<u64> = present.iter().map(|&c| full.iter().map(|row| row[c]).sum()).collect();
    let actual: Vec<u64> = present.iter().map(|&c| full[c].iter().sum()).collect();
    let names: Vec<String> = present.iter().map(|&i| labels[i].clone()).collect();
    let per_label = label_stats(&names, &tp, &predicted, &actual);
    let correct: u64 = tp.iter().sum();
    let micro_f1 = ratio(correct as f64, n as f64);
    let weighted_f1 = ratio(per_label.iter().map(|s| s.f1 * s.support as f64).sum(), n as f64);

    let accuracy = bootstrap(n, options, |rows| ratio(rows.iter().filter(|&&i| truth[i] == pred[i]).count() as f64, rows.len() as f64));
    let macro_f1 = bootstrap(n, options, |rows| macro_f1_of(labels.len(), truth, pred, rows, &present));

    let hit: Vec<bool> = (0..n).map(|i| truth[i] == pred[i]).collect();
    let (reliability, ece) = reliability(confidence, &hit, options.bins);
    let coverage = coverage_curve(confidence, &hit);
    SingleLabelMetrics {
        n: n as u64,
        labels: names,
        accuracy,
        macro_f1,
        micro_f1,
        weighted_f1,
        per_label,
        confusion: confusion_present,
        ece,
        reliability,
        coverage,
    }
}

/// Equal-width bins over [0, 1] and the expected calibration error
/// `sum_b |B_b|/n * |accuracy(B_b) - confidence(B_b)|`.
fn reliability(confidence: &[f64], hit: &[bool], bins: usize) -> (Vec<ReliabilityBin>, f64) {
    let bins = bins.max(1);
    let mut count = vec![0u64; bins];
    let mut conf_sum = vec![0.0f64; bins];
    let mut hits = vec![0u64; bins];
    for (&c, &h) in confidence.iter().zip(hit) {
        let b = ((c * bins as f64).floor() as usize).min(bins - 1);
        count[b] += 1;
        conf_sum[b] += c;
        hits[b] += h as u64;
    }
    let n = confidence.len() as f64;
    let mut ece = 0.0;
    let rows = (0..bins)
        .map(|b| {
            let (conf, acc) = if count[b] == 0 {
                (None, None)
            } else {
                let conf = conf_sum[b] / count[b] as f64;
                let acc = hits[b] as f64 / count[b] as f64;
                ece += count[b] as f64 / n * (acc - conf).abs();
                (Some(conf), Some(acc))
            };
            ReliabilityBin { lower: b as f64 / bins as f64, upper: (b + 1) as f64 / bins as f64, count: count[b], confidence: conf, accuracy: acc }
        })
        .collect();
    (rows, ece)
}

/// Accuracy and coverage at thresholds 0, 0.05, ..., 0.95.
fn coverage_curve(confidence: &[f64], hit: &[bool]) -> Vec<CoveragePoint> {
    let n = confidence.len() as f64;
    (0..20)
        .map(|step| {
            let threshold = step as f64 * 0.05;
            let kept: Vec<bool> = confidence.iter().zip(hit).filter(|(&c, _)| c >= threshold - 1e-12).map(|(_, &h)| h).collect();
            let correct = kept.iter().filter(|&&h| h).count();
            CoveragePoint {
                threshold,
                kept: kept.len() as u64,
                coverage: ratio(kept.len() as f64, n),
                accuracy: (!kept.is_empty()).then(|| correct as f64 / kept.len() as f64),
            }
        })
        .collect()
}

/// Metrics of multi-label predictions: `truth[i][k]` and `pred[i][k]` say whether record `i` has
/// label `k`.
pub fn multi_label(labels: &[String], truth: &[Vec<bool>], pred: &[Vec<bool>], threshold: f64, options: &EvalOptions) -> MultiLabelMetrics {
    assert_eq!(truth.len(), pred.len(), "parallel inputs");
    let n = truth.len();
    let k = labels.len();
    // Each record's labels as index lists, so that counting a resample costs the labels records
    // actually have, O(rows + labels), not O(rows * labels).
    let on =
        |sets: &[Vec<bool>]| -> Vec<Vec<usize>> { sets.iter().map(|s| s.iter().enumerate().filter(|(_, &b)| b).map(|(l, _)| l).collect()).collect() };
    let (truth_on, pred_on) = (on(truth), on(pred));
    let both_on: Vec<Vec<usize>> = truth_on.iter().zip(pred).map(|(t, p)| t.iter().copied().filter(|&l| p[l]).collect()).collect();
    let counts = |rows: &[usize]| {
        let (mut tp, mut predicted, mut actual) = (vec![0u64; k], vec![0u64; k], vec![0u64; k]);
        for &i in rows {
            both_on[i].iter().for_each(|&l| tp[l] += 1);
            pred_on[i].iter().for_each(|&l| predicted[l] += 1);
            truth_on[i].iter().for_each(|&l| actual[l] += 1);
        }
        (tp, predicted, actual)
    };
    let micro = |rows: &[usize]| {
        let (tp, predicted, actual) = counts(rows);
        let (tp, predicted, actual) = (tp.iter().sum::<u64>() as f64, predicted.iter().sum::<u64>() as f64, actual.iter().sum::<u64>() as f64);
        f1(ratio(tp, predicted), ratio(tp, actual))
    };
    let macro_ = |rows: &[usize]| {
        let (tp, predicted, actual) = counts(rows);
        mean((0..k).map(|l| f1(ratio(tp[l] as f64, predicted[l] as f64), ratio(tp[l] as f64, actual[l] as f64))))
    };
    let all: Vec<usize> = (0..n).collect();
    let (tp, predicted, actual) = counts(&all);
    let wrong: u64 = (0..n).map(|i| (0..k).filter(|&l| truth[i][l] != pred[i][l]).count() as u64).sum();
    MultiLabelMetrics {
        n: n as u64,
        labels: labels.to_vec(),
        threshold,
        subset_accuracy: ratio((0..n).filter(|&i| truth[i] == pred[i]).count() as f64, n as f64),
        hamming_loss: ratio(wrong as f64, (n * k) as f64),
        micro_f1: bootstrap(n, options, micro),
        macro_f1: bootstrap(n, options, macro_),
        per_label: label_stats(labels, &tp, &predicted, &actual),
    }
}

/// Agreement between two yes/no labelings of `n` items, where `a` and `b` items are "yes" in
/// each and `both` in both: (observed agreement, Cohen's kappa). Kappa compares the observed
/// agreement with the agreement the two "yes" rates give by chance; it is `None` when chance
/// agreement is already perfect (both all "yes", or all "no"). With no items, agreement is 1.
pub fn binary_agreement(n: u64, a: u64, b: u64, both: u64) -> (f64, Option<f64>) {
    if n == 0 {
        return (1.0, None);
    }
    let n = n as f64;
    let (pa, pb) = (a as f64 / n, b as f64 / n);
    let observed = (n - (a + b - 2 * both) as f64) / n;
    let chance = pa * pb + (1.0 - pa) * (1.0 - pb);
    (observed, (chance < 1.0).then(|| (observed - chance) / (1.0 - chance)))
}

/// Cohen's kappa of two raters who put the same items into categories (indexes): observed
/// agreement against the agreement their category rates give by chance. `None` with no items, or
/// when chance agreement is already perfect (scikit-learn gives NaN there).
pub fn cohen_kappa(a: &[usize], b: &[usize]) -> Option<f64> {
    assert_eq!(a.len(), b.len(), "two ratings per item");
    let n = a.len();
    if n == 0 {
        return None;
    }
    let k = a.iter().chain(b).max().map_or(0, |m| m + 1);
    let (mut ca, mut cb) = (vec![0u64; k], vec![0u64; k]);
    let mut same = 0u64;
    for (&x, &y) in a.iter().zip(b) {
        ca[x] += 1;
        cb[y] += 1;
        same += u64::from(x == y);
    }
    let n = n as f64;
    let observed = same as f64 / n;
    let chance: f64 = ca.iter().zip(&cb).map(|(&x, &y)| (x as f64 / n) * (y as f64 / n)).sum();
    (chance < 1.0).then(|| (observed - chance) / (1.0 - chance))
}

/// Fleiss' kappa: `counts[i][j]` raters put item i into category j, and every item has the same
/// number of raters (at least two). `None` with no items, unequal or too few raters per item, or
/// when chance agreement is perfect.
pub fn fleiss_kappa(counts: &[Vec<u64>]) -> Option<f64> {
    let raters: u64 = counts.first()?.iter().sum();
    if raters < 2 || counts.iter().any(|row| row.iter().sum::<u64>() != raters) {
        return None;
    }
    let (n, r) = (counts.len() as f64, raters as f64);
    let k = counts.iter().map(Vec::len).max().unwrap_or(0);
    let mut totals = vec![0f64; k];
    let mut p_bar = 0.0;
    for row in counts {
        for (j, &c) in row.iter().enumerate() {
            totals[j] += c as f64;
        }
        p_bar += (row.iter().map(|&c| (c * c) as f64).sum::<f64>() - r) / (r * (r - 1.0));
    }
    p_bar /= n;
    let chance: f64 = totals.iter().map(|t| (t / (n * r)).powi(2)).sum();
    (chance < 1.0).then(|| (p_bar - chance) / (1.0 - chance))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn perfect_predictions_score_one_and_calibrate_to_confidence() {
        let labels = names(&["a", "b"]);
        let m = single_label(&labels, &[0, 1, 0], &[0, 1, 0], &[1.0, 1.0, 1.0], &EvalOptions::default());
        assert_eq!(m.accuracy, Estimate { value: 1.0, low: 1.0, high: 1.0 });
        assert_eq!(m.macro_f1.value, 1.0);
        assert_eq!(m.confusion, vec![vec![2, 0], vec![0, 1]]);
        assert_eq!(m.ece, 0.0);
    }

    #[test]
    fn labels_that_never_occur_are_left_out_of_the_macro_average() {
        let labels = names(&["a", "b", "unused"]);
        let m = single_label(&labels, &[0, 1], &[0, 0], &[0.9, 0.6], &EvalOptions { resamples: 0, ..Default::default() });
        assert_eq!(m.labels, names(&["a", "b"]));
        // a: P=1/2, R=1, F1=2/3; b: P=0 (never predicted: zero_division=0), R=0, F1=0.
        assert!((m.macro_f1.value - (2.0 / 3.0) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn bootstrap_interval_brackets_the_estimate_and_is_reproducible() {
        let labels = names(&["a", "b"]);
        let truth: Vec<usize> = (0..200).map(|i| i % 2).collect();
        let pred: Vec<usize> = (0..200).map(|i| if i % 5 == 0 { 1 - i % 2 } else { i % 2 }).collect();
        let conf = vec![0.8; 200];
        let a = single_label(&labels, &truth, &pred, &conf, &EvalOptions::default());
        let b = single_label(&labels, &truth, &pred, &conf, &EvalOptions::default());
        assert_eq!(a, b);
        assert!(a.accuracy.low < a.accuracy.value && a.accuracy.value < a.accuracy.high, "{:?}", a.accuracy);
        assert!(a.accuracy.high - a.accuracy.low < 0.15);
    }

    #[test]
    fn binary_agreement_is_cohens_kappa() {
        // 10 items: 4 yes in both, 2 only in a, 1 only in b, 3 no in both: po 0.7, pe 0.5.
        let (observed, kappa) = binary_agreement(10, 6, 5, 4);
        assert!((observed - 0.7).abs() < 1e-12);
        assert!((kappa.unwrap() - 0.4).abs() < 1e-12);
        assert_eq!(binary_agreement(4, 4, 4, 4), (1.0, None));
        assert_eq!(binary_agreement(0, 0, 0, 0), (1.0, None));
    }
}
