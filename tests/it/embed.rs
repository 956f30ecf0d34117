//! Record embeddings: parity with transformers (mean-pooled `last_hidden_state` of the base
//! model, unit length) on every fixture model, and the embedding job's resume and kill -9 safety.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::common::*;
use selectra::engine::embed::Embedder;
use selectra::engine::hub::Silent;
use selectra::exchange::import::{import_file, ImportOptions};
use selectra::store::Store;
use selectra::{LoadOptions, Model};

fn load(name: &str) -> Model {
    let mut options = LoadOptions::default();
    options.hub.offline = true;
    Model::load(model_dir(name).to_str().unwrap(), &options, Arc::new(Silent)).unwrap()
}

/// Every fixture model (discriminators, classifiers, taggers and bare encoders of the four
/// families, with and without embeddings_project, texts longer than the model) embeds every text
/// as transformers does, and every sentence-transformers folder as its `encode` does (each
/// pooling mode, with and without Normalize, its max_seq_length and do_lower_case), all texts in
/// one call (so batching and padding are exercised).
#[test]
fn embeddings_match_transformers() {
    let mut checked = 0;
    let mut sentence = 0;
    for (name, expected) in expected_files() {
        let cases = expected["embed"].as_array().unwrap_or_else(|| panic!("{name}: no embed cases; rerun tests/fixtures/generate.py"));
        let model = load(&name);
        sentence += usize::from(model.files.sentence.is_some());
        assert_eq!(model.files.sentence.is_some(), expected["sentence_transformers"].as_bool().unwrap_or(false), "{name}");
        let texts: Vec<&str> = cases.iter().map(|c| c["text"].as_str().unwrap()).collect();
        let vectors = Embedder::new(&model).embed(&texts).unwrap();
        for (case, got) in cases.iter().zip(&vectors) {
            let want: Vec<f64> = case["embedding"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            assert_eq!(got.len(), want.len(), "{name}: {:?}", case["text"]);
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                close(&format!("{name}, {:?}, dimension {i}", case["text"]), f64::from(*g), *w);
            }
            if !expected["sentence_transformers"].as_bool().unwrap_or(false) {
                let norm: f32 = got.iter().map(|x| x * x).sum::<f32>().sqrt();
                assert!((norm - 1.0).abs() < 1e-5, "{name}: not unit length ({norm})");
            }
            checked += 1;
        }
    }
    assert!(checked >= 6 * 10, "{checked} vectors checked");
    assert!(sentence >= 3, "{sentence} sentence-transformers folders checked");
}

fn project(dir: &Path, n: usize) -> std::path::PathBuf {
    let file = dir.join("c.txt");
    let lines: String = (0..n).map(|i| format!("El gobierno anunció la subida número {i} de precios del mercado.\n")).collect();
    std::fs::write(&file, lines).unwrap();
    let db = dir.join("p.db");
    let mut store = Store::open(&db).unwrap();
    import_file(&mut store, &file, &ImportOptions { name: "c".into(), ..Default::default() }, &mut |_| {}, &AtomicBool::new(false)).unwrap();
    db
}

/// A cancelled job keeps its finished batches, and the identical call finishes the set; the
/// vectors equal a fresh run's, and a second model over the same corpus is a set of its own.
#[test]
fn embedding_jobs_resume_and_are_keyed_by_weights() {
    let dir = tempfile::tempdir().unwrap();
    let db = project(dir.path(), 25);
    let mut store = Store::open(&db).unwrap();
    let model = load("disc-vocab-bin");
    let cancel = AtomicBool::new(false);
    let mut batches = 0;
    let first = selectra::jobs::corpus_run::run_embed(
        &mut store,
        &model,
        "c",
        None,
        4,
        &mut |_| {
            batches += 1;
            if batches == 3 {
                cancel.store(true, Ordering::Relaxed);
            }
        },
        &cancel,
    )
    .unwrap();
    assert!(first.cancelled);
    assert_eq!(first.embeddings.embedded, 8, "two batches of four were kept");
    let resumed = selectra::jobs::corpus_run::run_embed(&mut store, &model, "c", None, 4, &mut |_| {}, &AtomicBool::new(false)).unwrap();
    assert_eq!((resumed.embeddings.id, resumed.embedded_now, resumed.embeddings.embedded), (first.embeddings.id, 17, 25));
    assert!(resumed.embeddings.finished_at.is_some());
    let stored = store.embeddings(resumed.embeddings.id).unwrap();
    let texts: Vec<String> = (0..25).map(|i| format!("El gobierno anunció la subida número {i} de precios del mercado.")).collect();
    let fresh = Embedder::new(&model).embed(&texts.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
    for ((_, got), want) in stored.iter().zip(&fresh) {
        assert_eq!(got, want, "stored vectors are the computed ones, bit for bit");
    }
    let other =
        selectra::jobs::corpus_run::run_embed(&mut store, &load("nli-bert-tokjson"), "c", None, 8, &mut |_| {}, &AtomicBool::new(false)).unwrap();
    assert_ne!(other.embeddings.id, resumed.embeddings.id);
    assert_eq!(store.embedding_sets("c").unwrap().len(), 2);
}

/// `selectra embed` killed with SIGKILL mid-job leaves whole batches only, and the identical
/// command completes the set.
#[test]
fn an_embedding_job_killed_with_sigkill_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let db = project(dir.path(), 3000);
    let model = model_dir("disc-vocab-bin");
    let args = ["embed", "--db", db.to_str().unwrap(), "--corpus", "c", "--model", model.to_str().unwrap(), "--batch-size", "16"];
    let mut child = Command::new(env!("CARGO_BIN_EXE_selectra")).args(args).stdout(std::process::Stdio::null()).spawn().unwrap();
    // Kill once a few batches are committed (their rows are visible to another connection).
    let killed = loop {
        if child.try_wait().unwrap().is_some() {
            break false;
        }
        let embedded = Store::open(&db).ok().and_then(|s| s.embedding_sets("c").ok()).and_then(|sets| sets.first().map(|s| s.embedded)).unwrap_or(0);
        if embedded >= 48 {
            child.kill().unwrap();
            child.wait().unwrap();
            break true;
        }
        std::thread::yield_now();
    };
    assert!(killed, "the job finished before it could be killed; the test proved nothing");
    let store = Store::open(&db).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let set = &store.embedding_sets("c").unwrap()[0];
    assert!(set.embedded.is_multiple_of(16), "{} vectors: a batch was cut", set.embedded);
    assert!(set.embedded < set.records && set.finished_at.is_none());
    drop(store);
    let out = Command::new(env!("CARGO_BIN_EXE_selectra")).args(args).arg("--json").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["embeddings"]["embedded"], 3000);
    assert_eq!(summary["embeddings"]["dim"], 32);
}

/// `selectra export --embeddings M` adds each record's stored vector: JSONL `"embedding"` and a
/// Parquet list column, bit for bit; CSV is refused, and so is a model never embedded with.
#[test]
fn exports_carry_the_embeddings() {
    let dir = tempfile::tempdir().unwrap();
    let db = project(dir.path(), 12);
    let model = model_dir("disc-vocab-bin");
    let (db_s, model_s) = (db.to_str().unwrap(), model.to_str().unwrap());
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_selectra")).args(args).output().unwrap();
    assert!(run(&["embed", "--db", db_s, "--corpus", "c", "--model", model_s]).status.success());
    let store = Store::open(&db).unwrap();
    let set = store.embedding_sets("c").unwrap()[0].id;
    let stored = store.embeddings(set).unwrap();
    drop(store);
    let out = run(&["export", "--db", db_s, "--corpus", "c", "--format", "jsonl", "--embeddings", model_s]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 12);
    for (line, (_, vector)) in lines.iter().zip(&stored) {
        let got: Vec<f32> = line["embedding"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
        assert_eq!(&got, vector);
    }
    let path = dir.path().join("c.parquet");
    assert!(run(&["export", "--db", db_s, "--corpus", "c", "--format", "parquet", "--embeddings", model_s, "--output", path.to_str().unwrap()])
        .status
        .success());
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap()).unwrap().build().unwrap();
    let mut row = 0;
    for batch in reader {
        use arrow_array::{Array, Float32Array, ListArray};
        let batch = batch.unwrap();
        let column = batch.column_by_name("embedding").unwrap().as_any().downcast_ref::<ListArray>().unwrap();
        for i in 0..batch.num_rows() {
            let values = column.value(i);
            let values = values.as_any().downcast_ref::<Float32Array>().unwrap();
            assert_eq!(values.values().to_vec(), stored[row].1);
            row += 1;
        }
    }
    assert_eq!(row, 12);
    let csv = run(&["export", "--db", db_s, "--corpus", "c", "--format", "csv", "--embeddings", model_s]);
    assert!(String::from_utf8_lossy(&csv.stderr).contains("not CSV"));
    let unknown = run(&["export", "--db", db_s, "--corpus", "c", "--format", "jsonl", "--embeddings", "otro"]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no embeddings by"));
}
