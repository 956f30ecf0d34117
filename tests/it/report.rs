//! `selectra report`: the published comparison, an evaluation of real runs of a fixture model on
//! the demo corpus (checked against the exported predictions), hostile names that must stay text,
//! and the errors a user can run into.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::selectra;
use crate::common::*;
use scraper::{Html, Selector};
use selectra::store::{Status, Store};
use serde_json::Value;

fn ok(out: Output) -> String {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn demo_csv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo/noticias.csv")
}

/// Elements and attributes that would run code or load something if they were live markup.
fn assert_inert(html: &str) {
    let doc = Html::parse_document(html);
    for tag in ["script", "img", "iframe", "object", "embed", "link", "foreignObject"] {
        let found = doc.select(&Selector::parse(tag).unwrap()).count();
        assert_eq!(found, 0, "the report has {found} <{tag}> element(s)");
    }
    for element in doc.select(&Selector::parse("*").unwrap()) {
        for (name, value) in element.value().attrs() {
            assert!(!name.to_ascii_lowercase().starts_with("on"), "<{}> has an event handler attribute {name}", element.value().name());
            assert!(!value.trim_start().to_ascii_lowercase().starts_with("javascript:"), "<{}> {name}={value}", element.value().name());
        }
    }
}

fn svg_count(html: &str) -> usize {
    Html::parse_document(html).select(&Selector::parse("svg").unwrap()).count()
}

#[test]
fn published_report_has_its_tables_and_every_chart() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("report");
    ok(selectra(&["report", "--published", "--output", out_dir.to_str().unwrap()]));
    let html = std::fs::read_to_string(out_dir.join("index.html")).unwrap();
    assert_inert(&html);
    // The grouped bars and one size-vs-score chart per task.
    assert_eq!(svg_count(&html), 4);
    for name in ["published-scores", "published-size-conll2002-ner", "published-size-paws-x", "published-size-xnli"] {
        let svg = std::fs::read_to_string(out_dir.join("figures").join(format!("{name}.svg"))).unwrap();
        assert!(svg.starts_with("<svg"), "{name}.svg");
        let png = std::fs::read(out_dir.join("figures").join(format!("{name}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name}.png is not a PNG");
    }
    // Numbers from the card are in the page, marked as published, with their source.
    assert!(html.contains("0.865 ± 0.004"), "SELECTRA small's NER F1 as the card gives it");
    // The card's digits, not a rounding of them, and not the lm-spanish table's later values.
    let doc = Html::parse_document(&html);
    let rows: Vec<Vec<String>> = doc
        .select(&Selector::parse("table tbody tr").unwrap())
        .map(|tr| tr.select(&Selector::parse("td").unwrap()).map(|td| td.text().collect::<String>()).collect())
        .collect();
    let row = |model: &str| rows.iter().find(|r| r[0] == model).unwrap_or_else(|| panic!("no row for {model}")).clone();
    assert_eq!(row("RoBERTa-l")[1..5], ["355M", "0.8772 (f1)", "0.9060 (accuracy)", "0.7958 (accuracy)"], "the card's RoBERTa-l row");
    assert_eq!(row("mBERT")[2], "0.8691 (f1)", "the card's digits, not a rounding");
    assert!(html.contains("SELECTRA model card"));
    // The card gives every parameter count, so every size chart shows all 8 models.
    assert!(!html.contains("Not shown"), "a size chart left a model out");
    assert_eq!(html.matches("355M").count(), 1, "RoBERTa-l's size in the table");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(out_dir.join("report.json")).unwrap()).unwrap();
    assert!(report["evaluation"].is_null());
}

struct Project {
    _dir: tempfile::TempDir,
    db: PathBuf,
    out: PathBuf,
}

/// The demo corpus, two runs of the fixture NLI model (two templates), and three annotations that
/// overrule the gold column.
fn project_with_runs() -> Project {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let out = dir.path().join("report");
    let db_s = db.to_str().unwrap();
    ok(selectra(&[
        "corpus",
        "import",
        "--db",
        db_s,
        "--name",
        "noticias",
        "--text-column",
        "texto",
        "--id-column",
        "id",
        "--label-column",
        "tema",
        demo_csv().to_str().unwrap(),
    ]));
    let model = model_dir("nli-electra-entail0");
    for template in ["Este ejemplo es {}.", "El tema es {}."] {
        ok(selectra(&[
            "run",
            "--db",
            db_s,
            "--corpus",
            "noticias",
            "--model",
            model.to_str().unwrap(),
            "--labels",
            "deportes,economía,política,cultura",
            "--template",
            template,
        ]));
    }
    let mut store = Store::open(&db).unwrap();
    for (row, label) in [(1, "cultura"), (2, "deportes"), (9, "política")] {
        let id = store.record_id("noticias", row).unwrap();
        store.annotate(id, &[label.to_string()], Status::Accepted, "test").unwrap();
    }
    // A discarded record is left out even though it has a gold label.
    let id = store.record_id("noticias", 3).unwrap();
    store.annotate(id, &["deportes".to_string()], Status::Discarded, "test").unwrap();
    Project { _dir: dir, db, out }
}

#[test]
fn report_over_fixture_runs_matches_the_exported_predictions() {
    let p = project_with_runs();
    let stdout = ok(selectra(&["report", "--db", p.db.to_str().unwrap(), "--output", p.out.to_str().unwrap(), "--json"]));
    let printed: Value = serde_json::from_str(stdout.trim()).unwrap();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(p.out.join("report.json")).unwrap()).unwrap();
    // The printed evaluation is report.json's plus what the app shows beside it (the run ids,
    // the figures and each run's warning in words).
    let mut shown = printed["evaluation"].clone();
    let extra = shown.as_object_mut().unwrap();
    assert!(extra.remove("run_ids").is_some() && extra.remove("figures").is_some());
    for run in extra["runs"].as_array_mut().unwrap() {
        assert!(run.as_object_mut().unwrap().remove("outside_warning").is_some());
    }
    assert_eq!(shown, report["evaluation"]);
    let evaluation = &report["evaluation"];
    assert_eq!(evaluation["references"]["accepted_annotations"], 3);
    assert_eq!(evaluation["references"]["gold"], 28);
    assert_eq!(evaluation["references"]["excluded"], 1);
    let runs = evaluation["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);

    // Recompute each run's accuracy from `selectra export`, independently of src/evaluate.rs.
    let jsonl = ok(selectra(&["export", "--db", p.db.to_str().unwrap(), "--corpus", "noticias", "--format", "jsonl"]));
    for run in runs {
        let id = run["run"]["id"].as_i64().unwrap();
        let (mut n, mut correct) = (0u64, 0u64);
        for line in jsonl.lines() {
            let rec: Value = serde_json::from_str(line).unwrap();
            let reference = match &rec["annotation"] {
                a if a["status"] == "discarded" => continue,
                a if a["status"] == "accepted" => a["labels"][0].as_str().unwrap().to_string(),
                _ => rec["gold"].as_str().unwrap().to_string(),
            };
            let prediction = rec["predictions"].as_array().unwrap().iter().find(|p| p["run"] == id).unwrap();
            n += 1;
            correct += (prediction["labels"][0].as_str().unwrap() == reference) as u64;
        }
        let m = &run["metrics"];
        assert_eq!(m["kind"], "single_label");
        assert_eq!(m["n"].as_u64().unwrap(), n);
        close(&format!("run {id} accuracy"), m["accuracy"]["value"].as_f64().unwrap(), correct as f64 / n as f64);
        let (low, high) = (m["accuracy"]["low"].as_f64().unwrap(), m["accuracy"]["high"].as_f64().unwrap());
        assert!(low <= m["accuracy"]["value"].as_f64().unwrap() && m["accuracy"]["value"].as_f64().unwrap() <= high);
        let confusion_total: u64 = m["confusion"].as_array().unwrap().iter().flat_map(|r| r.as_array().unwrap()).map(|c| c.as_u64().unwrap()).sum();
        assert_eq!(confusion_total, n);
    }

    let html = std::fs::read_to_string(p.out.join("index.html")).unwrap();
    assert_inert(&html);
    // 4 published charts, the per-label F1 comparison, and per run: confusion, reliability, scores.
    assert_eq!(svg_count(&html), 4 + 1 + 2 * 3);
    let figures = std::fs::read_dir(p.out.join("figures")).unwrap().count();
    assert_eq!(figures, 2 * (4 + 1 + 2 * 3));
    // Measured numbers say where they come from.
    let weights = runs[0]["run"]["weights_sha256"].as_str().unwrap();
    assert!(html.contains(weights), "the weights hash of the run is in the report");
}

#[test]
fn hostile_names_and_texts_stay_text() {
    const SCRIPT: &str = "<script>alert(1)</script>";
    const IMG: &str = "\"><img src=x onerror=alert(1)>";
    let dir = tempfile::tempdir().unwrap();
    // The model's folder name is shown as the model's name.
    let model = dir.path().join("<svg onload=alert(1)>");
    std::fs::create_dir(&model).unwrap();
    for entry in std::fs::read_dir(model_dir("nli-electra-entail0")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, model.join(path.file_name().unwrap())).unwrap();
    }
    let csv = dir.path().join("hostile.csv");
    let rows = [
        (SCRIPT, SCRIPT),
        (IMG, IMG),
        ("<iframe src=javascript:alert(1)></iframe> texto normal", SCRIPT),
        ("<a href=\"javascript:alert(1)\">pincha</a>", IMG),
        // A gold label with control characters (BEL, ESC): XML 1.0 allows none of them.
        ("una frase corriente", "de\u{7}portes\u{1b}[2J"),
    ];
    let mut w = csv::Writer::from_path(&csv).unwrap();
    w.write_record(["text", "label"]).unwrap();
    for (text, label) in rows {
        w.write_record([text, label]).unwrap();
    }
    w.flush().unwrap();
    let db = dir.path().join("h.db");
    let db_s = db.to_str().unwrap();
    let corpus = "<b onmouseover=alert(1)>corpus</b>";
    ok(selectra(&["corpus", "import", "--db", db_s, "--name", corpus, "--label-column", "label", csv.to_str().unwrap()]));
    ok(selectra(&["run", "--db", db_s, "--corpus", corpus, "--model", model.to_str().unwrap(), "--labels", &format!("{SCRIPT},{IMG}")]));
    let out = dir.path().join("report");
    ok(selectra(&["report", "--db", db_s, "--output", out.to_str().unwrap()]));
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert_inert(&html);
    // Everything is still there, as text.
    let text: String = Html::parse_document(&html).root_element().text().collect();
    for needle in [SCRIPT, IMG, corpus, "<svg onload=alert(1)>"] {
        assert!(text.contains(needle), "{needle} is not shown as text");
    }
    for entry in std::fs::read_dir(out.join("figures")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "svg") {
            let svg = std::fs::read_to_string(&path).unwrap();
            assert_inert(&svg);
            assert!(!svg.contains("<script") && !svg.contains("<img"), "{}", path.display());
            assert!(!svg.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')), "{} is not well-formed XML", path.display());
        }
    }
}

#[test]
fn report_errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let missing = dir.path().join("missing.db");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["report".into(), "--db".into(), missing.to_str().unwrap().into(), "--output".into(), out.to_str().unwrap().into()], "does not exist"),
        (vec!["report".into(), "--output".into(), out.to_str().unwrap().into()], "--db"),
    ];
    for (args, expected) in cases {
        let o = Command::new(env!("CARGO_BIN_EXE_selectra")).args(&args).output().unwrap();
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    assert!(!missing.exists(), "a report must not create a database");

    // A corpus without runs, then with a run but no reference labels.
    let db = dir.path().join("p.db");
    let db_s = db.to_str().unwrap();
    let csv = dir.path().join("c.csv");
    std::fs::write(&csv, "text\nuna frase\notra frase\n").unwrap();
    ok(selectra(&["corpus", "import", "--db", db_s, "--name", "c", csv.to_str().unwrap()]));
    let o = selectra(&["report", "--db", db_s, "--output", out.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("has no zero-shot runs"), "{}", String::from_utf8_lossy(&o.stderr));
    let model = model_dir("nli-electra-entail0");
    ok(selectra(&["run", "--db", db_s, "--corpus", "c", "--model", model.to_str().unwrap(), "--labels", "a,b"]));
    let o = selectra(&["report", "--db", db_s, "--output", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("reference label"), "{}", String::from_utf8_lossy(&o.stderr));
    let o = selectra(&["report", "--db", db_s, "--runs", "99", "--output", out.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("run 99"), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn gold_cells_without_a_label_are_not_references() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let db_s = db.to_str().unwrap();
    let csv = dir.path().join("c.csv");
    std::fs::write(&csv, "text,gold\nuna frase,a|b\notra frase,|\ntercera frase,\ncuarta frase,b\n").unwrap();
    ok(selectra(&["corpus", "import", "--db", db_s, "--name", "c", "--label-column", "gold", csv.to_str().unwrap()]));
    let model = model_dir("nli-electra-entail0");
    // One multi-label run (gold splits on '|') beside a single-label run of the same labels.
    ok(selectra(&["run", "--db", db_s, "--corpus", "c", "--model", model.to_str().unwrap(), "--labels", "a,b", "--multi-label"]));
    ok(selectra(&["run", "--db", db_s, "--corpus", "c", "--model", model.to_str().unwrap(), "--labels", "a,b"]));
    let out = dir.path().join("r");
    let stdout = ok(selectra(&["report", "--db", db_s, "--output", out.to_str().unwrap(), "--json"]));
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["evaluation"]["references"]["gold"], 2);
    assert_eq!(report["evaluation"]["references"]["excluded"], 2);
    let kinds: Vec<&str> = report["evaluation"]["runs"].as_array().unwrap().iter().map(|r| r["metrics"]["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["multi_label", "single_label"]);
}

/// A stored scan whose words go backwards or leave the text (what a damaged or hand-made result
/// could hold; `import-run` refuses such rows) is still reported, never sliced unchecked.
#[test]
fn reports_never_slice_scans_unchecked() {
    use selectra::domain::rtd::{RecordScan, ScannedToken};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let csv = dir.path().join("c.csv");
    std::fs::write(&csv, "text\nuna frase corta\n").unwrap();
    ok(selectra(&["corpus", "import", "--db", db.to_str().unwrap(), "--name", "c", csv.to_str().unwrap()]));
    let mut store = Store::open(&db).unwrap();
    let key = selectra::store::ScanKey { corpus: "c".into(), model: "m".into(), weights_sha256: "0".into(), strip_accents: None };
    let scan = store.open_scan(&key).unwrap();
    let token = |start: usize, end: usize, word_start: bool| ScannedToken { token: "x".into(), start, end, probability: 0.9, word_start };
    // A word-start token at 5..6 continued by one at 0..1 (a word ending before it starts), and
    // a word past the end of the 16-character text.
    let tokens = vec![token(5, 6, true), token(0, 1, false), token(10, 400, true)];
    let (suspicion, flagged, mean) = selectra::domain::rtd::summarize(&tokens);
    let record = store.record_id("c", 1).unwrap();
    store.save_scan_results(scan.id, &[(record, RecordScan { tokens, suspicion, flagged, mean, windows: 1 })]).unwrap();
    drop(store);
    let out = dir.path().join("r");
    ok(selectra(&["report", "--db", db.to_str().unwrap(), "--output", out.to_str().unwrap()]));
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    // Marked or not, the whole text is there once.
    let text: String = Html::parse_document(&html).root_element().text().collect();
    assert_eq!(text.matches("una frase corta").count(), 1, "the record's text, whole");
}

/// Every published model says what loads for its family (here, beside the engine it names, since
/// the report floor does not import the engine); what it names parses as a Hub id of
/// an architecture we run (and the RoBERTa rows, whose repositories are masked language
/// models, say why none is named).
#[test]
fn every_published_model_says_what_loads_for_its_family() {
    let p = selectra::report::published::Published::load().unwrap();
    for score in &p.scores {
        let m = p.loadable(&score.model).unwrap_or_else(|| panic!("{} has no row in published_models.csv", score.model));
        assert!(!m.note.is_empty(), "{}", m.model);
        match (&m.load_id, &m.architecture) {
            (Some(id), Some(arch)) => {
                assert!(matches!(selectra::engine::hub::ModelSource::parse(id).unwrap(), selectra::engine::hub::ModelSource::Hub { .. }), "{id}");
                assert!(selectra::engine::model::config::Architecture::SUPPORTED.split(", ").any(|a| a.trim() == arch), "{arch}");
            }
            (None, None) => assert!(m.note.contains("masked language model"), "{}", m.model),
            _ => panic!("{}: a loadable id and its architecture go together", m.model),
        }
    }
    assert_eq!(p.models.len(), p.scores.iter().map(|s| &s.model).collect::<std::collections::BTreeSet<_>>().len());
}
