//! The discriminator over whole records (the corpus scan's computation): every token's
//! P(replaced), with records longer than the model scored in overlapping windows, and the
//! per-record summaries a corpus is sorted and filtered on.
//!
//! A record that fits in one window is scored exactly as [`crate::engine::inspect`] scores it. A longer
//! one is cut into windows of the model's length that overlap by half; each token takes its score
//! from the window where it is farthest from an edge (ties: the earlier window), so every
//! character is scored with as much context on both sides as the model allows.
//!
//! Summaries are over words (subwords merged as the Inspector's word view merges them, a word
//! scoring as its most suspicious token): the record's suspicion is its highest word score, the
//! flagged count is how many words reach [`crate::domain::rtd::REPLACED_THRESHOLD`], and the mean is the
//! words' mean score.

use crate::domain::rtd::{sigmoid, summarize, RecordScan, ScannedToken};
use crate::engine::model::config::Architecture;
use crate::engine::model::workers::{map_by_length, PASS_ROWS};
use crate::engine::model::Model;
use crate::engine::tokenize::Encoded;
use crate::error::{Error, Result};

/// Scores records with a discriminator, batching windows under a row and a padded-token budget.
pub struct Scanner<'m> {
    model: &'m Model,
    /// How many windows go through the model at once.
    pub max_batch_rows: usize,
    /// How many tokens, padding included, a forward pass may hold; `None` (the default) lets each
    /// call choose ([`crate::engine::model::workers::plan_passes`]).
    pub max_batch_tokens: Option<usize>,
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
        Ok(Self { model, max_batch_rows: PASS_ROWS, max_batch_tokens: None })
    }

    /// Scans `texts`, returning one [`RecordScan`] per text in the caller's order. Windows from all
    /// the texts are batched longest first; padding does not change a window's scores.
    pub fn scan(&self, texts: &[&str]) -> Result<Vec<RecordScan>> {
        let windows = texts.iter().map(|t| self.model.tokenizer.windows(t)).collect::<Result<Vec<_>>>()?;
        // Every window of every text, batched together.
        let all: Vec<(usize, usize, &Encoded)> =
            windows.iter().enumerate().flat_map(|(t, w)| w.windows.iter().enumerate().map(move |(k, (_, e))| (t, k, e))).collect();
        let lengths: Vec<usize> = all.iter().map(|(_, _, e)| e.ids.len()).collect();
        let rows = map_by_length(&lengths, self.max_batch_rows, self.max_batch_tokens, |items| {
            let refs: Vec<&Encoded> = items.iter().map(|&i| all[i].2).collect();
            Ok(self.model.forward(&self.model.batch(&refs)?)?.to_vec2::<f32>()?)
        })?;
        let mut logits: Vec<Vec<Vec<f32>>> = windows.iter().map(|w| vec![Vec::new(); w.windows.len()]).collect();
        for ((t, k, _), row) in all.iter().zip(rows) {
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
}
