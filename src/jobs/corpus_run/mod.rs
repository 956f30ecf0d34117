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
fn predict(
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

/// The fast mode's agreement check for one run (see [`crate::domain::precision`]).
struct PrecisionCheck<'a> {
    model: &'a Model,
    corpus: &'a str,
    task: &'a ZeroShotTask,
    weights_sha256: &'a str,
    gate: AgreementGate,
    batch_size: usize,
}

impl PrecisionCheck<'_> {
    /// The run to continue and its precision: the bf16 run when this CPU has the instructions
    /// and the check passes (now, or in an earlier session of the same run), else the exact run,
    /// which then holds the check. The sample's predictions are stored in the chosen run, so the
    /// check's work is not lost. `None`: cancelled during the check (nothing stored).
    fn choose(
        &self,
        store: &mut Store,
        key: &dyn Fn(Precision) -> RunKey,
        progress: &mut dyn FnMut(RunProgress),
        cancel: &AtomicBool,
    ) -> Result<Option<(RunInfo, PrecisionOutcome)>> {
        let exact = |store: &mut Store, note: String| -> Result<Option<(RunInfo, PrecisionOutcome)>> {
            let run = store.open_run(&key(Precision::Exact))?;
            Ok(Some((run, PrecisionOutcome { requested: Precision::Bf16, used: Precision::Exact, check: None, note: Some(note) })))
        };
        if !crate::engine::model::supports(Precision::Bf16) {
            return exact(store, "this CPU lacks the AVX512_BF16 instructions the fast mode needs; the run is exact f32".into());
        }
        if let Some(run) = store.find_run(&key(Precision::Bf16))? {
            if let Some(check) = run.precision_check.clone().filter(|c| c.passed) {
                let note = format!("continuing the fast run checked when it started ({})", check.summary());
                return Ok(Some((run, PrecisionOutcome { requested: Precision::Bf16, used: Precision::Bf16, check: None, note: Some(note) })));
            }
        }
        let records = store.corpus(self.corpus)?.records;
        if records < self.gate.records as u64 {
            let note = format!(
                "the fast mode is checked against exact f32 on {} records and this corpus has {records}, so checking would cost more than \
                 it saves; the run is exact f32",
                self.gate.records
            );
            return exact(store, note);
        }
        let sample = store.spread_records(self.corpus, self.gate.records)?;
        let Some((check, exact_side, fast_side)) = self.compare(store, &sample, progress, cancel)? else {
            return Ok(None);
        };
        let kept = if check.passed { fast_side } else { exact_side };
        let precision = kept.classifier.precision;
        let run = store.open_run(&key(precision))?;
        let mut missing = Vec::with_capacity(kept.predictions.len());
        for p in kept.predictions {
            if store.prediction(run.id, p.record_id)?.is_none() {
                missing.push(p);
            }
        }
        store.save_predictions(run.id, &kept.model_key, &kept.logits, &missing)?;
        store.set_precision_check(run.id, &check)?;
        let run = store.run(run.id)?;
        if check.passed {
            return Ok(Some((run, PrecisionOutcome { requested: Precision::Bf16, used: Precision::Bf16, check: Some(check), note: None })));
        }
        // A fast run left empty by a cancelled check is not a run anyone has.
        if let Some(empty) = store.find_run(&key(Precision::Bf16))?.filter(|r| r.predictions == 0) {
            store.delete_run(empty.id)?;
        }
        let note = "the fast mode changed this corpus's results more than the agreement check allows; the run is exact f32".to_string();
        Ok(Some((run, PrecisionOutcome { requested: Precision::Bf16, used: Precision::Exact, check: Some(check), note: Some(note) })))
    }

    /// Predicts the sample in both precisions, a batch at a time (progress and cancel between
    /// batches). Returns the check with the exact and the bf16 side; `None` if cancelled.
    fn compare(
        &self,
        store: &mut Store,
        sample: &[(i64, String)],
        progress: &mut dyn FnMut(RunProgress),
        cancel: &AtomicBool,
    ) -> Result<Option<(AgreementCheck, Side<'_>, Side<'_>)>> {
        let hypotheses = self.task.hypotheses();
        let side = |precision| -> Result<Side> {
            let mut classifier = ZeroShotClassifier::new(self.model)?;
            classifier.precision = precision;
            let model_key = nli_model_key(self.model, self.weights_sha256, precision);
            Ok(Side { classifier, model_key, secs: 0.0, predictions: Vec::new(), logits: Vec::new() })
        };
        let (mut exact, mut fast) = (side(Precision::Exact)?, side(Precision::Bf16)?);
        let started = Instant::now();
        let total = sample.len() as u64;
        let report = |done: u64, progress: &mut dyn FnMut(RunProgress)| {
            let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-9);
            let eta = (done > 0).then(|| total.saturating_sub(done) as f64 / rate);
            progress(RunProgress { done, total, records_per_sec: rate, eta_secs: eta, stage: JobStage::CheckingPrecision });
        };
        report(0, progress);
        let mut done = 0u64;
        for batch in sample.chunks(self.batch_size) {
            if cancel.load(Ordering::Relaxed) {
                return Ok(None);
            }
            let records: Vec<(i64, &str)> = batch.iter().map(|(id, text)| (*id, text.as_str())).collect();
            for side in [&mut exact, &mut fast] {
                let t = Instant::now();
                let (predictions, logits) = predict(store, &side.classifier, &side.model_key, self.task, &records, &hypotheses)?;
                side.secs += t.elapsed().as_secs_f64();
                side.predictions.extend(predictions);
                side.logits.extend(logits);
            }
            done += batch.len() as u64;
            report(done, progress);
        }
        let as_pairs = |rows: &[PredictionRow]| rows.iter().map(|p| (p.labels.clone(), p.scores.clone())).collect::<Vec<_>>();
        let mut check = AgreementCheck::measure(&as_pairs(&exact.predictions), &as_pairs(&fast.predictions), self.gate);
        (check.exact_secs, check.fast_secs) = (exact.secs, fast.secs);
        // Nothing computed on the exact side: every logit was in the cache.
        check.exact_cached = exact.logits.is_empty() && !exact.predictions.is_empty();
        Ok(Some((check, exact, fast)))
    }
}

/// One precision's side of an agreement check: its classifier, its logits-cache key, the time it
/// took, and the sample's predictions with the logits computed for them.
struct Side<'m> {
    classifier: ZeroShotClassifier<'m>,
    model_key: String,
    secs: f64,
    predictions: Vec<PredictionRow>,
    logits: NewLogits,
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

/// Records per batch (one transaction each) of a zero-shot run. The whole `selectra run` was 9%
/// faster at 32 than at 16 (medium model, 5 labels, 2 cores: more pairs per call to sort and to
/// spread over the workers), and a batch still takes seconds, so a cancel is still prompt.
pub const RUN_BATCH_RECORDS: usize = 32;
/// Records per batch of a scan.
pub const SCAN_BATCH_RECORDS: usize = 32;
/// Records per batch of an embedding job.
pub const EMBED_BATCH_RECORDS: usize = 32;

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

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScanSummary {
    pub scan: ScanInfo,
    /// Records scanned in this session (0 when the scan was already complete).
    pub scanned_now: u64,
    pub cancelled: bool,
}

/// Runs (or resumes) a discriminator scan of every record of `corpus`: every token's
/// P(replaced), records longer than the model in windows (see [`crate::engine::scan`]). The scan's
/// identity is (corpus, model, weights SHA-256, accent setting); the identical call resumes.
pub fn run_scan(
    store: &mut Store,
    model: &Model,
    corpus: &str,
    strip_accents: Option<bool>,
    batch_size: usize,
    progress: &mut dyn FnMut(RunProgress),
    cancel: &AtomicBool,
) -> Result<ScanSummary> {
    let scanner = Scanner::new(model)?;
    let key = ScanKey { corpus: corpus.to_string(), model: model.name.clone(), weights_sha256: sha256_file(&model.files.weights)?, strip_accents };
    let scan = store.open_scan(&key)?;
    let (scanned_now, cancelled) = run_job(
        store,
        (scan.scanned, scan.records),
        batch_size,
        progress,
        cancel,
        &mut |store, after, size| store.pending_scan_records(scan.id, after, size),
        &mut |store, batch| {
            let texts: Vec<&str> = batch.iter().map(|(_, t)| t.as_str()).collect();
            let results = scanner.scan(&texts)?;
            let rows: Vec<(i64, crate::domain::rtd::RecordScan)> = batch.iter().map(|(id, _)| *id).zip(results).collect();
            store.save_scan_results(scan.id, &rows)
        },
    )?;
    if !cancelled {
        store.finish_scan(scan.id)?;
    }
    Ok(ScanSummary { scan: store.scan(scan.id)?, scanned_now, cancelled })
}

#[derive(Debug, Clone, Serialize)]
pub struct EmbedSummary {
    pub embeddings: EmbeddingSetInfo,
    /// Records embedded in this session (0 when the set was already complete).
    pub embedded_now: u64,
    pub cancelled: bool,
}

/// Embeds (or resumes embedding) every record of `corpus` with `model` (see [`crate::engine::embed`]).
/// The set's identity is (corpus, weights SHA-256, accent setting); the identical call resumes.
pub fn run_embed(
    store: &mut Store,
    model: &Model,
    corpus: &str,
    strip_accents: Option<bool>,
    batch_size: usize,
    progress: &mut dyn FnMut(RunProgress),
    cancel: &AtomicBool,
) -> Result<EmbedSummary> {
    let embedder = Embedder::new(model);
    let key =
        EmbeddingKey { corpus: corpus.to_string(), model: model.name.clone(), weights_sha256: sha256_file(&model.files.weights)?, strip_accents };
    let set = store.open_embeddings(&key, embedder.dim())?;
    let (embedded_now, cancelled) = run_job(
        store,
        (set.embedded, set.records),
        batch_size,
        progress,
        cancel,
        &mut |store, after, size| store.pending_embedding_records(set.id, after, size),
        &mut |store, batch| {
            let texts: Vec<&str> = batch.iter().map(|(_, t)| t.as_str()).collect();
            let vectors = embedder.embed(&texts)?;
            let rows: Vec<(i64, Vec<f32>)> = batch.iter().map(|(id, _)| *id).zip(vectors).collect();
            store.save_embeddings(set.id, &rows)
        },
    )?;
    if !cancelled {
        store.finish_embeddings(set.id)?;
    }
    Ok(EmbedSummary { embeddings: store.embedding_set(set.id)?, embedded_now, cancelled })
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

/// Names the record behind an input error (e.g. a text the model cannot take).
fn with_record(e: Error, records: &[(i64, &str)], groups: &[(&str, Vec<&str>)]) -> Error {
    match e {
        Error::Input(message) => {
            let first = records.iter().zip(groups).find(|(_, (_, g))| !g.is_empty()).map(|((id, _), _)| *id).unwrap_or_default();
            Error::Input(format!("in the batch starting at record {first}: {message}"))
        }
        other => other,
    }
}
