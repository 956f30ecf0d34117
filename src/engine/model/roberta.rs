//! RoBERTa and XLM-RoBERTa with a sequence classification head (the card's RoBERTa comparators,
//! the multilingual zero-shot models) or a token classification head (NER taggers). The network
//! is BERT's encoder (encoder.rs); what differs is the embeddings' position ids (counted from
//! `pad_token_id + 1`, see [`Embeddings`]) and the sequence head on `<s>`: dense -> tanh ->
//! out_proj, without BERT's pooler. Both classes name their weights under `roberta.`, as
//! transformers does.

use candle_core::{Module, Tensor};
use candle_nn::VarBuilder;

use super::linear::{linear, Linear};

use super::config::{Architecture, ModelConfig};
use super::encoder::{first_token, Embeddings, Encoder, EncoderInput};

enum Head {
    /// `classifier.dense` with tanh on `<s>`, then `classifier.out_proj`.
    Sequence { dense: Linear, out_proj: Linear },
    /// `classifier` on every token.
    Tokens { classifier: Linear },
    /// The bare encoder (`RobertaModel`, `XLMRobertaModel`).
    None,
}

pub struct RobertaClassifier {
    embeddings: Embeddings,
    encoder: Encoder,
    head: Head,
}

impl RobertaClassifier {
    pub fn load(vb: VarBuilder, cfg: &ModelConfig) -> candle_core::Result<Self> {
        let h = cfg.hidden_size;
        let roberta = match cfg.architecture.encoder_prefix() {
            Some(prefix) => vb.pp(prefix),
            None => vb.clone(),
        };
        let head = match cfg.architecture {
            Architecture::RobertaForSequenceClassification | Architecture::XLMRobertaForSequenceClassification => {
                let head = vb.pp("classifier");
                Head::Sequence { dense: linear(h, h, head.pp("dense"))?, out_proj: linear(h, cfg.id2label.len(), head.pp("out_proj"))? }
            }
            Architecture::RobertaForTokenClassification | Architecture::XLMRobertaForTokenClassification => {
                Head::Tokens { classifier: linear(h, cfg.id2label.len(), vb.pp("classifier"))? }
            }
            Architecture::RobertaModel | Architecture::XLMRobertaModel => Head::None,
            other => candle_core::bail!("{} is not a RoBERTa architecture", other.name()),
        };
        Ok(Self { embeddings: Embeddings::load(roberta.pp("embeddings"), cfg, h)?, encoder: Encoder::load(roberta.pp("encoder"), cfg)?, head })
    }

    /// The last hidden states, `(batch * seq, hidden)`.
    pub fn hidden_states(&self, input: &EncoderInput) -> candle_core::Result<Tensor> {
        self.encoder.forward(self.embeddings.forward(input)?, input)
    }

    /// `(batch, num_labels)` logits, or `(batch, seq, num_labels)` for the token head.
    pub fn forward(&self, input: &EncoderInput) -> candle_core::Result<Tensor> {
        let (batch, seq) = (input.batch_size(), input.seq_len());
        let hidden = self.hidden_states(input)?;
        match &self.head {
            Head::Sequence { dense, out_proj } => {
                let x = dense.forward(&first_token(&hidden, batch, seq)?)?.tanh()?;
                out_proj.forward(&x)
            }
            Head::Tokens { classifier } => {
                let labels = classifier.forward(&hidden)?;
                let width = labels.dim(1)?;
                labels.reshape((batch, seq, width))
            }
            Head::None => candle_core::bail!("a bare encoder has no head; its hidden states are its output"),
        }
    }
}
