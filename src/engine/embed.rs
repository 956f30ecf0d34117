//! Record embeddings. A sentence-transformers folder's vectors are what its `encode` computes:
//! its pooling of the last hidden states (cls, max, mean, mean_sqrt_len_tokens, weightedmean,
//! lasttoken, concatenated), normalized when it has a `Normalize` module, inputs cut at its
//! `max_seq_length` and lower-cased when it says so (see [`crate::engine::sentence`]). Any other
//! checkpoint (a discriminator, a classifier, a bare encoder) gives the mean of the encoder's
//! last hidden states over a record's tokens (attention mask applied, special tokens included,
//! texts cut at the model's maximum length), L2-normalized, as transformers users average
//! `ElectraModel`/`BertModel`'s `last_hidden_state`; the head is not used.

use candle_core::{DType, Tensor, D};

use crate::engine::sentence::{PoolingMode, SentencePipeline};

use crate::engine::model::workers::{map_by_length, PASS_ROWS};
use crate::engine::model::Model;
use crate::engine::tokenize::Encoded;
use crate::error::Result;

/// The default recipe, in words (a trained head's `head.json` names its embeddings' recipe).
pub const MEAN_RECIPE: &str = "mean of the base model's last hidden states over the record's tokens (attention mask applied, special tokens included, texts cut at the model's maximum length), L2-normalized";

pub struct Embedder<'m> {
    model: &'m Model,
    /// At most this many records per forward pass, and at most this many (padded) tokens
    /// (`None`: chosen per call, [`crate::engine::model::workers::plan_passes`]).
    pub max_batch_rows: usize,
    pub max_batch_tokens: Option<usize>,
}

impl<'m> Embedder<'m> {
    pub fn new(model: &'m Model) -> Self {
        Self { model, max_batch_rows: PASS_ROWS, max_batch_tokens: None }
    }

    /// The pooling: the folder's sentence-transformers pipeline, else mean pooling, normalized.
    fn pipeline(&self) -> std::borrow::Cow<'_, SentencePipeline> {
        match &self.model.files.sentence {
            Some(p) => std::borrow::Cow::Borrowed(p),
            None => std::borrow::Cow::Owned(SentencePipeline {
                pooling: vec![PoolingMode::Mean],
                normalize: true,
                max_seq_length: None,
                do_lower_case: false,
            }),
        }
    }

    /// How the vectors are made, in words.
    pub fn recipe(&self) -> String {
        match &self.model.files.sentence {
            Some(p) => format!(
                "sentence-transformers' encode: {} of the last hidden states, texts cut at {} tokens{}",
                p.describe(),
                self.model.tokenizer.max_length(),
                if p.do_lower_case { ", lower-cased first" } else { "" }
            ),
            None => MEAN_RECIPE.to_string(),
        }
    }

    /// Whether the vectors have unit length (the default recipe, or a folder with Normalize).
    pub fn unit_length(&self) -> bool {
        self.pipeline().normalize
    }

    /// The width of the vectors: the hidden size once per pooling mode.
    pub fn dim(&self) -> usize {
        self.model.config.hidden_size * self.pipeline().pooling.len()
    }

    /// One vector per text, in the caller's order. Texts are batched longest first; padding
    /// does not change a text's vector.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let lower = self.pipeline().do_lower_case;
        let encoded = texts
            .iter()
            .map(|t| if lower { self.model.tokenizer.encode_single(&t.to_lowercase()) } else { self.model.tokenizer.encode_single(t) })
            .collect::<Result<Vec<_>>>()?;
        let lengths: Vec<usize> = encoded.iter().map(|e| e.ids.len()).collect();
        map_by_length(&lengths, self.max_batch_rows, self.max_batch_tokens, |items| {
            self.pooled(&items.iter().map(|&i| &encoded[i]).collect::<Vec<_>>())
        })
    }

    /// Each pooling mode over each sequence's hidden states (right-padded, as the batch is),
    /// concatenated, then L2 normalization when the pipeline normalizes (as
    /// `torch.nn.functional.normalize`: a zero vector stays zero).
    fn pooled(&self, batch: &[&Encoded]) -> Result<Vec<Vec<f32>>> {
        let pipeline = self.pipeline();
        let input = self.model.batch(batch)?;
        let (rows, seq, width) = (batch.len(), input.seq_len(), self.model.config.hidden_size);
        let hidden = self.model.hidden_states(&input)?.reshape((rows, seq, width))?;
        let mask = input.attention_mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let counts = mask.sum(1)?.maximum(1e-9)?;
        let mut parts = Vec::with_capacity(pipeline.pooling.len());
        for mode in &pipeline.pooling {
            parts.push(match mode {
                PoolingMode::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
                // Padding at -1e30 (0 exactly where the mask is 1), so it never wins.
                PoolingMode::Max => hidden.broadcast_add(&mask.affine(1e30, -1e30)?)?.max(1)?,
                PoolingMode::Mean => hidden.broadcast_mul(&mask)?.sum(1)?.broadcast_div(&counts)?,
                PoolingMode::MeanSqrtLen => hidden.broadcast_mul(&mask)?.sum(1)?.broadcast_div(&counts.sqrt()?)?,
                PoolingMode::WeightedMean => {
                    let positions = Tensor::arange(1f32, seq as f32 + 1.0, hidden.device())?.reshape((1, seq, 1))?;
                    let weights = mask.broadcast_mul(&positions)?;
                    hidden.broadcast_mul(&weights)?.sum(1)?.broadcast_div(&weights.sum(1)?.maximum(1e-9)?)?
                }
                PoolingMode::LastToken => {
                    let last: Vec<Tensor> =
                        batch.iter().enumerate().map(|(r, e)| hidden.get(r)?.get(e.ids.len().max(1) - 1)).collect::<candle_core::Result<_>>()?;
                    Tensor::stack(&last, 0)?
                }
            });
        }
        let pooled = if parts.len() == 1 { parts.remove(0) } else { Tensor::cat(&parts, 1)? };
        let out = if pipeline.normalize {
            let norms = pooled.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?.maximum(1e-12)?;
            pooled.broadcast_div(&norms)?
        } else {
            pooled
        };
        Ok(out.to_vec2::<f32>()?)
    }
}
