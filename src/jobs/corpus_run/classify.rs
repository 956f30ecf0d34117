//! Runs of a fine-tuned sequence classifier over a corpus, with the model's own labels: each
//! record's every label and score, sorted as the text-classification pipeline sorts them, on the
//! shared job loop. A classifier run is a run like a zero-shot one (filters, orders, suggestions,
//! evaluation, Compare and exports take it), of kind `classifier`; its key's labels are the
//! model's `id2label` and its template is empty (the record is read as it is: its text, and
//! in a sentence-pair corpus its second text with it).

use super::*;
use crate::engine::classify::{ScoreFunction, TextClassifier, TextInput};
use crate::store::RunKind;

/// How a sequence classifier scores its labels, when its scores can label a corpus: a
/// regressor's cannot.
pub fn classifier_function(model: &Model) -> Result<ScoreFunction> {
    TextClassifier::new(model)?;
    let function = ScoreFunction::for_model(model.config.problem_type, model.config.id2label.len());
    if function == ScoreFunction::None {
        return Err(Error::Input(format!(
            "{} is a regression model: its scores are not label probabilities, so a run of it cannot be labels of a corpus",
            model.name
        )));
    }
    Ok(function)
}

/// The identity of a classifier's run over `corpus`: multi-label when the model scores each
/// label on its own (a sigmoid), so evaluation reads it as the pipeline's scores mean.
pub fn classifier_run_key(corpus: &str, model: &Model, weights_sha256: &str, strip_accents: Option<bool>) -> Result<RunKey> {
    let function = classifier_function(model)?;
    Ok(RunKey {
        corpus: corpus.to_string(),
        model: model.name.clone(),
        weights_sha256: weights_sha256.to_string(),
        labels: model.config.id2label.clone(),
        template: String::new(),
        multi_label: function == ScoreFunction::Sigmoid,
        strip_accents,
        precision: Precision::Exact,
    })
}

/// Runs (or resumes) a sequence classifier over every record of `corpus`.
pub fn run_classify(
    store: &mut Store,
    model: &Model,
    corpus: &str,
    strip_accents: Option<bool>,
    batch_size: usize,
    progress: &mut dyn FnMut(RunProgress),
    cancel: &AtomicBool,
) -> Result<RunSummary> {
    check_batch_size(batch_size)?;
    let classifier = TextClassifier::new(model)?;
    let weights_sha256 = sha256_file(&model.files.weights)?;
    let key = classifier_run_key(corpus, model, &weights_sha256, strip_accents)?;
    let run = store.open_run_as(&key, RunKind::Classifier)?;
    let (predicted_now, cancelled) = run_job(
        store,
        (run.predictions, run.records),
        batch_size,
        progress,
        cancel,
        &mut |store, after, size| store.pending_records(run.id, after, size),
        &mut |store, batch| {
            // A sentence-pair corpus's records are read as the pairs the model was trained on.
            let pairs = store.record_text_pairs(&batch.iter().map(|(id, _)| *id).collect::<Vec<_>>())?;
            let inputs: Vec<TextInput> = batch.iter().zip(&pairs).map(|((_, text), pair)| TextInput { text, pair: pair.as_deref() }).collect();
            let results = classifier.classify_batch(&inputs).map_err(|e| in_batch(e, batch[0].0))?;
            let predictions: Vec<PredictionRow> =
                batch.iter().zip(results).map(|((id, _), r)| PredictionRow { record_id: *id, labels: r.labels, scores: r.scores }).collect();
            store.save_predictions(run.id, "", &[], &predictions)
        },
    )?;
    if !cancelled {
        store.finish_run(run.id)?;
    }
    Ok(RunSummary { run: store.run(run.id)?, predicted_now, cancelled, precision: PrecisionOutcome::exact() })
}
