//! Runs of a token classifier (an NER tagger) over a corpus: each record's entities, as the
//! token-classification pipeline finds them with the run's aggregation and stride, on the
//! shared job loop. A tagging run is a run of kind `tagger`; its key's labels are the model's
//! entity types and its template the tagging options in words (so that another aggregation or
//! stride is another run). It has no label scores: suggestions and label evaluation skip it.

use super::*;
use crate::engine::tag::{entity_types, TagOptions, TokenTagger};
use crate::store::{RunKind, TaggedRecord};

/// The identity of a tagger's run over `corpus` with `options`.
pub fn tagger_run_key(corpus: &str, model: &Model, weights_sha256: &str, strip_accents: Option<bool>, options: &TagOptions) -> RunKey {
    RunKey {
        corpus: corpus.to_string(),
        model: model.name.clone(),
        weights_sha256: weights_sha256.to_string(),
        labels: entity_types(&model.config.id2label),
        template: options.describe(),
        multi_label: false,
        strip_accents,
        precision: Precision::Exact,
    }
}

/// Runs (or resumes) a token classifier over every record of `corpus`.
#[allow(clippy::too_many_arguments)]
pub fn run_tag(
    store: &mut Store,
    model: &Model,
    corpus: &str,
    strip_accents: Option<bool>,
    options: TagOptions,
    batch_size: usize,
    progress: &mut dyn FnMut(RunProgress),
    cancel: &AtomicBool,
) -> Result<RunSummary> {
    check_batch_size(batch_size)?;
    let tagger = TokenTagger::new(model)?;
    // The options are checked before a run is created for them.
    tagger.check(options)?;
    let weights_sha256 = sha256_file(&model.files.weights)?;
    let key = tagger_run_key(corpus, model, &weights_sha256, strip_accents, &options);
    let run = store.open_run_as(&key, RunKind::Tagger)?;
    let (tagged_now, cancelled) = run_job(
        store,
        (run.predictions, run.records),
        batch_size,
        progress,
        cancel,
        &mut |store, after, size| store.untagged_records(run.id, after, size),
        &mut |store, batch| {
            let texts: Vec<&str> = batch.iter().map(|(_, text)| text.as_str()).collect();
            let taggings = tagger.tag_batch(&texts, options).map_err(|e| in_batch(e, batch[0].0))?;
            let records: Vec<TaggedRecord> = batch.iter().zip(taggings).map(|((id, text), tagging)| tagged_record(*id, text, tagging)).collect();
            store.save_tagged(run.id, &records)
        },
    )?;
    if !cancelled {
        store.finish_run(run.id)?;
    }
    Ok(RunSummary { run: store.run(run.id)?, predicted_now: tagged_now, cancelled, precision: PrecisionOutcome::exact() })
}

/// A record's tagging as a tagging run stores it: each entity with the text it covers.
pub(crate) fn tagged_record(record_id: i64, text: &str, tagging: crate::engine::tag::Tagging) -> TaggedRecord {
    let chars: Vec<char> = text.chars().collect();
    let entities = tagging
        .entities
        .into_iter()
        .map(|e| {
            let covered: String = chars[e.start.min(chars.len())..e.end.min(chars.len())].iter().collect();
            (e.label().to_string(), e.start, e.end, e.score, covered)
        })
        .collect();
    TaggedRecord { record_id, entities, truncated: tagging.truncated }
}
