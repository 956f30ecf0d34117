//! A corpus's label schema: each label's name, description, key, colour and NLI hypothesis, plus
//! free-text guidelines. The app's Annotate view, zero-shot runs and reports read it from here.

use rusqlite::{params, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::Store;
use crate::error::{Error, Result};
use crate::zeroshot::{format_template, ZeroShotTask, MAX_LABELS};

/// Label colours in schema order when none is chosen (Okabe–Ito, as the charts use).
pub const LABEL_COLOURS: [&str; 8] = ["#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#f0e442", "#000000"];

/// The longest guidelines text kept.
const MAX_GUIDELINES_BYTES: usize = 64 * 1024;
/// The largest schema file read: a thousand labels with long descriptions and the guidelines.
const MAX_SCHEMA_FILE_BYTES: u64 = 16 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelDef {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The key that picks the label (one character); the first nine labels default to 1–9.
    #[serde(default)]
    pub key: Option<String>,
    /// `#rrggbb`; defaults from [`LABEL_COLOURS`].
    #[serde(default)]
    pub colour: Option<String>,
    /// The NLI hypothesis for this label; `None` means the run's template filled with the name.
    #[serde(default)]
    pub hypothesis: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LabelSchema {
    pub labels: Vec<LabelDef>,
    #[serde(default)]
    pub guidelines: String,
}

impl LabelSchema {
    /// A schema from its JSON (what `LabelSchema` serializes to), with or without a byte-order
    /// mark. A field this build does not know (a typo such as `"color"` or `"hypotesis"`) is an
    /// error, never silently dropped.
    pub fn from_json(text: &str) -> Result<Self> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        serde_json::from_str(text).map_err(|e| {
            Error::Input(format!(
                "not a label schema: {}; a schema is {{\"labels\": [{{\"name\", \"description\", \"key\", \"colour\", \"hypothesis\"}}], \"guidelines\"}}",
                crate::error::shortened(&e.to_string())
            ))
        })
    }

    /// Reads a schema file (see [`LabelSchema::from_json`]).
    pub fn read(path: &std::path::Path) -> Result<Self> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if !meta.is_file() || meta.len() > MAX_SCHEMA_FILE_BYTES {
            return Err(Error::Input(format!("{} is not a label schema file (a regular file of at most 16 MiB)", path.display())));
        }
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json(&text).map_err(|e| Error::Input(format!("{}: {e}", path.display())))
    }

    /// One sentence per pair of labels whose names differ only in accents, case or Unicode form,
    /// probably one label typed twice ("informatica" and "informática"): what `selectra schema`
    /// notes and the labels editor warns about.
    pub fn warnings(&self) -> Vec<String> {
        Self::warnings_for(&self.names())
    }

    /// [`LabelSchema::warnings`] for names being edited, before they are a schema.
    pub fn warnings_for(names: &[String]) -> Vec<String> {
        crate::text::near_duplicates(names)
            .into_iter()
            .map(|(a, b)| {
                format!(
                    "{} and {} differ only in accents or case: probably one label typed twice",
                    crate::error::quoted(&names[a]),
                    crate::error::quoted(&names[b])
                )
            })
            .collect()
    }

    /// A schema with just these names (keys and colours by position).
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self> {
        LabelSchema {
            labels: names
                .iter()
                .map(|n| LabelDef { name: n.as_ref().to_string(), description: String::new(), key: None, colour: None, hypothesis: None })
                .collect(),
            guidelines: String::new(),
        }
        .normalized()
    }

    pub fn names(&self) -> Vec<String> {
        self.labels.iter().map(|l| l.name.clone()).collect()
    }

    /// Each label's hypothesis: its own, or `template` filled with its name.
    pub fn hypotheses(&self, template: &str) -> Result<Vec<String>> {
        self.labels.iter().map(|l| l.hypothesis.clone().map(Ok).unwrap_or_else(|| format_template(template, &l.name))).collect()
    }

    /// A zero-shot task over the schema's labels, each with its own hypothesis or `template`'s.
    /// With no hypothesis of its own anywhere, it is exactly the pipeline's task.
    pub fn task(&self, template: &str, multi_label: bool) -> Result<ZeroShotTask> {
        if self.labels.is_empty() {
            return Err(Error::Input("the corpus has no label schema yet; give it its labels first".into()));
        }
        ZeroShotTask::new(self.names(), template, multi_label)?.with_hypotheses(self.hypotheses(template)?)
    }

    /// The schema with every label's hypothesis set from `template` (the template lab's choice).
    pub fn with_template(mut self, template: &str) -> Result<Self> {
        for label in &mut self.labels {
            label.hypothesis = Some(format_template(template, &label.name)?);
        }
        Ok(self)
    }

    /// Checks the schema and fills the defaults: names trimmed, unique and non-empty; keys one
    /// character each and unique (the first nine labels without a key get 1–9 where free);
    /// colours `#rrggbb` (defaults by position); hypotheses non-empty when given.
    pub fn normalized(mut self) -> Result<Self> {
        if self.labels.len() > MAX_LABELS {
            return Err(Error::Input(format!("a schema holds at most {MAX_LABELS} labels")));
        }
        if self.guidelines.len() > MAX_GUIDELINES_BYTES {
            return Err(Error::Input(format!("the guidelines are longer than {} KiB; shorten them", MAX_GUIDELINES_BYTES / 1024)));
        }
        for (i, label) in self.labels.iter_mut().enumerate() {
            // One Unicode form, so that NFC and NFD spellings of a name are one label.
            label.name = crate::text::nfc(label.name.trim()).into_owned();
            if label.name.chars().any(char::is_control) {
                return Err(Error::Input(format!("the label name {} holds a control character", crate::error::quoted(&label.name))));
            }
            if !crate::text::has_visible(&label.name) {
                return Err(Error::Input(format!("label {} has no name (nothing in it shows)", i + 1)));
            }
            label.key = label.key.take().map(|k| k.trim().to_string()).filter(|k| !k.is_empty());
            if let Some(key) = &label.key {
                if key.chars().count() != 1 || key.chars().any(|c| c.is_control() || c.is_whitespace()) {
                    return Err(Error::Input(format!("the key {key:?} of {:?} is not one printable character", label.name)));
                }
            }
            label.colour = label.colour.take().map(|c| c.trim().to_lowercase()).filter(|c| !c.is_empty());
            if let Some(colour) = &label.colour {
                let hex = colour.strip_prefix('#').unwrap_or("");
                if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(Error::Input(format!("the colour {colour:?} of {:?} is not #rrggbb", label.name)));
                }
            }
            label.hypothesis = label.hypothesis.take().map(|h| h.trim().to_string()).filter(|h| !h.is_empty());
        }
        for (i, label) in self.labels.iter().enumerate() {
            if self.labels[..i].iter().any(|l| l.name == label.name) {
                return Err(Error::Input(format!(
                    "the label {} is in the schema twice (perhaps spelt with other Unicode characters that look the same); each label must be unique",
                    crate::error::quoted(&label.name)
                )));
            }
            if let Some(key) = &label.key {
                if let Some(other) = self.labels[..i].iter().find(|l| l.key.as_ref() == Some(key)) {
                    return Err(Error::Input(format!("{:?} and {:?} both have the key {key:?}; give each its own", other.name, label.name)));
                }
            }
        }
        let taken: Vec<String> = self.labels.iter().filter_map(|l| l.key.clone()).collect();
        let mut free = ('1'..='9').map(String::from).filter(|k| !taken.contains(k));
        for (i, label) in self.labels.iter_mut().enumerate() {
            if label.key.is_none() && i < 9 {
                label.key = free.next();
            }
            if label.colour.is_none() {
                label.colour = Some(LABEL_COLOURS[i % LABEL_COLOURS.len()].to_string());
            }
        }
        Ok(self)
    }
}

impl Store {
    /// The corpus's label schema; empty labels when none was set.
    pub fn label_schema(&self, corpus: &str) -> Result<LabelSchema> {
        let corpus_id = self.corpus_id(corpus)?;
        let guidelines: String =
            self.conn.query_row("SELECT guidelines FROM corpus WHERE id = ?1", [corpus_id], |r| r.get(0)).map_err(|e| self.err(e))?;
        let mut stmt = self
            .conn
            .prepare("SELECT name, description, key, colour, hypothesis FROM label_def WHERE corpus_id = ?1 ORDER BY position")
            .map_err(|e| self.err(e))?;
        let labels = stmt
            .query_map([corpus_id], |r| {
                Ok(LabelDef { name: r.get(0)?, description: r.get(1)?, key: r.get(2)?, colour: Some(r.get(3)?), hypothesis: r.get(4)? })
            })
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        Ok(LabelSchema { labels, guidelines })
    }

    /// Replaces the corpus's label schema (checked and completed by [`LabelSchema::normalized`]);
    /// returns what was stored. Annotations keep their labels whatever the schema says.
    pub fn set_label_schema(&mut self, corpus: &str, schema: LabelSchema) -> Result<LabelSchema> {
        let corpus_id = self.corpus_id(corpus)?;
        let schema = schema.normalized()?;
        let path = self.path.clone();
        let err = |e| super::db_error(&path, e);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        tx.execute("DELETE FROM label_def WHERE corpus_id = ?1", [corpus_id]).map_err(err)?;
        for (i, l) in schema.labels.iter().enumerate() {
            tx.execute(
                "INSERT INTO label_def (corpus_id, position, name, description, key, colour, hypothesis) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![corpus_id, i as i64, l.name, l.description, l.key, l.colour, l.hypothesis],
            )
            .map_err(err)?;
        }
        tx.execute("UPDATE corpus SET guidelines = ?1 WHERE id = ?2", params![schema.guidelines, corpus_id]).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(schema)
    }

    /// Makes `template` the corpus's hypotheses: every label of its schema gets the template
    /// filled with its name (a corpus without a schema gets one of `labels` first). Returns the
    /// stored schema.
    pub fn use_template(&mut self, corpus: &str, labels: &[String], template: &str) -> Result<LabelSchema> {
        let mut schema = self.label_schema(corpus)?;
        if schema.labels.is_empty() {
            schema = LabelSchema { guidelines: schema.guidelines, ..LabelSchema::from_names(labels)? };
        }
        self.set_label_schema(corpus, schema.with_template(template)?)
    }

    /// Labels the corpus already uses, for starting a schema: gold labels, annotated labels and
    /// the newest run's candidate labels, each once, most frequent first.
    pub fn labels_in_use(&self, corpus: &str) -> Result<Vec<String>> {
        let corpus_id = self.corpus_id(corpus)?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT label, SUM(n) FROM ( \
                   SELECT gold AS label, COUNT(*) AS n FROM record WHERE corpus_id = ?1 AND gold IS NOT NULL GROUP BY gold \
                   UNION ALL SELECT j.value, COUNT(*) FROM annotation a JOIN record x ON x.id = a.record_id, json_each(a.labels) j \
                     WHERE x.corpus_id = ?1 GROUP BY j.value \
                   UNION ALL SELECT j.value, 0 FROM (SELECT labels FROM run WHERE corpus_id = ?1 ORDER BY id DESC LIMIT 1) r, json_each(r.labels) j \
                 ) GROUP BY label ORDER BY SUM(n) DESC, label LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map(params![corpus_id, MAX_LABELS as i64], |r| r.get(0)).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// What a head could be trained on: the corpus's accepted annotations and its gold labels,
    /// each as records and kinds of label (gold cells split at `|`). Two grouped reads, each one
    /// pass over the corpus's rows of an index.
    pub fn label_sources(&self, corpus: &str) -> Result<LabelSources> {
        let corpus_id = self.corpus_id(corpus)?;
        let count = |sql: &str| -> Result<(u64, u64)> {
            let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
            let rows = stmt.query_map([corpus_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).map_err(|e| self.err(e))?;
            let mut kinds = std::collections::HashSet::new();
            let mut records = 0u64;
            for row in rows {
                let (value, n) = row.map_err(|e| self.err(e))?;
                records += n as u64;
                kinds.extend(value.split('|').map(str::trim).filter(|l| !l.is_empty()).map(str::to_string));
            }
            Ok((records, kinds.len() as u64))
        };
        let (gold, gold_kinds) = count("SELECT gold, COUNT(*) FROM record WHERE corpus_id = ?1 AND gold IS NOT NULL AND gold != '' GROUP BY gold")?;
        // Each accepted label set as one `|`-joined value, so that both reads count alike.
        let (annotations, annotation_kinds) = count(
            "SELECT (SELECT group_concat(j.value, '|') FROM json_each(a.labels) j), COUNT(*) FROM annotation a \
             JOIN record x ON x.id = a.record_id WHERE x.corpus_id = ?1 AND a.status = 'accepted' AND a.labels != '[]' GROUP BY a.labels",
        )?;
        Ok(LabelSources { annotations, annotation_kinds, gold, gold_kinds })
    }
}

/// A corpus's labels by where they come from ([`Store::label_sources`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct LabelSources {
    /// Records with an accepted annotation that has labels, and the kinds of label among them.
    pub annotations: u64,
    pub annotation_kinds: u64,
    /// Records with a gold label, and the kinds of label among them.
    pub gold: u64,
    pub gold_kinds: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, key: Option<&str>) -> LabelDef {
        LabelDef { name: name.into(), description: String::new(), key: key.map(String::from), colour: None, hypothesis: None }
    }

    #[test]
    fn defaults_fill_free_keys_and_colours() {
        let s =
            LabelSchema { labels: vec![def(" a ", Some("1")), def("b", None), def("c", Some("2"))], guidelines: String::new() }.normalized().unwrap();
        assert_eq!(s.names(), ["a", "b", "c"]);
        // "1" and "2" are taken, so b gets the first free digit.
        assert_eq!(s.labels.iter().map(|l| l.key.clone().unwrap()).collect::<Vec<_>>(), ["1", "3", "2"]);
        assert_eq!(s.labels[1].colour.as_deref(), Some(LABEL_COLOURS[1]));
    }

    #[test]
    fn bad_schemas_say_what_is_wrong() {
        let err = |labels: Vec<LabelDef>| LabelSchema { labels, guidelines: String::new() }.normalized().unwrap_err().to_string();
        assert!(err(vec![def("a", None), def("a", None)]).contains("twice"));
        assert!(err(vec![def("a", Some("x")), def("b", Some("x"))]).contains("both have the key"));
        assert!(err(vec![def("a", Some("xy"))]).contains("one printable character"));
        assert!(err(vec![def("  ", None)]).contains("no name"));
        let mut bad_colour = def("a", None);
        bad_colour.colour = Some("red".into());
        assert!(err(vec![bad_colour]).contains("#rrggbb"));
    }

    #[test]
    fn hypotheses_default_to_the_template() {
        let mut s = LabelSchema::from_names(&["deportes", "política"]).unwrap();
        s.labels[1].hypothesis = Some("Habla de política.".into());
        assert_eq!(s.hypotheses("Este ejemplo es {}.").unwrap(), ["Este ejemplo es deportes.", "Habla de política."]);
    }
}
