//! `selectra import-run`: results of a corpus job computed elsewhere (written here as the Python
//! package writes them: a manifest and Parquet rows of id, text SHA-256 and results) become the
//! run the CLI computes, byte for byte; importing is idempotent, absorbs duplicate rows, resumes
//! with the CLI, and refuses results that are not this corpus's.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::common::selectra;
use crate::common::*;
use arrow_array::builder::{BooleanBuilder, Float32Builder, Int64Builder, ListBuilder, StringBuilder, StructBuilder};
use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field};
use parquet::arrow::ArrowWriter;
use selectra::domain::task::ZeroShotTask;
use selectra::engine::hub::Silent;
use selectra::engine::zeroshot::ZeroShotClassifier;
use selectra::jobs::scale_out::{import_results, text_sha256, JobKind, Manifest};
use selectra::store::Store;
use selectra::{LoadOptions, Model};
use serde_json::Value;

const LABELS: &str = "deportes,política,economía";

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
    let task = ZeroShotTask::new(ZeroShotTask::parse_labels(LABELS), selectra::domain::task::DEFAULT_TEMPLATE, false).unwrap();
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
    let manifest = Manifest::new(model, JobKind::Zeroshot, Some(&task), None, None, records.len() as u64).unwrap();
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

// ---------------------------------------------------------------------------------------------
// Hostile and broken results: every refusal is one clear error and leaves nothing behind.
// These jobs "ran elsewhere": their manifests and rows are written here directly, so most need
// no model at all.
// ---------------------------------------------------------------------------------------------

/// A new project with corpus "c" of `n` synthetic records (ids r0, r1, …), imported through the
/// library; returns the records.
fn synthetic_project(db: &Path, n: usize) -> Vec<(String, String)> {
    let records: Vec<(String, String)> = (0..n).map(|i| (format!("r{i}"), format!("el texto número {i} del corpus"))).collect();
    let csv = db.with_extension("csv");
    let mut w = csv::Writer::from_path(&csv).unwrap();
    w.write_record(["id", "text"]).unwrap();
    for (id, text) in &records {
        w.write_record([id, text]).unwrap();
    }
    w.flush().unwrap();
    let options = selectra::exchange::import::ImportOptions { name: "c".into(), id_column: Some("id".into()), ..Default::default() };
    selectra::exchange::import::import_file(&mut Store::open(db).unwrap(), &csv, &options, &mut |_| {}, &AtomicBool::new(false)).unwrap();
    records
}

/// The manifest of a job computed elsewhere, as `selectra.ray` writes it.
fn manifest_json(kind: &str, input_rows: usize, extra: Value) -> Value {
    let mut m = serde_json::json!({
        "format": 1, "selectra": "0.1.0 (elsewhere)", "kind": kind, "model": "Recognai/zeroshot_selectra_small",
        "revision": null, "weights_sha256": "0123abcd", "strip_accents": null, "input_rows": input_rows,
    });
    m.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    m
}

fn zeroshot_manifest(input_rows: usize) -> Value {
    manifest_json(
        "zeroshot",
        input_rows,
        serde_json::json!({"labels": ["deportes", "política", "economía"], "template": "Este ejemplo es {}.", "multi_label": false}),
    )
}

fn write_job(out: &Path, manifest: &Value) {
    std::fs::create_dir_all(out.join("results")).unwrap();
    std::fs::write(out.join("manifest.json"), manifest.to_string()).unwrap();
}

/// A zero-shot result row: the record's id and text, labels and scores.
type ResultRow = (String, String, Vec<String>, Vec<f32>);

/// Zero-shot result rows as one Parquet file.
fn zeroshot_rows(path: &Path, rows: &[ResultRow]) {
    let mut labels = ListBuilder::new(StringBuilder::new());
    let mut scores = ListBuilder::new(Float32Builder::new());
    for (_, _, l, s) in rows {
        l.iter().for_each(|l| labels.values().append_value(l));
        labels.append(true);
        scores.values().append_slice(s);
        scores.append(true);
    }
    write_parquet(
        path,
        vec![
            ("id", Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.0))) as ArrayRef),
            ("text_sha256", Arc::new(StringArray::from_iter_values(rows.iter().map(|r| text_sha256(&r.1))))),
            ("labels", Arc::new(labels.finish())),
            ("scores", Arc::new(scores.finish())),
        ],
    );
}

/// A valid zero-shot row for a record: scores in the job's label order (not sorted).
fn valid_row(record: &(String, String), i: usize) -> ResultRow {
    let a = 0.1 + 0.5 * ((i % 7) as f32 / 7.0);
    (record.0.clone(), record.1.clone(), vec!["deportes".into(), "política".into(), "economía".into()], vec![a, 0.2, 0.8 - a])
}

fn import_lib(db: &Path, out: &Path) -> selectra::Result<selectra::jobs::scale_out::ImportSummary> {
    import_results(&mut Store::open(db).unwrap(), "c", out, &mut |_| {}, &AtomicBool::new(false))
}

/// Nothing of a refused import remains: no run, scan or embedding set.
fn assert_nothing_left(db: &Path, context: &str) {
    let store = Store::open(db).unwrap();
    assert!(store.runs("c").unwrap().is_empty(), "{context}: a run remains");
    assert!(store.scans(Some("c")).unwrap().is_empty(), "{context}: a scan remains");
    assert!(store.embedding_sets("c").unwrap().is_empty(), "{context}: an embedding set remains");
}

/// Scores written in the job's label order are stored by score: the top label is the best one,
/// whatever order the producer used.
#[test]
fn unsorted_scores_are_stored_sorted_by_score() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.sqlite");
    let records = synthetic_project(&db, 3);
    let out = dir.path().join("job");
    write_job(&out, &zeroshot_manifest(3));
    let labels = || vec!["deportes".to_string(), "política".into(), "economía".into()];
    zeroshot_rows(
        &out.join("results/part-0.parquet"),
        &[
            (records[0].0.clone(), records[0].1.clone(), labels(), vec![0.1, 0.2, 0.7]),
            (records[1].0.clone(), records[1].1.clone(), labels(), vec![0.5, 0.3, 0.2]),
            (records[2].0.clone(), records[2].1.clone(), labels(), vec![0.25, 0.6, 0.15]),
        ],
    );
    let summary = import_lib(&db, &out).unwrap();
    assert!(summary.complete);
    let jsonl = export(&db);
    let tops: Vec<(String, f64)> = jsonl
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let p = &v["predictions"][0];
            (p["labels"][0].as_str().unwrap().to_string(), p["scores"][0].as_f64().unwrap())
        })
        .collect();
    assert_eq!(tops.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(), ["economía", "deportes", "política"]);
    assert!((tops[0].1 - 0.7).abs() < 1e-6);
}

/// A row refused after two thousand good ones (two read batches, several stored transactions)
/// takes back everything this import stored, names its row in the file, and leaves what an
/// earlier import stored alone.
#[test]
fn a_refused_import_is_taken_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.sqlite");
    let records = synthetic_project(&db, 2100);
    let mut rows: Vec<_> = records.iter().take(2000).enumerate().map(|(i, r)| valid_row(r, i)).collect();
    let mut bad = valid_row(&records[2000], 0);
    bad.3 = vec![0.9, 0.9, 0.9];
    rows.push(bad);
    let out = dir.path().join("job");
    write_job(&out, &zeroshot_manifest(2100));
    zeroshot_rows(&out.join("results/part-0.parquet"), &rows);
    let e = import_lib(&db, &out).unwrap_err().to_string();
    assert!(e.contains("part-0.parquet row 2001") && e.contains("sum to"), "{e}");
    assert_nothing_left(&db, "refused at row 2001");

    // An earlier import's results stay when a later one is refused.
    let first = dir.path().join("first");
    write_job(&first, &zeroshot_manifest(2100));
    zeroshot_rows(&first.join("results/part-0.parquet"), &rows[..10]);
    let run = import_lib(&db, &first).unwrap().id;
    let e = import_lib(&db, &out).unwrap_err().to_string();
    assert!(e.contains("row 2001"), "{e}");
    let store = Store::open(&db).unwrap();
    assert_eq!(store.run(run).unwrap().predictions, 10);
    assert_eq!(store.runs("c").unwrap().len(), 1);
}

/// Rows that are not a distribution over the job's labels, and lists long enough to flood a
/// terminal, are refused with a short message.
#[test]
fn scores_that_are_not_the_jobs_are_refused_briefly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.sqlite");
    let records = synthetic_project(&db, 2);
    let many: Vec<String> = (0..100_000).map(|i| format!("etiqueta{i}")).collect();
    let long_id = "x".repeat(2_000_000);
    let cases: Vec<(&str, ResultRow, &str)> = vec![
        ("all high", (records[0].0.clone(), records[0].1.clone(), valid_row(&records[0], 0).2, vec![0.9, 0.9, 0.9]), "sum to"),
        ("all zero", (records[0].0.clone(), records[0].1.clone(), valid_row(&records[0], 0).2, vec![0.0, 0.0, 0.0]), "sum to"),
        ("NaN", (records[0].0.clone(), records[0].1.clone(), valid_row(&records[0], 0).2, vec![f32::NAN, 0.5, 0.5]), "not probabilities"),
        ("many labels", (records[0].0.clone(), records[0].1.clone(), many.clone(), vec![0.0; 100_000]), "not the job's labels"),
        ("huge id", (long_id.clone(), records[0].1.clone(), valid_row(&records[0], 0).2, vec![0.2, 0.3, 0.5]), "no record with id"),
    ];
    for (name, row, expected) in cases {
        let out = dir.path().join(name.replace(' ', "-"));
        write_job(&out, &zeroshot_manifest(2));
        zeroshot_rows(&out.join("results/part-0.parquet"), &[row]);
        let e = import_lib(&db, &out).unwrap_err().to_string();
        assert!(e.contains(expected), "{name}: {}", &e[..e.len().min(300)]);
        assert!(e.len() < 2_000, "{name}: a {}-byte message", e.len());
        assert_nothing_left(&db, name);
    }
}

/// Embeddings must have the set's dimension and unit length (the recipe's); a refused import
/// leaves no set behind, so `embed` and `train` go on; a consistent set of another size is
/// named in `embed`'s error and can be deleted.
#[test]
fn embedding_imports_are_checked_and_never_block_embed() {
    let dir = tempfile::tempdir().unwrap();
    let (model, path) = load("nli-electra-entail0");
    let (db, records) = project(dir.path(), "p");
    let real = Manifest::new(&model, JobKind::Embed, None, None, None, records.len() as u64).unwrap();
    let vectors = |dim: usize, value: f32| -> ArrayRef {
        let mut b = ListBuilder::new(Float32Builder::new());
        for _ in &records {
            b.values().append_slice(&vec![value; dim]);
            b.append(true);
        }
        Arc::new(b.finish())
    };
    let job = |name: &str, dim: usize, width: usize, value: f32| {
        let out = dir.path().join(name);
        let mut manifest = serde_json::to_value(&real).unwrap();
        manifest["dim"] = dim.into();
        write_job(&out, &manifest);
        write_parquet(
            &out.join("results/part-0.parquet"),
            vec![
                ("id", Arc::new(StringArray::from_iter_values(records.iter().map(|r| &r.0))) as ArrayRef),
                ("text_sha256", Arc::new(StringArray::from_iter_values(records.iter().map(|r| text_sha256(&r.1))))),
                ("embedding", vectors(width, value)),
            ],
        );
        out
    };
    let unit = |dim: usize| 1.0 / (dim as f32).sqrt();
    // Rows of 8 numbers in a set of 7; rows of huge finite numbers.
    for (name, out, expected) in [
        ("wrong width", job("w", 7, 8, unit(8)), "the set has 7"),
        ("huge numbers", job("h", 7, 7, 3e38), "length"),
        ("not unit", job("u", 7, 7, 0.5), "length"),
    ] {
        let e = import_lib(&db, &out).unwrap_err().to_string();
        assert!(e.contains(expected), "{name}: {e}");
        assert_nothing_left(&db, name);
    }
    // `embed` works after the refusals.
    let embed = |extra: &[&str]| {
        let mut args = vec!["embed", "--db", db.to_str().unwrap(), "--corpus", "c", "--model", path.as_str()];
        args.extend(extra);
        selectra(&args)
    };
    let done = embed(&["--json"]);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let set: Value = serde_json::from_slice(&done.stdout).unwrap();
    ok(&["delete", "--db", db.to_str().unwrap(), "--embeddings", &set["embeddings"]["id"].to_string()]);

    // A consistent job of 7 numbers under this model's weights: imported (its producer said so),
    // and then `embed` says which set is in the way and how to remove it.
    let summary = import_lib(&db, &job("seven", 7, 7, unit(7))).unwrap();
    let e = String::from_utf8(embed(&[]).stderr).unwrap();
    assert!(e.contains(&format!("embedding set {}", summary.id)) && e.contains("delete"), "{e}");
    ok(&["delete", "--db", db.to_str().unwrap(), "--embeddings", &summary.id.to_string()]);
    assert!(embed(&[]).status.success());

    // A sentence-transformers folder without Normalize makes vectors of any length: its
    // manifest says so, and its job imports them.
    let (st, _) = load("st-xlmr-cls-legacy");
    let st_manifest = Manifest::new(&st, JobKind::Embed, None, None, None, records.len() as u64).unwrap();
    assert_eq!(st_manifest.unit_length, Some(false));
    assert_eq!(real.unit_length, Some(true));
    let out = dir.path().join("st");
    write_job(&out, &serde_json::to_value(&st_manifest).unwrap());
    write_parquet(
        &out.join("results/part-0.parquet"),
        vec![
            ("id", Arc::new(StringArray::from_iter_values(records.iter().map(|r| &r.0))) as ArrayRef),
            ("text_sha256", Arc::new(StringArray::from_iter_values(records.iter().map(|r| text_sha256(&r.1))))),
            ("embedding", vectors(st_manifest.dim.unwrap(), 0.5)),
        ],
    );
    let summary = import_lib(&db, &out).unwrap();
    assert_eq!(summary.imported as usize, records.len());
}

/// Damaged result files: one clear error each (never a panic, never a hang), nothing left.
/// 600 seeded corruptions of a valid file: single-bit flips in the footer (where the parquet
/// crate asserts), byte flips anywhere, truncations. The same body as fuzz/'s `import_results`.
#[test]
fn damaged_result_files_give_one_error_and_leave_nothing() {
    use rand::{Rng, SeedableRng};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.sqlite");
    let records = synthetic_project(&db, 40);
    let out = dir.path().join("job");
    write_job(&out, &zeroshot_manifest(40));
    let file = out.join("results/part-0.parquet");
    zeroshot_rows(&file, &records.iter().enumerate().map(|(i, r)| valid_row(r, i)).collect::<Vec<_>>());
    let good = std::fs::read(&file).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(33);
    let mut store = Store::open(&db).unwrap();
    let (mut refused, mut imported) = (0, 0);
    for trial in 0..600 {
        let mut bytes = good.clone();
        match trial % 3 {
            // The footer: its length field and the last kilobyte of metadata.
            0 => {
                let at = bytes.len() - 1 - rng.random_range(0..bytes.len().min(1024));
                bytes[at] ^= 1 << rng.random_range(0..8);
            }
            1 => {
                for _ in 0..4 {
                    let at = rng.random_range(0..bytes.len());
                    bytes[at] = rng.random();
                }
            }
            _ => bytes.truncate(rng.random_range(0..bytes.len())),
        }
        std::fs::write(&file, &bytes).unwrap();
        match import_results(&mut store, "c", &out, &mut |_| {}, &AtomicBool::new(false)) {
            Ok(summary) => {
                imported += 1;
                store.delete_run(summary.id).unwrap();
            }
            Err(e) => {
                refused += 1;
                let message = e.to_string();
                assert!(message.contains("part-0.parquet") && !message.contains('\n'), "trial {trial}: {message}");
                assert!(store.runs("c").unwrap().is_empty(), "trial {trial}: {message} left a run");
            }
        }
    }
    assert!(refused > 300, "{refused} refused, {imported} imported");

    // Through the CLI: exit status 1 and one `error:` line, for a footer flip the parquet crate
    // asserts on ("column start and length should not be negative" in 60.x).
    let mut bytes = good.clone();
    let meta_len = u32::from_le_bytes(bytes[bytes.len() - 8..bytes.len() - 4].try_into().unwrap()) as usize;
    let meta_start = bytes.len() - 8 - meta_len;
    let mut seen_panic_site = false;
    for at in meta_start..bytes.len() - 8 {
        for bit in 0..8 {
            bytes[at] ^= 1 << bit;
            std::fs::write(&file, &bytes).unwrap();
            let result = import_results(&mut store, "c", &out, &mut |_| {}, &AtomicBool::new(false));
            bytes[at] ^= 1 << bit;
            match result {
                Err(e) if e.to_string().contains("the Parquet reader failed") => {
                    seen_panic_site = true;
                    let mut flipped = good.clone();
                    flipped[at] ^= 1 << bit;
                    std::fs::write(&file, &flipped).unwrap();
                    let cli = selectra(&["import-run", "--db", db.to_str().unwrap(), "--corpus", "c", "--from", out.to_str().unwrap()]);
                    let stderr = String::from_utf8(cli.stderr).unwrap();
                    assert_eq!(cli.status.code(), Some(1), "{stderr}");
                    assert_eq!(stderr.lines().count(), 1, "{stderr}");
                    assert!(stderr.starts_with("error:") && stderr.contains("is damaged"), "{stderr}");
                    break;
                }
                Ok(summary) => store.delete_run(summary.id).unwrap(),
                Err(_) => {}
            }
        }
        if seen_panic_site {
            break;
        }
    }
    assert!(seen_panic_site, "no single-bit footer flip reached a panic inside the parquet crate");
    assert!(store.runs("c").unwrap().is_empty());
}

/// Links, FIFOs and deep folders under a job's output are refused quickly instead of followed,
/// blocked on or walked forever.
#[test]
fn links_fifos_and_deep_folders_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.sqlite");
    let records = synthetic_project(&db, 3);
    let rows: Vec<_> = records.iter().enumerate().map(|(i, r)| valid_row(r, i)).collect();
    let fresh = |name: &str| {
        let out = dir.path().join(name);
        write_job(&out, &zeroshot_manifest(3));
        zeroshot_rows(&out.join("results/part-0.parquet"), &rows);
        out
    };
    let started = std::time::Instant::now();
    let out = fresh("loop");
    std::os::unix::fs::symlink(".", out.join("results/a")).unwrap();
    std::os::unix::fs::symlink(".", out.join("results/b")).unwrap();
    let e = import_lib(&db, &out).unwrap_err().to_string();
    assert!(e.contains("symbolic link"), "{e}");

    let mkfifo = |path: &Path| assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
    let out = fresh("fifo-manifest");
    std::fs::remove_file(out.join("manifest.json")).unwrap();
    mkfifo(&out.join("manifest.json"));
    let e = import_lib(&db, &out).unwrap_err().to_string();
    assert!(e.contains("not a regular file"), "{e}");

    let out = fresh("fifo-results");
    mkfifo(&out.join("results/part-1.parquet"));
    let e = import_lib(&db, &out).unwrap_err().to_string();
    assert!(e.contains("not a regular file"), "{e}");

    let out = fresh("deep");
    let mut deep = out.join("results");
    for _ in 0..=selectra::jobs::scale_out::MAX_RESULT_DEPTH {
        deep = deep.join("d");
    }
    std::fs::create_dir_all(&deep).unwrap();
    let e = import_lib(&db, &out).unwrap_err().to_string();
    assert!(e.contains("folders deep"), "{e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_nothing_left(&db, "links and FIFOs");
}

/// Scanned tokens must follow the text: a span that goes backwards, overlaps the one before or
/// leaves the text is refused (the report slices the text by them).
#[test]
fn scan_tokens_out_of_order_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.sqlite");
    let records = synthetic_project(&db, 1);
    let token_fields = vec![
        Field::new("token", DataType::Utf8, true),
        Field::new("start", DataType::Int64, true),
        Field::new("end", DataType::Int64, true),
        Field::new("probability", DataType::Float32, true),
        Field::new("word_start", DataType::Boolean, true),
    ];
    let scan_job = |name: &str, spans: &[(i64, i64, bool)]| {
        let out = dir.path().join(name);
        write_job(&out, &manifest_json("scan", 1, serde_json::json!({})));
        let mut tokens = ListBuilder::new(StructBuilder::from_fields(token_fields.clone(), spans.len()));
        for &(s, e, word_start) in spans {
            let t = tokens.values();
            t.field_builder::<StringBuilder>(0).unwrap().append_value("x");
            t.field_builder::<Int64Builder>(1).unwrap().append_value(s);
            t.field_builder::<Int64Builder>(2).unwrap().append_value(e);
            t.field_builder::<Float32Builder>(3).unwrap().append_value(0.9);
            t.field_builder::<BooleanBuilder>(4).unwrap().append_value(word_start);
            t.append(true);
        }
        tokens.append(true);
        let words = spans.iter().filter(|s| s.2).count() as i64;
        write_parquet(
            &out.join("results/part-0.parquet"),
            vec![
                ("id", Arc::new(StringArray::from(vec![records[0].0.as_str()])) as ArrayRef),
                ("text_sha256", Arc::new(StringArray::from(vec![text_sha256(&records[0].1)]))),
                ("suspicion", Arc::new(arrow_array::Float32Array::from(vec![0.9f32]))),
                ("flagged", Arc::new(Int64Array::from(vec![words]))),
                ("mean", Arc::new(arrow_array::Float32Array::from(vec![0.9f32]))),
                ("windows", Arc::new(Int64Array::from(vec![1i64]))),
                ("tokens", Arc::new(tokens.finish())),
            ],
        );
        out
    };
    assert!(import_lib(&db, &scan_job("in-order", &[(0, 2, true), (3, 8, true), (8, 10, false)])).is_ok());
    Store::open(&db).unwrap().delete_scan(1).unwrap();
    for (name, spans) in
        [("backwards", vec![(5, 6, true), (0, 1, false)]), ("overlap", vec![(0, 4, true), (2, 6, true)]), ("outside", vec![(0, 400, true)])]
    {
        let e = import_lib(&db, &scan_job(name, &spans)).unwrap_err().to_string();
        assert!(e.contains("token"), "{name}: {e}");
        assert_nothing_left(&db, name);
    }
}

/// Ids in exports are unique even where some id cells were blank, and a job over such an export
/// imports; integer id columns and manifests with a byte-order mark are read.
#[test]
fn blank_ids_integer_ids_and_byte_order_marks() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.sqlite");
    let csv = dir.path().join("c.csv");
    std::fs::write(&csv, "text,id\nuno,2\ndos,\ntres,7\n").unwrap();
    ok(&["corpus", "import", "--db", db.to_str().unwrap(), "--name", "c", "--id-column", "id", csv.to_str().unwrap()]);
    let ids: Vec<Value> = export(&db).lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].clone()).collect();
    assert_eq!(ids, [Value::from("2"), Value::from("#2"), Value::from("7")]);
    let texts = ["uno", "dos", "tres"];
    let out = dir.path().join("job");
    let manifest = zeroshot_manifest(3);
    write_job(&out, &manifest);
    // A manifest written with a byte-order mark (Windows editors).
    std::fs::write(out.join("manifest.json"), format!("\u{feff}{manifest}")).unwrap();
    let rows: Vec<_> =
        ids.iter().zip(texts).enumerate().map(|(i, (id, t))| valid_row(&(id.as_str().unwrap().to_string(), t.to_string()), i)).collect();
    zeroshot_rows(&out.join("results/part-0.parquet"), &rows);
    let summary = import_lib(&db, &out).unwrap();
    assert!(summary.complete && summary.imported == 3, "{summary:?}");

    // A corpus without source ids, and a job that kept its row numbers as integers.
    let db2 = dir.path().join("q.sqlite");
    std::fs::write(&csv, "text\nuno\ndos\n").unwrap();
    ok(&["corpus", "import", "--db", db2.to_str().unwrap(), "--name", "c", csv.to_str().unwrap()]);
    let out = dir.path().join("ints");
    write_job(&out, &zeroshot_manifest(2));
    let mut labels = ListBuilder::new(StringBuilder::new());
    let mut scores = ListBuilder::new(Float32Builder::new());
    for _ in 0..2 {
        ["deportes", "política", "economía"].iter().for_each(|l| labels.values().append_value(l));
        labels.append(true);
        scores.values().append_slice(&[0.2, 0.3, 0.5]);
        scores.append(true);
    }
    write_parquet(
        &out.join("results/part-0.parquet"),
        vec![
            ("id", Arc::new(Int64Array::from(vec![1i64, 2])) as ArrayRef),
            ("text_sha256", Arc::new(StringArray::from(vec![text_sha256("uno"), text_sha256("dos")]))),
            ("labels", Arc::new(labels.finish())),
            ("scores", Arc::new(scores.finish())),
        ],
    );
    assert!(import_lib(&db2, &out).unwrap().complete);
}

/// Two processes writing one run: the second is told so, and nothing is lost.
#[test]
fn two_writers_of_one_run_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.sqlite");
    let records = synthetic_project(&db, 2);
    let out = dir.path().join("job");
    write_job(&out, &zeroshot_manifest(2));
    zeroshot_rows(&out.join("results/part-0.parquet"), &[valid_row(&records[0], 0)]);
    let run = import_lib(&db, &out).unwrap().id;
    // Another connection stores the same record's prediction, as a second writer would.
    let mut other = Store::open(&db).unwrap();
    let record = other.record_id("c", 1).unwrap();
    let prediction = selectra::store::PredictionRow { record_id: record, labels: vec!["economía".into()], scores: vec![1.0] };
    let e = other.save_predictions(run, "", &[], &[prediction]).unwrap_err().to_string();
    assert!(e.contains("another process is writing this run"), "{e}");
    assert_eq!(other.run(run).unwrap().predictions, 1);
}

/// A tagging job's rows: (id, text, entities (label, start, end, score), truncated).
type TagRow = (String, String, Vec<(String, i64, i64, f32)>, Option<bool>);

/// A manifest template, a way to spoil one row, and what the refusal says.
type SpoiledCase = (&'static str, fn(&mut TagRow), &'static str);

fn tag_rows(path: &Path, rows: &[TagRow]) {
    let fields = vec![
        Field::new("label", DataType::Utf8, true),
        Field::new("start", DataType::Int64, true),
        Field::new("end", DataType::Int64, true),
        Field::new("score", DataType::Float32, true),
    ];
    let entity = StructBuilder::new(
        fields,
        vec![Box::new(StringBuilder::new()), Box::new(Int64Builder::new()), Box::new(Int64Builder::new()), Box::new(Float32Builder::new())],
    );
    let mut entities = ListBuilder::new(entity);
    let mut truncated = BooleanBuilder::new();
    for (_, _, list, t) in rows {
        for (label, start, end, score) in list {
            let e = entities.values();
            e.field_builder::<StringBuilder>(0).unwrap().append_value(label);
            e.field_builder::<Int64Builder>(1).unwrap().append_value(*start);
            e.field_builder::<Int64Builder>(2).unwrap().append_value(*end);
            e.field_builder::<Float32Builder>(3).unwrap().append_value(*score);
            e.append(true);
        }
        entities.append(true);
        truncated.append_option(*t);
    }
    write_parquet(
        path,
        vec![
            ("id", Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.0))) as ArrayRef),
            ("text_sha256", Arc::new(StringArray::from_iter_values(rows.iter().map(|r| text_sha256(&r.1))))),
            ("entities", Arc::new(entities.finish())),
            ("truncated", Arc::new(truncated.finish())),
        ],
    );
}

/// A tagging job's results become a tagger's run with each record's entities (the text each
/// covers read from the record); an entity outside its record, a score that is no probability,
/// a run's options that are not tagging options, or a missing flag refuse the import whole.
#[test]
fn tagging_imports_keep_entities_and_refuse_what_does_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.sqlite");
    let records = synthetic_project(&db, 30);
    let manifest =
        |template: &str| manifest_json("tag", 30, serde_json::json!({"labels": ["PER", "LOC"], "template": template, "multi_label": false}));
    // "el texto número 3 del corpus": "texto" is characters 3..8.
    let good =
        |r: &(String, String)| (r.0.clone(), r.1.clone(), vec![("PER".to_string(), 3, 8, 0.75), ("LOC".to_string(), 16, 17, 0.5)], Some(false));
    let cases: Vec<SpoiledCase> = vec![
        ("aggregation=simple stride=8", |r: &mut TagRow| r.2[1].2 = 400, "does not fit the record"),
        ("aggregation=simple stride=8", |r: &mut TagRow| r.2[0].3 = 1.5, "does not fit the record"),
        ("aggregation=simple stride=8", |r: &mut TagRow| r.2[0].0 = " ".into(), "has no label"),
        ("aggregation=simple stride=8", |r: &mut TagRow| r.3 = None, "truncated is missing"),
        ("Este ejemplo es {}.", |_: &mut TagRow| {}, "does not describe tagging options"),
    ];
    for (i, (template, spoil, message)) in cases.iter().enumerate() {
        let out = dir.path().join(format!("bad{i}"));
        write_job(&out, &manifest(template));
        let mut rows: Vec<TagRow> = records.iter().map(good).collect();
        spoil(&mut rows[20]);
        tag_rows(&out.join("results/part-0.parquet"), &rows);
        let e = import_lib(&db, &out).unwrap_err().to_string();
        assert!(e.contains(message), "case {i}: {e}");
        assert_nothing_left(&db, &format!("case {i}"));
    }
    let out = dir.path().join("good");
    write_job(&out, &manifest("aggregation=simple stride=8"));
    tag_rows(&out.join("results/part-0.parquet"), &records.iter().map(good).collect::<Vec<_>>());
    let summary = import_lib(&db, &out).unwrap();
    assert!(summary.complete && summary.imported == 30, "{summary:?}");
    let store = Store::open(&db).unwrap();
    let run = store.run(summary.id).unwrap();
    assert_eq!((run.kind, run.predictions, run.key.template.as_str()), (selectra::store::RunKind::Tagger, 30, "aggregation=simple stride=8"));
    let entities = store.record_entities(1).unwrap();
    assert_eq!(entities.iter().map(|e| (e.label.as_str(), e.text.as_str())).collect::<Vec<_>>(), [("PER", "texto"), ("LOC", "0")]);
    // Importing again adds nothing; a different result for a record is refused.
    assert_eq!(import_lib(&db, &out).unwrap().already_present, 30);
    let other = dir.path().join("other");
    write_job(&other, &manifest("aggregation=simple stride=8"));
    let mut rows: Vec<TagRow> = records.iter().map(good).collect();
    rows[4].2[0].2 = 9;
    tag_rows(&other.join("results/part-0.parquet"), &rows);
    assert!(import_lib(&db, &other).unwrap_err().to_string().contains("already has a different result"));
}
