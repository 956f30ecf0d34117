//! Bad model folders and bad input: each gives one clear error line and a non-zero exit, never a
//! panic. Every case starts from a good fixture copied into a scratch folder and damages it.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use common::*;
use selectra::hub::Silent;
use selectra::{ErrorCode, LoadOptions, Model};

type Damage = fn(&Path);

fn edit_config(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("config.json");
    let mut config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut config);
    std::fs::write(path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
}

fn edit_safetensors(dir: &Path, edit: impl FnOnce(&mut std::collections::HashMap<String, candle_core::Tensor>)) {
    let path = dir.join("model.safetensors");
    let mut tensors = candle_core::safetensors::load(&path, &candle_core::Device::Cpu).unwrap();
    edit(&mut tensors);
    candle_core::safetensors::save(&tensors, &path).unwrap();
}

fn truncate(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    std::fs::write(path, &bytes[..bytes.len() / 2]).unwrap();
}

/// (what, fixture to start from, damage, expected code, words the message must contain)
const CASES: &[(&str, &str, Damage, ErrorCode, &[&str])] = &[
    ("no config.json", "disc-vocab-bin", |d| std::fs::remove_file(d.join("config.json")).unwrap(), ErrorCode::MissingFile, &["config.json"]),
    (
        "config.json is not JSON",
        "disc-vocab-bin",
        |d| std::fs::write(d.join("config.json"), "{\"model_type\": electra").unwrap(),
        ErrorCode::Config,
        &["config.json", "not valid JSON"],
    ),
    (
        "unknown model_type",
        "disc-vocab-bin",
        |d| edit_config(d, |c| c["model_type"] = "roberta".into()),
        ErrorCode::Unsupported,
        &["roberta", "electra, bert"],
    ),
    (
        "unsupported architecture",
        "disc-vocab-bin",
        |d| edit_config(d, |c| c["architectures"] = serde_json::json!(["ElectraForMaskedLM"])),
        ErrorCode::Unsupported,
        &["ElectraForMaskedLM", "ElectraForPreTraining"],
    ),
    (
        "no model_type",
        "disc-vocab-bin",
        |d| {
            edit_config(d, |c| {
                c.as_object_mut().unwrap().remove("model_type");
            })
        },
        ErrorCode::Config,
        &["model_type"],
    ),
    ("unsupported activation", "disc-vocab-bin", |d| edit_config(d, |c| c["hidden_act"] = "mish".into()), ErrorCode::Unsupported, &["mish", "gelu"]),
    (
        "heads do not divide hidden size",
        "disc-vocab-bin",
        |d| edit_config(d, |c| c["num_attention_heads"] = 5.into()),
        ErrorCode::Config,
        &["num_attention_heads"],
    ),
    (
        "missing tensor",
        "disc-project-tokjson",
        |d| {
            edit_safetensors(d, |t| {
                t.remove("electra.encoder.layer.1.output.dense.bias");
            })
        },
        ErrorCode::Weights,
        &["model.safetensors", "electra.encoder.layer.1.output.dense.bias", "missing"],
    ),
    (
        "unexpected tensor",
        "disc-project-tokjson",
        |d| {
            edit_safetensors(d, |t| {
                t.insert("generator_lm_head.bias".into(), candle_core::Tensor::zeros(3, candle_core::DType::F32, &candle_core::Device::Cpu).unwrap());
            })
        },
        ErrorCode::Weights,
        &["generator_lm_head.bias", "unexpected"],
    ),
    (
        "wrong tensor shape",
        "disc-vocab-bin",
        |d| edit_config(d, |c| c["intermediate_size"] = 48.into()),
        ErrorCode::Weights,
        &["pytorch_model.bin", "intermediate.dense.weight", "shape"],
    ),
    (
        "config declares a huge vocabulary",
        "disc-project-tokjson",
        |d| edit_config(d, |c| c["vocab_size"] = 4_000_000.into()),
        ErrorCode::Weights,
        &["word_embeddings", "shape"],
    ),
    (
        "truncated safetensors",
        "disc-project-tokjson",
        |d| truncate(&d.join("model.safetensors")),
        ErrorCode::Weights,
        &["model.safetensors", "truncated"],
    ),
    (
        "truncated pytorch_model.bin",
        "disc-vocab-bin",
        |d| truncate(&d.join("pytorch_model.bin")),
        ErrorCode::Weights,
        &["pytorch_model.bin", "truncated"],
    ),
    (
        "garbage weights",
        "disc-project-tokjson",
        |d| std::fs::write(d.join("model.safetensors"), vec![0xAB; 4096]).unwrap(),
        ErrorCode::Weights,
        &["model.safetensors", "safetensors"],
    ),
    (
        "no weights",
        "disc-project-tokjson",
        |d| std::fs::remove_file(d.join("model.safetensors")).unwrap(),
        ErrorCode::MissingFile,
        &["model.safetensors", "pytorch_model.bin"],
    ),
    (
        "no vocabulary",
        "disc-vocab-bin",
        |d| std::fs::remove_file(d.join("vocab.txt")).unwrap(),
        ErrorCode::MissingFile,
        &["vocab.txt", "tokenizer.json"],
    ),
    (
        "tokenizer.json is broken",
        "disc-project-tokjson",
        |d| std::fs::write(d.join("tokenizer.json"), "{}").unwrap(),
        ErrorCode::Tokenizer,
        &["tokenizer.json"],
    ),
    (
        "tokenizer_config.json is broken",
        "disc-vocab-bin",
        |d| std::fs::write(d.join("tokenizer_config.json"), "[1,").unwrap(),
        ErrorCode::Tokenizer,
        &["tokenizer_config.json", "JSON"],
    ),
    (
        "vocabulary without special tokens",
        "disc-vocab-bin",
        |d| std::fs::write(d.join("vocab.txt"), "a\nb\nc\n").unwrap(),
        ErrorCode::Tokenizer,
        &["[CLS]", "vocabulary"],
    ),
    (
        "vocabulary larger than the model",
        "disc-vocab-bin",
        |d| edit_config(d, |c| c["vocab_size"] = 100.into()),
        ErrorCode::Tokenizer,
        &["vocab_size", "100"],
    ),
    (
        "classifier with broken id2label",
        "nli-electra-entail0",
        |d| edit_config(d, |c| c["id2label"] = serde_json::json!({"0": "a", "5": "b"})),
        ErrorCode::Config,
        &["id2label"],
    ),
    (
        "empty folder",
        "disc-vocab-bin",
        |d| {
            for e in std::fs::read_dir(d).unwrap() {
                std::fs::remove_file(e.unwrap().path()).unwrap()
            }
        },
        ErrorCode::MissingFile,
        &["empty"],
    ),
];

#[test]
fn malformed_model_folders_give_clear_errors() {
    for (what, base, damage, code, words) in CASES {
        let dir = scratch_copy(base);
        damage(dir.path());
        let folder = dir.path().to_str().unwrap();

        let error = match Model::load(folder, &LoadOptions::default(), Arc::new(Silent)) {
            Ok(_) => panic!("{what}: the damaged model loaded"),
            Err(e) => e,
        };
        assert_eq!(error.code(), *code, "{what}: {error}");
        let message = error.to_string();
        for word in *words {
            assert!(message.contains(word), "{what}: the message {message:?} does not mention {word:?}");
        }

        let out = Command::new(env!("CARGO_BIN_EXE_selectra")).args(["inspect", "--model", folder, "--json", "hola"]).output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{what}: exit status, stderr {stderr:?}");
        assert!(out.stdout.is_empty(), "{what}: stdout must stay empty on errors");
        assert_eq!(stderr.lines().count(), 1, "{what}: expected one error line, got {stderr:?}");
        assert!(stderr.starts_with("error: ") && stderr.contains(words[0]), "{what}: {stderr:?}");
    }
}

fn cli_error(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_selectra")).args(args).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success(), "selectra {args:?} should fail");
    assert!(out.stdout.is_empty(), "selectra {args:?}: stdout must stay empty on errors");
    assert_eq!(stderr.lines().count(), 1, "selectra {args:?}: expected one error line, got {stderr:?}");
    stderr
}

#[test]
fn bad_input_gives_clear_errors() {
    let nli = model_dir("nli-electra-entail0");
    let nli = nli.to_str().unwrap();
    let disc = model_dir("disc-vocab-bin");
    let disc = disc.to_str().unwrap();
    let weights = model_dir("disc-vocab-bin").join("pytorch_model.bin");
    let cases: &[(&[&str], &[&str])] = &[
        (&["zeroshot", "--model", nli, "--labels", "", "hola"], &["no candidate labels"]),
        (&["zeroshot", "--model", nli, "--labels", "a,,b", "hola"], &["label 2 of 3 is empty"]),
        (&["zeroshot", "--model", nli, "--labels", "a, b,a", "hola"], &["\"a\"", "twice"]),
        (&["zeroshot", "--model", nli, "--labels", "a,b", "--template", "Sin etiqueta.", "hola"], &["template", "{}"]),
        (&["zeroshot", "--model", nli, "--labels", "a,b", "--template", "Es {label}.", "hola"], &["{label}"]),
        (&["zeroshot", "--model", nli, "--labels", "a,b", ""], &["empty"]),
        (&["zeroshot", "--model", nli, "--labels", "a,b", " \t "], &["empty"]),
        (&["zeroshot", "--model", nli, "--labels", &"muy ".repeat(60), "hola"], &["longer than the model"]),
        (&["zeroshot", "--model", disc, "--labels", "a,b", "hola"], &["ElectraForPreTraining", "NLI"]),
        (&["inspect", "--model", nli, "hola"], &["ElectraForSequenceClassification", "discriminator"]),
        (&["inspect", "--model", "no/such/folder", "hola"], &["neither an existing folder nor a Hub id"]),
        (&["inspect", "--model", "./missing-folder", "hola"], &["neither an existing folder nor a Hub id"]),
        (&["inspect", "--model", "Recognai/selectra_small@", "hola"], &["ORG/NAME[@REVISION]"]),
        (&["inspect", "--model", weights.to_str().unwrap(), "hola"], &["is a file"]),
    ];
    for (args, words) in cases {
        let stderr = cli_error(args);
        for word in *words {
            assert!(stderr.contains(word), "selectra {args:?}: {stderr:?} does not mention {word:?}");
        }
    }
}
