//! One wire type per value: what `selectra ... --json` prints is the object the app receives
//! (`selectra::api::wire`, built by the same core calls), and it keeps every field it printed
//! before the two were one (README's CLI section lists the additions).

use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicBool;

use crate::common::*;
use selectra::api::wire;
use selectra::exchange::import::{import_file, ImportOptions};
use selectra::store::{Query, Store};
use serde_json::Value;

fn selectra(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_selectra")).args(args).env("HF_HUB_OFFLINE", "1").output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `value` as the CLI prints it: JSON text read back (an f32 widens differently otherwise).
fn as_printed<T: serde::Serialize>(value: &T) -> Value {
    serde_json::from_str(&serde_json::to_string(value).unwrap()).unwrap()
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().map(String::as_str).collect()
}

/// Fails unless `v` has every one of `fields`.
fn has(what: &str, v: &Value, fields: &[&str]) {
    let present = keys(v);
    let missing: Vec<&&str> = fields.iter().filter(|f| !present.contains(f)).collect();
    assert!(missing.is_empty(), "{what} lacks {missing:?}; it has {present:?}");
}

fn project(dir: &Path) -> std::path::PathBuf {
    let mut csv = String::from("text,label,fuente\n");
    let topics =
        [("deportes", "el equipo ganó el partido"), ("economía", "el banco subió los precios"), ("política", "el gobierno convocó elecciones")];
    for i in 0..30 {
        let (label, text) = topics[i % 3];
        csv.push_str(&format!("{text} número {i},{label},{}\n", if i % 2 == 0 { "web" } else { "prensa" }));
    }
    let file = dir.join("c.csv");
    std::fs::write(&file, csv).unwrap();
    let db = dir.join("p.db");
    let mut store = Store::open(&db).unwrap();
    let options =
        ImportOptions { name: "c".into(), label_column: Some("label".into()), metadata_columns: vec!["fuente".into()], ..Default::default() };
    import_file(&mut store, &file, &options, &mut |_| {}, &AtomicBool::new(false)).unwrap();
    db
}

#[test]
fn json_objects_are_what_the_app_receives() {
    let dir = tempfile::tempdir().unwrap();
    let db = project(dir.path());
    let disc = model_dir("disc-vocab-bin");
    let nli = model_dir("nli-electra-entail0");
    let (db_s, disc_s, nli_s) = (db.to_str().unwrap(), disc.to_str().unwrap(), nli.to_str().unwrap());

    // inspect: the contract's model/text/tokens, plus the words and accent settings, exactly
    // the app's object.
    let text = "El perro comió pan rosa";
    let printed = selectra(&["inspect", "--model", disc_s, "--json", text]);
    let model = selectra::Model::load(disc_s, &Default::default(), std::sync::Arc::new(selectra::engine::hub::Silent)).unwrap();
    let view = wire::InspectionView::new(selectra::engine::inspect::inspect(&model, text).unwrap(), &model);
    assert_eq!(printed, as_printed(&view));
    has("inspect", &printed, &["model", "text", "tokens", "words", "truncated", "files_strip_accents", "strips_accents", "untrained_note"]);
    has("an inspected token", &printed["tokens"][0], &["token", "id", "start", "end", "logit", "probability"]);
    assert!(!keys(&printed["tokens"][0]).contains(&"untrained_embedding"), "only carried when true: {}", printed["tokens"][0]);

    // run: the core's summary as it was, plus the precision check in words.
    let run = selectra(&["run", "--db", db_s, "--corpus", "c", "--model", nli_s, "--labels", "deportes,economía,política", "--json"]);
    has("run", &run, &["run", "predicted_now", "cancelled", "precision", "check_summary"]);
    has(
        "run.run",
        &run["run"],
        &["id", "kind", "corpus", "model", "labels", "template", "predictions", "records", "precision_check", "precision_check_summary"],
    );
    let run_id = run["run"]["id"].as_i64().unwrap();

    // query: the page the app browses (one record type), with the CLI's names kept.
    let run_arg = run_id.to_string();
    let printed = selectra(&["query", "--db", db_s, "--corpus", "c", "--run", &run_arg, "--order", "margin", "--limit", "4", "--json"]);
    let store = Store::open_existing(&db).unwrap();
    let filter = selectra::domain::query::FilterSpec { run: Some(run_id), ..Default::default() };
    let mut query: Query = filter.query().unwrap();
    query.sort = selectra::store::Sort::Margin;
    query.limit = 4;
    let page = store.query("c", &query).unwrap();
    let total = store.count("c", &query).unwrap();
    assert_eq!(printed, as_printed(&wire::PageDto::new(page, Some(total))));
    has("query", &printed, &["total", "records", "next"]);
    let record = &printed["records"][0];
    has(
        "a queried record",
        record,
        &[
            "record_id",
            "row",
            "id",
            "text",
            "text_pair",
            "gold",
            "metadata",
            "metadata_text",
            "labels",
            "status",
            "annotator",
            "predicted",
            "score",
            "margin",
            "entropy",
            "suspicion",
        ],
    );
    assert_eq!(record["metadata"]["fuente"], record["metadata_text"][0]["value"]);

    // suspicious: the records the Suspicious view lists, with the CLI's flagged spans.
    selectra(&["scan", "--db", db_s, "--corpus", "c", "--model", disc_s, "--json"]);
    let printed = selectra(&["suspicious", "--db", db_s, "--corpus", "c", "--limit", "3", "--json"]);
    let scan = store.corpus_scan("c", None).unwrap();
    let records: Vec<wire::SuspiciousRecordDto> = store.suspicious_records(scan.id, 3).unwrap().into_iter().map(Into::into).collect();
    assert_eq!(printed, as_printed(&records));
    has("a suspicious record", &printed[0], &["record_id", "row", "id", "text", "suspicion", "flagged", "mean", "spans", "words"]);

    // templates, train and report: every field they printed, and the app's beside them.
    let t = selectra(&[
        "templates",
        "--db",
        db_s,
        "--corpus",
        "c",
        "--model",
        nli_s,
        "--labels",
        "deportes,economía,política",
        "--template",
        "Este ejemplo es {}.",
        "--json",
    ]);
    has("a template score", &t[0], &["template", "accuracy", "macro_f1", "ci", "macro_f1_ci", "n", "outside"]);
    let t = selectra(&["train", "--db", db_s, "--corpus", "c", "--model", disc_s, "--folds", "3", "--json"]);
    has(
        "train",
        &t,
        &[
            "run",
            "n_train",
            "labels",
            "cv_accuracy",
            "cv_macro_f1",
            "cv_accuracy_ci",
            "cv_macro_f1_ci",
            "learning_curve",
            "baseline",
            "beats_baseline",
            "c",
            "class_weight",
            "selection",
            "trained_run",
            "source",
            "secs",
            "fit_secs",
            "folds",
            "verdict",
        ],
    );
    assert_eq!(t["run"], t["trained_run"]["id"]);
    let out = dir.path().join("report");
    let r = selectra(&["report", "--db", db_s, "--corpus", "c", "--output", out.to_str().unwrap(), "--json"]);
    has("report", &r, &["files", "evaluation"]);
    has("report.evaluation", &r["evaluation"], &["corpus", "references", "runs", "run_ids", "figures"]);
    has(
        "an evaluated run",
        &r["evaluation"]["runs"][0],
        &["run", "metrics", "score_histograms", "mistakes", "outside_references", "outside_labels", "outside_warning"],
    );
    assert!(r["evaluation"]["figures"][0]["svg"].as_str().unwrap().starts_with("<svg"), "{}", r["evaluation"]["figures"][0]);

    // models: the list and its cache, each model saying whether it is cached.
    let cache = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_selectra"))
        .args(["models", "--json"])
        .env("HF_HOME", cache.path())
        .env_remove("HF_HUB_CACHE")
        .env_remove("HUGGINGFACE_HUB_CACHE")
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    has("models", &m, &["cache", "models"]);
    has("a model", &m["models"][0], &["id", "description", "preset", "cached_refs", "cached_snapshots", "cached"]);
}
