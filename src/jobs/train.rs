//! Training a head on a corpus's labels: embed what is missing (the resumable embedding job),
//! take every record with a reference label (the accepted annotation, else gold, as evaluation
//! decides), cross-validate, fit on all of them, and store every record's scores as a run of
//! kind "trained" that works wherever runs work (pre-labels, uncertainty orders, Compare,
//! reports, exports). Labeled records keep their out-of-fold scores, so the run's evaluation is
//! its cross-validation, never the head judged on what it was fitted to.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::analysis::evaluate::LabelSource;
use crate::analysis::learn::{self, CrossValidation, Head, Targets, TrainChoice};
use crate::domain::precision::Precision;
use crate::domain::progress::{JobStage, RunProgress};
use crate::engine::model::Model;
use crate::error::{Error, Result};
use crate::jobs::corpus_run;
use crate::store::{PredictionRow, RunInfo, RunKey, Store};

/// What a trained run's model name adds to its base model's.
pub const HEAD_SUFFIX: &str = " + logistic head";

#[derive(Debug, Clone, Serialize)]
pub struct TrainSummary {
    pub run: RunInfo,
    pub embedding_set: i64,
    /// Records the head was trained on (every record with a reference label).
    pub n_train: usize,
    pub labels: Vec<String>,
    pub cross_validation: CrossValidation,
    /// What it learned from.
    pub source: LabelSource,
    /// Seconds the whole training took (embedding what was missing included).
    pub secs: f64,
    /// Of those, the training after the embedding (the fits and storing the run): what a
    /// retrain on more labels costs, the records being embedded already.
    pub fit_secs: f64,
}

/// Front ends retrain a head after this many new labels (when retraining is on).
pub const RETRAIN_EVERY: u32 = 20;
/// ... and only without being asked while the last training's fits took at most this long
/// (seconds; `TrainSummary::fit_secs`): a retrain that takes minutes and adds a run each time is
/// the user's call.
pub const AUTO_RETRAIN_MAX_SECS: f64 = 30.0;

/// Records with their reference labels, by record id.
pub type LabeledRecords = Vec<(i64, Vec<String>)>;

/// Records with their reference labels and what the caller kept of each row.
pub type LabeledRows<T> = Vec<(i64, Vec<String>, T)>;

/// Every record of `corpus` with labels from `source` (gold split at `|`), and the labels: the
/// schema's order first, then any other reference label alphabetically, only those that occur.
/// Errors unless at least two labels occur: what the head and fine-tuning learn from.
pub fn labeled_records(store: &Store, corpus: &str, source: LabelSource) -> Result<(LabeledRecords, Vec<String>)> {
    let (records, labels) = labeled_records_with(store, corpus, source, |_| ())?;
    Ok((records.into_iter().map(|(id, l, ())| (id, l)).collect(), labels))
}

/// [`labeled_records`], keeping with each record what `extra` takes from its row (fine-tuning
/// keeps the texts), in the same single pass over the corpus.
pub fn labeled_records_with<T>(
    store: &Store,
    corpus: &str,
    source: LabelSource,
    mut extra: impl FnMut(&crate::store::ExportRow) -> T,
) -> Result<(LabeledRows<T>, Vec<String>)> {
    let mut references: LabeledRows<T> = Vec::new();
    store.for_each_export_row(corpus, &mut |row| {
        if let Some(labels) = source.labels(row.annotation.as_ref().map(|(l, s)| (l.as_slice(), *s)), row.gold.as_deref(), true) {
            references.push((row.record_id, labels, extra(&row)));
        }
        Ok(())
    })?;
    let mut labels: Vec<String> = store.label_schema(corpus)?.names();
    let mut others: Vec<String> = references.iter().flat_map(|(_, l, _)| l.iter().cloned()).filter(|l| !labels.contains(l)).collect();
    others.sort();
    others.dedup();
    labels.extend(others);
    labels.retain(|l| references.iter().any(|(_, r, _)| r.contains(l)));
    if labels.len() < 2 {
        return Err(Error::Input(format!(
            "corpus {corpus:?} has {} records with {} ({} kind(s) of label); training needs records of at least two labels",
            references.len(),
            source.description(),
            labels.len()
        )));
    }
    Ok((references, labels))
}

/// Trains a head on `model`'s embeddings of `corpus` and stores its predictions as a run.
/// `progress` reports the embedding job (stage `Embedding`, records) and then the training
/// (stage `Training`: choosing the objective, cross-validating, fitting); `cancel` stops either
/// (between training steps). `choice` fixes C or the class weighting; what it leaves open is
/// chosen by cross-validation on the labels ([`learn::select_options`]).
#[allow(clippy::too_many_arguments)]
pub fn train(
    store: &mut Store,
    model: &Model,
    corpus: &str,
    strip_accents: Option<bool>,
    folds: usize,
    seed: u64,
    choice: &TrainChoice,
    source: LabelSource,
    progress: &mut dyn FnMut(RunProgress),
    cancel: &AtomicBool,
) -> Result<TrainSummary> {
    let begun = std::time::Instant::now();
    let mut embedding = |p: RunProgress| progress(RunProgress { stage: JobStage::Embedding, ..p });
    let embedded = corpus_run::run_embed(store, model, corpus, strip_accents, corpus_run::EMBED_BATCH_RECORDS, &mut embedding, cancel)?;
    if embedded.cancelled {
        return Err(Error::Cancelled);
    }
    let fitting = std::time::Instant::now();
    let set = embedded.embeddings;
    let vectors: HashMap<i64, Vec<f32>> = store.embeddings(set.id)?.into_iter().collect();
    // Each record's labels from the chosen source (gold split at `|`); a corpus with any record
    // of several labels trains one-vs-rest.
    let (references, labels) = labeled_records(store, corpus, source)?;
    let multi_label = references.iter().any(|(_, l)| l.len() > 1);
    let index: HashMap<&str, usize> = labels.iter().enumerate().map(|(i, l)| (l.as_str(), i)).collect();
    let x: Vec<Vec<f32>> = references.iter().map(|(id, _)| vectors[id].clone()).collect();
    let y = if multi_label {
        Targets::Multi(references.iter().map(|(_, set)| labels.iter().map(|l| set.contains(l)).collect()).collect())
    } else {
        Targets::Single(references.iter().map(|(_, set)| index[set[0].as_str()]).collect())
    };
    // The fits (choosing the objective, cross-validating, the learning curve, the final fit) run
    // on a worker thread; this one reports how many are done every 100 ms. Cancel stops the
    // next fit.
    let steps = learn::Steps::new(cancel);
    let total = learn::planned_fits(x.len(), folds, choice) + 1;
    let started = std::time::Instant::now();
    let (cv, head) = std::thread::scope(|scope| {
        let work = scope.spawn(|| -> Result<(CrossValidation, Head)> {
            let selection = learn::select_options(&x, &y, &labels, choice, seed, &steps)?;
            let mut cv = learn::cross_validate_with(&x, &y, &labels, folds, seed, &selection.chosen, &steps)?;
            cv.selection = Some(selection);
            let head = steps.fit(|| Head::fit_targets_with(&x, &y, &labels, &cv.options))?;
            Ok((cv, head))
        });
        let mut report = |done: u64| {
            let secs = started.elapsed().as_secs_f64().max(1e-9);
            let rate = done as f64 / secs;
            let eta = (done > 0 && total > done).then(|| (total - done) as f64 / rate);
            progress(RunProgress { done: done.min(total), total, records_per_sec: rate, eta_secs: eta, stage: JobStage::Training });
        };
        report(0);
        while !work.is_finished() {
            std::thread::sleep(std::time::Duration::from_millis(100));
            report(steps.done());
        }
        let out = work.join().unwrap_or_else(|_| Err(Error::Inference("training failed on its worker thread".into())));
        if out.is_ok() {
            report(total);
        }
        out
    })?;
    let head_json = serde_json::to_string(&head).expect("numbers serialize");
    // The head's identity: its weights (a retrain on more labels is another run).
    let digest = Sha256::digest(head_json.as_bytes());
    let short: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let key = RunKey {
        corpus: corpus.to_string(),
        model: format!("{}{HEAD_SUFFIX}", model.name),
        weights_sha256: set.key.weights_sha256.clone(),
        labels: labels.clone(),
        template: format!("trained on {} labels (head {short})", x.len()),
        multi_label,
        strip_accents,
        precision: Precision::Exact,
    };
    let run = store.open_run(&key)?;
    // The head is stored last: without it, predictions are from an interrupted attempt.
    if store.trained_head(run.id)?.is_none() {
        store.clear_predictions(run.id)?;
        let mut rows: Vec<PredictionRow> = Vec::with_capacity(vectors.len());
        let mut ids: Vec<&i64> = vectors.keys().collect();
        ids.sort();
        // A labeled record gets its out-of-fold scores, so that evaluating this run (Compare,
        // reports) gives the cross-validated numbers, next to zero-shot runs on the same records;
        // the others get the head trained on every label.
        let labeled: HashMap<i64, &Vec<f64>> = references.iter().map(|(id, _)| *id).zip(&cv.out_of_fold).collect();
        for id in ids {
            let p = match labeled.get(id) {
                Some(p) => (*p).clone(),
                None => head.predict(&vectors[id]),
            };
            let mut order: Vec<usize> = (0..labels.len()).collect();
            // As the pipeline sorts: highest score first.
            order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
            rows.push(PredictionRow {
                record_id: *id,
                labels: order.iter().map(|&i| labels[i].clone()).collect(),
                scores: order.iter().map(|&i| p[i] as f32).collect(),
            });
        }
        for chunk in rows.chunks(10_000) {
            store.save_predictions(run.id, "", &[], chunk)?;
        }
        let mut facts = serde_json::to_value(&cv).expect("numbers serialize");
        facts["embedding"] = serde_json::Value::String(crate::engine::embed::Embedder::new(model).recipe());
        store.save_trained_head(run.id, set.id, &head_json, x.len() as u64, &facts.to_string())?;
        store.finish_run(run.id)?;
    }
    Ok(TrainSummary {
        run: store.run(run.id)?,
        embedding_set: set.id,
        n_train: x.len(),
        labels,
        cross_validation: cv,
        source,
        secs: begun.elapsed().as_secs_f64(),
        fit_secs: fitting.elapsed().as_secs_f64(),
    })
}

/// A trained run's stored head (a run of another kind has none: a clear error).
pub fn stored_head(store: &Store, run_id: i64) -> Result<Head> {
    let Some(head_json) = store.trained_head(run_id)? else {
        return Err(Error::Input(format!("run {run_id} is not a trained run; only a trained run has a head")));
    };
    serde_json::from_str(&head_json).map_err(|e| Error::Database {
        path: store.path().to_path_buf(),
        message: format!("the stored head of run {run_id} cannot be read ({e}); the project file is damaged"),
    })
}

/// Writes a trained run's head for use outside Selectra Studio: `head.safetensors` (tensors
/// `weight`, labels × dim, and `bias`, labels; f32: `softmax(weight · x + bias)` on a record's
/// embedding gives its scores) and `head.json` (the labels in row order, the base model and its
/// weights' SHA-256, the accent setting, the embedding recipe, the objective and the
/// cross-validation). Each file appears complete or not at all. Returns the two paths.
pub fn export_head(store: &Store, run_id: i64, dir: &std::path::Path) -> Result<(std::path::PathBuf, std::path::PathBuf)> {
    let run = store.run(run_id)?;
    let head = stored_head(store, run_id)?;
    let (n_train, cross_validation) = store.trained_head_facts(run_id)?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let (k, d) = (head.weights.len(), head.weights.first().map_or(0, Vec::len));
    let weight: Vec<u8> = head.weights.iter().flatten().flat_map(|w| (*w as f32).to_le_bytes()).collect();
    let bias: Vec<u8> = head.intercepts.iter().flat_map(|b| (*b as f32).to_le_bytes()).collect();
    let tensors = [
        ("weight", safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![k, d], &weight).map_err(|e| Error::Inference(e.to_string()))?),
        ("bias", safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![k], &bias).map_err(|e| Error::Inference(e.to_string()))?),
    ];
    let bytes = safetensors::serialize(tensors, None).map_err(|e| Error::Inference(format!("writing the head: {e}")))?;
    let weights_path = dir.join("head.safetensors");
    crate::fs::write(&weights_path, &bytes)?;
    let base_model = run.key.model.strip_suffix(HEAD_SUFFIX).unwrap_or(&run.key.model).to_string();
    // The objective the head was fitted with (heads from before the choice existed: C = 1, unweighted).
    let cv_facts = serde_json::from_str::<serde_json::Value>(&cross_validation).unwrap_or(serde_json::Value::Null);
    let c = cv_facts["options"]["c"].as_f64().unwrap_or(learn::C);
    let weighting = match cv_facts["options"]["class_weight"].as_str() {
        Some("balanced") => "'balanced'",
        _ => "None",
    };
    let description = serde_json::json!({
        "labels": head.labels,
        "base_model": base_model,
        "base_weights_sha256": run.key.weights_sha256,
        "strip_accents": run.key.strip_accents,
        // Heads from before the recipe was recorded were all trained on the mean recipe.
        "embedding": cv_facts["embedding"].as_str().unwrap_or(crate::engine::embed::MEAN_RECIPE),
        "dim": d,
        "objective": if head.multi_label {
            format!("one-vs-rest logistic regression (scikit-learn's OneVsRestClassifier(LogisticRegression(C={c}, class_weight={weighting}))), L2 penalty")
        } else {
            format!("logistic regression, L2 penalty (scikit-learn's LogisticRegression(C={c}, class_weight={weighting})); multinomial for 3+ labels, binary for 2")
        },
        "c": c,
        "class_weight": weighting,
        "multi_label": head.multi_label,
        "scores": if head.multi_label { "sigmoid(weight · embedding + bias), each label on its own" } else { "softmax(weight · embedding + bias), one per label in the order of labels" },
        "n_train": n_train,
        "cross_validation": serde_json::from_str::<serde_json::Value>(&cross_validation).unwrap_or(serde_json::Value::Null),
        "run": run_id,
    });
    let json_path = dir.join("head.json");
    crate::fs::write(&json_path, serde_json::to_string_pretty(&description).expect("plain data serializes").as_bytes())?;
    Ok((weights_path, json_path))
}
