//! Datasets on the Hugging Face Hub as values: a dataset id, the card (README.md: YAML front
//! matter and text), and which files make each config and split, by the rules the `datasets`
//! library reads a repository with. No network here: the exchange lists the files and fetches
//! them; this module decides what they are.
//!
//! A repository's layout comes from one of three places, in this order:
//! 1. the Hub's own Parquet conversion (the `refs/convert/parquet` branch:
//!    `{config}/{split}/NNNN.parquet`, or `{config}/partial-{split}/…` when the Hub converted
//!    only the first part of a large split);
//! 2. the card's `configs:` YAML (each config's `data_files`, a pattern or a list of patterns
//!    per split, matched as fsspec globs: `*` within a folder, `**` across folders);
//! 3. otherwise the data files themselves: `data/{split}-NNNNN-of-NNNNN…` as `push_to_hub`
//!    writes them, else a split keyword in a file or folder name (train/training,
//!    validation/valid/val/dev, test/testing/eval/evaluation, between separators), else every
//!    data file is the train split.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result, Setting};

/// The branch where the Hub keeps its Parquet conversion of a dataset.
pub const CONVERTED_REVISION: &str = "refs/convert/parquet";

/// The config a repository without `configs:` has, as the `datasets` library names it.
pub const DEFAULT_CONFIG: &str = "default";

/// The split pushed when none is chosen, and the one pulled when a config has it.
pub const DEFAULT_SPLIT: &str = "train";

/// The split a corpus is pushed as: the one named (trimmed), else [`DEFAULT_SPLIT`].
pub fn split_or_default(split: &str) -> &str {
    match split.trim() {
        "" => DEFAULT_SPLIT,
        named => named,
    }
}

/// File endings of the data files a corpus can be made of (the import formats).
const DATA_ENDINGS: &[&str] = &[".parquet", ".csv", ".tsv", ".jsonl", ".json", ".txt"];

/// Compressed or binary data files the `datasets` library reads and we do not; listed so the
/// preview can say why a split is empty.
const UNREAD_ENDINGS: &[&str] = &[".gz", ".zst", ".bz2", ".xz", ".zip", ".tar", ".arrow", ".lance", ".h5", ".npy"];

/// `ORG/NAME[@REVISION]` of a dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DatasetId {
    pub repo: String,
    pub revision: Option<String>,
}

impl DatasetId {
    /// Reads `ORG/NAME[@REVISION]`; the revision is a branch, tag, `refs/pr/N` or commit.
    pub fn parse(spec: &str) -> Result<Self> {
        let spec = spec.trim();
        let bad = |why: String| Error::Input(why).fixed_by(Setting::HubDataset);
        let Some((repo, revision)) = crate::hub::split_repo_id(spec) else {
            return Err(bad(format!(
                "{spec:?} is not a Hub dataset id; write it as ORG/NAME or ORG/NAME@REVISION (e.g. PlanTL-GOB-ES/MLDoc or mteb/amazon_reviews_multi@main)"
            )));
        };
        if let Some(why) = revision.and_then(crate::hub::revision_problem) {
            return Err(bad(format!(
                "{:?} is not a valid revision ({why}); use a branch, tag, commit hash or refs/pr/N",
                revision.unwrap_or_default()
            )));
        }
        Ok(Self { repo: repo.to_string(), revision: revision.map(str::to_string) })
    }
}

impl std::fmt::Display for DatasetId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.revision {
            Some(rev) => write!(f, "{}@{rev}", self.repo),
            None => f.write_str(&self.repo),
        }
    }
}

/// Where a corpus pulled from the Hub came from: kept with the corpus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HubOrigin {
    pub repo: String,
    /// The revision asked for (none: the default branch).
    pub revision: Option<String>,
    /// The commit the files were read at.
    pub commit: String,
    pub config: String,
    pub split: String,
    /// Read from the Hub's Parquet conversion rather than the repository's own files.
    pub converted: bool,
}

impl HubOrigin {
    /// `hf://datasets/ORG/NAME@COMMIT/CONFIG/SPLIT`: the corpus's source in listings.
    pub fn source(&self) -> String {
        format!("hf://datasets/{}@{}/{}/{}", self.repo, self.commit, self.config, self.split)
    }
}

/// A dataset card: the YAML metadata (an object, or null without front matter) and the text.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    pub metadata: Value,
    pub text: String,
}

/// The longest card read: far above any real one; a hostile README cannot fill memory.
pub const MAX_CARD_BYTES: usize = 4 << 20;

/// Splits a README.md into its YAML front matter (between a first line `---` and the next
/// `---` line) and its text, and reads the YAML; a README without front matter has null
/// metadata. The YAML must be a mapping.
pub fn parse_card(readme: &str) -> std::result::Result<Card, String> {
    if readme.len() > MAX_CARD_BYTES {
        return Err(format!("the dataset card is larger than {} MiB", MAX_CARD_BYTES >> 20));
    }
    let readme = readme.strip_prefix('\u{feff}').unwrap_or(readme);
    let mut lines = readme.split_inclusive('\n');
    let first = lines.next().unwrap_or_default();
    if first.trim_end() != "---" {
        return Ok(Card { metadata: Value::Null, text: readme.to_string() });
    }
    let mut yaml = String::new();
    let mut offset = first.len();
    let mut closed = false;
    for line in lines {
        offset += line.len();
        if line.trim_end() == "---" {
            closed = true;
            break;
        }
        yaml.push_str(line);
    }
    if !closed {
        return Err("the card's YAML metadata starts with --- but never ends with another --- line".into());
    }
    let metadata: Value = if yaml.trim().is_empty() {
        Value::Object(Default::default())
    } else {
        serde_saphyr::from_str(&yaml)
            .map_err(|e| format!("the card's YAML metadata cannot be read: {}", crate::domain::text::one_line(&e.to_string())))?
    };
    if !(metadata.is_object() || metadata.is_null()) {
        return Err("the card's YAML metadata is not a mapping of keys to values".into());
    }
    Ok(Card { metadata, text: readme[offset..].trim_start_matches(['\r', '\n']).to_string() })
}

/// A README.md with `metadata` as its YAML front matter, then `text`.
pub fn write_card(metadata: &Value, text: &str) -> std::result::Result<String, String> {
    let yaml = serde_saphyr::to_string(metadata).map_err(|e| e.to_string())?;
    Ok(format!("---\n{}{}---\n\n{text}", yaml, if yaml.ends_with('\n') { "" } else { "\n" }))
}

/// One file of a repository, with its size in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DataFile {
    pub path: String,
    pub size: u64,
}

/// A split: its files in name order, and its rows when known (the card, or Parquet footers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SplitLayout {
    pub name: String,
    pub files: Vec<DataFile>,
    pub rows: Option<u64>,
    /// The Hub converted only the first part of this split (it is larger than the conversion's cap).
    pub partial: bool,
}

impl SplitLayout {
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// A config: its splits, and what its card says about its columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConfigLayout {
    pub name: String,
    /// The config `load_dataset` picks without a name.
    pub default: bool,
    pub splits: Vec<SplitLayout>,
    /// Column names, from the card's features or the first Parquet file's schema; empty when unknown.
    pub columns: Vec<String>,
    /// Files whose format cannot be imported (compressed, binary), named so the user knows.
    pub unread: Vec<String>,
}

/// Whether a repository path a server listed can name a file under a cache folder: relative,
/// forward slashes, no empty, `.` or `..` component, no control character. A hostile or broken
/// listing's other paths are ignored rather than fetched.
pub fn safe_path(path: &str) -> bool {
    let drive = path.len() >= 2 && path.as_bytes()[1] == b':';
    let odd = path.contains('\\') || path.chars().any(char::is_control) || drive;
    (1..=4096).contains(&path.len()) && !odd && path.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
}

fn ends_with_any(path: &str, endings: &[&str]) -> bool {
    let lower = path.to_ascii_lowercase();
    endings.iter().any(|e| lower.ends_with(e))
}

/// Whether a repository file is data (not the card, attributes or a hidden or `_` file).
fn is_data_candidate(path: &str) -> bool {
    !path.split('/').any(|part| part.starts_with('.') || part.starts_with('_')) && !path.eq_ignore_ascii_case("README.md")
}

/// The layout of the Hub's Parquet conversion (the files of [`CONVERTED_REVISION`]).
pub fn converted_layout(files: &[DataFile]) -> Vec<ConfigLayout> {
    let mut configs: BTreeMap<String, BTreeMap<String, (Vec<DataFile>, bool)>> = BTreeMap::new();
    for file in files.iter().filter(|f| f.path.to_ascii_lowercase().ends_with(".parquet")) {
        let parts: Vec<&str> = file.path.split('/').collect();
        let (config, split) = match parts.as_slice() {
            [config, split, _] => (*config, *split),
            // The conversion's older layout: {config}/{dataset}-{split}[-NNNNN-of-NNNNN].parquet.
            [config, name] => {
                let stem = name.trim_end_matches(".parquet");
                let stem = strip_shard_suffix(stem);
                (*config, stem.rsplit('-').next().unwrap_or(stem))
            }
            _ => continue,
        };
        let (split, partial) = match split.strip_prefix("partial-") {
            Some(s) => (s, true),
            None => (split, false),
        };
        let entry = configs.entry(config.to_string()).or_default().entry(split.to_string()).or_default();
        entry.0.push(file.clone());
        entry.1 |= partial;
    }
    let default_exists = configs.contains_key(DEFAULT_CONFIG);
    let only_one = configs.len() == 1;
    configs
        .into_iter()
        .map(|(name, splits)| ConfigLayout {
            default: name == DEFAULT_CONFIG || (only_one && !default_exists),
            name,
            splits: order_splits(splits.into_iter().map(|(name, (files, partial))| split_of(name, files, partial)).collect()),
            columns: Vec::new(),
            unread: Vec::new(),
        })
        .collect()
}

/// `train-00000-of-00003` → `train`.
fn strip_shard_suffix(stem: &str) -> &str {
    let b = stem.as_bytes();
    let n = b.len();
    // "-NNNNN-of-NNNNN" is 15 bytes.
    if n > 15
        && b[n - 15] == b'-'
        && &stem[n - 9..n - 5] == "-of-"
        && stem[n - 14..n - 9].bytes().all(|c| c.is_ascii_digit())
        && stem[n - 5..].bytes().all(|c| c.is_ascii_digit())
    {
        &stem[..n - 15]
    } else {
        stem
    }
}

fn split_of(name: String, mut files: Vec<DataFile>, partial: bool) -> SplitLayout {
    files.sort_by(|a, b| a.path.cmp(&b.path));
    SplitLayout { name, files, rows: None, partial }
}

/// train, validation, test first (as the `datasets` library orders them), then the rest by name.
fn order_splits(mut splits: Vec<SplitLayout>) -> Vec<SplitLayout> {
    let rank = |s: &str| ["train", "validation", "test"].iter().position(|k| *k == s).unwrap_or(3);
    splits.sort_by(|a, b| rank(&a.name).cmp(&rank(&b.name)).then_with(|| a.name.cmp(&b.name)));
    splits
}

/// The split keywords of the `datasets` library, each split with its spellings.
const SPLIT_KEYWORDS: &[(&str, &[&str])] = &[
    ("train", &["train", "training"]),
    ("validation", &["validation", "valid", "dev", "val"]),
    ("test", &["test", "testing", "eval", "evaluation"]),
];

/// The split a data file's name implies by the `datasets` library's keyword rule: a keyword
/// after the start or a separator (`-`, `.`, `_`, a space, a digit or `/`) and before a
/// separator (the rest of a file name) or a `/` (a folder).
fn keyword_split(path: &str) -> Option<&'static str> {
    let lower = path.to_ascii_lowercase();
    let is_sep = |c: u8| matches!(c, b'-' | b'.' | b'_' | b' ' | b'/') || c.is_ascii_digit();
    SPLIT_KEYWORDS.iter().find_map(|(split, words)| {
        let found = words.iter().any(|word| {
            lower.match_indices(word).any(|(at, _)| {
                let before = at == 0 || is_sep(lower.as_bytes()[at - 1]);
                let end = at + word.len();
                let after = end < lower.len() && is_sep(lower.as_bytes()[end]);
                before && after
            })
        });
        found.then_some(*split)
    })
}

/// The glob matcher of one `data_files` pattern: fsspec's, where `*` stays within a folder.
fn glob(pattern: &str) -> std::result::Result<globset::GlobMatcher, String> {
    globset::GlobBuilder::new(pattern.trim_start_matches("./"))
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("the data_files pattern {pattern:?} is not a valid glob ({e})"))
}

/// The patterns of one `data_files` value: a string, or a list of strings.
fn patterns(value: &Value) -> std::result::Result<Vec<String>, String> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => {
            items.iter().map(|v| v.as_str().map(str::to_string).ok_or_else(|| format!("a data_files path is not text: {v}"))).collect()
        }
        other => Err(format!("data_files paths must be text or a list of text, not {other}")),
    }
}

/// A config's `data_files` as (split, patterns): a pattern or list (the train split), a list of
/// `{split, path}`, or a mapping of split to patterns.
fn data_files(value: &Value, data_dir: Option<&str>) -> std::result::Result<Vec<(String, Vec<String>)>, String> {
    let prefixed = |ps: Vec<String>| -> Vec<String> {
        match data_dir {
            Some(dir) => ps.into_iter().map(|p| format!("{}/{p}", dir.trim_end_matches('/'))).collect(),
            None => ps,
        }
    };
    match value {
        Value::String(_) => Ok(vec![(DEFAULT_SPLIT.to_string(), prefixed(patterns(value)?))]),
        Value::Array(items) if items.iter().all(Value::is_string) => Ok(vec![(DEFAULT_SPLIT.to_string(), prefixed(patterns(value)?))]),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                let split = item.get("split").and_then(Value::as_str).unwrap_or(DEFAULT_SPLIT).to_string();
                let path = item.get("path").ok_or_else(|| format!("a data_files entry has no path: {item}"))?;
                Ok((split, prefixed(patterns(path)?)))
            })
            .collect(),
        Value::Object(map) => map.iter().map(|(split, v)| Ok((split.clone(), prefixed(patterns(v)?)))).collect(),
        other => Err(format!("data_files must be a path, a list or a mapping of splits, not {other}")),
    }
}

/// The layout of a repository's own files: the card's `configs:` when it has them, else the
/// files' names (see the module's rules). Errors name what in the card cannot be read.
pub fn data_files_layout(files: &[DataFile], card: &Value) -> std::result::Result<Vec<ConfigLayout>, String> {
    let candidates: Vec<&DataFile> = files.iter().filter(|f| is_data_candidate(&f.path)).collect();
    let unread: Vec<String> = candidates.iter().filter(|f| ends_with_any(&f.path, UNREAD_ENDINGS)).map(|f| f.path.clone()).collect();
    let data: Vec<&DataFile> = candidates.into_iter().filter(|f| ends_with_any(&f.path, DATA_ENDINGS)).collect();
    let mut layouts = Vec::new();
    if let Some(configs) = card.get("configs") {
        let configs = configs.as_array().ok_or("the card's configs is not a list")?;
        for config in configs {
            let name = config.get("config_name").and_then(Value::as_str).unwrap_or(DEFAULT_CONFIG).to_string();
            let data_dir = config.get("data_dir").and_then(Value::as_str);
            let specs = match config.get("data_files") {
                Some(v) => data_files(v, data_dir)?,
                None => vec![(DEFAULT_SPLIT.to_string(), vec![format!("{}/**", data_dir.unwrap_or("").trim_end_matches('/'))])],
            };
            let mut splits = Vec::new();
            for (split, pats) in specs {
                let matchers = pats.iter().map(|p| glob(p)).collect::<std::result::Result<Vec<_>, _>>()?;
                let matched: Vec<DataFile> = data.iter().filter(|f| matchers.iter().any(|m| m.is_match(&f.path))).map(|f| (*f).clone()).collect();
                splits.push(split_of(split, matched, false));
            }
            let default = config.get("default").and_then(Value::as_bool).unwrap_or(false);
            layouts.push(ConfigLayout { name, default, splits, columns: Vec::new(), unread: unread.clone() });
        }
        if !layouts.iter().any(|c| c.default) {
            if let Some(first) = layouts.iter_mut().find(|c| c.name == DEFAULT_CONFIG) {
                first.default = true;
            } else if layouts.len() == 1 {
                layouts[0].default = true;
            }
        }
    } else {
        let mut splits: BTreeMap<String, Vec<DataFile>> = BTreeMap::new();
        let sharded = |f: &DataFile| {
            let name = f.path.strip_prefix("data/")?;
            let stem = name.split('.').next()?;
            let split = strip_shard_suffix(stem);
            (split != stem && !split.contains('/')).then(|| split.to_string())
        };
        if data.iter().any(|f| sharded(f).is_some()) {
            for f in &data {
                if let Some(split) = sharded(f) {
                    splits.entry(split).or_default().push((*f).clone());
                }
            }
        } else if data.iter().any(|f| keyword_split(&f.path).is_some()) {
            for f in &data {
                if let Some(split) = keyword_split(&f.path) {
                    splits.entry(split.to_string()).or_default().push((*f).clone());
                }
            }
        } else if !data.is_empty() {
            splits.insert(DEFAULT_SPLIT.to_string(), data.iter().map(|f| (*f).clone()).collect());
        }
        layouts.push(ConfigLayout {
            name: DEFAULT_CONFIG.to_string(),
            default: true,
            splits: order_splits(splits.into_iter().map(|(name, files)| split_of(name, files, false)).collect()),
            columns: Vec::new(),
            unread,
        });
    }
    Ok(layouts)
}

/// What a card's `dataset_info` says of one config: its columns, each split's rows, and the
/// class-label names of label columns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardInfo {
    pub columns: Vec<String>,
    pub rows: BTreeMap<String, u64>,
    pub class_labels: BTreeMap<String, Vec<String>>,
}

/// The class-label names of a feature (`class_label: {names: {'0': a, …}}`, or a list of them),
/// in index order.
fn class_names(feature: &Value) -> Option<Vec<String>> {
    let names = feature.get("class_label")?.get("names")?;
    match names {
        Value::Array(items) => Some(items.iter().map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).collect()),
        Value::Object(map) => {
            let mut indexed: Vec<(u64, String)> = map
                .iter()
                .filter_map(|(k, v)| Some((k.trim().parse().ok()?, v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))))
                .collect();
            indexed.sort();
            Some(indexed.into_iter().map(|(_, v)| v).collect())
        }
        _ => None,
    }
}

/// The card's `dataset_info` of `config` (a mapping, or a list with `config_name`s).
pub fn card_info(card: &Value, config: &str) -> CardInfo {
    let info = match card.get("dataset_info") {
        Some(Value::Array(items)) => items.iter().find(|i| i.get("config_name").and_then(Value::as_str).unwrap_or(DEFAULT_CONFIG) == config),
        Some(v @ Value::Object(_)) if v.get("config_name").and_then(Value::as_str).unwrap_or(DEFAULT_CONFIG) == config => Some(v),
        _ => None,
    };
    let mut out = CardInfo::default();
    let Some(info) = info else { return out };
    for feature in info.get("features").and_then(Value::as_array).into_iter().flatten() {
        let Some(name) = feature.get("name").and_then(Value::as_str) else { continue };
        out.columns.push(name.to_string());
        // A label column: `dtype: {class_label: …}`, or a sequence/list of them.
        let dtype = feature.get("dtype").unwrap_or(&Value::Null);
        let inner = [dtype, feature.get("sequence").unwrap_or(&Value::Null), feature.get("list").unwrap_or(&Value::Null)];
        if let Some(names) = inner.iter().find_map(|v| class_names(v)) {
            out.class_labels.insert(name.to_string(), names);
        }
    }
    for split in info.get("splits").and_then(Value::as_array).into_iter().flatten() {
        if let (Some(name), Some(rows)) = (split.get("name").and_then(Value::as_str), split.get("num_examples").and_then(Value::as_u64)) {
            out.rows.insert(name.to_string(), rows);
        }
    }
    out
}

/// The config and split to read: the ones asked for, else the default config (or the only one)
/// and its train split (or its only one). Errors list what there is.
pub fn choose<'a>(configs: &'a [ConfigLayout], config: Option<&str>, split: Option<&str>) -> Result<(&'a ConfigLayout, &'a SplitLayout)> {
    let names = |items: &mut dyn Iterator<Item = &str>| items.collect::<Vec<_>>().join(", ");
    let chosen = match config {
        Some(name) => configs.iter().find(|c| c.name == name).ok_or_else(|| {
            Error::Input(format!("the dataset has no config {name:?}; its configs: {}", names(&mut configs.iter().map(|c| c.name.as_str()))))
                .fixed_by(Setting::HubConfig)
        })?,
        None => match configs.iter().find(|c| c.default) {
            Some(c) => c,
            None if configs.len() == 1 => &configs[0],
            None if configs.is_empty() => {
                return Err(Error::Input("the dataset has no data files this app reads (Parquet, CSV, TSV, JSON Lines or text)".into()))
            }
            None => {
                return Err(Error::Input(format!(
                    "the dataset has several configs and none is the default; choose one of {}",
                    names(&mut configs.iter().map(|c| c.name.as_str()))
                ))
                .fixed_by(Setting::HubConfig))
            }
        },
    };
    let split = match split {
        Some(name) => chosen.splits.iter().find(|s| s.name == name).ok_or_else(|| {
            Error::Input(format!(
                "config {:?} has no split {name:?}; its splits: {}",
                chosen.name,
                names(&mut chosen.splits.iter().map(|s| s.name.as_str()))
            ))
            .fixed_by(Setting::HubSplit)
        })?,
        None => match chosen.splits.iter().find(|s| s.name == DEFAULT_SPLIT) {
            Some(s) => s,
            None if chosen.splits.len() == 1 => &chosen.splits[0],
            None => {
                return Err(Error::Input(format!(
                    "config {:?} has no train split; choose one of {}",
                    chosen.name,
                    names(&mut chosen.splits.iter().map(|s| s.name.as_str()))
                ))
                .fixed_by(Setting::HubSplit))
            }
        },
    };
    if split.files.is_empty() {
        let why = if chosen.unread.is_empty() {
            String::new()
        } else {
            format!(" (it has files this app does not read: {})", chosen.unread.iter().take(3).cloned().collect::<Vec<_>>().join(", "))
        };
        return Err(Error::Input(format!("split {:?} of config {:?} has no data files{why}", split.name, chosen.name)));
    }
    Ok((chosen, split))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(paths: &[&str]) -> Vec<DataFile> {
        paths.iter().map(|p| DataFile { path: p.to_string(), size: 10 }).collect()
    }

    fn splits(layout: &ConfigLayout) -> Vec<(String, Vec<String>)> {
        layout.splits.iter().map(|s| (s.name.clone(), s.files.iter().map(|f| f.path.clone()).collect())).collect()
    }

    #[test]
    fn ids_parse_with_revisions_and_refuse_paths() {
        assert_eq!(DatasetId::parse("Org/name").unwrap(), DatasetId { repo: "Org/name".into(), revision: None });
        assert_eq!(DatasetId::parse(" Org/name@refs/pr/2 ").unwrap().revision.as_deref(), Some("refs/pr/2"));
        for bad in ["name", "Org/name@", "Org/name@../x", "../Org/name", "Org/na me", "Org/name@a..b"] {
            let e = DatasetId::parse(bad).unwrap_err();
            assert_eq!(e.settings(), [Setting::HubDataset], "{bad}");
        }
    }

    #[test]
    fn the_conversion_is_read_by_config_and_split_including_partial_ones() {
        let layout = converted_layout(&files(&[
            "default/train/0000.parquet",
            "default/train/0001.parquet",
            "default/test/0000.parquet",
            "es/partial-train/0000.parquet",
            "old/ds-validation-00000-of-00002.parquet",
            "README.md",
        ]));
        let names: Vec<&str> = layout.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["default", "es", "old"]);
        assert!(layout[0].default && !layout[1].default);
        assert_eq!(splits(&layout[0])[0], ("train".into(), vec!["default/train/0000.parquet".into(), "default/train/0001.parquet".into()]));
        assert_eq!(splits(&layout[0])[1].0, "test");
        assert!(layout[1].splits[0].partial && layout[1].splits[0].name == "train");
        assert_eq!(layout[2].splits[0].name, "validation");
    }

    #[test]
    fn without_configs_splits_come_from_shards_then_keywords_then_train() {
        let pushed = data_files_layout(
            &files(&["data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet", "data/test-00000-of-00001.parquet", "README.md"]),
            &Value::Null,
        )
        .unwrap();
        assert_eq!(splits(&pushed[0]).iter().map(|s| (s.0.as_str(), s.1.len())).collect::<Vec<_>>(), [("train", 2), ("test", 1)]);
        let keywords =
            data_files_layout(&files(&["dev.tsv", "my_train_set.csv", "testing/part1.jsonl", "trained.csv", "notes.md"]), &Value::Null).unwrap();
        assert_eq!(
            splits(&keywords[0]),
            [
                ("train".to_string(), vec!["my_train_set.csv".to_string()]),
                ("validation".to_string(), vec!["dev.tsv".to_string()]),
                ("test".to_string(), vec!["testing/part1.jsonl".to_string()])
            ]
        );
        let plain = data_files_layout(&files(&["corpus.jsonl", "more/x.csv", ".hidden.csv", "_private/y.csv", "z.csv.gz"]), &Value::Null).unwrap();
        assert_eq!(splits(&plain[0]), [("train".to_string(), vec!["corpus.jsonl".to_string(), "more/x.csv".to_string()])]);
        assert_eq!(plain[0].unread, ["z.csv.gz"]);
    }

    #[test]
    fn card_configs_choose_files_by_fsspec_globs() {
        let card = parse_card(
            "---\nconfigs:\n- config_name: es\n  data_files:\n  - split: train\n    path: es/train-*\n  - split: test\n    path: [es/test.csv]\n- config_name: all\n  data_files: \"**/*.csv\"\n  default: true\n---\n# Title\n",
        )
        .unwrap();
        assert_eq!(card.text, "# Title\n");
        let layout = data_files_layout(&files(&["es/train-1.csv", "es/sub/train-2.csv", "es/test.csv", "en/train-1.csv"]), &card.metadata).unwrap();
        assert_eq!(layout[0].name, "es");
        assert_eq!(
            splits(&layout[0]),
            [("train".to_string(), vec!["es/train-1.csv".to_string()]), ("test".to_string(), vec!["es/test.csv".to_string()])]
        );
        assert!(layout[1].default && !layout[0].default);
        assert_eq!(layout[1].splits[0].files.len(), 4);
        let (config, split) = choose(&layout, None, None).unwrap();
        assert_eq!((config.name.as_str(), split.name.as_str()), ("all", "train"));
        let e = choose(&layout, Some("es"), Some("dev")).unwrap_err();
        assert!(e.to_string().contains("train, test"), "{e}");
        assert_eq!(e.settings(), [Setting::HubSplit]);
        assert_eq!(choose(&layout, Some("fr"), None).unwrap_err().settings(), [Setting::HubConfig]);
    }

    #[test]
    fn cards_round_trip_and_hostile_ones_are_refused() {
        let metadata = serde_json::json!({
            "language": ["es"],
            "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*"}]}],
            "dataset_info": {"features": [{"name": "text", "dtype": "string"}, {"name": "label", "dtype": {"class_label": {"names": {"0": "sí: no", "1": "---", "2": "#x"}}}}],
                             "splits": [{"name": "train", "num_examples": 3}]},
        });
        let text = write_card(&metadata, "# Hola\n\nTexto.\n").unwrap();
        let card = parse_card(&text).unwrap();
        assert_eq!(card.text, "# Hola\n\nTexto.\n");
        let info = card_info(&card.metadata, "default");
        assert_eq!(info.columns, ["text", "label"]);
        assert_eq!(info.class_labels["label"], ["sí: no", "---", "#x"]);
        assert_eq!(info.rows["train"], 3);
        assert!(card_info(&card.metadata, "other").columns.is_empty());
        assert_eq!(parse_card("no front matter").unwrap().metadata, Value::Null);
        assert!(parse_card("---\nkey: [unclosed\n---\n").is_err());
        assert!(parse_card("---\nkey: value\n").unwrap_err().contains("never ends"));
        assert!(parse_card("---\n- a list\n---\n").unwrap_err().contains("mapping"));
        let bomb = "---\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n---\n";
        assert!(parse_card(bomb).is_err(), "a billion laughs must be refused");
    }

    #[test]
    fn only_relative_paths_inside_the_repository_are_safe() {
        for ok in ["data/train.csv", "README.md", "a/b/c.parquet", "...x"] {
            assert!(safe_path(ok), "{ok}");
        }
        for bad in ["", "/etc/passwd", "../x", "data/../../x", "a//b", "./a", "a\\b", "C:/x", "a/\u{0}b", "data/"] {
            assert!(!safe_path(bad), "{bad:?}");
        }
    }

    #[test]
    fn shard_suffixes_are_stripped_only_when_whole() {
        assert_eq!(strip_shard_suffix("train-00000-of-00003"), "train");
        assert_eq!(strip_shard_suffix("train-0000-of-00003"), "train-0000-of-00003");
        assert_eq!(strip_shard_suffix("of"), "of");
    }
}
