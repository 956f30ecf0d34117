//! Models by themselves: the list of models, a loaded model's facts, one text inspected.

use serde::Serialize;

use crate::engine::hub::{self, HubSettings, ModelEntry};
use crate::engine::inspect::{Inspection, WordScore};
use crate::engine::model::Model;
use crate::error::Result;

/// The models the app offers (presets, then other cached repositories) and the cache they are
/// downloaded into.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ModelList {
    pub cache: String,
    pub models: Vec<ModelListEntry>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ModelListEntry {
    #[serde(flatten)]
    pub entry: ModelEntry,
    /// At least one snapshot is in the cache.
    pub cached: bool,
}

impl ModelList {
    pub fn read(settings: &HubSettings) -> Result<Self> {
        let models = hub::model_list(settings)?.into_iter().map(|entry| ModelListEntry { cached: entry.cached_snapshots > 0, entry }).collect();
        Ok(Self { cache: settings.cache_dir.display().to_string(), models })
    }
}

/// What the Models view shows about a loaded model.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ModelFacts {
    pub name: String,
    pub folder: String,
    pub weights_file: String,
    pub model_type: String,
    pub architecture: String,
    /// "discriminator" (per-token scores), "classifier" (a sequence classifier: zero-shot NLI, or
    /// its own labels), "tagger" (a token classifier: entities) or "embedder" (a bare encoder:
    /// sentence embeddings).
    pub role: String,
    /// The role in words, as the Models view shows it.
    pub role_description: String,
    /// How its record embeddings are made, in words.
    pub embedding: String,
    pub parameters: u64,
    pub layers: usize,
    pub hidden_size: usize,
    pub embedding_size: usize,
    pub attention_heads: usize,
    pub intermediate_size: usize,
    pub vocab_size: usize,
    pub max_positions: usize,
    pub labels: Vec<String>,
    /// The tokenizer class and algorithm, e.g. "RobertaTokenizer (byte-level BPE)".
    pub tokenizer: String,
    /// Whether the tokenizer has the lower-case and accent settings (WordPiece only).
    pub accent_setting: bool,
    pub do_lower_case: bool,
    /// Whether the model's own tokenizer files strip accents (an unset value follows lower-casing).
    pub files_strip_accents: bool,
    /// What is in effect, after the user's override.
    pub strips_accents: bool,
}

impl From<&Model> for ModelFacts {
    fn from(m: &Model) -> Self {
        let c = &m.config;
        let settings = m.tokenizer.settings();
        let (role, description) = if c.architecture.is_sequence_classifier() {
            ("classifier", "sequence classifier (a zero-shot NLI classifier, or with its own labels)")
        } else if c.architecture.is_token_classifier() {
            ("tagger", "token classifier (entities)")
        } else if c.architecture.is_encoder() {
            ("embedder", "sentence embeddings (an encoder without a head: embeddings, similar records, duplicates)")
        } else {
            ("discriminator", "discriminator (per-token scores)")
        };
        Self {
            name: m.name.clone(),
            folder: m.files.folder.display().to_string(),
            weights_file: m.files.weights.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
            model_type: c.model_type.name().to_string(),
            architecture: c.architecture.name().to_string(),
            role: role.to_string(),
            role_description: description.to_string(),
            embedding: crate::engine::embed::Embedder::new(m).recipe(),
            parameters: m.parameters,
            layers: c.num_hidden_layers,
            hidden_size: c.hidden_size,
            embedding_size: c.embedding_size,
            attention_heads: c.num_attention_heads,
            intermediate_size: c.intermediate_size,
            vocab_size: c.vocab_size,
            max_positions: m.tokenizer.max_length(),
            labels: c.id2label.clone(),
            tokenizer: settings.kind.label(),
            accent_setting: settings.kind.has_accent_setting(),
            do_lower_case: settings.do_lower_case,
            files_strip_accents: m.tokenizer.files_strip_accents(),
            strips_accents: m.tokenizer.strips_accents(),
        }
    }
}

/// One text inspected by a discriminator: the inspection's `model`, `text` and `tokens` (the
/// CLI contract), the words they make, and the accent settings it ran with.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InspectionView {
    #[serde(flatten)]
    pub inspection: Inspection,
    pub words: Vec<WordScore>,
    /// The text was longer than the model accepts and its end was not scored.
    pub truncated: bool,
    /// Whether the model's files strip accents, and whether accents were stripped here.
    pub files_strip_accents: bool,
    pub strips_accents: bool,
    /// What an untrained-embedding mark means (the core's wording).
    pub untrained_note: String,
}

impl InspectionView {
    pub fn new(inspection: Inspection, model: &Model) -> Self {
        Self {
            words: inspection.words(),
            truncated: inspection.truncated,
            files_strip_accents: model.tokenizer.files_strip_accents(),
            strips_accents: model.tokenizer.strips_accents(),
            untrained_note: crate::domain::rtd::UNTRAINED_NOTE.to_string(),
            inspection,
        }
    }
}

/// The first rows of a file to import, as the import dialog shows them.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PreviewDto {
    pub format: String,
    /// Whether the format has columns to choose (CSV, TSV, JSONL); plain text and CoNLL have none.
    pub has_columns: bool,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl From<crate::exchange::import::Preview> for PreviewDto {
    fn from(p: crate::exchange::import::Preview) -> Self {
        Self { format: p.format.name().to_string(), has_columns: p.format.has_columns(), columns: p.columns, rows: p.rows }
    }
}
