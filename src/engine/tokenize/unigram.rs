//! `XLMRobertaTokenizer` (XLM-RoBERTa): SentencePiece Unigram with its precompiled normalizer,
//! from tokenizer.json.

use super::*;

/// `XLMRobertaTokenizer`: Unigram from tokenizer.json's pieces and scores, the unknown token at
/// id 3 (as transformers fixes it), the precompiled SentencePiece normalizer if tokenizer.json has
/// one, whitespace split then Metaspace.
pub(super) fn unigram_tokenizer(files: &TokenizerFiles, json: Option<&(&Path, Value)>, settings: &TokenizerSettings) -> Result<Tokenizer> {
    let Some((path, json)) = json else {
        let what = match &files.sentencepiece_model {
            Some(model) => format!(
                "the folder has only {}: write tokenizer.json from it with transformers \
                 (AutoTokenizer.from_pretrained(folder).save_pretrained(folder)), then load the model again",
                model.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default()
            ),
            None => "the folder has no tokenizer.json".into(),
        };
        return Err(Error::tokenizer(&files.label(), format!("a SentencePiece tokenizer (XLMRobertaTokenizer) is read from tokenizer.json; {what}")));
    };
    let model = json_model(json, "Unigram", path)?;
    let vocab: Vec<(String, f64)> = match model.get("vocab") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item.as_array().map(Vec::as_slice) {
                Some([Value::String(piece), score]) => score.as_f64().map(|s| (piece.clone(), s)),
                _ => None,
            })
            .collect::<Option<_>>()
            .ok_or_else(|| Error::tokenizer(path, "every Unigram piece must be [piece, score]"))?,
        _ => return Err(Error::tokenizer(path, "the Unigram model has no vocabulary")),
    };
    if vocab.len() < 4 {
        return Err(Error::tokenizer(path, format!("the Unigram vocabulary has {} pieces; XLM-RoBERTa's unknown token is id 3", vocab.len())));
    }
    let unigram = Unigram::from(vocab, Some(3), false).map_err(|e| Error::tokenizer(path, format!("cannot build the Unigram model: {e}")))?;
    let mut tokenizer = Tokenizer::new(ModelWrapper::Unigram(unigram));
    if let Some(precompiled) = precompiled_normalizer(json, path)? {
        tokenizer.with_normalizer(Some(precompiled)).map_err(|e| Error::tokenizer(path, e.to_string()))?;
    }
    let prepend = if settings.add_prefix_space { PrependScheme::Always } else { PrependScheme::Never };
    tokenizer.with_pre_tokenizer(Some(PreTokenizerSequence::new(vec![
        PreTokenizerWrapper::WhitespaceSplit(WhitespaceSplit),
        PreTokenizerWrapper::Metaspace(Metaspace::new('▁', prepend, true)),
    ])));
    tokenizer.with_decoder(Some(Metaspace::new('▁', prepend, true)));
    Ok(tokenizer)
}

/// The `Precompiled` normalizer of tokenizer.json (alone or in a sequence), as transformers keeps it.
pub(super) fn precompiled_normalizer(json: &Value, path: &Path) -> Result<Option<NormalizerWrapper>> {
    let candidates: Vec<&Value> = match json.get("normalizer") {
        Some(n) if n.get("type").and_then(Value::as_str) == Some("Sequence") => {
            n.get("normalizers").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default()
        }
        Some(Value::Null) | None => Vec::new(),
        Some(n) => vec![n],
    };
    match candidates.into_iter().find(|n| n.get("type").and_then(Value::as_str) == Some("Precompiled")) {
        Some(n) => serde_json::from_value(n.clone())
            .map(Some)
            .map_err(|e| Error::tokenizer(path, format!("the precompiled SentencePiece normalizer is corrupt: {e}"))),
        None => Ok(None),
    }
}
