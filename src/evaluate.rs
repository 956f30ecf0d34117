//! Evaluation of stored zero-shot runs against the user's own labels.
//!
//! The reference label of a record is its annotation when the annotation is *accepted*, otherwise
//! the corpus' gold column; a *discarded* record is left out, and so is a record with neither. When
//! several runs are compared, each is evaluated on the same records: those with a reference and a
//! prediction from every run. A reference label outside a run's label set counts as an error of
//! that run (it could never predict it). Multi-label gold values list labels separated by `|`.

use std::collections::HashMap;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::metrics::{self, EvalOptions, MultiLabelMetrics, SingleLabelMetrics};
use crate::store::{RunInfo, Status, Store};

/// Where the reference labels came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReferenceCounts {
    pub accepted_annotations: u64,
    pub gold: u64,
    /// Records left out: discarded, or without a reference or without every run's prediction.
    pub excluded: u64,
}

/// A confidently wrong prediction, to show next to the numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mistake {
    pub row_number: u64,
    pub source_id: Option<String>,
    pub text: String,
    pub reference: Vec<String>,
    pub predicted: Vec<String>,
    pub confidence: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RunMetrics {
    SingleLabel(SingleLabelMetrics),
    MultiLabel(MultiLabelMetrics),
}

impl RunMetrics {
    /// (label, F1) for every label the metrics cover.
    pub fn label_f1(&self) -> Vec<(String, f64)> {
        let rows = match self {
            RunMetrics::SingleLabel(m) => &m.per_label,
            RunMetrics::MultiLabel(m) => &m.per_label,
        };
        rows.iter().map(|r| (r.label.clone(), r.f1)).collect()
    }
}

/// One run's evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunEvaluation {
    pub run: RunInfo,
    pub metrics: RunMetrics,
    /// For each of the run's labels, how its scores spread over [0, 1] on the evaluated records.
    pub score_histograms: Vec<(String, [u64; 10])>,
    /// The (up to) ten most confident mistakes.
    pub mistakes: Vec<Mistake>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub corpus: String,
    pub references: ReferenceCounts,
    pub runs: Vec<RunEvaluation>,
}

/// Multi-label runs predict a label when its score reaches this.
pub const MULTI_LABEL_THRESHOLD: f64 = 0.5;

/// Where a record's reference labels come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceSource {
    Annotation,
    Gold,
}

/// A record's reference labels: its annotation when accepted (with labels), otherwise its gold
/// cell (split at `|` when `split_gold`, for evaluations with a multi-label run); `None` for a
/// discarded record or one with neither. The one definition the evaluation and the labeling
/// filters (the `selectra_reference` SQL function) share.
pub fn reference(annotation: Option<(&[String], Status)>, gold: Option<&str>, split_gold: bool) -> Option<(Vec<String>, ReferenceSource)> {
    match annotation {
        Some((_, Status::Discarded)) => None,
        Some((labels, Status::Accepted)) if !labels.is_empty() => Some((labels.to_vec(), ReferenceSource::Annotation)),
        _ => {
            let labels: Vec<String> = match gold {
                Some(g) if split_gold => g.split('|').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
                Some(g) if !g.trim().is_empty() => vec![g.trim().to_string()],
                _ => Vec::new(),
            };
            // A gold cell with no label in it (empty, or only separators) is no reference.
            (!labels.is_empty()).then_some((labels, ReferenceSource::Gold))
        }
    }
}

struct Evaluated {
    row_number: u64,
    source_id: Option<String>,
    text: String,
    reference: Vec<String>,
    /// run id → (labels, scores) as stored (sorted by score, descending).
    predictions: HashMap<i64, (Vec<String>, Vec<f32>)>,
}

/// The corpus an evaluation is about when none is named: the one `run_ids` share, or the
/// database's only corpus.
pub fn corpus_of(store: &Store, run_ids: &[i64]) -> Result<String> {
    if !run_ids.is_empty() {
        let mut corpora: Vec<String> = run_ids.iter().map(|&id| store.run(id).map(|r| r.key.corpus)).collect::<Result<_>>()?;
        corpora.sort();
        corpora.dedup();
        return match corpora.as_slice() {
            [one] => Ok(one.clone()),
            _ => Err(Error::Input(format!("runs {run_ids:?} belong to different corpora ({}); compare runs of one corpus", corpora.join(", ")))),
        };
    }
    let names: Vec<String> = store.corpora()?.into_iter().map(|c| c.name).collect();
    match names.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::Input("the database has no corpora; import one first".into())),
        _ => Err(Error::Input(format!("the database has several corpora ({}); choose one", names.join(", ")))),
    }
}

/// Evaluates `run_ids` (all of the corpus' runs when empty) of `corpus`.
pub fn evaluate(store: &Store, corpus: &str, run_ids: &[i64], options: &EvalOptions) -> Result<Evaluation> {
    let all = store.runs(corpus)?;
    let runs: Vec<RunInfo> = if run_ids.is_empty() {
        all
    } else {
        run_ids
            .iter()
            .map(|id| {
                all.iter().find(|r| r.id == *id).cloned().ok_or_else(|| {
                    let known: Vec<String> = all.iter().map(|r| r.id.to_string()).collect();
                    Error::Input(format!(
                        "run {id} is not a run of corpus '{corpus}' (its runs: {})",
                        if known.is_empty() { "none".into() } else { known.join(", ") }
                    ))
                })
            })
            .collect::<Result<_>>()?
    };
    if runs.is_empty() {
        return Err(Error::Input(format!("corpus '{corpus}' has no zero-shot runs to evaluate; run zero-shot over it first")));
    }
    let multi_any = runs.iter().any(|r| r.key.multi_label);
    let mut references = ReferenceCounts::default();
    let mut records = Vec::new();
    store.for_each_export_row(corpus, &mut |row| {
        let reference =
            reference(row.annotation.as_ref().map(|(l, s)| (l.as_slice(), *s)), row.gold.as_deref(), multi_any).map(|(labels, source)| {
                match source {
                    ReferenceSource::Annotation => references.accepted_annotations += 1,
                    ReferenceSource::Gold => references.gold += 1,
                }
                labels
            });
        let predictions: HashMap<i64, (Vec<String>, Vec<f32>)> =
            row.predictions.into_iter().map(|(run, _, labels, scores)| (run, (labels, scores))).collect();
        match reference {
            Some(reference) if runs.iter().all(|r| predictions.contains_key(&r.id)) => {
                records.push(Evaluated { row_number: row.row_number, source_id: row.source_id, text: row.text, reference, predictions })
            }
            _ => references.excluded += 1,
        }
        Ok(())
    })?;
    if records.is_empty() {
        return Err(Error::Input(format!(
            "no record of corpus '{corpus}' has both a reference label (an accepted annotation or the gold column) and a prediction from {}; \
             annotate some records or import the corpus with a label column",
            if runs.len() == 1 { "the run".to_string() } else { "every selected run".to_string() }
        )));
    }
    let runs = runs.into_iter().map(|run| evaluate_run(run, &records, options)).collect();
    Ok(Evaluation { corpus: corpus.to_string(), references, runs })
}

/// The metrics a run with these predictions would get from [`evaluate`]: each item is (reference
/// labels, predicted labels sorted by score, their scores). The template lab scores hypotheses
/// with it, so its numbers are a run's by construction.
pub fn score_predictions(
    labels: &[String],
    multi_label: bool,
    items: Vec<(Vec<String>, Vec<String>, Vec<f32>)>,
    options: &EvalOptions,
) -> RunMetrics {
    let run = RunInfo {
        id: 0,
        name: None,
        kind: "zeroshot".into(),
        key: crate::store::RunKey {
            corpus: String::new(),
            model: String::new(),
            weights_sha256: String::new(),
            labels: labels.to_vec(),
            template: String::new(),
            multi_label,
            strip_accents: None,
            precision: crate::precision::Precision::Exact,
        },
        created_at: String::new(),
        finished_at: None,
        predictions: 0,
        records: 0,
        precision_check: None,
    };
    let records: Vec<Evaluated> = items
        .into_iter()
        .map(|(reference, l, s)| Evaluated {
            row_number: 0,
            source_id: None,
            text: String::new(),
            reference,
            predictions: HashMap::from([(0, (l, s))]),
        })
        .collect();
    evaluate_run(run, &records, options).metrics
}

fn evaluate_run(run: RunInfo, records: &[Evaluated], options: &EvalOptions) -> RunEvaluation {
    // The run's labels first, in its order, then reference labels it cannot predict.
    let mut labels = run.key.labels.clone();
    for r in records {
        for l in &r.reference {
            if !labels.contains(l) {
                labels.push(l.clone());
            }
        }
    }
    let index: HashMap<&str, usize> = labels.iter().enumerate().map(|(i, l)| (l.as_str(), i)).collect();
    let mut histograms: Vec<(String, [u64; 10])> = run.key.labels.iter().map(|l| (l.clone(), [0u64; 10])).collect();
    let mut mistakes = Vec::new();
    for r in records {
        let (names, scores) = &r.predictions[&run.id];
        for (name, &score) in names.iter().zip(scores) {
            if let Some(h) = histograms.iter_mut().find(|(l, _)| l == name) {
                h.1[((score as f64 * 10.0).floor() as usize).min(9)] += 1;
            }
        }
    }
    let metrics = if run.key.multi_label {
        let mut truth = Vec::with_capacity(records.len());
        let mut pred = Vec::with_capacity(records.len());
        for r in records {
            let mut t = vec![false; labels.len()];
            r.reference.iter().for_each(|l| t[index[l.as_str()]] = true);
            let (names, scores) = &r.predictions[&run.id];
            let mut p = vec![false; labels.len()];
            let mut predicted = Vec::new();
            for (name, &score) in names.iter().zip(scores) {
                if score as f64 >= MULTI_LABEL_THRESHOLD {
                    p[index[name.as_str()]] = true;
                    predicted.push(name.clone());
                }
            }
            if t != p {
                // Confidence of a wrong set: how sure the model was of its furthest-off label.
                let confidence = names
                    .iter()
                    .zip(scores)
                    .filter(|(n, _)| t[index[n.as_str()]] != p[index[n.as_str()]])
                    .map(|(_, &s)| (s as f64 - 0.5).abs() * 2.0)
                    .fold(0.0, f64::max);
                mistakes.push(mistake(r, predicted, confidence));
            }
            truth.push(t);
            pred.push(p);
        }
        RunMetrics::MultiLabel(metrics::multi_label(&labels, &truth, &pred, MULTI_LABEL_THRESHOLD, options))
    } else {
        let mut truth = Vec::with_capacity(records.len());
        let mut pred = Vec::with_capacity(records.len());
        let mut confidence = Vec::with_capacity(records.len());
        for r in records {
            let (names, scores) = &r.predictions[&run.id];
            // Stored predictions are sorted as the pipeline sorts them: the first is the top label.
            let (top, score) = (names[0].as_str(), scores[0] as f64);
            let t = index[r.reference[0].as_str()];
            truth.push(t);
            pred.push(index[top]);
            confidence.push(score);
            if index[top] != t {
                mistakes.push(mistake(r, vec![top.to_string()], score));
            }
        }
        RunMetrics::SingleLabel(metrics::single_label(&labels, &truth, &pred, &confidence, options))
    };
    mistakes.sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then(a.row_number.cmp(&b.row_number)));
    mistakes.truncate(10);
    RunEvaluation { run, metrics, score_histograms: histograms, mistakes }
}

fn mistake(r: &Evaluated, predicted: Vec<String>, confidence: f64) -> Mistake {
    Mistake { row_number: r.row_number, source_id: r.source_id.clone(), text: r.text.clone(), reference: r.reference.clone(), predicted, confidence }
}
