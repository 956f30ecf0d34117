//! Record embeddings: the mean of the encoder's last hidden states over a record's tokens
//! (attention mask applied, special tokens included, texts cut at the model's maximum length),
//! L2-normalized, as transformers users average `ElectraModel`/`BertModel`'s `last_hidden_state`.
//! Any loaded ELECTRA or BERT checkpoint serves (discriminator or NLI): the head is not used.

use candle_core::{DType, Tensor, D};

use crate::engine::model::workers::map_by_length;
use crate::engine::model::Model;
use crate::engine::tokenize::Encoded;
use crate::error::Result;

pub struct Embedder<'m> {
    model: &'m Model,
    /// At most this many records per forward pass, and at most this many (padded) tokens.
    pub max_batch_rows: usize,
    pub max_batch_tokens: usize,
}

impl<'m> Embedder<'m> {
    pub fn new(model: &'m Model) -> Self {
        Self { model, max_batch_rows: 64, max_batch_tokens: 2048 }
    }

    /// The width of the vectors.
    pub fn dim(&self) -> usize {
        self.model.config.hidden_size
    }

    /// One unit vector per text, in the caller's order. Texts are batched shortest first;
    /// padding does not change a text's vector.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let encoded = texts.iter().map(|t| self.model.tokenizer.encode_single(t)).collect::<Result<Vec<_>>>()?;
        let lengths: Vec<usize> = encoded.iter().map(|e| e.ids.len()).collect();
        map_by_length(&lengths, self.max_batch_rows, self.max_batch_tokens, |items| {
            self.pooled(&items.iter().map(|&i| &encoded[i]).collect::<Vec<_>>())
        })
    }

    /// Masked mean over each sequence's hidden states, then L2 normalization (as
    /// `torch.nn.functional.normalize`: a zero vector stays zero).
    fn pooled(&self, batch: &[&Encoded]) -> Result<Vec<Vec<f32>>> {
        let input = self.model.batch(batch)?;
        let (rows, seq) = (batch.len(), input.seq_len());
        let hidden = self.model.hidden_states(&input)?.reshape((rows, seq, self.dim()))?;
        let mask = input.attention_mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?;
        let mean = summed.broadcast_div(&counts)?;
        let norms = mean.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?.maximum(1e-12)?;
        let unit: Tensor = mean.broadcast_div(&norms)?;
        Ok(unit.to_vec2::<f32>()?)
    }
}
