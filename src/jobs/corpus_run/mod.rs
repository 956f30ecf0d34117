//! Corpus jobs over a stored corpus, zero-shot runs and discriminator scans, on one shared loop
//! ([`run_job`]): batched, resumable, cancellable, kill -9 safe.
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

use crate::domain::precision::{AgreementCheck, AgreementGate, Precision, PrecisionOutcome};
use crate::domain::task::ZeroShotTask;
use crate::engine::embed::Embedder;
use crate::engine::model::Model;
use crate::engine::scan::Scanner;
use crate::engine::zeroshot::ZeroShotClassifier;
use crate::error::{Error, Result, Setting};
use crate::store::{EmbeddingKey, EmbeddingSetInfo, PredictionRow, RunInfo, RunKey, ScanInfo, ScanKey, Store};

use crate::domain::progress::{JobStage, RunProgress};

mod classify;
mod embed;
mod precision_check;
mod scan;
mod tag;
mod zeroshot;

pub use classify::{classifier_function, classifier_run_key, run_classify};
pub use embed::{embed_query, run_embed, EmbedSummary};
pub use precision_check::precision_sample;
use precision_check::PrecisionCheck;
pub use scan::{run_scan, ScanSummary};
pub(crate) use tag::tagged_record;
pub use tag::{run_tag, tagger_run_key};
use zeroshot::predict;
pub(crate) use zeroshot::{nli_logits, NewLogits};
pub use zeroshot::{nli_model_key, run_zeroshot, zeroshot_run_key, RunSummary};

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

/// Records per batch (one transaction each) of a zero-shot run. The whole `selectra run` was 9%
/// faster at 32 than at 16 (medium model, 5 labels, 2 cores: more pairs per call to sort and to
/// spread over the workers), and a batch still takes seconds, so a cancel is still prompt.
pub const RUN_BATCH_RECORDS: usize = 32;

/// Records per batch of a scan.
pub const SCAN_BATCH_RECORDS: usize = 32;

/// Records per batch of an embedding job.
pub const EMBED_BATCH_RECORDS: usize = 32;

/// Every corpus job takes its records a batch at a time (the fast mode's check too).
fn check_batch_size(batch_size: usize) -> Result<()> {
    if batch_size == 0 {
        return Err(Error::Input("the batch size must be at least 1".into()).fixed_by(Setting::BatchSize));
    }
    Ok(())
}

/// A job's records still to do: up to `size` (id, text) after record id `after`, by id.
type PendingFn<'a> = dyn FnMut(&Store, i64, usize) -> Result<Vec<(i64, String)>> + 'a;

/// A job's work on one batch of (id, text): compute, then commit in one transaction.
type ProcessFn<'a> = dyn FnMut(&mut Store, &[(i64, String)]) -> Result<()> + 'a;

/// The loop every corpus job shares (zero-shot runs, scans, embeddings): records without a result are taken
/// in id order, `batch_size` at a time (`pending(after, size)`), and `process` computes and
/// commits each batch in one transaction, so a crash loses at most the batch in flight and the
/// identical job resumes at the same batch boundary. Returns (records done now, cancelled).
fn run_job(
    store: &mut Store,
    (done_before, total): (u64, u64),
    batch_size: usize,
    progress: &mut dyn FnMut(RunProgress),
    cancel: &AtomicBool,
    pending: &mut PendingFn,
    process: &mut ProcessFn,
) -> Result<(u64, bool)> {
    check_batch_size(batch_size)?;
    let started = Instant::now();
    let mut done_now = 0u64;
    progress(RunProgress { done: done_before, total, records_per_sec: 0.0, eta_secs: None, stage: JobStage::Computing });
    let mut after = 0i64;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Ok((done_now, true));
        }
        let batch = pending(store, after, batch_size)?;
        let Some((last, _)) = batch.last() else { break };
        after = *last;
        process(store, &batch)?;
        done_now += batch.len() as u64;
        let done = done_before + done_now;
        let rate = done_now as f64 / started.elapsed().as_secs_f64().max(1e-9);
        progress(RunProgress {
            done,
            total,
            records_per_sec: rate,
            eta_secs: Some(total.saturating_sub(done) as f64 / rate),
            stage: JobStage::Computing,
        });
    }
    Ok((done_now, false))
}

/// Names the record behind an input error (e.g. a text the model cannot take).
fn with_record(e: Error, records: &[(i64, &str)], groups: &[(&str, Vec<&str>)]) -> Error {
    let first = records.iter().zip(groups).find(|(_, (_, g))| !g.is_empty()).map(|((id, _), _)| *id).unwrap_or_default();
    in_batch(e, first)
}

/// An input error of a batch, saying which batch (by its first record); other errors as they are.
fn in_batch(e: Error, first: i64) -> Error {
    match e {
        Error::Input(message) => Error::Input(format!("in the batch starting at record {first}: {message}")),
        other => other,
    }
}

/// A fine-tuned task model's run over a corpus, the way its head was trained: a sequence
/// classifier's own labels, or a token classifier's entities (with `aggregation`, else the
/// corpus default, and records tagged whole). Any other model is an error that says what runs it.
#[allow(clippy::too_many_arguments)]
pub fn run_task_model(
    store: &mut Store,
    model: &Model,
    corpus: &str,
    strip_accents: Option<bool>,
    aggregation: Option<crate::engine::tag::Aggregation>,
    batch_size: usize,
    progress: &mut dyn FnMut(RunProgress),
    cancel: &AtomicBool,
) -> Result<RunSummary> {
    let architecture = model.architecture();
    if architecture.is_token_classifier() {
        let options = crate::engine::tag::TagOptions::for_corpus_with(model, aggregation, None);
        run_tag(store, model, corpus, strip_accents, options, batch_size, progress, cancel)
    } else if architecture.is_sequence_classifier() {
        run_classify(store, model, corpus, strip_accents, batch_size, progress, cancel)
    } else {
        Err(Error::Input(format!(
            "{} is a {} model, not a fine-tuned classifier or tagger: run a discriminator as a scan, and an NLI model as a zero-shot run",
            model.name,
            architecture.name()
        )))
    }
}
