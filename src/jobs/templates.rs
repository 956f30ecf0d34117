//! The template lab: several hypothesis templates (or per-label hypothesis sets) scored on the
//! labeled records in one go. Logits come from the NLI cache runs share (each (record,
//! hypothesis) is computed once, ever), and the metrics are exactly what a run with the template
//! followed by evaluation gives (`evaluate::score_predictions`).

use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::analysis::evaluate::{score_predictions, LabelSource, RunMetrics};
use crate::analysis::metrics::{Estimate, EvalOptions};
use crate::domain::annotation::within;
use crate::domain::precision::Precision;
use crate::domain::task::ZeroShotTask;
use crate::engine::model::Model;
use crate::engine::zeroshot::ZeroShotClassifier;
use crate::error::{Error, Result};
use crate::jobs::corpus_run::{nli_logits, nli_model_key, sha256_file};
use crate::store::Store;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateScore {
    /// The template, or for a task with its own hypotheses its `template_key`.
    pub template: String,
    /// Accuracy (subset accuracy for multi-label, without an interval).
    pub accuracy: Estimate,
    pub macro_f1: Estimate,
    /// Labeled records scored.
    pub n: u64,
    /// Labeled records left out: their reference is outside the labels (when asked).
    pub outside: u64,
}

/// How many records go through the model at once.
const BATCH: usize = 16;

/// Scores every task on the records of `corpus` that have a reference label (or a seeded sample
/// of `sample` of them), best macro-F1 first. All tasks must share labels and multi-label mode.
/// `progress(done, total)` counts (task, record) pairs; `cancel` stops at the next batch.
/// `source` says which labels are the reference; with `options.within_run_labels` only records
/// whose reference is among the templates' labels are scored.
#[allow(clippy::too_many_arguments)]
pub fn template_lab(
    store: &mut Store,
    model: &Model,
    corpus: &str,
    tasks: &[ZeroShotTask],
    sample: Option<usize>,
    source: LabelSource,
    options: &EvalOptions,
    progress: &mut dyn FnMut(u64, u64),
    cancel: &AtomicBool,
) -> Result<Vec<TemplateScore>> {
    let Some(first) = tasks.first() else { return Err(Error::Input("give at least one template".into())) };
    if tasks.iter().any(|t| t.labels != first.labels || t.multi_label != first.multi_label) {
        return Err(Error::Input("the templates compared must share their labels and multi-label setting".into()));
    }
    let classifier = ZeroShotClassifier::new(model)?;
    let model_key = nli_model_key(model, &sha256_file(&model.files.weights)?, Precision::Exact);
    // The labeled records, with their references as evaluation decides them.
    let mut records: Vec<(i64, String, Vec<String>)> = Vec::new();
    let mut outside = 0u64;
    store.for_each_export_row(corpus, &mut |row| {
        let annotation = row.annotation.as_ref().map(|(l, s)| (l.as_slice(), *s));
        if let Some(labels) = source.labels(annotation, row.gold.as_deref(), first.multi_label) {
            if options.within_run_labels && !within(&labels, &first.labels) {
                outside += 1;
            } else {
                records.push((row.record_id, row.text, labels));
            }
        }
        Ok(())
    })?;
    if records.is_empty() {
        return Err(Error::Input(if outside > 0 {
            format!("every one of the {outside} records of corpus {corpus:?} with {} has a label outside the templates' labels", source.description())
        } else {
            format!("no record of corpus {corpus:?} has {}; label some records first", source.description())
        }));
    }
    if let Some(n) = sample.filter(|&n| n < records.len()) {
        use rand::seq::SliceRandom;
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(options.seed);
        records.shuffle(&mut rng);
        records.truncate(n);
        records.sort_by_key(|r| r.0);
    }
    let total = (tasks.len() * records.len()) as u64;
    let mut done = 0u64;
    progress(done, total);
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        let hypotheses = task.hypotheses();
        let mut items = Vec::with_capacity(records.len());
        for batch in records.chunks(BATCH) {
            if cancel.load(Ordering::Relaxed) {
                return Err(Error::Cancelled);
            }
            let pairs: Vec<(i64, &str)> = batch.iter().map(|(id, text, _)| (*id, text.as_str())).collect();
            let (logits, new_logits) = nli_logits(store, &classifier, &model_key, &pairs, &hypotheses)?;
            for ((_, text, truth), per_label) in batch.iter().zip(logits) {
                let result = classifier.scores(text, task, &per_label);
                items.push((truth.clone(), result.labels, result.scores));
            }
            store.save_logits(&model_key, &new_logits)?;
            done += batch.len() as u64;
            progress(done, total);
        }
        let (accuracy, macro_f1) = match score_predictions(&task.labels, task.multi_label, items, options) {
            RunMetrics::SingleLabel(m) => (m.accuracy, m.macro_f1),
            RunMetrics::MultiLabel(m) => (Estimate { value: m.subset_accuracy, low: m.subset_accuracy, high: m.subset_accuracy }, m.macro_f1),
        };
        out.push(TemplateScore { template: task.template_key(), accuracy, macro_f1, n: records.len() as u64, outside });
    }
    out.sort_by(|a, b| b.macro_f1.value.total_cmp(&a.macro_f1.value).then(b.accuracy.value.total_cmp(&a.accuracy.value)));
    Ok(out)
}
