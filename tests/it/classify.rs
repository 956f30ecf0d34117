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
