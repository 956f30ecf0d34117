//! `selectra train`: a head on the labels over a model's embeddings, stored as a run that works
//! wherever runs work, surviving a kill -9 during its embedding job.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicBool;

use crate::common::*;
use selectra::exchange::import::{import_file, ImportOptions};
use selectra::store::{Query, Sort, Status, Store};
use serde_json::Value;

const TOPICS: &[(&str, &[&str])] = &[
    ("deportes", &["equipo", "partido", "ganó", "fútbol", "jugador"]),
    ("economía", &["precio", "precios", "mercado", "banco", "empresa"]),
    ("política", &["gobierno", "elecciones", "ministro", "presidente", "política"]),
];

/// `n` records of three topics (words of the topic plus common ones); every seventh has no gold.
fn project(dir: &Path, n: usize) -> std::path::PathBuf {
    let mut csv = String::from("text,label\n");
    for i in 0..n {
        let (topic, words) = TOPICS[i % 3];
        let text = format!("el {} de la {} y {} en la ciudad", words[i % 5], words[(i / 3) % 5], words[(i / 7) % 5]);
        csv.push_str(&format!("{text},{}\n", if i % 7 == 6 { "" } else { topic }));
    }
    labeled_project(dir, &csv).0
}

#[test]
fn a_trained_head_is_a_run_like_any_other() {
    let dir = tempfile::tempdir().unwrap();
    let db = project(dir.path(), 140);
    let model = model_dir("disc-vocab-bin");
    let (db_s, model_s) = (db.to_str().unwrap(), model.to_str().unwrap());
    let t = selectra_json(&["train", "--db", db_s, "--corpus", "c", "--model", model_s, "--json"]);
    assert_eq!(t["n_train"], 120, "records with a gold label");
    assert_eq!(t["labels"], serde_json::json!(["deportes", "economía", "política"]));
    for key in ["cv_accuracy", "cv_macro_f1"] {
        let v = t[key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    let curve: Vec<u64> = t["learning_curve"].as_array().unwrap().iter().map(|p| p["n"].as_u64().unwrap()).collect();
    assert_eq!(curve, [25, 50], "25, 50, … below the 96 examples a training fold holds");
    // C and the class weighting were chosen by cross-validation: every candidate is reported,
    // the chosen one scores best, and the baseline is beside the numbers.
    let candidates = t["selection"].as_array().unwrap();
    assert_eq!(candidates.len(), 2 * selectra::analysis::learn::C_GRID.len());
    let best = candidates.iter().map(|c| c["macro_f1"].as_f64().unwrap()).fold(0.0, f64::max);
    let chosen = candidates.iter().find(|c| c["c"] == t["c"] && c["class_weight"] == t["class_weight"]).unwrap();
    assert_eq!(chosen["macro_f1"].as_f64().unwrap(), best);
    assert_eq!(t["baseline"]["accuracy"].as_f64().unwrap(), 40.0 / 120.0);
    assert_eq!(t["beats_baseline"], true);
    let run = t["run"].as_i64().unwrap();

    let store = Store::open(&db).unwrap();
    let info = store.run(run).unwrap();
    assert_eq!((info.kind.as_str(), info.predictions, info.records), ("trained", 140, 140));
    assert!(info.finished_at.is_some());
    // Uncertainty orders and evaluation work on it as on any run.
    let page = store.query("c", &Query { run: Some(run), sort: Sort::Margin, limit: 140, ..Default::default() }).unwrap();
    assert_eq!(page.total, Some(140));
    assert!(page.rows.windows(2).all(|w| w[0].margin <= w[1].margin));
    let e = selectra::analysis::evaluate::evaluate(&store, "c", &[run], &selectra::analysis::metrics::EvalOptions::default()).unwrap();
    assert_eq!(e.references.gold, 120);
    // Labeled records carry out-of-fold scores: evaluating the run is its cross-validation.
    let selectra::analysis::evaluate::RunMetrics::SingleLabel(m) = &e.runs[0].metrics else { panic!("single-label") };
    assert!((m.accuracy.value - t["cv_accuracy"].as_f64().unwrap()).abs() < 1e-12, "{} vs {}", m.accuracy.value, t["cv_accuracy"]);
    assert!((m.macro_f1.value - t["cv_macro_f1"].as_f64().unwrap()).abs() < 1e-12);

    // The exported head, applied to the stored embeddings by hand, gives the run's scores of the
    // records it was not trained on.
    let out_dir = dir.path().join("head");
    let status = Command::new(env!("CARGO_BIN_EXE_selectra"))
        .args(["export-head", "--db", db_s, "--run", &run.to_string(), "--output", out_dir.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let bytes = std::fs::read(out_dir.join("head.safetensors")).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let floats = |name: &str| -> (Vec<usize>, Vec<f32>) {
        let t = tensors.tensor(name).unwrap();
        (t.shape().to_vec(), t.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    };
    let (wshape, weight) = floats("weight");
    let (bshape, bias) = floats("bias");
    assert_eq!((wshape, bshape), (vec![3, 32], vec![3]));
    let description: Value = serde_json::from_str(&std::fs::read_to_string(out_dir.join("head.json")).unwrap()).unwrap();
    let labels: Vec<String> = description["labels"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect();
    assert_eq!(description["n_train"], 120);
    assert_eq!(description["c"], t["c"], "head.json says which objective the weights solve");
    // Unlabeled records (every seventh) carry the exported head's scores; labeled ones their
    // out-of-fold scores.
    let set = store.embedding_sets("c").unwrap()[0].id;
    let unlabeled: Vec<i64> = (1..=20).map(|k| store.record_id("c", 7 * k).unwrap()).collect();
    let vectors: Vec<(i64, Vec<f32>)> = store.embeddings(set).unwrap().into_iter().filter(|(id, _)| unlabeled.contains(id)).collect();
    assert_eq!(vectors.len(), 20);
    for (record, vector) in vectors {
        let logits: Vec<f64> =
            (0..3).map(|k| f64::from(bias[k]) + (0..32).map(|j| f64::from(weight[k * 32 + j]) * f64::from(vector[j])).sum::<f64>()).collect();
        let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = logits.iter().map(|l| (l - max).exp()).sum();
        let stored = store.record_predictions(record).unwrap().into_iter().find(|p| p.run_id == run).unwrap();
        for (label, score) in stored.labels.iter().zip(&stored.scores) {
            let k = labels.iter().position(|l| l == label).unwrap();
            let by_hand = (logits[k] - max).exp() / sum;
            assert!((by_hand - f64::from(*score)).abs() < 1e-5, "record {record}, {label}: {by_hand} vs {score}");
        }
    }
    let zero_shot =
        Command::new(env!("CARGO_BIN_EXE_selectra")).args(["export-head", "--db", db_s, "--run", "999", "--output", "x"]).output().unwrap();
    assert!(!zero_shot.status.success());
    drop(store);

    // The same labels train the same head: the same run. One more label is another head.
    let again = selectra_json(&["train", "--db", db_s, "--corpus", "c", "--model", model_s, "--json"]);
    assert_eq!(again["run"], t["run"]);
    let mut store = Store::open(&db).unwrap();
    let unlabeled = store.record_id("c", 7).unwrap();
    store.annotate(unlabeled, &["deportes".into()], Status::Accepted, "ana").unwrap();
    drop(store);
    let more = selectra_json(&["train", "--db", db_s, "--corpus", "c", "--model", model_s, "--json"]);
    assert_eq!(more["n_train"], 121);
    assert_ne!(more["run"], t["run"]);
}

#[test]
fn training_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.txt");
    std::fs::write(&file, "uno\ndos\ntres\n").unwrap();
    let db = dir.path().join("p.db");
    let mut store = Store::open(&db).unwrap();
    import_file(&mut store, &file, &ImportOptions { name: "c".into(), ..Default::default() }, &mut |_| {}, &AtomicBool::new(false)).unwrap();
    drop(store);
    let out = Command::new(env!("CARGO_BIN_EXE_selectra"))
        .args(["train", "--db", db.to_str().unwrap(), "--corpus", "c", "--model", model_dir("disc-vocab-bin").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at least two labels"), "{err}");
}

/// Killed with SIGKILL while embedding, training resumes the embedding job and finishes.
#[test]
fn training_killed_while_embedding_finishes_when_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = project(dir.path(), 1500);
    let model = model_dir("disc-vocab-bin");
    // The objective is fixed: this test is about the embedding job (the choice of C is tested
    // in a_trained_head_is_a_run_like_any_other and against scikit-learn in learn.rs).
    let args =
        ["train", "--db", db.to_str().unwrap(), "--corpus", "c", "--model", model.to_str().unwrap(), "--c", "1", "--class-weight", "none", "--json"];
    let mut child = Command::new(env!("CARGO_BIN_EXE_selectra")).args(args).stdout(std::process::Stdio::null()).spawn().unwrap();
    let killed = loop {
        if child.try_wait().unwrap().is_some() {
            break false;
        }
        let embedded = Store::open(&db).ok().and_then(|s| s.embedding_sets("c").ok()).and_then(|sets| sets.first().map(|s| s.embedded)).unwrap_or(0);
        if embedded >= 64 {
            child.kill().unwrap();
            child.wait().unwrap();
            break true;
        }
        std::thread::yield_now();
    };
    assert!(killed, "training finished before it could be killed; the test proved nothing");
    let store = Store::open(&db).unwrap();
    assert!(store.runs("c").unwrap().is_empty(), "no run before training ends");
    drop(store);
    let t = selectra_json(&args);
    assert_eq!(t["n_train"].as_u64().unwrap(), 1500 - 1500 / 7);
    assert_eq!(Store::open(&db).unwrap().run(t["run"].as_i64().unwrap()).unwrap().predictions, 1500);
}

/// A corpus whose records carry several labels trains one-vs-rest: a multi-label run whose
/// scores are each label's own probability.
#[test]
fn label_sets_train_one_vs_rest() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("text,label\n");
    for i in 0..80 {
        let (topic, words) = TOPICS[i % 3];
        let (other, more) = TOPICS[(i + 1) % 3];
        let text = format!("el {} y la {} en la ciudad", words[i % 5], more[(i / 3) % 5]);
        let gold = if i % 2 == 0 { format!("{topic}|{other}") } else { topic.to_string() };
        csv.push_str(&format!("{text},{gold}\n"));
    }
    let file = dir.path().join("c.csv");
    std::fs::write(&file, csv).unwrap();
    let db = dir.path().join("p.db");
    let mut store = Store::open(&db).unwrap();
    let options = ImportOptions { name: "c".into(), label_column: Some("label".into()), ..Default::default() };
    import_file(&mut store, &file, &options, &mut |_| {}, &AtomicBool::new(false)).unwrap();
    drop(store);
    let model = model_dir("disc-vocab-bin");
    let t = selectra_json(&["train", "--db", db.to_str().unwrap(), "--corpus", "c", "--model", model.to_str().unwrap(), "--json"]);
    assert_eq!(t["n_train"], 80);
    let store = Store::open(&db).unwrap();
    let run = store.run(t["run"].as_i64().unwrap()).unwrap();
    assert!(run.key.multi_label);
    let sums: Vec<f32> = (1..=5)
        .map(|row| {
            let p = store.record_predictions(store.record_id("c", row).unwrap()).unwrap().remove(0);
            p.scores.iter().sum::<f32>()
        })
        .collect();
    assert!(sums.iter().any(|s| (s - 1.0).abs() > 1e-3), "independent probabilities, not a softmax: {sums:?}");
}
