//! Token classification (named entities), with the semantics of transformers'
//! `token-classification` pipeline and every `aggregation_strategy`.
//!
//! The text is encoded as the pipeline encodes it (truncated to the model's length, as the
//! pipeline does by default), and each token's logits go through a softmax. `none` reports every
//! token whose top label is not "O": the label, its probability, the token's index among the
//! input ids, the token and its character span. `simple` groups adjacent tokens of the same type
//! (a `B-` starts a new entity; a label without a `B-`/`I-` prefix continues). `first`,
//! `average` and `max` first make words agree: the tokens of a word (WordPiece's `##` pieces; for
//! other tokenizers, tokens not after a space) take the first token's label, the average of the
//! tokens' probabilities, or the label of the most confident token; then words are grouped as
//! `simple` groups tokens. An entity's text is the tokens joined by the tokenizer's decoder, its
//! score the mean of its parts' scores, and its span runs from its first part's start to its
//! last part's end, in characters of the text.

use serde::Serialize;

use crate::engine::classify::softmax;
use crate::engine::model::workers::{map_by_length, PASS_ROWS};
use crate::engine::model::Model;
use crate::engine::tokenize::{Encoded, TokenizerKind};
use crate::error::{Error, Result};

pub use crate::domain::tagging::{Aggregation, TagOptions};

/// An entity (or, without aggregation, a token), with the pipeline's keys: `entity` and `index`
/// without aggregation, `entity_group` with it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Entity {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub entity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub entity_group: Option<String>,
    pub score: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub index: Option<usize>,
    /// The token, or the entity's tokens joined by the tokenizer's decoder.
    pub word: String,
    /// Character offsets into the text, end exclusive.
    pub start: usize,
    pub end: usize,
}

impl Entity {
    /// The entity's type: `entity_group`, or without aggregation the token's label.
    pub fn label(&self) -> &str {
        self.entity_group.as_deref().or(self.entity.as_deref()).unwrap_or_default()
    }
}

/// What `selectra tag --json` prints for one text.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Tagging {
    pub entities: Vec<Entity>,
    /// The text was longer than the model accepts: its end was not tagged (serialized only then).
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub truncated: bool,
}

/// The labels the pipeline leaves out (its `ignore_labels` default).
pub const IGNORED_LABELS: &[&str] = &["O"];

/// A token before aggregation: its vocabulary string (or its text, for the unknown token), its
/// probabilities, span, index among the input ids, and whether it continues the previous word.
struct PreEntity {
    word: String,
    scores: Vec<f32>,
    start: usize,
    end: usize,
    index: usize,
    is_subword: bool,
}

/// A labeled token or word, before grouping.
struct Labeled {
    entity: String,
    score: f32,
    index: Option<usize>,
    word: String,
    start: usize,
    end: usize,
}

/// The corpus defaults of tagging options, which depend on the model's length.
impl TagOptions {
    /// What a run over a corpus tags with unless told otherwise: entities grouped `simple`, and
    /// long records whole, in windows overlapping by a quarter of the model's length.
    pub fn for_corpus(model: &Model) -> Self {
        Self::for_corpus_with(model, None, None)
    }

    /// A corpus run's options: those given, the others the corpus default. A run of single
    /// tokens (aggregation none) gets no default stride, since the pipeline's stride needs an
    /// aggregation: its records are cut at the model's length, as the pipeline cuts them.
    pub fn for_corpus_with(model: &Model, aggregation: Option<Aggregation>, stride: Option<usize>) -> Self {
        let aggregation = aggregation.unwrap_or(Aggregation::Simple);
        Self { aggregation, stride: stride.or((aggregation != Aggregation::None).then(|| default_stride(model))) }
    }
}

/// The entity types of a tagger's labels: each label without its `B-`/`I-` prefix, in file
/// order, once, "O" left out.
pub fn entity_types(id2label: &[String]) -> Vec<String> {
    let mut types: Vec<String> = Vec::new();
    for label in id2label {
        let name = label.strip_prefix("B-").or_else(|| label.strip_prefix("I-")).unwrap_or(label);
        if !IGNORED_LABELS.contains(&label.as_str()) && !types.iter().any(|t| t == name) {
            types.push(name.to_string());
        }
    }
    types
}

/// A quarter of the model's length: enough context on both sides of a window's seam.
pub fn default_stride(model: &Model) -> usize {
    model.tokenizer.max_length() / 4
}

/// A loaded token classifier.
pub struct TokenTagger<'m> {
    model: &'m Model,
    /// How many windows go through the model at once, and how many tokens (padding included) a
    /// pass may hold (`None`: chosen per call, [`crate::engine::model::workers::plan_passes`]).
    pub max_batch_rows: usize,
    pub max_batch_tokens: Option<usize>,
}

impl<'m> TokenTagger<'m> {
    pub fn new(model: &'m Model) -> Result<Self> {
        if !model.architecture().is_token_classifier() {
            return Err(Error::Input(format!(
                "{} is a {} model; tagging entities needs a token classifier (an NER model, *ForTokenClassification)",
                model.name,
                model.architecture().name()
            )));
        }
        Ok(Self { model, max_batch_rows: PASS_ROWS, max_batch_tokens: None })
    }

    /// One text, as the pipeline tags it with `aggregation_strategy` (and no stride).
    pub fn tag(&self, text: &str, aggregation: Aggregation) -> Result<Tagging> {
        self.tag_with(text, TagOptions { aggregation, stride: None })
    }

    pub fn tag_with(&self, text: &str, options: TagOptions) -> Result<Tagging> {
        Ok(self.tag_batch(&[text], options)?.remove(0))
    }

    /// Several texts, their windows batched longest first; results in the texts' order. With a
    /// stride, each window is tagged on its own and the entities of all windows merged as the
    /// pipeline merges them: by start, and of overlapping entities the longest (then the most
    /// confident) kept.
    pub fn tag_batch(&self, texts: &[&str], options: TagOptions) -> Result<Vec<Tagging>> {
        self.check(options)?;
        let tokenizer = &self.model.tokenizer;
        let windows: Vec<Vec<Encoded>> = texts
            .iter()
            .map(|text| match options.stride {
                Some(stride) => tokenizer.encode_strided(text, stride),
                None => tokenizer.encode_single(text).map(|e| vec![e]),
            })
            .collect::<Result<_>>()?;
        let flat: Vec<&Encoded> = windows.iter().flatten().collect();
        let lengths: Vec<usize> = flat.iter().map(|e| e.ids.len()).collect();
        let logits = map_by_length(&lengths, self.max_batch_rows, self.max_batch_tokens, |items| {
            let input = self.model.batch(&items.iter().map(|&i| flat[i]).collect::<Vec<_>>())?;
            Ok(self.model.forward(&input)?.to_vec3::<f32>()?)
        })?;
        let mut logits = logits.into_iter();
        texts
            .iter()
            .zip(&windows)
            .map(|(text, windows)| {
                let chars: Vec<char> = text.chars().collect();
                let mut entities = Vec::new();
                for window in windows {
                    let rows = logits.next().expect("one logits matrix per window");
                    entities.extend(self.window_entities(&chars, window, &rows, options.aggregation)?);
                }
                if windows.len() > 1 {
                    entities = merge_overlapping(entities);
                }
                Ok(Tagging { entities, truncated: windows.len() == 1 && windows[0].truncated })
            })
            .collect()
    }

    /// Whether this model can tag with `options`: a stride needs an aggregation (as the
    /// pipeline requires) and must be shorter than the model's window.
    pub fn check(&self, options: TagOptions) -> Result<()> {
        let Some(stride) = options.stride else { return Ok(()) };
        if options.aggregation == Aggregation::None {
            return Err(Error::Input(
                "a stride tags the whole text in overlapping windows, whose tokens need grouping into entities: \
                 choose an aggregation other than none (as transformers' pipeline requires)"
                    .into(),
            ));
        }
        let width = self.model.tokenizer.window();
        if stride >= width {
            return Err(Error::Input(format!("the stride ({stride} tokens) must be shorter than the model's window ({width} tokens)")));
        }
        Ok(())
    }

    /// The entities of one window (one encoded input and its logits), ignored labels left out.
    fn window_entities(&self, chars: &[char], encoded: &Encoded, logits: &[Vec<f32>], aggregation: Aggregation) -> Result<Vec<Entity>> {
        let tokenizer = &self.model.tokenizer;
        let word_aware = tokenizer.kind() == TokenizerKind::WordPiece;
        let unk = tokenizer.unk_id();
        let pre: Vec<PreEntity> = encoded
            .tokens
            .iter()
            .zip(&encoded.positions)
            .map(|(token, &index)| {
                let word_ref: String = chars[token.start.min(chars.len())..token.end.min(chars.len())].iter().collect();
                let is_subword = if word_aware {
                    // A word-aware tokenizer (WordPiece's `##`): a token whose vocabulary string
                    // is not the text it covers continues a word.
                    token.text.chars().count() != word_ref.chars().count()
                } else {
                    // The pipeline's fallback: neither the character before nor the first
                    // character is a space.
                    token.start > 0 && !chars[token.start - 1..(token.start + 1).min(chars.len())].contains(&' ')
                };
                let unknown = Some(token.id) == unk;
                PreEntity {
                    word: if unknown { word_ref } else { token.text.clone() },
                    scores: softmax(&logits[index]),
                    start: token.start,
                    end: token.end,
                    index,
                    is_subword: is_subword && !unknown,
                }
            })
            .collect();
        let labeled = match aggregation {
            Aggregation::None | Aggregation::Simple => pre.iter().map(|p| self.label_token(p)).collect(),
            _ => self.aggregate_words(&pre, aggregation)?,
        };
        let entities = match aggregation {
            Aggregation::None => labeled
                .into_iter()
                .map(|l| Entity {
                    entity: Some(l.entity),
                    entity_group: None,
                    score: l.score,
                    index: l.index,
                    word: l.word,
                    start: l.start,
                    end: l.end,
                })
                .collect(),
            _ => self.group(labeled)?,
        };
        Ok(entities.into_iter().filter(|e| !IGNORED_LABELS.contains(&e.label())).collect())
    }

    fn name(&self, id: usize) -> String {
        self.model.config.id2label[id].clone()
    }

    fn label_token(&self, p: &PreEntity) -> Labeled {
        let id = argmax(&p.scores);
        Labeled { entity: self.name(id), score: p.scores[id], index: Some(p.index), word: p.word.clone(), start: p.start, end: p.end }
    }

    /// Tokens of one word (a token and the subword tokens after it) made one labeled word.
    fn aggregate_words(&self, pre: &[PreEntity], aggregation: Aggregation) -> Result<Vec<Labeled>> {
        let mut words: Vec<&[PreEntity]> = Vec::new();
        let mut start = 0;
        for i in 1..=pre.len() {
            if i == pre.len() || !pre[i].is_subword {
                if i > start {
                    words.push(&pre[start..i]);
                }
                start = i;
            }
        }
        words
            .into_iter()
            .map(|tokens| {
                let text = self.model.tokenizer.tokens_to_string(&tokens.iter().map(|t| t.word.clone()).collect::<Vec<_>>())?;
                let (id, score) = match aggregation {
                    Aggregation::First => {
                        let id = argmax(&tokens[0].scores);
                        (id, tokens[0].scores[id])
                    }
                    Aggregation::Max => {
                        // The first token whose top probability is the highest (Python's `max`).
                        let best = tokens.iter().fold(&tokens[0], |best, t| if max(&t.scores) > max(&best.scores) { t } else { best });
                        let id = argmax(&best.scores);
                        (id, best.scores[id])
                    }
                    _ => {
                        let labels = tokens[0].scores.len();
                        let average: Vec<f32> = (0..labels).map(|j| mean(&tokens.iter().map(|t| t.scores[j]).collect::<Vec<_>>())).collect();
                        let id = argmax(&average);
                        (id, average[id])
                    }
                };
                Ok(Labeled { entity: self.name(id), score, index: None, word: text, start: tokens[0].start, end: tokens[tokens.len() - 1].end })
            })
            .collect()
    }

    /// Adjacent parts of one type become one entity: a `B-` part starts a new one.
    fn group(&self, parts: Vec<Labeled>) -> Result<Vec<Entity>> {
        let mut groups: Vec<Vec<Labeled>> = Vec::new();
        for part in parts {
            let joins = groups.last().and_then(|g| g.last()).is_some_and(|last| {
                let (bi, tag) = bio(&part.entity);
                let (_, last_tag) = bio(&last.entity);
                tag == last_tag && bi != "B"
            });
            match groups.last_mut() {
                Some(group) if joins => group.push(part),
                _ => groups.push(vec![part]),
            }
        }
        groups
            .into_iter()
            .map(|group| {
                let first = &group[0];
                let label = first.entity.split_once('-').map_or(first.entity.as_str(), |(_, rest)| rest).to_string();
                let word = self.model.tokenizer.tokens_to_string(&group.iter().map(|p| p.word.clone()).collect::<Vec<_>>())?;
                Ok(Entity {
                    entity: None,
                    entity_group: Some(label),
                    score: mean(&group.iter().map(|p| p.score).collect::<Vec<_>>()),
                    index: None,
                    word,
                    start: first.start,
                    end: group[group.len() - 1].end,
                })
            })
            .collect()
    }
}

/// The pipeline's `get_tag`: ("B" or "I", the type); a label without a prefix continues ("I").
fn bio(label: &str) -> (&str, &str) {
    match label.strip_prefix("B-") {
        Some(tag) => ("B", tag),
        None => ("I", label.strip_prefix("I-").unwrap_or(label)),
    }
}

/// The pipeline's `aggregate_overlapping_entities`: entities by start (a stable sort); of an
/// entity and the next ones starting inside it, the longest is kept, and of equally long ones the
/// first with the highest score.
pub(crate) fn merge_overlapping(mut entities: Vec<Entity>) -> Vec<Entity> {
    entities.sort_by_key(|e| e.start);
    let mut merged = Vec::with_capacity(entities.len());
    let Some(mut previous) = entities.first().cloned() else { return merged };
    // As the pipeline's loop, from the first entity itself (an empty first entity is kept twice).
    for entity in entities {
        if previous.start <= entity.start && entity.start < previous.end {
            let (length, previous_length) = (entity.end - entity.start, previous.end - previous.start);
            if length > previous_length || length == previous_length && entity.score > previous.score {
                previous = entity;
            }
        } else {
            merged.push(std::mem::replace(&mut previous, entity));
        }
    }
    merged.push(previous);
    merged
}

/// numpy's `argmax`: the first of the largest.
fn argmax(xs: &[f32]) -> usize {
    xs.iter().enumerate().fold(0, |best, (i, &x)| if x > xs[best] { i } else { best })
}

fn max(xs: &[f32]) -> f32 {
    xs.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}

/// `np.nanmean`: the mean of the values that are not NaN.
fn mean(xs: &[f32]) -> f32 {
    let kept: Vec<f64> = xs.iter().filter(|x| !x.is_nan()).map(|&x| f64::from(x)).collect();
    (kept.iter().sum::<f64>() / kept.len().max(1) as f64) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bio_tags_follow_the_pipeline() {
        assert_eq!(bio("B-PER"), ("B", "PER"));
        assert_eq!(bio("I-PER"), ("I", "PER"));
        assert_eq!(bio("PER"), ("I", "PER"));
        assert_eq!(bio("O"), ("I", "O"));
    }

    #[test]
    fn aggregations_parse_by_their_pipeline_names() {
        for a in Aggregation::ALL {
            assert_eq!(Aggregation::parse(a.name()).unwrap(), a);
        }
        assert!(Aggregation::parse("longest").unwrap_err().to_string().contains("none, simple, first, average or max"));
    }

    #[test]
    fn argmax_takes_the_first_of_ties() {
        assert_eq!(argmax(&[0.2, 0.4, 0.4]), 1);
        assert_eq!(mean(&[1.0, f32::NAN, 3.0]), 2.0);
    }
}
