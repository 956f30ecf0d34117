//! Corpora from and to dataset repositories on the Hugging Face Hub, through hf-hub and the
//! shared cache (`datasets--ORG--NAME`, the layout Python's `huggingface_hub` uses).
//!
//! Pull: [`describe`] lists a dataset's configs, splits, files, rows and columns (the Hub's
//! Parquet conversion where it has one, else the repository's own files by the card's
//! `configs:` or the `datasets` library's name rules: `domain::dataset`), [`pull`] downloads
//! one split's files into the cache and imports them as one corpus with the file import's
//! column mapping, caps and bad-row rules, keeping where they came from. Offline (or when the
//! Hub cannot be reached) both read the cache only.
//!
//! Push: [`push`] writes the corpus as a dataset (`exchange::dataset_files`: Parquet data files
//! and a README.md card) and commits them in one commit, creating the repository if needed.
//!
//! Hub endpoints used (all through hf-hub 1.0): `GET /api/datasets/{id}/revision/{rev}` (commit
//! and card data), `GET /api/datasets/{id}/tree/{rev}?recursive=true` (files and sizes),
//! `HEAD`/`GET /datasets/{id}/resolve/{rev}/{path}` (downloads into the cache; ranged GETs read
//! Parquet footers for row counts), `POST /api/repos/create`, `POST
//! /api/datasets/{id}/preupload/{rev}` and `POST /api/datasets/{id}/commit/{rev}`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use hf_hub::repository::{CommitOperation, RepoTreeEntry, RepoTypeDataset};
use hf_hub::HFError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use serde::Serialize;
use serde_json::Value;

use super::dataset_files::{self, CardFacts};
use super::import::{import_files, preview, Format, ImportOptions, ImportProgress, Preview};
use crate::domain::dataset::{
    card_info, choose, converted_layout, data_files_layout, parse_card, safe_path, ConfigLayout, DataFile, DatasetId, HubOrigin, CONVERTED_REVISION,
    DEFAULT_SPLIT,
};
use crate::error::{Error, Result, Setting};
use crate::hub::{is_unreachable, read_problem, DownloadObserver, HubSettings, ProgressBridge, RepoKind};
use crate::store::{ImportOutcome, Store};

/// The branch read when no revision is asked for.
const MAIN: &str = "main";

/// At most this many Parquet footers are read (two small ranged requests each) to count rows
/// that the card does not state; beyond it, the preview says "unknown".
const MAX_FOOTERS: usize = 64;

/// A dataset repository as the import dialog shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HubDataset {
    pub id: DatasetId,
    /// The revision the files are read at (the asked one, `main`, or the conversion's branch).
    pub read_from: String,
    /// The commit of that revision.
    pub commit: String,
    /// Read from the Hub's Parquet conversion.
    pub converted: bool,
    /// Read from the cache only (offline, or the Hub could not be reached: `offline_reason`).
    pub offline: bool,
    pub offline_reason: Option<String>,
    pub configs: Vec<ConfigLayout>,
    /// The repository's cache folder.
    #[serde(skip)]
    pub cache: PathBuf,
}

fn hub_error(repo: &str, e: &HFError) -> Error {
    Error::Hub { repo: repo.to_string(), message: read_problem(e) }
}

/// The repository's handle: `ORG/NAME` split for hf-hub.
fn repository(client: &hf_hub::HFClientSync, repo: &str) -> hf_hub::HFRepositorySync<RepoTypeDataset> {
    let (owner, name) = repo.split_once('/').expect("DatasetId::parse checked ORG/NAME");
    client.dataset(owner, name)
}

/// The files of a tree listing; paths that could not name a file inside the cache folder
/// (`..`, absolute) are left out (`domain::dataset::safe_path`).
fn tree_files(entries: Vec<RepoTreeEntry>) -> Vec<DataFile> {
    entries
        .into_iter()
        .filter_map(|e| match e {
            RepoTreeEntry::File { path, size, .. } if safe_path(&path) => Some(DataFile { path, size }),
            _ => None,
        })
        .collect()
}

/// Reads `README.md` of a repository snapshot folder (or the Hub's copy, cached) into card
/// metadata; a repository without a card has none, and an unreadable card is an error.
fn card_metadata(readme: Option<&Path>, repo: &str) -> Result<Value> {
    let Some(path) = readme.filter(|p| p.is_file()) else { return Ok(Value::Null) };
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.len() as usize > crate::domain::dataset::MAX_CARD_BYTES {
        return Err(Error::Hub { repo: repo.into(), message: "its README.md is larger than a dataset card can be; it was not read".into() });
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_card(&text).map(|c| c.metadata).map_err(|why| Error::Hub { repo: repo.into(), message: format!("README.md: {why}") })
}

/// Lists what `id` holds: configs, splits, files, and rows and columns where the card or the
/// Parquet footers tell them. Online, the card and footers come through the cache; offline (or
/// once the Hub proves unreachable) only what the cache holds is listed.
pub fn describe(id: &DatasetId, hub: &HubSettings) -> Result<HubDataset> {
    let client = hub.client(&id.repo)?;
    let repo = repository(&client, &id.repo);
    if !hub.offline {
        match describe_online(id, &repo) {
            Ok(dataset) => return Ok(HubDataset { cache: hub.cache_of(RepoKind::Dataset, &id.repo), ..dataset }),
            Err(Failure::Hub(e)) if is_unreachable(&e) => return describe_cached(id, hub, Some(format!("the Hub could not be reached: {e}"))),
            Err(Failure::Hub(e)) => return Err(hub_error(&id.repo, &e)),
            Err(Failure::Other(e)) => return Err(e),
        }
    }
    describe_cached(id, hub, Some("HF_HUB_OFFLINE is set".into()))
}

/// Why describing online failed: the Hub (unreachable: the cache is read instead), or what it sent.
enum Failure {
    Hub(HFError),
    Other(Error),
}

impl From<HFError> for Failure {
    fn from(e: HFError) -> Self {
        Failure::Hub(e)
    }
}

fn describe_online(id: &DatasetId, repo: &hf_hub::HFRepositorySync<RepoTypeDataset>) -> std::result::Result<HubDataset, Failure> {
    let revision = id.revision.clone().unwrap_or_else(|| MAIN.to_string());
    let info = repo.info().revision(revision.clone()).send()?;
    let commit = info.sha.clone().unwrap_or_default();
    // The card is downloaded into the cache (it is what an offline describe reads).
    let readme = match repo.download_file().filename("README.md").revision(revision.clone()).send() {
        Ok(path) => Some(path),
        Err(HFError::EntryNotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let card = card_metadata(readme.as_deref(), &id.repo).map_err(Failure::Other)?;
    // The conversion mirrors the default branch only.
    if id.revision.is_none() {
        let converted = match repo.list_tree().revision(CONVERTED_REVISION.to_string()).recursive(true).send() {
            Ok(entries) => Some(tree_files(entries)),
            Err(e) if is_unreachable(&e) => return Err(e.into()),
            // No conversion (the branch does not exist) or not readable: the repository's own files.
            Err(_) => None,
        };
        if let Some(files) = converted.filter(|f| f.iter().any(|f| f.path.ends_with(".parquet"))) {
            let converted_commit = repo.info().revision(CONVERTED_REVISION.to_string()).send()?.sha.unwrap_or_default();
            let mut configs = converted_layout(&files);
            fill_counts(&mut configs, &card, |path, size| footer_online(repo, CONVERTED_REVISION, path, size));
            return Ok(HubDataset {
                id: id.clone(),
                read_from: CONVERTED_REVISION.into(),
                commit: converted_commit,
                converted: true,
                offline: false,
                offline_reason: None,
                configs,
                cache: PathBuf::new(),
            });
        }
    }
    let files = tree_files(repo.list_tree().revision(revision.clone()).recursive(true).send()?);
    let mut configs =
        data_files_layout(&files, &card).map_err(|why| Failure::Other(Error::Hub { repo: id.repo.clone(), message: format!("README.md: {why}") }))?;
    fill_counts(&mut configs, &card, |path, size| footer_online(repo, &revision, path, size));
    Ok(HubDataset {
        id: id.clone(),
        read_from: revision,
        commit,
        converted: false,
        offline: false,
        offline_reason: None,
        configs,
        cache: PathBuf::new(),
    })
}

/// The commit a revision points at in the cache (a commit hash is itself).
fn cached_commit(root: &Path, revision: &str) -> Option<String> {
    if revision.len() == 40 && revision.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some(revision.to_string());
    }
    std::fs::read_to_string(root.join("refs").join(revision)).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Every file under a snapshot folder, as repository paths with sizes.
fn snapshot_files(snapshot: &Path) -> Vec<DataFile> {
    let mut out = Vec::new();
    let mut stack = vec![snapshot.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            // metadata() follows the snapshot's links to the blobs.
            let Ok(meta) = std::fs::metadata(&path) else { continue };
            if meta.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(snapshot) {
                out.push(DataFile { path: rel.to_string_lossy().replace('\\', "/"), size: meta.len() });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn describe_cached(id: &DatasetId, hub: &HubSettings, reason: Option<String>) -> Result<HubDataset> {
    let root = hub.cache_of(RepoKind::Dataset, &id.repo);
    let not_cached = |what: &str| Error::DatasetNotCached {
        repo: id.to_string(),
        cache: root.clone(),
        reason: format!("{}, and {what} is not cached", reason.clone().unwrap_or_default()),
    };
    let revision = id.revision.clone().unwrap_or_else(|| MAIN.to_string());
    let main_commit = cached_commit(&root, &revision);
    let card = match &main_commit {
        Some(commit) => card_metadata(Some(&root.join("snapshots").join(commit).join("README.md")), &id.repo)?,
        None => Value::Null,
    };
    if id.revision.is_none() {
        if let Some(commit) = cached_commit(&root, CONVERTED_REVISION) {
            let files = snapshot_files(&root.join("snapshots").join(&commit));
            if files.iter().any(|f| f.path.ends_with(".parquet")) {
                let mut configs = converted_layout(&files);
                let snapshot = root.join("snapshots").join(&commit);
                fill_counts(&mut configs, &card, |path, _| footer_local(&snapshot.join(path)));
                return Ok(HubDataset {
                    id: id.clone(),
                    read_from: CONVERTED_REVISION.into(),
                    commit,
                    converted: true,
                    offline: true,
                    offline_reason: reason,
                    configs,
                    cache: root,
                });
            }
        }
    }
    let commit = main_commit.ok_or_else(|| not_cached(&format!("revision {revision}")))?;
    let snapshot = root.join("snapshots").join(&commit);
    let files = snapshot_files(&snapshot);
    if files.iter().all(|f| f.path == "README.md") {
        return Err(not_cached("none of its data files"));
    }
    let mut configs = data_files_layout(&files, &card).map_err(|why| Error::Hub { repo: id.repo.clone(), message: format!("README.md: {why}") })?;
    fill_counts(&mut configs, &card, |path, _| footer_local(&snapshot.join(path)));
    Ok(HubDataset { id: id.clone(), read_from: revision, commit, converted: false, offline: true, offline_reason: reason, configs, cache: root })
}

/// A Parquet file's footer read with two ranged requests (its last 8 bytes, then the metadata).
fn footer_online(repo: &hf_hub::HFRepositorySync<RepoTypeDataset>, revision: &str, path: &str, size: u64) -> Option<ParquetMetaData> {
    if size < 12 {
        return None;
    }
    let tail = repo.download_file_to_bytes().filename(path).revision(revision.to_string()).range(size - 8..size).send().ok()?;
    let len = footer_length(&tail)?;
    if len + 8 > size {
        return None;
    }
    let bytes = repo.download_file_to_bytes().filename(path).revision(revision.to_string()).range(size - 8 - len..size - 8).send().ok()?;
    crate::error::panic_guard::catch(|| ParquetMetaDataReader::decode_metadata(&bytes).ok()).ok().flatten()
}

/// The metadata length a Parquet file's last 8 bytes state (`len: u32 LE`, then `PAR1`).
fn footer_length(tail: &[u8]) -> Option<u64> {
    (tail.len() == 8 && &tail[4..] == b"PAR1").then(|| u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]])))
}

fn footer_local(path: &Path) -> Option<ParquetMetaData> {
    let file = std::fs::File::open(path).ok()?;
    crate::error::panic_guard::catch(|| ParquetMetaDataReader::new().parse_and_finish(&file).ok()).ok().flatten()
}

/// Rows and columns from the card, then from Parquet footers (at most [`MAX_FOOTERS`]).
fn fill_counts(configs: &mut [ConfigLayout], card: &Value, mut footer: impl FnMut(&str, u64) -> Option<ParquetMetaData>) {
    let mut read = 0;
    for config in configs.iter_mut() {
        let info = card_info(card, &config.name);
        config.columns = info.columns;
        for split in config.splits.iter_mut() {
            split.rows = info.rows.get(&split.name).copied().filter(|_| !split.partial);
            let parquet = !split.files.is_empty() && split.files.iter().all(|f| f.path.ends_with(".parquet"));
            let need_rows = split.rows.is_none();
            if !parquet || !(need_rows || config.columns.is_empty()) || read + split.files.len() > MAX_FOOTERS {
                continue;
            }
            let mut rows = Some(0u64);
            for (i, file) in split.files.iter().enumerate() {
                if !need_rows && i > 0 {
                    break;
                }
                read += 1;
                match footer(&file.path, file.size) {
                    Some(meta) => {
                        rows = rows.map(|r| r + meta.file_metadata().num_rows().max(0) as u64);
                        if config.columns.is_empty() {
                            config.columns =
                                meta.file_metadata().schema_descr().root_schema().get_fields().iter().map(|f| f.name().to_string()).collect();
                        }
                    }
                    None => rows = None,
                }
            }
            if need_rows {
                split.rows = rows;
            }
        }
    }
}

/// `choose`, saying so when the dataset was read from the cache, which knows only the splits
/// pulled before.
fn choose_in<'a>(
    dataset: &'a HubDataset,
    config: Option<&str>,
    split: Option<&str>,
) -> Result<(&'a ConfigLayout, &'a crate::domain::dataset::SplitLayout)> {
    choose(&dataset.configs, config, split).map_err(|e| match (&dataset.offline_reason, e) {
        (Some(reason), Error::Setting { settings, error }) => Error::Setting {
            settings,
            error: Box::new(Error::DatasetNotCached {
                repo: dataset.id.to_string(),
                cache: dataset.cache.clone(),
                reason: format!("{reason}, and only the splits pulled before are in the cache ({error})"),
            }),
        },
        (_, e) => e,
    })
}

/// The import format of a split's files (one format for all), unless the options choose one.
fn split_format(files: &[DataFile], options: &ImportOptions) -> Result<Format> {
    if let Some(format) = options.format {
        return Ok(format);
    }
    let mut formats = files.iter().map(|f| {
        let lower = f.path.to_ascii_lowercase();
        // `.json` files on the Hub are most often JSON Lines, which is what is read.
        if lower.ends_with(".json") {
            Some(Format::Jsonl)
        } else {
            Format::from_path(Path::new(&lower))
        }
    });
    let first = formats.next().flatten();
    match first {
        Some(format) if formats.all(|f| f == Some(format)) => Ok(format),
        _ => Err(Error::Input("the split's files are not all of one format this app reads; choose the format".into()).fixed_by(Setting::Format)),
    }
}

/// Downloads `files` of `dataset` into the cache (cache only when it was described offline),
/// one at a time with progress, checking `cancel` between files. A download cut off leaves
/// the files fetched before it in the cache: pulling again fetches only the rest.
fn download(
    dataset: &HubDataset,
    files: &[DataFile],
    hub: &HubSettings,
    observer: Arc<dyn DownloadObserver>,
    cancel: &AtomicBool,
) -> Result<Vec<PathBuf>> {
    let client = hub.client(&dataset.id.repo)?;
    let repo = repository(&client, &dataset.id.repo);
    let bridge = ProgressBridge::new(observer);
    let mut paths = Vec::with_capacity(files.len());
    for file in files {
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        bridge.fetching(&file.path);
        let got = repo
            .download_file()
            .filename(file.path.clone())
            .revision(dataset.read_from.clone())
            .local_files_only(dataset.offline)
            .progress(bridge.handle())
            .send();
        match got {
            Ok(path) => paths.push(path),
            Err(HFError::LocalEntryNotFound { .. }) => {
                return Err(Error::DatasetNotCached {
                    repo: dataset.id.to_string(),
                    cache: hub.cache_of(RepoKind::Dataset, &dataset.id.repo),
                    reason: format!("{}, and {} is not cached", dataset.offline_reason.clone().unwrap_or_default(), file.path),
                })
            }
            Err(e) if is_unreachable(&e) || matches!(e, HFError::Io(_)) => {
                return Err(Error::Hub {
                    repo: dataset.id.repo.clone(),
                    message: format!(
                        "the download of {} was interrupted ({e}); {} of {} files are in the cache, pull again to fetch the rest",
                        file.path,
                        paths.len(),
                        files.len()
                    ),
                })
            }
            Err(e) => return Err(hub_error(&dataset.id.repo, &e)),
        }
    }
    Ok(paths)
}

/// The first `limit` rows of a split, as the file import's preview shows them: its first file
/// is downloaded into the cache (the pull reuses it).
pub fn preview_split(
    dataset: &HubDataset,
    config: Option<&str>,
    split: Option<&str>,
    limit: usize,
    hub: &HubSettings,
    observer: Arc<dyn DownloadObserver>,
) -> Result<Preview> {
    let (_, chosen) = choose_in(dataset, config, split)?;
    let format = split_format(&chosen.files, &ImportOptions::default())?;
    let first = download(dataset, &chosen.files[..1], hub, observer, &AtomicBool::new(false))?;
    preview(&first[0], Some(format), limit)
}

/// A corpus name for a pulled split: the dataset's name, then the config and split when they
/// are not the defaults.
pub fn default_corpus_name(id: &DatasetId, config: &str, split: &str) -> String {
    let mut name = id.repo.rsplit('/').next().unwrap_or(&id.repo).to_string();
    if config != crate::domain::dataset::DEFAULT_CONFIG {
        name = format!("{name}-{config}");
    }
    if split != DEFAULT_SPLIT {
        name = format!("{name}-{split}");
    }
    name
}

/// Pulls one split of `dataset` into `store` as a new corpus (`options.name`, else
/// [`default_corpus_name`]): its files downloaded, then imported as one, with the file import's
/// column mapping, caps and bad-row rules; the corpus keeps where it came from.
#[allow(clippy::too_many_arguments)]
pub fn pull(
    store: &mut Store,
    dataset: &HubDataset,
    (config, split): (Option<&str>, Option<&str>),
    options: &ImportOptions,
    hub: &HubSettings,
    observer: Arc<dyn DownloadObserver>,
    progress: &mut dyn FnMut(ImportProgress),
    cancel: &AtomicBool,
) -> Result<ImportOutcome> {
    let (config, split) = choose_in(dataset, config, split)?;
    let format = split_format(&split.files, options)?;
    let paths = download(dataset, &split.files, hub, observer, cancel)?;
    let origin = HubOrigin {
        repo: dataset.id.repo.clone(),
        revision: dataset.id.revision.clone(),
        commit: dataset.commit.clone(),
        config: config.name.clone(),
        split: split.name.clone(),
        converted: dataset.converted,
    };
    let mut options = options.clone();
    if options.name.trim().is_empty() {
        options.name = default_corpus_name(&dataset.id, &config.name, &split.name);
    }
    import_files(store, &paths, format, &options, (&origin.source(), Some(&origin)), progress, cancel)
}

/// How a corpus is pushed.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// A new repository is private (an existing one keeps its visibility).
    pub private: bool,
    /// The split the corpus becomes ([`DEFAULT_SPLIT`] when empty); the repository's other
    /// splits are kept.
    pub split: String,
    /// The commit message; a default names the corpus and its size.
    pub message: Option<String>,
}

/// What a push did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PushOutcome {
    pub repo: String,
    pub split: String,
    pub commit: Option<String>,
    pub url: Option<String>,
    pub records: u64,
    /// The repository paths the commit added.
    pub files: Vec<String>,
}

/// The token a push needs, or the error that says how to give one.
fn token(repo: &str, hub: &HubSettings) -> Result<()> {
    match &hub.token {
        Some(_) => Ok(()),
        None => Err(Error::Hub {
            repo: repo.into(),
            message: "pushing needs a Hugging Face token with write access: set HF_TOKEN, or log in once with `hf auth login` (which stores it in the Hugging Face folder)".into(),
        }),
    }
}

fn write_error(repo: &str, e: &HFError) -> Error {
    let message = match e {
        HFError::AuthRequired { .. } => "the Hub refused the token (401); set HF_TOKEN to a valid token with write access".to_string(),
        HFError::Forbidden { .. } => {
            format!("the token cannot write to {repo} (403); use a token with write access to it, or push to a repository of your own")
        }
        HFError::RepoNotFound { .. } => format!("{repo} does not exist and could not be created with this token"),
        other => read_problem(other),
    };
    Error::Hub { repo: repo.into(), message }
}

/// Pushes `corpus` to the dataset repository `to` as one split, in one commit: Parquet data
/// files under `data/` (the split's earlier files are replaced) and the README.md card, whose
/// YAML keeps the repository's other splits. The repository is created when missing.
pub fn push(store: &Store, corpus: &str, to: &DatasetId, options: &PushOptions, facts: &CardFacts, hub: &HubSettings) -> Result<PushOutcome> {
    token(&to.repo, hub)?;
    if hub.offline {
        return Err(Error::Hub { repo: to.repo.clone(), message: "HF_HUB_OFFLINE is set; pushing needs the Hub".into() });
    }
    let client = hub.client(&to.repo)?;
    let revision = to.revision.clone().unwrap_or_else(|| MAIN.to_string());
    client
        .create_repository()
        .repo_id(&to.repo)
        .repo_type(RepoTypeDataset)
        .private(options.private)
        .exist_ok(true)
        .send()
        .map_err(|e| write_error(&to.repo, &e))?;
    let repo = repository(&client, &to.repo);
    // The card so far (its other splits are kept) and the files this split replaces.
    let existing = match repo.list_tree().revision(revision.clone()).recursive(true).send() {
        Ok(entries) => tree_files(entries),
        Err(HFError::RepoNotFound { .. } | HFError::RevisionNotFound { .. } | HFError::EntryNotFound { .. }) => Vec::new(),
        Err(e) => return Err(write_error(&to.repo, &e)),
    };
    let previous_card = if existing.iter().any(|f| f.path == "README.md") {
        let path =
            repo.download_file().filename("README.md").revision(revision.clone()).force_download(true).send().map_err(|e| hub_error(&to.repo, &e))?;
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        parse_card(&text).ok()
    } else {
        None
    };
    let folder = tempfile::tempdir().map_err(|e| Error::io(&std::env::temp_dir(), e))?;
    let destination = dataset_files::Destination::Repo { id: &to.repo, previous: previous_card.as_ref() };
    let written = dataset_files::write(store, corpus, folder.path(), &options.split, facts, destination)?;
    let split = written.split.clone();
    let mut operations: Vec<CommitOperation> = existing
        .iter()
        .filter(|f| dataset_files::is_split_file(&f.path, &split) && !written.files.contains(&f.path))
        .map(|f| CommitOperation::delete(f.path.clone()))
        .collect();
    for path in &written.files {
        operations.push(CommitOperation::add_file(path.clone(), folder.path().join(path)));
    }
    let message = options
        .message
        .clone()
        .unwrap_or_else(|| format!("Push corpus {corpus:?} as the {split} split ({} records) from Selectra Studio", written.records));
    let commit =
        repo.create_commit().operations(operations).commit_message(message).revision(revision).send().map_err(|e| write_error(&to.repo, &e))?;
    Ok(PushOutcome {
        repo: to.repo.clone(),
        split,
        commit: commit.commit_oid,
        url: commit.commit_url,
        records: written.records,
        files: written.files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footers_state_their_length_only_when_they_end_with_the_magic() {
        assert_eq!(footer_length(&[10, 0, 0, 0, b'P', b'A', b'R', b'1']), Some(10));
        assert_eq!(footer_length(&[10, 0, 0, 0, b'P', b'A', b'R', b'2']), None);
        assert_eq!(footer_length(&[1, 2, 3]), None);
    }

    #[test]
    fn pulled_corpora_are_named_after_the_dataset() {
        let id = DatasetId::parse("Org/opiniones@v2").unwrap();
        assert_eq!(default_corpus_name(&id, "default", "train"), "opiniones");
        assert_eq!(default_corpus_name(&id, "es", "test"), "opiniones-es-test");
    }
}
