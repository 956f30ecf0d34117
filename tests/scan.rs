//! Scanning whole records with the discriminator: per-token parity with transformers for records
//! that fit the model, the window rule for records several times its length, and batching that
//! changes nothing.

mod common;

use std::sync::Arc;

use common::*;
use selectra::hub::Silent;
use selectra::scan::{choose_window, summarize, Scanner};
use selectra::{LoadOptions, Model};
use serde_json::Value;

fn load(name: &str) -> Model {
    Model::load(model_dir(name).to_str().unwrap(), &LoadOptions::default(), Arc::new(Silent)).unwrap()
}

/// Every untruncated inspect case of every discriminator, scanned together in one call, equals
/// what transformers computed for it alone (strings and offsets exactly, probabilities to 1e-4).
#[test]
fn records_that_fit_the_model_match_transformers() {
    let mut checked = 0;
    for (name, expected) in expected_files() {
        if expected["architecture"] != "ElectraForPreTraining" {
            continue;
        }
        let cases: Vec<&Value> = expected["inspect"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["strip_accents"].is_null() && c["truncated"] == false && !c["text"].as_str().unwrap().trim().is_empty())
            .collect();
        let model = load(&name);
        let texts: Vec<&str> = cases.iter().map(|c| c["text"].as_str().unwrap()).collect();
        let scans = Scanner::new(&model).unwrap().scan(&texts).unwrap();
        for (case, scan) in cases.iter().zip(&scans) {
            let context = format!("{name} on {:?}", case["text"]);
            let want = case["output"]["tokens"].as_array().unwrap();
            assert_eq!(scan.windows, 1, "{context}");
            assert_eq!(scan.tokens.len(), want.len(), "{context}");
            for (got, want) in scan.tokens.iter().zip(want) {
                assert_eq!(got.token, want["token"].as_str().unwrap(), "{context}");
                assert_eq!((got.start as u64, got.end as u64), (want["start"].as_u64().unwrap(), want["end"].as_u64().unwrap()), "{context}");
                close(&context, got.probability as f64, want["probability"].as_f64().unwrap());
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} cases checked");
}

/// A record five times the model's length is cut into overlapping windows. Every character is
/// scored; each token's score is its chosen window's, computed here by running that window alone;
/// the tokens the first window scores equal `inspect` (which reads the first window only); and
/// the summaries are the words' maximum, count over the threshold, and mean.
#[test]
fn long_records_are_scored_in_windows_every_character_once() {
    let model = load("disc-vocab-bin");
    let sentence = "El perro come carne y la casa es azul, pero el niño prefiere la canción del mercado. ";
    let text = sentence.repeat(12);
    let windows = model.tokenizer.windows(&text).unwrap();
    assert!(windows.windows.len() >= 5, "{} windows", windows.windows.len());
    let scan = &Scanner::new(&model).unwrap().scan(&[&text]).unwrap()[0];
    assert_eq!(scan.windows, windows.windows.len());
    assert_eq!(scan.tokens.len(), windows.tokens.len());

    // Every character that is not whitespace lies in a token's span.
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if !c.is_whitespace() {
            assert!(scan.tokens.iter().any(|t| t.start <= i && i < t.end), "character {i} ({c:?}) is not scored");
        }
    }

    // Each token's probability is its window's, run alone.
    let starts: Vec<usize> = windows.windows.iter().map(|(s, _)| *s).collect();
    let alone: Vec<Vec<f32>> =
        windows.windows.iter().map(|(_, w)| model.forward(&model.batch(&[w]).unwrap()).unwrap().to_vec2::<f32>().unwrap().remove(0)).collect();
    for (i, (token, &p)) in scan.tokens.iter().zip(&windows.positions).enumerate() {
        let k = choose_window(p, &starts, windows.width);
        let expected = 1.0 / (1.0 + (-alone[k][1 + p - starts[k]]).exp());
        assert!((token.probability - expected).abs() < 1e-5, "token {i} ({}) from window {k}", token.token);
        let margin = (p - starts[k]).min(starts[k] + windows.width - 1 - p);
        for (j, &s) in starts.iter().enumerate() {
            if s <= p && p < s + windows.width {
                assert!((p - s).min(s + windows.width - 1 - p) <= margin, "token {i}: window {j} keeps it farther from an edge than {k}");
            }
        }
    }

    // The first window is what inspect scores (it cuts the text at the model's length).
    let inspected = selectra::inspect::inspect(&model, &text).unwrap();
    assert!(inspected.truncated);
    let mut compared = 0;
    for ((token, &p), reference) in scan.tokens.iter().zip(&windows.positions).zip(&inspected.tokens) {
        if choose_window(p, &starts, windows.width) == 0 {
            assert_eq!((token.start, token.end), (reference.start, reference.end));
            close("first window", token.probability as f64, reference.probability as f64);
            compared += 1;
        }
    }
    assert!(compared > 10, "{compared}");

    // The summaries, recomputed from the tokens and their word ids.
    let word_ids: Vec<Option<u32>> = windows.tokens.iter().map(|t| t.word).collect();
    assert_eq!(summarize(&scan.tokens, &word_ids), (scan.suspicion, scan.flagged, scan.mean));
}

/// Long and short records scanned together give what each gives alone, under any batch budget.
#[test]
fn batching_does_not_change_a_records_scan() {
    let model = load("disc-project-tokjson");
    let long = "La casa es azul y el perro come carne en la plaza. ".repeat(8);
    let texts = ["Hola.", long.as_str(), "El perro come carne y la casa es azul.", "¿Qué tal?"];
    let alone: Vec<_> = texts.iter().map(|t| Scanner::new(&model).unwrap().scan(&[t]).unwrap().remove(0)).collect();
    for (rows, tokens) in [(64, 2048), (2, 200), (1, 1)] {
        let mut scanner = Scanner::new(&model).unwrap();
        scanner.max_batch_rows = rows;
        scanner.max_batch_tokens = tokens;
        for (together, alone) in scanner.scan(&texts).unwrap().iter().zip(&alone) {
            assert_eq!(together.tokens.len(), alone.tokens.len());
            for (a, b) in together.tokens.iter().zip(&alone.tokens) {
                assert_eq!((&a.token, a.start, a.end), (&b.token, b.start, b.end));
                close(&format!("batch ({rows} rows, {tokens} tokens)"), a.probability as f64, b.probability as f64);
            }
        }
    }
    let nli = load("nli-electra-entail0");
    assert!(Scanner::new(&nli).err().unwrap().to_string().contains("discriminator"));
}
