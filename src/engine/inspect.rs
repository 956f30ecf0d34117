//! "Which tokens look replaced?": the discriminator's per-token logits and probabilities.
//!
//! For each token of the text (special tokens excluded) we report its string, id, character
//! offsets into the text, the discriminator logit and P(replaced) = sigmoid(logit). The word view
//! merges a word's subwords and scores the word by its most suspicious token.

use serde::Serialize;

use crate::domain::rtd::sigmoid;
use crate::engine::model::config::Architecture;
use crate::engine::model::workers::{map_by_length, PASS_ROWS};
use crate::engine::model::Model;
use crate::engine::tokenize::Encoded;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TokenScore {
    pub token: String,
    pub id: u32,
    /// Character offsets into the text, end exclusive.
    pub start: usize,
    pub end: usize,
    pub logit: f32,
    pub probability: f32,
    /// The token's embedding was never trained: accents are kept on a model whose files strip
    /// them, and this piece has one (see the SELECTRA card's note). Serialized only when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub untrained_embedding: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WordScore {
    /// The word as it appears in the text.
    pub text: String,
    pub start: usize,
    pub end: usize,
    /// The highest P(replaced) among the word's tokens.
    pub probability: f32,
    /// Indices into [`Inspection::tokens`] of the word's tokens.
    pub first_token: usize,
    pub token_count: usize,
    /// One of the word's tokens has an untrained embedding (see [`TokenScore::untrained_embedding`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub untrained_embedding: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Inspection {
    pub model: String,
    pub text: String,
    pub tokens: Vec<TokenScore>,
    /// True when the text was longer than the model accepts and its end was not scored.
    #[serde(skip)]
    pub truncated: bool,
    /// Word index of each token (internal; the word view is computed from it).
    #[serde(skip)]
    word_ids: Vec<Option<u32>>,
}

impl Inspection {
    /// Subwords merged into words; a word's score is its highest token probability.
    pub fn words(&self) -> Vec<WordScore> {
        let chars: Vec<char> = self.text.chars().collect();
        let mut words: Vec<WordScore> = Vec::new();
        for (i, token) in self.tokens.iter().enumerate() {
            let same_word = i > 0 && self.word_ids[i].is_some() && self.word_ids[i] == self.word_ids[i - 1];
            match words.last_mut() {
                Some(word) if same_word => {
                    word.end = token.end;
                    word.probability = word.probability.max(token.probability);
                    word.token_count += 1;
                    word.untrained_embedding |= token.untrained_embedding;
                }
                _ => words.push(WordScore {
                    text: String::new(),
                    start: token.start,
                    end: token.end,
                    probability: token.probability,
                    first_token: i,
                    token_count: 1,
                    untrained_embedding: token.untrained_embedding,
                }),
            }
        }
        for word in &mut words {
            word.text = chars[word.start.min(chars.len())..word.end.min(chars.len())].iter().collect();
        }
        words
    }
}

fn require_discriminator(model: &Model) -> Result<()> {
    if model.architecture() != Architecture::ElectraForPreTraining {
        return Err(Error::Input(format!(
            "{} is a {} model, which has no per-token head: replaced-token scores come from an ELECTRA \
             discriminator (ElectraForPreTraining), such as Recognai/selectra_small",
            model.name,
            model.architecture().name()
        )));
    }
    Ok(())
}

/// Scores every token of `text`.
pub fn inspect(model: &Model, text: &str) -> Result<Inspection> {
    let mut all = inspect_batch(model, &[text])?;
    Ok(all.remove(0))
}

/// Scores several texts, batched longest first by the rule every corpus job uses
/// ([`map_by_length`]; a text's scores do not depend on its batch), in the caller's order.
pub fn inspect_batch(model: &Model, texts: &[&str]) -> Result<Vec<Inspection>> {
    require_discriminator(model)?;
    let encoded = texts.iter().map(|t| model.tokenizer.encode_single(t)).collect::<Result<Vec<_>>>()?;
    let lengths: Vec<usize> = encoded.iter().map(|e| e.ids.len()).collect();
    map_by_length(&lengths, PASS_ROWS, None, |items| {
        score_encoded(model, &items.iter().map(|&i| (texts[i], &encoded[i])).collect::<Vec<(&str, &Encoded)>>())
    })
}

/// Scores a text whose token `index` (an index into [`Inspection::tokens`]) is replaced by the
/// vocabulary token `replacement`: the "what if this word were different?" edit of the inspector.
/// Offsets of the other tokens still point into `text`; the replaced token keeps its span.
pub fn inspect_with_replacement(model: &Model, text: &str, index: usize, replacement: &str) -> Result<Inspection> {
    require_discriminator(model)?;
    let mut encoded = model.tokenizer.encode_single(text)?;
    let count = encoded.tokens.len();
    let Some(token) = encoded.tokens.get_mut(index) else {
        return Err(Error::Input(format!("token index {index} is out of range; the text has {count} tokens")));
    };
    let id = model
        .tokenizer
        .token_id(replacement)
        .ok_or_else(|| Error::Input(format!("{replacement:?} is not in the model's vocabulary; pick a token the vocabulary has")))?;
    token.id = id;
    token.text = replacement.to_string();
    encoded.ids[encoded.positions[index]] = id;
    Ok(score_encoded(model, &[(text, &encoded)])?.remove(0))
}

fn score_encoded(model: &Model, batch: &[(&str, &Encoded)]) -> Result<Vec<Inspection>> {
    let refs: Vec<&Encoded> = batch.iter().map(|(_, e)| *e).collect();
    let logits = model.forward(&model.batch(&refs)?)?.to_vec2::<f32>()?;
    Ok(batch
        .iter()
        .zip(logits)
        .map(|((text, enc), row)| {
            let tokens = enc
                .tokens
                .iter()
                .zip(&enc.positions)
                .map(|(t, &pos)| {
                    let logit = row[pos];
                    TokenScore {
                        token: t.text.clone(),
                        id: t.id,
                        start: t.start,
                        end: t.end,
                        logit,
                        probability: sigmoid(logit),
                        untrained_embedding: model.tokenizer.untrained_piece(&t.text),
                    }
                })
                .collect();
            Inspection {
                model: model.name.clone(),
                text: text.to_string(),
                tokens,
                truncated: enc.truncated,
                word_ids: enc.tokens.iter().map(|t| t.word).collect(),
            }
        })
        .collect())
}
