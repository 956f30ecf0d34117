//! The discriminator over whole records (the corpus scan's computation): every token's
//! P(replaced), with records longer than the model scored in overlapping windows, and the
//! per-record summaries a corpus is sorted and filtered on.
//!
//! A record that fits in one window is scored exactly as [`crate::inspect`] scores it. A longer
//! one is cut into windows of the model's length that overlap by half; each token takes its score
//! from the window where it is farthest from an edge (ties: the earlier window), so every
//! character is scored with as much context on both sides as the model allows.
//!
//! Summaries are over words (subwords merged as the Inspector's word view merges them, a word
//! scoring as its most suspicious token): the record's suspicion is its highest word score, the
//! flagged count is how many words reach [`inspect::REPLACED_THRESHOLD`], and the mean is the
//! words' mean score.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::inspect;
use crate::model::config::Architecture;
use crate::model::workers::{batch_ranges, map_batches};
use crate::model::Model;
use crate::tokenize::Encoded;

/// One scored token: its string, character span in the record, and P(replaced).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScannedToken {
    pub token: String,
    pub start: usize,
    pub end: usize,
    pub probability: f32,
    /// Whether the token begins a word (the word view's grouping; kept so that words can be
    /// rebuilt from stored tokens).
    #[serde(skip)]
    pub word_start: bool,
}

/// A record's scan: its tokens and the summaries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordScan {
    pub tokens: Vec<ScannedToken>,
    /// The highest word-level P(replaced); 0 for a record without words.
    pub suspicion: f32,
    /// How many words reach the flagged threshold.
    pub flagged: u32,
    /// The mean word-level P(replaced); 0 for a record without words.
    pub mean: f32,
    /// How many windows the record took (1 when it fits the model).
    pub windows: usize,
}

/// Scores records with a discriminator, batching windows under a row and a padded-token budget.
pub struct Scanner<'m> {
    model: &'m Model,
    /// How many windows go through the model at once.
    pub max_batch_rows: usize,
    /// How many tokens, padding included, a forward pass may hold.
    pub max_batch_tokens: usize,
}

impl<'m> Scanner<'m> {
    pub fn new(model: &'m Model) -> Result<Self> {
        if model.architecture() != Architecture::ElectraForPreTraining {
            return Err(Error::Input(format!(
                "{} is a {} model; scanning for replaced tokens needs a discriminator (ElectraForPreTraining), such as Recognai/selectra_small",
                model.name,
                model.architecture().name()
            )));
        }
        Ok(Self { model, max_batch_rows: inspect::BATCH_ROWS, max_batch_tokens: inspect::BATCH_TOKENS })
    }

    /// Scans `texts`, returning one [`RecordScan`] per text in the caller's order. Windows from all
    /// the texts are batched shortest first; padding does not change a window's scores.
    pub fn scan(&self, texts: &[&str]) -> Result<Vec<RecordScan>> {
        let windows = texts.iter().map(|t| self.model.tokenizer.windows(t)).collect::<Result<Vec<_>>>()?;
        // Every window of every text, shortest first.
        let mut all: Vec<(usize, usize, &Encoded)> =
            windows.iter().enumerate().flat_map(|(t, w)| w.windows.iter().enumerate().map(move |(k, (_, e))| (t, k, e))).collect();
        all.sort_by_key(|(_, _, e)| e.ids.len());
        let mut logits: Vec<Vec<Vec<f32>>> = windows.iter().map(|w| vec![Vec::new(); w.windows.len()]).collect();
        let lengths: Vec<usize> = all.iter().map(|(_, _, e)| e.ids.len()).collect();
        let batches = batch_ranges(&lengths, self.max_batch_rows, self.max_batch_tokens);
        let rows = map_batches(&batches, |range| {
            let refs: Vec<&Encoded> = all[range].iter().map(|(_, _, e)| *e).collect();
            Ok(self.model.forward(&self.model.batch(&refs)?)?.to_vec2::<f32>()?)
        })?;
        for ((t, k, _), row) in all.iter().zip(rows.into_iter().flatten()) {
            logits[*t][*k] = row;
        }
        Ok(windows
            .iter()
            .zip(logits)
            .map(|(w, window_logits)| {
                let starts: Vec<usize> = w.windows.iter().map(|(s, _)| *s).collect();
                let word_ids: Vec<Option<u32>> = w.tokens.iter().map(|t| t.word).collect();
                let tokens: Vec<ScannedToken> = w
                    .tokens
                    .iter()
                    .zip(&w.positions)
                    .enumerate()
                    .map(|(i, (t, &p))| {
                        let k = choose_window(p, &starts, w.width);
                        // +1: the window's [CLS] comes first.
                        let logit = window_logits[k][1 + p - starts[k]];
                        let word_start = !(i > 0 && word_ids[i].is_some() && word_ids[i] == word_ids[i - 1]);
                        ScannedToken { token: t.text.clone(), start: t.start, end: t.end, probability: sigmoid(logit), word_start }
                    })
                    .collect();
                let (suspicion, flagged, mean) = summarize(&tokens);
                RecordScan { tokens, suspicion, flagged, mean, windows: starts.len() }
            })
            .collect())
    }
}

/// The window (index into `starts`) holding token position `p` farthest from either edge; ties
/// go to the earlier window. Windows hold `width` positions from their start.
pub fn choose_window(p: usize, starts: &[usize], width: usize) -> usize {
    let mut best = (0, None);
    for (k, &s) in starts.iter().enumerate() {
        if p < s || p >= s + width {
            continue;
        }
        let margin = (p - s).min(s + width - 1 - p);
        if best.1.is_none_or(|m| margin > m) {
            best = (k, Some(margin));
        }
    }
    best.0
}

/// The record's (suspicion, flagged words, mean) over its words (see [`words`]).
pub fn summarize(tokens: &[ScannedToken]) -> (f32, u32, f32) {
    let words = words(tokens);
    if words.is_empty() {
        return (0.0, 0, 0.0);
    }
    let suspicion = words.iter().map(|w| w.probability).fold(f32::MIN, f32::max);
    let flagged = words.iter().filter(|w| w.flagged).count() as u32;
    let mean = words.iter().map(|w| w.probability).sum::<f32>() / words.len() as f32;
    (suspicion, flagged, mean)
}

/// A word of a scanned record: its character span, its P(replaced) (its most suspicious
/// token's) and whether that reaches [`inspect::REPLACED_THRESHOLD`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScannedWord {
    pub start: usize,
    pub end: usize,
    pub probability: f32,
    pub flagged: bool,
}

impl ScannedWord {
    /// The word as `text` (the record's text) spells it.
    pub fn text(&self, text: &str) -> String {
        text.chars().skip(self.start).take(self.end.saturating_sub(self.start)).collect()
    }
}

/// The words of scanned tokens, subwords merged as the Inspector's word view merges them. Every
/// front end, export and statistic reads words from here.
pub fn words(tokens: &[ScannedToken]) -> Vec<ScannedWord> {
    let mut words: Vec<ScannedWord> = Vec::new();
    for t in tokens {
        match words.last_mut() {
            Some(word) if !t.word_start => {
                word.end = t.end;
                word.probability = word.probability.max(t.probability);
            }
            _ => words.push(ScannedWord { start: t.start, end: t.end, probability: t.probability, flagged: false }),
        }
    }
    for word in &mut words {
        word.flagged = inspect::looks_replaced(word.probability);
    }
    words
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_token_takes_the_window_where_it_is_farthest_from_an_edge() {
        // Windows of 8 ids starting every 4: [0, 8), [4, 12), [8, 16), [10, 18).
        let starts = [0, 4, 8, 10];
        for (p, k) in [(0, 0), (3, 0), (4, 0), (5, 0), (6, 1), (7, 1), (8, 1), (9, 1), (11, 2), (12, 2), (13, 3), (17, 3)] {
            assert_eq!(choose_window(p, &starts, 8), k, "position {p}");
        }
        assert_eq!(choose_window(2, &[0], 8), 0);
    }

    #[test]
    fn summaries_are_over_words() {
        let token =
            |start: usize, end: usize, p: f32, word_start: bool| ScannedToken { token: String::new(), start, end, probability: p, word_start };
        // "desayunando pan rosa": words [0.1, 0.7] -> 0.7, [0.2] -> 0.2, [0.5] -> 0.5.
        let tokens = [token(0, 7, 0.1, true), token(7, 11, 0.7, false), token(12, 15, 0.2, true), token(16, 20, 0.5, true)];
        let word = |start, end, probability, flagged| ScannedWord { start, end, probability, flagged };
        let found = words(&tokens);
        assert_eq!(found, [word(0, 11, 0.7, true), word(12, 15, 0.2, false), word(16, 20, 0.5, true)]);
        assert_eq!(found[0].text("desayunando pan rosa"), "desayunando");
        assert_eq!(found[2].text("desayunando pan rosa"), "rosa");
        let (suspicion, flagged, mean) = summarize(&tokens);
        assert_eq!((suspicion, flagged), (0.7, 2));
        assert!((mean - (0.7 + 0.2 + 0.5) / 3.0).abs() < 1e-7);
        assert_eq!(summarize(&[]), (0.0, 0, 0.0));
    }
}
