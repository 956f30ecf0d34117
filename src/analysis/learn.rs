//! A classifier trained on the user's labels: logistic regression on record embeddings with an L2
//! penalty (the objective scikit-learn's `LogisticRegression` minimizes with its lbfgs solver:
//! multinomial for three or more labels, binary for two, intercepts not penalized, optional
//! sample weights for `class_weight="balanced"`), solved with argmin's L-BFGS to a tight
//! gradient tolerance so the optimum, not the solver, decides the numbers. No maintained crate
//! fits it with sample weights (linfa-logistic has none), so the objective and its gradient are
//! written here (`Objective`) and the optimizer is argmin's. The regularization strength and
//! the class weighting are chosen by cross-validation on the user's labels
//! ([`select_options`], scikit-learn's `LogisticRegressionCV` for each weighting), and stratified
//! k-fold cross-validation (seeded) and a learning curve tell how good the head is, next to
//! the majority baseline.

use argmin::core::{CostFunction, Executor, Gradient};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use ndarray::{s, Array1, Array2, ArrayView2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::analysis::metrics::{self, Estimate, EvalOptions};
use crate::error::{Error, Result};

/// scikit-learn's default inverse regularization strength: what `LogisticRegression()` uses.
pub const C: f64 = 1.0;

/// Counts the model fits of a training as they finish, from any thread, and stops the next fit
/// once cancel is set: a training of a few minutes reports real progress and stops within a fit.
#[derive(Default)]
pub struct Steps<'a> {
    done: std::sync::atomic::AtomicU64,
    cancel: Option<&'a std::sync::atomic::AtomicBool>,
}

impl<'a> Steps<'a> {
    pub fn new(cancel: &'a std::sync::atomic::AtomicBool) -> Self {
        Steps { done: Default::default(), cancel: Some(cancel) }
    }

    /// Fits finished so far.
    pub fn done(&self) -> u64 {
        self.done.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Before a fit: `Err(Cancelled)` once cancel is set.
    fn check(&self) -> Result<()> {
        match self.cancel {
            Some(c) if c.load(std::sync::atomic::Ordering::Relaxed) => Err(Error::Cancelled),
            _ => Ok(()),
        }
    }

    /// After a fit.
    fn fitted(&self) {
        self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// A fit, counted (and refused once cancelled).
    pub fn fit<T>(&self, work: impl FnOnce() -> Result<T>) -> Result<T> {
        self.check()?;
        let out = work()?;
        self.fitted();
        Ok(out)
    }
}

/// How many model fits [`select_options`] and [`cross_validate_with`] make for `n` labeled
/// examples (the learning curve's fits counted as if every subset had two labels).
pub fn planned_fits(n: usize, folds: usize, choice: &TrainChoice) -> u64 {
    let grid = if choice.c.is_some() { 1 } else { C_GRID.len() };
    let weightings = if choice.class_weight.is_some() { 1 } else { 2 };
    let selection = if grid * weightings == 1 || n.min(SELECTION_MAX_EXAMPLES) < 2 {
        0
    } else {
        grid * weightings * SELECTION_FOLDS.min(n.min(SELECTION_MAX_EXAMPLES))
    };
    let train_size = n.saturating_sub(n.div_ceil(folds.max(1)));
    let mut curve = 0;
    let mut k = 25;
    while k < train_size {
        curve += 1;
        k *= 2;
    }
    (selection + folds * (1 + curve)) as u64
}
/// The solver stops when the gradient's norm is below this (or after `MAX_ITERATIONS`).
const GRADIENT_TOLERANCE: f64 = 1e-7;
const MAX_ITERATIONS: u64 = 5000;

/// How the examples of each label count in the objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum ClassWeight {
    /// Every example counts once (`LogisticRegression()`'s default).
    #[default]
    None,
    /// scikit-learn's `class_weight="balanced"`: an example of label c counts
    /// n / (labels × examples of c), so every label weighs the same in total.
    Balanced,
}

/// The objective's settings: the inverse regularization strength and the class weighting.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FitOptions {
    pub c: f64,
    pub class_weight: ClassWeight,
}

impl Default for FitOptions {
    /// `LogisticRegression()`'s: C = 1, unweighted.
    fn default() -> Self {
        Self { c: C, class_weight: ClassWeight::None }
    }
}

/// The objective's value and gradient at a point: (point, value, gradient).
type Evaluation = (Array1<f64>, f64, Array1<f64>);

/// Σᵢ sᵢ·lossᵢ + ‖W‖²/(2C): the lbfgs objective of scikit-learn's logistic regression (its
/// normalized form times Σ sᵢ), intercepts unpenalized. Two classes: one weight vector, the
/// logit of class 1; more: a row per class (multinomial). Parameters are the weights (row-major)
/// followed by the intercepts.
struct Objective<'a> {
    x: ArrayView2<'a, f64>,
    /// Each example's class, in 0..classes.
    y: &'a [usize],
    /// Each example's weight.
    weights: &'a [f64],
    classes: usize,
    inverse_c: f64,
    /// The last evaluation: L-BFGS asks for the cost and the gradient at the same point.
    last: std::cell::RefCell<Option<Evaluation>>,
}

impl Objective<'_> {
    /// [`Objective::evaluate`], computed once per point.
    fn at(&self, p: &Array1<f64>) -> (f64, Array1<f64>) {
        if let Some((q, cost, grad)) = self.last.borrow().as_ref() {
            if q == p {
                return (*cost, grad.clone());
            }
        }
        let (cost, grad) = self.evaluate(p);
        *self.last.borrow_mut() = Some((p.clone(), cost, grad.clone()));
        (cost, grad)
    }

    fn rows(&self) -> usize {
        if self.classes == 2 {
            1
        } else {
            self.classes
        }
    }

    fn parameters(&self) -> usize {
        self.rows() * (self.x.ncols() + 1)
    }

    fn split<'p>(&self, p: &'p Array1<f64>) -> (ArrayView2<'p, f64>, ndarray::ArrayView1<'p, f64>) {
        let (r, d) = (self.rows(), self.x.ncols());
        let w = p.slice(s![..r * d]).into_shape_with_order((r, d)).expect("parameters are rows × features");
        (w, p.slice(s![r * d..]))
    }

    /// The objective and its gradient at `p`.
    fn evaluate(&self, p: &Array1<f64>) -> (f64, Array1<f64>) {
        let (w, b) = self.split(p);
        let mut z = self.x.dot(&w.t());
        z += &b;
        let mut cost = 0.0;
        // d(cost)/dz, row by row.
        let mut dz = Array2::<f64>::zeros(z.raw_dim());
        for (i, row) in z.outer_iter().enumerate() {
            let (s_i, y_i) = (self.weights[i], self.y[i]);
            if self.classes == 2 {
                // log(1 + exp(−t·z)) with t = ±1, computed without overflow.
                let t = if y_i == 1 { 1.0 } else { -1.0 };
                let m = -t * row[0];
                cost += s_i * softplus(m);
                dz[[i, 0]] = -t * s_i * sigmoid(m);
            } else {
                let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let log_sum = max + row.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
                cost += s_i * (log_sum - row[y_i]);
                for (c, v) in row.iter().enumerate() {
                    dz[[i, c]] = s_i * ((v - log_sum).exp() - f64::from(u8::from(c == y_i)));
                }
            }
        }
        cost += 0.5 * self.inverse_c * w.iter().map(|v| v * v).sum::<f64>();
        let grad_w = dz.t().dot(&self.x) + &w * self.inverse_c;
        let grad_b = dz.sum_axis(Axis(0));
        let mut grad = Array1::zeros(self.parameters());
        grad.slice_mut(s![..grad_w.len()]).assign(&Array1::from_iter(grad_w.iter().copied()));
        grad.slice_mut(s![grad_w.len()..]).assign(&grad_b);
        (cost, grad)
    }
}

fn softplus(m: f64) -> f64 {
    if m > 0.0 {
        m + (-m).exp().ln_1p()
    } else {
        m.exp().ln_1p()
    }
}

fn sigmoid(m: f64) -> f64 {
    if m >= 0.0 {
        1.0 / (1.0 + (-m).exp())
    } else {
        let e = m.exp();
        e / (1.0 + e)
    }
}

impl CostFunction for Objective<'_> {
    type Param = Array1<f64>;
    type Output = f64;

    fn cost(&self, p: &Self::Param) -> std::result::Result<f64, argmin::core::Error> {
        Ok(self.at(p).0)
    }
}

impl Gradient for Objective<'_> {
    type Param = Array1<f64>;
    type Gradient = Array1<f64>;

    fn gradient(&self, p: &Self::Param) -> std::result::Result<Array1<f64>, argmin::core::Error> {
        Ok(self.at(p).1)
    }
}

/// Minimizes the objective from `start` (zeros when `None`; a neighbouring C's solution is a
/// warm start that saves most iterations). Returns the parameters.
fn minimize(objective: Objective<'_>, start: Option<Array1<f64>>) -> Result<Array1<f64>> {
    let init = start.filter(|p| p.len() == objective.parameters()).unwrap_or_else(|| Array1::zeros(objective.parameters()));
    let fallback = init.clone();
    let solver_error = |e: argmin::core::Error| Error::Input(format!("the classifier could not be trained: {e}"));
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 10).with_tolerance_grad(GRADIENT_TOLERANCE).map_err(solver_error)?;
    let result = Executor::new(objective, solver).configure(|state| state.param(init).max_iters(MAX_ITERATIONS)).run().map_err(solver_error)?;
    Ok(result.state.best_param.unwrap_or(fallback))
}

/// Each example's weight under `class_weight`, from the examples' classes (0..classes).
fn sample_weights(y: &[usize], classes: usize, class_weight: ClassWeight) -> Vec<f64> {
    match class_weight {
        ClassWeight::None => vec![1.0; y.len()],
        ClassWeight::Balanced => {
            let mut counts = vec![0usize; classes];
            y.iter().for_each(|&c| counts[c] += 1);
            let present = counts.iter().filter(|&&n| n > 0).count() as f64;
            y.iter().map(|&c| y.len() as f64 / (present * counts[c] as f64)).collect()
        }
    }
}

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

/// The largest length a training vector may have. Embeddings have length 1; vectors of huge
/// finite numbers (±3e38) overflow the solver's line search, which then never converges.
pub const MAX_VECTOR_LENGTH: f64 = 1e3;

/// Refuses training vectors the solver cannot work with: not finite, or far longer than an
/// embedding.
fn check_vectors(x: &[Vec<f32>]) -> Result<()> {
    for (i, v) in x.iter().enumerate() {
        let length = v.iter().map(|&a| f64::from(a) * f64::from(a)).sum::<f64>().sqrt();
        if !length.is_finite() || length > MAX_VECTOR_LENGTH {
            return Err(Error::Input(format!(
                "training vector {} has length {length:e}; the classifier trains on embeddings of length 1 \
                 (these are not such embeddings: compute them again)",
                i + 1
            )));
        }
    }
    Ok(())
}

/// A one-vs-rest label that is on (or off) for every training example gets this logit: its
/// score is then 1 (or 0) to within 1e-21, as scikit-learn's constant predictor gives.
const CONSTANT_LOGIT: f64 = 50.0;

impl Head {
    /// Fits `LogisticRegression()`'s objective (C = 1, unweighted) on `x` (one vector per
    /// record) and `y` (indexes into `labels`). Labels without any example get no probability
    /// (their logit is −∞).
    pub fn fit(x: &[Vec<f32>], y: &[usize], labels: &[String]) -> Result<Self> {
        Self::fit_with(x, y, labels, &FitOptions::default())
    }

    /// Fits with the given C and class weighting.
    pub fn fit_with(x: &[Vec<f32>], y: &[usize], labels: &[String], options: &FitOptions) -> Result<Self> {
        Ok(Self::fit_single(x, y, labels, options, None)?.0)
    }

    /// A single-label fit with explicit per-example weights (scikit-learn's `sample_weight`),
    /// from `start`; returns the parameters as [`Head::fit_single`] does.
    fn fit_weighted(
        x: &[Vec<f32>],
        y: &[usize],
        labels: &[String],
        c: f64,
        weights: &[f64],
        start: Option<Array1<f64>>,
    ) -> Result<(Self, Array1<f64>)> {
        Self::fit_inner(x, y, labels, c, Some(weights), ClassWeight::None, start)
    }

    /// The single-label fit; also returns the solver's parameters, the warm start of a fit with
    /// a neighbouring C on the same examples.
    fn fit_single(x: &[Vec<f32>], y: &[usize], labels: &[String], options: &FitOptions, start: Option<Array1<f64>>) -> Result<(Self, Array1<f64>)> {
        Self::fit_inner(x, y, labels, options.c, None, options.class_weight, start)
    }

    fn fit_inner(
        x: &[Vec<f32>],
        y: &[usize],
        labels: &[String],
        c: f64,
        explicit_weights: Option<&[f64]>,
        class_weight: ClassWeight,
        start: Option<Array1<f64>>,
    ) -> Result<(Self, Array1<f64>)> {
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
        check_vectors(x)?;
        let features = Array2::from_shape_fn((x.len(), d), |(i, j)| f64::from(x[i][j]));
        // The solver sees the labels present, in label order (class 1 of a binary problem is the
        // later label, as scikit-learn's `classes_[1]`).
        let local: Vec<usize> = y.iter().map(|c| present.binary_search(c).expect("present")).collect();
        let weights_of_examples = match explicit_weights {
            Some(w) => w.to_vec(),
            None => sample_weights(&local, present.len(), class_weight),
        };
        let objective = Objective {
            x: features.view(),
            y: &local,
            weights: &weights_of_examples,
            classes: present.len(),
            inverse_c: 1.0 / c,
            last: Default::default(),
        };
        let rows = objective.rows();
        let p = minimize(objective, start)?;
        let mut weights = vec![vec![0.0; d]; k];
        let mut intercepts = vec![f64::NEG_INFINITY; k];
        if rows == 1 {
            weights[present[1]] = p.slice(s![..d]).to_vec();
            intercepts[present[1]] = p[d];
            intercepts[present[0]] = 0.0;
        } else {
            for (r, &class) in present.iter().enumerate() {
                weights[class] = p.slice(s![r * d..(r + 1) * d]).to_vec();
                intercepts[class] = p[rows * d + r];
            }
        }
        Ok((Self { labels: labels.to_vec(), weights, intercepts, multi_label: false }, p))
    }

    /// One-vs-rest: an independent binary model per label (scikit-learn's
    /// `OneVsRestClassifier(LogisticRegression())`, each label's weighting its own).
    pub fn fit_one_vs_rest(x: &[Vec<f32>], y: &[Vec<bool>], labels: &[String]) -> Result<Self> {
        Self::fit_one_vs_rest_with(x, y, labels, &FitOptions::default())
    }

    pub fn fit_one_vs_rest_with(x: &[Vec<f32>], y: &[Vec<bool>], labels: &[String], options: &FitOptions) -> Result<Self> {
        let k = labels.len();
        let d = x.first().map_or(0, Vec::len);
        if x.iter().any(|v| v.len() != d) || y.iter().any(|set| set.len() != k) || x.len() != y.len() {
            return Err(Error::Input("training vectors and labels do not line up".into()));
        }
        check_vectors(x)?;
        let features = Array2::from_shape_fn((x.len(), d), |(i, j)| f64::from(x[i][j]));
        let mut weights = vec![vec![0.0; d]; k];
        let mut intercepts = vec![0.0; k];
        for j in 0..k {
            let on = y.iter().filter(|set| set[j]).count();
            if on == 0 || on == y.len() {
                intercepts[j] = if on == 0 { -CONSTANT_LOGIT } else { CONSTANT_LOGIT };
                continue;
            }
            let targets: Vec<usize> = y.iter().map(|set| usize::from(set[j])).collect();
            let weights_of_examples = sample_weights(&targets, 2, options.class_weight);
            let objective = Objective {
                x: features.view(),
                y: &targets,
                weights: &weights_of_examples,
                classes: 2,
                inverse_c: 1.0 / options.c,
                last: Default::default(),
            };
            let p = minimize(objective, None)?;
            weights[j] = p.slice(s![..d]).to_vec();
            intercepts[j] = p[d];
        }
        Ok(Self { labels: labels.to_vec(), weights, intercepts, multi_label: true })
    }

    /// Fits on either kind of targets (`LogisticRegression()`'s objective).
    pub fn fit_targets(x: &[Vec<f32>], y: &Targets, labels: &[String]) -> Result<Self> {
        Self::fit_targets_with(x, y, labels, &FitOptions::default())
    }

    pub fn fit_targets_with(x: &[Vec<f32>], y: &Targets, labels: &[String], options: &FitOptions) -> Result<Self> {
        match y {
            Targets::Single(y) => Self::fit_with(x, y, labels, options),
            Targets::Multi(y) => Self::fit_one_vs_rest_with(x, y, labels, options),
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

/// Out-of-fold probabilities: each example predicted by the head (`LogisticRegression()`'s
/// objective) trained on the other folds.
pub fn cross_val_predict(x: &[Vec<f32>], y: &Targets, labels: &[String], fold: &[usize]) -> Result<Vec<Vec<f64>>> {
    cross_val_predict_with(x, y, labels, fold, &FitOptions::default(), &Steps::default())
}

/// Out-of-fold probabilities with the given objective; the folds are fitted in parallel.
pub fn cross_val_predict_with(
    x: &[Vec<f32>],
    y: &Targets,
    labels: &[String],
    fold: &[usize],
    options: &FitOptions,
    steps: &Steps,
) -> Result<Vec<Vec<f64>>> {
    use rayon::prelude::*;
    let folds = fold.iter().max().map_or(0, |m| m + 1);
    let heads: Vec<Head> = (0..folds)
        .into_par_iter()
        .map(|f| {
            let train: Vec<usize> = (0..x.len()).filter(|&i| fold[i] != f).collect();
            steps.fit(|| Head::fit_targets_with(&train.iter().map(|&i| x[i].clone()).collect::<Vec<_>>(), &y.subset(&train), labels, options))
        })
        .collect::<Result<_>>()?;
    Ok((0..x.len()).map(|i| heads[fold[i]].predict(&x[i])).collect())
}

/// The inverse regularization strengths the selection tries (scikit-learn's
/// `LogisticRegressionCV(Cs=[…])`), ascending. Embeddings have length 1, so a useful C is often
/// far above `LogisticRegression()`'s 1: with C = 1 the penalty can outweigh what the vectors
/// say and leave a head that answers the most frequent label.
pub const C_GRID: [f64; 6] = [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0];
/// The most labeled examples the selection cross-validates on (a seeded stratified sample);
/// beyond it the choice of C barely moves and the fits only cost time.
pub const SELECTION_MAX_EXAMPLES: usize = 3000;
/// Inner folds of the selection.
pub const SELECTION_FOLDS: usize = 5;

/// The macro F1 of predictions against `truth` (indexes of `keep`): what the selection scores by
/// (scikit-learn's `scoring="f1_macro"`; multi-label at the evaluation's threshold).
fn macro_f1_of(y: &Targets, labels: &[String], pred: &[Vec<f64>], keep: &[usize]) -> f64 {
    let options = EvalOptions { resamples: 0, ..Default::default() };
    match y {
        Targets::Single(y) => {
            let truth: Vec<usize> = keep.iter().map(|&i| y[i]).collect();
            let predicted: Vec<usize> = keep.iter().map(|&i| argmax(&pred[i])).collect();
            let confidence: Vec<f64> = keep.iter().map(|&i| pred[i][argmax(&pred[i])]).collect();
            metrics::single_label(labels, &truth, &predicted, &confidence, &options).macro_f1.value
        }
        Targets::Multi(y) => {
            let threshold = crate::domain::annotation::MULTI_LABEL_THRESHOLD;
            let truth: Vec<Vec<bool>> = keep.iter().map(|&i| y[i].clone()).collect();
            let predicted: Vec<Vec<bool>> = keep.iter().map(|&i| pred[i].iter().map(|&p| p >= threshold).collect()).collect();
            metrics::multi_label(labels, &truth, &predicted, threshold, &options).macro_f1.value
        }
    }
}

/// scikit-learn's `LogisticRegressionCV(Cs=grid, cv=folds, scoring="f1_macro",
/// class_weight=…)` choice of C: every C of `grid` (ascending) is fitted on each fold's training
/// part (warm-started from the previous C, as scikit-learn's path is) and scored on the fold;
/// the C with the highest mean score wins, the first on a tie. Class weights are computed from
/// all of `y`, as scikit-learn does. Returns each C's mean score.
pub fn cross_validate_c(
    x: &[Vec<f32>],
    y: &Targets,
    labels: &[String],
    fold: &[usize],
    grid: &[f64],
    class_weight: ClassWeight,
    steps: &Steps,
) -> Result<Vec<f64>> {
    use rayon::prelude::*;
    let folds = fold.iter().max().map_or(0, |m| m + 1);
    // scikit-learn weighs every fold's examples by the classes of the whole data.
    let global: Option<Vec<f64>> = match (y, class_weight) {
        (Targets::Single(y), ClassWeight::Balanced) => Some(sample_weights(y, labels.len(), ClassWeight::Balanced)),
        _ => None,
    };
    let per_fold: Vec<Vec<f64>> = (0..folds)
        .into_par_iter()
        .map(|f| -> Result<Vec<f64>> {
            let train: Vec<usize> = (0..x.len()).filter(|&i| fold[i] != f).collect();
            let test: Vec<usize> = (0..x.len()).filter(|&i| fold[i] == f).collect();
            let xs: Vec<Vec<f32>> = train.iter().map(|&i| x[i].clone()).collect();
            let ys = y.subset(&train);
            let mut start = None;
            let mut scores = Vec::with_capacity(grid.len());
            for &c in grid {
                steps.check()?;
                let options = FitOptions { c, class_weight };
                let head = match (&ys, &global) {
                    (Targets::Single(yt), Some(w)) => {
                        let weights: Vec<f64> = train.iter().map(|&i| w[i]).collect();
                        let (head, p) = Head::fit_weighted(&xs, yt, labels, c, &weights, start.take())?;
                        start = Some(p);
                        head
                    }
                    (Targets::Single(yt), None) => {
                        let (head, p) = Head::fit_single(&xs, yt, labels, &options, start.take())?;
                        start = Some(p);
                        head
                    }
                    (Targets::Multi(_), _) => Head::fit_targets_with(&xs, &ys, labels, &options)?,
                };
                steps.fitted();
                let mut pred = vec![Vec::new(); x.len()];
                for &i in &test {
                    pred[i] = head.predict(&x[i]);
                }
                scores.push(macro_f1_of(y, labels, &pred, &test));
            }
            Ok(scores)
        })
        .collect::<Result<_>>()?;
    Ok((0..grid.len()).map(|k| per_fold.iter().map(|s| s[k]).sum::<f64>() / folds as f64).collect())
}

/// The first index of the highest score (numpy's `argmax`, as scikit-learn picks its C).
fn first_best(scores: &[f64]) -> usize {
    scores.iter().enumerate().fold(0, |best, (i, &s)| if s > scores[best] { i } else { best })
}

/// One candidate of the selection and its mean inner cross-validated macro F1.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Candidate {
    pub c: f64,
    pub class_weight: ClassWeight,
    pub macro_f1: f64,
}

/// How the objective was chosen.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Selection {
    pub chosen: FitOptions,
    /// Every candidate tried, with its score.
    pub candidates: Vec<Candidate>,
    /// The examples the selection cross-validated on (at most [`SELECTION_MAX_EXAMPLES`]).
    pub n: usize,
}

/// What the user fixed; `None` is chosen by cross-validation.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct TrainChoice {
    pub c: Option<f64>,
    pub class_weight: Option<ClassWeight>,
}

impl TrainChoice {
    /// The choice as the CLI's and the app's words give it: `auto` (chosen by cross-validation)
    /// or a positive number for C; `auto`, `none` or `balanced` for the class weighting.
    pub fn parse(c: &str, class_weight: &str) -> Result<Self> {
        let c = match c.trim() {
            "auto" | "" => None,
            text => match text.parse::<f64>() {
                Ok(v) if v.is_finite() && v > 0.0 => Some(v),
                _ => return Err(Error::Input(format!("the regularization C is a positive number or auto, not {}", crate::error::quoted(text)))),
            },
        };
        let class_weight = match class_weight.trim() {
            "auto" | "" => None,
            "none" => Some(ClassWeight::None),
            "balanced" => Some(ClassWeight::Balanced),
            other => return Err(Error::Input(format!("the class weighting is auto, none or balanced, not {}", crate::error::quoted(other)))),
        };
        Ok(Self { c, class_weight })
    }
}

/// Chooses C and the class weighting by inner cross-validation on the labels (macro F1, each
/// weighting's C as [`cross_validate_c`] chooses it): the balanced weighting wins only with a
/// higher score, and `LogisticRegression()`'s own objective (C = 1, unweighted) is kept whenever
/// it scores as well as the winner. What `choice` fixes is not searched.
pub fn select_options(x: &[Vec<f32>], y: &Targets, labels: &[String], choice: &TrainChoice, seed: u64, steps: &Steps) -> Result<Selection> {
    if let Some(c) = choice.c {
        if !(c.is_finite() && c > 0.0) {
            return Err(Error::Input(format!("the regularization C must be a positive number, not {c}")));
        }
    }
    let grid: Vec<f64> = match choice.c {
        Some(c) => vec![c],
        None => C_GRID.to_vec(),
    };
    let weightings: Vec<ClassWeight> = match choice.class_weight {
        Some(w) => vec![w],
        None => vec![ClassWeight::None, ClassWeight::Balanced],
    };
    if grid.len() == 1 && weightings.len() == 1 {
        let chosen = FitOptions { c: grid[0], class_weight: weightings[0] };
        return Ok(Selection { chosen, candidates: Vec::new(), n: 0 });
    }
    // A seeded stratified sample of at most SELECTION_MAX_EXAMPLES.
    let strata = y.strata();
    let sample: Vec<usize> = if x.len() > SELECTION_MAX_EXAMPLES {
        let mut keep: Vec<usize> = stratified_order(&strata, seed).into_iter().take(SELECTION_MAX_EXAMPLES).collect();
        keep.sort_unstable();
        keep
    } else {
        (0..x.len()).collect()
    };
    let xs: Vec<Vec<f32>> = sample.iter().map(|&i| x[i].clone()).collect();
    let ys = y.subset(&sample);
    let folds = SELECTION_FOLDS.min(xs.len());
    if folds < 2 {
        return Ok(Selection { chosen: FitOptions::default(), candidates: Vec::new(), n: xs.len() });
    }
    let fold = stratified_folds(&ys.strata(), folds, seed.wrapping_add(1));
    let mut candidates = Vec::new();
    let mut best: Option<Candidate> = None;
    for weighting in weightings {
        let scores = cross_validate_c(&xs, &ys, labels, &fold, &grid, weighting, steps)?;
        let k = first_best(&scores);
        candidates.extend(grid.iter().zip(&scores).map(|(&c, &macro_f1)| Candidate { c, class_weight: weighting, macro_f1 }));
        let winner = Candidate { c: grid[k], class_weight: weighting, macro_f1: scores[k] };
        if best.as_ref().is_none_or(|b| winner.macro_f1 > b.macro_f1) {
            best = Some(winner);
        }
    }
    let best = best.expect("at least one weighting");
    let default = candidates.iter().find(|c| c.c == C && c.class_weight == ClassWeight::None);
    let chosen = match default {
        Some(d) if d.macro_f1 >= best.macro_f1 => FitOptions::default(),
        _ => FitOptions { c: best.c, class_weight: best.class_weight },
    };
    Ok(Selection { chosen, candidates, n: xs.len() })
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    /// Always answering the most frequent label (or label set), scored on the same records: what
    /// a head that learned nothing but the label counts gets.
    pub baseline: Baseline,
    /// The objective the head was fitted with, and how it was chosen (when it was).
    pub options: FitOptions,
    pub selection: Option<Selection>,
    /// Each example's out-of-fold probabilities (what the numbers above are computed from).
    #[serde(skip)]
    pub out_of_fold: Vec<Vec<f64>>,
}

/// The majority baseline of a cross-validation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Baseline {
    /// The label (a label set joined by "|") it predicts for every record.
    pub predicts: String,
    pub accuracy: f64,
    pub macro_f1: f64,
}

impl CrossValidation {
    /// Whether the head learned more than the label counts: its macro F1's 95% interval lies
    /// above the majority baseline's macro F1. (Accuracy is no test: on skewed labels the
    /// baseline's accuracy is high, and a head that always answers the majority matches it.)
    pub fn beats_baseline(&self) -> bool {
        self.macro_f1.low > self.baseline.macro_f1
    }

    /// How the objective was chosen, in one sentence.
    pub fn objective(&self) -> String {
        let weighting = match self.options.class_weight {
            ClassWeight::None => "unweighted",
            ClassWeight::Balanced => "balanced class weights",
        };
        let chosen = format!("Regularization C = {}, {weighting}", self.options.c);
        let Some(selection) = self.selection.as_ref().filter(|s| !s.candidates.is_empty()) else {
            return format!("{chosen}, as asked.");
        };
        let score = |c: f64, w: ClassWeight| selection.candidates.iter().find(|k| k.c == c && k.class_weight == w).map(|k| k.macro_f1);
        let mut sentence = format!("{chosen}, chosen by {SELECTION_FOLDS}-fold cross-validation on {} labels", selection.n);
        if let Some(best) = score(self.options.c, self.options.class_weight) {
            sentence.push_str(&format!(" (macro F1 {best:.3}"));
            match score(C, ClassWeight::None) {
                Some(default) if self.options != FitOptions::default() => sentence.push_str(&format!("; C = 1 unweighted: {default:.3})")),
                _ => sentence.push(')'),
            }
        }
        sentence.push('.');
        sentence
    }

    /// One sentence on the head against the baseline, then how its objective was chosen: what
    /// the CLI and the app show.
    pub fn verdict(&self) -> String {
        format!("{} {}", self.baseline_verdict(), self.objective())
    }

    fn baseline_verdict(&self) -> String {
        let b = &self.baseline;
        if self.beats_baseline() {
            format!(
                "The head beats always answering {:?} (accuracy {:.3}, macro F1 {:.3}): its macro F1 {:.3} ({:.3}–{:.3}) is above it.",
                b.predicts, b.accuracy, b.macro_f1, self.macro_f1.value, self.macro_f1.low, self.macro_f1.high
            )
        } else {
            format!(
                "The head does not beat always answering {:?} (accuracy {:.3}, macro F1 {:.3}): its macro F1 {:.3} ({:.3}–{:.3}) is not above it, \
                 so it learned little beyond how often each label occurs. Label more records of the rarer labels, or embed with another model.",
                b.predicts, b.accuracy, b.macro_f1, self.macro_f1.value, self.macro_f1.low, self.macro_f1.high
            )
        }
    }
}

/// Always predicting the most frequent label (ties: the first), or label set, scored as the head is.
fn majority_baseline(y: &Targets, labels: &[String], options: &EvalOptions) -> Baseline {
    let n = y.len();
    match y {
        Targets::Single(y) => {
            let mut counts = vec![0usize; labels.len()];
            y.iter().for_each(|&c| counts[c] += 1);
            let majority = argmax(&counts.iter().map(|&c| c as f64).collect::<Vec<_>>());
            let m = metrics::single_label(labels, y, &vec![majority; n], &vec![1.0; n], options);
            Baseline { predicts: labels[majority].clone(), accuracy: m.accuracy.value, macro_f1: m.macro_f1.value }
        }
        Targets::Multi(y) => {
            let mut counts: std::collections::BTreeMap<&Vec<bool>, usize> = std::collections::BTreeMap::new();
            y.iter().for_each(|set| *counts.entry(set).or_default() += 1);
            let best = counts.values().copied().max().unwrap_or(0);
            let set = y.iter().find(|s| counts[s] == best).cloned().unwrap_or_default();
            let threshold = crate::domain::annotation::MULTI_LABEL_THRESHOLD;
            let m = metrics::multi_label(labels, y, &vec![set.clone(); n], threshold, options);
            let names: Vec<&str> = set.iter().zip(labels).filter(|(on, _)| **on).map(|(_, l)| l.as_str()).collect();
            Baseline { predicts: names.join("|"), accuracy: m.subset_accuracy, macro_f1: m.macro_f1.value }
        }
    }
}

fn argmax(p: &[f64]) -> usize {
    p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0))).map_or(0, |(i, _)| i)
}

/// Each fold's held-out examples predicted by a head trained on a stratified subset of `n` of the
/// other folds' examples; `None` when some subset has fewer than two labels.
#[allow(clippy::too_many_arguments)]
fn heads_on_subsets(
    x: &[Vec<f32>],
    y: &Targets,
    labels: &[String],
    fold: &[usize],
    n: usize,
    seed: u64,
    options: &FitOptions,
    steps: &Steps,
) -> Result<Option<Vec<Vec<f64>>>> {
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
        let head =
            steps.fit(|| Head::fit_targets_with(&subset.iter().map(|&i| x[i].clone()).collect::<Vec<_>>(), &y.subset(&subset), labels, options))?;
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
    cross_validate_with(x, y, labels, folds, seed, &FitOptions::default(), &Steps::default())
}

/// [`cross_validate`] of the head fitted with `options`.
pub fn cross_validate_with(
    x: &[Vec<f32>],
    y: &Targets,
    labels: &[String],
    folds: usize,
    seed: u64,
    fit: &FitOptions,
    steps: &Steps,
) -> Result<CrossValidation> {
    if folds < 2 {
        return Err(Error::Input("cross-validation needs at least 2 folds".into()));
    }
    if x.len() < folds {
        return Err(Error::Input(format!("{} labeled records are fewer than the {folds} folds; label more records first", x.len())));
    }
    let fold = stratified_folds(&y.strata(), folds, seed);
    let proba = cross_val_predict_with(x, y, labels, &fold, fit, steps)?;
    let options = EvalOptions { seed, ..Default::default() };
    let threshold = crate::domain::annotation::MULTI_LABEL_THRESHOLD;
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
        if let Some(pooled) = heads_on_subsets(x, y, labels, &fold, n, seed, fit, steps)? {
            let (a, f) = score(&pooled, &all);
            curve.push(CurvePoint { n, accuracy: a.value, macro_f1: f.value });
        }
        n *= 2;
    }
    let baseline = majority_baseline(y, labels, &options);
    Ok(CrossValidation { folds, n: x.len(), accuracy, macro_f1, learning_curve: curve, baseline, options: *fit, selection: None, out_of_fold: proba })
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
    fn the_fits_a_training_makes_are_counted_as_planned_and_cancel_stops_them() {
        let x: Vec<Vec<f32>> = (0..120).map(|i| vec![(i % 3) as f32 + 0.1 * (i % 7) as f32, 1.0 - (i % 3) as f32]).collect();
        let y = Targets::Single((0..120).map(|i| i % 3).collect());
        let labels: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        for choice in [
            TrainChoice::default(),
            TrainChoice { c: Some(1.0), class_weight: None },
            TrainChoice { c: Some(1.0), class_weight: Some(ClassWeight::None) },
        ] {
            let steps = Steps::default();
            let selection = select_options(&x, &y, &labels, &choice, 0, &steps).unwrap();
            cross_validate_with(&x, &y, &labels, 5, 0, &selection.chosen, &steps).unwrap();
            assert_eq!(steps.done(), planned_fits(x.len(), 5, &choice), "{choice:?}");
        }
        let cancel = std::sync::atomic::AtomicBool::new(true);
        let stopped = select_options(&x, &y, &labels, &TrainChoice::default(), 0, &Steps::new(&cancel));
        assert!(matches!(stopped, Err(Error::Cancelled)));
        assert!(matches!(cross_validate_with(&x, &y, &labels, 5, 0, &FitOptions::default(), &Steps::new(&cancel)), Err(Error::Cancelled)));
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
        // Vectors of huge finite numbers (no embedding is) are refused at once, not optimized forever.
        let huge: Vec<Vec<f32>> = x.iter().map(|v| v.iter().map(|a| a.signum() * 3e38).collect()).collect();
        assert!(Head::fit(&huge, &y, &labels).unwrap_err().to_string().contains("length"));
        assert!(Head::fit_one_vs_rest(&huge, &vec![vec![true, false, false]; 60], &labels).is_err());
    }

    /// Skewed labels on unit-length vectors that all point nearly the same way, as mean-pooled
    /// embeddings of one language do (their differences are a small part of their length): with
    /// `LogisticRegression()`'s C = 1 the penalty wins and the head leans on the most frequent
    /// label (little above the baseline); the selection finds a C that learns, and the verdict
    /// says it beats the baseline.
    #[test]
    fn the_selection_finds_a_c_that_learns_where_c_1_does_not() {
        use rand::Rng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let (k, d, n) = (6usize, 12usize, 240usize);
        let common: Vec<f32> = (0..d).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let centers: Vec<Vec<f32>> = (0..k).map(|_| (0..d).map(|_| rng.random_range(-1.0f32..1.0)).collect()).collect();
        // Label c with weight 1/(c+1): a long tail, as topics are.
        let total: f32 = (0..k).map(|c| 1.0 / (c as f32 + 1.0)).sum();
        let y: Vec<usize> = (0..n)
            .map(|_| {
                let mut u = rng.random_range(0.0..total);
                (0..k)
                    .find(|&c| {
                        u -= 1.0 / (c as f32 + 1.0);
                        u <= 0.0
                    })
                    .unwrap_or(k - 1)
            })
            .collect();
        let x: Vec<Vec<f32>> = y
            .iter()
            .map(|&c| {
                let v: Vec<f32> = (0..d).map(|j| 8.0 * common[j] + centers[c][j] + 0.4 * rng.random_range(-1.0f32..1.0)).collect();
                let norm = v.iter().map(|a| a * a).sum::<f32>().sqrt();
                v.iter().map(|a| a / norm).collect()
            })
            .collect();
        let labels: Vec<String> = (0..k).map(|c| format!("tema{c}")).collect();
        let y = Targets::Single(y);
        let default = cross_validate(&x, &y, &labels, 5, 0).unwrap();
        let selection = select_options(&x, &y, &labels, &TrainChoice::default(), 0, &Steps::default()).unwrap();
        assert!(selection.chosen.c > 1.0, "{selection:?}");
        let chosen = cross_validate_with(&x, &y, &labels, 5, 0, &selection.chosen, &Steps::default()).unwrap();
        assert!(chosen.macro_f1.value > default.macro_f1.value + 0.2, "{:?} against {:?}", chosen.macro_f1, default.macro_f1);
        assert!(chosen.beats_baseline(), "{}", chosen.verdict());
        // What the user fixes is not searched.
        let fixed =
            select_options(&x, &y, &labels, &TrainChoice { c: Some(1.0), class_weight: Some(ClassWeight::None) }, 0, &Steps::default()).unwrap();
        assert_eq!((fixed.chosen, fixed.candidates.len()), (FitOptions::default(), 0));
        assert_eq!(TrainChoice::parse("auto", "balanced").unwrap(), TrainChoice { c: None, class_weight: Some(ClassWeight::Balanced) });
        assert!(TrainChoice::parse("-1", "auto").is_err() && TrainChoice::parse("auto", "heavy").is_err());
    }

    /// The majority baseline is always answering the most frequent label; a head on vectors
    /// that carry no information about the labels does not beat it, one on separable vectors does.
    #[test]
    fn heads_are_measured_against_the_majority_baseline() {
        let labels: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        // 60% a, 30% b, 10% c.
        let y: Vec<usize> = (0..100)
            .map(|i| {
                if i % 10 < 6 {
                    0
                } else if i % 10 < 9 {
                    1
                } else {
                    2
                }
            })
            .collect();
        let noise: Vec<Vec<f32>> = (0..100).map(|i| vec![((i * 37 % 101) as f32 / 101.0) - 0.5, ((i * 53 % 97) as f32 / 97.0) - 0.5]).collect();
        let cv = cross_validate(&noise, &Targets::Single(y.clone()), &labels, 5, 1).unwrap();
        assert_eq!(cv.baseline.predicts, "a");
        assert!((cv.baseline.accuracy - 0.6).abs() < 1e-12);
        // F1 of "a" is 2·0.6/(1 + 0.6) = 0.75; b and c score 0: macro F1 0.25.
        assert!((cv.baseline.macro_f1 - 0.25).abs() < 1e-12, "{}", cv.baseline.macro_f1);
        assert!(!cv.beats_baseline(), "{:?} vs {:?}", cv.macro_f1, cv.baseline);
        assert!(cv.verdict().starts_with("The head does not beat always answering \"a\""), "{}", cv.verdict());
        let separable: Vec<Vec<f32>> = y.iter().enumerate().map(|(i, &c)| vec![c as f32 + 0.05 * (i % 5) as f32, 1.0 - c as f32]).collect();
        let cv = cross_validate(&separable, &Targets::Single(y), &labels, 5, 1).unwrap();
        assert!(cv.beats_baseline(), "{:?}", cv.macro_f1);
        assert!(cv.verdict().starts_with("The head beats"), "{}", cv.verdict());
    }
}
