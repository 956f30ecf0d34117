//! Evaluation of stored zero-shot runs against the user's own labels.
//!
//! The reference label of a record is its annotation when the annotation is *accepted*, otherwise
//! the corpus' gold column; a *discarded* record is left out, and so is a record with neither. When
//! several runs are compared, each is evaluated on the same records: those with a reference and a
//! prediction from every run. A reference label outside a run's label set counts as an error of
//! that run (it could never predict it). Multi-label gold values list labels separated by `|`.

use std::collections::HashMap;

use serde::Serialize;

use crate::analysis::metrics::{self, EvalOptions, MultiLabelMetrics, SingleLabelMetrics};
use crate::domain::annotation::{reference, within, ReferenceSource, Status, MULTI_LABEL_THRESHOLD};
use crate::domain::progress::{JobStage, Watch};
use crate::error::{Error, Result, Setting};
use crate::store::{RunInfo, Store};

/// Where the reference labels came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReferenceCounts {
    pub accepted_annotations: u64,
    pub gold: u64,
    /// Records left out: discarded, or without a reference or without every run's prediction.
    pub excluded: u64,
    /// Records left out because their reference has a label some run cannot predict (only with
    /// [`EvalOptions::within_run_labels`]; otherwise they are scored, as that run's errors).
    pub outside_run_labels: u64,
}

/// A confidently wrong prediction, to show next to the numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Mistake {
    pub row_number: u64,
    pub source_id: Option<String>,
    pub text: String,
    pub reference: Vec<String>,
    pub predicted: Vec<String>,
    pub confidence: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunEvaluation {
    pub run: RunInfo,
    pub metrics: RunMetrics,
    /// For each of the run's labels, how its scores spread over [0, 1] on the evaluated records.
    pub score_histograms: Vec<(String, [u64; 10])>,
    /// The (up to) ten most confident mistakes.
    pub mistakes: Vec<Mistake>,
    /// Evaluated records whose reference has a label this run cannot predict (each is an error
    /// of the run), and those labels, most frequent first.
    pub outside_references: u64,
    pub outside_labels: Vec<(String, u64)>,
}

impl RunEvaluation {
    /// A warning when some scored references lie outside the run's labels, else `None`.
    pub fn outside_warning(&self) -> Option<String> {
        if self.outside_references == 0 {
            return None;
        }
        let n = self.metrics_records();
        let shown: Vec<String> = self.outside_labels.iter().take(5).map(|(l, c)| format!("{} ({c})", crate::error::quoted(l))).collect();
        let more = self.outside_labels.len().saturating_sub(5);
        Some(format!(
            "{} of {n} scored records have a reference label run {} cannot predict: {}{}. Each counts as an error of the run; \
             score only the records whose reference is among the run's labels to compare on what it was asked",
            self.outside_references,
            self.run.id,
            shown.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        ))
    }

    pub fn metrics_records(&self) -> u64 {
        match &self.metrics {
            RunMetrics::SingleLabel(m) => m.n,
            RunMetrics::MultiLabel(m) => m.n,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Evaluation {
    pub corpus: String,
    pub references: ReferenceCounts,
    pub runs: Vec<RunEvaluation>,
}

/// Which labels are the reference: what a head is trained on, what the template lab scores
/// against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum LabelSource {
    /// The accepted annotations only: what the people labeling said.
    Annotations,
    /// The corpus's gold column only (split at `|`).
    Gold,
    /// The accepted annotation, else gold: the evaluation's reference label.
    #[default]
    Both,
}

impl LabelSource {
    pub fn parse(text: &str) -> Result<Self> {
        match text.trim() {
            "annotations" => Ok(Self::Annotations),
            "gold" => Ok(Self::Gold),
            "both" => Ok(Self::Both),
            other => Err(Error::Input(format!(
                "the labels to learn from or score against are annotations, gold or both, not {}",
                crate::error::quoted(other)
            ))),
        }
    }

    /// The word [`LabelSource::parse`] reads.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Annotations => "annotations",
            Self::Gold => "gold",
            Self::Both => "both",
        }
    }

    /// What front ends offer first: the annotations once people have accepted labels of at
    /// least two kinds, else the gold column when it has two kinds, else both.
    pub fn suggested(sources: &crate::store::LabelSources) -> Self {
        if sources.annotation_kinds >= 2 {
            Self::Annotations
        } else if sources.gold_kinds >= 2 {
            Self::Gold
        } else {
            Self::Both
        }
    }

    /// A record's labels under this source (`None`: the record has none); gold split at `|`
    /// when `split_gold`, as [`reference`] does.
    pub fn labels(self, annotation: Option<(&[String], Status)>, gold: Option<&str>, split_gold: bool) -> Option<Vec<String>> {
        match self {
            Self::Both => reference(annotation, gold, split_gold).map(|(l, _)| l),
            Self::Annotations => annotation.filter(|(l, s)| *s == Status::Accepted && !l.is_empty()).map(|(l, _)| l.to_vec()),
            // A discarded record is left out whatever its gold cell says.
            Self::Gold => match annotation {
                Some((_, Status::Discarded)) => None,
                _ => reference(None, gold, split_gold).map(|(l, _)| l),
            },
        }
    }

    /// A record's reference spans under this source (`None`: the record has none; an empty list
    /// is a reference without entities): the accepted annotation's spans, the imported ones, or
    /// the first of them as [`crate::domain::spans::reference_spans`] chooses.
    pub fn spans(
        self,
        annotation: Option<(Option<&[crate::domain::spans::Span]>, Status)>,
        imported: Option<&[crate::domain::spans::Span]>,
    ) -> Option<Vec<crate::domain::spans::Span>> {
        match self {
            Self::Both => crate::domain::spans::reference_spans(annotation, imported),
            Self::Annotations => match annotation {
                Some((Some(spans), Status::Accepted)) => Some(spans.to_vec()),
                _ => None,
            },
            Self::Gold => match annotation {
                Some((_, Status::Discarded)) => None,
                _ => imported.map(<[_]>::to_vec),
            },
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::Annotations => "accepted annotations",
            Self::Gold => "gold labels",
            Self::Both => "accepted annotations, else gold labels",
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
        _ => Err(Error::Input(format!("the database has several corpora ({}); choose one", names.join(", "))).fixed_by(Setting::Corpus)),
    }
}

/// Evaluates `run_ids` (all of the corpus' runs when empty) of `corpus`.
pub fn evaluate(store: &Store, corpus: &str, run_ids: &[i64], options: &EvalOptions) -> Result<Evaluation> {
    evaluate_watched(store, corpus, run_ids, options, &mut Watch::none())
}

/// [`evaluate`], with progress (stage `Evaluating`: the records read, then one step per run
/// scored) and cancel.
pub fn evaluate_watched(store: &Store, corpus: &str, run_ids: &[i64], options: &EvalOptions, watch: &mut Watch) -> Result<Evaluation> {
    // A tagger's run has entities, not label scores: label evaluation is of the other runs.
    let all: Vec<RunInfo> = store.runs(corpus)?;
    if let Some(tagger) = run_ids.iter().find_map(|id| all.iter().find(|r| r.id == *id && !r.kind.predicts_labels())) {
        return Err(Error::Input(format!(
            "run {} is a tagging run: it finds entities, not labels, so it has no label scores to evaluate",
            tagger.id
        )));
    }
    let all: Vec<RunInfo> = all.into_iter().filter(|r| r.kind.predicts_labels()).collect();
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
    watch.stage(JobStage::Evaluating, store.corpus(corpus)?.records + runs.len() as u64)?;
    store.for_each_export_row(corpus, &mut |row| {
        watch.tick()?;
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
            Some(reference) if options.within_run_labels && !runs.iter().all(|r| within(&reference, &r.key.labels)) => {
                references.outside_run_labels += 1
            }
            Some(reference) if runs.iter().all(|r| predictions.contains_key(&r.id)) => {
                records.push(Evaluated { row_number: row.row_number, source_id: row.source_id, text: row.text, reference, predictions })
            }
            _ => references.excluded += 1,
        }
        Ok(())
    })?;
    if records.is_empty() && references.outside_run_labels > 0 {
        return Err(Error::Input(format!(
            "every one of the {} records of corpus '{corpus}' with a reference label has a label outside the run's labels; \
             score them all (each counts as an error) or label records with the run's labels",
            references.outside_run_labels
        )));
    }
    if records.is_empty() {
        return Err(Error::Input(format!(
            "no record of corpus '{corpus}' has both a reference label (an accepted annotation or the gold column) and a prediction from {}; \
             annotate some records or import the corpus with a label column",
            if runs.len() == 1 { "the run".to_string() } else { "every selected run".to_string() }
        )));
    }
    let runs = runs
        .into_iter()
        .map(|run| {
            let scored = evaluate_run(run, &records, options);
            watch.tick()?;
            Ok(scored)
        })
        .collect::<Result<_>>()?;
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
    score_run(0, labels, multi_label, &records, options).metrics
}

/// What [`score_run`] computes: a [`RunEvaluation`] without its run.
struct Scored {
    metrics: RunMetrics,
    score_histograms: Vec<(String, [u64; 10])>,
    mistakes: Vec<Mistake>,
    outside_references: u64,
    outside_labels: Vec<(String, u64)>,
}

fn evaluate_run(run: RunInfo, records: &[Evaluated], options: &EvalOptions) -> RunEvaluation {
    let Scored { metrics, score_histograms, mistakes, outside_references, outside_labels } =
        score_run(run.id, &run.key.labels, run.key.multi_label, records, options);
    RunEvaluation { run, metrics, score_histograms, mistakes, outside_references, outside_labels }
}

/// A run's scores on `records`: each record's prediction is the one of `run` (an id of
/// [`Evaluated::predictions`]), over the run's `labels`.
fn score_run(run: i64, run_labels: &[String], multi_label: bool, records: &[Evaluated], options: &EvalOptions) -> Scored {
    // The run's labels first, in its order, then reference labels it cannot predict.
    let mut labels = run_labels.to_vec();
    for r in records {
        for l in &r.reference {
            if !labels.contains(l) {
                labels.push(l.clone());
            }
        }
    }
    let index: HashMap<&str, usize> = labels.iter().enumerate().map(|(i, l)| (l.as_str(), i)).collect();
    let mut histograms: Vec<(String, [u64; 10])> = run_labels.iter().map(|l| (l.clone(), [0u64; 10])).collect();
    let mut mistakes = Vec::new();
    for r in records {
        let (names, scores) = &r.predictions[&run];
        for (name, &score) in names.iter().zip(scores) {
            if let Some(h) = histograms.iter_mut().find(|(l, _)| l == name) {
                h.1[((score as f64 * 10.0).floor() as usize).min(9)] += 1;
            }
        }
    }
    let metrics = if multi_label {
        let mut truth = Vec::with_capacity(records.len());
        let mut pred = Vec::with_capacity(records.len());
        for r in records {
            let mut t = vec![false; labels.len()];
            r.reference.iter().for_each(|l| t[index[l.as_str()]] = true);
            let (names, scores) = &r.predictions[&run];
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
            let (names, scores) = &r.predictions[&run];
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
    let mut outside: HashMap<&str, u64> = HashMap::new();
    let mut outside_references = 0;
    for r in records {
        let mut any = false;
        for l in r.reference.iter().filter(|l| !run_labels.contains(l)) {
            *outside.entry(l.as_str()).or_default() += 1;
            any = true;
        }
        outside_references += u64::from(any);
    }
    let mut outside_labels: Vec<(String, u64)> = outside.into_iter().map(|(l, n)| (l.to_string(), n)).collect();
    outside_labels.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Scored { metrics, score_histograms: histograms, mistakes, outside_references, outside_labels }
}

fn mistake(r: &Evaluated, predicted: Vec<String>, confidence: f64) -> Mistake {
    Mistake { row_number: r.row_number, source_id: r.source_id.clone(), text: r.text.clone(), reference: r.reference.clone(), predicted, confidence }
}
