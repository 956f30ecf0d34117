//! Parity with Hugging Face transformers: every case the fixture generator recorded is computed
//! again by our library and by the `selectra` CLI, and must match to 1e-4 (token ids, strings and
//! offsets exactly).

use std::process::Command;
use std::sync::Arc;

use crate::common::*;
use selectra::domain::task::ZeroShotTask;
use selectra::engine::hub::{HubSettings, Silent};
use selectra::engine::tokenize::TokenizerOptions;
use selectra::engine::zeroshot::ZeroShotClassifier;
use selectra::{LoadOptions, Model};
use serde_json::Value;

fn load(name: &str, strip_accents: Option<bool>) -> Model {
    let options = LoadOptions { tokenizer: TokenizerOptions { strip_accents }, hub: HubSettings::from_env() };
    let path = model_dir(name);
    Model::load(path.to_str().unwrap(), &options, Arc::new(Silent)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn strip_flag(case: &Value) -> Option<bool> {
    case["strip_accents"].as_bool()
}

fn run_cli(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_selectra")).args(args).output().unwrap();
    assert!(out.status.success(), "selectra {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("selectra {args:?} printed no JSON ({e})"))
}

#[test]
fn inspect_matches_transformers() {
    let mut checked = 0;
    for (name, expected) in expected_files() {
        let Some(cases) = expected["inspect"].as_array() else { continue };
        for strip in [None, Some(false), Some(true)] {
            let cases: Vec<&Value> = cases.iter().filter(|c| strip_flag(c) == strip).collect();
            if cases.is_empty() {
                continue;
            }
            let model = load(&name, strip);
            for case in cases {
                let text = case["text"].as_str().unwrap();
                let context = format!("{name} (strip_accents {strip:?}) on {text:?}");
                let result = selectra::engine::inspect::inspect(&model, text).unwrap_or_else(|e| panic!("{context}: {e}"));
                assert_eq!(result.truncated, case["truncated"].as_bool().unwrap(), "{context}: truncation");
                check_tokens(&context, &serde_json::to_value(&result).unwrap()["tokens"], &case["output"]["tokens"]);
                check_words(&context, &result, case);
                checked += 1;
            }
        }
    }
    assert!(checked >= 40, "only {checked} inspect cases were checked");
}

/// The word view groups tokens as transformers' `word_ids()` does; a word scores as its most
/// suspicious token and spans the text from its first token's start to its last token's end.
fn check_words(context: &str, result: &selectra::engine::inspect::Inspection, case: &Value) {
    let word_ids = case["word_ids"].as_array().unwrap();
    let mut expected_sizes: Vec<usize> = Vec::new();
    for (i, id) in word_ids.iter().enumerate() {
        if i > 0 && !id.is_null() && *id == word_ids[i - 1] {
            *expected_sizes.last_mut().unwrap() += 1;
        } else {
            expected_sizes.push(1);
        }
    }
    let words = result.words();
    assert_eq!(words.iter().map(|w| w.token_count).collect::<Vec<_>>(), expected_sizes, "{context}: word grouping");
    let chars: Vec<char> = result.text.chars().collect();
    for w in &words {
        let tokens = &result.tokens[w.first_token..w.first_token + w.token_count];
        let max = tokens.iter().map(|t| t.probability).fold(f32::MIN, f32::max);
        assert_eq!(w.probability, max, "{context}: word {:?} score", w.text);
        assert_eq!((w.start, w.end), (tokens[0].start, tokens[tokens.len() - 1].end), "{context}: word {:?} span", w.text);
        assert_eq!(w.text, chars[w.start..w.end].iter().collect::<String>(), "{context}: word text");
    }
}

/// Editing a token in the inspector equals inspecting the edited text, when both tokenize alike.
#[test]
fn replacing_a_token_recomputes_the_scores() {
    let model = load("disc-vocab-bin", None);
    let original = selectra::engine::inspect::inspect(&model, "El perro come carne y la casa es azul.").unwrap();
    let index = original.tokens.iter().position(|t| t.token == "perro").unwrap();
    let edited = selectra::engine::inspect::inspect_with_replacement(&model, &original.text, index, "gato").unwrap();
    let retyped = selectra::engine::inspect::inspect(&model, "El gato come carne y la casa es azul.").unwrap();
    assert_eq!(edited.tokens[index].token, "gato");
    for (i, (a, b)) in edited.tokens.iter().zip(&retyped.tokens).enumerate() {
        assert_eq!(a.id, b.id, "token {i}");
        close(&format!("token {i} logit"), a.logit as f64, b.logit as f64);
    }
    assert!(edited.tokens.iter().zip(&original.tokens).any(|(a, b)| (a.logit - b.logit).abs() > 1e-3), "the edit moved no logit");
    assert!(selectra::engine::inspect::inspect_with_replacement(&model, &original.text, index, "no-such-token").is_err());
    assert!(selectra::engine::inspect::inspect_with_replacement(&model, &original.text, 999, "gato").is_err());
}

#[test]
fn zeroshot_matches_the_pipeline() {
    let mut checked = 0;
    for (name, expected) in expected_files() {
        let Some(cases) = expected["zeroshot"].as_array() else { continue };
        for strip in [None, Some(false), Some(true)] {
            let cases: Vec<&Value> = cases.iter().filter(|c| strip_flag(c) == strip).collect();
            if cases.is_empty() {
                continue;
            }
            let model = load(&name, strip);
            let classifier = ZeroShotClassifier::new(&model).unwrap();
            for case in cases {
                let text = case["text"].as_str().unwrap();
                let labels: Vec<String> = case["labels"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect();
                let task = ZeroShotTask::new(labels, case["template"].as_str().unwrap(), case["multi_label"].as_bool().unwrap()).unwrap();
                let context = format!("{name} on {text:?} ({:?})", task.labels);
                let result = classifier.classify(text, &task).unwrap_or_else(|e| panic!("{context}: {e}"));
                check_zeroshot(&context, &serde_json::to_value(&result).unwrap(), &case["output"]);
                checked += 1;
            }
        }
    }
    assert!(checked >= 15, "only {checked} zero-shot cases were checked");
}

/// Batching texts together (with padding) must not change any text's scores.
#[test]
fn zeroshot_batches_match_single_texts() {
    let (_, expected) = expected_files().into_iter().find(|(n, _)| n == "nli-electra-entail0").unwrap();
    let model = load("nli-electra-entail0", None);
    let classifier = ZeroShotClassifier::new(&model).unwrap();
    let task = ZeroShotTask::new(vec!["deportes".into(), "política".into(), "economía".into()], "Este ejemplo es {}.", false).unwrap();
    let cases: Vec<&Value> = expected["zeroshot"].as_array().unwrap().iter().collect();
    let texts: Vec<&str> = cases.iter().map(|c| c["text"].as_str().unwrap()).collect();
    let alone: Vec<_> = texts.iter().map(|text| classifier.classify(text, &task).unwrap()).collect();
    // The default budgets, then budgets tight enough to split the texts (sorted by length) into
    // several passes, down to one pass per text: the results come back in the caller's order.
    for (pairs, tokens) in [(64, None), (7, Some(1024)), (64, Some(120)), (1, Some(1))] {
        let mut packed = ZeroShotClassifier::new(&model).unwrap();
        packed.max_batch_pairs = pairs;
        packed.max_batch_tokens = tokens;
        let batched = packed.classify_batch(&texts, &task).unwrap();
        for ((text, together), alone) in texts.iter().zip(&batched).zip(&alone) {
            // Bit for bit: a text's scores never depend on what it was batched with.
            assert_eq!(together, alone, "batched ({pairs} pairs, {tokens:?} tokens) {text:?}");
        }
    }
}

/// Many labels are split into several passes (never one giant pass) with unchanged results: the
/// default budgets against one pass holding every pair.
#[test]
fn many_labels_split_into_passes_with_unchanged_scores() {
    let model = load("nli-electra-entail0", None);
    let labels: Vec<String> = (0..150).map(|i| format!("tema {i}")).collect();
    let text = "El equipo ganó el partido de anoche con dos goles en el último minuto.";
    for multi_label in [false, true] {
        let task = ZeroShotTask::new(labels.clone(), "Este ejemplo es {}.", multi_label).unwrap();
        let split = ZeroShotClassifier::new(&model).unwrap();
        assert!(labels.len() > split.max_batch_pairs, "the default budget must split this text's pairs");
        let mut whole = ZeroShotClassifier::new(&model).unwrap();
        whole.max_batch_pairs = usize::MAX;
        whole.max_batch_tokens = Some(usize::MAX);
        let (a, b) = (split.classify(text, &task).unwrap(), whole.classify(text, &task).unwrap());
        check_zeroshot(&format!("150 labels, multi_label {multi_label}"), &serde_json::to_value(&a).unwrap(), &serde_json::to_value(&b).unwrap());
    }
}

/// A premise tokenized once and joined with each hypothesis gives exactly the pair tokenized
/// whole (ids, type ids, tokens, offsets, word ids and truncation), with and without truncation.
#[test]
fn pairs_joined_from_pieces_equal_pairs_tokenized_whole() {
    let mut compared = 0;
    for name in ["nli-electra-entail0", "nli-bert-tokjson", "disc-vocab-bin", "disc-project-tokjson"] {
        for strip in [None, Some(false)] {
            let model = load(name, strip);
            let tokenizer = &model.tokenizer;
            let texts = ["El niño comió pingüino ¿sí? ¡No!", "Cafe\u{301} con leche 🍵 y 東京", &"una frase larga más ".repeat(30), "x"];
            let hypotheses = ["Este ejemplo es deportes.", "Este ejemplo es economía.", &"muy ".repeat(12)];
            for text in texts {
                let premise = tokenizer.piece(text).unwrap();
                for hypothesis in hypotheses {
                    let joined = tokenizer.join_pair(&premise, &tokenizer.piece(hypothesis).unwrap()).unwrap();
                    let whole = tokenizer.encode_pair(text, hypothesis).unwrap();
                    let context = format!("{name} (strip {strip:?}) {text:?} + {hypothesis:?}");
                    assert_eq!(joined.ids, whole.ids, "{context}");
                    assert_eq!(joined.type_ids, whole.type_ids, "{context}");
                    assert_eq!(joined.tokens, whole.tokens, "{context}");
                    assert_eq!(joined.positions, whole.positions, "{context}");
                    assert_eq!(joined.truncated, whole.truncated, "{context}");
                    compared += 1;
                }
            }
        }
    }
    assert_eq!(compared, 4 * 2 * 4 * 3);
}

/// Accents kept on a model whose files strip them: exactly the pieces with an accent are marked
/// untrained, in the library and in `inspect --json`; with the files' own setting none are.
#[test]
fn untrained_embeddings_are_marked_when_accents_are_kept_on_a_stripping_model() {
    let text = "El niño comió pingüino en la canción";
    let disc = model_dir("disc-vocab-bin");
    let disc = disc.to_str().unwrap();
    let kept = run_cli(&["inspect", "--model", disc, "--strip-accents", "false", "--json", text]);
    let tokens = kept["tokens"].as_array().unwrap();
    let marked: Vec<&str> = tokens.iter().filter(|t| t["untrained_embedding"] == true).map(|t| t["token"].as_str().unwrap()).collect();
    assert!(!marked.is_empty(), "no accented piece in {tokens:?}");
    for t in tokens {
        let piece = t["token"].as_str().unwrap();
        let accented = piece.chars().any(|c| "áéíóúüñÁÉÍÓÚÜÑ".contains(c));
        assert_eq!(t.get("untrained_embedding").is_some(), accented, "{piece}: {t}");
    }
    // The files' own setting (strip_accents true) is the default: nothing is marked.
    let default = run_cli(&["inspect", "--model", disc, "--json", text]);
    assert!(default["tokens"].as_array().unwrap().iter().all(|t| t.get("untrained_embedding").is_none()));
    // A model whose files keep accents (as the zero-shot SELECTRA models' do) has no untrained
    // pieces to mark, whatever the override.
    let nli = load("nli-electra-entail0", Some(false));
    assert!(!nli.tokenizer.files_strip_accents());
    assert!(!nli.tokenizer.untrained_piece("niño"));
    assert!(load("disc-vocab-bin", Some(false)).tokenizer.untrained_piece("niño"));
    assert!(!load("disc-vocab-bin", None).tokenizer.untrained_piece("niño"));
    // The table marks them with a footnote that explains the mark.
    let out = Command::new(env!("CARGO_BIN_EXE_selectra")).args(["inspect", "--model", disc, "--strip-accents", "false", text]).output().unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert_eq!(table.matches("  * embedding not trained").count(), marked.len(), "{table}");
    assert!(table.lines().last().unwrap().starts_with("* embedding not trained"), "{table}");
}

/// The CLI contract (design §3): the same cases through `selectra inspect|zeroshot --json`.
#[test]
fn cli_json_matches_transformers() {
    let mut checked = 0;
    for (name, expected) in expected_files() {
        let model = model_dir(&name);
        let model = model.to_str().unwrap();
        for case in expected["inspect"].as_array().into_iter().flatten() {
            let text = case["text"].as_str().unwrap();
            if text.contains('\0') {
                continue; // a NUL cannot be passed in argv; the library test covers it
            }
            let mut args = vec!["inspect", "--model", model, "--json"];
            let strip = strip_flag(case).map(|s| s.to_string());
            if let Some(s) = &strip {
                args.extend(["--strip-accents", s]);
            }
            args.push(text);
            let out = run_cli(&args);
            assert_eq!(out["text"], case["output"]["text"]);
            assert_eq!(out["model"].as_str(), Some(model));
            check_tokens(&format!("CLI {name} on {text:?}"), &out["tokens"], &case["output"]["tokens"]);
            checked += 1;
        }
        for case in expected["zeroshot"].as_array().into_iter().flatten() {
            let labels: Vec<&str> = case["labels"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
            let labels = labels.join(",");
            let mut args = vec!["zeroshot", "--model", model, "--labels", &labels, "--template", case["template"].as_str().unwrap(), "--json"];
            if case["multi_label"].as_bool().unwrap() {
                args.push("--multi-label");
            }
            let strip = strip_flag(case).map(|s| s.to_string());
            if let Some(s) = &strip {
                args.extend(["--strip-accents", s]);
            }
            args.push(case["text"].as_str().unwrap());
            check_zeroshot(&format!("CLI {name}"), &run_cli(&args), &case["output"]);
            checked += 1;
        }
    }
    assert!(checked >= 50, "only {checked} CLI cases were checked");
}

/// The parameter count the app shows is every tensor the network loads: for safetensors fixtures,
/// every number stored in the file except the buffers transformers keeps beside the parameters.
#[test]
fn parameter_counts_are_the_loaded_tensors() {
    let mut checked = 0;
    for name in
        ["disc-lower-gelunew", "disc-project-tokjson", "nli-electra-entail0", "nli-electra-unnamed", "nli-roberta-tokjson", "nli-xlmr-tokjson"]
    {
        let model = load(name, None);
        let bytes = std::fs::read(model_dir(name).join("model.safetensors")).unwrap();
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let stored: u64 = file
            .tensors()
            .iter()
            .filter(|(n, _)| !n.ends_with("position_ids") && !n.ends_with("token_type_ids"))
            .map(|(_, t)| t.shape().iter().product::<usize>() as u64)
            .sum();
        assert_eq!(model.parameters, stored, "{name}");
        checked += 1;
    }
    assert_eq!(checked, 6);
}
