//! A loaded model: its files, config, tokenizer and network, ready to run.
//!
//! Loading is the one place where the pieces meet: the config decides the architecture, the
//! architecture's own `load` function decides which tensors must be in the weights file
//! (see [`weights::expected_tensors`]), and the tokenizer is cut to the model's length.

pub(crate) mod attention;
pub mod bert;
pub(crate) mod bf16;
pub mod config;
pub mod electra;
pub mod encoder;
pub mod layer_norm;
mod linear;
pub(crate) mod panels;
pub mod pickle_guard;
pub mod roberta;
pub(crate) mod vector_math;
pub mod weights;
pub mod workers;

use std::sync::Arc;

use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;

use crate::domain::precision::Precision;
use crate::engine::hub::{self, DownloadObserver, HubSettings, ModelFiles, ModelSource};
use crate::engine::tokenize::{Encoded, TextTokenizer, TokenizerOptions};
use crate::error::{Error, Result};
use config::{Architecture, ModelConfig, ModelType};
use encoder::EncoderInput;

/// Whether this machine can compute in `precision`: exact f32 everywhere, bf16 where the CPU
/// has the instructions the fast kernel needs.
pub fn supports(precision: Precision) -> bool {
    match precision {
        Precision::Exact => true,
        Precision::Bf16 => bf16::available(),
    }
}

/// The kernel exact f32 products run on here ("AVX-512 panels", or "gemm", the library candle
/// uses, whose kernels gemm itself chooses for the CPU).
pub fn exact_kernel() -> &'static str {
    linear::ExactKernel::chosen().name()
}

/// Seconds one dense layer of `rows` rows, `k` → `n`, takes in `precision` on this machine's
/// kernels and the current pool (best of three; for benchmarks). Bf16 needs the CPU's support
/// ([`supports`]).
pub fn dense_layer_seconds(rows: usize, k: usize, n: usize, precision: Precision) -> candle_core::Result<f64> {
    Ok(linear::time_dense_layer(rows, k, n, &[precision])?[0])
}

/// The kernel the fast mode's products run on here ("AMX" or "AVX512_BF16"), `None` where the
/// CPU lacks the instructions.
pub fn fast_mode_kernel() -> Option<&'static str> {
    bf16::kernel()
}

/// Why the fast mode does not run on AMX tiles here (no AMX, the kernel's refusal, a failed
/// self-check, turned off), `None` where it does.
pub fn why_not_amx() -> Option<&'static str> {
    bf16::why_not_amx()
}

/// How many times faster the fast mode's dense products run than exact f32's on this machine,
/// measured once per process (a few milliseconds, on a layer of SELECTRA-medium's shape); `None`
/// where the CPU lacks the instructions. What the fast mode's outlook is computed from.
pub fn fast_mode_speedup() -> Option<f64> {
    static SPEEDUP: std::sync::OnceLock<Option<f64>> = std::sync::OnceLock::new();
    *SPEEDUP.get_or_init(|| if bf16::available() { linear::measure_bf16_speedup().ok() } else { None })
}

enum Network {
    Electra(electra::Electra),
    Bert(bert::BertClassifier),
    Roberta(roberta::RobertaClassifier),
}

impl Network {
    fn load(vb: VarBuilder, cfg: &ModelConfig) -> candle_core::Result<Self> {
        Ok(match cfg.model_type {
            ModelType::Electra => Network::Electra(electra::Electra::load(vb, cfg)?),
            ModelType::Bert => Network::Bert(bert::BertClassifier::load(vb, cfg)?),
            ModelType::Roberta | ModelType::XlmRoberta => Network::Roberta(roberta::RobertaClassifier::load(vb, cfg)?),
        })
    }
}

/// The checkpoint's tensors by name, as f32, validated against the architecture's manifest
/// before any data is read (as [`Model::from_files`] loads them): what fine-tuning starts from.
pub fn checkpoint_tensors(files: &ModelFiles, config: &ModelConfig) -> Result<Vec<(String, Tensor)>> {
    let expected = weights::expected_tensors(|vb| Network::load(vb, config))?;
    let vb = weights::load_checked(&files.weights, &expected, config.architecture.unused_tensors())?;
    expected
        .into_iter()
        .map(|(name, shape)| {
            let tensor = vb.get(shape, &name).map_err(|e| Error::weights(&files.weights, format!("tensor {name}: {e}")))?;
            Ok((name, tensor))
        })
        .collect()
}

/// How to load a model.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub tokenizer: TokenizerOptions,
    pub hub: HubSettings,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self { tokenizer: TokenizerOptions::default(), hub: HubSettings::from_env() }
    }
}

pub struct Model {
    /// The model as the user named it (folder path or Hub id).
    pub name: String,
    pub files: ModelFiles,
    pub config: ModelConfig,
    pub tokenizer: TextTokenizer,
    /// How many numbers the network holds: every tensor it loads (unused buffers excluded).
    pub parameters: u64,
    network: Network,
}

impl Model {
    /// Resolves `spec` (a folder or `ORG/NAME[@REV]`), downloading into the cache if needed, and loads it.
    pub fn load(spec: &str, options: &LoadOptions, observer: Arc<dyn DownloadObserver>) -> Result<Self> {
        let source = ModelSource::parse(spec)?;
        let files = hub::resolve(&source, &options.hub, observer)?;
        Self::from_files(source.display_name(), files, options.tokenizer)
    }

    pub fn from_files(name: String, files: ModelFiles, tokenizer_options: TokenizerOptions) -> Result<Self> {
        let config = ModelConfig::from_file(&files.config)?;
        let mut tokenizer = TextTokenizer::load(&files.tokenizer, tokenizer_options, config.max_input_tokens(), config.model_type.tokenizer_kind())?;
        if let Some(max) = files.sentence.as_ref().and_then(|s| s.max_seq_length) {
            tokenizer.set_max_length(max, config.max_input_tokens())?;
        }
        if files.sentence.is_some() && !config.architecture.is_encoder() {
            return Err(Error::Unsupported {
                what: format!("a sentence-transformers folder around {} ({})", config.architecture.name(), files.folder.display()),
                supported: "sentence-transformers folders around a bare encoder (BertModel, RobertaModel, XLMRobertaModel, ElectraModel)".into(),
            });
        }
        if tokenizer.vocab_size() > config.vocab_size {
            return Err(Error::tokenizer(
                &files.tokenizer.label(),
                format!(
                    "the vocabulary has {} tokens but config.json's vocab_size is {}; the tokenizer belongs to another model",
                    tokenizer.vocab_size(),
                    config.vocab_size
                ),
            ));
        }
        // Measure before building: the weights of the model config.json describes must fit in
        // the weights file (at 2 bytes a number, the smallest float type read), or the config
        // belongs to another model, or is hostile and would ask for terabytes.
        let file_len = std::fs::metadata(&files.weights).map_err(|e| Error::io(&files.weights, e))?.len();
        let needed = config.parameter_count().saturating_mul(2);
        if needed > u128::from(file_len) {
            return Err(Error::weights(
                &files.weights,
                format!(
                    "the file has {file_len} bytes but config.json describes {} parameters (at least {needed} bytes); \
                     it is truncated, or config.json does not belong to it",
                    config.parameter_count()
                ),
            ));
        }
        let expected = weights::expected_tensors(|vb| Network::load(vb, &config))?;
        let parameters = expected.iter().map(|(_, shape)| shape.iter().product::<usize>() as u64).sum();
        let vb = weights::load_checked(&files.weights, &expected, config.architecture.unused_tensors())?;
        let network = Network::load(vb, &config).map_err(|e| Error::weights(&files.weights, format!("cannot build the model: {e}")))?;
        Ok(Self { name, files, config, tokenizer, parameters, network })
    }

    pub fn architecture(&self) -> Architecture {
        self.config.architecture
    }

    /// Runs the network: `(batch, seq)` token logits for the discriminator, `(batch, labels)` for
    /// sequence classifiers, `(batch, seq, labels)` for token classifiers.
    pub fn forward(&self, input: &EncoderInput) -> Result<Tensor> {
        Ok(match &self.network {
            Network::Electra(m) => m.forward(input)?,
            Network::Bert(m) => m.forward(input)?,
            Network::Roberta(m) => m.forward(input)?,
        })
    }

    /// The encoder's last hidden states, `(batch * seq, hidden)`: what transformers' base model
    /// (`ElectraModel`, `BertModel`, `RobertaModel`) returns as `last_hidden_state`, before any head.
    pub fn hidden_states(&self, input: &EncoderInput) -> Result<Tensor> {
        Ok(match &self.network {
            Network::Electra(m) => m.hidden_states(input)?,
            Network::Bert(m) => m.hidden_states(input)?,
            Network::Roberta(m) => m.hidden_states(input)?,
        })
    }

    /// Pads encoded inputs to the longest and stacks them into one batch.
    pub fn batch(&self, items: &[&Encoded]) -> Result<EncoderInput> {
        let seq = items.iter().map(|e| e.ids.len()).max().unwrap_or(0);
        let pad = self.tokenizer.pad_id();
        let (mut ids, mut types, mut mask) = (Vec::new(), Vec::new(), Vec::new());
        for e in items {
            let padding = seq - e.ids.len();
            ids.extend(e.ids.iter().copied().chain(std::iter::repeat_n(pad, padding)));
            types.extend(e.type_ids.iter().copied().chain(std::iter::repeat_n(0, padding)));
            mask.extend(std::iter::repeat_n(1f32, e.ids.len()).chain(std::iter::repeat_n(0f32, padding)));
        }
        let shape = (items.len(), seq);
        Ok(EncoderInput {
            input_ids: Tensor::from_vec(ids, shape, &Device::Cpu)?,
            token_type_ids: Tensor::from_vec(types, shape, &Device::Cpu)?,
            attention_mask: Tensor::from_vec(mask, shape, &Device::Cpu)?,
            precision: Precision::Exact,
        })
    }
}
