//! Floor 2, analysis: numbers about a project, read from the store and computed outside it.
//! [`metrics`] (with their bootstrap intervals), [`evaluate`] (runs against the user's labels),
//! [`seqeval`] (entity-level scores, as seqeval computes them), [`tagging`] (taggers' runs on the
//! corpus's reference spans),
//! [`agreement`] (between annotators), [`label_issues`] (likely label errors, as cleanlab finds
//! them), [`similar`] (nearest records, near-duplicate groups), [`projection`] (the corpus as a 2-D map), [`scans`] (between two scans) and
//! [`learn`] (the classifier that learns from the labels).

pub mod agreement;
pub mod evaluate;
pub mod label_issues;
pub mod learn;
pub mod metrics;
pub mod projection;
pub mod scans;
pub mod seqeval;
pub mod similar;
pub mod tagging;
pub mod umap;
