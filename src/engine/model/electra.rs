//! ELECTRA as transformers computes it: `ElectraForPreTraining` (the replaced-token
//! discriminator), `ElectraForSequenceClassification` (the head the zero-shot SELECTRA models
//! were fine-tuned with) and `ElectraForTokenClassification` (NER taggers). Weight names follow
//! transformers, under the `electra.` prefix.

use candle_core::{Module, Tensor};
use candle_nn::VarBuilder;

use super::linear::{linear, Epilogue, Linear};

use super::config::{Activation, Architecture, ModelConfig};
use super::encoder::{first_token, Embeddings, Encoder, EncoderInput};
use crate::domain::precision::Precision;

/// Embeddings at `embedding_size`, projected to `hidden_size` when the two differ, then the encoder.
pub struct ElectraModel {
    embeddings: Embeddings,
    /// `embeddings_project`: only present when `embedding_size != hidden_size` (SELECTRA's sizes
    /// are equal, other ELECTRA checkpoints are not).
    project: Option<Linear>,
    encoder: Encoder,
}

impl ElectraModel {
    pub fn load(vb: VarBuilder, cfg: &ModelConfig) -> candle_core::Result<Self> {
        let project = if cfg.embedding_size != cfg.hidden_size {
            Some(linear(cfg.embedding_size, cfg.hidden_size, vb.pp("embeddings_project"))?)
        } else {
            None
        };
        Ok(Self {
            embeddings: Embeddings::load(vb.pp("embeddings"), cfg, cfg.embedding_size)?,
            project,
            encoder: Encoder::load(vb.pp("encoder"), cfg)?,
        })
    }

    /// Returns the last hidden states, `(batch * seq, hidden)`.
    pub fn forward(&self, input: &EncoderInput) -> candle_core::Result<Tensor> {
        let mut x = self.embeddings.forward(input)?;
        if let Some(project) = &self.project {
            x = project.forward(&x)?;
        }
        self.encoder.forward(x, input)
    }
}

enum Head {
    /// `discriminator_predictions`: dense -> hidden_act -> dense_prediction (one logit per token).
    Discriminator { dense: Linear, act: Activation, prediction: Linear },
    /// `classifier`: first token -> dense -> gelu (always the erf form) -> out_proj.
    Classifier { dense: Linear, out_proj: Linear },
    /// `classifier`: one linear layer on every token (`ElectraForTokenClassification`).
    Tokens { classifier: Linear },
    /// `ElectraModel`: the encoder alone.
    None,
}

pub struct Electra {
    model: ElectraModel,
    head: Head,
}

impl Electra {
    pub fn load(vb: VarBuilder, cfg: &ModelConfig) -> candle_core::Result<Self> {
        let h = cfg.hidden_size;
        let head = match cfg.architecture {
            Architecture::ElectraForPreTraining => {
                let vb = vb.pp("discriminator_predictions");
                Head::Discriminator {
                    dense: linear(h, h, vb.pp("dense"))?,
                    act: cfg.hidden_act,
                    prediction: linear(h, 1, vb.pp("dense_prediction"))?,
                }
            }
            Architecture::ElectraForSequenceClassification => {
                let vb = vb.pp("classifier");
                Head::Classifier { dense: linear(h, h, vb.pp("dense"))?, out_proj: linear(h, cfg.id2label.len(), vb.pp("out_proj"))? }
            }
            Architecture::ElectraForTokenClassification => Head::Tokens { classifier: linear(h, cfg.id2label.len(), vb.pp("classifier"))? },
            Architecture::ElectraModel => Head::None,
            other => candle_core::bail!("{} is not an ELECTRA architecture", other.name()),
        };
        let encoder = match cfg.architecture.encoder_prefix() {
            Some(prefix) => vb.pp(prefix),
            None => vb,
        };
        Ok(Self { model: ElectraModel::load(encoder, cfg)?, head })
    }

    /// The last hidden states, `(batch * seq, hidden)`.
    pub fn hidden_states(&self, input: &EncoderInput) -> candle_core::Result<Tensor> {
        self.model.forward(input)
    }

    /// Discriminator: `(batch, seq)` logits. Classifier: `(batch, num_labels)` logits. Token
    /// classifier: `(batch, seq, num_labels)` logits.
    pub fn forward(&self, input: &EncoderInput) -> candle_core::Result<Tensor> {
        let (batch, seq) = (input.batch_size(), input.seq_len());
        let hidden = self.model.forward(input)?;
        match &self.head {
            Head::Discriminator { dense, act, prediction } => {
                let x = dense.forward_with(&hidden, Epilogue::Activate(*act), Precision::Exact)?;
                prediction.forward(&x)?.reshape((batch, seq))
            }
            Head::Classifier { dense, out_proj } => {
                let x = dense.forward(&first_token(&hidden, batch, seq)?)?.gelu_erf()?;
                out_proj.forward(&x)
            }
            Head::Tokens { classifier } => {
                let labels = classifier.forward(&hidden)?;
                let width = labels.dim(1)?;
                labels.reshape((batch, seq, width))
            }
            Head::None => candle_core::bail!("ElectraModel has no head; its hidden states are its output"),
        }
    }
}
