//! The BERT-style encoder that ELECTRA, BERT and RoBERTa share: embeddings and transformer layers.
//!
//! Hidden states are kept flat, `(batch * seq, width)`, between layers so that every dense layer
//! is one 2-D matrix product over the whole batch. Attention reads the heads in place from the
//! fused query/key/value projection (attention.rs), so nothing is reshaped or copied per head.

use candle_core::{DType, Module, Tensor, D};
use candle_nn::{embedding, Embedding, VarBuilder};

use super::linear::{linear, Epilogue, Linear};

use super::attention::SelfAttention;
use super::config::{Activation, ModelConfig};
use super::layer_norm::LayerNorm;
use crate::domain::precision::Precision;

/// A tokenized, padded batch ready for the encoder.
#[derive(Debug, Clone)]
pub struct EncoderInput {
    /// `(batch, seq)`, u32 token ids.
    pub input_ids: Tensor,
    /// `(batch, seq)`, u32 segment ids (0 for the first sequence, 1 for the second).
    pub token_type_ids: Tensor,
    /// `(batch, seq)`, f32: 1 for real tokens, 0 for padding.
    pub attention_mask: Tensor,
    /// The precision of the encoder layers' dense products (heads and attention are f32 always).
    pub precision: Precision,
}

impl EncoderInput {
    pub fn batch_size(&self) -> usize {
        self.input_ids.dims()[0]
    }

    pub fn seq_len(&self) -> usize {
        self.input_ids.dims()[1]
    }
}

/// Word + position + token-type embeddings, then LayerNorm, at width `width`.
pub struct Embeddings {
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    norm: LayerNorm,
    width: usize,
    /// RoBERTa's `padding_idx`: positions are `padding_idx + 1, + 2, ...` over the non-padding
    /// tokens and `padding_idx` on padding (transformers' `create_position_ids_from_input_ids`).
    /// `None`: positions 0, 1, 2, ... (BERT, ELECTRA).
    padding_idx: Option<u32>,
}

impl Embeddings {
    pub fn load(vb: VarBuilder, cfg: &ModelConfig, width: usize) -> candle_core::Result<Self> {
        Ok(Self {
            word: embedding(cfg.vocab_size, width, vb.pp("word_embeddings"))?,
            position: embedding(cfg.max_position_embeddings, width, vb.pp("position_embeddings"))?,
            token_type: embedding(cfg.type_vocab_size, width, vb.pp("token_type_embeddings"))?,
            norm: LayerNorm::load(width, cfg.layer_norm_eps, vb.pp("LayerNorm"))?,
            width,
            padding_idx: cfg.model_type.offsets_positions().then_some(cfg.pad_token_id),
        })
    }

    /// Returns `(batch * seq, width)`.
    pub fn forward(&self, input: &EncoderInput) -> candle_core::Result<Tensor> {
        let (batch, seq) = (input.batch_size(), input.seq_len());
        let words = self.word.forward(&input.input_ids)?;
        let types = self.token_type.forward(&input.token_type_ids)?;
        let sum = match self.padding_idx {
            None => {
                let positions = Tensor::arange(0u32, seq as u32, input.input_ids.device())?;
                (words + types)?.broadcast_add(&self.position.forward(&positions)?)?
            }
            Some(pad) => {
                let mut positions = Vec::with_capacity(batch * seq);
                for row in input.input_ids.to_vec2::<u32>()? {
                    let mut count = pad;
                    positions.extend(row.into_iter().map(|id| {
                        if id == pad {
                            pad
                        } else {
                            count += 1;
                            count
                        }
                    }));
                }
                let positions = Tensor::from_vec(positions, (batch, seq), input.input_ids.device())?;
                ((words + types)? + self.position.forward(&positions)?)?
            }
        };
        self.norm.forward(&sum.reshape((batch * seq, self.width))?)
    }
}

struct Layer {
    /// Query, key and value projections stacked into one `(3 * hidden, hidden)` matrix, the query
    /// rows pre-multiplied by 1/sqrt(head_dim): one matrix product instead of three, and no pass
    /// over the `(seq, seq)` scores to scale them.
    qkv: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    out_norm: LayerNorm,
    act: Activation,
    heads: usize,
    head_dim: usize,
}

impl Layer {
    fn load(vb: VarBuilder, cfg: &ModelConfig) -> candle_core::Result<Self> {
        let h = cfg.hidden_size;
        let eps = cfg.layer_norm_eps;
        let attn = vb.pp("attention");
        let scale = 1.0 / (cfg.head_dim() as f64).sqrt();
        let projection = |name: &str| candle_nn::linear(h, h, attn.pp("self").pp(name));
        let (query, key, value) = (projection("query")?, projection("key")?, projection("value")?);
        let bias = |l: &candle_nn::Linear| l.bias().cloned().ok_or_else(|| candle_core::Error::Msg("attention projections have biases".into()));
        let (weight, bias) = if super::weights::is_recorded_view(query.weight()) {
            // The manifest's dry run (see `weights::is_recorded_view`): a view of the joined shape.
            (Tensor::zeros((), DType::F32, query.weight().device())?.broadcast_as((3 * h, h))?, None)
        } else {
            let weight = Tensor::cat(&[&(query.weight() * scale)?, key.weight(), value.weight()], 0)?;
            (weight, Some(Tensor::cat(&[&(bias(&query)? * scale)?, &bias(&key)?, &bias(&value)?], 0)?))
        };
        Ok(Self {
            qkv: Linear::new(&weight, bias)?,
            attn_out: linear(h, h, attn.pp("output").pp("dense"))?,
            attn_norm: LayerNorm::load(h, eps, attn.pp("output").pp("LayerNorm"))?,
            intermediate: linear(h, cfg.intermediate_size, vb.pp("intermediate").pp("dense"))?,
            output: linear(cfg.intermediate_size, h, vb.pp("output").pp("dense"))?,
            out_norm: LayerNorm::load(h, eps, vb.pp("output").pp("LayerNorm"))?,
            act: cfg.hidden_act,
            heads: cfg.num_attention_heads,
            head_dim: cfg.head_dim(),
        })
    }

    /// `x` is `(tokens, hidden)`, packed: each span is one sequence's (first row, token count).
    fn forward(&self, x: &Tensor, spans: &[(usize, usize)], precision: Precision) -> candle_core::Result<Tensor> {
        let qkv = self.qkv.forward_with(x, Epilogue::Plain, precision)?;
        let attention = SelfAttention { spans: spans.to_vec(), heads: self.heads, head_dim: self.head_dim };
        let context = qkv.apply_op1_no_bwd(&attention)?;
        let attended = self.attn_norm.forward(&self.attn_out.forward_with(&context, Epilogue::Residual(x), precision)?)?;
        let inner = self.intermediate.forward_with(&attended, Epilogue::Activate(self.act), precision)?;
        self.out_norm.forward(&self.output.forward_with(&inner, Epilogue::Residual(&attended), precision)?)
    }
}

/// The stack of transformer layers.
pub struct Encoder {
    layers: Vec<Layer>,
}

impl Encoder {
    pub fn load(vb: VarBuilder, cfg: &ModelConfig) -> candle_core::Result<Self> {
        let layers = (0..cfg.num_hidden_layers).map(|i| Layer::load(vb.pp("layer").pp(i), cfg)).collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self { layers })
    }

    /// `x` is `(batch * seq, hidden)`; returns the same shape, with zeros at padded positions.
    ///
    /// The layers run on the real tokens only, packed sequence after sequence: padding costs no
    /// work in any product, and each sequence's attention sees exactly its own tokens.
    pub fn forward(&self, x: Tensor, input: &EncoderInput) -> candle_core::Result<Tensor> {
        let (batch, seq) = (input.batch_size(), input.seq_len());
        let mask = input.attention_mask.to_dtype(DType::F32)?.to_vec2::<f32>()?;
        let mut spans = Vec::with_capacity(batch);
        let mut rows = Vec::with_capacity(batch * seq);
        for (i, keep) in mask.iter().enumerate() {
            let n = keep.iter().take_while(|&&m| m != 0.0).count();
            if keep[n..].iter().any(|&m| m != 0.0) {
                candle_core::bail!("sequence {i} of the batch has padding before a token; padding must follow the tokens");
            }
            spans.push((rows.len(), n));
            rows.extend((i * seq..i * seq + n).map(|r| r as u32));
        }
        let padded = rows.len() != batch * seq;
        let mut x = if padded { x.index_select(&Tensor::new(rows.as_slice(), x.device())?, 0)? } else { x };
        for layer in &self.layers {
            x = layer.forward(&x, &spans, input.precision)?;
        }
        if !padded {
            return Ok(x);
        }
        // Back to the padded layout the heads and callers index: zeros where padding was.
        let width = x.dim(D::Minus1)?;
        let packed = x.flatten_all()?.to_vec1::<f32>()?;
        let mut out = vec![0f32; batch * seq * width];
        for (row, values) in rows.iter().zip(packed.chunks_exact(width)) {
            let at = *row as usize * width;
            out[at..at + width].copy_from_slice(values);
        }
        Tensor::from_vec(out, (batch * seq, width), x.device())
    }
}

/// The hidden state of each sequence's first token ([CLS]): `(batch * seq, h)` -> `(batch, h)`.
pub(crate) fn first_token(x: &Tensor, batch: usize, seq: usize) -> candle_core::Result<Tensor> {
    let h = x.dim(D::Minus1)?;
    x.reshape((batch, seq, h))?.narrow(1, 0, 1)?.reshape((batch, h))
}
