//! What the app holds between commands: the open project, the loaded models, and the cancel flags
//! of running tasks.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use selectra::analysis::similar::Vectors;
use selectra::engine::hub::{DownloadObserver, HubSettings};
use selectra::engine::tokenize::TokenizerOptions;
use selectra::store::{EmbeddingSetInfo, Store};
use selectra::{LoadOptions, Model};

use crate::args::ModelRef;
use crate::dto::AppInfo;

/// A poisoned lock only means another command panicked; the data behind it is still consistent
/// (every store write is a transaction), so carry on with it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub struct AppState {
    pub hub: HubSettings,
    /// Shared with the blocking worker threads that run the commands (never the UI thread).
    project: Arc<Mutex<Store>>,
    /// The open project's path, kept apart so that reading it never waits on a busy store.
    project_path: Mutex<PathBuf>,
    pub models: ModelCache,
    pub tasks: Tasks,
    pub vectors: VectorCache,
}

impl AppState {
    pub fn new(project: &Path) -> selectra::Result<Self> {
        let hub = HubSettings::from_env();
        let store = Store::open(project)?;
        Ok(Self {
            models: ModelCache::new(hub.clone()),
            hub,
            project_path: Mutex::new(store.path().to_path_buf()),
            project: Arc::new(Mutex::new(store)),
            tasks: Tasks::default(),
            vectors: VectorCache::default(),
        })
    }

    pub fn info(&self) -> AppInfo {
        AppInfo {
            version: selectra::VERSION.to_string(),
            project: self.project_path().display().to_string(),
            hub_cache: self.hub.cache_dir.display().to_string(),
            offline: self.hub.offline,
            replaced_threshold: selectra::domain::rtd::REPLACED_THRESHOLD,
            retrain_every: selectra::jobs::train::RETRAIN_EVERY,
            auto_retrain_max_secs: selectra::jobs::train::AUTO_RETRAIN_MAX_SECS,
            near_duplicate_cosine: selectra::analysis::similar::NEAR_DUPLICATE_COSINE,
            neighbours: selectra::analysis::similar::DEFAULT_NEIGHBOURS as u32,
            finetune: selectra::jobs::finetune::FinetuneOptions::default(),
        }
    }

    pub fn project_path(&self) -> PathBuf {
        lock(&self.project_path).clone()
    }

    pub fn set_project(&self, store: Store) {
        let path = store.path().to_path_buf();
        *lock(&self.project) = store;
        *lock(&self.project_path) = path;
    }

    /// The open project, for a worker thread to lock.
    pub fn project(&self) -> Arc<Mutex<Store>> {
        self.project.clone()
    }
}

/// Loaded models, one per (spec, accent-stripping override): the inspector's toggle and a second
/// model side by side are instant after the first load.
#[derive(Clone)]
pub struct ModelCache {
    hub: HubSettings,
    loaded: Arc<Mutex<HashMap<ModelKey, Arc<Model>>>>,
}

/// A model spec as the user typed it, and the accent-stripping override.
type ModelKey = (String, Option<bool>);

impl ModelCache {
    fn new(hub: HubSettings) -> Self {
        Self { hub, loaded: Default::default() }
    }

    /// The model, loaded (and downloaded) on first use. Loading happens outside the lock, so a
    /// slow download does not block commands that use other models.
    pub fn get(&self, r: &ModelRef, observer: Arc<dyn DownloadObserver>) -> selectra::Result<Arc<Model>> {
        let key = (r.spec.trim().to_string(), r.strip_accents);
        if let Some(model) = lock(&self.loaded).get(&key) {
            return Ok(model.clone());
        }
        let options = LoadOptions { tokenizer: TokenizerOptions { strip_accents: r.strip_accents }, hub: self.hub.clone() };
        let model = Arc::new(Model::load(&key.0, &options, observer)?);
        lock(&self.loaded).insert(key, model.clone());
        Ok(model)
    }
}

impl ModelCache {
    /// The size of a loaded model, by the name a run records it under; `None` when no model of
    /// that name is loaded (nothing is loaded to find out).
    pub fn parameters_of(&self, name: &str) -> Option<u64> {
        lock(&self.loaded).values().find(|m| m.name == name).map(|m| m.parameters)
    }
}

/// The last embedding set read into memory, while it has the same vectors: searches after the
/// first skip reading a large set again (a million records of 384 numbers: seconds).
#[derive(Clone, Default)]
pub struct VectorCache(Arc<Mutex<Option<CachedVectors>>>);

/// A set's id, how many vectors it had when read, and the vectors.
type CachedVectors = (i64, u64, Arc<Vectors>);

impl VectorCache {
    pub fn get(&self, store: &Store, set: &EmbeddingSetInfo) -> selectra::Result<Arc<Vectors>> {
        if let Some((id, embedded, table)) = lock(&self.0).as_ref() {
            if *id == set.id && *embedded == set.embedded {
                return Ok(table.clone());
            }
        }
        let table = Arc::new(Vectors::load(store, set.id)?);
        *lock(&self.0) = Some((set.id, set.embedded, table.clone()));
        Ok(table)
    }
}

/// Cancel flags of running tasks, by the id the UI gave them.
#[derive(Default)]
pub struct Tasks(Mutex<HashMap<String, Arc<AtomicBool>>>);

impl Tasks {
    pub fn start(&self, id: &str) -> Arc<AtomicBool> {
        let flag = Arc::new(AtomicBool::new(false));
        lock(&self.0).insert(id.to_string(), flag.clone());
        flag
    }

    pub fn finish(&self, id: &str) {
        lock(&self.0).remove(id);
    }

    /// Asks the task to stop at its next safe point; false when no such task is running.
    pub fn cancel(&self, id: &str) -> bool {
        lock(&self.0).get(id).map(|f| f.store(true, Ordering::Relaxed)).is_some()
    }
}
