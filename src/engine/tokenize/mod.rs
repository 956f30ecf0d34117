//! Tokenizers built the way transformers v5 builds them for the architectures we run.
//!
//! transformers (v5) builds a tokenizer from its class's own recipe and tokenizer_config.json's
//! settings whether or not the repository ships a tokenizer.json: from tokenizer.json it takes
//! the vocabulary (and merges, and SentencePiece's precompiled normalizer), not the pipeline. The
//! class comes from tokenizer_config.json's `tokenizer_class`, else from the model type:
//!
//! - [`TokenizerKind::WordPiece`] (`BertTokenizer`, ELECTRA and BERT): normalizer
//!   `BertNormalizer(clean_text, handle_chinese_chars, strip_accents, lowercase)`, pre-tokenizer
//!   `BertPreTokenizer`, WordPiece with `##` continuations and at most 100 characters per word,
//!   post-processor `[CLS] A [SEP]` / `[CLS] A [SEP] B [SEP]` with segment ids 0 and 1.
//!   `strip_accents` left unset follows `do_lower_case`. Vocabulary from tokenizer.json or vocab.txt.
//! - [`TokenizerKind::ByteLevelBpe`] (`RobertaTokenizer`, RoBERTa): no normalizer, `ByteLevel`
//!   pre-tokenizer (`add_prefix_space`, default false), BPE without continuation prefix or unknown
//!   token, `RobertaProcessing`: `<s> A </s>` / `<s> A </s></s> B </s>`, all segment ids 0, offsets
//!   trimmed of the spaces tokens carry (`trim_offsets`, default true). Vocabulary and merges from
//!   tokenizer.json or vocab.json + merges.txt.
//! - [`TokenizerKind::Unigram`] (`XLMRobertaTokenizer`, XLM-RoBERTa): the precompiled
//!   SentencePiece normalizer from tokenizer.json, `WhitespaceSplit` then `Metaspace("▁")`
//!   (prepended to every word when `add_prefix_space`, default true), Unigram with the unknown
//!   token at id 3, `<s> A </s>` / `<s> A </s> </s> B </s>`, all segment ids 0. tokenizer.json is
//!   required: a folder with only sentencepiece.bpe.model gets an error that says how to write it.
//!
//! Accents: SELECTRA was pre-trained with accents stripped, so the embeddings of vocabulary pieces
//! that contain an accent were never trained (the card's note). The faithful default is therefore
//! the model's own files' setting; [`TokenizerOptions::strip_accents`] overrides it (the card
//! suggests keeping accents when *fine-tuning*), and [`TextTokenizer::untrained_piece`] tells
//! which pieces of such an override the model never learned. Only WordPiece tokenizers have the
//! setting; the others always keep accents.
//!
//! Offsets are character (Unicode scalar) offsets into the caller's text, as transformers'
//! `offset_mapping` reports them.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tokenizers::models::bpe::BPE;
use tokenizers::models::unigram::Unigram;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::{BertNormalizer, NormalizerWrapper};
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::pre_tokenizers::sequence::Sequence as PreTokenizerSequence;
use tokenizers::pre_tokenizers::whitespace::WhitespaceSplit;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::processors::roberta::RobertaProcessing;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::processors::PostProcessorWrapper;
use tokenizers::utils::truncation::truncate_encodings;
use tokenizers::{
    AddedToken, Encoding, ModelWrapper, NormalizedString, Normalizer, PostProcessor, Tokenizer, TruncationDirection, TruncationParams,
    TruncationStrategy,
};

use crate::error::{Error, Result};

/// The tokenizer classes transformers builds for the architectures we run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenizerKind {
    /// `BertTokenizer` (ELECTRA, BERT).
    WordPiece,
    /// `RobertaTokenizer` (RoBERTa).
    ByteLevelBpe,
    /// `XLMRobertaTokenizer` (XLM-RoBERTa).
    Unigram,
}

impl TokenizerKind {
    pub const SUPPORTED: &'static str = "BertTokenizer, ElectraTokenizer, RobertaTokenizer, XLMRobertaTokenizer (and their Fast names)";

    /// The transformers class.
    pub fn class_name(self) -> &'static str {
        match self {
            TokenizerKind::WordPiece => "BertTokenizer",
            TokenizerKind::ByteLevelBpe => "RobertaTokenizer",
            TokenizerKind::Unigram => "XLMRobertaTokenizer",
        }
    }

    /// The algorithm, in words.
    pub fn description(self) -> &'static str {
        match self {
            TokenizerKind::WordPiece => "WordPiece",
            TokenizerKind::ByteLevelBpe => "byte-level BPE",
            TokenizerKind::Unigram => "SentencePiece Unigram",
        }
    }

    /// Class and algorithm, as the app shows them: "RobertaTokenizer (byte-level BPE)".
    pub fn label(self) -> String {
        format!("{} ({})", self.class_name(), self.description())
    }

    /// Whether the tokenizer has the lower-case and accent-stripping settings (only BERT's
    /// normalizer has them; the others always keep accents).
    pub fn has_accent_setting(self) -> bool {
        self == TokenizerKind::WordPiece
    }

    /// tokenizer_config.json's `tokenizer_class`.
    fn from_class(name: &str) -> Option<Self> {
        Some(match name.strip_suffix("Fast").unwrap_or(name) {
            "BertTokenizer" | "ElectraTokenizer" => TokenizerKind::WordPiece,
            "RobertaTokenizer" => TokenizerKind::ByteLevelBpe,
            "XLMRobertaTokenizer" => TokenizerKind::Unigram,
            _ => return None,
        })
    }
}

/// Settings read from tokenizer_config.json (and special_tokens_map.json), with the class's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenizerSettings {
    pub kind: TokenizerKind,
    /// WordPiece only (false for the others).
    pub do_lower_case: bool,
    /// `None` means "follow do_lower_case", as in the original BERT. WordPiece only.
    pub strip_accents: Option<bool>,
    pub tokenize_chinese_chars: bool,
    /// Byte-level BPE and Unigram: a space before the first word (a `▁` before every word for Unigram).
    pub add_prefix_space: bool,
    /// Byte-level BPE: offsets leave out the spaces a token carries.
    pub trim_offsets: bool,
    /// `model_max_length` (or the legacy `max_len`); `None` when the config does not say.
    pub model_max_length: Option<usize>,
    pub unk_token: String,
    pub sep_token: String,
    pub pad_token: String,
    pub cls_token: String,
    pub mask_token: String,
    /// `<s>` and `</s>`: XLM-RoBERTa's template is written with them.
    pub bos_token: String,
    pub eos_token: String,
}

impl TokenizerSettings {
    /// The class's defaults.
    pub fn defaults(kind: TokenizerKind) -> Self {
        let owned = |s: &str| s.to_string();
        match kind {
            TokenizerKind::WordPiece => Self {
                kind,
                do_lower_case: true,
                strip_accents: None,
                tokenize_chinese_chars: true,
                add_prefix_space: false,
                trim_offsets: false,
                model_max_length: None,
                unk_token: owned("[UNK]"),
                sep_token: owned("[SEP]"),
                pad_token: owned("[PAD]"),
                cls_token: owned("[CLS]"),
                mask_token: owned("[MASK]"),
                bos_token: owned("[CLS]"),
                eos_token: owned("[SEP]"),
            },
            TokenizerKind::ByteLevelBpe | TokenizerKind::Unigram => Self {
                kind,
                do_lower_case: false,
                strip_accents: None,
                tokenize_chinese_chars: false,
                add_prefix_space: kind == TokenizerKind::Unigram,
                trim_offsets: true,
                model_max_length: None,
                unk_token: owned("<unk>"),
                sep_token: owned("</s>"),
                pad_token: owned("<pad>"),
                cls_token: owned("<s>"),
                mask_token: owned("<mask>"),
                bos_token: owned("<s>"),
                eos_token: owned("</s>"),
            },
        }
    }
}

/// Choices a user can make on top of the model's own tokenizer settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenizerOptions {
    /// Overrides tokenizer_config.json's `strip_accents` (WordPiece tokenizers only).
    pub strip_accents: Option<bool>,
}

/// The tokenizer files a model folder holds.
#[derive(Debug, Clone)]
pub struct TokenizerFiles {
    pub tokenizer_json: Option<PathBuf>,
    /// WordPiece vocabulary.
    pub vocab_txt: Option<PathBuf>,
    /// Byte-level BPE vocabulary and merges.
    pub vocab_json: Option<PathBuf>,
    pub merges_txt: Option<PathBuf>,
    /// A SentencePiece model (XLM-RoBERTa's original format): only noted, to say what to do.
    pub sentencepiece_model: Option<PathBuf>,
    pub tokenizer_config: Option<PathBuf>,
    pub special_tokens_map: Option<PathBuf>,
}

impl TokenizerFiles {
    /// From a lookup of each file name, in this order: tokenizer.json, vocab.txt, vocab.json,
    /// merges.txt, sentencepiece.bpe.model, tokenizer_config.json, special_tokens_map.json (a
    /// download stops looking for vocabularies once it has one).
    pub fn from_lookup(mut find: impl FnMut(&str) -> Result<Option<PathBuf>>) -> Result<Self> {
        Ok(Self {
            tokenizer_json: find("tokenizer.json")?,
            vocab_txt: find("vocab.txt")?,
            vocab_json: find("vocab.json")?,
            merges_txt: find("merges.txt")?,
            sentencepiece_model: find("sentencepiece.bpe.model")?,
            tokenizer_config: find("tokenizer_config.json")?,
            special_tokens_map: find("special_tokens_map.json")?,
        })
    }

    /// Whether any file a tokenizer can be built from (or explained from) is present.
    pub fn has_vocabulary(&self) -> bool {
        self.tokenizer_json.is_some() || self.vocab_txt.is_some() || self.vocab_json.is_some() || self.sentencepiece_model.is_some()
    }

    /// The file that names the tokenizer in messages.
    pub fn label(&self) -> PathBuf {
        [&self.tokenizer_json, &self.vocab_txt, &self.vocab_json, &self.sentencepiece_model]
            .into_iter()
            .find_map(|p| p.clone())
            .unwrap_or_else(|| PathBuf::from("."))
    }
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
    /// The first sequence's tokens (no special tokens), in order.
    pub tokens: Vec<Token>,
    /// Position in `ids` of each entry of `tokens`.
    pub positions: Vec<usize>,
    /// Whether the first sequence lost tokens to the length limit.
    pub truncated: bool,
}

pub struct TextTokenizer {
    /// Normalizer, pre-tokenizer, model and added tokens: text to tokens, nothing added. One copy
    /// serves every call; truncation and the post-processor are applied per call
    /// ([`TextTokenizer::finish`]), exactly as the tokenizer's own `post_process` applies them.
    tokenizer: Tokenizer,
    /// What the class's post-processor adds: special tokens, segment ids, offset trimming.
    processor: PostProcessorWrapper,
    settings: TokenizerSettings,
    /// Whether the model's own files strip accents (before any override).
    files_strip_accents: bool,
    /// The longest input the model accepts, special tokens included.
    max_length: usize,
    pad_id: u32,
}

/// tokenizer.json files of real models are tens of megabytes; a larger one is not a tokenizer.
pub const MAX_TOKENIZER_JSON_BYTES: u64 = 512 << 20;

impl TextTokenizer {
    /// Builds the tokenizer. `max_positions` is the longest input the model's position embeddings
    /// take: when the tokenizer config gives no `model_max_length`, inputs are cut there
    /// (transformers would not cut at all and then fail inside the model). `model_kind` is the
    /// model type's tokenizer class, used when tokenizer_config.json names none.
    pub fn load(files: &TokenizerFiles, options: TokenizerOptions, max_positions: usize, model_kind: TokenizerKind) -> Result<Self> {
        let label = files.label();
        let config = files.tokenizer_config.as_deref().map(|p| read_json_object(p).map(|m| (p, m))).transpose()?;
        let kind = match config.as_ref().and_then(|(_, m)| m.get("tokenizer_class")) {
            None | Some(Value::Null) => model_kind,
            Some(Value::String(class)) => TokenizerKind::from_class(class).ok_or_else(|| Error::Unsupported {
                what: format!("tokenizer_class {class:?} in {}", config.as_ref().map(|(p, _)| p.display().to_string()).unwrap_or_default()),
                supported: TokenizerKind::SUPPORTED.into(),
            })?,
            Some(other) => return Err(Error::tokenizer(&label, format!("tokenizer_class must be a class name, not {other}"))),
        };
        let mut settings = TokenizerSettings::defaults(kind);
        if let Some((path, map)) = &config {
            read_settings(&mut settings, map, path)?;
        }
        if let Some(path) = &files.special_tokens_map {
            apply_special_tokens(&mut settings, &read_json_object(path)?);
        }
        let files_strip_accents = settings.strip_accents.unwrap_or(settings.do_lower_case);
        match options.strip_accents {
            Some(strip) if kind.has_accent_setting() => settings.strip_accents = Some(strip),
            // Keeping accents is what these tokenizers always do.
            Some(true) => {
                return Err(Error::Input(format!(
                    "stripping accents is a setting of WordPiece tokenizers; this model's {} tokenizer always keeps them",
                    kind.label()
                )))
            }
            Some(false) | None => {}
        }

        let json = match (&files.tokenizer_json, kind) {
            (Some(path), TokenizerKind::ByteLevelBpe | TokenizerKind::Unigram) => Some((path.as_path(), read_tokenizer_json(path)?)),
            _ => None,
        };
        let mut tokenizer = match kind {
            TokenizerKind::WordPiece => wordpiece_tokenizer(files, &settings, &label)?,
            TokenizerKind::ByteLevelBpe => byte_level_tokenizer(files, json.as_ref(), &settings)?,
            TokenizerKind::Unigram => unigram_tokenizer(files, json.as_ref(), &settings)?,
        };
        if kind == TokenizerKind::WordPiece {
            // BertTokenizer's special tokens are vocabulary entries; a vocabulary without them
            // belongs to another kind of model.
            for token in [&settings.cls_token, &settings.sep_token, &settings.pad_token, &settings.unk_token] {
                if tokenizer.token_to_id(token).is_none() {
                    return Err(Error::tokenizer(&label, format!("the special token {token} is not in the vocabulary")));
                }
            }
        }
        add_tokens(&mut tokenizer, kind, &settings, config.as_ref().map(|(_, m)| m), json.as_ref().map(|(_, j)| j), &label)?;

        let id_of = |token: &str| {
            tokenizer.token_to_id(token).ok_or_else(|| Error::tokenizer(&label, format!("the special token {token} is not in the vocabulary")))
        };
        let template = |single: String, pair: String, specials: Vec<(String, u32)>| -> Result<PostProcessorWrapper> {
            Ok(TemplateProcessing::builder()
                .try_single(single)
                .and_then(|b| b.try_pair(pair))
                .map_err(|e| Error::tokenizer(&label, format!("bad special tokens: {e}")))?
                .special_tokens(specials)
                .build()
                .map_err(|e| Error::tokenizer(&label, format!("bad special tokens: {e}")))?
                .into())
        };
        let (cls, sep) = (settings.cls_token.clone(), settings.sep_token.clone());
        let (cls_id, sep_id, pad_id) = (id_of(&cls)?, id_of(&sep)?, id_of(&settings.pad_token)?);
        id_of(&settings.unk_token)?;
        let processor = match kind {
            TokenizerKind::WordPiece => template(
                format!("{cls}:0 $A:0 {sep}:0"),
                format!("{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1"),
                vec![(cls.clone(), cls_id), (sep.clone(), sep_id)],
            )?,
            TokenizerKind::ByteLevelBpe => RobertaProcessing::new((sep, sep_id), (cls, cls_id))
                .trim_offsets(settings.trim_offsets)
                .add_prefix_space(settings.add_prefix_space)
                .into(),
            TokenizerKind::Unigram => {
                let (bos, eos) = (settings.bos_token.clone(), settings.eos_token.clone());
                let (bos_id, eos_id) = (id_of(&bos)?, id_of(&eos)?);
                template(format!("{bos}:0 $A:0 {eos}:0"), format!("{bos}:0 $A:0 {eos}:0 {eos}:0 $B:0 {eos}:0"), vec![(bos, bos_id), (eos, eos_id)])?
            }
        };

        let max_length = settings.model_max_length.unwrap_or(max_positions).min(max_positions);
        if max_length < 4 {
            return Err(Error::tokenizer(&label, format!("model_max_length {max_length} leaves no room for text")));
        }
        Ok(Self { tokenizer, processor, settings, files_strip_accents, max_length, pad_id })
    }

    pub fn settings(&self) -> &TokenizerSettings {
        &self.settings
    }

    pub fn kind(&self) -> TokenizerKind {
        self.settings.kind
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

    /// Encodes one text, keeping its first `max_length` ids (special tokens included).
    pub fn encode_single(&self, text: &str) -> Result<Encoded> {
        self.finish(self.raw(text)?, None)
    }

    /// Encodes a premise/hypothesis pair, truncating only the premise (the zero-shot pipeline's
    /// `only_first`). If even an empty premise would not fit, transformers gives up truncating,
    /// and the pair is encoded whole; the caller then reports the input as too long.
    pub fn encode_pair(&self, premise: &str, hypothesis: &str) -> Result<Encoded> {
        self.finish(self.raw(premise)?, Some(self.raw(hypothesis)?))
    }

    /// The text's tokens, nothing added and nothing cut.
    fn raw(&self, text: &str) -> Result<Encoding> {
        self.tokenizer.encode_char_offsets(text, false).map_err(|e| Error::Input(format!("cannot tokenize the input: {e}")))
    }

    /// What the tokenizer's own `post_process` does with special tokens added: the whole input if
    /// it fits, else truncated (`longest_first` for one text, `only_first` for a pair) to
    /// `max_length` less the special tokens, then the post-processor.
    fn finish(&self, first: Encoding, second: Option<Encoding>) -> Result<Encoded> {
        let process = |a: Encoding, b: Option<Encoding>| {
            self.processor.process(a, b, true).map_err(|e| Error::Input(format!("cannot tokenize the input: {e}")))
        };
        let full = process(first.clone(), second.clone())?;
        if full.len() <= self.max_length {
            return Ok(to_encoded(&full));
        }
        let pair = second.is_some();
        let params = TruncationParams {
            max_length: self.max_length.saturating_sub(self.processor.added_tokens(pair)),
            strategy: if pair { TruncationStrategy::OnlyFirst } else { TruncationStrategy::LongestFirst },
            stride: 0,
            direction: TruncationDirection::Right,
        };
        match truncate_encodings(first, second, &params) {
            Ok((a, b)) => {
                let mut cut = to_encoded(&process(a, b)?);
                cut.truncated = true;
                Ok(cut)
            }
            Err(_) => Ok(to_encoded(&full)),
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
        // A raw encoding has no sequence ranges, so every token is of the first sequence:
        // `to_encoded` keeps the text's tokens (special tokens typed in it excluded) and their positions.
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
        Ok(Piece(self.raw(text)?))
    }

    /// The pair `[CLS] premise [SEP] hypothesis [SEP]` (or the class's equivalent) from pieces,
    /// truncating only the premise: exactly [`TextTokenizer::encode_pair`] on the two texts,
    /// without tokenizing them again.
    pub fn join_pair(&self, premise: &Piece, hypothesis: &Piece) -> Result<Encoded> {
        self.finish(premise.0.clone(), Some(hypothesis.0.clone()))
    }
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

/// `BertTokenizer`: transformers v5 takes only the vocabulary from tokenizer.json (or vocab.txt)
/// and rebuilds the rest from the settings.
fn wordpiece_tokenizer(files: &TokenizerFiles, settings: &TokenizerSettings, label: &Path) -> Result<Tokenizer> {
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
    Ok(tokenizer)
}

/// `RobertaTokenizer`: BPE from tokenizer.json's vocabulary and merges (or vocab.json and
/// merges.txt), no continuation prefix, suffix or unknown token, byte-level pre-tokenizer.
fn byte_level_tokenizer(files: &TokenizerFiles, json: Option<&(&Path, Value)>, settings: &TokenizerSettings) -> Result<Tokenizer> {
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
    Ok(tokenizer)
}

/// `XLMRobertaTokenizer`: Unigram from tokenizer.json's pieces and scores, the unknown token at
/// id 3 (as transformers fixes it), the precompiled SentencePiece normalizer if tokenizer.json has
/// one, whitespace split then Metaspace.
fn unigram_tokenizer(files: &TokenizerFiles, json: Option<&(&Path, Value)>, settings: &TokenizerSettings) -> Result<Tokenizer> {
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
    Ok(tokenizer)
}

/// tokenizer.json's `model`, which must be of type `kind`.
fn json_model<'a>(json: &'a Value, kind: &str, path: &Path) -> Result<&'a serde_json::Map<String, Value>> {
    let model = json.get("model").and_then(Value::as_object).ok_or_else(|| Error::tokenizer(path, "tokenizer.json has no model"))?;
    match model.get("type").and_then(Value::as_str) {
        Some(t) if t == kind => Ok(model),
        other => Err(Error::tokenizer(
            path,
            format!("tokenizer.json's model is {}, but this tokenizer class is built on {kind}", other.unwrap_or("unnamed")),
        )),
    }
}

/// The `Precompiled` normalizer of tokenizer.json (alone or in a sequence), as transformers keeps it.
fn precompiled_normalizer(json: &Value, path: &Path) -> Result<Option<NormalizerWrapper>> {
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

fn read_tokenizer_json(path: &Path) -> Result<Value> {
    let size = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
    if size > MAX_TOKENIZER_JSON_BYTES {
        return Err(Error::tokenizer(path, format!("tokenizer.json is {size} bytes; at most {MAX_TOKENIZER_JSON_BYTES} are read")));
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::tokenizer(path, format!("not a valid tokenizer.json: {e}")))
}

/// The added tokens, as transformers v5 adds them: WordPiece gets its five special tokens (whole
/// units, never normalized). The other classes get tokenizer_config.json's `added_tokens_decoder`
/// if it has one, else tokenizer.json's `added_tokens`, with their own stripping rules (RoBERTa's
/// `<mask>` takes the space before it), then any named special token not yet among them.
fn add_tokens(
    tokenizer: &mut Tokenizer,
    kind: TokenizerKind,
    settings: &TokenizerSettings,
    config: Option<&serde_json::Map<String, Value>>,
    json: Option<&Value>,
    label: &Path,
) -> Result<()> {
    let mut added: Vec<(u64, AddedToken)> = Vec::new();
    if kind != TokenizerKind::WordPiece {
        let serialized: Vec<(u64, &Value)> = match config.and_then(|m| m.get("added_tokens_decoder")).and_then(Value::as_object) {
            Some(decoder) => decoder.iter().map(|(id, token)| (id.parse().unwrap_or(u64::MAX), token)).collect(),
            None => json
                .and_then(|j| j.get("added_tokens"))
                .and_then(Value::as_array)
                .map(|tokens| tokens.iter().map(|t| (t.get("id").and_then(Value::as_u64).unwrap_or(u64::MAX), t)).collect())
                .unwrap_or_default(),
        };
        for (id, token) in serialized {
            let flag = |key: &str, default: bool| token.get(key).and_then(Value::as_bool).unwrap_or(default);
            let content = token_content(token).ok_or_else(|| Error::tokenizer(label, format!("an added token has no content: {token}")))?;
            let special = flag("special", false);
            let mut t = AddedToken::from(content, special);
            t.single_word = flag("single_word", false);
            t.lstrip = flag("lstrip", false);
            t.rstrip = flag("rstrip", false);
            t.normalized = flag("normalized", !special);
            added.push((id, t));
        }
        added.sort_by_key(|(id, _)| *id);
    }
    let named = [
        &settings.pad_token,
        &settings.unk_token,
        &settings.cls_token,
        &settings.sep_token,
        &settings.mask_token,
        &settings.bos_token,
        &settings.eos_token,
    ];
    // BertTokenizer has no bos/eos of its own.
    let named = if kind == TokenizerKind::WordPiece { &named[..5] } else { &named[..] };
    for &name in named {
        if !added.iter().any(|(_, t)| &t.content == name) {
            added.push((u64::MAX, AddedToken::from(name.clone(), true)));
        }
    }
    for (_, token) in added {
        let content = token.content.clone();
        let result = if token.special { tokenizer.add_special_tokens([token]) } else { tokenizer.add_tokens([token]) };
        result.map_err(|e| Error::tokenizer(label, format!("cannot add the token {content}: {e}")))?;
    }
    Ok(())
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
            what: format!("a tokenizer.json whose model is not WordPiece ({}) for a WordPiece tokenizer class", path.display()),
            supported: "WordPiece tokenizers (BERT, ELECTRA); RoBERTa's byte-level BPE and XLM-RoBERTa's Unigram with their own model types".into(),
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

fn read_settings(s: &mut TokenizerSettings, map: &serde_json::Map<String, Value>, path: &Path) -> Result<()> {
    let flag = |key: &str| -> Result<Option<bool>> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(Error::tokenizer(path, format!("{key} must be true, false or null, not {other}"))),
        }
    };
    if s.kind.has_accent_setting() {
        if let Some(v) = flag("do_lower_case")? {
            s.do_lower_case = v;
        }
        s.strip_accents = flag("strip_accents")?;
        if let Some(v) = flag("tokenize_chinese_chars")? {
            s.tokenize_chinese_chars = v;
        }
    } else {
        if let Some(v) = flag("add_prefix_space")? {
            s.add_prefix_space = v;
        }
        if let Some(v) = flag("trim_offsets")? {
            s.trim_offsets = v;
        }
    }
    // transformers treats an absurdly large model_max_length (its "unset" sentinel) as unset.
    s.model_max_length = ["model_max_length", "max_len"]
        .iter()
        .find_map(|k| map.get(*k).and_then(Value::as_f64))
        .filter(|v| (1.0..1e12).contains(v))
        .map(|v| v as usize);
    apply_special_tokens(s, map);
    Ok(())
}

fn apply_special_tokens(s: &mut TokenizerSettings, map: &serde_json::Map<String, Value>) {
    let slots: [(&str, &mut String); 7] = [
        ("unk_token", &mut s.unk_token),
        ("sep_token", &mut s.sep_token),
        ("pad_token", &mut s.pad_token),
        ("cls_token", &mut s.cls_token),
        ("mask_token", &mut s.mask_token),
        ("bos_token", &mut s.bos_token),
        ("eos_token", &mut s.eos_token),
    ];
    for (key, slot) in slots {
        if let Some(content) = map.get(key).and_then(token_content) {
            *slot = content;
        }
    }
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
