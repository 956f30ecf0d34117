//! Zero-shot runs over a corpus: the run's key, its batches of NLI predictions, and the logits
//! cache runs and the template lab share (a (record, hypothesis) pair is computed once, ever).

use super::*;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunSummary {
    pub run: RunInfo,
    /// Records predicted in this session (0 when the run was already complete).
    pub predicted_now: u64,
    pub cancelled: bool,
    /// The precision asked for and used, with the fast mode's agreement check.
    pub precision: PrecisionOutcome,
}

/// Runs (or resumes) zero-shot classification of every record of `corpus`: exact f32 when
/// `fast` is `None`; with `Some(gate)`, the bf16 fast mode where this CPU has it and its
/// agreement check on the corpus passes (see [`crate::domain::precision`]), else exact.
// Every argument is one of the run's inputs or controls; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
pub fn run_zeroshot(
    store: &mut Store,
    model: &Model,
    corpus: &str,
    task: &ZeroShotTask,
    strip_accents: Option<bool>,
    fast: Option<AgreementGate>,
    batch_size: usize,
    progress: &mut dyn FnMut(RunProgress),
    cancel: &AtomicBool,
) -> Result<RunSummary> {
    check_batch_size(batch_size)?;
    let mut classifier = ZeroShotClassifier::new(model)?;
    let weights_sha256 = sha256_file(&model.files.weights)?;
    let key = |precision| zeroshot_run_key(corpus, &model.name, &weights_sha256, task, strip_accents, precision);
    let (run, outcome) = match fast {
        None => (store.open_run(&key(Precision::Exact))?, PrecisionOutcome::exact()),
        Some(gate) => {
            let check = PrecisionCheck { model, corpus, task, weights_sha256: &weights_sha256, gate, batch_size };
            match check.choose(store, &key, progress, cancel)? {
                Some(chosen) => chosen,
                None => {
                    let run = store.open_run(&key(Precision::Bf16))?;
                    let outcome = PrecisionOutcome { requested: Precision::Bf16, used: Precision::Bf16, check: None, note: None };
                    return Ok(RunSummary { run, predicted_now: 0, cancelled: true, precision: outcome });
                }
            }
        }
    };
    classifier.precision = outcome.used;
    let model_key = nli_model_key(model, &weights_sha256, outcome.used);
    let hypotheses = task.hypotheses();
    let (predicted_now, cancelled) = run_job(
        store,
        (run.predictions, run.records),
        batch_size,
        progress,
        cancel,
        &mut |store, after, size| store.pending_records(run.id, after, size),
        &mut |store, batch| {
            let records: Vec<(i64, &str)> = batch.iter().map(|(id, text)| (*id, text.as_str())).collect();
            let (predictions, new_logits) = predict(store, &classifier, &model_key, task, &records, &hypotheses)?;
            store.save_predictions(run.id, &model_key, &new_logits, &predictions)
        },
    )?;
    if !cancelled {
        store.finish_run(run.id)?;
    }
    Ok(RunSummary { run: store.run(run.id)?, predicted_now, cancelled, precision: outcome })
}

/// The predictions of `records` (with the NLI logits computed for them, for the cache).
pub(super) fn predict(
    store: &Store,
    classifier: &ZeroShotClassifier,
    model_key: &str,
    task: &ZeroShotTask,
    records: &[(i64, &str)],
    hypotheses: &[String],
) -> Result<(Vec<PredictionRow>, NewLogits)> {
    let (logits, new_logits) = nli_logits(store, classifier, model_key, records, hypotheses)?;
    let predictions = records
        .iter()
        .zip(logits)
        .map(|((id, text), per_label)| {
            let result = classifier.scores(text, task, &per_label);
            PredictionRow { record_id: *id, labels: result.labels, scores: result.scores }
        })
        .collect();
    Ok((predictions, new_logits))
}

/// The identity of a zero-shot run of `task` with the model named `model` (whose weights hash
/// `weights_sha256`) over `corpus`: what `selectra run` opens and what an import of the same job
/// computed elsewhere (`scale_out`) opens, so both find the same run.
pub fn zeroshot_run_key(
    corpus: &str,
    model: &str,
    weights_sha256: &str,
    task: &ZeroShotTask,
    strip_accents: Option<bool>,
    precision: Precision,
) -> RunKey {
    RunKey {
        corpus: corpus.to_string(),
        model: model.to_string(),
        weights_sha256: weights_sha256.to_string(),
        labels: task.labels.clone(),
        template: task.template_key(),
        multi_label: task.multi_label,
        strip_accents,
        precision,
    }
}

/// The key of a model's cached NLI logits: they depend on the weights, on how text is
/// tokenized and on the precision (exact keys are those written before the fast mode existed).
/// Runs and the template lab share the cache through it.
pub fn nli_model_key(model: &Model, weights_sha256: &str, precision: Precision) -> String {
    let exact = format!(
        "{weights_sha256}:strip_accents={}:lowercase={}:max_length={}",
        model.tokenizer.strips_accents(),
        model.tokenizer.settings().do_lower_case,
        model.tokenizer.max_length()
    );
    match precision {
        Precision::Exact => exact,
        other => format!("{exact}:precision={}", other.name()),
    }
}

/// NLI logits computed now, by (record, hypothesis), for the cache.
pub(crate) type NewLogits = Vec<((i64, String), Vec<f32>)>;

/// Each record's NLI logits for every hypothesis, in hypothesis order: from the cache where it
/// has them, computed (each premise tokenized once) where it has not. Returns them with the newly
/// computed rows, which the caller stores in the cache with its own commit. Runs and the template
/// lab share it, so a (record, hypothesis) pair is computed once, ever.
pub(crate) fn nli_logits(
    store: &Store,
    classifier: &ZeroShotClassifier,
    model_key: &str,
    records: &[(i64, &str)],
    hypotheses: &[String],
) -> Result<(Vec<Vec<Vec<f32>>>, NewLogits)> {
    let ids: Vec<i64> = records.iter().map(|(id, _)| *id).collect();
    let cached = store.cached_logits(model_key, &ids, hypotheses)?;
    let groups: Vec<(&str, Vec<&str>)> = records
        .iter()
        .map(|(id, text)| (*text, hypotheses.iter().filter(|h| !cached.contains_key(&(*id, (*h).clone()))).map(String::as_str).collect()))
        .collect();
    let computed = classifier.grouped_logits(&groups).map_err(|e| with_record(e, records, &groups))?;
    let mut new_logits = Vec::new();
    let mut out = Vec::with_capacity(records.len());
    for (((id, _), (_, group)), rows) in records.iter().zip(&groups).zip(computed) {
        for (hypothesis, row) in group.iter().zip(&rows) {
            new_logits.push(((*id, hypothesis.to_string()), row.clone()));
        }
        let mut fresh = rows.into_iter();
        let per_label: Vec<Vec<f32>> = hypotheses
            .iter()
            .map(|h| match cached.get(&(*id, h.clone())) {
                Some(row) => row.clone(),
                None => fresh.next().expect("one computed row per uncached hypothesis"),
            })
            .collect();
        out.push(per_label);
    }
    Ok((out, new_logits))
}
