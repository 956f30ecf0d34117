//! BERT with a sequence classification head (comparators such as BETO fine-tuned on XNLI,
//! `Recognai/bert-base-spanish-wwm-cased-xnli`) or a token classification head (NER taggers,
//! built without the pooler). Weight names follow transformers, under `bert.`.

use candle_core::{Module, Tensor};
use candle_nn::VarBuilder;

use super::linear::{linear, Linear};

use super::config::{Architecture, ModelConfig};
use super::encoder::{first_token, Embeddings, Encoder, EncoderInput};

enum Head {
    /// `bert.pooler.dense` with tanh on the first token, then `classifier`.
    Sequence { pooler: Linear, classifier: Linear },
    /// `classifier` on every token.
    Tokens { classifier: Linear },
    /// The bare encoder (`BertModel`).
    None,
}

pub struct BertClassifier {
    embeddings: Embeddings,
    encoder: Encoder,
    head: Head,
}

impl BertClassifier {
    pub fn load(vb: VarBuilder, cfg: &ModelConfig) -> candle_core::Result<Self> {
        let h = cfg.hidden_size;
        let bert = match cfg.architecture.encoder_prefix() {
            Some(prefix) => vb.pp(prefix),
            None => vb.clone(),
        };
        let classifier = || linear(h, cfg.id2label.len(), vb.pp("classifier"));
        let head = match cfg.architecture {
            Architecture::BertForSequenceClassification => {
                Head::Sequence { pooler: linear(h, h, bert.pp("pooler").pp("dense"))?, classifier: classifier()? }
            }
            Architecture::BertForTokenClassification => Head::Tokens { classifier: classifier()? },
            Architecture::BertModel => Head::None,
            other => candle_core::bail!("{} is not a BERT architecture", other.name()),
        };
        Ok(Self { embeddings: Embeddings::load(bert.pp("embeddings"), cfg, h)?, encoder: Encoder::load(bert.pp("encoder"), cfg)?, head })
    }

    /// The last hidden states, `(batch * seq, hidden)` (the pooler is not applied).
    pub fn hidden_states(&self, input: &EncoderInput) -> candle_core::Result<Tensor> {
        self.encoder.forward(self.embeddings.forward(input)?, input)
    }

    /// `(batch, num_labels)` logits, or `(batch, seq, num_labels)` for the token head.
    pub fn forward(&self, input: &EncoderInput) -> candle_core::Result<Tensor> {
        let (batch, seq) = (input.batch_size(), input.seq_len());
        let hidden = self.hidden_states(input)?;
        match &self.head {
            Head::Sequence { pooler, classifier } => {
                let pooled = pooler.forward(&first_token(&hidden, batch, seq)?)?.tanh()?;
                classifier.forward(&pooled)
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
