//! Zero-shot classification by NLI, with the semantics of transformers'
//! `zero-shot-classification` pipeline.
//!
//! Each candidate label becomes a hypothesis, `template.format(label)`, paired with the text as
//! premise; only the premise is truncated to the model's length. The entailment class is the first
//! `label2id` entry whose name, lower-cased, starts with "entail" (the last class if none does);
//! the contradiction class is 0, or the last class when entailment is 0. Single-label: softmax of
//! the entailment logits across labels. Multi-label (or a single label): for each label, softmax
//! over [contradiction, entailment]. Results are sorted by score, descending.
//!
//! Pairs are batched under a pair and a padded-token budget, across texts and within one text's
//! labels alike; padding does not change results, so corpus runs can batch freely.

use serde::Serialize;

use crate::domain::precision::Precision;
use crate::domain::task::ZeroShotTask;
use crate::engine::classify::softmax;
use crate::engine::model::workers::{map_batches, plan_passes, PASS_ROWS};
use crate::engine::model::Model;
use crate::engine::tokenize::{Encoded, Piece};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ZeroShotResult {
    pub sequence: String,
    pub labels: Vec<String>,
    pub scores: Vec<f32>,
}

/// A loaded NLI model with its entailment/contradiction classes resolved.
pub struct ZeroShotClassifier<'m> {
    model: &'m Model,
    entailment: usize,
    contradiction: usize,
    /// True when no class name starts with "entail" and the last class is assumed (the pipeline
    /// warns in that case; results are likely meaningless).
    pub entailment_guessed: bool,
    /// How many (text, label) pairs go through the model at once.
    pub max_batch_pairs: usize,
    /// How many tokens, padding included, a forward pass may hold; `None` (the default) lets each
    /// call choose ([`crate::engine::model::workers::plan_passes`]).
    pub max_batch_tokens: Option<usize>,
    /// The encoder's precision: exact f32, or the bf16 fast mode (corpus runs choose it, behind
    /// their agreement check; see `crate::domain::precision`).
    pub precision: Precision,
}

impl<'m> ZeroShotClassifier<'m> {
    pub fn new(model: &'m Model) -> Result<Self> {
        if !model.architecture().is_sequence_classifier() {
            return Err(Error::Input(format!(
                "{} is a {} model; zero-shot classification needs an NLI classifier such as Recognai/zeroshot_selectra_small",
                model.name,
                model.architecture().name()
            )));
        }
        let classes = model.config.id2label.len();
        let found = model.config.label2id.iter().find(|(name, _)| name.to_lowercase().starts_with("entail")).map(|(_, id)| *id);
        let entailment = found.unwrap_or(classes - 1);
        let contradiction = if entailment == 0 { classes - 1 } else { 0 };
        Ok(Self {
            model,
            entailment,
            contradiction,
            entailment_guessed: found.is_none(),
            max_batch_pairs: PASS_ROWS,
            max_batch_tokens: None,
            precision: Precision::Exact,
        })
    }

    pub fn entailment_id(&self) -> usize {
        self.entailment
    }

    pub fn contradiction_id(&self) -> usize {
        self.contradiction
    }

    pub fn classify(&self, text: &str, task: &ZeroShotTask) -> Result<ZeroShotResult> {
        Ok(self.classify_batch(&[text], task)?.remove(0))
    }

    /// Classifies several texts, batching their pairs.
    pub fn classify_batch(&self, texts: &[&str], task: &ZeroShotTask) -> Result<Vec<ZeroShotResult>> {
        let logits = self.nli_logits(texts, task)?;
        Ok(texts.iter().zip(logits).map(|(text, rows)| self.scores(text, task, &rows)).collect())
    }

    /// The raw NLI logits: for each text, one row of class logits per label.
    pub fn nli_logits(&self, texts: &[&str], task: &ZeroShotTask) -> Result<Vec<Vec<Vec<f32>>>> {
        let hypotheses = task.hypotheses();
        let groups: Vec<(&str, Vec<&str>)> = texts.iter().map(|t| (*t, hypotheses.iter().map(String::as_str).collect())).collect();
        self.grouped_logits(&groups)
    }

    /// Class logits for each (premise, hypotheses) group, one row per hypothesis, in the groups'
    /// order. Each premise is tokenized once, and each distinct hypothesis once per call. Pairs
    /// are taken from the texts longest first, so that a pass pads to about its own length, and
    /// packed into passes of at most `max_batch_pairs` pairs and a budget of padded tokens;
    /// a text's pairs may be split across passes (many labels never make one giant pass).
    /// Padding and batching do not change results (tested), so this order is invisible.
    pub fn grouped_logits(&self, groups: &[(&str, Vec<&str>)]) -> Result<Vec<Vec<Vec<f32>>>> {
        let tokenizer = &self.model.tokenizer;
        let mut hypothesis_pieces: std::collections::HashMap<&str, Piece> = std::collections::HashMap::new();
        for (_, hypotheses) in groups {
            for h in hypotheses {
                if !hypothesis_pieces.contains_key(h) {
                    hypothesis_pieces.insert(h, tokenizer.piece(h)?);
                }
            }
        }
        let encoded: Vec<Vec<Encoded>> = groups
            .iter()
            .map(|(text, hypotheses)| {
                if hypotheses.is_empty() {
                    return Ok(Vec::new());
                }
                if text.trim().is_empty() {
                    return Err(Error::Input("the text is empty; there is nothing to classify".into()));
                }
                let premise = tokenizer.piece(text)?;
                hypotheses.iter().map(|h| self.pair(&premise, &hypothesis_pieces[h], h)).collect()
            })
            .collect::<Result<_>>()?;
        let longest = |g: &[Encoded]| g.iter().map(|e| e.ids.len()).max().unwrap_or(0);
        let mut order: Vec<usize> = (0..groups.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(longest(&encoded[i])));
        let pairs: Vec<(usize, &Encoded)> = order.iter().flat_map(|&g| encoded[g].iter().map(move |e| (g, e))).collect();

        let lengths: Vec<usize> = pairs.iter().map(|(_, e)| e.ids.len()).collect();
        let batches = plan_passes(&lengths, self.max_batch_pairs, self.max_batch_tokens);
        let logits = map_batches(&batches, |range| {
            let refs: Vec<&Encoded> = pairs[range].iter().map(|(_, e)| *e).collect();
            self.forward_encoded(&refs)
        })?;
        let mut out: Vec<Vec<Vec<f32>>> = encoded.iter().map(|g| Vec::with_capacity(g.len())).collect();
        for ((group, _), row) in pairs.iter().zip(logits.into_iter().flatten()) {
            out[*group].push(row);
        }
        Ok(out)
    }

    fn pair(&self, premise: &Piece, hypothesis: &Piece, text: &str) -> Result<Encoded> {
        let e = self.model.tokenizer.join_pair(premise, hypothesis)?;
        if e.ids.len() > self.model.tokenizer.max_length() {
            return Err(Error::Input(format!(
                "the hypothesis {text:?} alone is longer than the model's {} tokens; use a shorter label or template",
                self.model.tokenizer.max_length()
            )));
        }
        Ok(e)
    }

    /// One forward pass over encoded pairs, padded to the longest.
    fn forward_encoded(&self, encoded: &[&Encoded]) -> Result<Vec<Vec<f32>>> {
        if encoded.is_empty() {
            return Ok(Vec::new());
        }
        let mut input = self.model.batch(encoded)?;
        input.precision = self.precision;
        Ok(self.model.forward(&input)?.to_vec2::<f32>()?)
    }

    /// One text's per-label logits as each label's score, in the task's label order: single-label,
    /// the softmax of the entailment logits across labels; multi-label (or one label), each
    /// label's softmax over [contradiction, entailment].
    pub fn label_scores(&self, task: &ZeroShotTask, rows: &[Vec<f32>]) -> Vec<f32> {
        if task.multi_label || task.labels.len() == 1 {
            rows.iter().map(|r| softmax(&[r[self.contradiction], r[self.entailment]])[1]).collect()
        } else {
            softmax(&rows.iter().map(|r| r[self.entailment]).collect::<Vec<_>>())
        }
    }

    /// Turns one text's per-label logits into the pipeline's sorted scores.
    pub fn scores(&self, text: &str, task: &ZeroShotTask, rows: &[Vec<f32>]) -> ZeroShotResult {
        let scores = self.label_scores(task, rows);
        // numpy's `reversed(argsort)`: ascending and stable for ties, then reversed.
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
        order.reverse();
        ZeroShotResult {
            sequence: text.to_string(),
            labels: order.iter().map(|&i| task.labels[i].clone()).collect(),
            scores: order.iter().map(|&i| scores[i]).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_stable_for_large_logits() {
        let p = softmax(&[1000.0, 1000.0]);
        assert_eq!(p, vec![0.5, 0.5]);
        let p = softmax(&[0.0, (3.0f32).ln()]);
        assert!((p[1] - 0.75).abs() < 1e-6);
    }
}
