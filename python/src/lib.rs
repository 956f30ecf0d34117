//! `selectra._native`: the core's models for Python. Every method calls the same core function
//! the CLI calls, with the GIL released while the model runs, and returns plain Python values
//! (floats are the core's float32 results, exactly); `selectra/__init__.py` turns them into
//! pyarrow tables. Errors are `SelectraError` with the core's message.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use selectra::domain::task::{ZeroShotTask, DEFAULT_TEMPLATE};
use selectra::engine::classify::{TextClassifier, TextInput};
use selectra::engine::hub::{DownloadObserver, HubSettings};
use selectra::engine::model::LoadOptions;
use selectra::engine::tag::{Aggregation, TagOptions, TokenTagger};
use selectra::engine::tokenize::TokenizerOptions;
use selectra::engine::zeroshot::ZeroShotClassifier;
use selectra::jobs::scale_out::{JobKind, Manifest};

create_exception!(selectra, SelectraError, PyException, "An error of the selectra core; the message says what was wrong and what to do.");

fn error(e: selectra::Error) -> PyErr {
    SelectraError::new_err(e.to_string())
}

/// Labels as a list, or as one comma-separated string (split as the pipeline splits it).
#[derive(FromPyObject)]
enum Labels {
    List(Vec<String>),
    Text(String),
}

impl Labels {
    fn into_vec(self) -> Vec<String> {
        match self {
            Labels::List(labels) => labels,
            Labels::Text(text) => ZeroShotTask::parse_labels(&text),
        }
    }
}

fn task(labels: Labels, template: Option<&str>, multi_label: bool) -> PyResult<ZeroShotTask> {
    ZeroShotTask::new(labels.into_vec(), template.unwrap_or(DEFAULT_TEMPLATE), multi_label).map_err(error)
}

/// A corpus job's kind, and its task when it is a zero-shot job with labels.
fn job(kind: &str, labels: Option<Labels>, template: Option<&str>, multi_label: bool) -> PyResult<(JobKind, Option<ZeroShotTask>)> {
    let kind = JobKind::parse(kind).map_err(error)?;
    let task = match (kind, labels) {
        (JobKind::Zeroshot, Some(labels)) => Some(task(labels, template, multi_label)?),
        _ => None,
    };
    Ok((kind, task))
}

/// A tagger's options: `aggregation` and `stride` as given, the rest from the corpus default
/// (`corpus`: what a corpus job tags with) or the pipeline's (one call: no aggregation, no stride).
fn tag_options(model: &selectra::Model, aggregation: Option<&str>, stride: Option<usize>, corpus: bool) -> PyResult<TagOptions> {
    let aggregation = aggregation.map(Aggregation::parse).transpose().map_err(error)?;
    Ok(if corpus {
        TagOptions::for_corpus_with(model, aggregation, stride)
    } else {
        TagOptions { aggregation: aggregation.unwrap_or_default(), stride }
    })
}

/// A loaded model: a Hub id (optionally `@revision`) or a folder, resolved through the Hugging
/// Face cache exactly as the CLI and the app resolve it.
#[pyclass(frozen, module = "selectra._native")]
struct Model {
    inner: Arc<selectra::Model>,
    strip_accents: Option<bool>,
}

/// A token of `inspect`: (token, id, start, end, logit, probability, untrained_embedding).
type InspectedToken = (String, u32, usize, usize, f32, f32, bool);
/// A token of `scan`: (token, start, end, probability, word_start).
type ScanToken = (String, usize, usize, f32, bool);
/// A record of `scan`: (suspicion, flagged, mean, windows, tokens).
type ScanRecord = (f32, u32, f32, usize, Vec<ScanToken>);
/// An entity of `tag`: (label, start, end, score, word).
type TagEntity = (String, usize, usize, f32, String);

#[pymethods]
impl Model {
    /// The model as it was named.
    #[getter]
    fn name(&self) -> String {
        self.inner.name.clone()
    }

    /// The architecture from config.json, e.g. "ElectraForSequenceClassification".
    #[getter]
    fn architecture(&self) -> String {
        self.inner.architecture().name().to_string()
    }

    /// The longest input in tokens; longer texts are cut (scans use windows instead).
    #[getter]
    fn max_length(&self) -> usize {
        self.inner.tokenizer.max_length()
    }

    /// The accent setting this model was loaded with (None: the tokenizer files' own).
    #[getter]
    fn strip_accents(&self) -> Option<bool> {
        self.strip_accents
    }

    /// Per-token discriminator scores of each text: (truncated, tokens).
    fn inspect(&self, py: Python<'_>, texts: Vec<String>) -> PyResult<Vec<(bool, Vec<InspectedToken>)>> {
        let model = self.inner.clone();
        py.detach(move || {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let inspections = selectra::engine::inspect::inspect_batch(&model, &refs)?;
            Ok(inspections
                .into_iter()
                .map(|i| {
                    let tokens =
                        i.tokens.into_iter().map(|t| (t.token, t.id, t.start, t.end, t.logit, t.probability, t.untrained_embedding)).collect();
                    (i.truncated, tokens)
                })
                .collect())
        })
        .map_err(error)
    }

    /// Zero-shot classification of each text with the pipeline's semantics: (labels, scores),
    /// sorted by score as the pipeline sorts them.
    #[pyo3(signature = (texts, labels, template=None, multi_label=false))]
    fn zeroshot(
        &self,
        py: Python<'_>,
        texts: Vec<String>,
        labels: Labels,
        template: Option<String>,
        multi_label: bool,
    ) -> PyResult<Vec<(Vec<String>, Vec<f32>)>> {
        let task = task(labels, template.as_deref(), multi_label)?;
        let model = self.inner.clone();
        py.detach(move || {
            let classifier = ZeroShotClassifier::new(&model)?;
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            Ok(classifier.classify_batch(&refs, &task)?.into_iter().map(|r| (r.labels, r.scores)).collect())
        })
        .map_err(error)
    }

    /// The discriminator scan of each text (long texts in windows), as a corpus scan stores it.
    fn scan(&self, py: Python<'_>, texts: Vec<String>) -> PyResult<Vec<ScanRecord>> {
        let model = self.inner.clone();
        py.detach(move || {
            let scanner = selectra::engine::scan::Scanner::new(&model)?;
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            Ok(scanner
                .scan(&refs)?
                .into_iter()
                .map(|r| {
                    let tokens = r.tokens.into_iter().map(|t| (t.token, t.start, t.end, t.probability, t.word_start)).collect();
                    (r.suspicion, r.flagged, r.mean, r.windows, tokens)
                })
                .collect())
        })
        .map_err(error)
    }

    /// Unit-length mean-pooled embeddings of each text, as an embedding job stores them.
    fn embed(&self, py: Python<'_>, texts: Vec<String>) -> PyResult<Vec<Vec<f32>>> {
        let model = self.inner.clone();
        py.detach(move || {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            selectra::engine::embed::Embedder::new(&model).embed(&refs)
        })
        .map_err(error)
    }

    /// A fine-tuned sequence classifier's scores of its own labels for each text (with its
    /// second text where `pairs` has one), as the text-classification pipeline with
    /// `top_k=None`: (labels, scores), highest first.
    #[pyo3(signature = (texts, pairs=None))]
    fn classify(&self, py: Python<'_>, texts: Vec<String>, pairs: Option<Vec<Option<String>>>) -> PyResult<Vec<(Vec<String>, Vec<f32>)>> {
        if pairs.as_ref().is_some_and(|p| p.len() != texts.len()) {
            return Err(error(selectra::Error::Input("pairs has another length than texts: one second text (or None) per text".into())));
        }
        let model = self.inner.clone();
        py.detach(move || {
            let classifier = TextClassifier::new(&model)?;
            let inputs: Vec<TextInput> =
                texts.iter().enumerate().map(|(i, text)| TextInput { text, pair: pairs.as_ref().and_then(|p| p[i].as_deref()) }).collect();
            Ok(classifier.classify_batch(&inputs)?.into_iter().map(|c| (c.labels, c.scores)).collect())
        })
        .map_err(error)
    }

    /// A token classifier's entities in each text, as the token-classification pipeline finds
    /// them: (entities, truncated), each entity (label, start, end, score, word). `aggregation`
    /// and `stride` are the pipeline's; with `corpus_defaults` the unset ones are a corpus
    /// job's (simple, a quarter of the model's length), else the pipeline's (none, no stride).
    #[pyo3(signature = (texts, aggregation=None, stride=None, corpus_defaults=false))]
    fn tag(
        &self,
        py: Python<'_>,
        texts: Vec<String>,
        aggregation: Option<String>,
        stride: Option<usize>,
        corpus_defaults: bool,
    ) -> PyResult<Vec<(Vec<TagEntity>, bool)>> {
        let options = tag_options(&self.inner, aggregation.as_deref(), stride, corpus_defaults)?;
        let model = self.inner.clone();
        py.detach(move || {
            let tagger = TokenTagger::new(&model)?;
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            Ok(tagger
                .tag_batch(&refs, options)?
                .into_iter()
                .map(|t| {
                    let entities = t.entities.into_iter().map(|e| (e.label().to_string(), e.start, e.end, e.score, e.word)).collect();
                    (entities, t.truncated)
                })
                .collect())
        })
        .map_err(error)
    }

    /// Checks that this model can run a corpus job of `kind` ("zeroshot", "scan", "embed",
    /// "classify" or "tag") with these labels and template (or tagging options), as a worker
    /// does before its first batch.
    #[pyo3(signature = (kind, labels=None, template=None, multi_label=false, aggregation=None, stride=None))]
    fn check_job(
        &self,
        kind: &str,
        labels: Option<Labels>,
        template: Option<String>,
        multi_label: bool,
        aggregation: Option<String>,
        stride: Option<usize>,
    ) -> PyResult<()> {
        let (kind, task) = job(kind, labels, template.as_deref(), multi_label)?;
        let tagging = tag_options(&self.inner, aggregation.as_deref(), stride, true)?;
        kind.check(&self.inner, task.as_ref(), Some(tagging)).map_err(error)
    }

    /// The manifest (JSON) of a corpus job of `kind` with this model over `input_rows` rows:
    /// what `selectra import-run` checks and keys the results by.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (kind, input_rows, labels=None, template=None, multi_label=false, aggregation=None, stride=None))]
    fn manifest(
        &self,
        py: Python<'_>,
        kind: &str,
        input_rows: u64,
        labels: Option<Labels>,
        template: Option<String>,
        multi_label: bool,
        aggregation: Option<String>,
        stride: Option<usize>,
    ) -> PyResult<String> {
        let (kind, task) = job(kind, labels, template.as_deref(), multi_label)?;
        let tagging = tag_options(&self.inner, aggregation.as_deref(), stride, true)?;
        let model = self.inner.clone();
        let strip_accents = self.strip_accents;
        let manifest = py.detach(move || Manifest::new(&model, kind, task.as_ref(), Some(tagging), strip_accents, input_rows)).map_err(error)?;
        Ok(serde_json::to_string_pretty(&manifest).expect("a manifest serializes"))
    }

    fn __repr__(&self) -> String {
        format!("selectra.Model({:?}, {})", self.inner.name, self.inner.architecture().name())
    }
}

/// Download progress on stderr (where notebooks and job logs show it), a line per file at most
/// every two seconds and when the file is complete; cache hits print nothing.
struct DownloadLines {
    last: Mutex<Option<(String, Instant)>>,
}

impl DownloadObserver for DownloadLines {
    fn progress(&self, file: &str, done: u64, total: u64) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = last.as_ref().is_none_or(|(f, at)| f != file || at.elapsed() >= Duration::from_secs(2));
        let finished = total > 0 && done >= total;
        let downloading = total > 0 && done < total;
        if (downloading && fresh) || (finished && last.as_ref().is_some_and(|(f, _)| f == file)) {
            let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
            eprintln!("selectra: downloading {file}: {:.1}/{:.1} MiB", mib(done), mib(total));
            *last = if finished { None } else { Some((file.to_string(), Instant::now())) };
        }
    }
}

/// Loads a model: a Hub id (`ORG/NAME`, optionally `@revision`) or a folder. Hub files come from
/// the Hugging Face cache (HF_HOME, HF_HUB_OFFLINE and HF_TOKEN apply), downloaded if missing.
#[pyfunction]
#[pyo3(signature = (spec, strip_accents=None))]
fn load(py: Python<'_>, spec: String, strip_accents: Option<bool>) -> PyResult<Model> {
    let model = py
        .detach(move || {
            let options = LoadOptions { tokenizer: TokenizerOptions { strip_accents }, hub: HubSettings::from_env() };
            selectra::Model::load(&spec, &options, Arc::new(DownloadLines { last: Mutex::new(None) }))
        })
        .map_err(error)?;
    Ok(Model { inner: Arc::new(model), strip_accents })
}

/// SHA-256 of a text's UTF-8 bytes, hex: how a job's result row names the text it was computed on.
#[pyfunction]
fn text_sha256(text: &str) -> String {
    selectra::jobs::scale_out::text_sha256(text)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(text_sha256, m)?)?;
    m.add("SelectraError", m.py().get_type::<SelectraError>())?;
    m.add("DEFAULT_TEMPLATE", DEFAULT_TEMPLATE)?;
    m.add("VERSION", selectra::VERSION)?;
    m.add("MANIFEST_FILE", selectra::jobs::scale_out::MANIFEST_FILE)?;
    m.add("RESULTS_DIR", selectra::jobs::scale_out::RESULTS_DIR)?;
    Ok(())
}
