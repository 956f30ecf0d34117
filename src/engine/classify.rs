//! Sequence classification with the model's own labels, with the semantics of transformers'
//! `text-classification` pipeline called with `top_k=None` and `truncation=True`: every label's
//! score, sorted by score, descending.
//!
//! The scores come from the logits by the pipeline's `function_to_apply` rule, read from the
//! model's config: `problem_type` "regression" keeps the logits; "multi_label_classification",
//! or a single label, takes the sigmoid of each; otherwise (two or more labels, or
//! "single_label_classification") the softmax across them. A text pair (the pipeline's
//! `{"text", "text_pair"}`) is encoded as the tokenizer encodes pairs, truncated `longest_first`.

use serde::Serialize;

use crate::engine::model::config::ProblemType;
use crate::engine::model::workers::{map_by_length, PASS_ROWS};
use crate::engine::model::Model;
use crate::engine::tokenize::Encoded;
use crate::error::{Error, Result};

/// How a classifier's logits become scores (the pipeline's `ClassificationFunction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreFunction {
    Softmax,
    Sigmoid,
    /// The raw logits (regression).
    None,
}

impl ScoreFunction {
    /// The pipeline's default for a model: its `problem_type` first, then its number of labels.
    pub fn for_model(problem_type: Option<ProblemType>, labels: usize) -> Self {
        match problem_type {
            Some(ProblemType::Regression) => Self::None,
            Some(ProblemType::MultiLabelClassification) => Self::Sigmoid,
            _ if labels == 1 => Self::Sigmoid,
            _ => Self::Softmax,
        }
    }

    pub fn apply(self, logits: &[f32]) -> Vec<f32> {
        match self {
            Self::Softmax => softmax(logits),
            Self::Sigmoid => logits.iter().map(|&x| 1.0 / (1.0 + (-x).exp())).collect(),
            Self::None => logits.to_vec(),
        }
    }
}

/// Every label of the model with its score, highest first (`selectra classify --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Classification {
    pub labels: Vec<String>,
    pub scores: Vec<f32>,
}

/// One input: a text, or a text pair.
#[derive(Debug, Clone, Copy)]
pub struct TextInput<'a> {
    pub text: &'a str,
    pub pair: Option<&'a str>,
}

/// A loaded sequence classifier used with its own labels.
pub struct TextClassifier<'m> {
    model: &'m Model,
    pub function: ScoreFunction,
    /// How many inputs go through the model at once, and how many tokens (padding included) a
    /// pass may hold (`None`: chosen per call, [`crate::engine::model::workers::plan_passes`]).
    pub max_batch_rows: usize,
    pub max_batch_tokens: Option<usize>,
}

impl<'m> TextClassifier<'m> {
    pub fn new(model: &'m Model) -> Result<Self> {
        if !model.architecture().is_sequence_classifier() {
            return Err(Error::Input(format!(
                "{} is a {} model; classifying a text needs a sequence classifier (a model fine-tuned with its own labels)",
                model.name,
                model.architecture().name()
            )));
        }
        let function = ScoreFunction::for_model(model.config.problem_type, model.config.id2label.len());
        Ok(Self { model, function, max_batch_rows: PASS_ROWS, max_batch_tokens: None })
    }

    pub fn classify(&self, input: TextInput) -> Result<Classification> {
        Ok(self.classify_batch(&[input])?.remove(0))
    }

    /// Classifies several inputs, batched longest first; results in the inputs' order.
    pub fn classify_batch(&self, inputs: &[TextInput]) -> Result<Vec<Classification>> {
        let logits = self.logits(inputs)?;
        Ok(logits.iter().map(|row| self.scores(row)).collect())
    }

    /// The raw logits of each input, one row of the model's classes each.
    pub fn logits(&self, inputs: &[TextInput]) -> Result<Vec<Vec<f32>>> {
        let tokenizer = &self.model.tokenizer;
        let encoded: Vec<Encoded> = inputs
            .iter()
            .map(|i| match i.pair {
                None => tokenizer.encode_single(i.text),
                Some(pair) => tokenizer.encode_text_pair(i.text, pair),
            })
            .collect::<Result<_>>()?;
        if let Some(e) = encoded.iter().find(|e| e.ids.len() > tokenizer.max_length()) {
            return Err(Error::Input(format!(
                "the input is {} tokens even after truncation; the model takes {}",
                e.ids.len(),
                tokenizer.max_length()
            )));
        }
        let lengths: Vec<usize> = encoded.iter().map(|e| e.ids.len()).collect();
        map_by_length(&lengths, self.max_batch_rows, self.max_batch_tokens, |items| {
            let input = self.model.batch(&items.iter().map(|&i| &encoded[i]).collect::<Vec<_>>())?;
            Ok(self.model.forward(&input)?.to_vec2::<f32>()?)
        })
    }

    /// One input's logits as the pipeline's sorted scores.
    pub fn scores(&self, logits: &[f32]) -> Classification {
        let scores = self.function.apply(logits);
        // The pipeline sorts with Python's stable `sorted(..., reverse=True)`: ties keep id order.
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        let names = &self.model.config.id2label;
        Classification { labels: order.iter().map(|&i| names[i].clone()).collect(), scores: order.iter().map(|&i| scores[i]).collect() }
    }
}

/// The softmax of `xs`, shifted by their maximum as numpy and torch compute it (no overflow on
/// large logits); every head's scores come through here.
pub fn softmax(xs: &[f32]) -> Vec<f32> {
    let max = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = xs.iter().map(|x| (x - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_score_function_follows_the_pipelines_rule() {
        use ProblemType::*;
        assert_eq!(ScoreFunction::for_model(Some(Regression), 1), ScoreFunction::None);
        assert_eq!(ScoreFunction::for_model(Some(Regression), 3), ScoreFunction::None);
        assert_eq!(ScoreFunction::for_model(Some(MultiLabelClassification), 3), ScoreFunction::Sigmoid);
        assert_eq!(ScoreFunction::for_model(None, 1), ScoreFunction::Sigmoid);
        assert_eq!(ScoreFunction::for_model(Some(SingleLabelClassification), 1), ScoreFunction::Sigmoid);
        assert_eq!(ScoreFunction::for_model(Some(SingleLabelClassification), 3), ScoreFunction::Softmax);
        assert_eq!(ScoreFunction::for_model(None, 2), ScoreFunction::Softmax);
    }

    #[test]
    fn scores_are_the_functions_of_the_logits() {
        let p = ScoreFunction::Softmax.apply(&[0.0, (3.0f32).ln()]);
        assert!((p[1] - 0.75).abs() < 1e-6 && (p[0] - 0.25).abs() < 1e-6);
        assert_eq!(ScoreFunction::Sigmoid.apply(&[0.0]), vec![0.5]);
        assert_eq!(ScoreFunction::None.apply(&[-2.5, 7.0]), vec![-2.5, 7.0]);
    }
}
