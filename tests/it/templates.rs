//! The template lab: each template's numbers equal what `selectra run` with it followed by
//! evaluation gives, on the same labeled records.

use std::process::Command;
use std::sync::atomic::AtomicBool;

use crate::common::*;
use selectra::analysis::evaluate::{evaluate, RunMetrics};
use selectra::analysis::metrics::EvalOptions;
use selectra::exchange::import::{import_file, ImportOptions};
use selectra::store::{Status, Store};
use serde_json::Value;

const LABELS: &str = "cultura,deportes,economía,política";
const TEMPLATES: &[&str] = &["Este ejemplo es {}.", "Esta noticia trata de {}."];

fn selectra(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_selectra")).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_template_lab_agrees_with_run_and_evaluate() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let mut store = Store::open(&db).unwrap();
    let csv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo/noticias.csv");
    let options = ImportOptions { name: "n".into(), text_column: Some("texto".into()), label_column: Some("tema".into()), ..Default::default() };
    import_file(&mut store, &csv, &options, &mut |_| {}, &AtomicBool::new(false)).unwrap();
    // Annotations override gold; a discarded record has no reference.
    store.annotate(store.record_id("n", 1).unwrap(), &["economía".into()], Status::Accepted, "ana").unwrap();
    store.annotate(store.record_id("n", 2).unwrap(), &[], Status::Discarded, "ana").unwrap();
    drop(store);
    let model = model_dir("nli-electra-entail0");
    let (db_s, model_s) = (db.to_str().unwrap(), model.to_str().unwrap());
    let mut args = vec!["templates", "--db", db_s, "--corpus", "n", "--model", model_s, "--labels", LABELS, "--json"];
    for t in TEMPLATES {
        args.extend(["--template", t]);
    }
    let lab = selectra(&args);
    let lab = lab.as_array().unwrap();
    assert_eq!(lab.len(), 2);
    assert!(lab[0]["macro_f1"].as_f64() >= lab[1]["macro_f1"].as_f64(), "best first");
    for entry in lab {
        assert_eq!(entry["n"], 31, "32 records, one discarded");
        let template = entry["template"].as_str().unwrap();
        let run = selectra(&["run", "--db", db_s, "--corpus", "n", "--model", model_s, "--labels", LABELS, "--template", template, "--json"]);
        let run_id = run["run"]["id"].as_i64().unwrap();
        let store = Store::open(&db).unwrap();
        let e = evaluate(&store, "n", &[run_id], &EvalOptions::default()).unwrap();
        let RunMetrics::SingleLabel(m) = &e.runs[0].metrics else { panic!("single-label") };
        assert_eq!(m.n, 31);
        // Equal up to JSON's float parsing (serde_json without float_roundtrip may be off by an ulp).
        let same = |what: &str, got: &Value, want: f64| assert!((got.as_f64().unwrap() - want).abs() < 1e-12, "{template}: {what} {got} vs {want}");
        same("accuracy", &entry["accuracy"], m.accuracy.value);
        same("macro F1", &entry["macro_f1"], m.macro_f1.value);
        same("interval low", &entry["ci"][0], m.accuracy.low);
        same("interval high", &entry["ci"][1], m.accuracy.high);
    }
    // Per-label hypothesis sets are candidates too; the set equal to a template scores as it does.
    let same_as_first = "Este ejemplo es cultura.|Este ejemplo es deportes.|Este ejemplo es economía.|Este ejemplo es política.";
    let own = "Habla de arte.|Habla de deporte.|Habla de dinero.|Habla de gobierno.";
    let sets = selectra(&[
        "templates",
        "--db",
        db_s,
        "--corpus",
        "n",
        "--model",
        model_s,
        "--labels",
        LABELS,
        "--template",
        "Este ejemplo es {}.",
        "--hypotheses",
        same_as_first,
        "--hypotheses",
        own,
        "--json",
    ]);
    let sets = sets.as_array().unwrap();
    assert_eq!(sets.len(), 3);
    let by_template = |t: &str| sets.iter().filter(|e| e["template"] == t).map(|e| e["macro_f1"].as_f64().unwrap()).collect::<Vec<_>>();
    let plain = by_template("Este ejemplo es {}.");
    assert_eq!(plain.len(), 2, "a set equal to the template's hypotheses is that template");
    assert_eq!(plain[0], plain[1]);
    assert_eq!(by_template(r#"hypotheses: ["Habla de arte.","Habla de deporte.","Habla de dinero.","Habla de gobierno."]"#).len(), 1);
    let bad = Command::new(env!("CARGO_BIN_EXE_selectra"))
        .args(["templates", "--db", db_s, "--corpus", "n", "--model", model_s, "--labels", LABELS, "--template", "sin campo"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("{}"));
}
