//! The RoBERTa family (byte-level BPE) and XLM-RoBERTa (SentencePiece Unigram): tokenization,
//! zero-shot through `selectra run`, and the errors of incomplete folders. Zero-shot scores and
//! embeddings of these fixtures are also checked with every other model in parity.rs and embed.rs.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::common::{check_zeroshot, expected_files, model_dir, scratch_copy};
use selectra::engine::hub::Silent;
use selectra::engine::model::{LoadOptions, Model};
use selectra::engine::tokenize::{TokenizerKind, TokenizerOptions};
use selectra::ErrorCode;
use serde_json::Value;

const FAMILIES: [(&str, TokenizerKind); 3] = [
    ("nli-roberta-tokjson", TokenizerKind::ByteLevelBpe),
    ("nli-roberta-vocab", TokenizerKind::ByteLevelBpe),
    ("nli-xlmr-tokjson", TokenizerKind::Unigram),
];

fn load(folder: &Path, strip_accents: Option<bool>) -> selectra::Result<Model> {
    let options = LoadOptions { tokenizer: TokenizerOptions { strip_accents }, ..LoadOptions::default() };
    Model::load(folder.to_str().unwrap(), &options, Arc::new(Silent))
}

fn expected(name: &str) -> Value {
    expected_files().into_iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no expected outputs for {name}")).1
}

/// Ids, truncation and character offsets equal transformers' for every text alone and paired with
/// a hypothesis (accents, emoji, CJK, control and zero-width characters, typed special tokens,
/// NFKC-rewritten characters, texts longer than the model).
#[test]
fn tokenization_matches_transformers() {
    for (name, kind) in FAMILIES {
        let model = load(&model_dir(name), None).unwrap();
        assert_eq!(model.tokenizer.kind(), kind, "{name}");
        let specials: Vec<u32> = ["<s>", "</s>", "<pad>", "<unk>", "<mask>"].iter().filter_map(|t| model.tokenizer.token_id(t)).collect();
        let cases = expected(name)["tokenize"].as_array().unwrap().clone();
        assert!(cases.len() >= 50, "{name}: {} cases", cases.len());
        let (mut truncated, mut pairs) = (0, 0);
        for case in &cases {
            let text = case["text"].as_str().unwrap();
            let encoded = match case["pair"].as_str() {
                Some(hypothesis) => {
                    pairs += 1;
                    model.tokenizer.encode_pair(text, hypothesis).unwrap()
                }
                None => model.tokenizer.encode_single(text).unwrap(),
            };
            let context = format!("{name}: {text:?} + {:?}", case["pair"]);
            let ids: Vec<u32> = case["ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
            assert_eq!(encoded.ids, ids, "{context}: ids");
            assert!(encoded.type_ids.iter().all(|&t| t == 0), "{context}: RoBERTa's segment ids are all 0");
            assert_eq!(encoded.truncated, case["truncated"].as_bool().unwrap(), "{context}: truncated");
            truncated += usize::from(encoded.truncated);
            // transformers' first-sequence tokens by position, with their offsets.
            let theirs: HashMap<usize, (usize, usize)> = case["positions"]
                .as_array()
                .unwrap()
                .iter()
                .zip(case["offsets"].as_array().unwrap())
                .map(|(p, o)| (p.as_u64().unwrap() as usize, (o[0].as_u64().unwrap() as usize, o[1].as_u64().unwrap() as usize)))
                .collect();
            for (token, &position) in encoded.tokens.iter().zip(&encoded.positions) {
                assert_eq!(theirs.get(&position), Some(&(token.start, token.end)), "{context}: offsets of {:?} at {position}", token.text);
            }
            // Whatever transformers lists that we leave out is a special token typed in the text.
            for position in theirs.keys().filter(|p| !encoded.positions.contains(p)) {
                assert!(specials.contains(&ids[*position]), "{context}: token at {position} is missing");
            }
        }
        assert!(truncated >= 3 && pairs >= 30, "{name}: the cases must cover truncation and pairs ({truncated}, {pairs})");
    }
}

/// `selectra run` stores, for each record, exactly the pipeline's labels and scores.
#[test]
fn selectra_run_stores_the_pipelines_scores() {
    let dir = tempfile::tempdir().unwrap();
    for (name, _) in FAMILIES {
        let cases = expected(name)["zeroshot"].as_array().unwrap().clone();
        let db = dir.path().join(format!("{name}.sqlite"));
        let corpus = dir.path().join(format!("{name}.jsonl"));
        let lines: Vec<String> = cases.iter().map(|c| serde_json::json!({ "text": c["text"] }).to_string()).collect();
        std::fs::write(&corpus, lines.join("\n") + "\n").unwrap();
        let db_s = db.to_str().unwrap();
        cli(&["corpus", "import", "--db", db_s, "--name", "c", corpus.to_str().unwrap()]);
        let model = model_dir(name);
        for (i, case) in cases.iter().enumerate() {
            if case["strip_accents"] != Value::Null {
                continue;
            }
            let labels = case["labels"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect::<Vec<_>>().join(",");
            let mut args = vec!["run", "--db", db_s, "--corpus", "c", "--model", model.to_str().unwrap(), "--labels", &labels];
            args.extend(["--template", case["template"].as_str().unwrap(), "--json"]);
            if case["multi_label"].as_bool().unwrap() {
                args.push("--multi-label");
            }
            let summary: Value = serde_json::from_str(&cli(&args)).unwrap();
            let run = &summary["run"]["id"];
            let export = cli(&["export", "--db", db_s, "--corpus", "c", "--format", "jsonl"]);
            let record: Value = export.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).nth(i).unwrap();
            assert_eq!(record["text"], case["text"]);
            let prediction = record["predictions"].as_array().unwrap().iter().find(|p| &p["run"] == run).unwrap();
            let stored = serde_json::json!({ "sequence": record["text"], "labels": prediction["labels"], "scores": prediction["scores"] });
            check_zeroshot(&format!("{name} run {run}, case {i}"), &stored, &case["output"]);
        }
    }
}

fn cli(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_selectra")).args(args).output().unwrap();
    assert!(out.status.success(), "selectra {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Incomplete or mismatched tokenizer files: one clear error each, naming the file and what to do.
#[test]
fn incomplete_tokenizer_folders_say_what_is_missing() {
    type Damage = fn(&Path);
    let cases: [(&str, &str, Damage, ErrorCode, &[&str]); 5] = [
        (
            "merges.txt missing",
            "nli-roberta-vocab",
            |d| std::fs::remove_file(d.join("merges.txt")).unwrap(),
            ErrorCode::Tokenizer,
            &["merges.txt", "vocab.json"],
        ),
        (
            "only the SentencePiece model",
            "nli-xlmr-tokjson",
            |d| {
                std::fs::remove_file(d.join("tokenizer.json")).unwrap();
                std::fs::write(d.join("sentencepiece.bpe.model"), b"\x0a\x05").unwrap();
            },
            ErrorCode::Tokenizer,
            &["sentencepiece.bpe.model", "tokenizer.json", "save_pretrained"],
        ),
        (
            "a WordPiece tokenizer.json for RoBERTa",
            "nli-roberta-tokjson",
            |d| std::fs::copy(model_dir("nli-bert-tokjson").join("tokenizer.json"), d.join("tokenizer.json")).map(|_| ()).unwrap(),
            ErrorCode::Tokenizer,
            &["WordPiece", "BPE"],
        ),
        (
            "an unknown tokenizer class",
            "nli-roberta-vocab",
            |d| std::fs::write(d.join("tokenizer_config.json"), r#"{"tokenizer_class": "GPT2Tokenizer"}"#).unwrap(),
            ErrorCode::Unsupported,
            &["GPT2Tokenizer", "RobertaTokenizer"],
        ),
        (
            "no tokenizer at all",
            "nli-xlmr-tokjson",
            |d| std::fs::remove_file(d.join("tokenizer.json")).unwrap(),
            ErrorCode::MissingFile,
            &["tokenizer.json", "vocab.json + merges.txt", "sentencepiece.bpe.model"],
        ),
    ];
    for (what, base, damage, code, words) in cases {
        let dir = scratch_copy(base);
        damage(dir.path());
        let error = match load(dir.path(), None) {
            Ok(_) => panic!("{what}: the damaged model loaded"),
            Err(e) => e,
        };
        assert_eq!(error.code(), code, "{what}: {error}");
        let message = error.to_string();
        for word in words {
            assert!(message.contains(word), "{what}: the message {message:?} does not mention {word:?}");
        }
    }
}

/// Only WordPiece tokenizers can strip accents; asking a RoBERTa tokenizer to is an error, and
/// the inspector says per-token scores need an ELECTRA discriminator.
#[test]
fn accent_stripping_and_token_scores_are_refused_with_a_reason() {
    for (name, _) in FAMILIES {
        let error = load(&model_dir(name), Some(true)).err().unwrap();
        assert_eq!(error.code(), ErrorCode::Input, "{error}");
        assert!(error.to_string().contains("WordPiece"), "{error}");
        let model = load(&model_dir(name), Some(false)).unwrap();
        assert!(!model.tokenizer.strips_accents());
        let error = selectra::engine::inspect::inspect(&model, "hola").err().unwrap();
        assert!(error.to_string().contains("ElectraForPreTraining"), "{error}");
    }
}
