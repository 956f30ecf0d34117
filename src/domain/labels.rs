//! A corpus's label schema as values: each label's name, description, key, colour and NLI
//! hypothesis, plus free-text guidelines, with the rules that check a schema and fill its
//! defaults, and the zero-shot task it makes. The store keeps schemas; reading one from a file is
//! `exchange::import::read_label_schema`.

use serde::{Deserialize, Serialize};

use crate::domain::task::{format_template, ZeroShotTask, MAX_LABELS};
use crate::error::{Error, Result, Setting};

/// Label colours in schema order when none is chosen (Okabe–Ito, as the charts use).
pub const LABEL_COLOURS: [&str; 8] = ["#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#f0e442", "#000000"];

/// The longest guidelines text kept.
const MAX_GUIDELINES_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct LabelSchema {
    pub labels: Vec<LabelDef>,
    #[serde(default)]
    pub guidelines: String,
    /// What the labels label: whole records, or entity spans (then they are entity types).
    #[serde(default)]
    pub kind: SchemaKind,
}

/// What a corpus's labels are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SchemaKind {
    /// Document labels: a record gets one label (or a set).
    #[default]
    Labels,
    /// Entity types: a record gets spans of its text, each with a type.
    Spans,
}

impl SchemaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Labels => "labels",
            Self::Spans => "spans",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "labels" => Ok(Self::Labels),
            "spans" => Ok(Self::Spans),
            other => {
                Err(Error::Input(format!("a schema labels records (\"labels\") or entity spans (\"spans\"), not {}", crate::error::quoted(other))))
            }
        }
    }
}

impl LabelSchema {
    /// A schema from its JSON (what `LabelSchema` serializes to), with or without a byte-order
    /// mark. A field this build does not know (a typo such as `"color"` or `"hypotesis"`) is an
    /// error, never silently dropped.
    pub fn from_json(text: &str) -> Result<Self> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        serde_json::from_str(text).map_err(|e| {
            Error::Input(format!(
                "not a label schema: {}; a schema is {{\"labels\": [{{\"name\", \"description\", \"key\", \"colour\", \"hypothesis\"}}], \"guidelines\", \"kind\"}}",
                crate::error::shortened(&e.to_string())
            ))
        })
    }

    /// One sentence per pair of labels whose names differ only in accents, case or Unicode form,
    /// probably one label typed twice ("informatica" and "informática"): what `selectra schema`
    /// notes and the labels editor warns about.
    pub fn warnings(&self) -> Vec<String> {
        Self::warnings_for(&self.names())
    }

    /// [`LabelSchema::warnings`] for names being edited, before they are a schema.
    pub fn warnings_for(names: &[String]) -> Vec<String> {
        crate::domain::text::near_duplicates(names)
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
            kind: SchemaKind::Labels,
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
            return Err(Error::Input("the corpus has no label schema yet; give it its labels first".into()).fixed_by(Setting::LabelSchema));
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
            label.name = crate::domain::text::nfc(label.name.trim()).into_owned();
            if label.name.chars().any(char::is_control) {
                return Err(Error::Input(format!("the label name {} holds a control character", crate::error::quoted(&label.name))));
            }
            if !crate::domain::text::has_visible(&label.name) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, key: Option<&str>) -> LabelDef {
        LabelDef { name: name.into(), description: String::new(), key: key.map(String::from), colour: None, hypothesis: None }
    }

    #[test]
    fn defaults_fill_free_keys_and_colours() {
        let s = LabelSchema { labels: vec![def(" a ", Some("1")), def("b", None), def("c", Some("2"))], ..Default::default() }.normalized().unwrap();
        assert_eq!(s.names(), ["a", "b", "c"]);
        // "1" and "2" are taken, so b gets the first free digit.
        assert_eq!(s.labels.iter().map(|l| l.key.clone().unwrap()).collect::<Vec<_>>(), ["1", "3", "2"]);
        assert_eq!(s.labels[1].colour.as_deref(), Some(LABEL_COLOURS[1]));
    }

    #[test]
    fn bad_schemas_say_what_is_wrong() {
        let err = |labels: Vec<LabelDef>| LabelSchema { labels, ..Default::default() }.normalized().unwrap_err().to_string();
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
