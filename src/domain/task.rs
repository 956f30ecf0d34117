//! A zero-shot task: candidate labels, the hypothesis template (Python's `str.format` for its one
//! field) or each label's own hypothesis, and single- or multi-label scoring. Pure rules: the
//! classifier that runs a task is `engine::zeroshot`, and a label schema turns into a task here.

use crate::error::{Error, Result};

/// The Spanish hypothesis template the SELECTRA zero-shot cards use.
pub const DEFAULT_TEMPLATE: &str = "Este ejemplo es {}.";

/// The most candidate labels a task may have.
pub const MAX_LABELS: usize = 1000;

/// What to classify against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZeroShotTask {
    pub labels: Vec<String>,
    pub template: String,
    pub multi_label: bool,
    /// Each label's own hypothesis (a label schema's), when one differs from the template's;
    /// `None`: `template.format(label)` for every label, exactly the pipeline's.
    own_hypotheses: Option<Vec<String>>,
}

impl ZeroShotTask {
    /// Validates labels and template; the errors say what to fix.
    pub fn new(labels: Vec<String>, template: &str, multi_label: bool) -> Result<Self> {
        if labels.is_empty() {
            return Err(Error::Input("no candidate labels; give at least one, e.g. deportes,política".into()));
        }
        if labels.len() > MAX_LABELS {
            return Err(Error::Input(format!(
                "{} candidate labels were given; at most {MAX_LABELS} are accepted (each label is one more pass of the model over every text)",
                labels.len()
            )));
        }
        for (i, label) in labels.iter().enumerate() {
            if label.trim().is_empty() {
                return Err(Error::Input(format!("label {} of {} is empty; remove the stray comma or name it", i + 1, labels.len())));
            }
            if label.chars().any(char::is_control) {
                return Err(Error::Input(format!(
                    "label {} holds a control character (a tab, line break or other invisible code); a label is one line of text",
                    crate::error::quoted(label)
                )));
            }
            if labels[..i].contains(label) {
                return Err(Error::Input(format!("label {} is given twice; each label must be unique", crate::error::quoted(label))));
            }
        }
        format_template(template, &labels[0])?;
        Ok(Self { labels, template: template.to_string(), multi_label, own_hypotheses: None })
    }

    /// Gives each label its own hypothesis (in label order). Hypotheses that all equal
    /// `template.format(label)` change nothing: the task is then exactly the pipeline's, and a
    /// run with it is the same run as one with the template alone.
    pub fn with_hypotheses(mut self, hypotheses: Vec<String>) -> Result<Self> {
        if hypotheses.len() != self.labels.len() {
            return Err(Error::Input(format!("{} hypotheses were given for {} labels; give one per label", hypotheses.len(), self.labels.len())));
        }
        if let Some(i) = hypotheses.iter().position(|h| h.trim().is_empty()) {
            return Err(Error::Input(format!("the hypothesis of {:?} is empty", self.labels[i])));
        }
        self.own_hypotheses = (hypotheses != self.template_hypotheses()).then_some(hypotheses);
        Ok(self)
    }

    /// The task a run recorded: its labels, `template_key` and multi-label flag (resuming a run
    /// needs exactly its task back).
    pub fn from_template_key(labels: Vec<String>, key: &str, multi_label: bool) -> Result<Self> {
        match key.strip_prefix("hypotheses: ") {
            None => Self::new(labels, key, multi_label),
            Some(list) => {
                let hypotheses: Vec<String> =
                    serde_json::from_str(list).map_err(|e| Error::Input(format!("the run's recorded hypotheses cannot be read ({e})")))?;
                let mut task = Self::new(labels, DEFAULT_TEMPLATE, multi_label)?;
                if hypotheses.len() != task.labels.len() {
                    return Err(Error::Input("the run's recorded hypotheses do not match its labels".into()));
                }
                task.own_hypotheses = Some(hypotheses);
                Ok(task)
            }
        }
    }

    fn template_hypotheses(&self) -> Vec<String> {
        self.labels.iter().map(|l| format_template(&self.template, l).expect("validated in new")).collect()
    }

    /// What a run records as its template: the template, or with hypotheses of a label schema
    /// `hypotheses: ["…", …]` (so that runs with other hypotheses are other runs).
    pub fn template_key(&self) -> String {
        match &self.own_hypotheses {
            None => self.template.clone(),
            Some(h) => format!("hypotheses: {}", serde_json::to_string(h).expect("strings serialize")),
        }
    }

    /// Splits a comma-separated label list as the pipeline does (each label trimmed), keeping
    /// empty entries so that [`ZeroShotTask::new`] can report them.
    pub fn parse_labels(list: &str) -> Vec<String> {
        if list.trim().is_empty() {
            return Vec::new();
        }
        list.split(',').map(|l| l.trim().to_string()).collect()
    }

    /// Each label's hypothesis, in label order.
    pub fn hypotheses(&self) -> Vec<String> {
        self.own_hypotheses.clone().unwrap_or_else(|| self.template_hypotheses())
    }
}

/// Python's `str.format` for the one positional field a hypothesis template has: `{}` or `{0}`
/// take the label, `{{` and `}}` are literal braces, anything else is an error.
pub fn format_template(template: &str, label: &str) -> Result<String> {
    let bad = |why: &str| {
        Error::Input(format!(
            "the template {} {why}; write it with {{}} where the label goes, e.g. {DEFAULT_TEMPLATE:?}",
            crate::error::quoted(template)
        ))
    };
    let mut out = String::with_capacity(template.len() + label.len());
    let mut fields = 0;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut field = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    field.push(c);
                }
                if !closed {
                    return Err(bad("has a '{' that is never closed"));
                }
                if field.is_empty() || field == "0" {
                    fields += 1;
                    out.push_str(label);
                } else {
                    return Err(bad(&format!("has a field {{{field}}} that cannot be filled")));
                }
            }
            '}' => return Err(bad("has a single '}'")),
            c => out.push(c),
        }
    }
    if fields == 0 {
        return Err(bad("has no {} for the label"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_template(template: &str, expected: Option<&str>) {
        match (format_template(template, "deportes"), expected) {
            (Ok(out), Some(want)) => assert_eq!(out, want, "{template:?}"),
            (Err(_), None) => {}
            (got, want) => panic!("{template:?}: got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn own_hypotheses_are_a_new_run_only_when_they_differ_from_the_template() {
        let task = ZeroShotTask::new(vec!["deportes".into(), "política".into()], DEFAULT_TEMPLATE, false).unwrap();
        let same = task.clone().with_hypotheses(vec!["Este ejemplo es deportes.".into(), "Este ejemplo es política.".into()]).unwrap();
        assert_eq!(same, task, "the template's own hypotheses are the pipeline's task");
        assert_eq!(same.template_key(), DEFAULT_TEMPLATE);
        let own = task.clone().with_hypotheses(vec!["Este ejemplo es deportes.".into(), "Habla de política.".into()]).unwrap();
        assert_eq!(own.hypotheses(), ["Este ejemplo es deportes.", "Habla de política."]);
        assert_eq!(own.template_key(), r#"hypotheses: ["Este ejemplo es deportes.","Habla de política."]"#);
        assert!(task.clone().with_hypotheses(vec!["x".into()]).unwrap_err().to_string().contains("one per label"));
        assert!(task.clone().with_hypotheses(vec!["x".into(), " ".into()]).unwrap_err().to_string().contains("política"));
        // A run's recorded key gives its task back.
        let back = ZeroShotTask::from_template_key(own.labels.clone(), &own.template_key(), false).unwrap();
        assert_eq!((back.hypotheses(), back.template_key()), (own.hypotheses(), own.template_key()));
        assert_eq!(ZeroShotTask::from_template_key(task.labels.clone(), DEFAULT_TEMPLATE, false).unwrap(), task);
    }

    #[test]
    fn templates_format_like_python() {
        check_template("Este ejemplo es {}.", Some("Este ejemplo es deportes."));
        check_template("{0} y {}", Some("deportes y deportes"));
        check_template("{{literal}} {}", Some("{literal} deportes"));
        check_template("Sin campo.", None);
        check_template("{{}}", None);
        check_template("Es {label}.", None);
        check_template("Cierra } sola {}", None);
        // Python: "Es {".format("x") raises "Single '{' encountered in format string".
        check_template("Es {} y {", None);
        check_template("Es {", None);
        check_template("{", None);
        check_template("", None);
    }

    #[test]
    fn labels_split_on_commas_and_are_validated() {
        assert_eq!(ZeroShotTask::parse_labels(" deportes , política,economía "), ["deportes", "política", "economía"]);
        assert!(ZeroShotTask::parse_labels("  ").is_empty());
        let task = |list: &str| ZeroShotTask::new(ZeroShotTask::parse_labels(list), DEFAULT_TEMPLATE, false);
        assert!(task("deportes,política").is_ok());
        for bad in ["", "a,,b", "a,", "a,b,a"] {
            assert_eq!(task(bad).unwrap_err().code(), crate::error::ErrorCode::Input, "{bad:?}");
        }
        let many: Vec<String> = (0..=MAX_LABELS).map(|i| format!("l{i}")).collect();
        assert!(task(&many[..MAX_LABELS].join(",")).is_ok());
        let error = task(&many.join(",")).unwrap_err().to_string();
        assert!(error.contains("1001 candidate labels") && error.contains("at most 1000"), "{error}");
    }
}
