//! RoBERTa and XLM-RoBERTa for sequence classification, for the card's RoBERTa comparators and the
//! multilingual zero-shot models. The network is BERT's encoder (encoder.rs); what differs is the
//! embeddings' position ids (counted from `pad_token_id + 1`, see [`Embeddings`]) and the head on
//! `<s>`: dense -> tanh -> out_proj, without BERT's pooler. Both classes name their weights under
//! `roberta.`, as transformers does.

use candle_core::{Module, Tensor};
use candle_nn::VarBuilder;

use super::linear::{linear, Linear};

use super::config::ModelConfig;
use super::encoder::{first_token, Embeddings, Encoder, EncoderInput};

pub struct RobertaClassifier {
    embeddings: Embeddings,
    encoder: Encoder,
    /// `classifier.dense`, followed by tanh.
    dense: Linear,
    out_proj: Linear,
}

impl RobertaClassifier {
    pub fn load(vb: VarBuilder, cfg: &ModelConfig) -> candle_core::Result<Self> {
        let h = cfg.hidden_size;
        let roberta = vb.pp("roberta");
        let head = vb.pp("classifier");
        Ok(Self {
            embeddings: Embeddings::load(roberta.pp("embeddings"), cfg, h)?,
            encoder: Encoder::load(roberta.pp("encoder"), cfg)?,
            dense: linear(h, h, head.pp("dense"))?,
            out_proj: linear(h, cfg.id2label.len(), head.pp("out_proj"))?,
        })
    }

    /// The last hidden states, `(batch * seq, hidden)`.
    pub fn hidden_states(&self, input: &EncoderInput) -> candle_core::Result<Tensor> {
        self.encoder.forward(self.embeddings.forward(input)?, input)
    }

    /// `(batch, num_labels)` logits.
    pub fn forward(&self, input: &EncoderInput) -> candle_core::Result<Tensor> {
        let (batch, seq) = (input.batch_size(), input.seq_len());
        let hidden = self.hidden_states(input)?;
        let x = self.dense.forward(&first_token(&hidden, batch, seq)?)?.tanh()?;
        self.out_proj.forward(&x)
    }
}
