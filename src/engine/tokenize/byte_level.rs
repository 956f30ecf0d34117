//! `RobertaTokenizer` (RoBERTa): byte-level BPE from tokenizer.json or vocab.json + merges.txt.

use super::*;

/// `RobertaTokenizer`: BPE from tokenizer.json's vocabulary and merges (or vocab.json and
/// merges.txt), no continuation prefix, suffix or unknown token, byte-level pre-tokenizer.
pub(super) fn byte_level_tokenizer(files: &TokenizerFiles, json: Option<&(&Path, Value)>, settings: &TokenizerSettings) -> Result<Tokenizer> {
    let (builder, label) = match (json, &files.vocab_json, &files.merges_txt) {
        (Some((path, json)), _, _) => {
            let model = json_model(json, "BPE", path)?;
            let vocab: ahash::AHashMap<String, u32> = match model.get("vocab") {
                Some(Value::Object(map)) => map
                    .iter()
                    .map(|(k, v)| v.as_u64().and_then(|id| u32::try_from(id).ok()).map(|id| (k.clone(), id)))
                    .collect::<Option<_>>()
                    .ok_or_else(|| Error::tokenizer(path, "the BPE vocabulary must map tokens to ids"))?,
                _ => return Err(Error::tokenizer(path, "the BPE model has no vocabulary")),
            };
            let merges = match model.get("merges") {
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|m| match m {
                        Value::String(s) => s.split_once(' ').map(|(a, b)| (a.to_string(), b.to_string())),
                        Value::Array(pair) => match pair.as_slice() {
                            [Value::String(a), Value::String(b)] => Some((a.clone(), b.clone())),
                            _ => None,
                        },
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| Error::tokenizer(path, "every BPE merge must be two tokens (\"a b\" or [\"a\", \"b\"])"))?,
                _ => return Err(Error::tokenizer(path, "the BPE model has no merges")),
            };
            (BPE::builder().vocab_and_merges(vocab, merges), path.to_path_buf())
        }
        (None, Some(vocab), Some(merges)) => {
            let utf8 = |p: &Path| p.to_str().map(str::to_string).ok_or_else(|| Error::tokenizer(p, "the path is not valid UTF-8"));
            let (vocab_map, merge_list) = BPE::read_file(&utf8(vocab)?, &utf8(merges)?)
                .map_err(|e| Error::tokenizer(vocab, format!("cannot read vocab.json and merges.txt: {e}")))?;
            (BPE::builder().vocab_and_merges(vocab_map, merge_list), vocab.clone())
        }
        (None, Some(vocab), None) => {
            return Err(Error::tokenizer(vocab, "merges.txt is missing; a byte-level BPE tokenizer (RobertaTokenizer) needs it beside vocab.json"))
        }
        (None, None, _) => {
            return Err(Error::tokenizer(
                &files.label(),
                "a byte-level BPE tokenizer (RobertaTokenizer) needs tokenizer.json, or vocab.json and merges.txt, and the folder has neither",
            ))
        }
    };
    let bpe = builder
        .continuing_subword_prefix(String::new())
        .end_of_word_suffix(String::new())
        .fuse_unk(false)
        .build()
        .map_err(|e| Error::tokenizer(&label, format!("cannot build the BPE model: {e}")))?;
    let mut tokenizer = Tokenizer::new(ModelWrapper::BPE(bpe));
    tokenizer.with_pre_tokenizer(Some(ByteLevel::new(settings.add_prefix_space, true, true)));
    tokenizer.with_decoder(Some(ByteLevel::default()));
    Ok(tokenizer)
}
