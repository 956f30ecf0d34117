//! Bad model folders and bad input: each gives one clear error line and a non-zero exit, never a
//! panic. Every case starts from a good fixture copied into a scratch folder and damages it.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use crate::common::*;
use selectra::engine::hub::Silent;
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
        |d| edit_config(d, |c| c["model_type"] = "deberta-v2".into()),
        ErrorCode::Unsupported,
        &["deberta-v2", "electra, bert, roberta, xlm-roberta"],
    ),
    (
        "an architecture of another model type",
        "disc-vocab-bin",
        |d| edit_config(d, |c| c["model_type"] = "roberta".into()),
        ErrorCode::Unsupported,
        &["ElectraForPreTraining", "model_type roberta", "RobertaForSequenceClassification"],
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
        &["model.safetensors", "parameters", "config.json"],
    ),
    (
        "config declares a vocabulary beyond any model's",
        "disc-project-tokjson",
        |d| edit_config(d, |c| c["vocab_size"] = 100_000_000.into()),
        ErrorCode::Config,
        &["vocab_size", "out of range"],
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

/// The committed hostile folders (tests/fixtures/hostile/make.py): each once aborted the process
/// (out of memory or a stack overflow). Each must give exit status 1 and one `error:` line.
const HOSTILE: &[(&str, ErrorCode, &[&str])] = &[
    ("config-hidden-size", ErrorCode::Config, &["hidden_size = 4194304", "out of range"]),
    ("config-num-labels", ErrorCode::Config, &["num_labels = 100000000", "out of range"]),
    ("config-layers", ErrorCode::Config, &["num_hidden_layers = 4000000", "out of range"]),
    ("config-product", ErrorCode::Weights, &["pytorch_model.bin", "parameters", "config.json"]),
    ("pickle-memo-doubling", ErrorCode::Weights, &["pytorch_model.bin", "data.pkl", "bytes of memory"]),
    ("pickle-deep-nesting", ErrorCode::Weights, &["pytorch_model.bin", "data.pkl", "deeper than"]),
];

#[test]
fn hostile_model_folders_give_one_error_line_never_an_abort() {
    for (name, code, words) in HOSTILE {
        let folder = fixtures().join("hostile").join(name);
        let folder = folder.to_str().unwrap();
        let error = match Model::load(folder, &LoadOptions::default(), Arc::new(Silent)) {
            Ok(_) => panic!("{name}: the hostile model loaded"),
            Err(e) => e,
        };
        assert_eq!(error.code(), *code, "{name}: {error}");
        for word in *words {
            assert!(error.to_string().contains(word), "{name}: {error} does not mention {word:?}");
        }
        let out = Command::new(env!("CARGO_BIN_EXE_selectra")).args(["inspect", "--model", folder, "--json", "hola"]).output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{name}: killed by a signal or wrong status; stderr {stderr:?}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr:?}");
        assert!(stderr.starts_with("error: ") && stderr.contains(words[0]), "{name}: {stderr:?}");
    }
}

#[test]
fn the_arithmetic_parameter_count_equals_the_weights_each_architecture_loads() {
    for name in [
        "disc-lower-gelunew",
        "disc-project-tokjson",
        "disc-vocab-bin",
        "nli-bert-tokjson",
        "nli-electra-entail0",
        "nli-electra-unnamed",
        "nli-roberta-tokjson",
        "nli-roberta-vocab",
        "nli-xlmr-tokjson",
    ] {
        let model = Model::load(model_dir(name).to_str().unwrap(), &LoadOptions::default(), Arc::new(Silent)).unwrap();
        assert_eq!(u128::from(model.parameters), model.config.parameter_count(), "{name}");
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
        (&["inspect", "--model", "./missing-folder", "hola"], &["folder ./missing-folder does not exist"]),
        (&["inspect", "--model", "Recognai/selectra_small@", "hola"], &["ORG/NAME[@REVISION]"]),
        // A revision is a git ref name or a commit: it never becomes a path out of the cache.
        (&["inspect", "--model", "Recognai/selectra_small@../../x", "hola"], &["revision", "../../x"]),
        (&["inspect", "--model", "Recognai/selectra_small@/etc/passwd", "hola"], &["revision"]),
        (&["inspect", "--model", "Recognai/selectra_small@\\server\\x", "hola"], &["revision"]),
        (&["inspect", "--model", "Recognai/selectra_small@main/../../x", "hola"], &["revision"]),
        (&["inspect", "--model", weights.to_str().unwrap(), "hola"], &["is a file"]),
    ];
    for (args, words) in cases {
        let stderr = cli_error(args);
        for word in *words {
            assert!(stderr.contains(word), "selectra {args:?}: {stderr:?} does not mention {word:?}");
        }
    }
}

/// The core serves the app too, so its messages never name a command-line flag (the CLI adds its
/// own hints). Every string literal of the library's source is checked.
#[test]
fn core_messages_never_name_command_line_flags() {
    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() && !path.ends_with("bin") {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    assert!(files.len() > 20);
    let mut offenders = Vec::new();
    for file in files {
        for (n, line) in std::fs::read_to_string(&file).unwrap().lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            // A flag inside a string literal: a quote, then `--` and a letter before the next quote.
            let mut in_string = false;
            let bytes = code.as_bytes();
            for (i, &b) in bytes.iter().enumerate() {
                if b == b'"' && (i == 0 || bytes[i - 1] != b'\\') {
                    in_string = !in_string;
                } else if in_string && b == b'-' && bytes.get(i + 1) == Some(&b'-') && bytes.get(i + 2).is_some_and(|c| c.is_ascii_lowercase()) {
                    offenders.push(format!("{}:{}: {}", file.display(), n + 1, code));
                    break;
                }
            }
        }
    }
    assert!(offenders.is_empty(), "core messages that name flags:\n{}", offenders.join("\n"));
}
