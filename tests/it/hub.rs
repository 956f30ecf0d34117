//! Hub ids resolve through the standard Hugging Face cache layout, offline once cached. The cache
//! is built here by hand, exactly as huggingface_hub lays it out (refs/, snapshots/<commit>/), so
//! no test touches the network: offline runs set HF_HUB_OFFLINE=1, and "unreachable Hub" runs
//! point HF_ENDPOINT at a closed loopback port.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::*;

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const PR_COMMIT: &str = "89abcdef0123456789abcdef0123456789abcdef";

/// Puts fixture `name` into `cache` as repository `repo` at `commit`, with `refs/<refname>` pointing there.
fn cache_model(cache: &Path, repo: &str, name: &str, commit: &str, refname: &str) {
    let root = cache.join(format!("models--{}", repo.replace('/', "--")));
    let snapshot = root.join("snapshots").join(commit);
    std::fs::create_dir_all(&snapshot).unwrap();
    for entry in std::fs::read_dir(model_dir(name)).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, snapshot.join(path.file_name().unwrap())).unwrap();
    }
    let refpath = root.join("refs").join(refname);
    std::fs::create_dir_all(refpath.parent().unwrap()).unwrap();
    std::fs::write(refpath, commit).unwrap();
}

fn selectra(cache: &Path, offline: bool, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_selectra"));
    cmd.args(args).env("HF_HUB_CACHE", cache).env_remove("HF_TOKEN").env("HF_HOME", cache.join("home"));
    if offline {
        cmd.env("HF_HUB_OFFLINE", "1");
    } else {
        cmd.env_remove("HF_HUB_OFFLINE").env("HF_ENDPOINT", "http://127.0.0.1:9");
    }
    cmd.output().unwrap()
}

fn expected_tokens(name: &str, text: &str) -> serde_json::Value {
    let (_, expected) = expected_files().into_iter().find(|(n, _)| n == name).unwrap();
    let case = expected["inspect"].as_array().unwrap().iter().find(|c| c["text"] == text && c["strip_accents"].is_null()).unwrap();
    case["output"]["tokens"].clone()
}

#[test]
fn cached_hub_models_work_offline_and_when_the_hub_is_unreachable() {
    let cache = tempfile::tempdir().unwrap();
    cache_model(cache.path(), "Org/tiny-disc", "disc-vocab-bin", COMMIT, "main");
    cache_model(cache.path(), "Org/tiny-disc", "disc-project-tokjson", PR_COMMIT, "refs/pr/1");
    let text = "¿Dónde está el niño? ¡Qué pingüino tan bonito!";

    for (spec, fixture) in [
        ("Org/tiny-disc", "disc-vocab-bin"),
        (&*format!("Org/tiny-disc@{COMMIT}"), "disc-vocab-bin"),
        ("Org/tiny-disc@refs/pr/1", "disc-project-tokjson"),
    ] {
        for offline in [true, false] {
            let out = selectra(cache.path(), offline, &["inspect", "--model", spec, "--json", text]);
            assert!(out.status.success(), "{spec} (offline {offline}): {}", String::from_utf8_lossy(&out.stderr));
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(json["model"], spec);
            check_tokens(&format!("{spec} offline={offline}"), &json["tokens"], &expected_tokens(fixture, text));
        }
    }
}

/// RoBERTa (vocab.json + merges.txt) and XLM-RoBERTa (tokenizer.json) by Hub id from the cache,
/// offline and with the Hub unreachable: the pipeline's scores.
#[test]
fn cached_roberta_family_models_load_by_hub_id() {
    let cache = tempfile::tempdir().unwrap();
    for (repo, fixture) in [("Org/tiny-roberta", "nli-roberta-vocab"), ("Org/tiny-xlmr", "nli-xlmr-tokjson")] {
        cache_model(cache.path(), repo, fixture, COMMIT, "main");
        let (_, expected) = expected_files().into_iter().find(|(n, _)| n == fixture).unwrap();
        let case = &expected["zeroshot"][0];
        let labels = case["labels"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect::<Vec<_>>().join(",");
        for offline in [true, false] {
            let args = ["zeroshot", "--model", repo, "--labels", &labels, "--template", case["template"].as_str().unwrap(), "--json"];
            let out = selectra(cache.path(), offline, &[&args[..], &[case["text"].as_str().unwrap()]].concat());
            assert!(out.status.success(), "{repo} (offline {offline}): {}", String::from_utf8_lossy(&out.stderr));
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            check_zeroshot(&format!("{repo} offline={offline}"), &json, &case["output"]);
        }
    }
}

#[test]
fn uncached_models_name_the_model_and_the_cache() {
    let cache = tempfile::tempdir().unwrap();
    cache_model(cache.path(), "Org/tiny-disc", "disc-vocab-bin", COMMIT, "main");
    for (offline, reason) in [(true, "HF_HUB_OFFLINE"), (false, "could not be reached")] {
        for spec in ["Org/absent", "Org/tiny-disc@v2"] {
            let out = selectra(cache.path(), offline, &["inspect", "--model", spec, "--json", "hola"]);
            let stderr = String::from_utf8(out.stderr).unwrap();
            assert_eq!(out.status.code(), Some(1), "{spec}: {stderr}");
            assert!(out.stdout.is_empty());
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            let repo = spec.split('@').next().unwrap().replace('/', "--");
            for word in [spec, &format!("models--{repo}"), &cache.path().display().to_string(), reason] {
                assert!(stderr.contains(word), "{spec} offline={offline}: {stderr:?} does not mention {word:?}");
            }
        }
    }
}

#[test]
fn models_lists_presets_and_the_cache() {
    let cache = tempfile::tempdir().unwrap();
    cache_model(cache.path(), "Recognai/zeroshot_selectra_small", "nli-electra-entail0", COMMIT, "main");
    cache_model(cache.path(), "Org/tiny-disc", "disc-vocab-bin", PR_COMMIT, "refs/pr/1");
    let out = selectra(cache.path(), true, &["models", "--json"]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let models = json["models"].as_array().unwrap();
    let find = |id: &str| models.iter().find(|m| m["id"] == id).unwrap_or_else(|| panic!("{id} not listed"));
    for preset in
        ["Recognai/selectra_small", "Recognai/selectra_medium", "Recognai/zeroshot_selectra_medium", "Recognai/bert-base-spanish-wwm-cased-xnli"]
    {
        assert_eq!(find(preset)["cached_snapshots"], 0, "{preset}");
    }
    assert_eq!(find("Recognai/zeroshot_selectra_small")["cached_refs"], serde_json::json!(["main"]));
    assert_eq!(find("Org/tiny-disc")["cached_refs"], serde_json::json!(["refs/pr/1"]));
    assert_eq!(find("Org/tiny-disc")["preset"], false);
}

/// A folder spelled like a Hub id (`Org/name` under the working directory) is used as a folder,
/// as transformers does, without consulting the cache or the Hub.
#[test]
fn a_local_folder_wins_over_a_hub_id_of_the_same_spelling() {
    let work = tempfile::tempdir().unwrap();
    let folder = work.path().join("Org").join("tiny-disc");
    std::fs::create_dir_all(&folder).unwrap();
    for entry in std::fs::read_dir(model_dir("disc-vocab-bin")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, folder.join(path.file_name().unwrap())).unwrap();
    }
    let empty_cache = work.path().join("cache");
    let text = "El perro come carne y la casa es azul.";
    let out = Command::new(env!("CARGO_BIN_EXE_selectra"))
        .current_dir(work.path())
        .env("HF_HUB_CACHE", &empty_cache)
        .env("HF_HUB_OFFLINE", "1")
        .args(["inspect", "--model", "Org/tiny-disc", "--json", text])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    check_tokens("Org/tiny-disc as a folder", &json["tokens"], &expected_tokens("disc-vocab-bin", text));
}
