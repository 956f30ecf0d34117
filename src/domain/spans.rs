//! Entity spans: a type over a stretch of a text, in characters (end exclusive), as a tagger
//! finds them and as a corpus's reference holds them. The rules for reading them from the shapes
//! annotation tools write, and from IOB tag sequences in seqeval's two modes (CoNLL files, a
//! tagger's tokens), live here once; scoring them is `analysis::seqeval`'s.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::annotation::Status;
use crate::error::Error;

/// An entity: its type and its extent, end exclusive (characters of a text, or tokens of a
/// sequence).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub label: String,
}

/// The most spans one record's reference may hold: far more than any sentence's entities,
/// few enough that a hostile file cannot fill memory through one field.
pub const MAX_SPANS_PER_RECORD: usize = 10_000;

/// A record's reference spans from a JSON value, in the shapes annotation tools export: a list
/// of objects `{"start", "end", "label"}` (Prodigy, Argilla; an optional `"text"` must be the
/// text the offsets cover) or of triples `[start, end, "label"]` (doccano). Offsets are
/// characters of `text`. Spans come back sorted by start; an empty list is a record without
/// entities. A span outside the text, empty, without a label, on another text than its offsets
/// claim, or overlapping another (NER spans do not nest) is refused with what is wrong.
pub fn parse_spans(value: &Value, text: &str) -> Result<Vec<Span>, String> {
    let items = match value {
        Value::Array(items) => items,
        Value::String(s) => {
            // A CSV cell holds the list as JSON text.
            let parsed: Value = serde_json::from_str(s).map_err(|e| format!("the spans are not a JSON list: {e}"))?;
            return parse_spans(&parsed, text);
        }
        other => return Err(format!("the spans are a list of {{\"start\", \"end\", \"label\"}} objects, not {}", kind(other))),
    };
    if items.len() > MAX_SPANS_PER_RECORD {
        return Err(format!("{} spans in one record; at most {MAX_SPANS_PER_RECORD} are read", items.len()));
    }
    let chars: Vec<char> = text.chars().collect();
    let mut spans = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let (start, end, label, claimed) = match item {
                Value::Object(o) => (o.get("start"), o.get("end"), o.get("label"), o.get("text")),
                Value::Array(a) if a.len() == 3 => (a.first(), a.get(1), a.get(2), None),
                other => return Err(format!("span {i} is {}, not {{\"start\", \"end\", \"label\"}} or [start, end, label]", kind(other))),
            };
            let offset = |v: Option<&Value>, name: &str| {
                v.and_then(Value::as_u64).map(|n| n as usize).ok_or_else(|| format!("span {i} has no {name} (a character offset)"))
            };
            let (start, end) = (offset(start, "start")?, offset(end, "end")?);
            let label = label.and_then(Value::as_str).map(str::trim).filter(|l| !l.is_empty()).ok_or_else(|| format!("span {i} has no label"))?;
            if start >= end || end > chars.len() {
                return Err(format!("span {i} (characters {start}..{end}) is not inside the text of {} characters", chars.len()));
            }
            let covered: String = chars[start..end].iter().collect();
            if let Some(claimed) = claimed.filter(|c| !c.is_null()) {
                if claimed.as_str() != Some(covered.as_str()) {
                    return Err(format!(
                        "span {i} says it covers {claimed}, but characters {start}..{end} of the text are {}: the offsets are of another text",
                        crate::error::quoted(&covered)
                    ));
                }
            }
            Ok(Span { start, end, label: label.to_string() })
        })
        .collect::<Result<Vec<_>, String>>()?;
    spans.sort();
    if let Some(pair) = spans.windows(2).find(|w| w[1].start < w[0].end) {
        return Err(format!(
            "spans {}..{} ({}) and {}..{} ({}) overlap; entity spans do not nest",
            pair[0].start, pair[0].end, pair[0].label, pair[1].start, pair[1].end, pair[1].label
        ));
    }
    Ok(spans)
}

/// How tag sequences become entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// seqeval's default (conlleval's chunking).
    Default,
    /// seqeval's `mode="strict"` with `scheme=IOB2`.
    Strict,
}

impl Mode {
    pub const ALL: [Mode; 2] = [Mode::Default, Mode::Strict];
}

/// The entities of one tag sequence.
pub fn entities(tags: &[impl AsRef<str>], mode: Mode) -> crate::error::Result<Vec<Span>> {
    match mode {
        Mode::Default => Ok(default_entities(tags)),
        Mode::Strict => strict_entities(tags),
    }
}

/// seqeval's `get_entities`: each tag's first character is its prefix and what follows its first
/// `-` its type (`_` when empty), and conlleval's rules end and start chunks.
fn default_entities(tags: &[impl AsRef<str>]) -> Vec<Span> {
    let split = |tag: &str| -> (char, String) {
        let mut chars = tag.chars();
        let prefix = chars.next().unwrap_or('O');
        let rest = chars.as_str();
        let kind = rest.split_once('-').map_or(rest, |(_, after)| after);
        (prefix, if kind.is_empty() { "_".to_string() } else { kind.to_string() })
    };
    let (mut prev_tag, mut prev_type) = ('O', String::new());
    let mut begin = 0;
    let mut spans = Vec::new();
    let end_marker = ["O"];
    for (i, tag) in tags.iter().map(AsRef::as_ref).chain(end_marker.iter().copied()).enumerate() {
        let (tag, kind) = split(tag);
        let ends = matches!(prev_tag, 'E' | 'S')
            || (matches!(prev_tag, 'B' | 'I') && matches!(tag, 'B' | 'S' | 'O'))
            || (prev_tag != 'O' && prev_tag != '.' && prev_type != kind);
        if ends {
            spans.push(Span { label: prev_type.clone(), start: begin, end: i });
        }
        let starts = matches!(tag, 'B' | 'S')
            || (matches!(prev_tag, 'E' | 'S' | 'O') && matches!(tag, 'E' | 'I'))
            || (tag != 'O' && tag != '.' && prev_type != kind);
        if starts {
            begin = i;
        }
        prev_tag = tag;
        prev_type = kind;
    }
    spans
}

/// seqeval's `Entities` with the IOB2 scheme: a `B-X` and the `I-X` right after it.
fn strict_entities(tags: &[impl AsRef<str>]) -> crate::error::Result<Vec<Span>> {
    let parsed: Vec<(char, &str)> = tags
        .iter()
        .map(|tag| {
            let tag = tag.as_ref();
            let prefix = tag.chars().next().filter(|p| matches!(p, 'B' | 'I' | 'O')).ok_or_else(|| {
                Error::Input(format!("{} is not an IOB2 tag: strict mode reads B-TYPE, I-TYPE and O only", crate::error::quoted(tag)))
            })?;
            let kind = tag[prefix.len_utf8()..].trim_matches('-');
            Ok((prefix, if kind.is_empty() { "_" } else { kind }))
        })
        .collect::<crate::error::Result<_>>()?;
    let mut spans = Vec::new();
    let mut i = 0;
    while i < parsed.len() {
        let (prefix, kind) = parsed[i];
        if prefix != 'B' {
            i += 1;
            continue;
        }
        let mut end = i + 1;
        while end < parsed.len() && parsed[end].0 == 'I' && parsed[end].1 == kind {
            end += 1;
        }
        spans.push(Span { label: kind.to_string(), start: i, end });
        i = end;
    }
    Ok(spans)
}

/// A record's reference spans: its accepted annotation's spans when it has some (an empty list
/// is a reference without entities), else its imported spans, as a record's reference label is
/// its accepted annotation, else its gold label; `None` when it has neither. The one rule the
/// taggers' evaluation and the span disagreement filter share.
pub fn reference_spans(annotation: Option<(Option<&[Span]>, Status)>, imported: Option<&[Span]>) -> Option<Vec<Span>> {
    match annotation {
        Some((Some(spans), Status::Accepted)) => Some(spans.to_vec()),
        _ => imported.map(<[Span]>::to_vec),
    }
}

/// The IOB2 tags of a tagger's training set for the entity types `types` (in that order): "O",
/// then `B-TYPE` and `I-TYPE` for each, as CoNLL-2002's tag set is written.
pub fn iob2_tags(types: &[String]) -> Vec<String> {
    std::iter::once("O".to_string()).chain(types.iter().flat_map(|t| [format!("B-{t}"), format!("I-{t}")])).collect()
}

/// Each word's IOB2 tag from `spans` (sorted, not overlapping), `words` being the character
/// extents of a text's words in order: a word that overlaps a span is tagged with its type,
/// `B-` when it is the first word that does, `I-` after; every other word is "O". A span that
/// starts or ends inside a word takes the whole word (a tagger labels words, not characters).
pub fn word_tags(words: &[(usize, usize)], spans: &[Span]) -> Vec<String> {
    let mut tagged_span: Option<usize> = None;
    words
        .iter()
        .map(|&(start, end)| match spans.iter().position(|s| start < s.end && end > s.start) {
            Some(i) => {
                let prefix = if tagged_span == Some(i) { "I" } else { "B" };
                tagged_span = Some(i);
                format!("{prefix}-{}", spans[i].label)
            }
            None => {
                tagged_span = None;
                "O".to_string()
            }
        })
        .collect()
}

/// Whether two lists of spans are different sets (order aside): a run's entities and a record's
/// reference disagree when they are.
pub fn differ(a: &[Span], b: &[Span]) -> bool {
    let set = |s: &[Span]| s.iter().cloned().collect::<std::collections::BTreeSet<Span>>();
    set(a) != set(b)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn words_take_the_tags_of_the_spans_they_overlap() {
        // "Ana Pérez vive en Nueva York." words: Ana, Pérez, vive, en, Nueva, York, "."
        let words = [(0, 3), (4, 9), (10, 14), (15, 17), (18, 23), (24, 28), (28, 29)];
        let span = |start, end, label: &str| Span { start, end, label: label.into() };
        let spans = [span(0, 9, "PER"), span(18, 28, "LOC")];
        assert_eq!(word_tags(&words, &spans), ["B-PER", "I-PER", "O", "O", "B-LOC", "I-LOC", "O"]);
        // Two entities of one type side by side stay two; a span inside a word tags the word.
        let spans = [span(0, 3, "PER"), span(4, 9, "PER"), span(25, 27, "LOC")];
        assert_eq!(word_tags(&words, &spans), ["B-PER", "B-PER", "O", "O", "O", "B-LOC", "O"]);
        assert_eq!(iob2_tags(&["LOC".into(), "PER".into()]), ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]);
        // The tags read back as the spans' words.
        let tags = word_tags(&words, &[span(0, 9, "PER"), span(18, 28, "LOC")]);
        assert_eq!(entities(&tags, Mode::Strict).unwrap(), [span(0, 2, "PER"), span(4, 6, "LOC")]);
    }

    #[test]
    fn every_tool_shape_reads_the_same_spans() {
        let text = "Juan vive en São Paulo";
        let want = vec![Span { start: 0, end: 4, label: "PER".into() }, Span { start: 13, end: 22, label: "LOC".into() }];
        let prodigy = json!([{"start": 13, "end": 22, "label": "LOC", "text": "São Paulo"}, {"start": 0, "end": 4, "label": "PER"}]);
        let doccano = json!([[0, 4, "PER"], [13, 22, "LOC"]]);
        assert_eq!(parse_spans(&prodigy, text).unwrap(), want);
        assert_eq!(parse_spans(&doccano, text).unwrap(), want);
        assert_eq!(parse_spans(&Value::String(doccano.to_string()), text).unwrap(), want);
        assert_eq!(parse_spans(&json!([]), text).unwrap(), []);
    }

    #[test]
    fn spans_that_do_not_fit_the_text_are_refused_with_why() {
        let text = "Juan vive en Madrid";
        let err = |v: Value| parse_spans(&v, text).unwrap_err();
        assert!(err(json!([[0, 40, "PER"]])).contains("not inside the text of 19 characters"));
        assert!(err(json!([[3, 3, "PER"]])).contains("not inside"));
        assert!(err(json!([{"start": 0, "end": 4, "label": "PER", "text": "Ana"}])).contains("offsets are of another text"));
        assert!(err(json!([[0, 4, "PER"], [2, 8, "LOC"]])).contains("overlap"));
        assert!(err(json!([[0, 4, " "]])).contains("no label"));
        assert!(err(json!({"start": 0})).contains("not an object") || err(json!({"start": 0})).contains("an object"));
        assert!(err(json!([[-1, 4, "PER"]])).contains("no start"));
    }
}
