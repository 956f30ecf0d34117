//! Word attributions: which words of a text made a model give it a label ("why this label?").
//!
//! Both methods treat the model as a black box that scores texts, so they explain every kind of
//! run alike (zero-shot, a classifier with its own labels, a sentence pair, a trained head):
//!
//! - **Leave-one-out** (deterministic): a word's weight is the label's score on the whole text
//!   minus its score with that word removed. A text of n words costs n + 1 scored inputs.
//! - **LIME** with LIT's defaults (`lit_nlp.components.lime_explainer.LIME`): 256 samples, each
//!   masking a uniformly drawn number (at least one) of randomly chosen words with `[MASK]`;
//!   samples weighted by the exponential kernel (width 256) of 100 × the cosine distance between
//!   the sample's mask and the unmasked one; a ridge regression (α = 1, with intercept) of the
//!   label's score on the masks; the coefficients scaled as LIT scales them (absolute values
//!   summing to 1). The masks come from a seeded generator, so the same seed gives the same
//!   explanation. 257 scored inputs per text, whatever its length.
//!
//! Words are what Python's `str.split()` splits (LIT's tokenizer), with their character offsets in
//! the original text; every variant, the whole text included, is its words joined by single
//! spaces, as LIT joins them. A sentence pair explains each of its two texts with the other held
//! as it is, as LIT explains each text field.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// LIT's LIME defaults (the `LIME` component's constructor).
pub const LIME_SAMPLES: usize = 256;
pub const LIME_KERNEL_WIDTH: f64 = 256.0;
pub const LIME_MASK: &str = "[MASK]";
pub const LIME_ALPHA: f64 = 1.0;
/// LIME's distances are cosine distances in [0, 1] scaled by this before the kernel (citrus).
pub const LIME_DISTANCE_SCALE: f64 = 100.0;
/// The seed LIME draws its masks with when none is given (LIT's default draws a fresh one each
/// time; a fixed seed makes an explanation reproducible).
pub const DEFAULT_SEED: u64 = 0;
/// The longest text explained, in words: leave-one-out scores one input per word, and the words
/// past a model's length change nothing.
pub const MAX_WORDS: usize = 1000;

/// How a word's weight is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Leave-one-out: the change in the label's score when the word is removed.
    #[default]
    Loo,
    /// LIME with LIT's defaults.
    Lime,
}

impl Method {
    pub fn parse(text: &str) -> Result<Self> {
        match text.trim().to_lowercase().as_str() {
            "loo" | "leave-one-out" => Ok(Self::Loo),
            "lime" => Ok(Self::Lime),
            other => Err(Error::Input(format!("an attribution method is loo (leave-one-out) or lime, not {other:?}"))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Loo => "leave-one-out",
            Self::Lime => "LIME",
        }
    }

    /// What a weight means, in one sentence (the CLI's table and the app's legend).
    pub fn meaning(self) -> &'static str {
        match self {
            Self::Loo => "the drop in the label's score when the word is removed (negative: the label gains without it)",
            Self::Lime => {
                "LIME's coefficient for the word, scaled so that the absolute values sum to 1 (negative: the word speaks against the label)"
            }
        }
    }
}

/// LIME's settings; the defaults are LIT's.
#[derive(Debug, Clone, PartialEq)]
pub struct LimeOptions {
    pub samples: usize,
    pub kernel_width: f64,
    pub mask: String,
    pub alpha: f64,
    /// Where the masks come from.
    pub masks: MaskSource,
}

impl Default for LimeOptions {
    fn default() -> Self {
        Self {
            samples: LIME_SAMPLES,
            kernel_width: LIME_KERNEL_WIDTH,
            mask: LIME_MASK.into(),
            alpha: LIME_ALPHA,
            masks: MaskSource::Seed(DEFAULT_SEED),
        }
    }
}

/// LIME's masks: drawn from a seed, or given (replaying a computation made elsewhere with its own
/// draws, e.g. LIT's numpy sampler: how the tests compare with it). Given masks hold one row per
/// sample after the first, unmasked one, each with one flag per word (true: kept).
#[derive(Debug, Clone, PartialEq)]
pub enum MaskSource {
    Seed(u64),
    Given { text: Vec<Vec<bool>>, pair: Option<Vec<Vec<bool>>> },
}

/// A word of the text and its weight. Offsets are in characters of the text as given.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WordWeight {
    pub word: String,
    pub start: usize,
    pub end: usize,
    pub weight: f64,
}

/// Why a model gave a text a label.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Explanation {
    pub label: String,
    /// The label's score on the whole text (its words joined by single spaces).
    pub score: f64,
    pub method: Method,
    pub words: Vec<WordWeight>,
    /// The second text's words, for a sentence pair.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pair_words: Option<Vec<WordWeight>>,
    /// How many inputs were scored (each one forward pass per input for a classifier, one per
    /// label for zero-shot).
    pub inputs_scored: usize,
}

/// One input a model scores: a text, or a text pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub text: String,
    pub pair: Option<String>,
}

/// A model seen as a black box: its labels, and every label's score for each input (in the
/// labels' order).
pub struct Scorer<'a> {
    pub labels: Vec<String>,
    #[allow(clippy::type_complexity)]
    pub score: Box<dyn Fn(&[Variant]) -> Result<Vec<Vec<f32>>> + 'a>,
}

/// A word as Python's `str.split()` finds it: `(start, end)` in characters.
pub fn split_words(text: &str) -> Vec<(usize, usize)> {
    // Python's whitespace: Unicode White_Space plus the four information separators.
    let space = |c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c);
    let mut words = Vec::new();
    let mut start = None;
    let mut n = 0;
    for (i, c) in text.chars().enumerate() {
        n = i + 1;
        match (space(c), start) {
            (true, Some(s)) => {
                words.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s, n));
    }
    words
}

/// LIME's masks for `n` words: `samples + 1` rows, the first all kept; each other row masks a
/// uniformly drawn number of words (1..=n) chosen by a random permutation, as citrus's
/// `sample_masks` draws them (with ChaCha8 instead of numpy's Mersenne Twister).
pub fn sample_masks(samples: usize, n: usize, seed: u64) -> Vec<Vec<bool>> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut masks = vec![vec![true; n]];
    for _ in 0..samples {
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rng);
        let disabled = rng.random_range(1..=n);
        masks.push(order.iter().map(|&p| p >= disabled).collect());
    }
    masks
}

/// LIME's coefficients for one label: the weighted ridge regression of `outputs` on `masks`
/// (scikit-learn's `Ridge(alpha)` with `sample_weight`: weighted centring for the intercept, then
/// `(XᵀWX + αI) β = XᵀW y`), with the exponential-kernel weights of the scaled cosine distances.
pub fn lime_coefficients(masks: &[Vec<bool>], outputs: &[f64], kernel_width: f64, alpha: f64) -> Vec<f64> {
    let n = masks.first().map_or(0, Vec::len);
    let weights: Vec<f64> = masks
        .iter()
        .map(|m| {
            // Cosine distance to the all-kept mask: 1 − k/√(k·n) = 1 − √(k/n); an all-masked row
            // has no direction and is at distance 1 (scikit-learn's convention).
            let kept = m.iter().filter(|&&b| b).count() as f64;
            let distance = LIME_DISTANCE_SCALE * (1.0 - (kept / n as f64).sqrt());
            (-(distance * distance) / (kernel_width * kernel_width)).exp().sqrt()
        })
        .collect();
    let total: f64 = weights.iter().sum();
    let x_mean: Vec<f64> = (0..n).map(|j| masks.iter().zip(&weights).map(|(m, w)| if m[j] { *w } else { 0.0 }).sum::<f64>() / total).collect();
    let y_mean: f64 = outputs.iter().zip(&weights).map(|(y, w)| y * w).sum::<f64>() / total;
    let mut a = nalgebra::DMatrix::<f64>::zeros(n, n);
    let mut b = nalgebra::DVector::<f64>::zeros(n);
    for ((m, &w), &y) in masks.iter().zip(&weights).zip(outputs) {
        let x = nalgebra::DVector::from_iterator(n, m.iter().zip(&x_mean).map(|(&on, mean)| f64::from(u8::from(on)) - mean));
        a.ger(w, &x, &x, 1.0);
        b.axpy(w * (y - y_mean), &x, 1.0);
    }
    for j in 0..n {
        a[(j, j)] += alpha;
    }
    // α > 0 makes the matrix positive definite, so the factorization exists.
    match nalgebra::Cholesky::new(a) {
        Some(c) => c.solve(&b).iter().copied().collect(),
        None => vec![0.0; n],
    }
}

/// LIT's display scaling of LIME's coefficients (citrus `normalize_scores`): float32's epsilon
/// added, then divided by the sum of absolute values.
pub fn normalize_scores(scores: &[f64]) -> Vec<f64> {
    let shifted: Vec<f64> = scores.iter().map(|s| s + f64::from(f32::EPSILON)).collect();
    let sum: f64 = shifted.iter().map(|s| s.abs()).sum();
    shifted.iter().map(|s| s / sum).collect()
}

/// Explains `label` (by default the label the model scores highest on the whole text) for a text,
/// or a text pair, with `method`: every variant is scored in one call of `scorer`, so the model
/// batches them as it batches a corpus.
pub fn explain(text: &str, pair: Option<&str>, label: Option<&str>, method: Method, lime: &LimeOptions, scorer: &Scorer) -> Result<Explanation> {
    let segment = |t: &str| -> Result<Vec<(usize, usize)>> {
        let words = split_words(t);
        if words.is_empty() {
            return Err(Error::Input("the text has no words; there is nothing to explain".into()));
        }
        if words.len() > MAX_WORDS {
            return Err(Error::Input(format!(
                "the text has {} words; explanations take texts of up to {MAX_WORDS} words (each word costs a pass of the model)",
                words.len()
            )));
        }
        if method == Method::Loo && words.len() < 2 {
            return Err(Error::Input(
                "the text is one word; leave-one-out compares the text without each word, so it needs two or more (LIME explains one word)".into(),
            ));
        }
        Ok(words)
    };
    let text_spans = segment(text)?;
    let pair_spans = pair.map(segment).transpose()?;
    let chars_of = |t: &str| t.chars().collect::<Vec<char>>();
    let (text_chars, pair_chars) = (chars_of(text), pair.map(chars_of));
    let words_of = |chars: &[char], spans: &[(usize, usize)]| -> Vec<String> { spans.iter().map(|&(s, e)| chars[s..e].iter().collect()).collect() };
    let text_words = words_of(&text_chars, &text_spans);
    let pair_words = pair_chars.as_deref().zip(pair_spans.as_deref()).map(|(c, s)| words_of(c, s));
    let whole = |words: &[String]| words.join(" ");
    let base = Variant { text: whole(&text_words), pair: pair_words.as_deref().map(whole) };

    // Each segment's variants: leave-one-out drops a word; LIME masks words.
    let masks_for = |words: &[String], given: Option<&Vec<Vec<bool>>>| -> Result<Vec<Vec<bool>>> {
        match method {
            Method::Loo => Ok((0..words.len()).map(|i| (0..words.len()).map(|j| j != i).collect()).collect()),
            Method::Lime => match (&lime.masks, given) {
                (MaskSource::Seed(seed), _) => Ok(sample_masks(lime.samples, words.len(), *seed).split_off(1)),
                (MaskSource::Given { .. }, Some(rows)) => {
                    if rows.iter().any(|r| r.len() != words.len()) {
                        return Err(Error::Input(format!("the given LIME masks do not have one flag per word ({} words)", words.len())));
                    }
                    Ok(rows.clone())
                }
                (MaskSource::Given { .. }, None) => Err(Error::Input("the given LIME masks hold none for the second text".into())),
            },
        }
    };
    let (given_text, given_pair) = match &lime.masks {
        MaskSource::Given { text, pair } => (Some(text), pair.as_ref()),
        MaskSource::Seed(_) => (None, None),
    };
    let render = |words: &[String], mask: &[bool]| -> String {
        match method {
            Method::Loo => words.iter().zip(mask).filter(|(_, &keep)| keep).map(|(w, _)| w.as_str()).collect::<Vec<_>>().join(" "),
            Method::Lime => words.iter().zip(mask).map(|(w, &keep)| if keep { w.as_str() } else { lime.mask.as_str() }).collect::<Vec<_>>().join(" "),
        }
    };
    let text_masks = masks_for(&text_words, given_text)?;
    let pair_masks = pair_words.as_deref().map(|w| masks_for(w, given_pair)).transpose()?;
    let mut variants = vec![base.clone()];
    variants.extend(text_masks.iter().map(|m| Variant { text: render(&text_words, m), pair: base.pair.clone() }));
    if let (Some(words), Some(masks)) = (&pair_words, &pair_masks) {
        variants.extend(masks.iter().map(|m| Variant { text: base.text.clone(), pair: Some(render(words, m)) }));
    }
    let scores = (scorer.score)(&variants)?;
    if scores.len() != variants.len() || scores.iter().any(|s| s.len() != scorer.labels.len()) {
        return Err(Error::Inference(format!("the model scored {} of {} inputs, or not every label", scores.len(), variants.len())));
    }
    let index = match label {
        Some(name) => scorer
            .labels
            .iter()
            .position(|l| l == name)
            .ok_or_else(|| Error::Input(format!("{name:?} is not one of the model's labels ({})", scorer.labels.join(", "))))?,
        // numpy's argmax: the first of equal maxima.
        None => (0..scorer.labels.len()).fold(0, |best, i| if scores[0][i] > scores[0][best] { i } else { best }),
    };
    let of = |row: &[f32]| f64::from(row[index]);
    let base_score = of(&scores[0]);
    let weigh = |masks: &[Vec<bool>], rows: &[Vec<f32>]| -> Vec<f64> {
        match method {
            Method::Loo => rows.iter().map(|r| base_score - of(r)).collect(),
            Method::Lime => {
                let mut all = vec![vec![true; masks[0].len()]];
                all.extend(masks.iter().cloned());
                let outputs: Vec<f64> = std::iter::once(base_score).chain(rows.iter().map(|r| of(r))).collect();
                normalize_scores(&lime_coefficients(&all, &outputs, lime.kernel_width, lime.alpha))
            }
        }
    };
    let attach = |spans: &[(usize, usize)], words: &[String], weights: Vec<f64>| -> Vec<WordWeight> {
        spans.iter().zip(words).zip(weights).map(|((&(start, end), word), weight)| WordWeight { word: word.clone(), start, end, weight }).collect()
    };
    let text_rows = &scores[1..1 + text_masks.len()];
    let words = attach(&text_spans, &text_words, weigh(&text_masks, text_rows));
    let pair_result = match (&pair_spans, &pair_words, &pair_masks) {
        (Some(spans), Some(w), Some(masks)) => Some(attach(spans, w, weigh(masks, &scores[1 + text_masks.len()..]))),
        _ => None,
    };
    Ok(Explanation { label: scorer.labels[index].clone(), score: base_score, method, words, pair_words: pair_result, inputs_scored: variants.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_what_python_splits() {
        let text = "  Hola,\tmundo\u{1f}de  dios\n";
        let words: Vec<String> = split_words(text).iter().map(|&(s, e)| text.chars().skip(s).take(e - s).collect()).collect();
        assert_eq!(words, ["Hola,", "mundo", "de", "dios"]);
        assert_eq!(split_words("ñandú y pingüino"), vec![(0, 5), (6, 7), (8, 16)]);
        assert!(split_words(" \u{a0}\u{3000}").is_empty());
    }

    #[test]
    fn masks_are_seeded_and_keep_at_least_one_word_out() {
        let a = sample_masks(50, 7, 3);
        assert_eq!(a, sample_masks(50, 7, 3));
        assert_ne!(a, sample_masks(50, 7, 4));
        assert_eq!(a.len(), 51);
        assert!(a[0].iter().all(|&b| b));
        assert!(a[1..].iter().all(|m| m.iter().any(|&b| !b)));
        // Every count of masked words from 1 to n is drawn.
        let counts: std::collections::BTreeSet<usize> = sample_masks(500, 4, 0)[1..].iter().map(|m| m.iter().filter(|&&b| !b).count()).collect();
        assert_eq!(counts.into_iter().collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    }

    #[test]
    fn lime_recovers_an_additive_model() {
        // A score that is exactly additive in the kept words: the ridge finds the word effects,
        // shrunk towards zero by α.
        let effects = [0.5, -0.25, 0.0, 1.0];
        let masks = sample_masks(300, 4, 1);
        let outputs: Vec<f64> = masks.iter().map(|m| 0.1 + m.iter().zip(&effects).map(|(&on, e)| if on { *e } else { 0.0 }).sum::<f64>()).collect();
        let coefs = lime_coefficients(&masks, &outputs, 1e9, 1e-9);
        for (c, e) in coefs.iter().zip(effects) {
            assert!((c - e).abs() < 1e-6, "{coefs:?}");
        }
        let shrunk = lime_coefficients(&masks, &outputs, 1e9, 10.0);
        assert!(shrunk[3] < 1.0 && shrunk[3] > 0.5);
        let normalized = normalize_scores(&coefs);
        assert!((normalized.iter().map(|s| s.abs()).sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn leave_one_out_weighs_each_word_by_the_drop() {
        // A "model" whose label-a score is the share of words that are "sí".
        let scorer = Scorer {
            labels: vec!["a".into(), "b".into()],
            score: Box::new(|variants: &[Variant]| {
                Ok(variants
                    .iter()
                    .map(|v| {
                        let words: Vec<&str> = v.text.split(' ').filter(|w| !w.is_empty()).collect();
                        let share = words.iter().filter(|w| **w == "sí").count() as f32 / words.len().max(1) as f32;
                        vec![share, 1.0 - share]
                    })
                    .collect())
            }),
        };
        let e = explain("sí  no sí", None, None, Method::Loo, &LimeOptions::default(), &scorer).unwrap();
        assert_eq!(e.label, "a");
        assert!((e.score - 2.0 / 3.0).abs() < 1e-6);
        assert_eq!(e.inputs_scored, 4);
        let got: Vec<(&str, usize, usize)> = e.words.iter().map(|w| (w.word.as_str(), w.start, w.end)).collect();
        assert_eq!(got, [("sí", 0, 2), ("no", 4, 6), ("sí", 7, 9)]);
        assert!((e.words[0].weight - (2.0 / 3.0 - 0.5)).abs() < 1e-6);
        assert!((e.words[1].weight - (2.0 / 3.0 - 1.0)).abs() < 1e-6);
        let b = explain("sí no", None, Some("b"), Method::Lime, &LimeOptions::default(), &scorer).unwrap();
        assert_eq!((b.label.as_str(), b.inputs_scored), ("b", 257));
        // Masking "sí" raises b's score; masking "no" changes nothing.
        assert!(b.words[0].weight < -0.9 && b.words[1].weight.abs() < 0.1, "{b:?}");
        assert!(explain("sí", None, None, Method::Loo, &LimeOptions::default(), &scorer).is_err());
        assert!(explain("sí no", None, Some("c"), Method::Loo, &LimeOptions::default(), &scorer).unwrap_err().to_string().contains("a, b"));
    }
}
