//! Zero-shot classification by NLI, with the semantics of transformers'
//! `zero-shot-classification` pipeline.
//!
//! Each candidate label becomes a hypothesis, `template.format(label)`, paired with the text as
//! premise; only the premise is truncated to the model's length. The entailment class is the first
//! `label2id` entry whose name, lower-cased, starts with "entail" (the last class if none does);
//! the contradiction class is 0, or the last class when entailment is 0. Single-label: softmax of
//! the entailment logits across labels. Multi-label (or a single label): for each label, softmax
//! over [contradiction, entailment]. Results are sorted by score, descending.
//!
//! Pairs are batched under a pair and a padded-token budget, across texts and within one text's
//! labels alike; padding does not change results, so corpus runs can batch freely.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::workers::{batch_ranges, map_batches};
use crate::model::Model;
use crate::precision::Precision;
use crate::tokenize::{Encoded, Piece};

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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZeroShotResult {
    pub sequence: String,
    pub labels: Vec<String>,
    pub scores: Vec<f32>,
}

/// A loaded NLI model with its entailment/contradiction classes resolved.
pub struct ZeroShotClassifier<'m> {
    model: &'m Model,
    entailment: usize,
    contradiction: usize,
    /// True when no class name starts with "entail" and the last class is assumed (the pipeline
    /// warns in that case; results are likely meaningless).
    pub entailment_guessed: bool,
    /// How many (text, label) pairs go through the model at once.
    pub max_batch_pairs: usize,
    /// How many tokens, padding included, a forward pass may hold. This bounds memory; 1024 was as
    /// fast as 4096 on the medium model and peaked 80 MiB lower (bench/speed.py, 200 texts).
    pub max_batch_tokens: usize,
    /// The encoder's precision: exact f32, or the bf16 fast mode (corpus runs choose it, behind
    /// their agreement check; see `crate::precision`).
    pub precision: Precision,
}

impl<'m> ZeroShotClassifier<'m> {
    pub fn new(model: &'m Model) -> Result<Self> {
        if !model.architecture().is_classifier() {
            return Err(Error::Input(format!(
                "{} is a {} model; zero-shot classification needs an NLI classifier such as Recognai/zeroshot_selectra_small",
                model.name,
                model.architecture().name()
            )));
        }
        let classes = model.config.id2label.len();
        let found = model.config.label2id.iter().find(|(name, _)| name.to_lowercase().starts_with("entail")).map(|(_, id)| *id);
        let entailment = found.unwrap_or(classes - 1);
        let contradiction = if entailment == 0 { classes - 1 } else { 0 };
        Ok(Self {
            model,
            entailment,
            contradiction,
            entailment_guessed: found.is_none(),
            max_batch_pairs: 64,
            max_batch_tokens: 1024,
            precision: Precision::Exact,
        })
    }

    pub fn entailment_id(&self) -> usize {
        self.entailment
    }

    pub fn contradiction_id(&self) -> usize {
        self.contradiction
    }

    pub fn classify(&self, text: &str, task: &ZeroShotTask) -> Result<ZeroShotResult> {
        Ok(self.classify_batch(&[text], task)?.remove(0))
    }

    /// Classifies several texts, batching their pairs.
    pub fn classify_batch(&self, texts: &[&str], task: &ZeroShotTask) -> Result<Vec<ZeroShotResult>> {
        let logits = self.nli_logits(texts, task)?;
        Ok(texts.iter().zip(logits).map(|(text, rows)| self.scores(text, task, &rows)).collect())
    }

    /// The raw NLI logits: for each text, one row of class logits per label.
    pub fn nli_logits(&self, texts: &[&str], task: &ZeroShotTask) -> Result<Vec<Vec<Vec<f32>>>> {
        let hypotheses = task.hypotheses();
        let groups: Vec<(&str, Vec<&str>)> = texts.iter().map(|t| (*t, hypotheses.iter().map(String::as_str).collect())).collect();
        self.grouped_logits(&groups)
    }

    /// Class logits for each (premise, hypotheses) group, one row per hypothesis, in the groups'
    /// order. Each premise is tokenized once, and each distinct hypothesis once per call. Pairs
    /// are taken from the texts shortest first, so that a pass pads to about its own length, and
    /// packed into passes of at most `max_batch_pairs` pairs and `max_batch_tokens` padded tokens;
    /// a text's pairs may be split across passes (many labels never make one giant pass).
    /// Padding and batching do not change results (tested), so this order is invisible.
    pub fn grouped_logits(&self, groups: &[(&str, Vec<&str>)]) -> Result<Vec<Vec<Vec<f32>>>> {
        let tokenizer = &self.model.tokenizer;
        let mut hypothesis_pieces: std::collections::HashMap<&str, Piece> = std::collections::HashMap::new();
        for (_, hypotheses) in groups {
            for h in hypotheses {
                if !hypothesis_pieces.contains_key(h) {
                    hypothesis_pieces.insert(h, tokenizer.piece(h)?);
                }
            }
        }
        let encoded: Vec<Vec<Encoded>> = groups
            .iter()
            .map(|(text, hypotheses)| {
                if hypotheses.is_empty() {
                    return Ok(Vec::new());
                }
                if text.trim().is_empty() {
                    return Err(Error::Input("the text is empty; there is nothing to classify".into()));
                }
                let premise = tokenizer.piece(text)?;
                hypotheses.iter().map(|h| self.pair(&premise, &hypothesis_pieces[h], h)).collect()
            })
            .collect::<Result<_>>()?;
        let longest = |g: &[Encoded]| g.iter().map(|e| e.ids.len()).max().unwrap_or(0);
        let mut order: Vec<usize> = (0..groups.len()).collect();
        order.sort_by_key(|&i| longest(&encoded[i]));
        let pairs: Vec<(usize, &Encoded)> = order.iter().flat_map(|&g| encoded[g].iter().map(move |e| (g, e))).collect();

        let lengths: Vec<usize> = pairs.iter().map(|(_, e)| e.ids.len()).collect();
        let batches = batch_ranges(&lengths, self.max_batch_pairs, self.max_batch_tokens);
        let logits = map_batches(&batches, |range| {
            let refs: Vec<&Encoded> = pairs[range].iter().map(|(_, e)| *e).collect();
            self.forward_encoded(&refs)
        })?;
        let mut out: Vec<Vec<Vec<f32>>> = encoded.iter().map(|g| Vec::with_capacity(g.len())).collect();
        for ((group, _), row) in pairs.iter().zip(logits.into_iter().flatten()) {
            out[*group].push(row);
        }
        Ok(out)
    }

    fn pair(&self, premise: &Piece, hypothesis: &Piece, text: &str) -> Result<Encoded> {
        let e = self.model.tokenizer.join_pair(premise, hypothesis)?;
        if e.ids.len() > self.model.tokenizer.max_length() {
            return Err(Error::Input(format!(
                "the hypothesis {text:?} alone is longer than the model's {} tokens; use a shorter label or template",
                self.model.tokenizer.max_length()
            )));
        }
        Ok(e)
    }

    /// One forward pass over encoded pairs, padded to the longest.
    fn forward_encoded(&self, encoded: &[&Encoded]) -> Result<Vec<Vec<f32>>> {
        if encoded.is_empty() {
            return Ok(Vec::new());
        }
        let mut input = self.model.batch(encoded)?;
        input.precision = self.precision;
        Ok(self.model.forward(&input)?.to_vec2::<f32>()?)
    }

    /// Turns one text's per-label logits into the pipeline's sorted scores.
    pub fn scores(&self, text: &str, task: &ZeroShotTask, rows: &[Vec<f32>]) -> ZeroShotResult {
        let scores: Vec<f32> = if task.multi_label || task.labels.len() == 1 {
            rows.iter().map(|r| softmax(&[r[self.contradiction], r[self.entailment]])[1]).collect()
        } else {
            softmax(&rows.iter().map(|r| r[self.entailment]).collect::<Vec<_>>())
        };
        // numpy's `reversed(argsort)`: ascending and stable for ties, then reversed.
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
        order.reverse();
        ZeroShotResult {
            sequence: text.to_string(),
            labels: order.iter().map(|&i| task.labels[i].clone()).collect(),
            scores: order.iter().map(|&i| scores[i]).collect(),
        }
    }
}

fn softmax(xs: &[f32]) -> Vec<f32> {
    let max = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = xs.iter().map(|x| (x - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
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
            assert_eq!(task(bad).unwrap_err().code(), crate::ErrorCode::Input, "{bad:?}");
        }
        let many: Vec<String> = (0..=MAX_LABELS).map(|i| format!("l{i}")).collect();
        assert!(task(&many[..MAX_LABELS].join(",")).is_ok());
        let error = task(&many.join(",")).unwrap_err().to_string();
        assert!(error.contains("1001 candidate labels") && error.contains("at most 1000"), "{error}");
    }

    #[test]
    fn softmax_is_stable_for_large_logits() {
        let p = softmax(&[1000.0, 1000.0]);
        assert_eq!(p, vec![0.5, 0.5]);
        let p = softmax(&[0.0, (3.0f32).ln()]);
        assert!((p[1] - 0.75).abs() < 1e-6);
    }
}
