//! Why a run gave a record its label: word attributions (`domain::attribution`) computed with
//! the run's own model and task (a zero-shot run's labels and hypotheses, a classifier's own
//! labels and the record's second text, a trained head over its model's embeddings), and what a
//! run keys on: each label's words with the highest mean attribution over its most confident
//! records.

use std::collections::HashMap;

use serde::Serialize;

use crate::domain::attribution::{self, Explanation, LimeOptions, Method, Scorer, Variant};
use crate::domain::progress::Watch;
use crate::domain::task::ZeroShotTask;
use crate::engine::classify::TextClassifier;
use crate::engine::embed::Embedder;
use crate::engine::explain::{classifier_scorer, zeroshot_scorer};
use crate::engine::model::Model;
use crate::engine::zeroshot::ZeroShotClassifier;
use crate::error::{Error, Result};
use crate::jobs::corpus_run::sha256_file;
use crate::store::{RunInfo, RunKind, Store};

/// The model a run's explanations need, as `(spec, accent setting)`: the run's model, or for a
/// trained head its base model.
pub fn run_model(run: &RunInfo) -> (String, Option<bool>) {
    let spec = run.key.model.strip_suffix(crate::jobs::train::HEAD_SUFFIX).unwrap_or(&run.key.model);
    (spec.to_string(), run.key.strip_accents)
}

/// Explains `label` (by default the label the run's model scores highest on the text) for a
/// record of the run. `model` is the run's model (see [`run_model`]) with the run's accent
/// setting; other weights are refused, since they would explain another model.
pub fn explain_record(
    store: &Store,
    model: &Model,
    run_id: i64,
    record_id: i64,
    label: Option<&str>,
    method: Method,
    lime: &LimeOptions,
) -> Result<Explanation> {
    let run = store.run(run_id)?;
    let text = store.record_text(record_id)?;
    let pair = store.record_text_pairs(&[record_id])?.remove(0);
    with_run_scorer(store, model, &run, &mut |scorer| attribution::explain(&text, pair.as_deref(), label, method, lime, scorer))
}

/// Calls `work` with the run's model as a scorer of texts.
fn with_run_scorer<T>(store: &Store, model: &Model, run: &RunInfo, work: &mut dyn FnMut(&Scorer) -> Result<T>) -> Result<T> {
    let weights = sha256_file(&model.files.weights)?;
    if weights != run.key.weights_sha256 {
        return Err(Error::Input(format!(
            "run {} was made by {} (weights {}…); {} has other weights ({}…), so it cannot explain that run",
            run.id,
            run.key.model,
            &run.key.weights_sha256[..run.key.weights_sha256.len().min(12)],
            model.name,
            &weights[..12]
        )));
    }
    match run.kind {
        RunKind::ZeroShot => {
            let task = ZeroShotTask::from_template_key(run.key.labels.clone(), &run.key.template, run.key.multi_label)?;
            let mut classifier = ZeroShotClassifier::new(model)?;
            classifier.precision = run.key.precision;
            let scorer = zeroshot_scorer(&classifier, &task);
            work(&scorer)
        }
        RunKind::Classifier => {
            let classifier = TextClassifier::new(model)?;
            let scorer = classifier_scorer(&classifier, model.config.id2label.clone());
            work(&scorer)
        }
        RunKind::Trained => {
            let head = crate::jobs::train::stored_head(store, run.id)?;
            let embedder = Embedder::new(model);
            let scorer = Scorer {
                labels: head.labels.clone(),
                score: Box::new(|variants: &[Variant]| {
                    let texts: Vec<&str> = variants.iter().map(|v| v.text.as_str()).collect();
                    let vectors = embedder.embed(&texts)?;
                    Ok(vectors.iter().map(|x| head.predict(x).into_iter().map(|p| p as f32).collect()).collect())
                }),
            };
            work(&scorer)
        }
        RunKind::Tagger => Err(Error::Input(format!(
            "run {} is a tagger's: its entities are per word already; explanations are for runs that label records",
            run.id
        ))),
    }
}

/// How many records per label a run summary explains by default.
pub const SUMMARY_RECORDS_PER_LABEL: usize = 20;
/// How many words per label a summary lists.
pub const SUMMARY_WORDS: usize = 15;

/// A folded word's forms as written (with their counts), weights and records, while a label's
/// records are explained.
type Seen = (HashMap<String, u64>, Vec<f64>, Vec<i64>);

/// A word a label keys on, over the records explained for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KeyWord {
    /// The word as it appears most often (case and accents kept).
    pub word: String,
    /// Its mean weight over its occurrences in the label's explained records.
    pub mean_weight: f64,
    pub occurrences: u64,
    /// The records it occurs in, in the order explained (the most confident first).
    pub records: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LabelKeyWords {
    pub label: String,
    /// How many records were explained for the label (its most confident, up to the sample).
    pub records: u64,
    /// The words with the highest mean weight, highest first.
    pub words: Vec<KeyWord>,
}

/// What a run keys on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunKeyWords {
    pub run: i64,
    pub method: Method,
    pub labels: Vec<LabelKeyWords>,
    /// How many inputs the model scored in all.
    pub inputs_scored: u64,
}

/// Each label's words with the highest mean attribution, over the run's `per_label` most
/// confident records of the label (each explained for its own top label). Words are compared
/// folded (case, accents, Unicode form) with their surrounding punctuation trimmed; a word must
/// occur in two or more of the explained records to be listed. Progress counts records.
pub fn key_words(store: &Store, model: &Model, run_id: i64, per_label: usize, method: Method, watch: &mut Watch) -> Result<RunKeyWords> {
    let run = store.run(run_id)?;
    if !run.kind.predicts_labels() {
        return Err(Error::Input(format!("run {run_id} is a tagger's; it labels no records")));
    }
    let samples: Vec<(String, Vec<(i64, String)>)> =
        run.key.labels.iter().map(|l| Ok((l.clone(), store.top_records(run_id, l, per_label)?))).collect::<Result<_>>()?;
    watch.stage(crate::domain::progress::JobStage::Computing, samples.iter().map(|(_, r)| r.len() as u64).sum())?;
    let lime = LimeOptions::default();
    let mut inputs_scored = 0u64;
    let mut labels = Vec::new();
    with_run_scorer(store, model, &run, &mut |scorer| {
        for (label, records) in &samples {
            let mut seen: HashMap<String, Seen> = HashMap::new();
            for (id, text) in records {
                let pair = store.record_text_pairs(&[*id])?.remove(0);
                let e = match attribution::explain(text, pair.as_deref(), Some(label), method, &lime, scorer) {
                    Ok(e) => e,
                    // A record too short or too long to explain is left out of the summary.
                    Err(Error::Input(_)) => {
                        watch.tick()?;
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                inputs_scored += e.inputs_scored as u64;
                for w in &e.words {
                    let trimmed = w.word.trim_matches(|c: char| !c.is_alphanumeric());
                    if trimmed.is_empty() {
                        continue;
                    }
                    let entry = seen.entry(crate::domain::text::fold(trimmed)).or_default();
                    *entry.0.entry(trimmed.to_string()).or_default() += 1;
                    entry.1.push(w.weight);
                    if entry.2.last() != Some(id) {
                        entry.2.push(*id);
                    }
                }
                watch.tick()?;
            }
            let mut words: Vec<KeyWord> = seen
                .into_values()
                .filter(|(_, _, records)| records.len() >= 2)
                .map(|(forms, weights, records)| {
                    let word = forms.iter().max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0))).map(|(f, _)| f.clone()).unwrap_or_default();
                    KeyWord { word, mean_weight: weights.iter().sum::<f64>() / weights.len() as f64, occurrences: weights.len() as u64, records }
                })
                .collect();
            words.sort_by(|a, b| b.mean_weight.total_cmp(&a.mean_weight).then_with(|| a.word.cmp(&b.word)));
            words.truncate(SUMMARY_WORDS);
            labels.push(LabelKeyWords { label: label.clone(), records: records.len() as u64, words });
        }
        Ok(())
    })?;
    Ok(RunKeyWords { run: run_id, method, labels, inputs_scored })
}
