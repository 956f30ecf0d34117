//! config.json as Hugging Face writes it, for the architectures we run.
//!
//! Field names are HF's. A field that config.json leaves out takes the default of the matching
//! transformers config class (`ElectraConfig`, `BertConfig`, `RobertaConfig`, `XLMRobertaConfig`),
//! because that is what transformers uses when it loads the same file; the classes differ (ELECTRA
//! defaults to a 128-wide embedding and a 256-wide encoder, RoBERTa to a 50265-token vocabulary and
//! padding id 1).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

/// The model families we can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelType {
    Electra,
    Bert,
    /// RoBERTa (RoBERTa-b/l of the BNE, Bertin): BERT's encoder with positions counted from
    /// `pad_token_id + 1` and a byte-level BPE tokenizer.
    Roberta,
    /// XLM-RoBERTa: RoBERTa's network with a SentencePiece (Unigram) tokenizer.
    XlmRoberta,
}

impl ModelType {
    /// config.json's `model_type`.
    pub fn name(self) -> &'static str {
        match self {
            ModelType::Electra => "electra",
            ModelType::Bert => "bert",
            ModelType::Roberta => "roberta",
            ModelType::XlmRoberta => "xlm-roberta",
        }
    }

    /// The tokenizer class transformers builds for this model type (unless tokenizer_config.json names one).
    pub fn tokenizer_kind(self) -> crate::engine::tokenize::TokenizerKind {
        use crate::engine::tokenize::TokenizerKind;
        match self {
            ModelType::Electra | ModelType::Bert => TokenizerKind::WordPiece,
            ModelType::Roberta => TokenizerKind::ByteLevelBpe,
            ModelType::XlmRoberta => TokenizerKind::Unigram,
        }
    }

    /// Whether position ids start after the padding id (`create_position_ids_from_input_ids`).
    pub fn offsets_positions(self) -> bool {
        matches!(self, ModelType::Roberta | ModelType::XlmRoberta)
    }
}

/// The head on top of the encoder, from config.json's `architectures`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// `ElectraForPreTraining`: the replaced-token discriminator, one logit per token.
    ElectraForPreTraining,
    /// `ElectraForSequenceClassification`: dense -> gelu -> out_proj on the first token.
    ElectraForSequenceClassification,
    /// `BertForSequenceClassification`: pooler (dense + tanh on the first token) -> classifier.
    BertForSequenceClassification,
    /// `RobertaForSequenceClassification`: dense -> tanh -> out_proj on `<s>`.
    RobertaForSequenceClassification,
    /// `XLMRobertaForSequenceClassification`: the same head as RoBERTa's.
    XLMRobertaForSequenceClassification,
    /// `*ForTokenClassification`: one `classifier` linear layer on every token (NER taggers).
    ElectraForTokenClassification,
    BertForTokenClassification,
    RobertaForTokenClassification,
    XLMRobertaForTokenClassification,
    /// The bare encoders (`ElectraModel`, `BertModel`, `RobertaModel`, `XLMRobertaModel`), no
    /// head: sentence-embedding checkpoints (sentence-transformers folders hold one). Their
    /// weights are named without the family's prefix, as transformers saves a base model.
    ElectraModel,
    BertModel,
    RobertaModel,
    XLMRobertaModel,
}

impl Architecture {
    pub const SUPPORTED: &'static str = "ElectraForPreTraining, ElectraForSequenceClassification, BertForSequenceClassification, \
                                         RobertaForSequenceClassification, XLMRobertaForSequenceClassification, \
                                         ElectraForTokenClassification, BertForTokenClassification, \
                                         RobertaForTokenClassification, XLMRobertaForTokenClassification, \
                                         ElectraModel, BertModel, RobertaModel, XLMRobertaModel";

    pub fn name(self) -> &'static str {
        match self {
            Architecture::ElectraForPreTraining => "ElectraForPreTraining",
            Architecture::ElectraForSequenceClassification => "ElectraForSequenceClassification",
            Architecture::BertForSequenceClassification => "BertForSequenceClassification",
            Architecture::RobertaForSequenceClassification => "RobertaForSequenceClassification",
            Architecture::XLMRobertaForSequenceClassification => "XLMRobertaForSequenceClassification",
            Architecture::ElectraForTokenClassification => "ElectraForTokenClassification",
            Architecture::BertForTokenClassification => "BertForTokenClassification",
            Architecture::RobertaForTokenClassification => "RobertaForTokenClassification",
            Architecture::XLMRobertaForTokenClassification => "XLMRobertaForTokenClassification",
            Architecture::ElectraModel => "ElectraModel",
            Architecture::BertModel => "BertModel",
            Architecture::RobertaModel => "RobertaModel",
            Architecture::XLMRobertaModel => "XLMRobertaModel",
        }
    }

    /// Tensors a checkpoint of this architecture may hold that it does not use, which
    /// transformers skips on load: RoBERTa checkpoints converted from fairseq carry the pooler,
    /// which the classification head (on `<s>`, without a pooler) never reads, and token
    /// classifiers are built without a pooler (`add_pooling_layer=False`) whatever the
    /// checkpoint they were fine-tuned from held.
    pub fn unused_tensors(self) -> &'static [&'static str] {
        match self {
            Architecture::RobertaForSequenceClassification
            | Architecture::XLMRobertaForSequenceClassification
            | Architecture::RobertaForTokenClassification
            | Architecture::XLMRobertaForTokenClassification => &["roberta.pooler.dense.weight", "roberta.pooler.dense.bias"],
            Architecture::BertForTokenClassification => &["bert.pooler.dense.weight", "bert.pooler.dense.bias"],
            // A base model's pooler (BERT's next-sentence head input) is not part of its
            // last_hidden_state, the only output a sentence embedding reads.
            Architecture::BertModel | Architecture::RobertaModel | Architecture::XLMRobertaModel => &["pooler.dense.weight", "pooler.dense.bias"],
            _ => &[],
        }
    }

    /// A head over the whole input: one row of class logits per text (or pair).
    pub fn is_sequence_classifier(self) -> bool {
        matches!(
            self,
            Architecture::ElectraForSequenceClassification
                | Architecture::BertForSequenceClassification
                | Architecture::RobertaForSequenceClassification
                | Architecture::XLMRobertaForSequenceClassification
        )
    }

    /// A head over every token: one row of class logits per token.
    pub fn is_token_classifier(self) -> bool {
        matches!(
            self,
            Architecture::ElectraForTokenClassification
                | Architecture::BertForTokenClassification
                | Architecture::RobertaForTokenClassification
                | Architecture::XLMRobertaForTokenClassification
        )
    }

    /// A bare encoder without a head: its outputs are the hidden states (sentence embeddings).
    pub fn is_encoder(self) -> bool {
        matches!(self, Architecture::ElectraModel | Architecture::BertModel | Architecture::RobertaModel | Architecture::XLMRobertaModel)
    }

    /// The prefix the family's task models name their encoder's weights under (`bert.`,
    /// `electra.`, `roberta.`); `None` for a bare encoder, whose weights have none.
    pub fn encoder_prefix(self) -> Option<&'static str> {
        match self {
            _ if self.is_encoder() => None,
            Architecture::ElectraForPreTraining | Architecture::ElectraForSequenceClassification | Architecture::ElectraForTokenClassification => {
                Some("electra")
            }
            Architecture::BertForSequenceClassification | Architecture::BertForTokenClassification => Some("bert"),
            _ => Some("roberta"),
        }
    }

    /// A head with named classes (`id2label`): every architecture but the discriminator and the
    /// bare encoders.
    pub fn has_labels(self) -> bool {
        self.is_sequence_classifier() || self.is_token_classifier()
    }
}

/// `problem_type`: what a sequence classifier was trained for, which decides how the
/// text-classification pipeline turns its logits into scores (see `engine::classify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemType {
    Regression,
    SingleLabelClassification,
    MultiLabelClassification,
}

impl ProblemType {
    /// The values transformers' `PreTrainedConfig` accepts (it refuses any other).
    pub const ALLOWED: &'static str = "regression, single_label_classification, multi_label_classification";

    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "regression" => Self::Regression,
            "single_label_classification" => Self::SingleLabelClassification,
            "multi_label_classification" => Self::MultiLabelClassification,
            _ => return None,
        })
    }
}

/// The activation functions transformers' `ACT2FN` maps these names to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// "gelu": the exact erf form.
    Gelu,
    /// "gelu_new", "gelu_pytorch_tanh", "gelu_fast": the tanh approximation.
    GeluTanh,
    Relu,
    /// "silu" / "swish".
    Silu,
}

impl Activation {
    const SUPPORTED: &'static str = "gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, silu, swish";

    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "gelu" => Activation::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
            "relu" => Activation::Relu,
            "silu" | "swish" => Activation::Silu,
            _ => return None,
        })
    }
}

/// The raw file, every field optional so that defaults can depend on `model_type`.
#[derive(Debug, Deserialize)]
struct RawConfig {
    model_type: Option<String>,
    architectures: Option<Vec<String>>,
    vocab_size: Option<usize>,
    embedding_size: Option<usize>,
    hidden_size: Option<usize>,
    num_hidden_layers: Option<usize>,
    num_attention_heads: Option<usize>,
    intermediate_size: Option<usize>,
    hidden_act: Option<String>,
    max_position_embeddings: Option<usize>,
    type_vocab_size: Option<usize>,
    layer_norm_eps: Option<f64>,
    pad_token_id: Option<serde_json::Value>,
    position_embedding_type: Option<String>,
    id2label: Option<BTreeMap<String, String>>,
    /// Kept as raw JSON so that the file's key order survives (see [`ModelConfig::label2id`]).
    label2id: Option<serde_json::Value>,
    num_labels: Option<usize>,
    problem_type: Option<String>,
}

/// A validated config: everything the model code needs, with HF's defaults filled in.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    pub model_type: ModelType,
    pub architecture: Architecture,
    pub vocab_size: usize,
    pub embedding_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub hidden_act: Activation,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
    /// `pad_token_id`: RoBERTa's position ids count from it (`padding_idx + 1`).
    pub pad_token_id: u32,
    /// Class names in id order (`id2label`), for classifiers; empty for the discriminator.
    pub id2label: Vec<String>,
    /// `label2id` in the order config.json lists it. The zero-shot pipeline takes the *first*
    /// entry whose name starts with "entail", so the order is part of the semantics.
    pub label2id: Vec<(String, usize)>,
    /// `problem_type`, when the file sets it.
    pub problem_type: Option<ProblemType>,
}

/// The largest value of each config.json field we accept, checked before anything is built.
/// Generous for real encoders (the largest in use: 128 layers, 16k wide, 64k-wide feed-forward,
/// 2.6M-token vocabularies); a value above is corrupt or hostile. The product of the dimensions
/// is bounded separately: [`ModelConfig::parameter_count`] against the weights file's size.
pub const LIMITS: &[(&str, usize)] = &[
    ("vocab_size", 1 << 22),
    ("embedding_size", 1 << 16),
    ("hidden_size", 1 << 16),
    ("num_hidden_layers", 256),
    ("num_attention_heads", 1024),
    ("intermediate_size", 1 << 18),
    ("max_position_embeddings", 1 << 20),
    ("type_vocab_size", 1024),
    ("num_labels", MAX_LABELS),
];

/// The `model_type` values we run.
pub const MODEL_TYPES: &str = "electra, bert, roberta, xlm-roberta";

/// The most classes a classifier may have.
pub const MAX_LABELS: usize = 100_000;

/// config.json files are a few kilobytes; a larger one is not a config.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

fn limit(name: &str) -> usize {
    LIMITS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v).expect("every bounded field has a limit")
}

impl ModelConfig {
    pub fn from_file(path: &Path) -> Result<Self> {
        let size = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
        if size > MAX_CONFIG_BYTES {
            return Err(Error::config(
                path,
                format!("config.json is {size} bytes; a model config is a few kilobytes (at most {MAX_CONFIG_BYTES} are read)"),
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => Error::config(path, "config.json is not valid UTF-8"),
            _ => Error::io(path, e),
        })?;
        Self::from_json(&text, path)
    }

    /// Parses config.json's text; `path` only labels errors.
    pub fn from_json(text: &str, path: &Path) -> Result<Self> {
        let raw: RawConfig =
            serde_json::from_str(text).map_err(|e| Error::config(path, format!("config.json is not valid JSON for a model config: {e}")))?;

        let model_type = match raw.model_type.as_deref() {
            Some("electra") => ModelType::Electra,
            Some("bert") => ModelType::Bert,
            Some("roberta") => ModelType::Roberta,
            Some("xlm-roberta") => ModelType::XlmRoberta,
            Some(other) => {
                return Err(Error::Unsupported { what: format!("model_type {other:?} in {}", path.display()), supported: MODEL_TYPES.into() })
            }
            None => return Err(Error::config(path, format!("config.json has no \"model_type\"; expected one of {MODEL_TYPES}"))),
        };
        let architecture = pick_architecture(model_type, raw.architectures.as_deref(), path)?;

        // Defaults of transformers' ElectraConfig, BertConfig, RobertaConfig and XLMRobertaConfig.
        let (d_hidden, d_layers, d_heads, d_inter) = match model_type {
            ModelType::Electra => (256, 12, 4, 1024),
            ModelType::Bert | ModelType::Roberta | ModelType::XlmRoberta => (768, 12, 12, 3072),
        };
        let (d_vocab, d_pad) = match model_type {
            ModelType::Roberta => (50265, 1),
            ModelType::XlmRoberta => (30522, 1),
            ModelType::Electra | ModelType::Bert => (30522, 0),
        };
        let hidden_size = raw.hidden_size.unwrap_or(d_hidden);
        let embedding_size = match model_type {
            ModelType::Electra => raw.embedding_size.unwrap_or(128),
            ModelType::Bert | ModelType::Roberta | ModelType::XlmRoberta => hidden_size,
        };
        // Only RoBERTa's positions depend on pad_token_id; elsewhere transformers ignores it, and so do we.
        let pad_token_id = match raw.pad_token_id.as_ref().map(|v| (v.as_u64().and_then(|id| u32::try_from(id).ok()), v)) {
            None => d_pad,
            Some((Some(id), _)) => id,
            Some((None, _)) if !model_type.offsets_positions() => d_pad,
            Some((None, other)) => {
                return Err(Error::config(path, format!("pad_token_id must be a token id (RoBERTa's positions count from it), not {other}")))
            }
        };
        let act_name = raw.hidden_act.as_deref().unwrap_or("gelu");
        let hidden_act = Activation::parse(act_name).ok_or_else(|| Error::Unsupported {
            what: format!("hidden_act {act_name:?} in {}", path.display()),
            supported: Activation::SUPPORTED.into(),
        })?;
        if let Some(kind) = raw.position_embedding_type.as_deref() {
            if kind != "absolute" {
                return Err(Error::Unsupported {
                    what: format!("position_embedding_type {kind:?} in {}", path.display()),
                    supported: "absolute".into(),
                });
            }
        }
        let problem_type = match raw.problem_type.as_deref() {
            None => None,
            Some(name) => Some(ProblemType::parse(name).ok_or_else(|| {
                Error::config(path, format!("problem_type {name:?} is not one of {}, as transformers requires", ProblemType::ALLOWED))
            })?),
        };
        let config = ModelConfig {
            model_type,
            architecture,
            vocab_size: raw.vocab_size.unwrap_or(d_vocab),
            embedding_size,
            hidden_size,
            num_hidden_layers: raw.num_hidden_layers.unwrap_or(d_layers),
            num_attention_heads: raw.num_attention_heads.unwrap_or(d_heads),
            intermediate_size: raw.intermediate_size.unwrap_or(d_inter),
            hidden_act,
            max_position_embeddings: raw.max_position_embeddings.unwrap_or(512),
            type_vocab_size: raw.type_vocab_size.unwrap_or(2),
            layer_norm_eps: raw.layer_norm_eps.unwrap_or(1e-12),
            pad_token_id,
            id2label: Vec::new(),
            label2id: Vec::new(),
            problem_type,
        };
        let config = config.with_labels(&raw, path)?;
        config.validate_dims(path)?;
        Ok(config)
    }

    fn with_labels(mut self, raw: &RawConfig, path: &Path) -> Result<Self> {
        if !self.architecture.has_labels() {
            return Ok(self);
        }
        let id2label = match &raw.id2label {
            Some(map) => {
                let mut pairs = Vec::with_capacity(map.len());
                for (id, name) in map {
                    let id: usize = id.parse().map_err(|_| Error::config(path, format!("id2label key {id:?} is not a class index")))?;
                    pairs.push((id, name.clone()));
                }
                pairs.sort();
                if pairs.iter().enumerate().any(|(i, (id, _))| *id != i) {
                    return Err(Error::config(path, "id2label must number its classes 0, 1, 2, ... without gaps"));
                }
                pairs.into_iter().map(|(_, name)| name).collect()
            }
            // transformers names classes LABEL_0.. when the file gives none; the count is
            // bounded first, since building the names is the first allocation it drives.
            None => {
                let n = raw.num_labels.unwrap_or(2);
                if n > MAX_LABELS {
                    return Err(Error::config(path, format!("num_labels = {n} is out of range (1..={MAX_LABELS})")));
                }
                (0..n).map(|i| format!("LABEL_{i}")).collect::<Vec<_>>()
            }
        };
        if let Some(n) = raw.num_labels {
            if n != id2label.len() {
                return Err(Error::config(path, format!("num_labels is {n} but id2label names {} classes", id2label.len())));
            }
        }
        let label2id = match &raw.label2id {
            Some(serde_json::Value::Object(map)) => {
                let mut pairs = Vec::with_capacity(map.len());
                for (name, id) in map {
                    let id = id
                        .as_u64()
                        .map(|v| v as usize)
                        .filter(|&v| v < id2label.len())
                        .ok_or_else(|| Error::config(path, format!("label2id[{name:?}] is not a class index below {}", id2label.len())))?;
                    pairs.push((name.clone(), id));
                }
                pairs
            }
            Some(_) => return Err(Error::config(path, "label2id must be an object of name -> class index")),
            None => id2label.iter().enumerate().map(|(i, n)| (n.clone(), i)).collect(),
        };
        self.id2label = id2label;
        self.label2id = label2id;
        Ok(self)
    }

    fn validate_dims(&self, path: &Path) -> Result<()> {
        let dims = [
            ("vocab_size", self.vocab_size),
            ("embedding_size", self.embedding_size),
            ("hidden_size", self.hidden_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
            ("max_position_embeddings", self.max_position_embeddings),
            ("type_vocab_size", self.type_vocab_size),
            ("num_labels", if self.architecture.has_labels() { self.id2label.len() } else { 1 }),
        ];
        for (name, value) in dims {
            let max = limit(name);
            if value == 0 || value > max {
                return Err(Error::config(path, format!("{name} = {value} is out of range (1..={max})")));
            }
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(Error::config(
                path,
                format!("hidden_size {} is not a multiple of num_attention_heads {}", self.hidden_size, self.num_attention_heads),
            ));
        }
        if self.model_type.offsets_positions() && self.max_input_tokens() < 4 {
            return Err(Error::config(
                path,
                format!(
                    "max_position_embeddings {} leaves no room for text: positions start after pad_token_id {}",
                    self.max_position_embeddings, self.pad_token_id
                ),
            ));
        }
        if self.architecture.has_labels() && self.id2label.is_empty() {
            return Err(Error::config(path, "a classifier needs at least one class in id2label"));
        }
        Ok(())
    }

    /// The longest input, special tokens included, the position embeddings can take: all of them,
    /// or for RoBERTa those after `pad_token_id` (514 positions hold 512 tokens).
    pub fn max_input_tokens(&self) -> usize {
        if self.model_type.offsets_positions() {
            self.max_position_embeddings.saturating_sub(self.pad_token_id as usize + 1)
        } else {
            self.max_position_embeddings
        }
    }

    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// How many numbers the network's weights hold, computed from the config alone (so a
    /// hostile config is measured before anything is built). Equals what the architecture's
    /// `load` asks the weights file for (tested against the recorded manifest).
    pub fn parameter_count(&self) -> u128 {
        let [v, e, h, l, i, p, t, c] = [
            self.vocab_size,
            self.embedding_size,
            self.hidden_size,
            self.num_hidden_layers,
            self.intermediate_size,
            self.max_position_embeddings,
            self.type_vocab_size,
            self.id2label.len(),
        ]
        .map(|x| x as u128);
        let linear = |inputs: u128, outputs: u128| inputs * outputs + outputs;
        let embeddings = (v + p + t) * e + 2 * e;
        let layer = 4 * linear(h, h) + linear(h, i) + linear(i, h) + 2 * 2 * h;
        let encoder = l * layer;
        match self.architecture {
            Architecture::ElectraForPreTraining
            | Architecture::ElectraForSequenceClassification
            | Architecture::ElectraForTokenClassification
            | Architecture::ElectraModel => {
                let project = if e != h { linear(e, h) } else { 0 };
                let head = match self.architecture {
                    Architecture::ElectraForPreTraining => linear(h, h) + linear(h, 1),
                    Architecture::ElectraForTokenClassification => linear(h, c),
                    Architecture::ElectraModel => 0,
                    _ => linear(h, h) + linear(h, c),
                };
                embeddings + project + encoder + head
            }
            Architecture::BertModel | Architecture::RobertaModel | Architecture::XLMRobertaModel => embeddings + encoder,
            Architecture::BertForSequenceClassification
            | Architecture::RobertaForSequenceClassification
            | Architecture::XLMRobertaForSequenceClassification => embeddings + encoder + linear(h, h) + linear(h, c),
            Architecture::BertForTokenClassification
            | Architecture::RobertaForTokenClassification
            | Architecture::XLMRobertaForTokenClassification => embeddings + encoder + linear(h, c),
        }
    }
}

fn pick_architecture(model_type: ModelType, listed: Option<&[String]>, path: &Path) -> Result<Architecture> {
    let known = |name: &str| match (model_type, name) {
        (ModelType::Electra, "ElectraForPreTraining") => Some(Architecture::ElectraForPreTraining),
        (ModelType::Electra, "ElectraForSequenceClassification") => Some(Architecture::ElectraForSequenceClassification),
        (ModelType::Bert, "BertForSequenceClassification") => Some(Architecture::BertForSequenceClassification),
        (ModelType::Roberta, "RobertaForSequenceClassification") => Some(Architecture::RobertaForSequenceClassification),
        (ModelType::XlmRoberta, "XLMRobertaForSequenceClassification") => Some(Architecture::XLMRobertaForSequenceClassification),
        (ModelType::Electra, "ElectraForTokenClassification") => Some(Architecture::ElectraForTokenClassification),
        (ModelType::Bert, "BertForTokenClassification") => Some(Architecture::BertForTokenClassification),
        (ModelType::Roberta, "RobertaForTokenClassification") => Some(Architecture::RobertaForTokenClassification),
        (ModelType::XlmRoberta, "XLMRobertaForTokenClassification") => Some(Architecture::XLMRobertaForTokenClassification),
        (ModelType::Electra, "ElectraModel") => Some(Architecture::ElectraModel),
        (ModelType::Bert, "BertModel") => Some(Architecture::BertModel),
        (ModelType::Roberta, "RobertaModel") => Some(Architecture::RobertaModel),
        (ModelType::XlmRoberta, "XLMRobertaModel") => Some(Architecture::XLMRobertaModel),
        _ => None,
    };
    match listed {
        Some(names) if !names.is_empty() => names.iter().find_map(|n| known(n)).ok_or_else(|| Error::Unsupported {
            what: format!("architectures {names:?} (model_type {}) in {}", model_type.name(), path.display()),
            supported: Architecture::SUPPORTED.into(),
        }),
        _ => Err(Error::config(path, format!("config.json lists no \"architectures\"; expected one of {}", Architecture::SUPPORTED))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<ModelConfig> {
        ModelConfig::from_json(json, Path::new("config.json"))
    }

    #[test]
    fn missing_fields_take_the_transformers_class_defaults() {
        let electra = parse(r#"{"model_type": "electra", "architectures": ["ElectraForPreTraining"]}"#).unwrap();
        assert_eq!((electra.embedding_size, electra.hidden_size, electra.num_attention_heads, electra.intermediate_size), (128, 256, 4, 1024));
        let bert = parse(r#"{"model_type": "bert", "architectures": ["BertForSequenceClassification"]}"#).unwrap();
        assert_eq!((bert.embedding_size, bert.hidden_size, bert.num_attention_heads), (768, 768, 12));
        assert_eq!(bert.id2label, ["LABEL_0", "LABEL_1"]);
        assert_eq!((bert.pad_token_id, bert.max_input_tokens()), (0, 512));
        let roberta =
            parse(r#"{"model_type": "roberta", "architectures": ["RobertaForSequenceClassification"], "max_position_embeddings": 514}"#).unwrap();
        assert_eq!((roberta.vocab_size, roberta.hidden_size, roberta.pad_token_id, roberta.max_input_tokens()), (50265, 768, 1, 512));
        let xlmr = parse(r#"{"model_type": "xlm-roberta", "architectures": ["XLMRobertaForSequenceClassification"]}"#).unwrap();
        assert_eq!((xlmr.vocab_size, xlmr.pad_token_id, xlmr.max_input_tokens()), (30522, 1, 510));
    }

    #[test]
    fn label2id_keeps_the_file_order() {
        let cfg = parse(
            r#"{"model_type": "electra", "architectures": ["ElectraForSequenceClassification"],
                "id2label": {"0": "entailment", "1": "neutral", "2": "contradiction"},
                "label2id": {"neutral": 1, "entailment": 0, "contradiction": 2}}"#,
        )
        .unwrap();
        let names: Vec<&str> = cfg.label2id.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["neutral", "entailment", "contradiction"]);
    }

    #[test]
    fn out_of_range_dimensions_are_rejected_before_loading() {
        for json in [
            r#"{"model_type": "electra", "architectures": ["ElectraForPreTraining"], "vocab_size": 0}"#,
            r#"{"model_type": "electra", "architectures": ["ElectraForPreTraining"], "hidden_size": 99999999999}"#,
            r#"{"model_type": "electra", "architectures": ["ElectraForPreTraining"], "hidden_size": 4194304, "num_attention_heads": 1}"#,
            r#"{"model_type": "electra", "architectures": ["ElectraForPreTraining"], "num_hidden_layers": 4000000}"#,
            r#"{"model_type": "electra", "architectures": ["ElectraForSequenceClassification"], "num_labels": 100000000}"#,
            r#"{"model_type": "electra", "architectures": ["ElectraForSequenceClassification"], "id2label": {}}"#,
            r#"{"model_type": "electra", "architectures": ["ElectraForSequenceClassification"], "label2id": {"x": 7}}"#,
            r#"{"model_type": "roberta", "architectures": ["RobertaForSequenceClassification"], "max_position_embeddings": 4}"#,
            r#"{"model_type": "roberta", "architectures": ["RobertaForSequenceClassification"], "pad_token_id": -1}"#,
        ] {
            assert_eq!(parse(json).unwrap_err().code(), crate::ErrorCode::Config, "{json}");
        }
    }
}
