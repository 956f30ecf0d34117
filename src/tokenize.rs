//! The WordPiece tokenizer, built the way transformers builds `BertTokenizer` for ELECTRA and BERT.
//!
//! transformers (v5) builds the tokenizer from tokenizer_config.json's settings whether or not the
//! repository ships a tokenizer.json: from tokenizer.json it only takes the vocabulary. The
//! normalizer is `BertNormalizer(clean_text, handle_chinese_chars, strip_accents, lowercase)`, the
//! pre-tokenizer `BertPreTokenizer`, the model WordPiece with `##` continuations and at most 100
//! characters per word, and the post-processor `[CLS] A [SEP]` / `[CLS] A [SEP] B [SEP]` with
//! segment ids 0 and 1. `strip_accents` left unset follows `do_lower_case`.
//!
//! Accents: SELECTRA was pre-trained with accents stripped, so the embeddings of vocabulary pieces
//! that contain an accent were never trained (the card's note). The faithful default is therefore
//! the model's own files' setting; [`TokenizerOptions::strip_accents`] overrides it (the card
//! suggests keeping accents when *fine-tuning*), and [`TextTokenizer::untrained_piece`] tells
//! which pieces of such an override the model never learned.
//!
//! Offsets are character (Unicode scalar) offsets into the caller's text, as transformers'
//! `offset_mapping` reports them.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{
    AddedToken, Encoding, ModelWrapper, NormalizedString, Normalizer, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy,
};

use crate::error::{Error, Result};

/// Settings read from tokenizer_config.json (and special_tokens_map.json), with BertTokenizer's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenizerSettings {
    pub do_lower_case: bool,
    /// `None` means "follow do_lower_case", as in the original BERT.
    pub strip_accents: Option<bool>,
    pub tokenize_chinese_chars: bool,
    /// `model_max_length` (or the legacy `max_len`); `None` when the config does not say.
    pub model_max_length: Option<usize>,
    pub unk_token: String,
    pub sep_token: String,
    pub pad_token: String,
    pub cls_token: String,
    pub mask_token: String,
}

impl Default for TokenizerSettings {
    fn default() -> Self {
        Self {
            do_lower_case: true,
            strip_accents: None,
            tokenize_chinese_chars: true,
            model_max_length: None,
            unk_token: "[UNK]".into(),
            sep_token: "[SEP]".into(),
            pad_token: "[PAD]".into(),
            cls_token: "[CLS]".into(),
            mask_token: "[MASK]".into(),
        }
    }
}

/// Choices a user can make on top of the model's own tokenizer settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenizerOptions {
    /// Overrides tokenizer_config.json's `strip_accents`.
    pub strip_accents: Option<bool>,
}

/// Where the tokenizer's vocabulary comes from.
#[derive(Debug, Clone)]
pub struct TokenizerFiles {
    pub tokenizer_json: Option<PathBuf>,
    pub vocab_txt: Option<PathBuf>,
    pub tokenizer_config: Option<PathBuf>,
    pub special_tokens_map: Option<PathBuf>,
}

/// One token of an encoded text, with offsets into the caller's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    pub id: u32,
    /// Character offsets into the original text, end exclusive.
    pub start: usize,
    pub end: usize,
    /// Which pre-tokenized word of its sequence the token belongs to.
    pub word: Option<u32>,
}

/// An encoded input: ids for the model plus the non-special tokens of the first sequence.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub ids: Vec<u32>,
    pub type_ids: Vec<u32>,
    /// The first sequence's tokens (no [CLS]/[SEP]), in order.
    pub tokens: Vec<Token>,
    /// Position in `ids` of each entry of `tokens`.
    pub positions: Vec<usize>,
    /// Whether the first sequence lost tokens to the length limit.
    pub truncated: bool,
}

pub struct TextTokenizer {
    /// The tokenizer without truncation, and two copies set up to truncate (truncation is a
    /// setting of the tokenizer, and cloning one per call would copy the whole vocabulary).
    tokenizer: Tokenizer,
    truncate_single: Tokenizer,
    truncate_pair: Tokenizer,
    settings: TokenizerSettings,
    /// Whether the model's own files strip accents (before any override).
    files_strip_accents: bool,
    /// The longest input the model accepts, special tokens included.
    max_length: usize,
    pad_id: u32,
}

impl TextTokenizer {
    /// Builds the tokenizer. `max_positions` is the model's `max_position_embeddings`: when the
    /// tokenizer config gives no `model_max_length`, inputs are cut there (transformers would not
    /// cut at all and then fail inside the model).
    pub fn load(files: &TokenizerFiles, options: TokenizerOptions, max_positions: usize) -> Result<Self> {
        let mut settings = match &files.tokenizer_config {
            Some(path) => read_settings(path)?,
            None => TokenizerSettings::default(),
        };
        if let Some(path) = &files.special_tokens_map {
            apply_special_tokens_map(&mut settings, path)?;
        }
        let files_strip_accents = settings.strip_accents.unwrap_or(settings.do_lower_case);
        if options.strip_accents.is_some() {
            settings.strip_accents = options.strip_accents;
        }

        let wordpiece = match (&files.tokenizer_json, &files.vocab_txt) {
            (Some(json), _) => wordpiece_from_tokenizer_json(json, &settings)?,
            (None, Some(vocab)) => {
                let path = vocab.to_str().ok_or_else(|| Error::tokenizer(vocab, "the path is not valid UTF-8"))?;
                let vocab_map = WordPiece::read_file(path).map_err(|e| Error::tokenizer(vocab, format!("cannot read the vocabulary: {e}")))?;
                build_wordpiece(vocab_map.into_iter().collect(), &settings, vocab)?
            }
            (None, None) => return Err(Error::Tokenizer { path: PathBuf::from("."), message: "no tokenizer.json and no vocab.txt".into() }),
        };
        let label = files.tokenizer_json.as_ref().or(files.vocab_txt.as_ref()).cloned().unwrap_or_default();

        let mut tokenizer = Tokenizer::new(ModelWrapper::WordPiece(wordpiece));
        tokenizer
            .with_normalizer(Some(BertNormalizer::new(true, settings.tokenize_chinese_chars, settings.strip_accents, settings.do_lower_case)))
            .map_err(|e| Error::tokenizer(&label, e.to_string()))?;
        tokenizer.with_pre_tokenizer(Some(BertPreTokenizer));

        let id_of = |token: &str| {
            tokenizer.token_to_id(token).ok_or_else(|| Error::tokenizer(&label, format!("the special token {token} is not in the vocabulary")))
        };
        let (cls_id, sep_id, pad_id) = (id_of(&settings.cls_token)?, id_of(&settings.sep_token)?, id_of(&settings.pad_token)?);
        id_of(&settings.unk_token)?;

        let (cls, sep) = (settings.cls_token.as_str(), settings.sep_token.as_str());
        let template = TemplateProcessing::builder()
            .try_single(format!("{cls}:0 $A:0 {sep}:0"))
            .and_then(|b| b.try_pair(format!("{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1")))
            .map_err(|e| Error::tokenizer(&label, format!("bad special tokens: {e}")))?
            .special_tokens(vec![(cls.to_string(), cls_id), (sep.to_string(), sep_id)])
            .build()
            .map_err(|e| Error::tokenizer(&label, format!("bad special tokens: {e}")))?;
        tokenizer.with_post_processor(Some(template));

        // Special tokens match as whole units and are never normalized, as transformers adds them.
        let specials: Vec<AddedToken> = [&settings.pad_token, &settings.unk_token, &settings.cls_token, &settings.sep_token, &settings.mask_token]
            .into_iter()
            .map(|t| AddedToken::from(t.clone(), true))
            .collect();
        tokenizer.add_special_tokens(specials).map_err(|e| Error::tokenizer(&label, format!("cannot add the special tokens: {e}")))?;

        let max_length = settings.model_max_length.unwrap_or(max_positions).min(max_positions);
        if max_length < 4 {
            return Err(Error::tokenizer(&label, format!("model_max_length {max_length} leaves no room for text")));
        }
        let truncating = |strategy| -> Result<Tokenizer> {
            let mut t = tokenizer.clone();
            t.with_truncation(Some(TruncationParams { max_length, strategy, stride: 0, direction: TruncationDirection::Right }))
                .map_err(|e| Error::tokenizer(&label, e.to_string()))?;
            Ok(t)
        };
        let truncate_single = truncating(TruncationStrategy::LongestFirst)?;
        let truncate_pair = truncating(TruncationStrategy::OnlyFirst)?;
        Ok(Self { tokenizer, truncate_single, truncate_pair, settings, files_strip_accents, max_length, pad_id })
    }

    pub fn settings(&self) -> &TokenizerSettings {
        &self.settings
    }

    /// The strip_accents value in effect (unset follows lowercase).
    pub fn strips_accents(&self) -> bool {
        self.settings.strip_accents.unwrap_or(self.settings.do_lower_case)
    }

    /// Whether the model's own tokenizer files strip accents (unset follows lowercase), whatever
    /// the override in effect.
    pub fn files_strip_accents(&self) -> bool {
        self.files_strip_accents
    }

    /// True when accents are kept on a model whose files strip them: then every vocabulary piece
    /// with an accent is one the model never saw in pre-training.
    pub fn keeps_stripped_accents(&self) -> bool {
        self.files_strip_accents && !self.strips_accents()
    }

    /// Whether `piece` (a token's text) is one whose embedding was never trained: accents are kept
    /// although the model's files strip them, and the piece holds a character that accent
    /// stripping changes (á, é, ñ, ü, ... or a bare combining mark: whatever Unicode NFD splits
    /// into a base and a nonspacing mark, exactly what BertNormalizer's strip_accents removes).
    pub fn untrained_piece(&self, piece: &str) -> bool {
        self.keeps_stripped_accents() && has_strippable_accent(piece)
    }

    pub fn max_length(&self) -> usize {
        self.max_length
    }

    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// The id of a vocabulary token, if the vocabulary has it.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.tokenizer.token_to_id(token)
    }

    pub fn vocab_size(&self) -> usize {
        self.tokenizer.get_vocab_size(true)
    }

    /// Encodes one text, keeping its first `max_length - 2` tokens.
    pub fn encode_single(&self, text: &str) -> Result<Encoded> {
        let full = encode(&self.tokenizer, text, None)?;
        if full.ids.len() <= self.max_length {
            return Ok(full);
        }
        let mut cut = encode(&self.truncate_single, text, None)?;
        cut.truncated = true;
        Ok(cut)
    }

    /// Encodes a premise/hypothesis pair, truncating only the premise (the zero-shot pipeline's
    /// `only_first`). If even an empty premise would not fit, transformers gives up truncating,
    /// and the pair is encoded whole; the caller then reports the input as too long.
    pub fn encode_pair(&self, premise: &str, hypothesis: &str) -> Result<Encoded> {
        let full = encode(&self.tokenizer, premise, Some(hypothesis))?;
        if full.ids.len() <= self.max_length {
            return Ok(full);
        }
        match encode(&self.truncate_pair, premise, Some(hypothesis)) {
            Ok(mut cut) => {
                cut.truncated = true;
                Ok(cut)
            }
            Err(_) => Ok(full),
        }
    }
}

/// True when BertNormalizer's accent stripping would change `text` beyond its NFD form, i.e. the
/// text holds a nonspacing mark once decomposed. The same normalizer the tokenizer uses decides.
pub fn has_strippable_accent(text: &str) -> bool {
    let mut decomposed = NormalizedString::from(text);
    decomposed.nfd();
    let mut stripped = NormalizedString::from(text);
    // clean_text and Chinese-character handling off, strip_accents on, no lowercasing.
    if BertNormalizer::new(false, false, Some(true), false).normalize(&mut stripped).is_err() {
        return false;
    }
    decomposed.get() != stripped.get()
}

/// A text tokenized on its own, without special tokens, ready to be paired with other pieces:
/// zero-shot pairs one premise with every hypothesis, so each is tokenized once.
#[derive(Debug, Clone)]
pub struct Piece(Encoding);

impl Piece {
    /// Tokens in the piece.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A text tokenized whole (no truncation) and cut into overlapping windows the model can take:
/// what a corpus scan runs, so that every character of a long record is scored.
#[derive(Debug, Clone)]
pub struct Windows {
    /// The text's tokens (special tokens typed in the text excluded, as [`Encoded::tokens`]).
    pub tokens: Vec<Token>,
    /// Position of each of `tokens` among all the text's token ids.
    pub positions: Vec<usize>,
    /// Each window: the position of its first token id, and the encoded window
    /// (`[CLS] ids[start..start + width] [SEP]`).
    pub windows: Vec<(usize, Encoded)>,
    /// How many of the text's token ids a window holds (the model's length less [CLS] and [SEP]).
    pub width: usize,
}

impl TextTokenizer {
    /// The text whole, in windows of `max_length - 2` token ids that overlap by half; a text
    /// that fits is one window, encoded exactly as [`TextTokenizer::encode_single`] encodes it.
    pub fn windows(&self, text: &str) -> Result<Windows> {
        // A piece has no sequence ranges, so every token is of the first sequence: `to_encoded`
        // keeps the text's tokens (special tokens typed in it excluded) and their positions.
        let Encoded { ids, tokens, positions, .. } = to_encoded(&self.piece(text)?.0);
        let (cls, sep) = (self.special_id(&self.settings.cls_token)?, self.special_id(&self.settings.sep_token)?);
        let width = self.max_length - 2;
        let stride = (width / 2).max(1);
        let mut starts: Vec<usize> =
            (0..ids.len().saturating_sub(width).div_ceil(stride) + 1).map(|k| (k * stride).min(ids.len().saturating_sub(width))).collect();
        starts.dedup();
        let windows = starts
            .into_iter()
            .map(|start| {
                let body = &ids[start..(start + width).min(ids.len())];
                let window: Vec<u32> = std::iter::once(cls).chain(body.iter().copied()).chain(std::iter::once(sep)).collect();
                let encoded = Encoded { type_ids: vec![0; window.len()], ids: window, tokens: Vec::new(), positions: Vec::new(), truncated: false };
                (start, encoded)
            })
            .collect();
        Ok(Windows { tokens, positions, windows, width })
    }

    fn special_id(&self, token: &str) -> Result<u32> {
        self.tokenizer.token_to_id(token).ok_or_else(|| Error::Input(format!("the special token {token} is not in the vocabulary")))
    }

    /// Tokenizes `text` once for [`TextTokenizer::join_pair`].
    pub fn piece(&self, text: &str) -> Result<Piece> {
        let e = self.tokenizer.encode_char_offsets(text, false).map_err(|e| Error::Input(format!("cannot tokenize the input: {e}")))?;
        // Without its sequence ranges: the single-sequence post-processing marked the tokens as
        // sequence 0, which would survive into a pair and relabel the hypothesis as the premise.
        // Tokens, offsets and word ids are what tokenizing the text inside a pair gives.
        Ok(Piece(Encoding::new(
            e.get_ids().to_vec(),
            e.get_type_ids().to_vec(),
            e.get_tokens().to_vec(),
            e.get_word_ids().to_vec(),
            e.get_offsets().to_vec(),
            e.get_special_tokens_mask().to_vec(),
            e.get_attention_mask().to_vec(),
            Vec::new(),
            ahash::AHashMap::new(),
        )))
    }

    /// The pair `[CLS] premise [SEP] hypothesis [SEP]` from pieces, truncating only the premise:
    /// exactly [`TextTokenizer::encode_pair`] on the two texts, without tokenizing them again
    /// (the tokenizer's own post-processing and truncation do the joining; tested equal).
    pub fn join_pair(&self, premise: &Piece, hypothesis: &Piece) -> Result<Encoded> {
        let join = |tokenizer: &Tokenizer| {
            tokenizer
                .post_process(premise.0.clone(), Some(hypothesis.0.clone()), true)
                .map_err(|e| Error::Input(format!("cannot tokenize the input: {e}")))
        };
        let full = join(&self.tokenizer)?;
        if full.len() <= self.max_length {
            return Ok(to_encoded(&full));
        }
        match join(&self.truncate_pair) {
            Ok(cut) => {
                let mut cut = to_encoded(&cut);
                cut.truncated = true;
                Ok(cut)
            }
            Err(_) => Ok(to_encoded(&full)),
        }
    }
}

fn encode(tokenizer: &Tokenizer, first: &str, second: Option<&str>) -> Result<Encoded> {
    let encoding = match second {
        Some(b) => tokenizer.encode_char_offsets((first, b), true),
        None => tokenizer.encode_char_offsets(first, true),
    }
    .map_err(|e| Error::Input(format!("cannot tokenize the input: {e}")))?;
    Ok(to_encoded(&encoding))
}

fn to_encoded(encoding: &Encoding) -> Encoded {
    let mut tokens = Vec::new();
    let mut positions = Vec::new();
    for (i, ((&special, seq), word)) in
        encoding.get_special_tokens_mask().iter().zip(encoding.get_sequence_ids()).zip(encoding.get_word_ids()).enumerate()
    {
        if special == 1 || seq != Some(0) {
            continue;
        }
        let (start, end) = encoding.get_offsets()[i];
        tokens.push(Token { text: encoding.get_tokens()[i].clone(), id: encoding.get_ids()[i], start, end, word: *word });
        positions.push(i);
    }
    Encoded { ids: encoding.get_ids().to_vec(), type_ids: encoding.get_type_ids().to_vec(), tokens, positions, truncated: false }
}

/// transformers v5 takes only the vocabulary from tokenizer.json and rebuilds the rest.
fn wordpiece_from_tokenizer_json(path: &Path, settings: &TokenizerSettings) -> Result<WordPiece> {
    let tokenizer = Tokenizer::from_file(path).map_err(|e| Error::tokenizer(path, format!("not a valid tokenizer.json: {e}")))?;
    match tokenizer.get_model() {
        ModelWrapper::WordPiece(wp) => {
            let vocab = tokenizers::Model::get_vocab(wp);
            build_wordpiece(vocab.into_iter().collect(), settings, path)
        }
        _ => Err(Error::Unsupported {
            what: format!("a tokenizer.json whose model is not WordPiece ({})", path.display()),
            supported: "WordPiece tokenizers (BERT, ELECTRA)".into(),
        }),
    }
}

fn build_wordpiece(vocab: ahash::AHashMap<String, u32>, settings: &TokenizerSettings, path: &Path) -> Result<WordPiece> {
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

/// A special token may be written as a string or as a serialized AddedToken object.
fn token_content(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Object(map) => map.get("content").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

fn read_json_object(path: &Path) -> Result<serde_json::Map<String, Value>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    match serde_json::from_str(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::tokenizer(path, "expected a JSON object")),
        Err(e) => Err(Error::tokenizer(path, format!("not valid JSON: {e}"))),
    }
}

fn read_settings(path: &Path) -> Result<TokenizerSettings> {
    let map = read_json_object(path)?;
    let mut s = TokenizerSettings::default();
    let flag = |key: &str| -> Result<Option<bool>> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(Error::tokenizer(path, format!("{key} must be true, false or null, not {other}"))),
        }
    };
    if let Some(v) = flag("do_lower_case")? {
        s.do_lower_case = v;
    }
    s.strip_accents = flag("strip_accents")?;
    if let Some(v) = flag("tokenize_chinese_chars")? {
        s.tokenize_chinese_chars = v;
    }
    // transformers treats an absurdly large model_max_length (its "unset" sentinel) as unset.
    s.model_max_length = ["model_max_length", "max_len"]
        .iter()
        .find_map(|k| map.get(*k).and_then(Value::as_f64))
        .filter(|v| (1.0..1e12).contains(v))
        .map(|v| v as usize);
    apply_special_tokens(&mut s, &map);
    Ok(s)
}

fn apply_special_tokens(s: &mut TokenizerSettings, map: &serde_json::Map<String, Value>) {
    let slots: [(&str, &mut String); 5] = [
        ("unk_token", &mut s.unk_token),
        ("sep_token", &mut s.sep_token),
        ("pad_token", &mut s.pad_token),
        ("cls_token", &mut s.cls_token),
        ("mask_token", &mut s.mask_token),
    ];
    for (key, slot) in slots {
        if let Some(content) = map.get(key).and_then(token_content) {
            *slot = content;
        }
    }
}

fn apply_special_tokens_map(s: &mut TokenizerSettings, path: &Path) -> Result<()> {
    let map = read_json_object(path)?;
    apply_special_tokens(s, &map);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::has_strippable_accent;

    #[test]
    fn accented_pieces_are_those_accent_stripping_changes() {
        for (piece, accented) in [
            ("á", true),
            ("##ción", true),
            ("niño", true),
            ("pingüino", true),
            ("e\u{301}", true),
            ("\u{301}", true),
            ("cancion", false),
            ("##ando", false),
            ("¿", false),
            ("€", false),
            ("", false),
        ] {
            assert_eq!(has_strippable_accent(piece), accented, "{piece:?}");
        }
    }
}
