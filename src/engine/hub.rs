//! Where a model's files come from: a local folder, or a Hub repository through the standard
//! Hugging Face cache (shared with Python's `huggingface_hub`).
//!
//! The settings, the client and the error wording are the shared `crate::hub`'s (dataset
//! repositories use them too); this module knows which files a model is made of.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hf_hub::HFError;

pub use crate::hub::{check_revision, DownloadObserver, HubSettings, Silent};
use crate::hub::{is_unreachable, ProgressBridge};

use crate::engine::tokenize::TokenizerFiles;
use crate::error::{Error, Result};

/// Models the app offers by name: the four SELECTRA repositories and the BETO comparator.
pub const PRESETS: &[(&str, &str)] = &[
    ("Recognai/selectra_small", "SELECTRA small discriminator (replaced-token detection)"),
    ("Recognai/selectra_medium", "SELECTRA medium discriminator (replaced-token detection)"),
    ("Recognai/zeroshot_selectra_small", "SELECTRA small fine-tuned on XNLI (zero-shot)"),
    ("Recognai/zeroshot_selectra_medium", "SELECTRA medium fine-tuned on XNLI (zero-shot)"),
    ("Recognai/bert-base-spanish-wwm-cased-xnli", "BETO fine-tuned on XNLI (zero-shot comparator)"),
    ("joeddav/xlm-roberta-large-xnli", "XLM-RoBERTa large fine-tuned on XNLI (multilingual zero-shot comparator)"),
];

/// What the user asked for with `--model`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    Folder(PathBuf),
    Hub { repo: String, revision: Option<String> },
}

impl ModelSource {
    /// An existing folder wins over a Hub id of the same spelling, as in transformers.
    pub fn parse(spec: &str) -> Result<Self> {
        let path = Path::new(spec);
        if path.is_dir() {
            return Ok(ModelSource::Folder(path.to_path_buf()));
        }
        if path.is_file() {
            return Err(Error::ModelSpec(format!("{spec} is a file; a model is a folder (with config.json) or a Hub id ORG/NAME[@REVISION]")));
        }
        if looks_like_path(spec) {
            return Err(Error::ModelSpec(format!(
                "the folder {spec} does not exist (it is written as a path, so it is not read as a Hub id ORG/NAME[@REVISION])"
            )));
        }
        let Some((repo, revision)) = crate::hub::split_repo_id(spec) else {
            return Err(Error::ModelSpec(format!(
                "{spec:?} is neither an existing folder nor a Hub id of the form ORG/NAME[@REVISION] \
                 (e.g. Recognai/selectra_small or Recognai/zeroshot_selectra_medium@refs/pr/1)"
            )));
        };
        if let Some(rev) = revision {
            check_revision(rev)?;
        }
        Ok(ModelSource::Hub { repo: repo.to_string(), revision: revision.map(str::to_string) })
    }

    /// How the model is named in outputs: the folder path or the Hub id as given.
    pub fn display_name(&self) -> String {
        match self {
            ModelSource::Folder(p) => p.display().to_string(),
            ModelSource::Hub { repo, revision: Some(rev) } => format!("{repo}@{rev}"),
            ModelSource::Hub { repo, revision: None } => repo.clone(),
        }
    }
}

/// Whether `spec` is written as a file-system path on any of the systems the app runs on: absolute
/// (`/x`, `C:\x`, `C:/x`, `\\server\share`), relative to the current or home folder (`./x`,
/// `../x`, `~/x`), or with a backslash before any `@`. Such a spec is always a folder, never a Hub
/// id, whatever system parses it (a Hub id never starts with `.`, `/` or `~`, and its `ORG/NAME`
/// has no backslash or `:`; a bad revision after the `@` is reported as one).
pub fn looks_like_path(spec: &str) -> bool {
    let b = spec.as_bytes();
    let drive = b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':';
    let before_revision = spec.split('@').next().unwrap_or(spec);
    drive || spec.starts_with(['/', '.', '~']) || before_revision.contains('\\')
}

/// The tokenizer files a model may have, in words.
const TOKENIZER_FILES: &str = "tokenizer.json, vocab.txt, vocab.json + merges.txt or sentencepiece.bpe.model";

/// The files a model is made of, all on local disk.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    pub folder: PathBuf,
    pub config: PathBuf,
    pub weights: PathBuf,
    pub tokenizer: TokenizerFiles,
    /// The sentence-transformers pipeline (`modules.json`), when the folder is one.
    pub sentence: Option<crate::engine::sentence::SentencePipeline>,
}

/// Finds (and for Hub ids, downloads into the cache) every file the model needs.
pub fn resolve(source: &ModelSource, hub: &HubSettings, observer: Arc<dyn DownloadObserver>) -> Result<ModelFiles> {
    match source {
        ModelSource::Folder(folder) => files_in_folder(folder),
        ModelSource::Hub { repo, revision } => fetch_from_hub(repo, revision.as_deref(), hub, observer),
    }
}

fn files_in_folder(folder: &Path) -> Result<ModelFiles> {
    let entries = std::fs::read_dir(folder).map_err(|e| Error::io(folder, e))?;
    if entries.count() == 0 {
        return Err(Error::MissingFile {
            path: folder.to_path_buf(),
            what: "the folder is empty".into(),
            hint: "A model folder holds config.json, model.safetensors or pytorch_model.bin, and vocab.txt or tokenizer.json.".into(),
        });
    }
    let existing = |name: &str| Some(folder.join(name)).filter(|p| p.is_file());
    let config = existing("config.json").ok_or_else(|| Error::MissingFile {
        path: folder.to_path_buf(),
        what: "config.json is missing".into(),
        hint: "Is this the model's folder? It must hold the Hugging Face config.json.".into(),
    })?;
    let weights = find_weights(folder).ok_or_else(|| {
        let sharded = existing("model.safetensors.index.json").or_else(|| existing("pytorch_model.bin.index.json"));
        Error::MissingFile {
            path: folder.to_path_buf(),
            what: "the weights (model.safetensors or pytorch_model.bin) are missing".into(),
            hint: if sharded.is_some() {
                "Sharded checkpoints are not supported; save the model as one file.".into()
            } else {
                "Save the model with save_pretrained, or download its weights file.".into()
            },
        }
    })?;
    let tokenizer = TokenizerFiles::from_lookup(|name| Ok(existing(name)))?;
    if !tokenizer.has_vocabulary() {
        return Err(Error::MissingFile {
            path: folder.to_path_buf(),
            what: format!("the tokenizer ({TOKENIZER_FILES}) is missing"),
            hint: "Copy the model's tokenizer files (and tokenizer_config.json) into the folder.".into(),
        });
    }
    let sentence = crate::engine::sentence::read_pipeline(|name| Ok(existing(name)))?;
    Ok(ModelFiles { folder: folder.to_path_buf(), config, weights, tokenizer, sentence })
}

fn fetch_from_hub(repo: &str, revision: Option<&str>, hub: &HubSettings, observer: Arc<dyn DownloadObserver>) -> Result<ModelFiles> {
    let model = match revision {
        Some(rev) => format!("{repo}@{rev}"),
        None => repo.to_string(),
    };
    let client = hub.client(&model)?;
    let (owner, name) = repo.split_once('/').expect("ModelSource::parse checked ORG/NAME");
    let handle = client.model(owner, name);
    let bridge = ProgressBridge::new(observer);

    // Once the Hub proves unreachable, the remaining files come from the cache only, as with
    // HF_HUB_OFFLINE (and as huggingface_hub does), instead of retrying the network for each.
    let cache_only = std::cell::Cell::new(hub.offline);
    let unreachable_reason = std::cell::RefCell::new(String::new());
    // Ok(None) means the file is not available: the repository lacks it, or (cache only) it is not cached.
    let fetch = |file: &str| -> Result<Option<PathBuf>> {
        bridge.fetching(file);
        let attempt = |local_files_only: bool| {
            handle
                .download_file()
                .filename(file)
                .maybe_revision(revision.map(str::to_string))
                .local_files_only(local_files_only)
                .progress(bridge.handle())
                .send()
        };
        let mut result = attempt(cache_only.get());
        if let Err(e) = &result {
            if !cache_only.get() && is_unreachable(e) {
                cache_only.set(true);
                *unreachable_reason.borrow_mut() = format!("the Hub could not be reached: {e}");
                result = attempt(true);
            }
        }
        match result {
            Ok(path) => Ok(Some(path)),
            Err(HFError::EntryNotFound { .. } | HFError::LocalEntryNotFound { .. }) => Ok(None),
            Err(e) => Err(hub_error(&model, file, e)),
        }
    };

    let not_cached = |what: &str| Error::NotCached {
        model: model.clone(),
        cache: hub.repo_cache(repo),
        reason: if hub.offline {
            format!("HF_HUB_OFFLINE is set and {what} is not cached")
        } else {
            format!("{}, and {what} is not cached", unreachable_reason.borrow())
        },
    };
    let missing =
        |what: &str, hint: &str| Error::MissingFile { path: PathBuf::from(&model), what: format!("the repository has no {what}"), hint: hint.into() };

    let config = fetch("config.json")?.ok_or_else(|| {
        if cache_only.get() {
            not_cached("config.json")
        } else {
            missing("config.json", "The repository is not a transformers model.")
        }
    })?;
    // tokenizer.json is enough; without it, the first vocabulary file found (and, after
    // vocab.json, BPE's merges).
    let mut vocabulary: Option<String> = None;
    let tokenizer = TokenizerFiles::from_lookup(|name| match name {
        "tokenizer_config.json" | "special_tokens_map.json" => fetch(name),
        "merges.txt" => {
            if vocabulary.as_deref() == Some("vocab.json") {
                fetch(name)
            } else {
                Ok(None)
            }
        }
        _ if vocabulary.is_some() => Ok(None),
        _ => {
            let file = fetch(name)?;
            vocabulary = file.as_ref().map(|_| name.to_string());
            Ok(file)
        }
    })?;
    if !tokenizer.has_vocabulary() {
        let what = format!("the tokenizer ({TOKENIZER_FILES})");
        return Err(if cache_only.get() { not_cached(&what) } else { missing(&what, "The repository ships no tokenizer we can read.") });
    }
    let weights = match fetch("model.safetensors")? {
        Some(path) => path,
        None => fetch("pytorch_model.bin")?.ok_or_else(|| {
            if cache_only.get() {
                not_cached("the weights (model.safetensors or pytorch_model.bin)")
            } else {
                missing("the weights (model.safetensors or pytorch_model.bin)", "Sharded or TensorFlow-only checkpoints are not supported.")
            }
        })?,
    };
    let sentence = crate::engine::sentence::read_pipeline(|name| fetch(name))?;
    let folder = config.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(ModelFiles { folder, config, weights, tokenizer, sentence })
}

fn hub_error(model: &str, file: &str, e: HFError) -> Error {
    Error::Download { model: model.to_string(), file: file.to_string(), message: crate::hub::read_problem(&e) }
}

/// One cached repository: its id and the revisions (refs) and snapshots present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedRepo {
    pub repo: String,
    pub refs: Vec<String>,
    pub snapshots: usize,
}

/// The model repositories in the cache, sorted by id. A missing cache is an empty list.
pub fn cached_repos(hub: &HubSettings) -> Result<Vec<CachedRepo>> {
    let entries = match std::fs::read_dir(&hub.cache_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&hub.cache_dir, e)),
    };
    let mut repos = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(rest) = name.strip_prefix("models--") else { continue };
        let repo = rest.replacen("--", "/", 1);
        let snapshots = std::fs::read_dir(entry.path().join("snapshots")).map(|d| d.count()).unwrap_or(0);
        let mut refs = Vec::new();
        collect_refs(&entry.path().join("refs"), "", &mut refs);
        refs.sort();
        repos.push(CachedRepo { repo, refs, snapshots });
    }
    repos.sort_by(|a, b| a.repo.cmp(&b.repo));
    Ok(repos)
}

/// A model the app offers: a preset, or a repository found in the cache.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ModelEntry {
    pub id: String,
    /// Empty for cached repositories that are not presets.
    pub description: String,
    pub preset: bool,
    pub cached_refs: Vec<String>,
    pub cached_snapshots: usize,
}

/// The presets (cached or not) followed by the other cached model repositories.
pub fn model_list(hub: &HubSettings) -> Result<Vec<ModelEntry>> {
    let cached = cached_repos(hub)?;
    let mut rows: Vec<ModelEntry> = PRESETS
        .iter()
        .map(|(id, description)| {
            let entry = cached.iter().find(|c| c.repo == *id);
            ModelEntry {
                id: id.to_string(),
                description: description.to_string(),
                preset: true,
                cached_refs: entry.map(|c| c.refs.clone()).unwrap_or_default(),
                cached_snapshots: entry.map_or(0, |c| c.snapshots),
            }
        })
        .collect();
    for c in cached.into_iter().filter(|c| !PRESETS.iter().any(|(id, _)| *id == c.repo)) {
        rows.push(ModelEntry { id: c.repo, description: String::new(), preset: false, cached_refs: c.refs, cached_snapshots: c.snapshots });
    }
    Ok(rows)
}

/// Refs may be nested (`refs/pr/1` is stored as refs/refs/pr/1).
fn collect_refs(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if entry.path().is_dir() {
            collect_refs(&entry.path(), &format!("{name}/"), out);
        } else {
            out.push(name);
        }
    }
}

/// The weights file a model folder provides, preferring safetensors as transformers does.
pub fn find_weights(folder: &Path) -> Option<PathBuf> {
    ["model.safetensors", "pytorch_model.bin"].iter().map(|f| folder.join(f)).find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(spec: &str, expected: Option<(&str, Option<&str>)>) {
        match (ModelSource::parse(spec), expected) {
            (Ok(ModelSource::Hub { repo, revision }), Some((r, rev))) => {
                assert_eq!((repo.as_str(), revision.as_deref()), (r, rev), "{spec}")
            }
            (Err(e), None) => assert_eq!(e.code(), crate::ErrorCode::ModelSpec, "{spec}"),
            (got, want) => panic!("{spec}: got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn hub_ids_parse_with_optional_revisions() {
        check("Recognai/selectra_small", Some(("Recognai/selectra_small", None)));
        check("Recognai/zeroshot_selectra_medium@refs/pr/1", Some(("Recognai/zeroshot_selectra_medium", Some("refs/pr/1"))));
        check("Org/model.v2@0123abc", Some(("Org/model.v2", Some("0123abc"))));
        check("bertin-project/bertin-roberta-base-spanish@v1-512", Some(("bertin-project/bertin-roberta-base-spanish", Some("v1-512"))));
        for bad in ["selectra_small", "a/b/c", "/abs/missing", "./missing", "Org/", "/name", "Org/name@", "Org/na me"] {
            check(bad, None);
        }
        // Revisions that could become a path outside the cache, or that git would refuse.
        for bad in [
            "O/n@../../x",
            "O/n@/etc",
            "O/n@\\\\srv\\x",
            "O/n@main/../x",
            "O/n@a\0b",
            "O/n@refs//pr",
            "O/n@.hidden",
            "O/n@x.lock",
            "O/n@a..b",
            "O/n@main/",
        ] {
            check(bad, None);
        }
    }

    /// Paths as each system writes them are folders, never Hub ids, on whichever system parses
    /// them; a missing one says so.
    #[test]
    fn paths_of_every_system_are_folders() {
        for spec in [
            "C:\\models\\selectra",
            "C:/models/selectra",
            "c:models",
            "\\\\server\\share\\selectra",
            "//server/share/selectra",
            "/home/ana/models/selectra",
            "/Users/ana/Models/selectra",
            "./selectra",
            "../models/selectra",
            "~/models/selectra",
            "models\\selectra",
        ] {
            assert!(looks_like_path(spec), "{spec}");
            let e = ModelSource::parse(spec).unwrap_err().to_string();
            assert!(e.contains("does not exist") && e.contains("not read as a Hub id"), "{spec}: {e}");
        }
        for hub in ["Recognai/selectra_small", "Org/model.v2@refs/pr/1", "bertin-project/bertin-roberta-base-spanish@v1-512"] {
            assert!(!looks_like_path(hub), "{hub}");
        }
    }

    /// The cache folder follows huggingface_hub on each system: HF_HUB_CACHE, else HF_HOME/hub,
    /// else XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub, where ~ is HOME
    /// (Linux, macOS) or USERPROFILE (Windows, which has no HOME).
    #[test]
    fn the_cache_folder_follows_huggingface_hub_on_each_system() {
        let settings = |vars: &[(&str, &str)]| {
            let vars: std::collections::HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            HubSettings::from_vars(|k| vars.get(k).cloned())
        };
        let linux = settings(&[("HOME", "/home/ana")]);
        assert_eq!(linux.cache_dir, Path::new("/home/ana").join(".cache").join("huggingface").join("hub"));
        let macos = settings(&[("HOME", "/Users/ana")]);
        assert_eq!(macos.cache_dir, Path::new("/Users/ana").join(".cache").join("huggingface").join("hub"));
        let windows = settings(&[("USERPROFILE", "C:\\Users\\ana")]);
        assert_eq!(windows.cache_dir, Path::new("C:\\Users\\ana").join(".cache").join("huggingface").join("hub"));
        let xdg = settings(&[("HOME", "/home/ana"), ("XDG_CACHE_HOME", "/tmp/xdg")]);
        assert_eq!(xdg.cache_dir, Path::new("/tmp/xdg").join("huggingface").join("hub"));
        let home = settings(&[("HOME", "/home/ana"), ("HF_HOME", "/data/hf")]);
        assert_eq!(home.cache_dir, Path::new("/data/hf").join("hub"));
        let cache = settings(&[("HOME", "/home/ana"), ("HF_HOME", "/data/hf"), ("HF_HUB_CACHE", "/fast/hub")]);
        assert_eq!(cache.cache_dir, Path::new("/fast/hub"));
        assert!(settings(&[("HF_HUB_OFFLINE", "1")]).offline && settings(&[("HF_HUB_OFFLINE", "true")]).offline);
        assert!(!settings(&[("HF_HUB_OFFLINE", "0")]).offline);
    }

    #[test]
    fn existing_folders_are_folders() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(ModelSource::parse(dir.path().to_str().unwrap()).unwrap(), ModelSource::Folder(dir.path().to_path_buf()));
    }
}
