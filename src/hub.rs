//! The Hugging Face Hub as both front ends reach it: settings from the environment, one client,
//! revisions, download progress and error wording shared by the engine (model repositories) and
//! the exchange (dataset repositories).
//!
//! The cache location, endpoint, token and offline switch are resolved here from the same
//! environment variables Python reads (HF_HOME, HF_HUB_CACHE, HF_ENDPOINT, HF_TOKEN,
//! HF_HUB_OFFLINE) and handed to hf-hub explicitly, so the behaviour does not depend on which
//! variables a given hf-hub version happens to read. Like `error` and `fs`, every floor may use
//! it and it imports no floor: the Hub is a place files live, as the file system is.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use hf_hub::progress::{DownloadEvent, ProgressEvent, ProgressHandler};
use hf_hub::{HFClientBuilder, HFError};

use crate::error::{Error, Result};

/// Why a revision is not a git ref name (`git check-ref-format`'s rules), if it is not one. A
/// revision names a file under the cache's `refs/` folder, so anything that could walk out of it
/// (`..`, a leading `/` or `\`, NUL) is refused before any path is built.
pub fn revision_problem(rev: &str) -> Option<&'static str> {
    if rev.contains('\0') || rev.chars().any(|c| c.is_control()) {
        Some("it contains a control character")
    } else if rev.starts_with(['/', '\\']) || rev.ends_with('/') {
        Some("it starts or ends with a slash")
    } else if rev.contains('\\') {
        Some("it contains a backslash")
    } else if rev.split('/').any(|part| part.is_empty() || part == ".." || part.starts_with('.') || part.ends_with(".lock")) {
        Some("it has an empty, '..', dot-first or '.lock' component")
    } else if rev.contains("..") || rev.contains("@{") || rev.chars().any(|c| matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[')) {
        Some("it contains a character sequence git does not allow in ref names")
    } else if rev.len() > 255 {
        Some("it is longer than 255 bytes")
    } else {
        None
    }
}

/// A model revision: a branch, tag, `refs/pr/N` or commit (see [`revision_problem`]).
pub fn check_revision(rev: &str) -> Result<()> {
    match revision_problem(rev) {
        Some(why) => Err(Error::ModelSpec(format!("{rev:?} is not a valid revision ({why}); use a branch, tag, commit hash or refs/pr/N"))),
        None => Ok(()),
    }
}

/// `ORG/NAME` and the optional revision of `ORG/NAME[@REV]`, if `spec` has that form (a Hub id's
/// parts are ASCII letters, digits, `.`, `_` and `-`, and do not start with `.` or `-`). The
/// revision is not checked here.
pub fn split_repo_id(spec: &str) -> Option<(&str, Option<&str>)> {
    let (repo, revision) = match spec.split_once('@') {
        Some((repo, rev)) => (repo, Some(rev)),
        None => (spec, None),
    };
    let valid_part =
        |s: &str| !s.is_empty() && !s.starts_with(['.', '-']) && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    match repo.split_once('/') {
        Some((org, name)) if valid_part(org) && valid_part(name) && revision.is_none_or(|r| !r.is_empty()) => Some((repo, revision)),
        _ => None,
    }
}

/// Which kind of repository: the cache and the URLs name them differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepoKind {
    Model,
    Dataset,
}

/// Hub settings, resolved from the environment the way `huggingface_hub` resolves them.
#[derive(Debug, Clone)]
pub struct HubSettings {
    pub cache_dir: PathBuf,
    pub endpoint: Option<String>,
    pub token: Option<String>,
    pub offline: bool,
}

impl HubSettings {
    pub fn from_env() -> Self {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// The settings from environment variables as `var` reads them (testable per system).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let var = |k: &str| var(k).filter(|v| !v.is_empty());
        let home = var("HOME").or_else(|| var("USERPROFILE")).map(PathBuf::from).unwrap_or_default();
        let hf_home = var("HF_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| var("XDG_CACHE_HOME").map(PathBuf::from).unwrap_or_else(|| home.join(".cache")).join("huggingface"));
        let cache_dir = var("HF_HUB_CACHE").or_else(|| var("HUGGINGFACE_HUB_CACHE")).map(PathBuf::from).unwrap_or_else(|| hf_home.join("hub"));
        let token = var("HF_TOKEN").or_else(|| {
            let path = var("HF_TOKEN_PATH").map(PathBuf::from).unwrap_or_else(|| hf_home.join("token"));
            std::fs::read_to_string(path).ok().map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
        });
        let offline = var("HF_HUB_OFFLINE").is_some_and(|v| matches!(v.to_ascii_uppercase().as_str(), "1" | "ON" | "YES" | "TRUE"));
        Self { cache_dir, endpoint: var("HF_ENDPOINT"), token, offline }
    }

    /// The cache folder of one model repository (`models--ORG--NAME`), as huggingface_hub lays it out.
    pub fn repo_cache(&self, repo: &str) -> PathBuf {
        self.cache_of(RepoKind::Model, repo)
    }

    /// The cache folder of a repository of either kind (`models--ORG--NAME`, `datasets--ORG--NAME`).
    pub fn cache_of(&self, kind: RepoKind, repo: &str) -> PathBuf {
        let prefix = match kind {
            RepoKind::Model => "models",
            RepoKind::Dataset => "datasets",
        };
        self.cache_dir.join(format!("{prefix}--{}", repo.replace('/', "--")))
    }

    /// A blocking hf-hub client with these settings. `what` names the repository in errors.
    pub fn client(&self, what: &str) -> Result<hf_hub::HFClientSync> {
        let mut builder = HFClientBuilder::new().cache_dir(self.cache_dir.clone());
        if let Some(endpoint) = &self.endpoint {
            builder = builder.endpoint(endpoint.clone());
        }
        if let Some(token) = &self.token {
            builder = builder.token(token.clone());
        }
        builder.build_sync().map_err(|e| Error::Download { model: what.to_string(), file: "-".into(), message: e.to_string() })
    }
}

/// Byte-level progress of a download, for a progress bar.
pub trait DownloadObserver: Send + Sync {
    /// `file` is the repository path being fetched; `total` is 0 when unknown.
    fn progress(&self, file: &str, done: u64, total: u64);
}

/// An observer that shows nothing.
pub struct Silent;

impl DownloadObserver for Silent {
    fn progress(&self, _file: &str, _done: u64, _total: u64) {}
}

/// Forwards hf-hub's progress events to our observer, naming the file being fetched.
pub struct ProgressBridge {
    file: Mutex<String>,
    observer: Arc<dyn DownloadObserver>,
}

impl ProgressBridge {
    pub fn new(observer: Arc<dyn DownloadObserver>) -> Arc<Self> {
        Arc::new(Self { file: Mutex::new(String::new()), observer })
    }

    /// Names the file whose bytes the next events count.
    pub fn fetching(&self, file: &str) {
        if let Ok(mut current) = self.file.lock() {
            *current = file.to_string();
        }
    }

    /// hf-hub's handle on this bridge.
    pub fn handle(self: &Arc<Self>) -> hf_hub::progress::Progress {
        hf_hub::progress::Progress::from(self.clone() as Arc<dyn ProgressHandler>)
    }
}

impl ProgressHandler for ProgressBridge {
    fn on_progress(&self, event: &ProgressEvent) {
        let ProgressEvent::Download(event) = event else { return };
        let current = self.file.lock().map(|f| f.clone()).unwrap_or_default();
        match event {
            DownloadEvent::Start { total_bytes, .. } => self.observer.progress(&current, 0, *total_bytes),
            DownloadEvent::Progress { files } => {
                for f in files {
                    self.observer.progress(&f.filename, f.bytes_completed, f.total_bytes);
                }
            }
            DownloadEvent::AggregateProgress { bytes_completed, total_bytes, .. } => self.observer.progress(&current, *bytes_completed, *total_bytes),
            DownloadEvent::Complete => {}
        }
    }
}

/// Network failures and server errors, after hf-hub's own retries: the Hub is not usable now.
pub fn is_unreachable(e: &HFError) -> bool {
    match e {
        HFError::Request { .. } => true,
        HFError::Http { context } => context.status.is_server_error(),
        _ => false,
    }
}

/// What a Hub error means for a person reading a repository: what went wrong and what to do.
pub fn read_problem(e: &HFError) -> String {
    match e {
        HFError::RepoNotFound { .. } => {
            "the repository does not exist, or it is private or gated (set HF_TOKEN to a token that can read it)".to_string()
        }
        HFError::RevisionNotFound { revision, .. } => format!("the revision {revision:?} does not exist"),
        HFError::AuthRequired { .. } | HFError::Forbidden { .. } => {
            format!("access denied ({e}); set HF_TOKEN to a token that can read this repository (a gated one needs its access granted first)")
        }
        _ => e.to_string(),
    }
}
