//! Selectra Studio's core: SELECTRA (Spanish ELECTRA) and comparator models computed exactly as
//! Hugging Face transformers computes them.
//!
//! - [`hub`] finds a model's files (local folder or the Hub through the shared HF cache);
//! - [`model`] reads config.json and the weights and runs the network;
//! - [`tokenize`] builds the WordPiece tokenizer as transformers does;
//! - [`inspect`] reports the discriminator's per-token scores, and [`scan`] scores whole records
//!   (long ones in overlapping windows) with their summaries; [`embed`] turns records into
//!   mean-pooled unit vectors;
//! - [`zeroshot`] runs NLI zero-shot classification with the pipeline's semantics; [`precision`]
//!   is its opt-in bf16 fast mode for corpus runs and the agreement check that guards it;
//! - [`store`] is the SQLite project file; [`import`], [`corpus_run`] and [`export`] move
//!   corpora in, label them with resumable runs, and write them out;
//! - [`metrics`] and [`evaluate`] score runs against the user's labels, [`agreement`] compares
//!   annotators, [`published`] holds the
//!   SELECTRA card's comparison, and [`charts`] and [`report`] draw and share both;
//! - [`scale_out`] describes corpus jobs computed elsewhere (the Python package, Ray) and imports
//!   their results as runs, scans and embedding sets.
//!
//! Front ends (the `selectra` CLI, the Tauri app) are thin adapters over these modules.

pub mod agreement;
mod atomic_file;
pub mod charts;
pub mod corpus_run;
pub mod embed;
pub mod error;
pub mod evaluate;
pub mod export;
pub mod hub;
pub mod import;
pub mod inspect;
pub mod learn;
pub mod metrics;
pub mod model;
pub mod panic_guard;
pub mod precision;
pub mod published;
pub mod report;
pub mod scale_out;
pub mod scan;
pub mod store;
pub mod templates;
pub mod text;
pub mod tokenize;
pub mod train;
pub mod zeroshot;

pub use error::{Error, ErrorCode, Result};

/// This build's version and the commit it was built from, as `selectra --version` and the app's
/// About show them: "0.1.0 (0123456789ab)".
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("SELECTRA_COMMIT"), ")");
pub use model::{LoadOptions, Model};
