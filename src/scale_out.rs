//! Corpus jobs computed away from the project, and their results brought back into it.
//!
//! The Python package (`python/`) runs zero-shot, scans and embeddings over a corpus exported to
//! Parquet, typically on a Ray cluster. Such a job writes a [`Manifest`] (`manifest.json`: the
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

use crate::corpus_run::{sha256_file, zeroshot_run_key, JobStage, RunProgress};
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::precision::Precision;
use crate::scan::{RecordScan, ScannedToken, Scanner};
use crate::store::{EmbeddingKey, PredictionRow, ScanKey, Store};
use crate::zeroshot::{ZeroShotClassifier, ZeroShotTask};

/// The manifest's file name in a job's output directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The folder of a job's output directory that holds its Parquet results.
pub const RESULTS_DIR: &str = "results";
/// The manifest format this build writes and reads.
pub const MANIFEST_FORMAT: u32 = 1;
/// Result rows per import transaction.
const IMPORT_BATCH_ROWS: usize = 512;

/// What a job computes: a zero-shot run, a discriminator scan, or embeddings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    Zeroshot,
    Scan,
    Embed,
}

impl JobKind {
    pub const ALL: [JobKind; 3] = [Self::Zeroshot, Self::Scan, Self::Embed];

    pub fn parse(name: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|k| k.name()).collect();
            Error::Input(format!("{name:?} is not a kind of corpus job; the kinds are {}", names.join(", ")))
        })
    }

    /// Whether `model` can do this job (a zero-shot job also needs its `task`), without reading
    /// the weights again: what a worker checks before its first batch.
    pub fn check(self, model: &Model, task: Option<&ZeroShotTask>) -> Result<()> {
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
        }
        Ok(())
    }

    /// What the results become in a project.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Zeroshot => "run",
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
        }
    }
}

/// A job's identity (`manifest.json`): the model and settings that determine its results, and
/// how many input rows it read. The zero-shot fields are present for zero-shot jobs only.
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
    /// Rows the job read from its input.
    pub input_rows: u64,
}

impl Manifest {
    /// The manifest of `kind` run with `model` (loaded with the `strip_accents` override) over
    /// `input_rows` rows; zero-shot jobs need their `task`. Checks that the model can do the job.
    pub fn new(model: &Model, kind: JobKind, task: Option<&ZeroShotTask>, strip_accents: Option<bool>, input_rows: u64) -> Result<Self> {
        kind.check(model, task)?;
        let dim = (kind == JobKind::Embed).then(|| Embedder::new(model).dim());
        let task = task.filter(|_| kind == JobKind::Zeroshot);
        Ok(Self {
            format: MANIFEST_FORMAT,
            selectra: crate::VERSION.to_string(),
            kind,
            model: model.name.clone(),
            revision: hub_revision(&model.files.folder),
            weights_sha256: sha256_file(&model.files.weights)?,
            strip_accents,
            labels: task.map(|t| t.labels.clone()),
            template: task.map(|t| t.template_key()),
            multi_label: task.map(|t| t.multi_label),
            dim,
            input_rows,
        })
    }

    /// Reads `dir/manifest.json`.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::Input(format!(
                    "{} has no {MANIFEST_FILE}: it is not the output of a corpus job (the Python package's selectra.ray jobs write one)",
                    dir.display()
                ))
            } else {
                Error::io(&path, e)
            }
        })?;
        let manifest: Self =
            serde_json::from_str(&text).map_err(|e| Error::Input(format!("{} is not a corpus job's manifest: {e}", path.display())))?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(Error::Input(format!(
                "{} is format {}, and this build reads format {MANIFEST_FORMAT}; import it with the selectra version that wrote it ({})",
                path.display(),
                manifest.format,
                manifest.selectra
            )));
        }
        Ok(manifest)
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
            (Row::Zeroshot(a), Row::Zeroshot(b)) => {
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
            _ => false,
        }
    }
}

/// Where the results go, with the existing result of a record to compare against.
enum Target {
    Run { id: i64, task: ZeroShotTask },
    Scan { id: i64 },
    Embed { id: i64, dim: usize },
}

/// One parsed result row.
#[derive(Debug, Clone, PartialEq)]
enum Row {
    Zeroshot(PredictionRow),
    Scan(RecordScan),
    Embed(Vec<f32>),
}

/// Imports the results in `dir` (a manifest and `results/*.parquet`) into `corpus` as the run,
/// scan or embedding set the manifest describes. See the module documentation.
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
    let target = match manifest.kind {
        JobKind::Zeroshot => {
            let task = manifest.task()?;
            let key = zeroshot_run_key(corpus, &manifest.model, &manifest.weights_sha256, &task, manifest.strip_accents, Precision::Exact);
            Target::Run { id: store.open_run(&key)?.id, task }
        }
        JobKind::Scan => {
            let key = ScanKey {
                corpus: corpus.to_string(),
                model: manifest.model.clone(),
                weights_sha256: manifest.weights_sha256.clone(),
                strip_accents: manifest.strip_accents,
            };
            Target::Scan { id: store.open_scan(&key)?.id }
        }
        JobKind::Embed => {
            let dim = manifest.dim.filter(|&d| d > 0).ok_or_else(|| Error::Input("the manifest of an embedding job has no dim".into()))?;
            let key = EmbeddingKey {
                corpus: corpus.to_string(),
                model: manifest.model.clone(),
                weights_sha256: manifest.weights_sha256.clone(),
                strip_accents: manifest.strip_accents,
            };
            Target::Embed { id: store.open_embeddings(&key, dim)?.id, dim }
        }
    };
    let started = Instant::now();
    let done_before = target.done(store)?;
    let mut summary = ImportSummary {
        kind: manifest.kind,
        id: target.id(),
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
    'files: for file in &files {
        let open = std::fs::File::open(file).map_err(|e| Error::io(file, e))?;
        let bad_file = |e: parquet::errors::ParquetError| Error::Input(format!("{} is not a readable Parquet file: {e}", file.display()));
        let reader = ParquetRecordBatchReaderBuilder::try_new(open).map_err(bad_file)?.with_batch_size(1024).build().map_err(bad_file)?;
        for batch in reader {
            if cancel.load(Ordering::Relaxed) {
                summary.cancelled = true;
                break 'files;
            }
            let batch = batch.map_err(|e| Error::Input(format!("{} cannot be read: {e}", file.display())))?;
            let columns = Columns::new(&batch, manifest.kind, file)?;
            for i in 0..batch.num_rows() {
                let at = || format!("{} row {}", file.display(), i + 1);
                let id = columns.id(i).ok_or_else(|| Error::Input(format!("{}: the id is missing", at())))?;
                let (record_id, text) = store.record_by_export_id(info.id, id)?.ok_or_else(|| {
                    Error::Input(format!("{}: corpus {corpus:?} has no record with id {id:?}; these results are of another corpus", at()))
                })?;
                if columns.text_sha256(i) != Some(text_sha256(&text).as_str()) {
                    return Err(Error::Input(format!(
                        "{}: the result for record {id:?} was computed on another text than the corpus holds; export the corpus again and rerun the job",
                        at()
                    )));
                }
                let row = columns.row(i, record_id, &text, &target).map_err(|e| Error::Input(format!("{}: record {id:?}: {e}", at())))?;
                let existing = match pending.get(&record_id) {
                    Some(row) => Some(row.clone()),
                    None => target.stored(store, record_id)?,
                };
                rows_read += 1;
                match existing {
                    Some(stored) if stored.same_result(&row) => summary.already_present += 1,
                    Some(_) => {
                        return Err(Error::Input(format!(
                            "{}: record {id:?} already has a different result in this {}; results of one job are identical for a record, so these come from another computation",
                            at(),
                            manifest.kind.noun()
                        )))
                    }
                    None => {
                        pending.insert(record_id, row);
                    }
                }
            }
            if pending.len() >= IMPORT_BATCH_ROWS {
                summary.imported += target.save(store, pending.drain().collect())?;
                report(&mut summary, done_before, rows_read, started, progress);
            }
        }
    }
    if !summary.cancelled {
        summary.imported += target.save(store, pending.drain().collect())?;
    }
    report(&mut summary, done_before, rows_read, started, progress);
    if summary.done == summary.records && !summary.cancelled {
        target.finish(store)?;
        summary.complete = true;
    }
    Ok(summary)
}

/// Records with a result are those before the import and those it stored (the store refuses a
/// second result for a record, so nothing is counted twice).
fn report(summary: &mut ImportSummary, done_before: u64, rows_read: u64, started: Instant, progress: &mut dyn FnMut(RunProgress)) {
    summary.done = done_before + summary.imported;
    let rate = rows_read as f64 / started.elapsed().as_secs_f64().max(1e-9);
    progress(RunProgress { done: summary.done, total: summary.records, records_per_sec: rate, eta_secs: None, stage: JobStage::Computing });
}

/// The Parquet files under `dir/results`, in path order.
fn result_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let root = dir.join(RESULTS_DIR);
    let mut files = Vec::new();
    let mut folders = vec![root.clone()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder).map_err(|e| Error::io(&folder, e))?;
        for entry in entries {
            let path = entry.map_err(|e| Error::io(&folder, e))?.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                files.push(path);
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
    fn id(&self) -> i64 {
        match self {
            Self::Run { id, .. } | Self::Scan { id } | Self::Embed { id, .. } => *id,
        }
    }

    fn stored(&self, store: &Store, record_id: i64) -> Result<Option<Row>> {
        Ok(match self {
            Self::Run { id, .. } => store.prediction(*id, record_id)?.map(Row::Zeroshot),
            Self::Scan { id } => store.scan_result(*id, record_id)?.map(Row::Scan),
            Self::Embed { id, .. } => store.embedding(*id, record_id)?.map(Row::Embed),
        })
    }

    /// Stores `rows` (by record) in one transaction; returns how many.
    fn save(&self, store: &mut Store, rows: Vec<(i64, Row)>) -> Result<u64> {
        let n = rows.len() as u64;
        if rows.is_empty() {
            return Ok(0);
        }
        match self {
            Self::Run { id, .. } => {
                let predictions: Vec<PredictionRow> =
                    rows.into_iter().filter_map(|(_, row)| if let Row::Zeroshot(p) = row { Some(p) } else { None }).collect();
                store.save_predictions(*id, "", &[], &predictions)?;
            }
            Self::Scan { id } => {
                let scans: Vec<(i64, RecordScan)> =
                    rows.into_iter().filter_map(|(record, row)| if let Row::Scan(s) = row { Some((record, s)) } else { None }).collect();
                store.save_scan_results(*id, &scans)?;
            }
            Self::Embed { id, .. } => {
                let vectors: Vec<(i64, Vec<f32>)> =
                    rows.into_iter().filter_map(|(record, row)| if let Row::Embed(v) = row { Some((record, v)) } else { None }).collect();
                store.save_embeddings(*id, &vectors)?;
            }
        }
        Ok(n)
    }

    fn done(&self, store: &Store) -> Result<u64> {
        Ok(match self {
            Self::Run { id, .. } => store.run(*id)?.predictions,
            Self::Scan { id } => store.scan(*id)?.scanned,
            Self::Embed { id, .. } => store.embedding_set(*id)?.embedded,
        })
    }

    fn finish(&self, store: &mut Store) -> Result<()> {
        match self {
            Self::Run { id, .. } => store.finish_run(*id),
            Self::Scan { id } => store.finish_scan(*id),
            Self::Embed { id, .. } => store.finish_embeddings(*id),
        }
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

    fn id(&self, i: usize) -> Option<&str> {
        string_at(&self.id, i)
    }

    fn text_sha256(&self, i: usize) -> Option<&str> {
        string_at(&self.text_sha256, i)
    }

    fn row(&self, i: usize, record_id: i64, text: &str, target: &Target) -> std::result::Result<Row, String> {
        match target {
            Target::Run { task, .. } => {
                let labels = strings(&list_at(&self.values[0], i).ok_or("labels are missing")?)?;
                let scores = floats(&list_at(&self.values[1], i).ok_or("scores are missing")?)?;
                let mut sorted = labels.clone();
                sorted.sort();
                let mut expected = task.labels.clone();
                expected.sort();
                if sorted != expected || scores.len() != labels.len() {
                    return Err(format!("the labels {labels:?} with {} scores are not the job's labels {:?}", scores.len(), task.labels));
                }
                if scores.iter().any(|s| !(0.0..=1.0).contains(s)) {
                    return Err(format!("the scores {scores:?} are not probabilities"));
                }
                Ok(Row::Zeroshot(PredictionRow { record_id, labels, scores }))
            }
            Target::Scan { .. } => {
                let tokens = list_at(&self.values[4], i).ok_or("tokens are missing")?;
                let tokens = scanned_tokens(&tokens, text.chars().count())?;
                let scan = RecordScan {
                    suspicion: float_at(&self.values[0], i).ok_or("suspicion is missing")?,
                    flagged: u32::try_from(int_at(&self.values[1], i).ok_or("flagged is missing")?).map_err(|_| "flagged is out of range")?,
                    mean: float_at(&self.values[2], i).ok_or("mean is missing")?,
                    windows: usize::try_from(int_at(&self.values[3], i).ok_or("windows is missing")?).map_err(|_| "windows is out of range")?,
                    tokens,
                };
                let (suspicion, flagged, mean) = crate::scan::summarize(&scan.tokens);
                if (suspicion, flagged, mean) != (scan.suspicion, scan.flagged, scan.mean) || scan.windows == 0 {
                    return Err("its suspicion, flagged count and mean are not those of its tokens".into());
                }
                Ok(Row::Scan(scan))
            }
            Target::Embed { dim, .. } => {
                let vector = floats(&list_at(&self.values[0], i).ok_or("the embedding is missing")?)?;
                if vector.len() != *dim || vector.iter().any(|v| !v.is_finite()) {
                    return Err(format!(
                        "the embedding has {} numbers (finite: {}), the set has {dim}",
                        vector.len(),
                        vector.iter().all(|v| v.is_finite())
                    ));
                }
                Ok(Row::Embed(vector))
            }
        }
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

fn scanned_tokens(tokens: &ArrayRef, text_chars: usize) -> std::result::Result<Vec<ScannedToken>, String> {
    let tokens = tokens.as_struct_opt().ok_or("tokens are not a list of structs")?;
    let field = |name: &str| tokens.column_by_name(name).cloned().ok_or_else(|| format!("tokens have no field {name:?}"));
    let (token, start, end, probability, word_start) = (field("token")?, field("start")?, field("end")?, field("probability")?, field("word_start")?);
    let word_start = word_start.as_boolean_opt().ok_or("word_start is not a boolean")?;
    (0..tokens.len())
        .map(|i| {
            let span = |a: &ArrayRef| int_at(a, i).and_then(|v| usize::try_from(v).ok());
            let (Some(s), Some(e)) = (span(&start), span(&end)) else { return Err(format!("token {i} has no character span")) };
            let p = float_at(&probability, i).ok_or_else(|| format!("token {i} has no probability"))?;
            if s > e || e > text_chars || !(0.0..=1.0).contains(&p) || word_start.is_null(i) {
                return Err(format!("token {i} (characters {s}..{e}, P {p}) does not fit the record"));
            }
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
            Row::Zeroshot(PredictionRow { record_id: 1, labels: labels.map(String::from).to_vec(), scores: scores.to_vec() })
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
