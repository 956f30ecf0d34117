//! Sequence classifiers with their own labels, against transformers' text-classification
//! pipeline (`top_k=None`, `truncation=True`): softmax, sigmoid (multi-label) and raw logits
//! (regression), single texts and text pairs, truncation included.

use std::process::Command;

use crate::common::*;
use selectra::engine::classify::{TextClassifier, TextInput};
use serde_json::Value;

fn classify_cli(model: &str, text: &str, pair: Option<&str>) -> Value {
    let mut args = vec!["classify", "--model", model, "--json"];
    if let Some(pair) = pair {
        args.extend(["--text-pair", pair]);
    }
    args.push(text);
    let out = Command::new(env!("CARGO_BIN_EXE_selectra")).args(&args).output().unwrap();
    assert!(out.status.success(), "selectra {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn check(context: &str, actual: &Value, expected: &Value) {
    assert_eq!(actual["labels"], expected["labels"], "{context}: labels or their order differ");
    let (a, e) = (actual["scores"].as_array().unwrap(), expected["scores"].as_array().unwrap());
    assert_eq!(a.len(), e.len(), "{context}: number of scores differs");
    for (i, (x, y)) in a.iter().zip(e).enumerate() {
        close(&format!("{context}: score {i}"), x.as_f64().unwrap(), y.as_f64().unwrap());
    }
}

#[test]
fn classify_matches_the_text_classification_pipeline() {
    let mut checked = 0;
    let mut truncated = 0;
    for (name, expected) in expected_files() {
        let Some(cases) = expected["classify"].as_array() else { continue };
        let folder = model_dir(&name);
        let model = selectra::Model::load(folder.to_str().unwrap(), &Default::default(), std::sync::Arc::new(selectra::engine::hub::Silent)).unwrap();
        let classifier = TextClassifier::new(&model).unwrap();
        let inputs: Vec<TextInput> = cases.iter().map(|c| TextInput { text: c["text"].as_str().unwrap(), pair: c["text_pair"].as_str() }).collect();
        // All inputs in one call (batched, shortest first) give each input's own result.
        let batch = classifier.classify_batch(&inputs).unwrap();
        for (case, result) in cases.iter().zip(&batch) {
            let context = format!("{name} on {:?} / {:?}", case["text"], case["text_pair"]);
            check(&context, &serde_json::to_value(result).unwrap(), &case["output"]);
            truncated += usize::from(case["tokens"].as_u64().unwrap() as usize == model.tokenizer.max_length());
            checked += 1;
        }
        // The CLI prints the same, for the first text and for the first pair.
        let first = &cases[0];
        check(
            &format!("{name}: selectra classify"),
            &classify_cli(folder.to_str().unwrap(), first["text"].as_str().unwrap(), None),
            &first["output"],
        );
        if let Some(pair) = cases.iter().find(|c| c["text_pair"].is_string()) {
            let printed = classify_cli(folder.to_str().unwrap(), pair["text"].as_str().unwrap(), pair["text_pair"].as_str());
            check(&format!("{name}: selectra classify --text-pair"), &printed, &pair["output"]);
        }
    }
    assert!(checked >= 20, "only {checked} classifier cases were checked");
    assert!(truncated >= 4, "only {truncated} inputs reached the models' length: truncation is not exercised");
}

#[test]
fn a_discriminator_is_refused_with_what_to_use_instead() {
    let out = Command::new(env!("CARGO_BIN_EXE_selectra"))
        .args(["classify", "--model", model_dir("disc-vocab-bin").to_str().unwrap(), "--json", "hola"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ElectraForPreTraining") && stderr.contains("sequence classifier"), "{stderr}");
    assert!(out.stdout.is_empty(), "stdout stays parseable: nothing on it");
}

fn sentiment_corpus(dir: &std::path::Path) -> std::path::PathBuf {
    let texts = [
        ("El equipo ganó el partido y la afición celebró en la plaza.", "POS"),
        ("¡Qué desastre de servicio! Nunca más 😡", "NEG"),
        ("La economía creció un 2 % según el banco central.", "NEU"),
        ("Pingüino, cigüeña y ñandú", "NEU"),
        ("hola", "NEU"),
        ("El gobierno anunció nuevas medidas para la economía del país y la educación pública.", "NEG"),
        ("Me encanta este lugar", "POS"),
    ];
    let mut csv = String::from("text,label\n");
    for (text, label) in texts {
        csv.push_str(&format!("\"{text}\",{label}\n"));
    }
    let file = dir.join("c.csv");
    std::fs::write(&file, csv).unwrap();
    let db = dir.join("p.db");
    let mut store = selectra::store::Store::open(&db).unwrap();
    let options = selectra::exchange::import::ImportOptions { name: "c".into(), label_column: Some("label".into()), ..Default::default() };
    selectra::exchange::import::import_file(&mut store, &file, &options, &mut |_| {}, &std::sync::atomic::AtomicBool::new(false)).unwrap();
    db
}

#[test]
fn a_classifier_run_labels_a_corpus_with_the_models_own_labels_and_resumes() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let db = sentiment_corpus(dir.path());
    let folder = model_dir("cls-electra-sentiment");
    let printed = Command::new(env!("CARGO_BIN_EXE_selectra"))
        .args(["classify", "--db", db.to_str().unwrap(), "--corpus", "c", "--model", folder.to_str().unwrap(), "--batch-size", "3", "--json"])
        .output()
        .unwrap();
    assert!(printed.status.success(), "{}", String::from_utf8_lossy(&printed.stderr));
    let summary: Value = serde_json::from_slice(&printed.stdout).unwrap();
    assert_eq!(summary["run"]["kind"], "classifier");
    assert_eq!(summary["run"]["labels"], serde_json::json!(["NEG", "NEU", "POS"]), "the model's id2label, in file order");
    assert_eq!((summary["run"]["predictions"].as_u64(), summary["run"]["records"].as_u64()), (Some(7), Some(7)));
    assert_eq!(summary["run"]["multi_label"], false);

    // Every record's stored prediction is the classifier's on its text.
    let store = selectra::store::Store::open_existing(&db).unwrap();
    let model = selectra::Model::load(folder.to_str().unwrap(), &Default::default(), std::sync::Arc::new(selectra::engine::hub::Silent)).unwrap();
    let classifier = TextClassifier::new(&model).unwrap();
    let run_id = summary["run"]["id"].as_i64().unwrap();
    let page = store.query("c", &selectra::store::Query { limit: 100, ..Default::default() }).unwrap();
    for row in &page.rows {
        let stored = store.record_predictions(row.record_id).unwrap().into_iter().find(|p| p.run_id == run_id).unwrap();
        let fresh = classifier.classify(TextInput { text: &row.text, pair: None }).unwrap();
        assert_eq!(stored.labels, fresh.labels, "{}", row.text);
        for (a, b) in stored.scores.iter().zip(&fresh.scores) {
            close(&row.text, f64::from(*a), f64::from(*b));
        }
    }

    // Cancelled after its first batch, the run resumes to exactly the uninterrupted predictions.
    let dir2 = tempfile::tempdir().unwrap();
    let db2 = sentiment_corpus(dir2.path());
    let mut store2 = selectra::store::Store::open_existing(&db2).unwrap();
    let cancel = AtomicBool::new(false);
    let first =
        selectra::jobs::corpus_run::run_classify(&mut store2, &model, "c", None, 3, &mut |p| cancel.store(p.done >= 3, Ordering::SeqCst), &cancel)
            .unwrap();
    assert!(first.cancelled && first.run.predictions == 3, "{first:?}");
    // The app resumes it by its id, as a classifier's run.
    let (_, how) = selectra::api::task::resumable_run(&store2, first.run.id).unwrap();
    assert_eq!(how, selectra::api::task::Resumable::Classifier);
    let rest = selectra::jobs::corpus_run::run_classify(&mut store2, &model, "c", None, 3, &mut |_| {}, &AtomicBool::new(false)).unwrap();
    assert_eq!((rest.run.id, rest.predicted_now, rest.run.predictions), (first.run.id, 4, 7));
    let both = |s: &selectra::store::Store, run: i64| {
        let rows = s.query("c", &selectra::store::Query { limit: 100, ..Default::default() }).unwrap().rows;
        rows.iter().map(|r| s.record_predictions(r.record_id).unwrap().into_iter().find(|p| p.run_id == run).unwrap().scores).collect::<Vec<_>>()
    };
    assert_eq!(both(&store2, rest.run.id), both(&store, run_id));

    // The run is evaluated like any run, against the corpus's gold labels.
    let out = dir.path().join("report");
    let report = Command::new(env!("CARGO_BIN_EXE_selectra"))
        .args(["report", "--db", db.to_str().unwrap(), "--corpus", "c", "--output", out.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
    let report: Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(report["evaluation"]["runs"][0]["metrics"]["n"], 7);
}

#[test]
fn a_multi_label_model_makes_a_multi_label_run_and_a_regressor_none() {
    let dir = tempfile::tempdir().unwrap();
    let db = sentiment_corpus(dir.path());
    let run = |model: &str| {
        Command::new(env!("CARGO_BIN_EXE_selectra"))
            .args(["classify", "--db", db.to_str().unwrap(), "--corpus", "c", "--model", model_dir(model).to_str().unwrap(), "--json"])
            .output()
            .unwrap()
    };
    let multi = run("cls-bert-multilabel");
    assert!(multi.status.success(), "{}", String::from_utf8_lossy(&multi.stderr));
    assert_eq!(serde_json::from_slice::<Value>(&multi.stdout).unwrap()["run"]["multi_label"], true);
    let regressor = run("cls-roberta-regressor");
    assert_eq!(regressor.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&regressor.stderr).contains("regression model"), "{}", String::from_utf8_lossy(&regressor.stderr));
}

#[test]
fn a_pair_corpus_keeps_both_texts_and_a_pair_classifier_reads_both() {
    let dir = tempfile::tempdir().unwrap();
    let pairs = [
        ("El perro come pan.", Some("El perro está comiendo pan."), "paráfrasis"),
        ("Mañana lloverá en Madrid.", Some("El partido fue un éxito 🎉."), "no_paráfrasis"),
        ("¿Dónde está la estación?", Some("=HYPERLINK(\"x\")"), "no_paráfrasis"),
        ("Una frase sola.", None, "no_paráfrasis"),
    ];
    let mut csv = String::from("frase,otra,label\n");
    for (a, b, label) in pairs {
        csv.push_str(&format!("\"{}\",\"{}\",{label}\n", a.replace('"', "\"\""), b.unwrap_or("").replace('"', "\"\"")));
    }
    let file = dir.path().join("pairs.csv");
    std::fs::write(&file, csv).unwrap();
    let db = dir.path().join("p.db");
    let (db_s, file_s) = (db.to_str().unwrap(), file.to_str().unwrap());
    let selectra = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_selectra")).args(args).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    // A second-text column that is not there is named, with the flag that fixes it.
    let (code, _, stderr) =
        selectra(&["corpus", "import", "--db", db_s, "--name", "p", "--text-column", "frase", "--text-pair-column", "otro", file_s]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("otro") && stderr.contains("--text-pair-column"), "{stderr}");
    let (code, _, stderr) = selectra(&[
        "corpus",
        "import",
        "--db",
        db_s,
        "--name",
        "p",
        "--text-column",
        "frase",
        "--text-pair-column",
        "otra",
        "--label-column",
        "label",
        file_s,
    ]);
    assert_eq!(code, Some(0), "{stderr}");

    // The records keep both texts; an empty second text is a single text.
    let (_, stdout, _) = selectra(&["query", "--db", db_s, "--corpus", "p", "--json"]);
    let page: Value = serde_json::from_str(&stdout).unwrap();
    let seconds: Vec<Value> = page["records"].as_array().unwrap().iter().map(|r| r["text_pair"].clone()).collect();
    assert_eq!(seconds, [serde_json::json!(pairs[0].1), serde_json::json!(pairs[1].1), serde_json::json!(pairs[2].1), Value::Null]);

    // A pair classifier's run reads each record as the pair.
    let folder = model_dir("cls-xlmr-pair");
    let (code, stdout, stderr) = selectra(&["classify", "--db", db_s, "--corpus", "p", "--model", folder.to_str().unwrap(), "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let run_id = serde_json::from_str::<Value>(&stdout).unwrap()["run"]["id"].as_i64().unwrap();
    let model = selectra::Model::load(folder.to_str().unwrap(), &Default::default(), std::sync::Arc::new(selectra::engine::hub::Silent)).unwrap();
    let classifier = TextClassifier::new(&model).unwrap();
    let store = selectra::store::Store::open_existing(&db).unwrap();
    for row in store.query("p", &selectra::store::Query { limit: 10, ..Default::default() }).unwrap().rows {
        let stored = store.record_predictions(row.record_id).unwrap().into_iter().find(|p| p.run_id == run_id).unwrap();
        let fresh = classifier.classify(TextInput { text: &row.text, pair: row.text_pair.as_deref() }).unwrap();
        assert_eq!(stored.labels, fresh.labels);
        close(&row.text, f64::from(stored.scores[0]), f64::from(fresh.scores[0]));
    }

    // Every export writes the second text beside the text (CSV's formula guard included).
    let jsonl = dir.path().join("p.jsonl");
    assert_eq!(selectra(&["export", "--db", db_s, "--corpus", "p", "--format", "jsonl", "--output", jsonl.to_str().unwrap()]).0, Some(0));
    let lines: Vec<Value> = std::fs::read_to_string(&jsonl).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["text_pair"], "El perro está comiendo pan.");
    assert_eq!(lines[3]["text_pair"], Value::Null);
    let csv_out = dir.path().join("p.csv");
    assert_eq!(selectra(&["export", "--db", db_s, "--corpus", "p", "--format", "csv", "--output", csv_out.to_str().unwrap()]).0, Some(0));
    let mut reader = csv::Reader::from_path(&csv_out).unwrap();
    assert_eq!(&reader.headers().unwrap().iter().take(3).collect::<Vec<_>>(), &["id", "text", "text_pair"]);
    let third: Vec<String> = reader.records().map(|r| r.unwrap()[2].to_string()).collect();
    assert_eq!(third[2], "'=HYPERLINK(\"x\")", "a formula in the second text is guarded too");
    let parquet = dir.path().join("p.parquet");
    assert_eq!(selectra(&["export", "--db", db_s, "--corpus", "p", "--format", "parquet", "--output", parquet.to_str().unwrap()]).0, Some(0));
    let batches: Vec<_> = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&parquet).unwrap())
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let column = batches[0].column_by_name("text_pair").expect("a text_pair column");
    assert_eq!(column.null_count(), 1);

    // A corpus of single texts exports as before: no text_pair anywhere.
    let single_dir = tempfile::tempdir().unwrap();
    let single = sentiment_corpus(single_dir.path());
    let out = dir.path().join("s.jsonl");
    assert_eq!(
        selectra(&["export", "--db", single.to_str().unwrap(), "--corpus", "c", "--format", "jsonl", "--output", out.to_str().unwrap()]).0,
        Some(0)
    );
    assert!(!std::fs::read_to_string(&out).unwrap().contains("text_pair"));
}
