//! Fine-tuning a sequence or token classifier on the CPU: the forward pass of transformers'
//! `ElectraForSequenceClassification`, `BertForSequenceClassification` and
//! `(XLM)RobertaForSequenceClassification`, and of their `…ForTokenClassification` taggers
//! (one linear layer on every token), built from candle's differentiable tensor operations
//! over `Var`s (the inference network in `model/` fuses and transposes its weights and cannot be
//! differentiated), cross-entropy (over the labeled tokens for a tagger, as PyTorch's
//! `ignore_index`), and the Trainer's optimizer: gradients clipped to a global
//! norm, AdamW with decoupled weight decay on every parameter but biases and LayerNorm weights,
//! a linear learning-rate schedule with warm-up.
//!
//! One training step equals PyTorch's (loss 1e-5, every gradient and the weights after AdamW
//! steps 1e-4 relative; `tests/fixtures/finetune/make.py`). Dropout masks come from a ChaCha8
//! seeded by the step, so a run resumed from a checkpoint takes exactly the steps it would have.
//!
//! The result saves as transformers saves the architecture: `model.safetensors` with its tensor
//! names, `config.json` with the new `id2label`, and the base model's tokenizer files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor, Var, D};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use crate::engine::hub::ModelFiles;
use crate::engine::model::config::{Activation, Architecture, ModelConfig, ModelType, ProblemType};
use crate::engine::model::encoder::EncoderInput;
use crate::error::{Error, Result};

mod ops;
use ops::{TrainAttention, TrainGelu, TrainLayerNorm, TrainLinear, TrainResidual};

/// A tensor operation failed: shapes we built ourselves, so a bug or an exhausted resource.
fn op(e: candle_core::Error) -> Error {
    Error::Inference(format!("training: {e}"))
}

/// The dropout probabilities config.json sets (transformers' defaults when it does not).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dropouts {
    pub hidden: f32,
    pub attention: f32,
    /// The classification head's (`classifier_dropout`, else the hidden one).
    pub classifier: f32,
}

impl Dropouts {
    fn from_config(raw: &Value) -> Self {
        let p = |key: &str| raw.get(key).and_then(Value::as_f64).map(|v| v as f32);
        let hidden = p("hidden_dropout_prob").unwrap_or(0.1);
        Dropouts { hidden, attention: p("attention_probs_dropout_prob").unwrap_or(0.1), classifier: p("classifier_dropout").unwrap_or(hidden) }
    }
}

/// Dropout masks for one step, drawn from a ChaCha8 seeded by the step: `None` is evaluation.
pub struct Masks {
    rng: ChaCha8Rng,
    rates: Dropouts,
}

impl Masks {
    pub fn for_step(seed: u64, step: u64, rates: Dropouts) -> Self {
        Self { rng: ChaCha8Rng::seed_from_u64(seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15)), rates }
    }

    /// A mask of `count` values, each 0 with probability `p` and else 1 / (1 - p); none when `p`
    /// is 0. Drawn in parallel blocks, each from its own ChaCha8 seeded by one draw of the
    /// step's generator and the block's index: the same masks on any number of threads.
    fn draw(&mut self, count: usize, p: f32) -> Option<Vec<f32>> {
        use rayon::prelude::*;
        if p <= 0.0 {
            return None;
        }
        let scale = 1.0 / (1.0 - p);
        let seed: u64 = self.rng.random();
        let mut mask = vec![0f32; count];
        mask.par_chunks_mut(MASK_BLOCK).enumerate().for_each(|(i, block)| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            for m in block {
                *m = if rng.random::<f32>() < p { 0.0 } else { scale };
            }
        });
        Some(mask)
    }

    /// `x` with each value zeroed with probability `p` and the rest scaled by 1 / (1 - p).
    fn apply(&mut self, x: &Tensor, p: f32) -> Result<Tensor> {
        match self.draw(x.elem_count(), p) {
            None => Ok(x.clone()),
            Some(mask) => {
                let mask = Tensor::from_vec(mask, x.shape(), x.device()).map_err(op)?;
                x.mul(&mask).map_err(op)
            }
        }
    }
}

/// Values per block of a dropout mask's parallel draw.
const MASK_BLOCK: usize = 1 << 14;

fn dropout(x: &Tensor, masks: &mut Option<&mut Masks>, which: fn(&Dropouts) -> f32) -> Result<Tensor> {
    match masks {
        Some(m) => {
            let p = which(&m.rates);
            m.apply(x, p)
        }
        None => Ok(x.clone()),
    }
}

/// `a` through the hidden dropout, plus the residual `r` ([`TrainResidual`]).
fn residual(a: &Tensor, r: &Tensor, masks: &mut Option<&mut Masks>) -> Result<Tensor> {
    let mask = masks.as_mut().and_then(|m| {
        let rate = m.rates.hidden;
        m.draw(a.elem_count(), rate)
    });
    a.apply_op2(r, TrainResidual { dropout: mask.map(std::sync::Arc::new) }).map_err(op)
}

/// Keeps freed blocks of every size in the heap for the next step instead of returning them to
/// the system: a training step allocates and frees the same large buffers (activations, their
/// gradients, the 12.8-million-number embedding gradient) in every step, and with glibc's
/// default each of those over its mmap threshold is mapped, zeroed by the kernel page by page,
/// and unmapped again (a tenth of a step's time, measured with perf). Process-wide; it changes
/// how much memory is kept, not how much is live.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes limits of the allocator; it is safe to call at any time.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

/// Each sequence's count of real tokens, from a right-padded attention mask (`(batch, seq)`, 1
/// then 0), which is how `Model::batch` pads.
fn sequence_lengths(attention_mask: &Tensor) -> Result<Vec<usize>> {
    let rows: Vec<Vec<f32>> = attention_mask.to_vec2().map_err(op)?;
    rows.iter()
        .map(|row| {
            let n = row.iter().take_while(|&&m| m > 0.5).count();
            if row[n..].iter().any(|&m| m > 0.5) {
                return Err(Error::Inference("training: the batch is not padded on the right".into()));
            }
            Ok(n)
        })
        .collect()
}

/// A standard normal draw (Box–Muller), for a new head's weights.
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// What the model learns to predict: a label per text (or pair), a set of labels per text, or a
/// tag per token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadKind {
    /// `…ForSequenceClassification`: the first token's state through the family's head.
    Sequence,
    /// The same head, `problem_type` "multi_label_classification": each label a yes or no
    /// (binary cross-entropy on each logit).
    MultiLabel,
    /// `…ForTokenClassification`: every token's state through one linear layer.
    Token,
}

/// Where the classification head comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadSource {
    /// The base model is a sequence classifier with exactly these labels: its head is kept.
    Kept,
    /// A new head, initialized as transformers initializes one (normal weights with the config's
    /// `initializer_range`, zero biases), from the seed.
    New,
}

/// A sequence or token classifier whose parameters are `Var`s.
pub struct Trainable {
    pub kind: HeadKind,
    pub config: ModelConfig,
    /// config.json as read, kept for the saved model's config.
    raw_config: Value,
    /// The family's weight prefix (`electra`, `bert`, `roberta`).
    prefix: &'static str,
    /// Parameters in the order transformers lists them (`named_parameters`).
    params: Vec<(String, Var)>,
    index: HashMap<String, usize>,
    pub dropouts: Dropouts,
    pub head: HeadSource,
    base_folder: PathBuf,
}

/// The sequence- or token-classification architecture of a model type.
fn classifier_of(model_type: ModelType, kind: HeadKind) -> Architecture {
    match (model_type, kind) {
        (ModelType::Electra, HeadKind::Sequence | HeadKind::MultiLabel) => Architecture::ElectraForSequenceClassification,
        (ModelType::Bert, HeadKind::Sequence | HeadKind::MultiLabel) => Architecture::BertForSequenceClassification,
        (ModelType::Roberta, HeadKind::Sequence | HeadKind::MultiLabel) => Architecture::RobertaForSequenceClassification,
        (ModelType::XlmRoberta, HeadKind::Sequence | HeadKind::MultiLabel) => Architecture::XLMRobertaForSequenceClassification,
        (ModelType::Electra, HeadKind::Token) => Architecture::ElectraForTokenClassification,
        (ModelType::Bert, HeadKind::Token) => Architecture::BertForTokenClassification,
        (ModelType::Roberta, HeadKind::Token) => Architecture::RobertaForTokenClassification,
        (ModelType::XlmRoberta, HeadKind::Token) => Architecture::XLMRobertaForTokenClassification,
    }
}

fn prefix_of(model_type: ModelType) -> &'static str {
    match model_type {
        ModelType::Electra => "electra",
        ModelType::Bert => "bert",
        ModelType::Roberta | ModelType::XlmRoberta => "roberta",
    }
}

impl Trainable {
    /// The model at `files` made a classifier of `kind` over `labels` (in id order; a tagger's
    /// are its IOB tags): its encoder as the checkpoint holds it, its head kept when the
    /// checkpoint is a classifier of that kind with exactly these labels, else new (seeded by
    /// `seed`).
    pub fn load(files: &ModelFiles, labels: &[String], kind: HeadKind, seed: u64) -> Result<Self> {
        if labels.len() < 2 {
            return Err(Error::Input(format!("fine-tuning needs at least two labels; the corpus has {}", labels.len())));
        }
        let text = std::fs::read_to_string(&files.config).map_err(|e| Error::io(&files.config, e))?;
        let raw_config: Value = serde_json::from_str(&text).map_err(|e| Error::config(&files.config, e.to_string()))?;
        let source = ModelConfig::from_json(&text, &files.config)?;
        let tensors = crate::engine::model::checkpoint_tensors(files, &source)?;
        let prefix = prefix_of(source.model_type);
        let target = classifier_of(source.model_type, kind);
        let kept = source.architecture == target && source.id2label == labels;
        let mut config = source.clone();
        config.architecture = target;
        config.id2label = labels.to_vec();
        config.label2id = labels.iter().enumerate().map(|(i, l)| (l.clone(), i)).collect();
        config.problem_type = match kind {
            HeadKind::Sequence => Some(ProblemType::SingleLabelClassification),
            HeadKind::MultiLabel => Some(ProblemType::MultiLabelClassification),
            HeadKind::Token => None,
        };
        let initializer_range = raw_config.get("initializer_range").and_then(Value::as_f64).unwrap_or(0.02);
        let mut named: Vec<(String, Tensor)> = Vec::new();
        for (name, tensor) in tensors {
            // The encoder under the family's prefix (a bare encoder's names have none).
            // A tagger has no pooler (transformers builds it with `add_pooling_layer=False`);
            // BERT's sequence classifier has one, so a bare BERT encoder's pooler is kept for it.
            let encoder_name = if source.architecture.is_encoder() {
                Some(format!("{prefix}.{name}")).filter(|n| kind != HeadKind::Token || !n.starts_with(&format!("{prefix}.pooler.")))
            } else {
                name.starts_with(&format!("{prefix}.")).then(|| name.clone()).filter(|n| !n.starts_with(&format!("{prefix}.pooler.")))
            };
            match encoder_name {
                Some(n) => named.push((n, tensor)),
                None if kept => named.push((name, tensor)),
                None => {}
            }
        }
        let h = config.hidden_size;
        let n = labels.len();
        let head_shapes: Vec<(String, Vec<usize>)> = match (kind, config.model_type) {
            (HeadKind::Token, _) => vec![("classifier.weight".into(), vec![n, h]), ("classifier.bias".into(), vec![n])],
            (HeadKind::Sequence | HeadKind::MultiLabel, ModelType::Bert) => vec![
                ("bert.pooler.dense.weight".into(), vec![h, h]),
                ("bert.pooler.dense.bias".into(), vec![h]),
                ("classifier.weight".into(), vec![n, h]),
                ("classifier.bias".into(), vec![n]),
            ],
            (HeadKind::Sequence | HeadKind::MultiLabel, _) => vec![
                ("classifier.dense.weight".into(), vec![h, h]),
                ("classifier.dense.bias".into(), vec![h]),
                ("classifier.out_proj.weight".into(), vec![n, h]),
                ("classifier.out_proj.bias".into(), vec![n]),
            ],
        };
        if !kept {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let missing: Vec<&(String, Vec<usize>)> = head_shapes.iter().filter(|(name, _)| !named.iter().any(|(n, _)| n == name)).collect();
            for (name, shape) in missing {
                let count: usize = shape.iter().product();
                let values: Vec<f32> = if name.ends_with(".bias") {
                    vec![0.0; count]
                } else {
                    (0..count).map(|_| (standard_normal(&mut rng) * initializer_range) as f32).collect()
                };
                named.push((name.clone(), Tensor::from_vec(values, shape.as_slice(), &Device::Cpu).map_err(op)?));
            }
        }
        // transformers' parameter order: the encoder, then the head (pooler first for BERT).
        let rank = |name: &str| {
            if name.starts_with("classifier") {
                2
            } else if name.contains(".pooler.") {
                1
            } else {
                0
            }
        };
        named.sort_by_key(|(name, _)| rank(name));
        let params: Vec<(String, Var)> = named.into_iter().map(|(n, t)| Ok((n, Var::from_tensor(&t).map_err(op)?))).collect::<Result<_>>()?;
        let index = params.iter().enumerate().map(|(i, (n, _))| (n.clone(), i)).collect();
        Ok(Self {
            kind,
            dropouts: Dropouts::from_config(&raw_config),
            config,
            raw_config,
            prefix,
            params,
            index,
            head: if kept { HeadSource::Kept } else { HeadSource::New },
            base_folder: files.folder.clone(),
        })
    }

    pub fn parameters(&self) -> &[(String, Var)] {
        &self.params
    }

    fn w(&self, name: &str) -> Result<&Tensor> {
        self.index
            .get(name)
            .map(|&i| self.params[i].1.as_tensor())
            .ok_or_else(|| Error::Inference(format!("training: the model has no parameter {name}")))
    }

    /// `x Wᵀ + b` for the layer `name` (`name.weight`, `name.bias`): one matrix product over all
    /// the rows of `x` whatever its leading dimensions ([`TrainLinear`]).
    fn linear(&self, x: &Tensor, name: &str) -> Result<Tensor> {
        let w = self.w(&format!("{name}.weight"))?;
        let b = self.w(&format!("{name}.bias"))?;
        x.contiguous().and_then(|x| x.apply_op3(w, b, TrainLinear::default())).map_err(op)
    }

    /// The layers `names` applied to the same input as one product over their stacked weights,
    /// their outputs side by side (the attention's query, key and value).
    fn packed_linear(&self, x: &Tensor, names: &[String]) -> Result<Tensor> {
        let stack = |part: &str| -> Result<Tensor> {
            let parts = names.iter().map(|n| self.w(&format!("{n}.{part}")).cloned()).collect::<Result<Vec<_>>>()?;
            Tensor::cat(&parts, 0).map_err(op)
        };
        let (w, b) = (stack("weight")?, stack("bias")?);
        x.contiguous().and_then(|x| x.apply_op3(&w, &b, TrainLinear::default())).map_err(op)
    }

    /// The erf GELU of a linear layer, as one operation ([`TrainLinear::with_gelu`]).
    fn linear_gelu(&self, x: &Tensor, name: &str) -> Result<Tensor> {
        let w = self.w(&format!("{name}.weight"))?;
        let b = self.w(&format!("{name}.bias"))?;
        x.contiguous().and_then(|x| x.apply_op3(w, b, TrainLinear::with_gelu())).map_err(op)
    }

    /// LayerNorm over the last dimension ([`TrainLayerNorm`]: one pass forward, one backward).
    fn layer_norm(&self, x: &Tensor, name: &str) -> Result<Tensor> {
        let (w, b) = (self.w(&format!("{name}.weight"))?, self.w(&format!("{name}.bias"))?);
        x.contiguous().and_then(|x| x.apply_op3(w, b, TrainLayerNorm { eps: self.config.layer_norm_eps })).map_err(op)
    }

    fn activation(&self, x: &Tensor, act: Activation) -> Result<Tensor> {
        match act {
            Activation::Gelu => x.contiguous().and_then(|x| x.apply_op1(TrainGelu)),
            Activation::GeluTanh => x.gelu(),
            Activation::Relu => x.relu(),
            Activation::Silu => x.silu(),
        }
        .map_err(op)
    }

    /// `(batch, labels)` logits of a sequence classifier, `(batch, tokens, labels)` of a tagger;
    /// `masks` applies dropout (training), `None` is evaluation.
    pub fn logits(&self, input: &EncoderInput, mut masks: Option<&mut Masks>) -> Result<Tensor> {
        let (batch, seq) = (input.batch_size(), input.seq_len());
        let p = self.prefix;
        let cfg = &self.config;
        let ids = input.input_ids.flatten_all().map_err(op)?;
        let word = self.w(&format!("{p}.embeddings.word_embeddings.weight"))?.index_select(&ids, 0).map_err(op)?;
        let positions: Tensor = if cfg.model_type.offsets_positions() {
            // RoBERTa: padding_idx + 1 onwards over the real tokens, padding_idx on padding.
            let pad = cfg.pad_token_id as f32;
            let mask = &input.attention_mask;
            let counted = mask.cumsum(1).and_then(|c| c.mul(mask)).and_then(|c| c.affine(1.0, pad as f64)).map_err(op)?;
            counted.to_dtype(DType::U32).map_err(op)?
        } else {
            Tensor::arange(0u32, seq as u32, &Device::Cpu).and_then(|a| a.unsqueeze(0)?.repeat((batch, 1))).map_err(op)?
        };
        let position =
            self.w(&format!("{p}.embeddings.position_embeddings.weight"))?.index_select(&positions.flatten_all().map_err(op)?, 0).map_err(op)?;
        let types = input.token_type_ids.flatten_all().map_err(op)?;
        let token_type = self.w(&format!("{p}.embeddings.token_type_embeddings.weight"))?.index_select(&types, 0).map_err(op)?;
        let x = (word + position).and_then(|x| x + token_type).and_then(|x| x.reshape((batch, seq, cfg.embedding_size))).map_err(op)?;
        let x = self.layer_norm(&x, &format!("{p}.embeddings.LayerNorm"))?;
        let mut x = dropout(&x, &mut masks, |d| d.hidden)?;
        if cfg.model_type == ModelType::Electra && cfg.embedding_size != cfg.hidden_size {
            x = self.linear(&x, &format!("{p}.embeddings_project"))?;
        }
        let (heads, head_dim) = (cfg.num_attention_heads, cfg.head_dim());
        let scale = 1.0 / (head_dim as f32).sqrt();
        let lengths = sequence_lengths(&input.attention_mask)?;
        for layer in 0..cfg.num_hidden_layers {
            let l = format!("{p}.encoder.layer.{layer}");
            let qkv = self.packed_linear(&x, &["query", "key", "value"].map(|n| format!("{l}.attention.self.{n}")))?;
            let attention_mask = masks.as_mut().and_then(|m| {
                let rate = m.rates.attention;
                m.draw(batch * heads * seq * seq, rate)
            });
            let attention = TrainAttention { lengths: lengths.clone(), heads, head_dim, scale, dropout: attention_mask.map(std::sync::Arc::new) };
            let context = qkv.apply_op1(attention).map_err(op)?;
            let attended = self.linear(&context, &format!("{l}.attention.output.dense"))?;
            let x1 = self.layer_norm(&residual(&attended, &x, &mut masks)?, &format!("{l}.attention.output.LayerNorm"))?;
            let inner = match cfg.hidden_act {
                Activation::Gelu => self.linear_gelu(&x1, &format!("{l}.intermediate.dense"))?,
                act => self.activation(&self.linear(&x1, &format!("{l}.intermediate.dense"))?, act)?,
            };
            let out = self.linear(&inner, &format!("{l}.output.dense"))?;
            x = self.layer_norm(&residual(&out, &x1, &mut masks)?, &format!("{l}.output.LayerNorm"))?;
        }
        if self.kind == HeadKind::Token {
            let x = dropout(&x, &mut masks, |d| d.classifier)?;
            return self.linear(&x, "classifier");
        }
        let first = x.narrow(1, 0, 1).and_then(|f| f.squeeze(1)).map_err(op)?;
        match cfg.model_type {
            ModelType::Bert => {
                let pooled = self.linear(&first, "bert.pooler.dense")?.tanh().map_err(op)?;
                let pooled = dropout(&pooled, &mut masks, |d| d.classifier)?;
                self.linear(&pooled, "classifier")
            }
            ModelType::Electra | ModelType::Roberta | ModelType::XlmRoberta => {
                let x = dropout(&first, &mut masks, |d| d.classifier)?;
                let x = self.linear(&x, "classifier.dense")?;
                // ELECTRA's head applies the erf GELU whatever hidden_act says; RoBERTa's tanh.
                let x =
                    if cfg.model_type == ModelType::Electra { x.contiguous().and_then(|x| x.apply_op1(TrainGelu)) } else { x.tanh() }.map_err(op)?;
                let x = dropout(&x, &mut masks, |d| d.classifier)?;
                self.linear(&x, "classifier.out_proj")
            }
        }
    }

    /// The mean cross-entropy of `logits` against `labels` (label ids), as
    /// `torch.nn.CrossEntropyLoss` computes it.
    pub fn loss(logits: &Tensor, labels: &[u32]) -> Result<Tensor> {
        let labels = Tensor::from_slice(labels, labels.len(), &Device::Cpu).map_err(op)?;
        candle_nn::loss::cross_entropy(logits, &labels).map_err(op)
    }

    /// The mean binary cross-entropy of a multi-label classifier's `(batch, labels)` logits
    /// against `targets` (1 where the record has the label, else 0, row by row), as
    /// `torch.nn.BCEWithLogitsLoss` computes it: `max(x, 0) − x y + log(1 + e^(−|x|))`.
    pub fn multi_label_loss(logits: &Tensor, targets: &[f32]) -> Result<Tensor> {
        let targets = Tensor::from_slice(targets, logits.shape(), &Device::Cpu).map_err(op)?;
        let softplus = logits.abs().and_then(|a| a.neg()).and_then(|a| a.exp()).and_then(|e| e.affine(1.0, 1.0)).and_then(|e| e.log()).map_err(op)?;
        logits.relu().and_then(|r| r - logits.mul(&targets)?).and_then(|l| l + softplus).and_then(|l| l.mean_all()).map_err(op)
    }

    /// The mean cross-entropy of a tagger's `(batch, tokens, labels)` logits over the tokens
    /// that have a target (`targets` row by row; `None` is PyTorch's `ignore_index` −100: special
    /// tokens, padding, a word's later pieces), as `torch.nn.CrossEntropyLoss` computes it.
    pub fn token_loss(logits: &Tensor, targets: &[Option<u32>]) -> Result<Tensor> {
        let (batch, seq, labels) = logits.dims3().map_err(op)?;
        if targets.len() != batch * seq {
            return Err(Error::Inference(format!("training: {} token targets for {batch}×{seq} tokens", targets.len())));
        }
        let counted = targets.iter().flatten().count();
        if counted == 0 {
            return Err(Error::Input("no token of the batch has a tag to learn from".into()));
        }
        let ids: Vec<u32> = targets.iter().map(|t| t.unwrap_or(0)).collect();
        let weights: Vec<f32> = targets.iter().map(|t| if t.is_some() { -1.0 / counted as f32 } else { 0.0 }).collect();
        let ids = Tensor::from_vec(ids, (batch * seq, 1), &Device::Cpu).map_err(op)?;
        let weights = Tensor::from_vec(weights, (batch * seq, 1), &Device::Cpu).map_err(op)?;
        logits
            .reshape((batch * seq, labels))
            .and_then(|l| candle_nn::ops::log_softmax(&l, D::Minus1))
            .and_then(|l| l.gather(&ids, 1))
            .and_then(|l| l.mul(&weights))
            .and_then(|l| l.sum_all())
            .map_err(op)
    }

    /// Every parameter's gradient of `loss` (zeros where it has none). The padding token's row
    /// of the word embeddings (and of RoBERTa's position embeddings) gets none, as with
    /// PyTorch's `nn.Embedding(padding_idx=…)`: padding never moves it.
    pub fn gradients(&self, loss: &Tensor) -> Result<Vec<Tensor>> {
        let grads = loss.backward().map_err(op)?;
        let padded = |name: &str| {
            name.ends_with("embeddings.word_embeddings.weight")
                || (self.config.model_type.offsets_positions() && name.ends_with("embeddings.position_embeddings.weight"))
        };
        self.params
            .iter()
            .map(|(name, v)| {
                let g = grads.get(v.as_tensor()).cloned().map_or_else(|| v.as_tensor().zeros_like().map_err(op), Ok)?;
                let pad = self.config.pad_token_id as usize;
                if padded(name) && pad < g.dim(0).map_err(op)? {
                    let mut keep = vec![1f32; g.dim(0).map_err(op)?];
                    keep[pad] = 0.0;
                    let keep = Tensor::from_vec(keep, (g.dim(0).map_err(op)?, 1), g.device()).map_err(op)?;
                    return g.broadcast_mul(&keep).map_err(op);
                }
                Ok(g)
            })
            .collect()
    }

    /// Writes the model as transformers saves it into `folder`: `model.safetensors`, `config.json`
    /// (this classifier's architecture and labels) and the base model's tokenizer files.
    pub fn save(&self, folder: &Path) -> Result<Vec<PathBuf>> {
        std::fs::create_dir_all(folder).map_err(|e| Error::io(folder, e))?;
        let weights = folder.join("model.safetensors");
        let tensors: HashMap<String, Tensor> = self.params.iter().map(|(n, v)| (n.clone(), v.as_tensor().clone())).collect();
        let tmp = crate::fs::temp_for(&weights)?;
        candle_core::safetensors::save(&tensors, tmp.path()).map_err(|e| Error::io(&weights, std::io::Error::other(e)))?;
        crate::fs::persist(tmp, &weights)?;
        let mut config = self.raw_config.clone();
        if let Value::Object(map) = &mut config {
            map.insert("architectures".into(), json!([self.config.architecture.name()]));
            map.insert("id2label".into(), Value::Object(self.config.id2label.iter().enumerate().map(|(i, l)| (i.to_string(), json!(l))).collect()));
            map.insert("label2id".into(), Value::Object(self.config.id2label.iter().enumerate().map(|(i, l)| (l.clone(), json!(i))).collect()));
            match self.kind {
                HeadKind::Sequence => map.insert("problem_type".into(), json!("single_label_classification")),
                HeadKind::MultiLabel => map.insert("problem_type".into(), json!("multi_label_classification")),
                HeadKind::Token => map.remove("problem_type"),
            };
            map.remove("num_labels");
        }
        let config_path = folder.join("config.json");
        crate::fs::write(&config_path, serde_json::to_string_pretty(&config).expect("json").as_bytes())?;
        let mut written = vec![weights, config_path];
        for name in TOKENIZER_FILES {
            let from = self.base_folder.join(name);
            if from.is_file() {
                let to = folder.join(name);
                std::fs::copy(&from, &to).map_err(|e| Error::io(&to, e))?;
                written.push(to);
            }
        }
        Ok(written)
    }
}

/// The tokenizer files a saved model carries over from its base.
const TOKENIZER_FILES: &[&str] = &[
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "sentencepiece.bpe.model",
    "added_tokens.json",
];

/// The Trainer's optimizer settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptimizerSettings {
    pub learning_rate: f64,
    pub weight_decay: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub epsilon: f64,
    pub max_grad_norm: f64,
    pub warmup_steps: u64,
    pub total_steps: u64,
}

/// AdamW as `torch.optim.AdamW` computes it (its single-tensor form, in f32), with the Trainer's
/// two parameter groups: decay on every parameter but biases and LayerNorm weights. The moments
/// live here as plain vectors and each step is one pass over every parameter's values in place,
/// split across the cores (candle's element-wise operations run on one core and allocate a tensor
/// each: a dozen of them per step over 22 million numbers cost more than the matrix products).
pub struct AdamW {
    pub settings: OptimizerSettings,
    /// Steps taken.
    pub step: u64,
    pub first_moments: Vec<Vec<f32>>,
    pub second_moments: Vec<Vec<f32>>,
    decays: Vec<bool>,
}

/// Whether the Trainer decays a parameter (`Trainer.get_decay_parameter_names`): not a bias,
/// not a LayerNorm's.
pub fn decays(name: &str) -> bool {
    !name.contains("bias") && !name.contains("LayerNorm")
}

/// Values per task of the optimizer's parallel pass.
const CHUNK: usize = 1 << 16;

/// One parameter's AdamW update, applied to its values in place.
struct AdamUpdate<'a> {
    grad: &'a [f32],
    /// `cpu_fwd` takes `&self`; the moments are borrowed once, by it.
    moments: std::cell::RefCell<(&'a mut Vec<f32>, &'a mut Vec<f32>)>,
    clip: f32,
    decay: f32,
    betas: (f32, f32),
    eps: f32,
    step_size: f32,
    bias2_sqrt: f32,
}

impl candle_core::InplaceOp1 for AdamUpdate<'_> {
    fn name(&self) -> &'static str {
        "adamw"
    }

    fn cpu_fwd(&self, storage: &mut candle_core::CpuStorage, layout: &candle_core::Layout) -> candle_core::Result<()> {
        use rayon::prelude::*;
        let (candle_core::CpuStorage::F32(values), Some((a, b))) = (storage, layout.contiguous_offsets()) else {
            candle_core::bail!("adamw: the weights are not a contiguous f32 tensor")
        };
        let p = &mut values[a..b];
        let mut moments = self.moments.borrow_mut();
        let (m, v) = &mut *moments;
        if p.len() != self.grad.len() || m.len() != p.len() || v.len() != p.len() {
            candle_core::bail!("adamw: {} weights, {} gradients, {} moments", p.len(), self.grad.len(), m.len())
        }
        let ((b1, b2), eps, clip, decay, step_size, bias2_sqrt) = (self.betas, self.eps, self.clip, self.decay, self.step_size, self.bias2_sqrt);
        p.par_chunks_mut(CHUNK).zip(m.par_chunks_mut(CHUNK)).zip(v.par_chunks_mut(CHUNK)).zip(self.grad.par_chunks(CHUNK)).for_each(
            |(((p, m), v), g)| {
                for j in 0..p.len() {
                    let g = g[j] * clip;
                    // exp_avg.lerp_(grad, 1 - beta1); exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2)
                    m[j] += (1.0 - b1) * (g - m[j]);
                    v[j] = b2 * v[j] + (1.0 - b2) * g * g;
                    let denom = v[j].sqrt() / bias2_sqrt + eps;
                    p[j] = p[j] * decay - step_size * m[j] / denom;
                }
            },
        );
        Ok(())
    }
}

impl AdamW {
    pub fn new(model: &Trainable, settings: OptimizerSettings) -> Result<Self> {
        let zeros = || model.params.iter().map(|(_, v)| vec![0f32; v.elem_count()]).collect::<Vec<_>>();
        Ok(Self { settings, step: 0, first_moments: zeros(), second_moments: zeros(), decays: model.params.iter().map(|(n, _)| decays(n)).collect() })
    }

    /// The learning rate of step `step` (0-based) on transformers' linear schedule with warm-up.
    pub fn learning_rate(&self, step: u64) -> f64 {
        let s = &self.settings;
        let factor = if step < s.warmup_steps {
            step as f64 / s.warmup_steps.max(1) as f64
        } else {
            (s.total_steps.saturating_sub(step) as f64 / s.total_steps.saturating_sub(s.warmup_steps).max(1) as f64).max(0.0)
        };
        s.learning_rate * factor
    }

    /// Clips `grads` to the global norm (`torch.nn.utils.clip_grad_norm_`: multiplied by
    /// `min(1, max_norm / (norm + 1e-6))`), then takes one AdamW step on `model`'s parameters.
    /// Returns the gradients' norm before clipping.
    pub fn step(&mut self, model: &Trainable, grads: &[Tensor]) -> Result<f64> {
        use rayon::prelude::*;
        // The gradients read where they are (a copy only of one that is not contiguous f32).
        let grads: Vec<Tensor> = grads.iter().map(|g| g.contiguous()).collect::<candle_core::Result<_>>().map_err(op)?;
        let guards: Vec<_> = grads.iter().map(|g| g.storage_and_layout()).collect();
        let grads: Vec<&[f32]> = guards
            .iter()
            .map(|(storage, layout)| match (&**storage, layout.contiguous_offsets()) {
                (candle_core::Storage::Cpu(candle_core::CpuStorage::F32(values)), Some((a, b))) => Ok(&values[a..b]),
                _ => Err(Error::Inference("training: a gradient is not a contiguous f32 tensor on the CPU".into())),
            })
            .collect::<Result<_>>()?;
        let norm = grads
            .par_iter()
            .map(|g| g.par_chunks(CHUNK).map(|c| c.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>()).sum::<f64>())
            .sum::<f64>()
            .sqrt();
        let clip = (self.settings.max_grad_norm / (norm + 1e-6)).min(1.0) as f32;
        let lr = self.learning_rate(self.step);
        self.step += 1;
        let s = self.settings;
        let t = self.step as i32;
        let (bias1, bias2) = (1.0 - s.beta1.powi(t), 1.0 - s.beta2.powi(t));
        for (i, (_, var)) in model.params.iter().enumerate() {
            let update = AdamUpdate {
                grad: grads[i],
                moments: std::cell::RefCell::new((&mut self.first_moments[i], &mut self.second_moments[i])),
                clip,
                decay: if self.decays[i] && s.weight_decay != 0.0 { (1.0 - lr * s.weight_decay) as f32 } else { 1.0 },
                betas: (s.beta1 as f32, s.beta2 as f32),
                eps: s.epsilon as f32,
                step_size: (lr / bias1) as f32,
                bias2_sqrt: bias2.sqrt() as f32,
            };
            // In place: the weights are not copied out and back each step.
            var.as_tensor().inplace_op1(&update).map_err(op)?;
        }
        Ok(norm)
    }
}
