//! Zero-shot runs over a stored corpus: batched, resumable, cancellable, incremental.
//!
//! A run is found or created from everything that determines its predictions (see
//! [`RunKey`]). Records without a prediction are taken in id order, a batch at a time; each
//! batch's predictions and NLI logits are committed in one transaction, so a crash loses at most
//! the batch in flight, and running the identical command again continues at the same batch
//! boundary (so a resumed run computes exactly what an uninterrupted one would). Logits are cached
//! per (model, record, hypothesis): adding a label to a label set computes only the new pairs.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::model::Model;
use crate::store::{PredictionRow, RunInfo, RunKey, Store};
use crate::zeroshot::{ZeroShotClassifier, ZeroShotTask};

#[derive(Debug, Clone, Copy, Serialize)]
pub struct RunProgress {
    /// Records with a prediction in this run, including those from earlier sessions.
    pub done: u64,
    pub total: u64,
    /// Throughput of this session.
    pub records_per_sec: f64,
    pub eta_secs: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub run: RunInfo,
    /// Records predicted in this session (0 when the run was already complete).
    pub predicted_now: u64,
    pub cancelled: bool,
}

/// SHA-256 of a file, hex-encoded: the weights' identity in a run's key.
pub fn sha256_file(path: &std::path::Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Runs (or resumes) zero-shot classification of every record of `corpus`.
// Every argument is one of the run's inputs or controls; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
pub fn run_zeroshot(
    store: &mut Store,
    model: &Model,
    corpus: &str,
    task: &ZeroShotTask,
    strip_accents: Option<bool>,
    batch_size: usize,
    progress: &mut dyn FnMut(RunProgress),
    cancel: &AtomicBool,
) -> Result<RunSummary> {
    if batch_size == 0 {
        return Err(Error::Input("the batch size must be at least 1".into()));
    }
    let classifier = ZeroShotClassifier::new(model)?;
    let weights_sha256 = sha256_file(&model.files.weights)?;
    let key = RunKey {
        corpus: corpus.to_string(),
        model: model.name.clone(),
        weights_sha256: weights_sha256.clone(),
        labels: task.labels.clone(),
        template: task.template.clone(),
        multi_label: task.multi_label,
        strip_accents,
    };
    let run = store.open_run(&key)?;
    // The logits depend on the weights and on how text is tokenized.
    let model_key = format!(
        "{weights_sha256}:strip_accents={}:lowercase={}:max_length={}",
        model.tokenizer.strips_accents(),
        model.tokenizer.settings().do_lower_case,
        model.tokenizer.max_length()
    );
    let hypotheses = task.hypotheses();
    let started = Instant::now();
    let mut predicted_now = 0u64;
    let mut done = run.predictions;
    let total = run.records;
    progress(RunProgress { done, total, records_per_sec: 0.0, eta_secs: None });

    let mut after = 0i64;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Ok(RunSummary { run: store.run(run.id)?, predicted_now, cancelled: true });
        }
        let batch = store.pending_records(run.id, after, batch_size)?;
        let Some((last, _)) = batch.last() else { break };
        after = *last;
        let ids: Vec<i64> = batch.iter().map(|(id, _)| *id).collect();
        let cached = store.cached_logits(&model_key, &ids, &hypotheses)?;
        let groups: Vec<(&str, Vec<&str>)> = batch
            .iter()
            .map(|(id, text)| {
                let missing = hypotheses.iter().filter(|h| !cached.contains_key(&(*id, (*h).clone()))).map(String::as_str).collect();
                (text.as_str(), missing)
            })
            .collect();
        let computed = classifier.grouped_logits(&groups).map_err(|e| with_record(e, &batch, &groups))?;

        let mut new_logits = Vec::new();
        let mut predictions = Vec::with_capacity(batch.len());
        for (((id, text), (_, group)), rows) in batch.iter().zip(&groups).zip(computed) {
            for (hypothesis, row) in group.iter().zip(&rows) {
                new_logits.push(((*id, hypothesis.to_string()), row.clone()));
            }
            let mut fresh = group.iter().copied().zip(rows);
            let per_label: Vec<Vec<f32>> = hypotheses
                .iter()
                .map(|h| match cached.get(&(*id, h.clone())) {
                    Some(row) => row.clone(),
                    None => fresh.next().map(|(_, row)| row).expect("one computed row per uncached hypothesis"),
                })
                .collect();
            let result = classifier.scores(text, task, &per_label);
            predictions.push(PredictionRow { record_id: *id, labels: result.labels, scores: result.scores });
        }
        store.save_predictions(run.id, &model_key, &new_logits, &predictions)?;
        predicted_now += batch.len() as u64;
        done += batch.len() as u64;
        let rate = predicted_now as f64 / started.elapsed().as_secs_f64().max(1e-9);
        progress(RunProgress { done, total, records_per_sec: rate, eta_secs: Some(total.saturating_sub(done) as f64 / rate) });
    }
    store.finish_run(run.id)?;
    Ok(RunSummary { run: store.run(run.id)?, predicted_now, cancelled: false })
}

/// Names the record behind an input error (e.g. a text the model cannot take).
fn with_record(e: Error, batch: &[(i64, String)], groups: &[(&str, Vec<&str>)]) -> Error {
    match e {
        Error::Input(message) => {
            let first = batch.iter().zip(groups).find(|(_, (_, g))| !g.is_empty()).map(|((id, _), _)| *id).unwrap_or_default();
            Error::Input(format!("in the batch starting at record {first}: {message}"))
        }
        other => other,
    }
}
