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
    AddedToken, Decoder, Encoding, ModelWrapper, NormalizedString, Normalizer, PostProcessor, Tokenizer, TruncationDirection, TruncationParams,
    TruncationStrategy,
};

use crate::error::{Error, Result};

mod byte_level;
mod files;
mod unigram;
mod wordpiece;

use byte_level::*;
use files::*;
use unigram::*;
use wordpiece::*;

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

    /// Cuts inputs at `max_length` tokens instead (within what the model takes: a longer
    /// setting is capped there), as a sentence-transformers folder's `max_seq_length` does.
    pub fn set_max_length(&mut self, max_length: usize, max_positions: usize) -> Result<()> {
        let max_length = max_length.min(max_positions);
        if max_length < 4 {
            return Err(Error::Input(format!("a maximum length of {max_length} tokens leaves no room for text")));
        }
        self.max_length = max_length;
        Ok(())
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

    /// The unknown token's id.
    pub fn unk_id(&self) -> Option<u32> {
        self.tokenizer.token_to_id(&self.settings.unk_token)
    }

    /// Vocabulary tokens back to text, by the class's decoder (transformers'
    /// `convert_tokens_to_string`): WordPiece joins `##` pieces and cleans up spaces before
    /// punctuation, byte-level BPE maps its byte characters back, Unigram turns `▁` into spaces.
    pub fn tokens_to_string(&self, tokens: &[String]) -> Result<String> {
        match self.tokenizer.get_decoder() {
            Some(decoder) => decoder.decode(tokens.to_vec()).map_err(|e| Error::Input(format!("cannot decode the tokens: {e}"))),
            None => Ok(tokens.join(" ")),
        }
    }

    /// Encodes one text, keeping its first `max_length` ids (special tokens included).
    pub fn encode_single(&self, text: &str) -> Result<Encoded> {
        self.finish(self.raw(text)?, None, TruncationStrategy::LongestFirst)
    }

    /// Encodes a premise/hypothesis pair, truncating only the premise (the zero-shot pipeline's
    /// `only_first`). If even an empty premise would not fit, transformers gives up truncating,
    /// and the pair is encoded whole; the caller then reports the input as too long.
    pub fn encode_pair(&self, premise: &str, hypothesis: &str) -> Result<Encoded> {
        self.finish(self.raw(premise)?, Some(self.raw(hypothesis)?), TruncationStrategy::OnlyFirst)
    }

    /// Encodes a text pair as a pair classifier reads it (the text-classification pipeline's
    /// `{"text", "text_pair"}` with `truncation=True`): `longest_first`, a token at a time from
    /// whichever of the two is longer, until the pair fits.
    pub fn encode_text_pair(&self, text: &str, pair: &str) -> Result<Encoded> {
        self.finish(self.raw(text)?, Some(self.raw(pair)?), TruncationStrategy::LongestFirst)
    }

    /// How many of a single text's tokens the model takes (its length less the special tokens).
    pub fn window(&self) -> usize {
        self.max_length.saturating_sub(self.processor.added_tokens(false))
    }

    /// One text in the overlapping windows of the token-classification pipeline's `stride`: the
    /// text whole if it fits; else its tokens cut as the fast tokenizer's
    /// `return_overflowing_tokens` cuts them (windows of the model's length less its special
    /// tokens, each starting `stride` tokens before the previous one ends), each window with the
    /// special tokens added. Offsets stay those of the whole text.
    pub fn encode_strided(&self, text: &str, stride: usize) -> Result<Vec<Encoded>> {
        let mut raw = self.raw(text)?;
        let width = self.window();
        if raw.len() <= width {
            return Ok(vec![self.finish(raw, None, TruncationStrategy::LongestFirst)?]);
        }
        if stride >= width {
            return Err(Error::Input(format!("the stride ({stride} tokens) must be shorter than the model's window ({width} tokens)")));
        }
        raw.truncate(width, stride, TruncationDirection::Right);
        let overflow = raw.take_overflowing();
        std::iter::once(raw)
            .chain(overflow)
            .map(|part| {
                let processed = self.processor.process(part, None, true).map_err(|e| Error::Input(format!("cannot tokenize the input: {e}")))?;
                Ok(to_encoded(&processed))
            })
            .collect()
    }

    /// The text's tokens, nothing added and nothing cut.
    fn raw(&self, text: &str) -> Result<Encoding> {
        self.tokenizer.encode_char_offsets(text, false).map_err(|e| Error::Input(format!("cannot tokenize the input: {e}")))
    }

    /// What the tokenizer's own `post_process` does with special tokens added: the whole input if
    /// it fits, else truncated to `max_length` less the special tokens (one text: `longest_first`;
    /// a pair: `pair_strategy`), then the post-processor.
    fn finish(&self, first: Encoding, second: Option<Encoding>, pair_strategy: TruncationStrategy) -> Result<Encoded> {
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
            strategy: if pair { pair_strategy } else { TruncationStrategy::LongestFirst },
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
        self.finish(premise.0.clone(), Some(hypothesis.0.clone()), TruncationStrategy::OnlyFirst)
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
