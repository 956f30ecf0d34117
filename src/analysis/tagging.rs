//! Tagging runs measured against a corpus's reference entity spans (a CoNLL import, a spans
//! field): entity-level precision, recall and F1 per type with micro, macro and weighted
//! averages as seqeval computes them, and percentile-bootstrap intervals of micro and macro F1
//! over records.
//!
//! A run with grouped entities (aggregation simple, first, average or max) is scored on its
//! spans as they are. A run of single tokens (aggregation none) is read as seqeval reads tag
//! sequences, in both of its modes: its tokens' B-/I- labels, in text order, where two tokens
//! are adjacent when only white space lies between them (a token the tagger labeled O is text
//! between them), become entities by conlleval's chunking (default) or strict IOB2.
//!
//! A record's reference is its accepted annotation's spans, else its imported spans; records are
//! those with a reference that every compared run has tagged.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use super::metrics::{bootstrap, Estimate, EvalOptions};
use super::seqeval::{entities, Counts, EntityReport, Mode, Span};
use crate::domain::tagging::{Aggregation, TagOptions};
use crate::error::{Error, Result};
use crate::store::{RunInfo, RunKind, Store};

/// One reading of a run: its report, and the intervals of its F1 averages.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EntityScores {
    /// How its tokens were read into entities: a mode for a run of single tokens, none for a
    /// run of grouped entities.
    pub mode: Option<Mode>,
    pub report: EntityReport,
    pub micro_f1: Estimate,
    pub macro_f1: Estimate,
    /// What went wrong where an entity did not match exactly.
    pub errors: EntityErrors,
}

/// The kinds of mistakes behind the F1 (the usual NER error analysis), each predicted entity
/// counted once: exact (type and boundaries), type only wrong (same boundaries), boundaries only
/// wrong (same type, overlapping), both wrong (overlapping, another type), spurious (overlapping
/// no reference entity); and reference entities no prediction overlaps (missed).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EntityErrors {
    pub exact: u64,
    pub wrong_type: u64,
    pub wrong_boundaries: u64,
    pub wrong_both: u64,
    pub spurious: u64,
    pub missed: u64,
    /// Types over the same boundaries: `confusion[i][j]` reference entities of `types[i]`
    /// predicted as `types[j]` with both boundaries right (the diagonal: exact matches).
    pub types: Vec<String>,
    pub confusion: Vec<Vec<u64>>,
}

impl EntityErrors {
    /// The errors of one text's predicted entities against its reference.
    fn add(&mut self, reference: &[Span], predicted: &[Span], types: &BTreeMap<String, usize>) {
        let overlaps = |a: &Span, b: &Span| a.start < b.end && b.start < a.end;
        for p in predicted {
            if let Some(r) = reference.iter().find(|r| r.start == p.start && r.end == p.end) {
                if r.label == p.label {
                    self.exact += 1;
                } else {
                    self.wrong_type += 1;
                }
                self.confusion[types[&r.label]][types[&p.label]] += 1;
            } else if reference.iter().any(|r| overlaps(r, p) && r.label == p.label) {
                self.wrong_boundaries += 1;
            } else if reference.iter().any(|r| overlaps(r, p)) {
                self.wrong_both += 1;
            } else {
                self.spurious += 1;
            }
        }
        self.missed += reference.iter().filter(|r| !predicted.iter().any(|p| overlaps(r, p))).count() as u64;
    }
}

/// A tagging run's scores on the corpus's reference spans.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TaggerEvaluation {
    pub run: i64,
    pub model: String,
    /// The run's tagging options ("aggregation=simple stride=128").
    pub options: String,
    pub scores: Vec<EntityScores>,
}

/// Every compared tagging run, on the same records.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EntityEvaluation {
    pub corpus: String,
    /// Records scored: with a reference, tagged by every compared run.
    pub n: u64,
    /// Reference entities in those records.
    pub reference_entities: u64,
    pub runs: Vec<TaggerEvaluation>,
}

/// Whether the corpus has tagging runs and reference spans to score them against.
pub fn can_evaluate(store: &Store, corpus: &str) -> Result<bool> {
    Ok(store.runs(corpus)?.iter().any(|r| r.kind == RunKind::Tagger) && has_references(store, corpus)?)
}

/// Whether any record has reference spans: imported ones, or an annotation's.
fn has_references(store: &Store, corpus: &str) -> Result<bool> {
    Ok(store.corpus_has_gold_spans(corpus)? || store.corpus_has_span_annotations(corpus)?)
}

/// A record's reference spans, by `domain::spans::reference_spans`.
fn reference(row: &crate::store::ExportRow) -> Option<Vec<Span>> {
    let annotation = row.annotation.as_ref().map(|(_, status)| (row.annotation_spans.as_deref(), *status));
    crate::domain::spans::reference_spans(annotation, row.gold_spans.as_deref())
}

/// Scores the tagging runs `run_ids` of `corpus` (all of them when empty) against its reference
/// spans.
pub fn evaluate_taggers(store: &Store, corpus: &str, run_ids: &[i64], options: &EvalOptions) -> Result<EntityEvaluation> {
    let taggers: Vec<RunInfo> = store.runs(corpus)?.into_iter().filter(|r| r.kind == RunKind::Tagger).collect();
    let runs: Vec<RunInfo> = if run_ids.is_empty() {
        taggers
    } else {
        run_ids
            .iter()
            .map(|id| {
                taggers.iter().find(|r| r.id == *id).cloned().ok_or_else(|| {
                    Error::Input(format!(
                        "run {id} is not a tagging run of corpus {}; entities are scored for taggers' runs",
                        crate::error::quoted(corpus)
                    ))
                })
            })
            .collect::<Result<_>>()?
    };
    if runs.is_empty() {
        return Err(Error::Input(format!(
            "corpus {} has no tagging runs to score; tag it with a token classifier first",
            crate::error::quoted(corpus)
        )));
    }
    if !has_references(store, corpus)? {
        return Err(Error::Input(format!(
            "corpus {} has no reference entity spans to score taggers against; import them (a CoNLL file, or a spans field)",
            crate::error::quoted(corpus)
        )));
    }
    // A run of single tokens (aggregation none) is read into entities as seqeval reads tags.
    let token_runs: Vec<bool> =
        runs.iter().map(|r| Ok(TagOptions::from_description(&r.key.template)?.aggregation == Aggregation::None)).collect::<Result<_>>()?;
    let tagged: Vec<HashSet<i64>> = runs.iter().map(|r| Ok(store.tagged_record_ids(r.id)?.into_iter().collect())).collect::<Result<_>>()?;
    // Per record: the reference, and each run's entities (spans, or tokens with their labels).
    let mut references: Vec<Vec<Span>> = Vec::new();
    let mut predicted: Vec<Vec<Vec<Span>>> = vec![Vec::new(); runs.len()];
    let mut texts: Vec<String> = Vec::new();
    let index: HashMap<i64, usize> = runs.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    store.for_each_export_row(corpus, &mut |row| {
        let Some(reference) = reference(&row) else { return Ok(()) };
        if !tagged.iter().all(|t| t.contains(&row.record_id)) {
            return Ok(());
        }
        let mut mine = vec![Vec::new(); runs.len()];
        for e in row.entities {
            if let Some(&i) = index.get(&e.run) {
                mine[i].push(Span { start: e.start, end: e.end, label: e.label });
            }
        }
        for (i, spans) in mine.into_iter().enumerate() {
            predicted[i].push(spans);
        }
        references.push(reference);
        texts.push(row.text);
        Ok(())
    })?;
    let n = references.len();
    let evaluations = runs
        .iter()
        .zip(&predicted)
        .zip(&token_runs)
        .map(|((run, spans), &tokens)| {
            let readings: Vec<Option<Mode>> = if tokens { Mode::ALL.iter().copied().map(Some).collect() } else { vec![None] };
            let scores = readings
                .into_iter()
                .map(|mode| {
                    let entities: Vec<Vec<Span>> = match mode {
                        None => spans.clone(),
                        Some(mode) => spans.iter().zip(&texts).map(|(tokens, text)| token_entities(tokens, text, mode)).collect::<Result<_>>()?,
                    };
                    Ok(score(&references, &entities, mode, options))
                })
                .collect::<Result<_>>()?;
            Ok(TaggerEvaluation { run: run.id, model: run.key.model.clone(), options: run.key.template.clone(), scores })
        })
        .collect::<Result<_>>()?;
    Ok(EntityEvaluation {
        corpus: corpus.to_string(),
        n: n as u64,
        reference_entities: references.iter().map(|r| r.len() as u64).sum(),
        runs: evaluations,
    })
}

/// A run of single tokens read as a tag sequence: tokens in text order, an O between two tokens
/// where more than white space separates them, entities by `mode`, as character spans.
fn token_entities(tokens: &[Span], text: &str, mode: Mode) -> Result<Vec<Span>> {
    let chars: Vec<char> = text.chars().collect();
    let mut sorted = tokens.to_vec();
    sorted.sort_by_key(|t| (t.start, t.end));
    let mut tags: Vec<&str> = Vec::new();
    let mut extents: Vec<(usize, usize)> = Vec::new();
    for (i, token) in sorted.iter().enumerate() {
        if i > 0 {
            let gap = &chars[sorted[i - 1].end.min(token.start)..token.start];
            if !gap.iter().all(|c| c.is_whitespace()) {
                tags.push("O");
                extents.push((token.start, token.start));
            }
        }
        tags.push(&token.label);
        extents.push((token.start, token.end));
    }
    Ok(entities(&tags, mode)?.into_iter().map(|e| Span { start: extents[e.start].0, end: extents[e.end - 1].1, label: e.label }).collect())
}

/// A reading's report and the bootstrap intervals of its micro and macro F1 over records.
fn score(references: &[Vec<Span>], predicted: &[Vec<Span>], mode: Option<Mode>, options: &EvalOptions) -> EntityScores {
    let mut all = Counts::default();
    // Each record's counts, so a resample sums them instead of matching spans again.
    let per_record: Vec<Counts> = references
        .iter()
        .zip(predicted)
        .map(|(r, p)| {
            let mut c = Counts::default();
            c.add(r, p);
            all.add(r, p);
            c
        })
        .collect();
    let report = all.report();
    // The counts as a dense table (record × type), summed per resample without a map or a
    // string per record: a million records' 200 resamples took minutes through maps.
    let kinds: Vec<&String> = all.0.keys().collect();
    let dense: Vec<(u64, u64, u64)> = per_record.iter().flat_map(|c| kinds.iter().map(move |k| c.0.get(*k).copied().unwrap_or_default())).collect();
    let sum = |rows: &[usize]| {
        let mut total = vec![(0u64, 0u64, 0u64); kinds.len()];
        for &i in rows {
            for (t, &(m, p, r)) in total.iter_mut().zip(&dense[i * kinds.len()..(i + 1) * kinds.len()]) {
                *t = (t.0 + m, t.1 + p, t.2 + r);
            }
        }
        // A type counts in a resample when one of its records predicted or held it, as when
        // the records' own counts are added up.
        Counts(kinds.iter().zip(total).filter(|(_, (_, p, r))| p + r > 0).map(|(k, t)| ((*k).clone(), t)).collect()).report()
    };
    let micro_f1 = bootstrap(references.len(), options, |rows| sum(rows).micro.f1);
    let macro_f1 = bootstrap(references.len(), options, |rows| sum(rows).macro_avg.f1);
    let names: std::collections::BTreeSet<&String> = references.iter().chain(predicted).flatten().map(|s| &s.label).collect();
    let types: BTreeMap<String, usize> = names.iter().enumerate().map(|(i, t)| ((*t).clone(), i)).collect();
    let mut errors =
        EntityErrors { types: types.keys().cloned().collect(), confusion: vec![vec![0; types.len()]; types.len()], ..Default::default() };
    for (r, p) in references.iter().zip(predicted) {
        errors.add(r, p, &types);
    }
    EntityScores { mode, report, micro_f1, macro_f1, errors }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: usize, end: usize, label: &str) -> Span {
        Span { start, end, label: label.into() }
    }

    #[test]
    fn each_predicted_entity_is_one_kind_of_error_and_unmatched_references_are_missed() {
        let reference = [span(0, 4, "PER"), span(10, 16, "LOC"), span(20, 25, "ORG"), span(30, 34, "PER"), span(40, 44, "MISC")];
        let predicted = [
            span(0, 4, "PER"),   // exact
            span(10, 16, "ORG"), // type wrong
            span(20, 23, "ORG"), // boundaries wrong
            span(30, 36, "LOC"), // both wrong
            span(50, 52, "PER"), // spurious
        ];
        let types: BTreeMap<String, usize> = ["LOC", "MISC", "ORG", "PER"].iter().enumerate().map(|(i, t)| (t.to_string(), i)).collect();
        let mut e = EntityErrors { confusion: vec![vec![0; 4]; 4], ..Default::default() };
        e.add(&reference, &predicted, &types);
        assert_eq!((e.exact, e.wrong_type, e.wrong_boundaries, e.wrong_both, e.spurious, e.missed), (1, 1, 1, 1, 1, 1));
        assert_eq!(e.confusion[types["LOC"]][types["ORG"]], 1, "LOC predicted as ORG on the same words");
        assert_eq!(e.confusion[types["PER"]][types["PER"]], 1);
    }

    #[test]
    fn tokens_read_into_entities_break_where_other_text_lies_between() {
        let text = "Juan Pérez y Ana";
        // "Juan" B-PER, "Pérez" I-PER adjacent; "Ana" I-PER after an untagged "y".
        let tokens = [span(0, 4, "B-PER"), span(5, 10, "I-PER"), span(13, 16, "I-PER")];
        assert_eq!(token_entities(&tokens, text, Mode::Default).unwrap(), [span(0, 10, "PER"), span(13, 16, "PER")]);
        assert_eq!(token_entities(&tokens, text, Mode::Strict).unwrap(), [span(0, 10, "PER")]);
    }
}
