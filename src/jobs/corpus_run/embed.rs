//! Embedding sets of a corpus: every record's mean-pooled vector, on the shared job loop.

use super::*;

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

/// `text`'s vector for a search in embedding set `set`: embedded by the same weights and accent
/// setting as the set's records (another model's vectors would not be comparable, so it is
/// refused). `model` must be loaded with the set's accent setting.
pub fn embed_query(store: &Store, model: &Model, set: i64, text: &str) -> Result<Vec<f32>> {
    let info = store.embedding_set(set)?;
    let weights = sha256_file(&model.files.weights)?;
    if weights != info.key.weights_sha256 {
        return Err(Error::Input(format!(
            "embedding set {set} was made by {} (weights {}…); {} has other weights ({}…), whose vectors are not comparable",
            info.key.model,
            &info.key.weights_sha256[..12],
            model.name,
            &weights[..12]
        )));
    }
    if text.trim().is_empty() {
        return Err(Error::Input("the search text is empty; type what the records should be like".into()));
    }
    let mut vectors = Embedder::new(model).embed(&[text])?;
    Ok(vectors.remove(0))
}
