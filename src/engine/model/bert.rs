//! BERT for sequence classification, for comparator models such as BETO fine-tuned on XNLI
//! (`Recognai/bert-base-spanish-wwm-cased-xnli`). Weight names follow transformers, under `bert.`.

use candle_core::{Module, Tensor};
use candle_nn::VarBuilder;

use super::linear::{linear, Linear};

use super::config::ModelConfig;
use super::encoder::{first_token, Embeddings, Encoder, EncoderInput};

pub struct BertClassifier {
    embeddings: Embeddings,
    encoder: Encoder,
    /// `bert.pooler.dense`, followed by tanh on the first token.
    pooler: Linear,
    classifier: Linear,
}

impl BertClassifier {
    pub fn load(vb: VarBuilder, cfg: &ModelConfig) -> candle_core::Result<Self> {
        let h = cfg.hidden_size;
        let bert = vb.pp("bert");
        Ok(Self {
            embeddings: Embeddings::load(bert.pp("embeddings"), cfg, h)?,
            encoder: Encoder::load(bert.pp("encoder"), cfg)?,
            pooler: linear(h, h, bert.pp("pooler").pp("dense"))?,
            classifier: linear(h, cfg.id2label.len(), vb.pp("classifier"))?,
        })
    }

    /// The last hidden states, `(batch * seq, hidden)` (the pooler is not applied).
    pub fn hidden_states(&self, input: &EncoderInput) -> candle_core::Result<Tensor> {
        self.encoder.forward(self.embeddings.forward(input)?, input)
    }

    /// `(batch, num_labels)` logits.
    pub fn forward(&self, input: &EncoderInput) -> candle_core::Result<Tensor> {
        let (batch, seq) = (input.batch_size(), input.seq_len());
        let hidden = self.hidden_states(input)?;
        let pooled = self.pooler.forward(&first_token(&hidden, batch, seq)?)?.tanh()?;
        self.classifier.forward(&pooled)
    }
}
