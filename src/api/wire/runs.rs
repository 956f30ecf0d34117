//! Runs over a corpus: a run with its precision check in words, a run's outcome, a trained head,
//! the template lab's scores.

use serde::Serialize;

use crate::analysis::learn::{Baseline, Candidate, ClassWeight};
use crate::domain::precision::PrecisionOutcome;
use crate::jobs::corpus_run::RunSummary;
use crate::jobs::templates::TemplateScore;
use crate::jobs::train::TrainSummary;
use crate::store::RunInfo;

/// A run, with the fast mode's agreement check in one sentence.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunDto {
    #[serde(flatten)]
    pub info: RunInfo,
    /// `precision_check` in words.
    pub precision_check_summary: Option<String>,
    /// Whether the run scores labels per record (suggestions, orders, evaluation and Compare
    /// take it); a tagger's run finds entities instead.
    pub predicts_labels: bool,
}

impl From<RunInfo> for RunDto {
    fn from(info: RunInfo) -> Self {
        Self { precision_check_summary: info.precision_check.as_ref().map(|c| c.summary()), predicts_labels: info.kind.predicts_labels(), info }
    }
}

/// What running (or resuming) a zero-shot run did (`selectra run --json`).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunSummaryDto {
    pub run: RunDto,
    /// Records predicted in this session (0 when the run was already complete).
    pub predicted_now: u64,
    pub cancelled: bool,
    /// The precision asked for and used, with the fast mode's agreement check.
    pub precision: PrecisionOutcome,
    /// This session's agreement check, in words.
    pub check_summary: Option<String>,
}

impl From<RunSummary> for RunSummaryDto {
    fn from(s: RunSummary) -> Self {
        Self {
            run: s.run.into(),
            predicted_now: s.predicted_now,
            cancelled: s.cancelled,
            check_summary: s.precision.check.as_ref().map(|c| c.summary()),
            precision: s.precision,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CurvePointDto {
    pub n: u64,
    pub accuracy: f64,
    pub macro_f1: f64,
}

/// A head trained on the corpus's labels (`selectra train --json`, the app's training panel).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TrainSummaryDto {
    /// The trained run's id; the run itself is `trained_run` (its scores are the suggestions).
    pub run: i64,
    pub trained_run: RunDto,
    /// What it learned from, in words ("accepted annotations").
    pub source: String,
    /// How long the training took (embedding included), in seconds.
    pub secs: f64,
    /// Of those, the fits and storing the run: what a retrain costs.
    pub fit_secs: f64,
    pub n_train: u64,
    pub labels: Vec<String>,
    pub folds: u64,
    /// Cross-validated accuracy and macro F1, with their bootstrap 95% intervals.
    pub cv_accuracy: f64,
    pub cv_macro_f1: f64,
    pub cv_accuracy_ci: [f64; 2],
    pub cv_macro_f1_ci: [f64; 2],
    pub learning_curve: Vec<CurvePointDto>,
    /// Always answering the most frequent label.
    pub baseline: Baseline,
    /// Whether the head learned more than the label counts, and the core's sentence saying so.
    pub beats_baseline: bool,
    pub verdict: String,
    /// The objective trained with, and the candidates cross-validation chose it from (if it chose).
    pub c: f64,
    pub class_weight: ClassWeight,
    pub selection: Option<Vec<Candidate>>,
}

impl From<TrainSummary> for TrainSummaryDto {
    fn from(t: TrainSummary) -> Self {
        let cv = t.cross_validation;
        Self {
            run: t.run.id,
            trained_run: t.run.into(),
            source: t.source.description().into(),
            secs: t.secs,
            fit_secs: t.fit_secs,
            n_train: t.n_train as u64,
            labels: t.labels,
            folds: cv.folds as u64,
            cv_accuracy: cv.accuracy.value,
            cv_macro_f1: cv.macro_f1.value,
            cv_accuracy_ci: [cv.accuracy.low, cv.accuracy.high],
            cv_macro_f1_ci: [cv.macro_f1.low, cv.macro_f1.high],
            learning_curve: cv.learning_curve.iter().map(|p| CurvePointDto { n: p.n as u64, accuracy: p.accuracy, macro_f1: p.macro_f1 }).collect(),
            beats_baseline: cv.beats_baseline(),
            verdict: cv.verdict(),
            c: cv.options.c,
            class_weight: cv.options.class_weight,
            selection: cv.selection.map(|s| s.candidates),
            baseline: cv.baseline,
        }
    }
}

/// One template of the template lab (`selectra templates --json` prints a list of these).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TemplateScoreDto {
    pub template: String,
    /// Accuracy and macro F1 with their bootstrap 95% intervals.
    pub accuracy: f64,
    pub ci: [f64; 2],
    pub macro_f1: f64,
    pub macro_f1_ci: [f64; 2],
    pub n: u64,
    /// Labeled records left out because their reference is outside the labels.
    pub outside: u64,
}

impl From<TemplateScore> for TemplateScoreDto {
    fn from(t: TemplateScore) -> Self {
        Self {
            template: t.template,
            accuracy: t.accuracy.value,
            ci: [t.accuracy.low, t.accuracy.high],
            macro_f1: t.macro_f1.value,
            macro_f1_ci: [t.macro_f1.low, t.macro_f1.high],
            n: t.n,
            outside: t.outside,
        }
    }
}
