//! Training a head on a corpus's labels: embed what is missing (the resumable embedding job),
//! take every record with a reference label (the accepted annotation, else gold, as evaluation
//! decides), cross-validate, fit on all of them, and store every record's scores as a run of
//! kind "trained" that works wherever runs work (pre-labels, uncertainty orders, Compare,
//! reports, exports).

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::corpus_run::{self, RunProgress};
use crate::error::{Error, Result};
use crate::learn::{self, CrossValidation, Head};
use crate::model::Model;
use crate::store::{PredictionRow, RunInfo, RunKey, Store};

#[derive(Debug, Clone, Serialize)]
pub struct TrainSummary {
    pub run: RunInfo,
    pub embedding_set: i64,
    /// Records the head was trained on (every record with a reference label).
    pub n_train: usize,
    pub labels: Vec<String>,
    pub cross_validation: CrossValidation,
}

/// Trains a head on `model`'s embeddings of `corpus` and stores its predictions as a run.
/// `progress` and `cancel` cover the embedding job; training itself takes seconds.
#[allow(clippy::too_many_arguments)]
pub fn train(
    store: &mut Store,
    model: &Model,
    corpus: &str,
    strip_accents: Option<bool>,
    folds: usize,
    seed: u64,
    progress: &mut dyn FnMut(RunProgress),
    cancel: &AtomicBool,
) -> Result<TrainSummary> {
    let embedded = corpus_run::run_embed(store, model, corpus, strip_accents, 32, progress, cancel)?;
    if embedded.cancelled {
        return Err(Error::Cancelled);
    }
    let set = embedded.embeddings;
    let vectors: HashMap<i64, Vec<f32>> = store.embeddings(set.id)?.into_iter().collect();
    let references = store.reference_labels(corpus)?;
    // The labels: the schema's order first, then any other reference label alphabetically.
    let mut labels: Vec<String> = store.label_schema(corpus)?.names();
    let mut others: Vec<String> = references.iter().map(|(_, l)| l.clone()).filter(|l| !labels.contains(l)).collect();
    others.sort();
    others.dedup();
    labels.extend(others);
    labels.retain(|l| references.iter().any(|(_, r)| r == l));
    let index: HashMap<&str, usize> = labels.iter().enumerate().map(|(i, l)| (l.as_str(), i)).collect();
    let (x, y): (Vec<Vec<f32>>, Vec<usize>) = references.iter().map(|(id, l)| (vectors[id].clone(), index[l.as_str()])).unzip();
    if labels.len() < 2 {
        return Err(Error::Input(format!(
            "corpus {corpus:?} has {} labeled records with {} label(s); training needs records of at least two labels",
            x.len(),
            labels.len()
        )));
    }
    let cv = learn::cross_validate(&x, &y, &labels, folds, seed)?;
    let head = Head::fit(&x, &y, &labels)?;
    let head_json = serde_json::to_string(&head).expect("numbers serialize");
    // The head's identity: its weights (a retrain on more labels is another run).
    let digest = Sha256::digest(head_json.as_bytes());
    let short: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let key = RunKey {
        corpus: corpus.to_string(),
        model: format!("{} + logistic head", model.name),
        weights_sha256: set.key.weights_sha256.clone(),
        labels: labels.clone(),
        template: format!("trained on {} labels (head {short})", x.len()),
        multi_label: false,
        strip_accents,
    };
    let run = store.open_run(&key)?;
    // The head is stored last: without it, predictions are from an interrupted attempt.
    if store.trained_head(run.id)?.is_none() {
        store.clear_predictions(run.id)?;
        let mut rows: Vec<PredictionRow> = Vec::with_capacity(vectors.len());
        let mut ids: Vec<&i64> = vectors.keys().collect();
        ids.sort();
        for id in ids {
            let p = head.predict(&vectors[id]);
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
        store.save_trained_head(run.id, set.id, &head_json, x.len() as u64, &serde_json::to_string(&cv).expect("numbers serialize"))?;
        store.finish_run(run.id)?;
    }
    Ok(TrainSummary { run: store.run(run.id)?, embedding_set: set.id, n_train: x.len(), labels, cross_validation: cv })
}
