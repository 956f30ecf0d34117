//! `BertTokenizer` (ELECTRA, BERT): WordPiece from vocab.txt or tokenizer.json, with the
//! BERT normalizer's accent and case settings.

use super::*;

/// `BertTokenizer`: transformers v5 takes only the vocabulary from tokenizer.json (or vocab.txt)
/// and rebuilds the rest from the settings.
pub(super) fn wordpiece_tokenizer(files: &TokenizerFiles, settings: &TokenizerSettings, label: &Path) -> Result<Tokenizer> {
    let wordpiece = match (&files.tokenizer_json, &files.vocab_txt) {
        (Some(json), _) => wordpiece_from_tokenizer_json(json, settings)?,
        (None, Some(vocab)) => {
            let path = vocab.to_str().ok_or_else(|| Error::tokenizer(vocab, "the path is not valid UTF-8"))?;
            let vocab_map = WordPiece::read_file(path).map_err(|e| Error::tokenizer(vocab, format!("cannot read the vocabulary: {e}")))?;
            build_wordpiece(vocab_map.into_iter().collect(), settings, vocab)?
        }
        (None, None) => {
            return Err(Error::tokenizer(
                label,
                "a WordPiece tokenizer (BertTokenizer) needs tokenizer.json or vocab.txt, and the folder has neither",
            ))
        }
    };
    let mut tokenizer = Tokenizer::new(ModelWrapper::WordPiece(wordpiece));
    tokenizer
        .with_normalizer(Some(BertNormalizer::new(true, settings.tokenize_chinese_chars, settings.strip_accents, settings.do_lower_case)))
        .map_err(|e| Error::tokenizer(label, e.to_string()))?;
    tokenizer.with_pre_tokenizer(Some(BertPreTokenizer));
    tokenizer.with_decoder(Some(tokenizers::decoders::wordpiece::WordPiece::new("##".into(), true)));
    Ok(tokenizer)
}

/// transformers v5 takes only the vocabulary from tokenizer.json and rebuilds the rest.
pub(super) fn wordpiece_from_tokenizer_json(path: &Path, settings: &TokenizerSettings) -> Result<WordPiece> {
    let tokenizer = Tokenizer::from_file(path).map_err(|e| Error::tokenizer(path, format!("not a valid tokenizer.json: {e}")))?;
    match tokenizer.get_model() {
        ModelWrapper::WordPiece(wp) => {
            let vocab = tokenizers::Model::get_vocab(wp);
            build_wordpiece(vocab.into_iter().collect(), settings, path)
        }
        _ => Err(Error::Unsupported {
            what: format!("a tokenizer.json whose model is not WordPiece ({}) for a WordPiece tokenizer class", path.display()),
            supported: "WordPiece tokenizers (BERT, ELECTRA); RoBERTa's byte-level BPE and XLM-RoBERTa's Unigram with their own model types".into(),
        }),
    }
}

pub(super) fn build_wordpiece(vocab: ahash::AHashMap<String, u32>, settings: &TokenizerSettings, path: &Path) -> Result<WordPiece> {
    if vocab.is_empty() {
        return Err(Error::tokenizer(path, "the vocabulary is empty"));
    }
    WordPiece::builder()
        .vocab(vocab)
        .unk_token(settings.unk_token.clone())
        .continuing_subword_prefix("##".into())
        .max_input_chars_per_word(100)
        .build()
        .map_err(|e| Error::tokenizer(path, format!("cannot build the WordPiece model: {e}")))
}
