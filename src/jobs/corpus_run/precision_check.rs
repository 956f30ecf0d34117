//! The fast mode's agreement check for one run: bf16 against exact f32 on a sample of the
//! corpus, before bf16 may label it (see `crate::domain::precision`).

use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::*;
use crate::domain::precision::Verdict;

/// The fast mode's agreement check for one run (see [`crate::domain::precision`]).
pub(super) struct PrecisionCheck<'a> {
    pub(super) model: &'a Model,
    pub(super) corpus: &'a str,
    pub(super) task: &'a ZeroShotTask,
    pub(super) weights_sha256: &'a str,
    pub(super) gate: AgreementGate,
    pub(super) batch_size: usize,
}

impl PrecisionCheck<'_> {
    /// The run to continue and its precision: the bf16 run when this CPU has the instructions
    /// and the check passes (now, or in an earlier session of the same run), else the exact run,
    /// which then holds the check. The sample's predictions are stored in the chosen run, so the
    /// check's work is not lost. `None`: cancelled during the check (nothing stored).
    pub(super) fn choose(
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
        if let Some(note) = self.gate.too_small(records) {
            return exact(store, note);
        }
        let sample = precision_sample(store, self.corpus, self.gate.max_records)?;
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
    /// batches), until the sequential test decides or the sample ends. Returns the check with
    /// the exact and the bf16 side; `None` if cancelled.
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
        // What the sample compared so far says (nothing yet: no agreement).
        let mut check = AgreementCheck::measure(&[], &[], self.gate);
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
            check = AgreementCheck::measure(&as_pairs(&exact.predictions), &as_pairs(&fast.predictions), self.gate);
            if self.gate.verdict(check.records, check.records - check.same_top_label, check.max_score_delta) != Verdict::Undecided {
                break;
            }
        }
        (check.exact_secs, check.fast_secs) = (exact.secs, fast.secs);
        // Nothing computed on the exact side: every logit was in the cache.
        check.exact_cached = exact.logits.is_empty() && !exact.predictions.is_empty();
        Ok(Some((check, exact, fast)))
    }
}

/// The check's sample order is the same in every session, so a check cut off and started again
/// compares the same records.
const SAMPLE_SEED: u64 = 0x5e1ec7a;

/// The records a fast run's agreement check compares, in the order it compares them: up to
/// `max_records` spread evenly over the corpus, in a seeded random order, so that any first part
/// of it is a random sample of the whole corpus (what the sequential test assumes).
pub fn precision_sample(store: &Store, corpus: &str, max_records: usize) -> Result<Vec<(i64, String)>> {
    let mut sample = store.spread_records(corpus, max_records)?;
    sample.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(SAMPLE_SEED));
    Ok(sample)
}

fn as_pairs(rows: &[PredictionRow]) -> Vec<(Vec<String>, Vec<f32>)> {
    rows.iter().map(|p| (p.labels.clone(), p.scores.clone())).collect()
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
