//! Selectra Studio's core: SELECTRA (Spanish ELECTRA) and comparator models computed exactly as
//! Hugging Face transformers computes them, over corpora kept in a SQLite project file.
//!
//! The core is built in floors; each imports only the floors under it (`tests/it/floors.rs`
//! checks it), and [`error`], [`fs`] and [`hub`] serve them all:
//!
//! | floor | what it holds | imports |
//! |---|---|---|
//! | [`api`] | what both front ends call: task specs resolved against a project | everything below |
//! | [`report`] | figures, the HTML report, the card's published table | analysis, store, domain |
//! | [`jobs`] | engine × store: resumable corpus runs, scans, embeddings, training, results from elsewhere | engine, store, analysis, domain |
//! | [`analysis`] | numbers about the project: metrics, evaluation, agreement, the learned head | store, domain |
//! | [`exchange`] | files in and out of a project: import, export, Hub datasets | store, domain |
//! | [`engine`] | model files in, numbers out: hub, tokenizers, networks, inspect, scan, zero-shot, embed | domain |
//! | [`store`] | the SQLite project file, and nothing else | domain |
//! | [`domain`] | the pure vocabulary and rules: tasks, labels, queries, precision, annotation status, progress | nothing |
//!
//! The engine and the store are siblings that never import each other; jobs join them. Front
//! ends (the `selectra` CLI, the Tauri app, the Python package) are thin adapters over [`api`]
//! and the floors' public types.

pub mod analysis;
pub mod api;
pub mod domain;
pub mod engine;
pub mod error;
pub mod exchange;
pub mod fs;
pub mod hub;
pub mod jobs;
pub mod report;
pub mod store;

pub use engine::model::{LoadOptions, Model};
pub use error::{Error, ErrorCode, Result, Setting};

/// This build's version and the commit it was built from, as `selectra --version` and the app's
/// About show them: "0.1.0 (0123456789ab)".
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("SELECTRA_COMMIT"), ")");
