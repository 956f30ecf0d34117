//! Word attributions: leave-one-out and LIME equal what transformers' pipelines and LIT's steps
//! compute (tests/fixtures/explain/make.py), and a run's record is explained with the run's own
//! model, whatever the run's kind.

use std::collections::HashMap;
use std::path::Path;

use crate::common::*;
use selectra::domain::attribution::{explain, Explanation, LimeOptions, MaskSource, Method, Scorer};
use selectra::domain::task::ZeroShotTask;
use selectra::engine::classify::TextClassifier;
use selectra::engine::explain::{classifier_scorer, zeroshot_scorer};
use selectra::engine::zeroshot::ZeroShotClassifier;
use selectra::store::Store;
use serde_json::Value;

fn load(name: &str) -> selectra::Model {
    selectra::Model::load(model_dir(name).to_str().unwrap(), &Default::default(), std::sync::Arc::new(selectra::engine::hub::Silent)).unwrap()
}

fn masks(v: &Value) -> Vec<Vec<bool>> {
    v.as_array().unwrap().iter().map(|row| row.as_str().unwrap().chars().map(|c| c == '1').collect()).collect()
}

fn check_weights(what: &str, got: &[selectra::domain::attribution::WordWeight], words: &[String], expected: &Value) {
    let expected: Vec<f64> = expected.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(got.iter().map(|w| w.word.clone()).collect::<Vec<_>>(), words, "{what}: words");
    assert_eq!(got.len(), expected.len(), "{what}");
    for (w, e) in got.iter().zip(expected) {
        close(&format!("{what}: weight of {:?}", w.word), w.weight, e);
    }
}

#[test]
fn attributions_match_transformers_and_lits_steps() {
    let file = fixtures().join("explain").join("expected.json");
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let cases = expected["cases"].as_array().unwrap();
    assert!(cases.len() >= 15, "every model kind is covered");
    let mut models: HashMap<String, selectra::Model> = HashMap::new();
    let mut explained_pairs = 0;
    for case in cases {
        let name = case["model"].as_str().unwrap();
        let model = models.entry(name.to_string()).or_insert_with(|| load(name));
        let text = case["text"].as_str().unwrap();
        let pair = case["pair"].as_str();
        let what = format!("{name} on {text:?}");
        let given = LimeOptions {
            masks: MaskSource::Given { text: masks(&case["masks"]), pair: case.get("pair_masks").map(masks) },
            ..LimeOptions::default()
        };
        let run = |scorer: &Scorer| -> (Explanation, Explanation) {
            (
                explain(text, pair, None, Method::Loo, &LimeOptions::default(), scorer).unwrap(),
                explain(text, pair, None, Method::Lime, &given, scorer).unwrap(),
            )
        };
        let (loo, lime) = if case["kind"] == "zeroshot" {
            let labels: Vec<String> = serde_json::from_value(case["labels"].clone()).unwrap();
            let task = ZeroShotTask::new(labels, case["template"].as_str().unwrap(), case["multi_label"].as_bool().unwrap()).unwrap();
            let classifier = ZeroShotClassifier::new(model).unwrap();
            let scorer = zeroshot_scorer(&classifier, &task);
            run(&scorer)
        } else {
            let classifier = TextClassifier::new(model).unwrap();
            let scorer = classifier_scorer(&classifier, model.config.id2label.clone());
            run(&scorer)
        };
        let words: Vec<String> = text.split_whitespace().map(String::from).collect();
        for e in [&loo, &lime] {
            assert_eq!(e.label, case["label"].as_str().unwrap(), "{what}: the label explained is the top one");
            close(&format!("{what}: the label's score"), e.score, case["score"].as_f64().unwrap());
        }
        assert_eq!(
            loo.inputs_scored,
            1 + words.len() + pair.map_or(0, |p| p.split_whitespace().count()),
            "the whole input, then one without each word"
        );
        check_weights(&format!("{what}, leave-one-out"), &loo.words, &words, &case["loo"]);
        check_weights(&format!("{what}, LIME"), &lime.words, &words, &case["lime"]);
        if let Some(pair) = pair {
            let pair_words: Vec<String> = pair.split_whitespace().map(String::from).collect();
            check_weights(&format!("{what}, second text, leave-one-out"), loo.pair_words.as_ref().unwrap(), &pair_words, &case["pair_loo"]);
            check_weights(&format!("{what}, second text, LIME"), lime.pair_words.as_ref().unwrap(), &pair_words, &case["pair_lime"]);
            explained_pairs += 1;
        }
        // Offsets point into the text as given (runs of spaces and tabs kept).
        let chars: Vec<char> = text.chars().collect();
        for w in &loo.words {
            assert_eq!(chars[w.start..w.end].iter().collect::<String>(), w.word, "{what}");
        }
    }
    assert!(explained_pairs >= 2);
}

#[test]
fn lime_is_reproducible_by_its_seed() {
    let model = load("cls-electra-sentiment");
    let classifier = TextClassifier::new(&model).unwrap();
    let scorer = classifier_scorer(&classifier, model.config.id2label.clone());
    let text = "El equipo ganó el partido y la afición celebró en la plaza.";
    let with = |seed| {
        let lime = LimeOptions { masks: MaskSource::Seed(seed), ..LimeOptions::default() };
        explain(text, None, Some("POS"), Method::Lime, &lime, &scorer).unwrap()
    };
    let (a, b, c) = (with(7), with(7), with(8));
    assert_eq!(a, b, "the same seed gives the same explanation");
    assert_ne!(a.words, c.words, "another seed draws other masks");
    assert_eq!((a.label.as_str(), a.inputs_scored), ("POS", 257));
    let sum: f64 = a.words.iter().map(|w| w.weight.abs()).sum();
    assert!((sum - 1.0).abs() < 1e-9, "LIT's scaling: absolute weights sum to 1, got {sum}");
}

/// A corpus of three topics over the sentiment classifier's vocabulary, with gold labels.
fn project(dir: &Path) -> std::path::PathBuf {
    let topics =
        [("deportes", "el equipo ganó el partido"), ("economía", "la economía creció en el banco"), ("política", "el gobierno anunció medidas")];
    let mut csv = String::from("text,label\n");
    for i in 0..60 {
        let (topic, words) = topics[i % 3];
        csv.push_str(&format!("{words} {} en la plaza,{topic}\n", ["hoy", "ayer", "mañana", "otra vez"][i % 4]));
    }
    labeled_project(dir, &csv).0
}

#[test]
fn a_runs_record_is_explained_with_the_runs_own_model() {
    let dir = tempfile::tempdir().unwrap();
    let db = project(dir.path());
    let db_s = db.to_str().unwrap();
    let nli = model_dir("nli-electra-entail0");
    let cls = model_dir("cls-electra-sentiment");
    let zs =
        selectra_json(&["run", "--db", db_s, "--corpus", "c", "--model", nli.to_str().unwrap(), "--labels", "deportes,economía,política", "--json"]);
    let classified = selectra_json(&["classify", "--db", db_s, "--corpus", "c", "--model", cls.to_str().unwrap(), "--json"]);
    let trained = selectra_json(&["train", "--db", db_s, "--corpus", "c", "--model", cls.to_str().unwrap(), "--json"]);
    let store = Store::open_existing(&db).unwrap();
    for run in [&zs["run"]["id"], &classified["run"]["id"], &trained["run"]] {
        let run = run.as_i64().unwrap();
        let info = store.run(run).unwrap();
        let (spec, accents) = selectra::jobs::explain::run_model(&info);
        let options =
            selectra::LoadOptions { tokenizer: selectra::engine::tokenize::TokenizerOptions { strip_accents: accents }, ..Default::default() };
        let model = selectra::Model::load(&spec, &options, std::sync::Arc::new(selectra::engine::hub::Silent)).unwrap();
        let record = store.record_id("c", 4).unwrap();
        let stored = store.prediction(run, record).unwrap().unwrap();
        let e = selectra::jobs::explain::explain_record(&store, &model, run, record, None, Method::Loo, &LimeOptions::default()).unwrap();
        // The record's text is single-spaced, so the whole variant is the record itself: its
        // label and score are the run's stored ones.
        if info.kind == selectra::store::RunKind::Trained {
            // A trained run stores cross-validated scores (each record scored by a head that did
            // not see it); its explanation is of the head trained on every label.
            let head: selectra::analysis::learn::Head = serde_json::from_str(&store.trained_head(run).unwrap().unwrap()).unwrap();
            let text = store.record_text(record).unwrap();
            let vector = selectra::engine::embed::Embedder::new(&model).embed(&[text.as_str()]).unwrap().remove(0);
            let p = head.predict(&vector);
            let top = (0..p.len()).fold(0, |b, i| if p[i] > p[b] { i } else { b });
            assert_eq!(e.label, head.labels[top]);
            assert!((e.score - p[top]).abs() < 1e-6, "run {run}: {} vs the head's {}", e.score, p[top]);
        } else {
            assert_eq!(e.label, stored.labels[0], "run {run} ({:?})", info.kind);
            assert!((e.score - f64::from(stored.scores[0])).abs() < 1e-5, "run {run}: {} vs stored {}", e.score, stored.scores[0]);
        }
        assert_eq!(e.words.len(), store.record_text(record).unwrap().split_whitespace().count());
        // The CLI prints the same explanation.
        let printed = selectra_json(&["explain", "--db", db_s, "--run", &run.to_string(), "--row", "4", "--json"]);
        assert_eq!(printed["label"], Value::from(e.label.clone()));
        for (w, p) in e.words.iter().zip(printed["words"].as_array().unwrap()) {
            assert_eq!((p["word"].as_str().unwrap(), p["start"].as_u64().unwrap() as usize), (w.word.as_str(), w.start));
            assert!((p["weight"].as_f64().unwrap() - w.weight).abs() < 1e-12);
        }
    }
    // Another model's weights cannot explain a run.
    let run = zs["run"]["id"].as_i64().unwrap();
    let other = load("nli-bert-tokjson");
    let err =
        selectra::jobs::explain::explain_record(&store, &other, run, store.record_id("c", 1).unwrap(), None, Method::Loo, &LimeOptions::default())
            .unwrap_err();
    assert!(err.to_string().contains("other weights"), "{err}");
}

#[test]
fn key_words_are_the_mean_weights_over_each_labels_most_confident_records() {
    let dir = tempfile::tempdir().unwrap();
    let db = project(dir.path());
    let db_s = db.to_str().unwrap();
    let cls = model_dir("cls-electra-sentiment");
    let run = selectra_json(&["classify", "--db", db_s, "--corpus", "c", "--model", cls.to_str().unwrap(), "--json"])["run"]["id"].as_i64().unwrap();
    let store = Store::open_existing(&db).unwrap();
    let model = load("cls-electra-sentiment");
    let summary = selectra::jobs::explain::key_words(&store, &model, run, 5, Method::Loo, &mut selectra::domain::progress::Watch::none()).unwrap();
    assert_eq!(summary.labels.iter().map(|l| l.label.as_str()).collect::<Vec<_>>(), ["NEG", "NEU", "POS"]);
    let listed: Vec<_> = summary.labels.iter().filter(|l| l.records > 0).collect();
    assert!(!listed.is_empty());
    assert!(listed.iter().any(|l| !l.words.is_empty()), "no label has a word to check: the test would check nothing");
    for l in listed {
        let records = store.top_records(run, &l.label, 5).unwrap();
        assert_eq!(l.records as usize, records.len());
        let means = l.words.windows(2).all(|w| w[0].mean_weight >= w[1].mean_weight);
        assert!(means, "highest mean first");
        // Recompute one word's mean from the records' own explanations.
        let Some(top) = l.words.first() else { continue };
        let mut weights = Vec::new();
        for (id, _) in &records {
            let e = selectra::jobs::explain::explain_record(&store, &model, run, *id, Some(&l.label), Method::Loo, &LimeOptions::default()).unwrap();
            for w in &e.words {
                let trimmed = w.word.trim_matches(|c: char| !c.is_alphanumeric());
                if selectra::domain::text::fold(trimmed) == selectra::domain::text::fold(&top.word) {
                    weights.push(w.weight);
                }
            }
        }
        assert_eq!(weights.len() as u64, top.occurrences, "{}: {}", l.label, top.word);
        let mean = weights.iter().sum::<f64>() / weights.len() as f64;
        assert!((mean - top.mean_weight).abs() < 1e-9);
    }
    assert!(summary.inputs_scored > 0);
}

#[test]
fn explain_refuses_what_it_cannot_explain() {
    let out =
        crate::common::selectra(&["explain", "--model", model_dir("cls-electra-sentiment").to_str().unwrap(), "--method", "shap", "hola mundo"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loo (leave-one-out) or lime"));
    let out = crate::common::selectra(&["explain", "--model", model_dir("cls-electra-sentiment").to_str().unwrap(), "hola"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("two or more"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = crate::common::selectra(&["explain", "--model", model_dir("cls-electra-sentiment").to_str().unwrap(), "--label", "XYZ", "hola mundo"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("NEG, NEU, POS"));
    let ok = selectra(&[
        "explain",
        "--model",
        model_dir("nli-electra-entail0").to_str().unwrap(),
        "--labels",
        "deportes,cine",
        "--method",
        "lime",
        "--json",
        "el partido de hoy",
    ]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let v: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(v["words"].as_array().unwrap().len(), 4);
    assert!(v.get("pair_words").is_none());
}
