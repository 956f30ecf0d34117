//! A classifier trained on the user's labels: logistic regression on record embeddings with an L2
//! penalty of C = 1 (the objective scikit-learn's `LogisticRegression()` minimizes: multinomial
//! for three or more labels, binary for two, intercepts not penalized), solved with L-BFGS by
//! linfa-logistic, run to a tight gradient tolerance so the optimum, not the solver, decides the
//! numbers. Stratified k-fold cross-validation (seeded) and a learning curve tell how good it is.

use linfa::prelude::*;
use linfa_logistic::{LogisticRegression, MultiLogisticRegression};
use ndarray::{Array1, Array2};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::metrics::{self, Estimate, EvalOptions};

/// scikit-learn's default inverse regularization strength.
pub const C: f64 = 1.0;
/// The solver stops when the gradient's norm is below this (or after `MAX_ITERATIONS`).
const GRADIENT_TOLERANCE: f64 = 1e-7;
const MAX_ITERATIONS: u64 = 2000;

/// A trained head: one row of weights and one intercept per label. Single-label: scores are
/// `softmax(W·x + b)` (for two labels the first row is zero and the second holds the binary
/// model, so this is its sigmoid). Multi-label (one-vs-rest): each label's score is
/// `sigmoid(w·x + b)` of its own binary model.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Head {
    pub labels: Vec<String>,
    pub weights: Vec<Vec<f64>>,
    pub intercepts: Vec<f64>,
    #[serde(default)]
    pub multi_label: bool,
}

/// What a head learns from: each example's label, or (multi-label) each example's label set as
/// one flag per label.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    Single(Vec<usize>),
    Multi(Vec<Vec<bool>>),
}

impl Targets {
    pub fn len(&self) -> usize {
        match self {
            Targets::Single(y) => y.len(),
            Targets::Multi(y) => y.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn subset(&self, keep: &[usize]) -> Targets {
        match self {
            Targets::Single(y) => Targets::Single(keep.iter().map(|&i| y[i]).collect()),
            Targets::Multi(y) => Targets::Multi(keep.iter().map(|&i| y[i].clone()).collect()),
        }
    }

    /// The label folds and subsets are stratified by: the label, or a set's first label (the
    /// label count for an empty set).
    fn strata(&self) -> Vec<usize> {
        match self {
            Targets::Single(y) => y.clone(),
            Targets::Multi(y) => y.iter().map(|set| set.iter().position(|&b| b).unwrap_or(set.len())).collect(),
        }
    }
}

/// A one-vs-rest label that is on (or off) for every training example gets this logit: its
/// score is then 1 (or 0) to within 1e-21, as scikit-learn's constant predictor gives.
const CONSTANT_LOGIT: f64 = 50.0;

impl Head {
    /// Fits on `x` (one vector per record) and `y` (indexes into `labels`). Labels without any
    /// example get no probability (their logit is −∞).
    pub fn fit(x: &[Vec<f32>], y: &[usize], labels: &[String]) -> Result<Self> {
        let k = labels.len();
        let d = x.first().map_or(0, Vec::len);
        let mut present: Vec<usize> = y.to_vec();
        present.sort_unstable();
        present.dedup();
        if present.len() < 2 {
            return Err(Error::Input("training needs examples of at least two labels".into()));
        }
        if x.iter().any(|v| v.len() != d) || y.iter().any(|&c| c >= k) || x.len() != y.len() {
            return Err(Error::Input("training vectors and labels do not line up".into()));
        }
        let features = Array2::from_shape_fn((x.len(), d), |(i, j)| f64::from(x[i][j]));
        let mut weights = vec![vec![0.0; d]; k];
        let mut intercepts = vec![f64::NEG_INFINITY; k];
        let solver_error = |e: linfa_logistic::error::Error| Error::Input(format!("the classifier could not be trained: {e}"));
        if present.len() == 2 {
            // Binary: the parameters are the logit of the class linfa calls positive (in 0.8.1 the
            // first one met, so it is asked, not assumed).
            let targets = Array1::from_iter(y.iter().copied());
            let fitted = LogisticRegression::default()
                .alpha(1.0 / C)
                .gradient_tolerance(GRADIENT_TOLERANCE)
                .max_iterations(MAX_ITERATIONS)
                .fit(&Dataset::new(features, targets))
                .map_err(solver_error)?;
            let pos = fitted.labels().pos.class;
            let neg = if pos == present[0] { present[1] } else { present[0] };
            weights[pos] = fitted.params().to_vec();
            intercepts[pos] = fitted.intercept();
            intercepts[neg] = 0.0;
        } else {
            let targets = Array1::from_iter(y.iter().copied());
            let fitted = MultiLogisticRegression::default()
                .alpha(1.0 / C)
                .gradient_tolerance(GRADIENT_TOLERANCE)
                .max_iterations(MAX_ITERATIONS)
                .fit(&Dataset::new(features, targets))
                .map_err(solver_error)?;
            let params = fitted.params();
            let intercept = fitted.intercept();
            for (col, &class) in fitted.classes().iter().enumerate() {
                weights[class] = params.column(col).to_vec();
                intercepts[class] = intercept[col];
            }
        }
        Ok(Self { labels: labels.to_vec(), weights, intercepts, multi_label: false })
    }

    /// One-vs-rest: an independent binary model per label (scikit-learn's
    /// `OneVsRestClassifier(LogisticRegression())`).
    pub fn fit_one_vs_rest(x: &[Vec<f32>], y: &[Vec<bool>], labels: &[String]) -> Result<Self> {
        let k = labels.len();
        let d = x.first().map_or(0, Vec::len);
        if x.iter().any(|v| v.len() != d) || y.iter().any(|set| set.len() != k) || x.len() != y.len() {
            return Err(Error::Input("training vectors and labels do not line up".into()));
        }
        let features = Array2::from_shape_fn((x.len(), d), |(i, j)| f64::from(x[i][j]));
        let mut weights = vec![vec![0.0; d]; k];
        let mut intercepts = vec![0.0; k];
        for j in 0..k {
            let on = y.iter().filter(|set| set[j]).count();
            if on == 0 || on == y.len() {
                intercepts[j] = if on == 0 { -CONSTANT_LOGIT } else { CONSTANT_LOGIT };
                continue;
            }
            let targets = Array1::from_iter(y.iter().map(|set| usize::from(set[j])));
            let fitted = LogisticRegression::default()
                .alpha(1.0 / C)
                .gradient_tolerance(GRADIENT_TOLERANCE)
                .max_iterations(MAX_ITERATIONS)
                .fit(&Dataset::new(features.clone(), targets))
                .map_err(|e| Error::Input(format!("the classifier could not be trained: {e}")))?;
            // The logit of "on": linfa's positive class may be either (see `fit`).
            let sign = if fitted.labels().pos.class == 1 { 1.0 } else { -1.0 };
            weights[j] = fitted.params().iter().map(|w| sign * w).collect();
            intercepts[j] = sign * fitted.intercept();
        }
        Ok(Self { labels: labels.to_vec(), weights, intercepts, multi_label: true })
    }

    /// Fits on either kind of targets.
    pub fn fit_targets(x: &[Vec<f32>], y: &Targets, labels: &[String]) -> Result<Self> {
        match y {
            Targets::Single(y) => Self::fit(x, y, labels),
            Targets::Multi(y) => Self::fit_one_vs_rest(x, y, labels),
        }
    }

    /// Every label's probability for one vector.
    pub fn predict(&self, x: &[f32]) -> Vec<f64> {
        let logits: Vec<f64> =
            self.weights.iter().zip(&self.intercepts).map(|(w, b)| b + w.iter().zip(x).map(|(w, v)| w * f64::from(*v)).sum::<f64>()).collect();
        if self.multi_label {
            return logits.iter().map(|l| 1.0 / (1.0 + (-l).exp())).collect();
        }
        let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exp: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
        let sum: f64 = exp.iter().sum();
        exp.iter().map(|e| e / sum).collect()
    }
}

/// Stratified folds: each label's examples, shuffled with the seed, dealt to the folds in turn
/// (so every fold gets its share of every label). Returns each example's fold.
pub fn stratified_folds(y: &[usize], folds: usize, seed: u64) -> Vec<usize> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut fold = vec![0; y.len()];
    let mut next = 0;
    let k = y.iter().max().map_or(0, |m| m + 1);
    for class in 0..k {
        let mut members: Vec<usize> = (0..y.len()).filter(|&i| y[i] == class).collect();
        members.shuffle(&mut rng);
        for i in members {
            fold[i] = next % folds;
            next += 1;
        }
    }
    fold
}

/// The examples in a seeded order where every prefix holds each label in proportion: shuffled
/// within each label, then interleaved by relative rank.
pub fn stratified_order(y: &[usize], seed: u64) -> Vec<usize> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let k = y.iter().max().map_or(0, |m| m + 1);
    let mut keyed: Vec<(f64, usize, usize)> = Vec::with_capacity(y.len());
    for class in 0..k {
        let mut members: Vec<usize> = (0..y.len()).filter(|&i| y[i] == class).collect();
        members.shuffle(&mut rng);
        let count = members.len() as f64;
        keyed.extend(members.into_iter().enumerate().map(|(rank, i)| ((rank as f64 + 0.5) / count, class, i)));
    }
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    keyed.into_iter().map(|(_, _, i)| i).collect()
}

/// Out-of-fold probabilities: each example predicted by the head trained on the other folds.
pub fn cross_val_predict(x: &[Vec<f32>], y: &Targets, labels: &[String], fold: &[usize]) -> Result<Vec<Vec<f64>>> {
    let folds = fold.iter().max().map_or(0, |m| m + 1);
    let mut out = vec![Vec::new(); x.len()];
    for f in 0..folds {
        let train: Vec<usize> = (0..x.len()).filter(|&i| fold[i] != f).collect();
        let head = Head::fit_targets(&train.iter().map(|&i| x[i].clone()).collect::<Vec<_>>(), &y.subset(&train), labels)?;
        for i in (0..x.len()).filter(|&i| fold[i] == f) {
            out[i] = head.predict(&x[i]);
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurvePoint {
    /// Labeled examples the head was trained on.
    pub n: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrossValidation {
    pub folds: usize,
    pub n: usize,
    /// Over the pooled out-of-fold predictions, with bootstrap intervals.
    pub accuracy: Estimate,
    pub macro_f1: Estimate,
    /// Each fold's held-out examples predicted by heads trained on 25, 50, 100, 200, … of the
    /// other folds' examples (a seeded, stratified subset), pooled.
    pub learning_curve: Vec<CurvePoint>,
    /// Each example's out-of-fold probabilities (what the numbers above are computed from).
    #[serde(skip)]
    pub out_of_fold: Vec<Vec<f64>>,
}

fn argmax(p: &[f64]) -> usize {
    p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0))).map_or(0, |(i, _)| i)
}

/// Each fold's held-out examples predicted by a head trained on a stratified subset of `n` of the
/// other folds' examples; `None` when some subset has fewer than two labels.
fn heads_on_subsets(x: &[Vec<f32>], y: &Targets, labels: &[String], fold: &[usize], n: usize, seed: u64) -> Result<Option<Vec<Vec<f64>>>> {
    let folds = fold.iter().max().map_or(0, |m| m + 1);
    let strata = y.strata();
    let mut pooled = vec![Vec::new(); x.len()];
    for f in 0..folds {
        let train: Vec<usize> = (0..x.len()).filter(|&i| fold[i] != f).collect();
        let order = stratified_order(&train.iter().map(|&i| strata[i]).collect::<Vec<_>>(), seed.wrapping_add(n as u64));
        let subset: Vec<usize> = order.into_iter().take(n).map(|j| train[j]).collect();
        if matches!(y, Targets::Single(_)) && subset.iter().map(|&i| strata[i]).collect::<std::collections::BTreeSet<_>>().len() < 2 {
            return Ok(None);
        }
        let head = Head::fit_targets(&subset.iter().map(|&i| x[i].clone()).collect::<Vec<_>>(), &y.subset(&subset), labels)?;
        for i in (0..x.len()).filter(|&i| fold[i] == f) {
            pooled[i] = head.predict(&x[i]);
        }
    }
    Ok(Some(pooled))
}

/// Stratified k-fold cross-validation and the learning curve. Multi-label: folds stratified by
/// each set's first label, the scores of `metrics::multi_label` (subset accuracy, without an
/// interval) at the evaluation's threshold.
pub fn cross_validate(x: &[Vec<f32>], y: &Targets, labels: &[String], folds: usize, seed: u64) -> Result<CrossValidation> {
    if folds < 2 {
        return Err(Error::Input("cross-validation needs at least 2 folds".into()));
    }
    if x.len() < folds {
        return Err(Error::Input(format!("{} labeled records are fewer than the {folds} folds; label more records first", x.len())));
    }
    let fold = stratified_folds(&y.strata(), folds, seed);
    let proba = cross_val_predict(x, y, labels, &fold)?;
    let options = EvalOptions { seed, ..Default::default() };
    let threshold = crate::evaluate::MULTI_LABEL_THRESHOLD;
    let score = |pred: &[Vec<f64>], keep: &[usize]| -> (Estimate, Estimate) {
        match y {
            Targets::Single(y) => {
                let truth: Vec<usize> = keep.iter().map(|&i| y[i]).collect();
                let predicted: Vec<usize> = keep.iter().map(|&i| argmax(&pred[i])).collect();
                let confidence: Vec<f64> = keep.iter().map(|&i| pred[i][argmax(&pred[i])]).collect();
                let m = metrics::single_label(labels, &truth, &predicted, &confidence, &options);
                (m.accuracy, m.macro_f1)
            }
            Targets::Multi(y) => {
                let truth: Vec<Vec<bool>> = keep.iter().map(|&i| y[i].clone()).collect();
                let predicted: Vec<Vec<bool>> = keep.iter().map(|&i| pred[i].iter().map(|&p| p >= threshold).collect()).collect();
                let m = metrics::multi_label(labels, &truth, &predicted, threshold, &options);
                (Estimate { value: m.subset_accuracy, low: m.subset_accuracy, high: m.subset_accuracy }, m.macro_f1)
            }
        }
    };
    let all: Vec<usize> = (0..x.len()).collect();
    let (accuracy, macro_f1) = score(&proba, &all);
    // The learning curve: 25, 50, 100, … examples from the training folds, while below their size.
    let mut curve = Vec::new();
    let train_size = x.len() - x.len().div_ceil(folds);
    let mut n = 25;
    while n < train_size {
        if let Some(pooled) = heads_on_subsets(x, y, labels, &fold, n, seed)? {
            let (a, f) = score(&pooled, &all);
            curve.push(CurvePoint { n, accuracy: a.value, macro_f1: f.value });
        }
        n *= 2;
    }
    Ok(CrossValidation { folds, n: x.len(), accuracy, macro_f1, learning_curve: curve, out_of_fold: proba })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_and_orders_are_stratified_and_seeded() {
        let y: Vec<usize> = (0..90)
            .map(|i| {
                if i < 60 {
                    0
                } else if i < 80 {
                    1
                } else {
                    2
                }
            })
            .collect();
        let fold = stratified_folds(&y, 5, 7);
        for f in 0..5 {
            let counts: Vec<usize> = (0..3).map(|c| (0..90).filter(|&i| fold[i] == f && y[i] == c).count()).collect();
            assert!(counts[0] >= 11 && counts[0] <= 13 && counts[1] == 4 && counts[2] == 2, "fold {f}: {counts:?}");
        }
        assert_eq!(fold, stratified_folds(&y, 5, 7));
        assert_ne!(fold, stratified_folds(&y, 5, 8));
        let order = stratified_order(&y, 3);
        let first: Vec<usize> = (0..3).map(|c| order[..30].iter().filter(|&&i| y[i] == c).count()).collect();
        assert_eq!(first, [20, 7, 3], "a prefix holds each label in proportion");
    }

    #[test]
    fn a_separable_problem_is_learned_and_probabilities_sum_to_one() {
        let x: Vec<Vec<f32>> = (0..60).map(|i| vec![(i % 3) as f32 + 0.1 * (i % 7) as f32, 1.0 - (i % 3) as f32]).collect();
        let y: Vec<usize> = (0..60).map(|i| i % 3).collect();
        let labels: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let head = Head::fit(&x, &y, &labels).unwrap();
        let right = x.iter().zip(&y).filter(|(v, &t)| argmax(&head.predict(v)) == t).count();
        assert!(right >= 55, "{right} of 60");
        assert!((head.predict(&x[0]).iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(Head::fit(&x, &vec![0; 60], &labels).unwrap_err().to_string().contains("two labels"));
    }
}
