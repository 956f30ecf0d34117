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
