//! sentence-transformers folders: the pipeline `modules.json` describes after the transformer
//! (pooling, normalization) and the input settings of `sentence_bert_config.json`, read so that
//! [`crate::engine::embed::Embedder`] computes what `SentenceTransformer.encode` computes.
//!
//! Supported modules: `Transformer` (the model in the folder itself), `Pooling` (cls, max, mean,
//! mean_sqrt_len_tokens, weightedmean, lasttoken, several concatenated in that order; the
//! `pooling_mode` of sentence-transformers 5+ and the older `pooling_mode_*_token(s)` flags) and
//! `Normalize`. Others (`Dense`, `LayerNorm`, word-embedding models...) are refused by name.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// The largest settings file read: these are a few hundred bytes.
const MAX_SETTINGS_BYTES: u64 = 1 << 20;

/// One way of pooling token states into a sentence vector, in sentence-transformers' order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolingMode {
    Cls,
    Max,
    Mean,
    MeanSqrtLen,
    WeightedMean,
    LastToken,
}

impl PoolingMode {
    /// The order sentence-transformers concatenates modes in.
    const ORDER: [(&'static str, &'static str, PoolingMode); 6] = [
        ("cls", "pooling_mode_cls_token", PoolingMode::Cls),
        ("max", "pooling_mode_max_tokens", PoolingMode::Max),
        ("mean", "pooling_mode_mean_tokens", PoolingMode::Mean),
        ("mean_sqrt_len_tokens", "pooling_mode_mean_sqrt_len_tokens", PoolingMode::MeanSqrtLen),
        ("weightedmean", "pooling_mode_weightedmean_tokens", PoolingMode::WeightedMean),
        ("lasttoken", "pooling_mode_lasttoken", PoolingMode::LastToken),
    ];

    pub fn name(self) -> &'static str {
        Self::ORDER.iter().find(|m| m.2 == self).map(|m| m.0).unwrap_or("mean")
    }
}

/// What a sentence-transformers folder does after the transformer's last hidden states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentencePipeline {
    /// Concatenated in this order.
    pub pooling: Vec<PoolingMode>,
    /// A `Normalize` module: vectors scaled to unit length.
    pub normalize: bool,
    /// `max_seq_length` of `sentence_bert_config.json`, when it gives one (inputs are cut there).
    pub max_seq_length: Option<usize>,
    /// Inputs are lower-cased before the tokenizer (`do_lower_case`).
    pub do_lower_case: bool,
}

impl SentencePipeline {
    /// A short description for people: "mean pooling, normalized".
    pub fn describe(&self) -> String {
        let modes: Vec<&str> = self.pooling.iter().map(|m| m.name()).collect();
        format!("{} pooling{}", modes.join(" + "), if self.normalize { ", normalized" } else { "" })
    }
}

#[derive(Deserialize)]
struct ModuleEntry {
    #[serde(default)]
    path: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize, Default)]
struct InputConfig {
    max_seq_length: Option<usize>,
    #[serde(default)]
    do_lower_case: bool,
}

/// The names sentence-transformers tries for the transformer module's settings.
const INPUT_CONFIGS: [&str; 7] = [
    "sentence_bert_config.json",
    "sentence_roberta_config.json",
    "sentence_distilbert_config.json",
    "sentence_camembert_config.json",
    "sentence_albert_config.json",
    "sentence_xlm-roberta_config.json",
    "sentence_xlnet_config.json",
];

fn read_json(path: &Path) -> Result<serde_json::Value> {
    let size = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
    if size > MAX_SETTINGS_BYTES {
        return Err(Error::config(
            path,
            format!("{size} bytes; a sentence-transformers settings file is a few hundred (at most {MAX_SETTINGS_BYTES} are read)"),
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::config(path, format!("not valid JSON: {e}")))
}

/// Reads the pipeline of a sentence-transformers folder; `None` when there is no `modules.json`
/// (a plain transformers folder). `find` gives a file's local path by its name in the folder
/// (downloading it from a Hub repository), `None` when the folder has no such file.
pub fn read_pipeline(mut find: impl FnMut(&str) -> Result<Option<PathBuf>>) -> Result<Option<SentencePipeline>> {
    let Some(modules_path) = find("modules.json")? else { return Ok(None) };
    let modules: Vec<ModuleEntry> = serde_json::from_value(read_json(&modules_path)?)
        .map_err(|e| Error::config(&modules_path, format!("modules.json is not a list of modules with a type and path: {e}")))?;
    let class = |kind: &str| kind.rsplit('.').next().unwrap_or(kind).to_string();
    let unsupported = |what: String| Error::Unsupported {
        what,
        supported: "sentence-transformers folders of a Transformer, a Pooling and optionally a Normalize module".into(),
    };
    let Some(first) = modules.first() else { return Err(Error::config(&modules_path, "modules.json lists no module")) };
    if class(&first.kind) != "Transformer" {
        return Err(unsupported(format!("a sentence-transformers pipeline starting with {} ({})", class(&first.kind), modules_path.display())));
    }
    if !first.path.is_empty() {
        return Err(unsupported(format!(
            "a transformer saved in the subfolder {:?} ({}); load that subfolder, or save the model again with a recent sentence-transformers",
            first.path,
            modules_path.display()
        )));
    }
    let mut input = InputConfig::default();
    for name in INPUT_CONFIGS {
        if let Some(path) = find(name)? {
            input = serde_json::from_value(read_json(&path)?).map_err(|e| Error::config(&path, format!("unexpected settings: {e}")))?;
            break;
        }
    }
    let (mut pooling, mut normalize) = (None, false);
    for module in &modules[1..] {
        match class(&module.kind).as_str() {
            "Pooling" if pooling.is_none() => {
                let file = format!("{}/config.json", module.path.trim_end_matches('/'));
                let path = find(&file)?.ok_or_else(|| Error::MissingFile {
                    path: modules_path.clone(),
                    what: format!("the pooling settings {file} are missing"),
                    hint: "Copy the whole sentence-transformers folder, with its module subfolders.".into(),
                })?;
                pooling = Some(pooling_modes(&read_json(&path)?, &path)?);
            }
            "Normalize" if !normalize && pooling.is_some() => normalize = true,
            other => {
                return Err(unsupported(format!("the sentence-transformers module {other} ({}) in {}", module.path, modules_path.display())));
            }
        }
    }
    let pooling =
        pooling.ok_or_else(|| unsupported(format!("a sentence-transformers pipeline without a Pooling module ({})", modules_path.display())))?;
    Ok(Some(SentencePipeline { pooling, normalize, max_seq_length: input.max_seq_length, do_lower_case: input.do_lower_case }))
}

/// The modes a pooling config.json turns on, in concatenation order: `pooling_mode` (a name or
/// a list of names) or, in older files, the `pooling_mode_*` flags (none set: mean).
fn pooling_modes(config: &serde_json::Value, path: &Path) -> Result<Vec<PoolingMode>> {
    let by_name = |name: &str| {
        PoolingMode::ORDER.iter().find(|m| m.0 == name).map(|m| m.2).ok_or_else(|| Error::Unsupported {
            what: format!("pooling mode {name:?} in {}", path.display()),
            supported: PoolingMode::ORDER.iter().map(|m| m.0).collect::<Vec<_>>().join(", "),
        })
    };
    let modes = match config.get("pooling_mode") {
        Some(serde_json::Value::String(name)) => vec![by_name(name)?],
        Some(serde_json::Value::Array(names)) => names
            .iter()
            .map(|n| n.as_str().ok_or_else(|| Error::config(path, format!("pooling_mode lists {n}, not a mode name"))).and_then(by_name))
            .collect::<Result<Vec<_>>>()?,
        Some(other) => return Err(Error::config(path, format!("pooling_mode is {other}, not a mode name or a list of them"))),
        None => {
            let on: Vec<PoolingMode> =
                PoolingMode::ORDER.iter().filter(|m| config.get(m.1).and_then(serde_json::Value::as_bool).unwrap_or(false)).map(|m| m.2).collect();
            if on.is_empty() {
                vec![PoolingMode::Mean]
            } else {
                on
            }
        }
    };
    if modes.is_empty() {
        return Err(Error::config(path, "pooling_mode lists no mode"));
    }
    Ok(modes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline(files: &[(&str, &str)]) -> Result<Option<SentencePipeline>> {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        read_pipeline(|name| Ok(Some(dir.path().join(name)).filter(|p| p.is_file())))
    }

    const MODULES: &str = r#"[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]"#;

    #[test]
    fn old_and_new_pooling_settings_read_the_same() {
        assert_eq!(pipeline(&[("config.json", "{}")]).unwrap(), None);
        let legacy = pipeline(&[
            ("modules.json", MODULES),
            ("1_Pooling/config.json", r#"{"word_embedding_dimension": 8, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": true}"#),
            ("sentence_bert_config.json", r#"{"max_seq_length": 128, "do_lower_case": true}"#),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(legacy.pooling, [PoolingMode::Max, PoolingMode::Mean], "sentence-transformers' order, not the file's");
        assert!(legacy.normalize && legacy.do_lower_case);
        assert_eq!(legacy.max_seq_length, Some(128));
        assert_eq!(legacy.describe(), "max + mean pooling, normalized");
        let new = pipeline(&[("modules.json", MODULES), ("1_Pooling/config.json", r#"{"embedding_dimension": 8, "pooling_mode": ["mean", "cls"]}"#)])
            .unwrap()
            .unwrap();
        assert_eq!(new.pooling, [PoolingMode::Mean, PoolingMode::Cls], "a list is concatenated in its own order");
        assert_eq!(new.max_seq_length, None);
    }

    #[test]
    fn unsupported_pipelines_say_what_they_hold() {
        let dense = r#"[{"path": "", "type": "sentence_transformers.models.Transformer"},
            {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"path": "2_Dense", "type": "sentence_transformers.models.Dense"}]"#;
        let err = pipeline(&[("modules.json", dense), ("1_Pooling/config.json", r#"{"pooling_mode": "cls"}"#)]).unwrap_err().to_string();
        assert!(err.contains("Dense") && err.contains("2_Dense"), "{err}");
        let err = pipeline(&[("modules.json", MODULES)]).unwrap_err().to_string();
        assert!(err.contains("1_Pooling/config.json"), "{err}");
        let err = pipeline(&[("modules.json", MODULES), ("1_Pooling/config.json", r#"{"pooling_mode": "median"}"#)]).unwrap_err().to_string();
        assert!(err.contains("median"), "{err}");
        let sub = r#"[{"path": "0_Transformer", "type": "sentence_transformers.models.Transformer"}]"#;
        assert!(pipeline(&[("modules.json", sub)]).unwrap_err().to_string().contains("0_Transformer"));
        assert!(pipeline(&[("modules.json", "{\"not\": \"a list\"}")]).is_err());
        assert!(pipeline(&[("modules.json", "[]")]).is_err());
    }
}
