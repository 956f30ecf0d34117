//! The discriminator's word rules (replaced-token detection): when a token or word "looks
//! replaced", how a scanned record's subwords merge into words, and the summaries a corpus scan
//! is sorted and filtered on. Pure: the scanner that produces tokens is `engine::scan`, the
//! store keeps them, reports and front ends read words from here.

use serde::Serialize;

/// P(replaced) from which a token or word counts as flagged ("looks replaced").
pub const REPLACED_THRESHOLD: f32 = 0.5;

/// Whether a P(replaced) counts as flagged.
pub fn looks_replaced(probability: f32) -> bool {
    probability >= REPLACED_THRESHOLD
}

/// What a token marked `untrained_embedding` means, for front ends to show beside the mark.
pub const UNTRAINED_NOTE: &str = "embedding not trained: this model was pre-trained with accents stripped, so pieces with \
     accents never got a trained embedding (see the SELECTRA card's note); its files strip accents, \
     which is the faithful setting for inspecting it";

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
/// token's) and whether that reaches [`REPLACED_THRESHOLD`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
        word.flagged = looks_replaced(word.probability);
    }
    words
}

/// The logistic function: a discriminator logit as P(replaced).
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

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
