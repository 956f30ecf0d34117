//! Token classifiers (NER taggers) of every family, against transformers' token-classification
//! pipeline with every aggregation strategy: labels, words, character spans, token indices and
//! scores, including its quirks (byte-level words, pieces that cover only a space).

use std::process::Command;

use crate::common::*;
use selectra::engine::tag::{Aggregation, TokenTagger};
use serde_json::Value;

fn check(context: &str, actual: &Value, expected: &Value) {
    let (a, e) = (actual["entities"].as_array().unwrap(), expected["entities"].as_array().unwrap());
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    let spans = |v: &[Value]| v.iter().map(|x| (x["start"].clone(), x["end"].clone(), x["word"].clone())).collect::<Vec<_>>();
    assert_eq!(spans(a), spans(e), "{context}: entities differ");
    for (i, (x, y)) in a.iter().zip(e).enumerate() {
        let (mut kx, mut ky) = (keys(x), keys(y));
        kx.sort();
        ky.sort();
        assert_eq!(kx, ky, "{context}: entity {i} has other keys than the pipeline's");
        for key in ["entity", "entity_group", "index"] {
            assert_eq!(x.get(key), y.get(key), "{context}: entity {i} {key}");
        }
        close(&format!("{context}: entity {i} score"), x["score"].as_f64().unwrap(), y["score"].as_f64().unwrap());
    }
}

#[test]
fn tag_matches_the_token_classification_pipeline_with_every_aggregation() {
    let (mut checked, mut entities, mut truncated) = (0, 0, 0);
    let mut strategies = std::collections::BTreeSet::new();
    for (name, expected) in expected_files() {
        let Some(cases) = expected["tag"].as_array() else { continue };
        let folder = model_dir(&name);
        let model = selectra::Model::load(folder.to_str().unwrap(), &Default::default(), std::sync::Arc::new(selectra::engine::hub::Silent)).unwrap();
        let tagger = TokenTagger::new(&model).unwrap();
        for case in cases {
            let text = case["text"].as_str().unwrap();
            let aggregation = Aggregation::parse(case["aggregation"].as_str().unwrap()).unwrap();
            let tagging = tagger.tag(text, aggregation).unwrap();
            let context = format!("{name}, {}, on {text:?}", aggregation.name());
            check(&context, &serde_json::to_value(&tagging).unwrap(), &case["output"]);
            // A truncated text fills the model exactly, as the pipeline's encoding of it does.
            if tagging.truncated {
                assert_eq!(case["tokens"].as_u64().unwrap() as usize, model.tokenizer.max_length(), "{context}: truncation");
            }
            truncated += usize::from(tagging.truncated);
            entities += case["output"]["entities"].as_array().unwrap().len();
            strategies.insert(aggregation.name());
            checked += 1;
        }
        // The CLI prints the same for each strategy (the first text).
        for case in cases.iter().filter(|c| c["text"] == cases[0]["text"]) {
            let args = [
                "tag",
                "--model",
                folder.to_str().unwrap(),
                "--aggregation",
                case["aggregation"].as_str().unwrap(),
                "--json",
                case["text"].as_str().unwrap(),
            ];
            let out = Command::new(env!("CARGO_BIN_EXE_selectra")).args(args).output().unwrap();
            assert!(out.status.success(), "selectra {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            check(&format!("{name}: selectra tag {}", case["aggregation"]), &serde_json::from_slice(&out.stdout).unwrap(), &case["output"]);
        }
    }
    assert_eq!(strategies.len(), 5, "{strategies:?}");
    assert!(checked >= 80 && entities >= 500, "only {checked} cases with {entities} entities were checked");
    assert!(truncated >= 4, "only {truncated} texts reached the models' length");
}

#[test]
fn a_sequence_classifier_is_not_a_tagger() {
    let out = Command::new(env!("CARGO_BIN_EXE_selectra"))
        .args(["tag", "--model", model_dir("cls-electra-sentiment").to_str().unwrap(), "--json", "Juan vive en Madrid"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ElectraForSequenceClassification") && stderr.contains("token classifier"), "{stderr}");
    let out = Command::new(env!("CARGO_BIN_EXE_selectra"))
        .args(["tag", "--model", model_dir("tag-electra-conll").to_str().unwrap(), "--aggregation", "longest", "--json", "Juan"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("none, simple, first, average or max"));
}
