//! Comparing models: an evaluation of runs with its figures (`selectra report --json`, the
//! Compare view), and the published comparison of the SELECTRA card.

use serde::Serialize;

use crate::analysis::evaluate::{Evaluation, ReferenceCounts, RunEvaluation};
use crate::error::Result;
use crate::report::published::{LoadableModel, Published, PublishedScore, Source, CARD_MODELS, CARD_TASKS};
use crate::report::Figure;

/// A chart drawn by the core, as SVG text (shown as an image, never as markup).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FigureDto {
    pub name: String,
    pub caption: String,
    pub svg: String,
}

impl FigureDto {
    pub fn from_figure(f: Figure) -> Result<Self> {
        Ok(Self { svg: f.chart.svg()?, name: f.name, caption: f.caption })
    }
}

/// Runs scored against the corpus's reference labels, on the records every one of them predicted.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EvaluationDto {
    pub corpus: String,
    pub references: ReferenceCounts,
    pub runs: Vec<RunEvaluationDto>,
    /// The runs' ids, in the order scored.
    pub run_ids: Vec<i64>,
    pub figures: Vec<FigureDto>,
}

/// One run's evaluation, with the core's warning when some references lie outside its labels.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunEvaluationDto {
    #[serde(flatten)]
    pub evaluation: RunEvaluation,
    pub outside_warning: Option<String>,
}

impl EvaluationDto {
    pub fn new(e: &Evaluation) -> Result<Self> {
        let figures = crate::report::evaluation_figures(e).into_iter().map(FigureDto::from_figure).collect::<Result<_>>()?;
        Ok(Self {
            corpus: e.corpus.clone(),
            references: e.references.clone(),
            runs: e.runs.iter().map(|r| RunEvaluationDto { outside_warning: r.outside_warning(), evaluation: r.clone() }).collect(),
            run_ids: e.runs.iter().map(|r| r.run.id).collect(),
            figures,
        })
    }
}

/// The SELECTRA card's comparison and the other published scores, with their charts.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PublishedDto {
    /// The card's comparison table: its fine-tuned models (rows) and tasks (columns), in order.
    pub card_models: Vec<String>,
    pub card_tasks: Vec<String>,
    pub scores: Vec<PublishedScoreDto>,
    pub sources: Vec<Source>,
    pub figures: Vec<FigureDto>,
    /// What loads for each published model's family.
    pub models: Vec<LoadableModel>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PublishedScoreDto {
    #[serde(flatten)]
    pub score: PublishedScore,
    /// The number as the source prints it ("0.865 ± 0.004", "0.8691"): what the table shows.
    pub display: String,
}

impl PublishedDto {
    pub fn read() -> Result<Self> {
        let p = Published::load()?;
        let figures = crate::report::published_figures(&p).into_iter().map(FigureDto::from_figure).collect::<Result<_>>()?;
        Ok(Self {
            card_models: CARD_MODELS.iter().map(|m| m.to_string()).collect(),
            card_tasks: CARD_TASKS.iter().map(|t| t.to_string()).collect(),
            scores: p.scores.iter().map(|s| PublishedScoreDto { display: s.display(), score: s.clone() }).collect(),
            sources: p.sources,
            figures,
            models: p.models,
        })
    }
}

/// What writing a report produced (`selectra report --json`): the files, and the evaluation they
/// show when a corpus was scored.
#[derive(Debug, Clone, Serialize)]
pub struct ReportOutcome {
    pub files: crate::report::ReportFiles,
    pub evaluation: Option<EvaluationDto>,
    /// Tagging runs scored on the corpus's reference entity spans, when it has both.
    pub entities: Option<crate::analysis::tagging::EntityEvaluation>,
}

/// The user's own numbers in the card's columns ("your data" beside the published table): a
/// tagging run's entity F1 under CoNLL 2002 NER's column, a label run's accuracy on a
/// sentence-pair corpus under the pair tasks' (PAWS-X, XNLI), and on single texts under
/// "Accuracy" (no card column has single-text classification).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct YourData {
    pub corpus: String,
    /// Whether the corpus's records are sentence pairs.
    pub pairs: bool,
    /// Records scored for labels and for entities.
    pub label_records: u64,
    pub entity_records: u64,
    pub rows: Vec<YourDataRow>,
    /// Size against score on each card task where a run with a known size has a number.
    pub figures: Vec<FigureDto>,
}

/// One run's numbers, each with its bootstrap interval.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct YourDataRow {
    pub run: i64,
    pub model: String,
    pub kind: crate::store::RunKind,
    /// Entity-level micro F1 (the card's NER column), for a tagging run.
    pub entities_f1: Option<crate::analysis::metrics::Estimate>,
    /// Accuracy on sentence pairs (the card's PAWS-X and XNLI columns), for a single-label run of a pair corpus.
    pub pair_accuracy: Option<crate::analysis::metrics::Estimate>,
    /// Accuracy on single texts, for a single-label run of any other corpus.
    pub accuracy: Option<crate::analysis::metrics::Estimate>,
    /// Macro F1 of the labels or of the entity types.
    pub macro_f1: crate::analysis::metrics::Estimate,
    /// The model's parameters, when the front end knows them (a model it has loaded).
    pub parameters: Option<u64>,
}

impl YourData {
    /// Scores every run of `corpus` that can be scored on the user's references: label runs on
    /// the reference labels, tagging runs on the reference spans. `parameters` gives a model's
    /// size by the name a run records, where known; such runs are drawn on the card's
    /// size-vs-score charts.
    pub fn of(
        store: &crate::store::Store,
        corpus: &str,
        options: &crate::analysis::metrics::EvalOptions,
        watch: &mut crate::domain::progress::Watch,
        parameters: &dyn Fn(&str) -> Option<u64>,
    ) -> Result<Self> {
        use crate::analysis::evaluate::RunMetrics;
        let pairs = store.corpus_has_pairs(corpus)?;
        let has_label_runs = store.runs(corpus)?.iter().any(|r| r.kind.predicts_labels());
        let evaluation = if has_label_runs { Some(crate::analysis::evaluate::evaluate_watched(store, corpus, &[], options, watch)?) } else { None };
        let entities = if crate::analysis::tagging::can_evaluate(store, corpus)? {
            Some(crate::analysis::tagging::evaluate_taggers(store, corpus, &[], options)?)
        } else {
            None
        };
        let mut rows = Vec::new();
        for r in evaluation.iter().flat_map(|e| &e.runs) {
            let (accuracy, macro_f1) = match &r.metrics {
                RunMetrics::SingleLabel(m) => (Some(m.accuracy), m.macro_f1),
                RunMetrics::MultiLabel(m) => (None, m.macro_f1),
            };
            rows.push(YourDataRow {
                run: r.run.id,
                model: r.run.key.model.clone(),
                kind: r.run.kind,
                entities_f1: None,
                pair_accuracy: accuracy.filter(|_| pairs),
                accuracy: accuracy.filter(|_| !pairs),
                macro_f1,
                parameters: parameters(&r.run.key.model),
            });
        }
        for t in entities.iter().flat_map(|e| &e.runs) {
            // A run of single tokens is reported in seqeval's default reading, as conlleval's
            // numbers (the card's) are.
            let Some(scores) = t.scores.first() else { continue };
            rows.push(YourDataRow {
                run: t.run,
                model: t.model.clone(),
                kind: crate::store::RunKind::Tagger,
                entities_f1: Some(scores.micro_f1),
                pair_accuracy: None,
                accuracy: None,
                macro_f1: scores.macro_f1,
                parameters: parameters(&t.model),
            });
        }
        // The card's columns: entity F1 under NER, pair accuracy under PAWS-X and XNLI.
        let mut measured: Vec<(&str, String, f64, f64)> = Vec::new();
        for r in &rows {
            let Some(size) = r.parameters else { continue };
            let (name, millions) = (format!("run {}", r.run), size as f64 / 1e6);
            if let Some(f1) = r.entities_f1 {
                measured.push((CARD_TASKS[0], name.clone(), millions, f1.value));
            }
            if let Some(accuracy) = r.pair_accuracy {
                measured.push((CARD_TASKS[1], name.clone(), millions, accuracy.value));
                measured.push((CARD_TASKS[2], name, millions, accuracy.value));
            }
        }
        let published = Published::load()?;
        let figures = crate::report::your_data_figures(&published, &measured).into_iter().map(FigureDto::from_figure).collect::<Result<_>>()?;
        Ok(Self {
            corpus: corpus.to_string(),
            pairs,
            label_records: evaluation.as_ref().and_then(|e| e.runs.first()).map_or(0, |r| r.metrics_records()),
            entity_records: entities.as_ref().map_or(0, |e| e.n),
            rows,
            figures,
        })
    }
}
