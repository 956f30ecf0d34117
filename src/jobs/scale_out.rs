//! Corpus jobs computed away from the project, and their results brought back into it.
//!
//! The Python package (`python/`) runs zero-shot, scans, embeddings, fine-tuned classifiers and
//! taggers over a corpus exported to Parquet, typically on a Ray cluster. Such a job writes a [`Manifest`] (`manifest.json`: the
//! job's identity, everything that determines its results) and Parquet files of results under
//! `results/`, one row per record: the record's export id, the SHA-256 of the text it was
//! computed on, and the result columns of its kind ([`JobKind`]).
//!
//! [`import_results`] turns such a directory into the run, scan or embedding set the same job
//! would have made here, with the same identity, so the same CLI or app command resumes it and
//! every view, export and report reads it. It is idempotent: a record that already has a result
//! is compared with it (a difference is an error) and not written again, which also absorbs the
//! duplicate rows that an engine's retries can write. A row for a record the corpus does not
//! have, or computed on another text, is refused. Results are committed a batch per
//! transaction, so an interrupted import is a partial job that importing again completes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int32Type, Int64Type, UInt32Type, UInt64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::precision::Precision;
use crate::domain::progress::{JobStage, RunProgress};
use crate::domain::rtd::{RecordScan, ScannedToken};
use crate::domain::task::ZeroShotTask;
use crate::engine::embed::Embedder;
use crate::engine::model::Model;
use crate::engine::scan::Scanner;
use crate::engine::tag::{entity_types, TagOptions, TokenTagger};
use crate::engine::zeroshot::ZeroShotClassifier;
use crate::error::{Error, Result};
use crate::jobs::corpus_run::{classifier_function, sha256_file, zeroshot_run_key};
use crate::store::{EmbeddingKey, PredictionRow, ResultSet, RunKey, RunKind, ScanKey, Store, TaggedEntity, TaggedRecord};

/// The manifest's file name in a job's output directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The folder of a job's output directory that holds its Parquet results.
pub const RESULTS_DIR: &str = "results";
/// The manifest format this build writes and reads.
pub const MANIFEST_FORMAT: u32 = 1;
/// Result rows per import transaction.
const IMPORT_BATCH_ROWS: usize = 512;
/// The largest `manifest.json` read.
pub const MAX_MANIFEST_BYTES: u64 = 16 << 20;
/// The most Parquet files, and the deepest folder, read under `results/`.
pub const MAX_RESULT_FILES: usize = 100_000;
pub const MAX_RESULT_DEPTH: usize = 32;
/// How far a single-label row's scores may sum from 1 (the pipeline's softmax sums to 1 within
/// float32 rounding, a few units of 1e-7 for a thousand labels).
const DISTRIBUTION_TOLERANCE: f32 = 1e-3;
/// How far an embedding's length may be from 1 (the recipe makes unit vectors; float32 rounding
/// leaves them within about 1e-6).
const UNIT_LENGTH_TOLERANCE: f32 = 1e-3;

/// What a job computes: a zero-shot run, a discriminator scan, embeddings, a fine-tuned
/// classifier's run with its own labels, or a tagger's run (entities).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    Zeroshot,
    Scan,
    Embed,
    Classify,
    Tag,
}

impl JobKind {
    pub const ALL: [JobKind; 5] = [Self::Zeroshot, Self::Scan, Self::Embed, Self::Classify, Self::Tag];

    pub fn parse(name: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|k| k.name()).collect();
            Error::Input(format!("{name:?} is not a kind of corpus job; the kinds are {}", names.join(", ")))
        })
    }

    /// Whether `model` can do this job (a zero-shot job also needs its `task`; a tagging job is
    /// checked with its options, or the corpus default), without reading the weights again:
    /// what a worker checks before its first batch.
    pub fn check(self, model: &Model, task: Option<&ZeroShotTask>, tagging: Option<TagOptions>) -> Result<()> {
        match self {
            JobKind::Zeroshot => {
                ZeroShotClassifier::new(model)?;
                if task.is_none() {
                    return Err(Error::Input("a zero-shot job needs its labels".into()));
                }
            }
            JobKind::Scan => {
                Scanner::new(model)?;
            }
            JobKind::Embed => {}
            JobKind::Classify => {
                classifier_function(model)?;
            }
            JobKind::Tag => TokenTagger::new(model)?.check(tagging.unwrap_or_else(|| TagOptions::for_corpus(model)))?,
        }
        Ok(())
    }

    /// What the results become in a project.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Zeroshot | Self::Classify | Self::Tag => "run",
            Self::Scan => "scan",
            Self::Embed => "embedding set",
        }
    }

    /// The kind as manifests and the Python package write it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Zeroshot => "zeroshot",
            Self::Scan => "scan",
            Self::Embed => "embed",
            Self::Classify => "classify",
            Self::Tag => "tag",
        }
    }
}

/// A job's identity (`manifest.json`): the model and settings that determine its results, and
/// how many input rows it read. `labels`, `template` and `multi_label` are the run's key: a
/// zero-shot job's task; a classifier's `id2label` (template empty); a tagger's entity types
/// with its options as the template ("aggregation=simple stride=128").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// The selectra version that computed the results ("0.1.0 (commit)").
    pub selectra: String,
    pub kind: JobKind,
    /// The model as the job named it (Hub id or folder), which becomes the run's model name.
    pub model: String,
    /// The Hub commit the files came from, when they came from the Hugging Face cache.
    pub revision: Option<String>,
    pub weights_sha256: String,
    /// The tokenizer's accent setting as the job overrode it (null: the model's own).
    pub strip_accents: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// The template, or the label schema's hypotheses, as a run records them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_label: Option<bool>,
    /// Numbers per embedding (embedding jobs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dim: Option<usize>,
    /// Whether the recipe scales embeddings to unit length (embedding jobs; a sentence-transformers
    /// folder without a Normalize module does not). Absent in earlier manifests: unit length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_length: Option<bool>,
    /// Rows the job read from its input.
    pub input_rows: u64,
}

impl Manifest {
    /// The manifest of `kind` run with `model` (loaded with the `strip_accents` override) over
    /// `input_rows` rows; zero-shot jobs need their `task`, tagging jobs take their options (or
    /// the corpus default). Checks that the model can do the job.
    pub fn new(
        model: &Model,
        kind: JobKind,
        task: Option<&ZeroShotTask>,
        tagging: Option<TagOptions>,
        strip_accents: Option<bool>,
        input_rows: u64,
    ) -> Result<Self> {
        kind.check(model, task, tagging)?;
        let dim = (kind == JobKind::Embed).then(|| Embedder::new(model).dim());
        let unit_length = (kind == JobKind::Embed).then(|| Embedder::new(model).unit_length());
        let task = task.filter(|_| kind == JobKind::Zeroshot);
        let (labels, template, multi_label) = match kind {
            JobKind::Classify => {
                let sigmoid = classifier_function(model)? == crate::engine::classify::ScoreFunction::Sigmoid;
                (Some(model.config.id2label.clone()), Some(String::new()), Some(sigmoid))
            }
            JobKind::Tag => {
                let options = tagging.unwrap_or_else(|| TagOptions::for_corpus(model));
                (Some(entity_types(&model.config.id2label)), Some(options.describe()), Some(false))
            }
            _ => (task.map(|t| t.labels.clone()), task.map(|t| t.template_key()), task.map(|t| t.multi_label)),
        };
        Ok(Self {
            format: MANIFEST_FORMAT,
            selectra: crate::VERSION.to_string(),
            kind,
            model: model.name.clone(),
            revision: hub_revision(&model.files.folder),
            weights_sha256: sha256_file(&model.files.weights)?,
            strip_accents,
            labels,
            template,
            multi_label,
            dim,
            unit_length,
            input_rows,
        })
    }

    /// Reads `dir/manifest.json`: a regular file (a FIFO or device would block or never end) of
    /// at most [`MAX_MANIFEST_BYTES`], UTF-8 with or without a byte-order mark.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST_FILE);
        let meta = std::fs::metadata(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::Input(format!(
                    "{} has no {MANIFEST_FILE}: it is not the output of a corpus job (the Python package's selectra.ray jobs write one)",
                    dir.display()
                ))
            } else {
                Error::io(&path, e)
            }
        })?;
        if !meta.is_file() {
            return Err(Error::Input(format!("{} is not a regular file; a corpus job writes its manifest as one", path.display())));
        }
        if meta.len() > MAX_MANIFEST_BYTES {
            return Err(Error::Input(format!(
                "{} is {} bytes; a corpus job's manifest is a few kilobytes (at most {MAX_MANIFEST_BYTES} bytes are read)",
                path.display(),
                meta.len()
            )));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let manifest: Self = serde_json::from_str(text)
            .map_err(|e| Error::Input(format!("{} is not a corpus job's manifest: {}", path.display(), crate::error::shortened(&e.to_string()))))?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(Error::Input(format!(
                "{} is format {}, and this build reads format {MANIFEST_FORMAT}; import it with the selectra version that wrote it ({})",
                path.display(),
                manifest.format,
                crate::error::quoted(&manifest.selectra)
            )));
        }
        Ok(manifest)
    }

    /// The run a classifier's or tagger's job makes in `corpus`, and the tagger's options.
    fn task_model_run(&self, corpus: &str) -> Result<(RunKey, Option<TagOptions>)> {
        let (Some(labels), Some(template), Some(multi_label)) = (&self.labels, &self.template, self.multi_label) else {
            return Err(Error::Input(format!("the manifest of a {} job has no labels, template or multi_label", self.kind.name())));
        };
        let options = match self.kind {
            JobKind::Tag => Some(TagOptions::from_description(template)?),
            _ => None,
        };
        let key = RunKey {
            corpus: corpus.to_string(),
            model: self.model.clone(),
            weights_sha256: self.weights_sha256.clone(),
            labels: labels.clone(),
            template: template.clone(),
            multi_label,
            strip_accents: self.strip_accents,
            precision: Precision::Exact,
        };
        Ok((key, options))
    }

    /// The zero-shot task the manifest records.
    pub fn task(&self) -> Result<ZeroShotTask> {
        match (&self.labels, &self.template, self.multi_label) {
            (Some(labels), Some(template), Some(multi_label)) => ZeroShotTask::from_template_key(labels.clone(), template, multi_label),
            _ => Err(Error::Input("the manifest of a zero-shot job has no labels, template or multi_label".into())),
        }
    }
}

/// The snapshot commit of a folder in the Hugging Face cache (`…/snapshots/<commit>`).
fn hub_revision(folder: &Path) -> Option<String> {
    let name = folder.file_name()?.to_str()?;
    let parent = folder.parent()?.file_name()?.to_str()?;
    (parent == "snapshots" && name.len() == 40 && name.bytes().all(|b| b.is_ascii_hexdigit())).then(|| name.to_string())
}

/// SHA-256 of a text's UTF-8 bytes, hex-encoded: how a result row names the text it was computed on.
pub fn text_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    pub kind: JobKind,
    /// The run, scan or embedding set the results went into.
    pub id: i64,
    /// Results stored now.
    pub imported: u64,
    /// Result rows for records that already had this result (an earlier import, a duplicate row).
    pub already_present: u64,
    /// Records of the corpus with a result now, and in all.
    pub done: u64,
    pub records: u64,
    pub complete: bool,
    pub cancelled: bool,
}

/// How far two results of one record may differ and still be the same result: what one job
/// computes on CPUs with other vector instructions (AVX-512, AVX2, NEON) differs in the last
/// bits of float32, far below any difference of another model, text or setting.
const SAME_RESULT_TOLERANCE: f32 = 1e-5;

impl Row {
    /// Whether `other` is this result, up to [`SAME_RESULT_TOLERANCE`] (label order may differ
    /// where two scores tie within it).
    fn same_result(&self, other: &Row) -> bool {
        let close = |a: f32, b: f32| (a - b).abs() <= SAME_RESULT_TOLERANCE;
        match (self, other) {
            (Row::Labels(a), Row::Labels(b)) => {
                let score = |p: &PredictionRow, label: &str| p.labels.iter().position(|l| l == label).map(|i| p.scores[i]);
                a.labels.len() == b.labels.len() && a.labels.iter().zip(&a.scores).all(|(l, &s)| score(b, l).is_some_and(|t| close(s, t)))
            }
            (Row::Scan(a), Row::Scan(b)) => {
                a.windows == b.windows
                    && close(a.suspicion, b.suspicion)
                    && close(a.mean, b.mean)
                    && a.flagged.abs_diff(b.flagged) <= 1
                    && a.tokens.len() == b.tokens.len()
                    && a.tokens.iter().zip(&b.tokens).all(|(x, y)| {
                        (&x.token, x.start, x.end, x.word_start) == (&y.token, y.start, y.end, y.word_start) && close(x.probability, y.probability)
                    })
            }
            (Row::Embed(a), Row::Embed(b)) => a.len() == b.len() && a.iter().zip(b).all(|(&x, &y)| close(x, y)),
            (Row::Tagged(a), Row::Tagged(b)) => {
                a.truncated == b.truncated
                    && a.entities.len() == b.entities.len()
                    && a.entities.iter().zip(&b.entities).all(|(x, y)| (&x.0, x.1, x.2) == (&y.0, y.1, y.2) && close(x.3, y.3))
            }
            _ => false,
        }
    }
}

/// Where the results go. The run, scan or embedding set is looked up without creating it, and
/// created only when the first checked batch is written: an import refused before that leaves
/// nothing behind.
struct Target {
    kind: TargetKind,
    /// The set, once it exists.
    id: Option<i64>,
    /// Whether this import created it (then a refusal deletes it again).
    created: bool,
    /// The records this import stored results for, so that a refusal can take them back.
    written: Vec<i64>,
}

enum TargetKind {
    Run {
        key: RunKey,
        task: ZeroShotTask,
    },
    /// A fine-tuned classifier's run: scores of the key's labels.
    Classified {
        key: RunKey,
    },
    /// A tagger's run: entities per record.
    Tagged {
        key: RunKey,
    },
    Scan {
        key: ScanKey,
    },
    Embed {
        key: EmbeddingKey,
        dim: usize,
        unit_length: bool,
    },
}

/// One parsed result row.
#[derive(Debug, Clone, PartialEq)]
enum Row {
    /// Every label's score (a zero-shot job or a classifier's).
    Labels(PredictionRow),
    Tagged(TaggedRecord),
    Scan(RecordScan),
    Embed(Vec<f32>),
}

/// Imports the results in `dir` (a manifest and `results/*.parquet`) into `corpus` as the run,
/// scan or embedding set the manifest describes. See the module documentation.
///
/// All or nothing: every row is checked before it is stored, and a refused row (or any other
/// error) takes back what this import stored, including the run, scan or embedding set if the
/// import created it. A cancel keeps what was stored, a partial job that importing again completes.
pub fn import_results(
    store: &mut Store,
    corpus: &str,
    dir: &Path,
    progress: &mut dyn FnMut(RunProgress),
    cancel: &AtomicBool,
) -> Result<ImportSummary> {
    let manifest = Manifest::read(dir)?;
    let info = store.corpus(corpus)?;
    if manifest.input_rows > info.records {
        return Err(Error::Input(format!(
            "the job read {} rows and corpus {corpus:?} has {} records: its input was not an export of this corpus",
            manifest.input_rows, info.records
        )));
    }
    let files = result_files(dir)?;
    let mut target = Target::find(store, corpus, &manifest)?;
    let result = read_results(store, &info, &manifest, &files, &mut target, progress, cancel);
    match result {
        Ok(summary) => Ok(summary),
        Err(e) => {
            // Take back what this import stored; the error that refused it is what the user needs.
            let _ = target.take_back(store);
            Err(e)
        }
    }
}

fn read_results(
    store: &mut Store,
    info: &crate::store::CorpusInfo,
    manifest: &Manifest,
    files: &[PathBuf],
    target: &mut Target,
    progress: &mut dyn FnMut(RunProgress),
    cancel: &AtomicBool,
) -> Result<ImportSummary> {
    let corpus = info.name.as_str();
    let row_prefix = store.row_id_prefix(info.id)?;
    let started = Instant::now();
    let done_before = target.done(store)?;
    let mut summary = ImportSummary {
        kind: manifest.kind,
        id: target.id.unwrap_or(0),
        imported: 0,
        already_present: 0,
        done: done_before,
        records: info.records,
        complete: false,
        cancelled: false,
    };
    // This batch's rows, by record: the store holds every earlier batch's.
    let mut pending: HashMap<i64, Row> = HashMap::new();
    let mut rows_read = 0u64;
    'files: for file in files {
        let open = std::fs::File::open(file).map_err(|e| Error::io(file, e))?;
        let bad_file = |e: parquet::errors::ParquetError| {
            Error::Input(format!("{} is not a readable Parquet file: {}", file.display(), crate::error::shortened(&e.to_string())))
        };
        let mut reader = parquet_guard(file, || {
            ParquetRecordBatchReaderBuilder::try_new(open).map_err(bad_file)?.with_batch_size(1024).build().map_err(bad_file)
        })?;
        // Rows of this file before the current batch, so that messages give the row in the file.
        let mut file_row = 0usize;
        loop {
            if cancel.load(Ordering::Relaxed) {
                summary.cancelled = true;
                break 'files;
            }
            let Some(batch) = parquet_guard(file, || Ok(reader.next()))? else { break };
            let batch = batch.map_err(|e| Error::Input(format!("{} cannot be read: {}", file.display(), crate::error::shortened(&e.to_string()))))?;
            let columns = Columns::new(&batch, manifest.kind, file)?;
            for i in 0..batch.num_rows() {
                let at = || format!("{} row {}", file.display(), file_row + i + 1);
                let id = columns.id(i).map_err(|why| Error::Input(format!("{}: {why}", at())))?;
                let (record_id, text) = store.record_by_export_id(info.id, &id, &row_prefix)?.ok_or_else(|| {
                    Error::Input(format!(
                        "{}: corpus {corpus:?} has no record with id {}; these results are of another corpus",
                        at(),
                        crate::error::quoted(&id)
                    ))
                })?;
                let id = crate::error::quoted(&id);
                if columns.text_sha256(i) != Some(text_sha256(&text).as_str()) {
                    return Err(Error::Input(format!(
                        "{}: the result for record {id} was computed on another text than the corpus holds; export the corpus again and rerun the job",
                        at()
                    )));
                }
                let row = columns.row(i, record_id, &text, &target.kind).map_err(|e| Error::Input(format!("{}: record {id}: {e}", at())))?;
                let existing = match pending.get(&record_id) {
                    Some(row) => Some(row.clone()),
                    None => target.stored(store, record_id)?,
                };
                rows_read += 1;
                match existing {
                    Some(stored) if stored.same_result(&row) => summary.already_present += 1,
                    Some(_) => {
                        return Err(Error::Input(format!(
                            "{}: record {id} already has a different result in this {}; results of one job are identical for a record, so these come from another computation",
                            at(),
                            manifest.kind.noun()
                        )))
                    }
                    None => {
                        pending.insert(record_id, row);
                    }
                }
            }
            file_row += batch.num_rows();
            if pending.len() >= IMPORT_BATCH_ROWS {
                summary.imported += target.save(store, pending.drain().collect())?;
                report(&mut summary, done_before, rows_read, started, progress);
            }
        }
    }
    if !summary.cancelled {
        summary.imported += target.save(store, pending.drain().collect())?;
    }
    summary.id = if summary.cancelled { target.id.unwrap_or(0) } else { target.ensure(store)? };
    report(&mut summary, done_before, rows_read, started, progress);
    if summary.done == summary.records && !summary.cancelled {
        target.finish(store)?;
        summary.complete = true;
    }
    Ok(summary)
}

/// Runs one step of reading a Parquet file and turns a panic inside the parquet crate (it
/// asserts on some damaged footers instead of returning an error) into an error naming the
/// file. The panic's own report is kept off stderr: the error says it all.
fn parquet_guard<T>(file: &Path, read: impl FnOnce() -> Result<T>) -> Result<T> {
    crate::error::panic_guard::catch(read).unwrap_or_else(|message| {
        Err(Error::Input(format!(
            "{} is damaged: the Parquet reader failed on it ({}); write the results again",
            file.display(),
            crate::error::shortened(&message)
        )))
    })
}

/// Records with a result are those before the import and those it stored (the store refuses a
/// second result for a record, so nothing is counted twice).
fn report(summary: &mut ImportSummary, done_before: u64, rows_read: u64, started: Instant, progress: &mut dyn FnMut(RunProgress)) {
    summary.done = done_before + summary.imported;
    let rate = rows_read as f64 / started.elapsed().as_secs_f64().max(1e-9);
    progress(RunProgress { done: summary.done, total: summary.records, records_per_sec: rate, eta_secs: None, stage: JobStage::Computing });
}

/// The Parquet files under `dir/results`, in path order. Only plain files and folders are read:
/// a symbolic link is refused (`ln -s . results/a` would make the folder infinite), and so is
/// a `.parquet` that is not a regular file (a FIFO would block forever); the walk is bounded
/// by [`MAX_RESULT_DEPTH`] and [`MAX_RESULT_FILES`].
fn result_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let root = dir.join(RESULTS_DIR);
    let mut files = Vec::new();
    let mut folders = vec![(root.clone(), 0usize)];
    while let Some((folder, depth)) = folders.pop() {
        let entries = std::fs::read_dir(&folder).map_err(|e| Error::io(&folder, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&folder, e))?;
            let path = entry.path();
            // The entry's own type: links are not followed.
            let kind = entry.file_type().map_err(|e| Error::io(&path, e))?;
            if kind.is_symlink() {
                return Err(Error::Input(format!(
                    "{} is a symbolic link; results are read only from plain files and folders under {} (copy the files there)",
                    path.display(),
                    root.display()
                )));
            }
            if kind.is_dir() {
                if depth + 1 > MAX_RESULT_DEPTH {
                    return Err(Error::Input(format!("{} is more than {MAX_RESULT_DEPTH} folders deep under {}", path.display(), root.display())));
                }
                folders.push((path, depth + 1));
            } else if path.extension().is_some_and(|e| e == "parquet") {
                if !kind.is_file() {
                    return Err(Error::Input(format!("{} is not a regular file; results are Parquet files", path.display())));
                }
                files.push(path);
                if files.len() > MAX_RESULT_FILES {
                    return Err(Error::Input(format!(
                        "{} holds more than {MAX_RESULT_FILES} Parquet files; a job writes far fewer (merge them, or import them in parts)",
                        root.display()
                    )));
                }
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(Error::Input(format!("{} has no .parquet files; the job wrote no results", root.display())));
    }
    Ok(files)
}

impl Target {
    /// The manifest's run, scan or embedding set if the project has it (nothing is created).
    fn find(store: &Store, corpus: &str, manifest: &Manifest) -> Result<Self> {
        let (kind, id) = match manifest.kind {
            JobKind::Zeroshot => {
                let task = manifest.task()?;
                let key = zeroshot_run_key(corpus, &manifest.model, &manifest.weights_sha256, &task, manifest.strip_accents, Precision::Exact);
                let id = store.find_run(&key)?.map(|r| r.id);
                (TargetKind::Run { key, task }, id)
            }
            JobKind::Classify | JobKind::Tag => {
                let (key, _) = manifest.task_model_run(corpus)?;
                let id = store.find_run(&key)?.map(|r| r.id);
                (if manifest.kind == JobKind::Tag { TargetKind::Tagged { key } } else { TargetKind::Classified { key } }, id)
            }
            JobKind::Scan => {
                let key = ScanKey {
                    corpus: corpus.to_string(),
                    model: manifest.model.clone(),
                    weights_sha256: manifest.weights_sha256.clone(),
                    strip_accents: manifest.strip_accents,
                };
                let id = store.scans(Some(corpus))?.into_iter().find(|s| s.key == key).map(|s| s.id);
                (TargetKind::Scan { key }, id)
            }
            JobKind::Embed => {
                let dim = manifest.dim.filter(|&d| d > 0).ok_or_else(|| Error::Input("the manifest of an embedding job has no dim".into()))?;
                let key = EmbeddingKey {
                    corpus: corpus.to_string(),
                    model: manifest.model.clone(),
                    weights_sha256: manifest.weights_sha256.clone(),
                    strip_accents: manifest.strip_accents,
                };
                let existing = store
                    .embedding_sets(corpus)?
                    .into_iter()
                    .find(|e| e.key.weights_sha256 == key.weights_sha256 && e.key.strip_accents == key.strip_accents);
                if let Some(set) = &existing {
                    if set.dim != dim {
                        return Err(Error::Input(format!(
                            "the job's embeddings have {dim} numbers and embedding set {} of the same weights has {}: they are not the same model's",
                            set.id, set.dim
                        )));
                    }
                }
                (TargetKind::Embed { key, dim, unit_length: manifest.unit_length.unwrap_or(true) }, existing.map(|e| e.id))
            }
        };
        Ok(Self { kind, id, created: false, written: Vec::new() })
    }

    fn set(&self, id: i64) -> ResultSet {
        match self.kind {
            TargetKind::Run { .. } | TargetKind::Classified { .. } => ResultSet::Run(id),
            TargetKind::Tagged { .. } => ResultSet::Tagging(id),
            TargetKind::Scan { .. } => ResultSet::Scan(id),
            TargetKind::Embed { .. } => ResultSet::Embeddings(id),
        }
    }

    /// The set's id, creating it if the project does not have it yet.
    fn ensure(&mut self, store: &mut Store) -> Result<i64> {
        if let Some(id) = self.id {
            return Ok(id);
        }
        let id = match &self.kind {
            TargetKind::Run { key, .. } => store.open_run(key)?.id,
            TargetKind::Classified { key } => store.open_run_as(key, RunKind::Classifier)?.id,
            TargetKind::Tagged { key } => store.open_run_as(key, RunKind::Tagger)?.id,
            TargetKind::Scan { key } => store.open_scan(key)?.id,
            TargetKind::Embed { key, dim, .. } => store.open_embeddings(key, *dim)?.id,
        };
        self.id = Some(id);
        self.created = true;
        Ok(id)
    }

    fn stored(&self, store: &Store, record_id: i64) -> Result<Option<Row>> {
        let Some(id) = self.id else { return Ok(None) };
        Ok(match self.kind {
            TargetKind::Run { .. } | TargetKind::Classified { .. } => store.prediction(id, record_id)?.map(Row::Labels),
            TargetKind::Tagged { .. } => store.tagged(id, record_id)?.map(Row::Tagged),
            TargetKind::Scan { .. } => store.scan_result(id, record_id)?.map(Row::Scan),
            TargetKind::Embed { .. } => store.embedding(id, record_id)?.map(Row::Embed),
        })
    }

    /// Stores `rows` (by record) in one transaction; returns how many.
    fn save(&mut self, store: &mut Store, mut rows: Vec<(i64, Row)>) -> Result<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        rows.sort_by_key(|(record, _)| *record);
        let id = self.ensure(store)?;
        let records: Vec<i64> = rows.iter().map(|(record, _)| *record).collect();
        match self.kind {
            TargetKind::Run { .. } | TargetKind::Classified { .. } => {
                let predictions: Vec<PredictionRow> =
                    rows.into_iter().filter_map(|(_, row)| if let Row::Labels(p) = row { Some(p) } else { None }).collect();
                store.save_predictions(id, "", &[], &predictions)?;
            }
            TargetKind::Tagged { .. } => {
                let tagged: Vec<TaggedRecord> =
                    rows.into_iter().filter_map(|(_, row)| if let Row::Tagged(t) = row { Some(t) } else { None }).collect();
                store.save_tagged(id, &tagged)?;
            }
            TargetKind::Scan { .. } => {
                let scans: Vec<(i64, RecordScan)> =
                    rows.into_iter().filter_map(|(record, row)| if let Row::Scan(s) = row { Some((record, s)) } else { None }).collect();
                store.save_scan_results(id, &scans)?;
            }
            TargetKind::Embed { .. } => {
                let vectors: Vec<(i64, Vec<f32>)> =
                    rows.into_iter().filter_map(|(record, row)| if let Row::Embed(v) = row { Some((record, v)) } else { None }).collect();
                store.save_embeddings(id, &vectors)?;
            }
        }
        let n = records.len() as u64;
        self.written.extend(records);
        Ok(n)
    }

    fn done(&self, store: &Store) -> Result<u64> {
        match self.id {
            None => Ok(0),
            Some(id) => store.result_count(self.set(id)),
        }
    }

    fn finish(&self, store: &mut Store) -> Result<()> {
        match (self.id, &self.kind) {
            (Some(id), TargetKind::Run { .. } | TargetKind::Classified { .. } | TargetKind::Tagged { .. }) => store.finish_run(id),
            (Some(id), TargetKind::Scan { .. }) => store.finish_scan(id),
            (Some(id), TargetKind::Embed { .. }) => store.finish_embeddings(id),
            (None, _) => Ok(()),
        }
    }

    /// Takes back what this import stored: its results, and the set itself if the import
    /// created it and nothing else wrote to it meanwhile.
    fn take_back(&mut self, store: &mut Store) -> Result<()> {
        let Some(id) = self.id else { return Ok(()) };
        let set = self.set(id);
        store.delete_results(set, &self.written)?;
        self.written.clear();
        if self.created && store.result_count(set)? == 0 {
            store.delete_result_set(set)?;
        }
        Ok(())
    }
}

/// A result file's columns, checked once per batch.
struct Columns {
    id: ArrayRef,
    text_sha256: ArrayRef,
    values: Vec<ArrayRef>,
}

/// The columns each kind of result has after `id` and `text_sha256`.
fn result_columns(kind: JobKind) -> &'static [&'static str] {
    match kind {
        JobKind::Zeroshot => &["labels", "scores"],
        JobKind::Scan => &["suspicion", "flagged", "mean", "windows", "tokens"],
        JobKind::Embed => &["embedding"],
        JobKind::Classify => &["labels", "scores"],
        JobKind::Tag => &["entities", "truncated"],
    }
}

impl Columns {
    fn new(batch: &RecordBatch, kind: JobKind, file: &Path) -> Result<Self> {
        let column = |name: &str| {
            batch.column_by_name(name).cloned().ok_or_else(|| {
                Error::Input(format!(
                    "{} has no column {name:?}; a {} job's results have id, text_sha256, {}",
                    file.display(),
                    kind.name(),
                    result_columns(kind).join(", ")
                ))
            })
        };
        Ok(Self {
            id: column("id")?,
            text_sha256: column("text_sha256")?,
            values: result_columns(kind).iter().map(|name| column(name)).collect::<Result<_>>()?,
        })
    }

    /// The row's export id: text, or an integer column's number as text (a job that kept ids of
    /// row numbers as integers).
    fn id(&self, i: usize) -> std::result::Result<String, String> {
        if self.id.is_null(i) {
            return Err("the id is missing (null)".into());
        }
        if let Some(id) = string_at(&self.id, i) {
            return Ok(id.to_string());
        }
        if let Some(n) = int_at(&self.id, i) {
            return Ok(n.to_string());
        }
        Err(format!("the id column is {}; ids are text (or integers)", self.id.data_type()))
    }

    fn text_sha256(&self, i: usize) -> Option<&str> {
        string_at(&self.text_sha256, i)
    }

    fn row(&self, i: usize, record_id: i64, text: &str, target: &TargetKind) -> std::result::Result<Row, String> {
        match target {
            TargetKind::Run { task, .. } => self.label_row(i, record_id, &task.labels, task.multi_label),
            TargetKind::Classified { key } => self.label_row(i, record_id, &key.labels, key.multi_label),
            TargetKind::Tagged { .. } => {
                let entities = list_at(&self.values[0], i).ok_or("entities are missing")?;
                let truncated = self.values[1].as_boolean_opt().filter(|b| !b.is_null(i)).ok_or("truncated is missing (a boolean)")?.value(i);
                Ok(Row::Tagged(TaggedRecord { record_id, entities: tagged_entities(&entities, text)?, truncated }))
            }
            TargetKind::Scan { .. } => {
                let tokens = list_at(&self.values[4], i).ok_or("tokens are missing")?;
                let tokens = scanned_tokens(&tokens, text.chars().count())?;
                let scan = RecordScan {
                    suspicion: float_at(&self.values[0], i).ok_or("suspicion is missing")?,
                    flagged: u32::try_from(int_at(&self.values[1], i).ok_or("flagged is missing")?).map_err(|_| "flagged is out of range")?,
                    mean: float_at(&self.values[2], i).ok_or("mean is missing")?,
                    windows: usize::try_from(int_at(&self.values[3], i).ok_or("windows is missing")?).map_err(|_| "windows is out of range")?,
                    tokens,
                };
                let (suspicion, flagged, mean) = crate::domain::rtd::summarize(&scan.tokens);
                if (suspicion, flagged, mean) != (scan.suspicion, scan.flagged, scan.mean) || scan.windows == 0 {
                    return Err("its suspicion, flagged count and mean are not those of its tokens".into());
                }
                Ok(Row::Scan(scan))
            }
            TargetKind::Embed { dim, unit_length, .. } => {
                let vector = floats(&list_at(&self.values[0], i).ok_or("the embedding is missing")?)?;
                if vector.len() != *dim || vector.iter().any(|v| !v.is_finite()) {
                    return Err(format!(
                        "the embedding has {} numbers (finite: {}), the set has {dim}",
                        vector.len(),
                        vector.iter().all(|v| v.is_finite())
                    ));
                }
                let length = vector.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>().sqrt() as f32;
                if *unit_length && (length - 1.0).abs() > UNIT_LENGTH_TOLERANCE {
                    return Err(format!("the embedding's length is {length}; the recipe's embeddings have length 1"));
                }
                Ok(Row::Embed(vector))
            }
        }
    }

    /// Every label's score (a zero-shot or a classifier's job): the job's labels exactly, scores
    /// that are probabilities (a distribution for a single-label job), stored by score.
    fn label_row(&self, i: usize, record_id: i64, job_labels: &[String], multi_label: bool) -> std::result::Result<Row, String> {
        use crate::error::{quoted_list, shortened};
        let labels = strings(&list_at(&self.values[0], i).ok_or("labels are missing")?)?;
        let scores = floats(&list_at(&self.values[1], i).ok_or("scores are missing")?)?;
        let mut sorted = labels.clone();
        sorted.sort();
        let mut expected = job_labels.to_vec();
        expected.sort();
        if sorted != expected || scores.len() != labels.len() {
            return Err(format!(
                "the labels {} with {} scores are not the job's labels {}",
                quoted_list(&labels),
                scores.len(),
                quoted_list(job_labels)
            ));
        }
        if scores.iter().any(|s| !(0.0..=1.0).contains(s)) {
            return Err(shortened(&format!("the scores {scores:?} are not probabilities")));
        }
        let sum: f32 = scores.iter().sum();
        if !multi_label && labels.len() > 1 && (sum - 1.0).abs() > DISTRIBUTION_TOLERANCE {
            return Err(format!("the scores sum to {sum}, and a single-label job's scores are a distribution over its labels (they sum to 1)"));
        }
        // The store takes the first label as the top one: order the pairs by score, as the
        // pipeline does, whatever order the producer wrote them in.
        let mut pairs: Vec<(String, f32)> = labels.into_iter().zip(scores).collect();
        pairs.sort_by(|a, b| b.1.total_cmp(&a.1));
        let (labels, scores) = pairs.into_iter().unzip();
        Ok(Row::Labels(PredictionRow { record_id, labels, scores }))
    }
}

fn string_at(array: &ArrayRef, i: usize) -> Option<&str> {
    if array.is_null(i) {
        return None;
    }
    match array.data_type() {
        DataType::Utf8 => Some(array.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => Some(array.as_string::<i64>().value(i)),
        DataType::Utf8View => Some(array.as_string_view().value(i)),
        _ => None,
    }
}

fn list_at(array: &ArrayRef, i: usize) -> Option<ArrayRef> {
    if array.is_null(i) {
        return None;
    }
    match array.data_type() {
        DataType::List(_) => Some(array.as_list::<i32>().value(i)),
        DataType::LargeList(_) => Some(array.as_list::<i64>().value(i)),
        DataType::FixedSizeList(..) => Some(array.as_fixed_size_list().value(i)),
        _ => None,
    }
}

fn strings(array: &ArrayRef) -> std::result::Result<Vec<String>, String> {
    (0..array.len())
        .map(|i| string_at(array, i).map(str::to_string).ok_or_else(|| format!("a list of {} is not a list of strings", array.data_type())))
        .collect()
}

/// Scores and vectors are float32 exactly as computed; other float types are refused rather
/// than rounded.
fn floats(array: &ArrayRef) -> std::result::Result<Vec<f32>, String> {
    match array.as_primitive_opt::<Float32Type>() {
        Some(values) if values.null_count() == 0 => Ok(values.values().to_vec()),
        _ => Err(format!("a list of {} is not a list of float32 numbers", array.data_type())),
    }
}

fn float_at(array: &ArrayRef, i: usize) -> Option<f32> {
    (!array.is_null(i)).then(|| array.as_primitive_opt::<Float32Type>().map(|a| a.value(i))).flatten()
}

fn int_at(array: &ArrayRef, i: usize) -> Option<i64> {
    if array.is_null(i) {
        return None;
    }
    match array.data_type() {
        DataType::Int64 => Some(array.as_primitive::<Int64Type>().value(i)),
        DataType::Int32 => Some(array.as_primitive::<Int32Type>().value(i) as i64),
        DataType::UInt32 => Some(array.as_primitive::<UInt32Type>().value(i) as i64),
        DataType::UInt64 => i64::try_from(array.as_primitive::<UInt64Type>().value(i)).ok(),
        _ => None,
    }
}

/// A record's entities from a tagging job: each inside the record's text, with a type and a
/// probability; the text each covers is taken from the record (the job's is not trusted).
fn tagged_entities(entities: &ArrayRef, text: &str) -> std::result::Result<Vec<TaggedEntity>, String> {
    let entities = entities.as_struct_opt().ok_or("entities are not a list of structs")?;
    let field = |name: &str| entities.column_by_name(name).cloned().ok_or_else(|| format!("entities have no field {name:?}"));
    let (label, start, end, score) = (field("label")?, field("start")?, field("end")?, field("score")?);
    let chars: Vec<char> = text.chars().collect();
    (0..entities.len())
        .map(|i| {
            let span = |a: &ArrayRef| int_at(a, i).and_then(|v| usize::try_from(v).ok());
            let (Some(s), Some(e)) = (span(&start), span(&end)) else { return Err(format!("entity {i} has no character span")) };
            let p = float_at(&score, i).ok_or_else(|| format!("entity {i} has no score"))?;
            let label = string_at(&label, i).filter(|l| !l.trim().is_empty()).ok_or_else(|| format!("entity {i} has no label"))?;
            if s > e || e > chars.len() || !(0.0..=1.0).contains(&p) {
                return Err(format!("entity {i} (characters {s}..{e}, score {p}) does not fit the record"));
            }
            Ok((label.to_string(), s, e, p, chars[s..e].iter().collect()))
        })
        .collect()
}

/// A record's scanned tokens, each inside the record's text and after the one before it (spans
/// in order, never overlapping): what every reader of a scan (words, the report's excerpts)
/// relies on.
fn scanned_tokens(tokens: &ArrayRef, text_chars: usize) -> std::result::Result<Vec<ScannedToken>, String> {
    let tokens = tokens.as_struct_opt().ok_or("tokens are not a list of structs")?;
    let field = |name: &str| tokens.column_by_name(name).cloned().ok_or_else(|| format!("tokens have no field {name:?}"));
    let (token, start, end, probability, word_start) = (field("token")?, field("start")?, field("end")?, field("probability")?, field("word_start")?);
    let word_start = word_start.as_boolean_opt().ok_or("word_start is not a boolean")?;
    let mut previous_end = 0;
    (0..tokens.len())
        .map(|i| {
            let span = |a: &ArrayRef| int_at(a, i).and_then(|v| usize::try_from(v).ok());
            let (Some(s), Some(e)) = (span(&start), span(&end)) else { return Err(format!("token {i} has no character span")) };
            let p = float_at(&probability, i).ok_or_else(|| format!("token {i} has no probability"))?;
            if s > e || e > text_chars || !(0.0..=1.0).contains(&p) || word_start.is_null(i) {
                return Err(format!("token {i} (characters {s}..{e}, P {p}) does not fit the record"));
            }
            if s < previous_end {
                return Err(format!(
                    "token {i} (characters {s}..{e}) starts before the token before it ends ({previous_end}); a scan's tokens follow the text in order"
                ));
            }
            previous_end = e;
            Ok(ScannedToken {
                token: string_at(&token, i).ok_or_else(|| format!("token {i} has no text"))?.to_string(),
                start: s,
                end: e,
                probability: p,
                word_start: word_start.value(i),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kind's name is how the manifest spells it, and parses back.
    #[test]
    fn kinds_are_named_as_manifests_write_them() {
        for kind in JobKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.name());
            assert_eq!(JobKind::parse(kind.name()).unwrap(), kind);
        }
        assert!(JobKind::parse("train").unwrap_err().to_string().contains("zeroshot, scan, embed"));
    }

    /// Last-bit differences (another CPU's vector instructions) are the same result; a real
    /// difference, or another label order without a tie, is not.
    #[test]
    fn results_are_the_same_up_to_float_rounding_only() {
        let p = |labels: [&str; 2], scores: [f32; 2]| {
            Row::Labels(PredictionRow { record_id: 1, labels: labels.map(String::from).to_vec(), scores: scores.to_vec() })
        };
        let a = p(["deportes", "política"], [0.7, 0.3]);
        let ulp = |v: f32| f32::from_bits(v.to_bits() + 1);
        assert!(a.same_result(&p(["deportes", "política"], [ulp(0.7), 0.3])));
        assert!(a.same_result(&p(["política", "deportes"], [0.3, 0.7])), "the same scores, listed in another order");
        assert!(!a.same_result(&p(["deportes", "política"], [0.701, 0.299])));
        assert!(!a.same_result(&p(["deportes", "economía"], [0.7, 0.3])));
        assert!(!a.same_result(&Row::Embed(vec![0.7, 0.3])));
        let v = Row::Embed(vec![0.25, -0.5]);
        assert!(v.same_result(&Row::Embed(vec![ulp(0.25), -0.5])));
        assert!(!v.same_result(&Row::Embed(vec![0.25, -0.5, 0.0])));
    }
}
