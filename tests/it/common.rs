//! Shared helpers for the integration tests: fixture paths, expected-output files, comparisons.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::Value;

/// Outputs must match transformers to this absolute tolerance.
pub const TOLERANCE: f64 = 1e-4;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures")
}

pub fn model_dir(name: &str) -> PathBuf {
    fixtures().join("models").join(name)
}

/// Every expected-output file the generator wrote, as (model name, parsed JSON).
pub fn expected_files() -> Vec<(String, Value)> {
    let mut files: Vec<_> = std::fs::read_dir(fixtures().join("expected"))
        .expect("tests/fixtures/expected exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no expected outputs under tests/fixtures/expected");
    files
        .into_iter()
        .map(|p| {
            let json: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (json["model"].as_str().unwrap().to_string(), json)
        })
        .collect()
}

pub fn close(what: &str, actual: f64, expected: f64) {
    assert!((actual - expected).abs() <= TOLERANCE, "{what}: got {actual}, transformers computed {expected} (tolerance {TOLERANCE})");
}

/// Compares an inspect output (`tokens` array of the CLI JSON) with transformers'.
pub fn check_tokens(context: &str, actual: &Value, expected: &Value) {
    let (a, e) = (actual.as_array().unwrap(), expected.as_array().unwrap());
    let strings = |v: &[Value]| v.iter().map(|t| t["token"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(strings(a), strings(e), "{context}: token strings differ");
    for (i, (at, et)) in a.iter().zip(e).enumerate() {
        for key in ["id", "start", "end"] {
            assert_eq!(at[key], et[key], "{context}: token {i} ({}) has a different {key}", et["token"]);
        }
        close(&format!("{context}: token {i} logit"), at["logit"].as_f64().unwrap(), et["logit"].as_f64().unwrap());
        close(&format!("{context}: token {i} probability"), at["probability"].as_f64().unwrap(), et["probability"].as_f64().unwrap());
    }
}

/// Compares a zero-shot output (`{sequence, labels, scores}`) with the pipeline's.
pub fn check_zeroshot(context: &str, actual: &Value, expected: &Value) {
    assert_eq!(actual["sequence"], expected["sequence"], "{context}: sequence differs");
    assert_eq!(actual["labels"], expected["labels"], "{context}: label order differs");
    let (a, e) = (actual["scores"].as_array().unwrap(), expected["scores"].as_array().unwrap());
    assert_eq!(a.len(), e.len(), "{context}: number of scores differs");
    for (i, (x, y)) in a.iter().zip(e).enumerate() {
        close(&format!("{context}: score {i}"), x.as_f64().unwrap(), y.as_f64().unwrap());
    }
}

/// Copies a fixture model into a fresh temporary folder that a test may damage.
pub fn scratch_copy(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(model_dir(name)).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    dir
}

/// Starts `selectra args` on the project `db`, kills it with SIGKILL once `count_sql` (a count of
/// the job's results) reaches `target` (or when it ends first), then runs the identical command
/// to the end. Returns whether the first process was killed before it finished.
pub fn kill_then_resume(args: &[String], db: &std::path::Path, count_sql: &str, target: u64) -> bool {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_selectra")).args(args).stderr(Stdio::null()).spawn().unwrap();
    let reader = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    reader.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    loop {
        let done: i64 = reader.query_row(count_sql, [], |r| r.get(0)).unwrap_or(0);
        if done as u64 >= target || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::yield_now();
    }
    drop(reader);
    child.kill().ok();
    let killed = !child.wait().unwrap().success();
    let out = Command::new(env!("CARGO_BIN_EXE_selectra")).args(args).output().unwrap();
    assert!(out.status.success(), "resuming {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    killed
}

/// Runs `selectra args` and kills it with SIGKILL once the project's WAL file (`wal`) has grown
/// Runs the `selectra` binary with `args` and waits for it.
pub fn selectra(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_selectra")).args(args).output().unwrap()
}

/// Runs `selectra` with `args`, which must succeed, and reads the JSON it prints.
pub fn selectra_json(args: &[&str]) -> Value {
    let out = selectra(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A project `p.db` in `dir` holding corpus "c", imported from `csv` (a `text,label` header, the
/// label column as gold).
pub fn labeled_project(dir: &Path, csv: &str) -> (PathBuf, selectra::store::Store) {
    use selectra::exchange::import::{import_file, ImportOptions};
    let file = dir.join("c.csv");
    std::fs::write(&file, csv).unwrap();
    let db = dir.join("p.db");
    let mut store = selectra::store::Store::open(&db).unwrap();
    let options = ImportOptions { name: "c".into(), label_column: Some("label".into()), ..Default::default() };
    import_file(&mut store, &file, &options, &mut |_| {}, &std::sync::atomic::AtomicBool::new(false)).unwrap();
    (db, store)
}

/// Stores `vectors` as a finished embedding set of corpus "c", one per record in row order;
/// returns the set and the records' ids.
pub fn store_vectors(store: &mut selectra::store::Store, vectors: Vec<Vec<f32>>) -> (i64, Vec<i64>) {
    let ids: Vec<i64> = (1..=vectors.len() as u64).map(|row| store.record_id("c", row).unwrap()).collect();
    let key = selectra::store::EmbeddingKey { corpus: "c".into(), model: "numpy".into(), weights_sha256: "0".repeat(64), strip_accents: None };
    let set = store.open_embeddings(&key, vectors[0].len()).unwrap().id;
    store.save_embeddings(set, &ids.iter().copied().zip(vectors).collect::<Vec<_>>()).unwrap();
    store.finish_embeddings(set).unwrap();
    (set, ids)
}

/// Starts `selectra` with `args` and kills it (SIGKILL) once the write-ahead log `wal` has grown
/// by `grow_by` bytes from its size now (the process is then inside a write transaction);
/// returns the exit status when it finished first, `None` when it was killed.
pub fn kill_when_wal_grows(args: &[&str], wal: &std::path::Path, grow_by: u64) -> Option<std::process::ExitStatus> {
    let start = std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_selectra")).args(args).stdout(std::process::Stdio::null()).spawn().unwrap();
    let finished = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0) >= start + grow_by {
            break None;
        }
        std::thread::yield_now();
    };
    if finished.is_none() {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    finished
}
