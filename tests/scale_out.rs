//! `selectra import-run`: results of a corpus job computed elsewhere (written here as the Python
//! package writes them: a manifest and Parquet rows of id, text SHA-256 and results) become the
//! run the CLI computes, byte for byte; importing is idempotent, absorbs duplicate rows, resumes
//! with the CLI, and refuses results that are not this corpus's.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{Float32Builder, ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch, StringArray};
use common::*;
use parquet::arrow::ArrowWriter;
use selectra::hub::Silent;
use selectra::scale_out::{text_sha256, JobKind, Manifest};
use selectra::zeroshot::{ZeroShotClassifier, ZeroShotTask};
use selectra::{LoadOptions, Model};
use serde_json::Value;

const LABELS: &str = "deportes,política,economía";

fn selectra(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_selectra")).args(args).output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = selectra(args);
    assert!(out.status.success(), "selectra {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn failure(args: &[&str]) -> String {
    let out = selectra(args);
    assert!(!out.status.success(), "selectra {args:?} succeeded");
    String::from_utf8(out.stderr).unwrap()
}

/// The fixtures' zero-shot and embedding texts as corpus "c" (ids t0, t1, …) of a new project.
fn project(dir: &Path, name: &str) -> (PathBuf, Vec<(String, String)>) {
    project_with(dir, name, true)
}

/// The same corpus; without an id column its records' export ids are their row numbers.
fn project_with(dir: &Path, name: &str, ids: bool) -> (PathBuf, Vec<(String, String)>) {
    let mut records = Vec::new();
    for (_, expected) in expected_files() {
        for section in ["zeroshot", "embed"] {
            for case in expected[section].as_array().into_iter().flatten() {
                let text = case["text"].as_str().unwrap().to_string();
                if text.chars().any(char::is_alphanumeric) && !records.iter().any(|(_, t)| *t == text) {
                    records.push((format!("t{}", records.len()), text));
                }
            }
        }
    }
    let source = dir.join(format!("{name}.jsonl"));
    let lines: Vec<String> = records.iter().map(|(id, text)| serde_json::json!({"id": id, "text": text}).to_string()).collect();
    std::fs::write(&source, lines.join("\n")).unwrap();
    let db = dir.join(format!("{name}.sqlite"));
    let mut args = vec!["corpus", "import", "--db", db.to_str().unwrap(), "--name", "c", source.to_str().unwrap()];
    if ids {
        args.extend(["--id-column", "id"]);
    } else {
        records.iter_mut().enumerate().for_each(|(i, (id, _))| *id = (i + 1).to_string());
    }
    ok(&args);
    (db, records)
}

/// A zero-shot job's output for `records`, computed in engine batches of `batch` records taken
/// from the end (another order and other batches than the CLI's): results/part-N.parquet.
fn zeroshot_job(out: &Path, model: &Model, records: &[(String, String)], batch: usize) -> Manifest {
    let task = ZeroShotTask::new(ZeroShotTask::parse_labels(LABELS), selectra::zeroshot::DEFAULT_TEMPLATE, false).unwrap();
    let classifier = ZeroShotClassifier::new(model).unwrap();
    std::fs::create_dir_all(out.join("results")).unwrap();
    let reversed: Vec<&(String, String)> = records.iter().rev().collect();
    for (part, chunk) in reversed.chunks(batch).enumerate() {
        let texts: Vec<&str> = chunk.iter().map(|(_, t)| t.as_str()).collect();
        let results = classifier.classify_batch(&texts, &task).unwrap();
        let mut labels = ListBuilder::new(StringBuilder::new());
        let mut scores = ListBuilder::new(Float32Builder::new());
        for r in &results {
            r.labels.iter().for_each(|l| labels.values().append_value(l));
            labels.append(true);
            scores.values().append_slice(&r.scores);
            scores.append(true);
        }
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("id", Arc::new(StringArray::from_iter_values(chunk.iter().map(|(id, _)| id)))),
            ("text_sha256", Arc::new(StringArray::from_iter_values(texts.iter().map(|t| text_sha256(t))))),
            ("labels", Arc::new(labels.finish())),
            ("scores", Arc::new(scores.finish())),
        ];
        write_parquet(&out.join("results").join(format!("part-{part}.parquet")), columns);
    }
    let manifest = Manifest::new(model, JobKind::Zeroshot, Some(&task), None, records.len() as u64).unwrap();
    std::fs::write(out.join("manifest.json"), serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    manifest
}

fn write_parquet(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let mut writer = ArrowWriter::try_new(std::fs::File::create(path).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

fn import(db: &Path, out: &Path) -> Value {
    serde_json::from_str(&ok(&["import-run", "--db", db.to_str().unwrap(), "--corpus", "c", "--from", out.to_str().unwrap(), "--json"])).unwrap()
}

fn export(db: &Path) -> String {
    ok(&["export", "--db", db.to_str().unwrap(), "--corpus", "c", "--format", "jsonl"])
}

fn load(name: &str) -> (Model, String) {
    let path = model_dir(name).to_str().unwrap().to_string();
    (Model::load(&path, &LoadOptions::default(), Arc::new(Silent)).unwrap(), path)
}

/// A project to import into, and a twin project where the CLI ran the same job.
struct Setup {
    dir: tempfile::TempDir,
    model: Model,
    path: String,
    db: PathBuf,
    reference: PathBuf,
    records: Vec<(String, String)>,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let (model, path) = load("nli-electra-entail0");
    let (db, records) = project(dir.path(), "imported");
    let (reference, _) = project(dir.path(), "reference");
    run_json(&reference, &path);
    Setup { dir, model, path, db, reference, records }
}

/// `selectra run` of the test's job, with its JSON summary.
fn run_json(db: &Path, model: &str) -> Value {
    serde_json::from_str(&ok(&["run", "--db", db.to_str().unwrap(), "--corpus", "c", "--model", model, "--labels", LABELS, "--json"])).unwrap()
}

#[test]
fn imported_results_are_the_clis_run_and_importing_again_adds_nothing() {
    let Setup { dir, model, path, db, reference, records } = setup();
    let out = dir.path().join("job");
    zeroshot_job(&out, &model, &records, 3);
    // A retried batch written twice.
    std::fs::copy(out.join("results/part-0.parquet"), out.join("results/part-0-retry.parquet")).unwrap();
    let first = import(&db, &out);
    assert_eq!(first["complete"], true, "{first}");
    assert_eq!(first["imported"], records.len());
    assert_eq!(first["already_present"], 3, "the duplicated batch's rows");
    assert_eq!(export(&db), export(&reference));

    let again = import(&db, &out);
    assert_eq!((again["imported"].as_u64(), again["already_present"].as_u64()), (Some(0), Some(records.len() as u64 + 3)));
    assert_eq!(export(&db), export(&reference));
    // The run is the CLI's run: the same command finds it complete.
    let run = run_json(&db, &path);
    assert_eq!(run["predicted_now"], 0, "{run}");
}

#[test]
fn records_without_source_ids_are_found_by_row_number() {
    let dir = tempfile::tempdir().unwrap();
    let (model, path) = load("nli-electra-entail0");
    let (db, records) = project_with(dir.path(), "imported", false);
    let (reference, _) = project_with(dir.path(), "reference", false);
    run_json(&reference, &path);
    let out = dir.path().join("job");
    zeroshot_job(&out, &model, &records, 5);
    assert_eq!(import(&db, &out)["complete"], true);
    assert_eq!(export(&db), export(&reference));
}

#[test]
fn a_partial_job_is_completed_by_the_cli() {
    let Setup { dir, model, path, db, reference, records } = setup();
    let out = dir.path().join("job");
    let half = &records[..records.len() / 2];
    zeroshot_job(&out, &model, half, 4);
    let summary = import(&db, &out);
    assert_eq!((summary["complete"].as_bool(), summary["done"].as_u64()), (Some(false), Some(half.len() as u64)));
    let run = run_json(&db, &path);
    assert_eq!(run["predicted_now"], records.len() - half.len());
    assert_eq!(export(&db), export(&reference));
}

#[test]
fn results_that_are_not_this_corpuss_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = load("nli-electra-entail0");
    let (db, records) = project(dir.path(), "imported");
    let db_arg = db.to_str().unwrap();
    let import_args = |out: &Path| {
        vec!["import-run".to_string(), "--db".into(), db_arg.into(), "--corpus".into(), "c".into(), "--from".into(), out.to_str().unwrap().into()]
    };
    let refused = |out: &Path| failure(&import_args(out).iter().map(String::as_str).collect::<Vec<_>>());

    // An id the corpus does not have.
    let mut unknown = records.clone();
    unknown[1].0 = "t999".into();
    let out = dir.path().join("unknown");
    zeroshot_job(&out, &model, &unknown, 50);
    assert!(refused(&out).contains("no record with id \"t999\""), "{}", refused(&out));

    // A text that is not the record's.
    let mut edited = records.clone();
    edited[0].1.push_str(" (editado)");
    let out = dir.path().join("edited");
    zeroshot_job(&out, &model, &edited, 50);
    assert!(refused(&out).contains("computed on another text"), "{}", refused(&out));

    // More input rows than the corpus has.
    let out = dir.path().join("bigger");
    zeroshot_job(&out, &model, &records, 50);
    let mut manifest: Value = serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    manifest["input_rows"] = (records.len() + 5).into();
    std::fs::write(out.join("manifest.json"), manifest.to_string()).unwrap();
    assert!(refused(&out).contains("was not an export of this corpus"), "{}", refused(&out));

    // A duplicate row whose scores differ from the first.
    let out = dir.path().join("conflict");
    zeroshot_job(&out, &model, &records[..2], 50);
    import(&db, &out);
    // The same record and run again, with other scores.
    let out2 = dir.path().join("conflict2");
    std::fs::create_dir_all(out2.join("results")).unwrap();
    std::fs::copy(out.join("manifest.json"), out2.join("manifest.json")).unwrap();
    let mut labels = ListBuilder::new(StringBuilder::new());
    let mut scores = ListBuilder::new(Float32Builder::new());
    ["deportes", "política", "economía"].iter().for_each(|l| labels.values().append_value(l));
    labels.append(true);
    scores.values().append_slice(&[0.5, 0.3, 0.2]);
    scores.append(true);
    write_parquet(
        &out2.join("results/part-0.parquet"),
        vec![
            ("id", Arc::new(StringArray::from(vec![records[0].0.as_str()])) as ArrayRef),
            ("text_sha256", Arc::new(StringArray::from(vec![text_sha256(&records[0].1)]))),
            ("labels", Arc::new(labels.finish())),
            ("scores", Arc::new(scores.finish())),
        ],
    );
    assert!(refused(&out2).contains("already has a different result"), "{}", refused(&out2));

    // Not a job's output at all.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert!(refused(&empty).contains("no manifest.json"), "{}", refused(&empty));
}
