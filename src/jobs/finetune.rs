//! Fine-tuning a model on a corpus's labels or entity spans (`engine::finetune`) as a resumable
//! job: the labeled records split into training and a stratified, seeded validation share; epochs of
//! seeded shuffled batches with the Trainer's optimizer and schedule; each epoch scored on the
//! validation records; checkpoints (weights, optimizer moments, the step) written whole into
//! the output folder, so a killed or cancelled fine-tune started again with the same settings
//! goes on from its last checkpoint to the same weights an uninterrupted one reaches. The result
//! is a folder transformers loads, and its predictions on the validation records are stored as
//! a classifier run, so Compare sets it beside zero-shot and the trained head on those records.
//!
//! On spans the model becomes a token classifier over IOB2 tags, trained as transformers'
//! token-classification examples align word labels: each word's tag (`domain::spans::word_tags`)
//! on its first token, no target on its later pieces and on special tokens. Each epoch is scored
//! by seqeval's entity F1 over those tags; the finished tagger tags the validation records
//! through the token-classification pipeline into a tagging run, which Compare scores against
//! the reference spans.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use candle_core::{Device, Tensor, D};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::analysis::evaluate::LabelSource;
use crate::analysis::learn::stratified_folds;
use crate::analysis::metrics::accuracy_and_macro_f1;
use crate::analysis::seqeval::{entities, Counts, Mode};
use crate::domain::annotation::MULTI_LABEL_THRESHOLD;
use crate::domain::precision::Precision;
use crate::domain::progress::{JobStage, RunProgress};
use crate::domain::spans::Span;
use crate::engine::finetune::{AdamW, HeadKind, Masks, OptimizerSettings, Trainable};
use crate::engine::model::Model;
use crate::engine::tag::{TagOptions, TokenTagger};
use crate::engine::tokenize::Encoded;
use crate::error::{Error, Result};
use crate::jobs::corpus_run::{sha256_file, tagged_record, tagger_run_key};
use crate::store::{PredictionRow, RunKey, RunKind, Store};

/// The transformers `Trainer`'s defaults, where the issue of this feature asks for them; every
/// front end starts from these.
pub const DEFAULT_EPOCHS: u32 = 3;
pub const DEFAULT_LEARNING_RATE: f64 = 5e-5;
pub const DEFAULT_BATCH_SIZE: usize = 16;
pub const DEFAULT_MAX_GRAD_NORM: f64 = 1.0;
pub const DEFAULT_SEED: u64 = 42;
/// The share of the labeled records held out for validation (stratified by label).
pub const DEFAULT_VALIDATION_SHARE: f64 = 0.1;

/// The range of cross-validation folds.
pub const MIN_FOLDS: u32 = 2;
pub const MAX_FOLDS: u32 = 20;

/// How often (seconds of training) a checkpoint is written besides each epoch's end.
const CHECKPOINT_SECS: f64 = 60.0;

/// What a fine-tune learns from.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum FinetuneTarget {
    /// The records' labels: a sequence classifier (single texts or pairs).
    Labels,
    /// The records' entity spans: a token classifier (NER tagger).
    Spans,
}

impl FinetuneTarget {
    pub const ALL: [FinetuneTarget; 2] = [FinetuneTarget::Labels, FinetuneTarget::Spans];

    pub fn name(self) -> &'static str {
        match self {
            Self::Labels => "labels",
            Self::Spans => "spans",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|t| t.name() == text.trim()).ok_or_else(|| {
            Error::Input(format!("a fine-tune learns from labels (a classifier) or spans (a tagger), not {}", crate::error::quoted(text)))
        })
    }
}

/// What a fine-tune does.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FinetuneOptions {
    pub epochs: u32,
    pub learning_rate: f64,
    pub batch_size: usize,
    /// The share of all steps spent warming the learning rate up (0: none, the Trainer's default).
    pub warmup_ratio: f64,
    pub weight_decay: f64,
    pub max_grad_norm: f64,
    pub seed: u64,
    pub validation_share: f64,
    /// Stop after this many epochs without a better validation score (macro F1 for labels,
    /// entity F1 for spans; none: run every epoch).
    pub patience: Option<u32>,
    pub source: LabelSource,
    /// Labels or spans; none: what the corpus has (refused when it has both).
    pub target: Option<FinetuneTarget>,
    /// Cross-validation: this many models, each trained on all folds but one and scored on that
    /// one, so every labeled record is predicted once by a model that did not see it (none: one
    /// model, scored on the validation share).
    #[serde(default)]
    pub folds: Option<u32>,
}

impl Default for FinetuneOptions {
    fn default() -> Self {
        Self {
            epochs: DEFAULT_EPOCHS,
            learning_rate: DEFAULT_LEARNING_RATE,
            batch_size: DEFAULT_BATCH_SIZE,
            warmup_ratio: 0.0,
            weight_decay: 0.0,
            max_grad_norm: DEFAULT_MAX_GRAD_NORM,
            seed: DEFAULT_SEED,
            validation_share: DEFAULT_VALIDATION_SHARE,
            patience: None,
            source: LabelSource::Both,
            target: None,
            folds: None,
        }
    }
}

impl FinetuneOptions {
    fn check(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::Input(format!("fine-tuning: {what}")));
        if self.epochs == 0 || self.epochs > 1000 {
            return bad("the number of epochs must be between 1 and 1000");
        }
        if !(self.learning_rate > 0.0 && self.learning_rate < 1.0) {
            return bad("the learning rate must be above 0 and below 1 (the usual range is 1e-5 to 1e-4)");
        }
        if self.batch_size == 0 || self.batch_size > 4096 {
            return bad("the batch size must be between 1 and 4096");
        }
        if !(0.0..1.0).contains(&self.warmup_ratio) || !(0.0..0.9).contains(&self.validation_share) {
            return bad("the warm-up ratio must be in [0, 1) and the validation share in [0, 0.9)");
        }
        if !(self.weight_decay >= 0.0 && self.max_grad_norm > 0.0) {
            return bad("the weight decay must be 0 or more and the gradient norm limit above 0");
        }
        if let Some(k) = self.folds {
            if !(MIN_FOLDS..=MAX_FOLDS).contains(&k) {
                return bad(&format!("cross-validation takes {MIN_FOLDS} to {MAX_FOLDS} folds"));
            }
            if self.patience.is_some() {
                return bad("early stopping watches held-out records, and with folds those records are what each model is scored on; choose folds or early stopping");
            }
        }
        Ok(())
    }
}

/// One epoch's numbers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EpochResult {
    pub epoch: u32,
    /// The mean training loss over the epoch's steps.
    pub train_loss: f64,
    /// On the validation records (none without them): the loss, the accuracy (of the tagged
    /// tokens for a tagger), and the macro F1 of the labels or seqeval's micro F1 of the entities.
    pub validation_loss: Option<f64>,
    pub validation_accuracy: Option<f64>,
    pub validation_macro_f1: Option<f64>,
    pub validation_entity_f1: Option<f64>,
    /// The fold (from 1) whose model this epoch trained, when cross-validating; none for one
    /// model, and for the folds' means.
    #[serde(default)]
    pub fold: Option<u32>,
}

impl EpochResult {
    /// The validation score early stopping watches: the entity F1 of a tagger, else the macro F1.
    pub fn score(&self) -> Option<f64> {
        self.validation_entity_f1.or(self.validation_macro_f1)
    }
}

/// What a fine-tune did.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FinetuneSummary {
    pub output: PathBuf,
    pub base_model: String,
    pub target: FinetuneTarget,
    /// The classifier's labels, or the tagger's IOB2 tags, in id order.
    pub labels: Vec<String>,
    pub n_train: usize,
    pub n_validation: usize,
    pub steps: u64,
    pub epochs: Vec<EpochResult>,
    /// The step a resumed fine-tune went on from (none: it started fresh).
    pub resumed_from_step: Option<u64>,
    /// Training examples per second in this session (forward, backward and optimizer).
    pub examples_per_sec: f64,
    /// The id of the run of the validation records' predictions (a classifier's or a tagger's;
    /// none without them).
    pub run: Option<i64>,
    pub options: FinetuneOptions,
    /// The head was the base model's own (a classifier with these labels) or new.
    pub new_head: bool,
    /// With folds, each fold's own summary (its model is in its `output`); the fields above
    /// then cover all folds: their records, steps, each epoch's mean numbers, and the
    /// out-of-fold run over every record.
    #[serde(default)]
    pub folds: Vec<FinetuneSummary>,
}

/// A training example: the record, its encoding and what it teaches.
struct Example {
    record_id: i64,
    encoded: Encoded,
    target: Target,
}

enum Target {
    /// The label's index.
    Label(usize),
    /// The indexes of the record's labels (a multi-label corpus).
    LabelSet(Vec<usize>),
    /// The tag index of each input id (none: no target, PyTorch's −100), and the record's text.
    Tags(Vec<Option<u32>>, String),
}

impl Example {
    fn label(&self) -> usize {
        match &self.target {
            Target::Label(l) => *l,
            Target::LabelSet(l) => l[0],
            Target::Tags(..) => 0,
        }
    }
}

/// A record to learn from, as the corpus holds it.
struct Item {
    id: i64,
    text: String,
    pair: Option<String>,
    reference: Reference,
}

enum Reference {
    Label(usize),
    LabelSet(Vec<usize>),
    Spans(Vec<crate::domain::spans::Span>),
}

/// What a checkpoint records besides the tensors.
#[derive(Debug, Serialize, Deserialize)]
struct CheckpointState {
    identity: String,
    step: u64,
    epochs: Vec<EpochResult>,
    #[serde(alias = "best_macro_f1")]
    best_score: Option<f64>,
    epochs_without_gain: u32,
}

fn checkpoint_dir(output: &Path) -> PathBuf {
    output.join("checkpoint")
}

fn summary_path(output: &Path) -> PathBuf {
    output.join("finetune.json")
}

/// The note, in a cross-validation's folder, of whose folds it holds (written before the first).
fn folds_path(output: &Path) -> PathBuf {
    output.join("folds.json")
}

/// Writes a checkpoint whole: into a fresh folder, then renamed over the last one.
fn save_checkpoint(output: &Path, model: &Trainable, optimizer: &AdamW, state: &CheckpointState) -> Result<()> {
    let dir = checkpoint_dir(output);
    let tmp = output.join("checkpoint.partial");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let io = |path: &Path, e: candle_core::Error| Error::io(path, std::io::Error::other(e));
    let params: std::collections::HashMap<String, Tensor> = model.parameters().iter().map(|(n, v)| (n.clone(), v.as_tensor().clone())).collect();
    let p = tmp.join("params.safetensors");
    candle_core::safetensors::save(&params, &p).map_err(|e| io(&p, e))?;
    crate::fs::sync(&p)?;
    let mut moments = std::collections::HashMap::new();
    for (i, (name, var)) in model.parameters().iter().enumerate() {
        let tensor = |values: &[f32]| Tensor::from_slice(values, var.shape(), &Device::Cpu).map_err(|e| Error::Inference(e.to_string()));
        moments.insert(format!("m.{name}"), tensor(&optimizer.first_moments[i])?);
        moments.insert(format!("v.{name}"), tensor(&optimizer.second_moments[i])?);
    }
    let m = tmp.join("optimizer.safetensors");
    candle_core::safetensors::save(&moments, &m).map_err(|e| io(&m, e))?;
    crate::fs::sync(&m)?;
    // state.json last: a folder with it is complete.
    crate::fs::write(&tmp.join("state.json"), serde_json::to_string_pretty(state).expect("json").as_bytes())?;
    // The last checkpoint steps aside before the new one takes its name, so a kill at any
    // moment leaves one whole checkpoint (`checkpoint`, else `checkpoint.old`).
    let old = output.join("checkpoint.old");
    let _ = std::fs::remove_dir_all(&old);
    if dir.exists() {
        std::fs::rename(&dir, &old).map_err(|e| Error::io(&dir, e))?;
    }
    std::fs::rename(&tmp, &dir).map_err(|e| Error::io(&dir, e))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// The folder of the last whole checkpoint, if any (see [`save_checkpoint`]).
fn last_checkpoint(output: &Path) -> Option<PathBuf> {
    [checkpoint_dir(output), output.join("checkpoint.old")].into_iter().find(|d| d.join("state.json").is_file())
}

/// Reads a checkpoint written by [`save_checkpoint`] into `model` and `optimizer`.
fn load_checkpoint(dir: &Path, model: &Trainable, optimizer: &mut AdamW) -> Result<CheckpointState> {
    let state_path = dir.join("state.json");
    let text = std::fs::read_to_string(&state_path).map_err(|e| Error::io(&state_path, e))?;
    let state: CheckpointState =
        serde_json::from_str(&text).map_err(|e| Error::Input(format!("{}: not a checkpoint ({e})", state_path.display())))?;
    let damaged = |what: String| Error::Input(format!("the checkpoint in {} is damaged ({what}); delete the folder to start again", dir.display()));
    let params = candle_core::safetensors::load(dir.join("params.safetensors"), &Device::Cpu).map_err(|e| damaged(e.to_string()))?;
    let moments = candle_core::safetensors::load(dir.join("optimizer.safetensors"), &Device::Cpu).map_err(|e| damaged(e.to_string()))?;
    for (i, (name, var)) in model.parameters().iter().enumerate() {
        let find = |map: &std::collections::HashMap<String, Tensor>, key: &str| {
            map.get(key).filter(|t| t.shape() == var.shape()).cloned().ok_or_else(|| damaged(format!("{key} is missing or of another shape")))
        };
        var.set(&find(&params, name)?).map_err(|e| damaged(e.to_string()))?;
        let values = |t: Tensor| t.flatten_all().and_then(|t| t.to_vec1::<f32>()).map_err(|e| damaged(e.to_string()));
        optimizer.first_moments[i] = values(find(&moments, &format!("m.{name}"))?)?;
        optimizer.second_moments[i] = values(find(&moments, &format!("v.{name}"))?)?;
    }
    optimizer.step = state.step;
    Ok(state)
}

/// The identity of a fine-tune: the base weights, the options and the data (record, label or
/// spans, text). A checkpoint or a finished model in the output folder with another identity is
/// another fine-tune's, never resumed or overwritten.
fn identity(base_sha: &str, options: &FinetuneOptions, target: FinetuneTarget, labels: &[String], items: &[Item]) -> String {
    let mut h = Sha256::new();
    h.update(base_sha.as_bytes());
    h.update(serde_json::to_string(options).expect("json").as_bytes());
    h.update(target.name().as_bytes());
    h.update(serde_json::to_string(labels).expect("json").as_bytes());
    for item in items {
        h.update(item.id.to_le_bytes());
        match &item.reference {
            Reference::Label(label) => h.update((*label as u64).to_le_bytes()),
            Reference::LabelSet(set) => h.update(serde_json::to_string(set).expect("json").as_bytes()),
            Reference::Spans(spans) => h.update(serde_json::to_string(spans).expect("json").as_bytes()),
        }
        h.update(item.text.as_bytes());
        h.update([0]);
        h.update(item.pair.as_deref().unwrap_or("").as_bytes());
        h.update([0]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A record's reference spans under `source`.
fn span_reference(row: &crate::store::ExportRow, source: LabelSource) -> Option<Vec<Span>> {
    source.spans(row.annotation.as_ref().map(|(_, status)| (row.annotation_spans.as_deref(), *status)), row.gold_spans.as_deref())
}

/// What a fine-tune of `corpus` learns from when it is not said: its labels, or its spans when
/// it has spans and no labels; refused when it has both.
fn corpus_target(store: &Store, corpus: &str, source: LabelSource) -> Result<FinetuneTarget> {
    let (mut labels, mut spans) = (false, false);
    store.for_each_export_row(corpus, &mut |row| {
        labels |= source.labels(row.annotation.as_ref().map(|(l, s)| (l.as_slice(), *s)), row.gold.as_deref(), true).is_some();
        spans |= span_reference(&row, source).is_some();
        Ok(())
    })?;
    match (labels, spans) {
        (true, true) => Err(Error::Input(format!(
            "corpus {} has both labels and entity spans ({}); say which the model learns from: labels (a classifier) or spans (a tagger)",
            crate::error::quoted(corpus),
            source.description()
        ))),
        (false, true) => Ok(FinetuneTarget::Spans),
        _ => Ok(FinetuneTarget::Labels),
    }
}

/// The records of `corpus` to learn from for `target`, and the labels (a tagger's IOB2 tags) in
/// id order.
fn gather(store: &Store, corpus: &str, target: FinetuneTarget, source: LabelSource, base: &Model) -> Result<(Vec<String>, Vec<Item>)> {
    match target {
        FinetuneTarget::Labels => {
            let (references, labels) =
                crate::jobs::train::labeled_records_with(store, corpus, source, |row| (row.text.clone(), row.text_pair.clone()))?;
            // A corpus where some record has several labels is a multi-label one: every record's
            // labels are a set, each a yes or no.
            let multi = references.iter().any(|(_, l, _)| l.len() > 1);
            let index = |l: &String| labels.iter().position(|x| x == l).expect("a label of the list");
            let items = references
                .into_iter()
                .map(|(id, l, (text, pair))| {
                    let reference = if multi { Reference::LabelSet(l.iter().map(index).collect()) } else { Reference::Label(index(&l[0])) };
                    Item { id, text, pair, reference }
                })
                .collect();
            Ok((labels, items))
        }
        FinetuneTarget::Spans => {
            let mut items = Vec::new();
            store.for_each_export_row(corpus, &mut |row| {
                if let Some(spans) = span_reference(&row, source) {
                    items.push(Item { id: row.record_id, text: row.text.clone(), pair: None, reference: Reference::Spans(spans) });
                }
                Ok(())
            })?;
            let mut types: Vec<String> = items
                .iter()
                .flat_map(|item| match &item.reference {
                    Reference::Spans(spans) => spans.iter().map(|s| s.label.clone()).collect(),
                    Reference::Label(_) | Reference::LabelSet(_) => Vec::new(),
                })
                .collect();
            types.sort();
            types.dedup();
            if types.is_empty() {
                return Err(Error::Input(format!(
                    "corpus {} has no entity spans ({}); a tagger learns from records whose entities are marked",
                    crate::error::quoted(corpus),
                    source.description()
                )));
            }
            let mut tags = crate::domain::spans::iob2_tags(&types);
            // A tagger of exactly these tags keeps its own order, and so its head.
            let own = &base.config.id2label;
            let same = |a: &[String], b: &[String]| a.iter().collect::<BTreeSet<_>>() == b.iter().collect::<BTreeSet<_>>();
            if base.config.architecture.is_token_classifier() && same(own, &tags) {
                tags = own.clone();
            }
            Ok((tags, items))
        }
    }
}

/// The tag index of each input id of `encoded` for a record with `spans`: each word's tag
/// ([`crate::domain::spans::word_tags`]) on its first token, no target on its later tokens and
/// on special tokens, as transformers' token-classification examples align word labels.
pub fn token_targets(encoded: &Encoded, spans: &[Span], tags: &[String]) -> Vec<Option<u32>> {
    // Words as the tokenizer's pre-tokenizer made them: consecutive tokens of one word index.
    let mut words: Vec<(usize, usize)> = Vec::new();
    let mut first_of_word = Vec::with_capacity(encoded.tokens.len());
    for (i, token) in encoded.tokens.iter().enumerate() {
        let continues = i > 0 && token.word.is_some() && token.word == encoded.tokens[i - 1].word;
        match words.last_mut() {
            Some(word) if continues => word.1 = word.1.max(token.end),
            _ => words.push((token.start, token.end)),
        }
        first_of_word.push((!continues).then_some(words.len() - 1));
    }
    let word_tags = crate::domain::spans::word_tags(&words, spans);
    let index: HashMap<&str, u32> = tags.iter().enumerate().map(|(i, t)| (t.as_str(), i as u32)).collect();
    let mut targets = vec![None; encoded.ids.len()];
    for (&position, word) in encoded.positions.iter().zip(first_of_word) {
        if let Some(w) = word {
            targets[position] = index.get(word_tags[w].as_str()).copied();
        }
    }
    targets
}

/// A batch's token targets row by row, each padded to `seq` tokens with none.
fn batch_targets(batch: &[&Example], seq: usize) -> Vec<Option<u32>> {
    batch
        .iter()
        .flat_map(|e| match &e.target {
            Target::Tags(t, _) => t.iter().copied().chain(std::iter::repeat(None)).take(seq).collect::<Vec<_>>(),
            Target::Label(_) | Target::LabelSet(_) => vec![None; seq],
        })
        .collect()
}

/// The training loss of `batch`'s logits: cross-entropy over the labels (binary on each label of
/// a multi-label corpus), or over the tagged tokens.
fn batch_loss(model: &Trainable, logits: &Tensor, batch: &[&Example]) -> Result<Tensor> {
    match model.kind {
        HeadKind::Sequence => Trainable::loss(logits, &batch.iter().map(|e| e.label() as u32).collect::<Vec<_>>()),
        HeadKind::MultiLabel => {
            let labels = logits.dim(1).map_err(|e| Error::Inference(e.to_string()))?;
            let mut targets = vec![0f32; batch.len() * labels];
            for (row, e) in targets.chunks_exact_mut(labels).zip(batch) {
                if let Target::LabelSet(set) = &e.target {
                    set.iter().for_each(|&l| row[l] = 1.0);
                }
            }
            Trainable::multi_label_loss(logits, &targets)
        }
        HeadKind::Token => {
            let seq = logits.dim(1).map_err(|e| Error::Inference(e.to_string()))?;
            Trainable::token_loss(logits, &batch_targets(batch, seq))
        }
    }
}

/// The output folder's state: empty (or missing), holding this fine-tune's checkpoint or
/// finished model, or something else (refused).
fn check_output(output: &Path, identity: &str) -> Result<Option<FinetuneSummary>> {
    if !output.exists() {
        return Ok(None);
    }
    if !output.is_dir() {
        return Err(Error::Input(format!("{} is a file; the fine-tuned model is written into a folder", output.display())));
    }
    let summary = summary_path(output);
    if summary.is_file() {
        let text = std::fs::read_to_string(&summary).map_err(|e| Error::io(&summary, e))?;
        let stored: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if stored.get("identity").and_then(|v| v.as_str()) == Some(identity) {
            let summary: FinetuneSummary =
                serde_json::from_value(stored["summary"].clone()).map_err(|e| Error::Input(format!("{}: {e}", summary.display())))?;
            return Ok(Some(summary));
        }
        return Err(Error::Input(format!(
            "{} holds another fine-tuned model (other data, base model or settings); choose another output folder",
            output.display()
        )));
    }
    if let Some(dir) = last_checkpoint(output) {
        let state = dir.join("state.json");
        let text = std::fs::read_to_string(&state).map_err(|e| Error::io(&state, e))?;
        let same = serde_json::from_str::<CheckpointState>(&text).is_ok_and(|s| s.identity == identity);
        if !same {
            return Err(Error::Input(format!(
                "{} holds the checkpoint of another fine-tune (other data, base model or settings); choose another output folder, or delete it to start again",
                output.display()
            )));
        }
        return Ok(None);
    }
    // A cross-validation under way: its folds' folders beside the note of whose they are.
    let folds = folds_path(output);
    if folds.is_file() {
        let text = std::fs::read_to_string(&folds).map_err(|e| Error::io(&folds, e))?;
        let same = serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|v| v.get("identity").and_then(|v| v.as_str()) == Some(identity));
        if !same {
            return Err(Error::Input(format!(
                "{} holds the folds of another cross-validation (other data, base model or settings); choose another output folder, or delete it to start again",
                output.display()
            )));
        }
        return Ok(None);
    }
    // A folder holding only an unfinished checkpoint.partial is a fine-tune killed before its
    // first checkpoint: it starts again.
    let entries =
        std::fs::read_dir(output).map_err(|e| Error::io(output, e))?.filter_map(|e| e.ok()).filter(|e| e.file_name() != "checkpoint.partial").count();
    if entries > 0 {
        return Err(Error::Input(format!("{} is not empty; the fine-tuned model goes into a new or empty folder", output.display())));
    }
    Ok(None)
}

/// What a model says of the validation records.
enum Outputs {
    /// Each record's label scores (softmax; for a multi-label classifier each label's sigmoid).
    Scores(Vec<Vec<f32>>),
    /// Each record's (reference, predicted) tag of every tagged token.
    Tags(Vec<Vec<(u32, u32)>>),
}

/// Scores `examples` without dropout: the mean loss (per record, or per tagged token) and what
/// the model says of each.
fn evaluate(model: &Trainable, base: &Model, examples: &[&Example]) -> Result<(f64, Outputs)> {
    let inference = |e: candle_core::Error| Error::Inference(e.to_string());
    let (mut loss_sum, mut weight) = (0.0, 0usize);
    let mut scores = Vec::with_capacity(examples.len());
    let mut tags = Vec::with_capacity(examples.len());
    for chunk in examples.chunks(32) {
        let input = base.batch(&chunk.iter().map(|e| &e.encoded).collect::<Vec<_>>())?;
        let logits = model.logits(&input, None)?;
        let loss = f64::from(batch_loss(model, &logits, chunk)?.to_scalar::<f32>().map_err(inference)?);
        match model.kind {
            HeadKind::Sequence | HeadKind::MultiLabel => {
                loss_sum += loss * chunk.len() as f64;
                weight += chunk.len();
                let probs =
                    if model.kind == HeadKind::MultiLabel { candle_nn::ops::sigmoid(&logits) } else { candle_nn::ops::softmax_last_dim(&logits) };
                scores.extend(probs.and_then(|p| p.to_vec2::<f32>()).map_err(inference)?);
            }
            HeadKind::Token => {
                let seq = input.seq_len();
                let targets = batch_targets(chunk, seq);
                let tagged = targets.iter().flatten().count();
                loss_sum += loss * tagged as f64;
                weight += tagged;
                let predicted: Vec<u32> = logits.argmax(D::Minus1).and_then(|p| p.flatten_all()?.to_vec1::<u32>()).map_err(inference)?;
                for (row_targets, row_predicted) in targets.chunks(seq).zip(predicted.chunks(seq)) {
                    tags.push(row_targets.iter().zip(row_predicted).filter_map(|(t, p)| t.map(|t| (t, *p))).collect());
                }
            }
        }
    }
    let outputs = match model.kind {
        HeadKind::Sequence | HeadKind::MultiLabel => Outputs::Scores(scores),
        HeadKind::Token => Outputs::Tags(tags),
    };
    Ok((loss_sum / weight.max(1) as f64, outputs))
}

fn argmax(v: &[f32]) -> usize {
    v.iter().enumerate().fold((0, f32::NEG_INFINITY), |best, (i, &x)| if x > best.1 { (i, x) } else { best }).0
}

/// An epoch's validation numbers from what the model said of the validation records.
fn score(result: &mut EpochResult, loss: f64, outputs: &Outputs, validation: &[&Example], labels: &[String]) -> Result<()> {
    result.validation_loss = Some(loss);
    match outputs {
        Outputs::Scores(scores) if validation.iter().any(|e| matches!(e.target, Target::LabelSet(_))) => {
            // Each label a yes at the core's threshold; subset accuracy and macro F1 over labels.
            let sets = |f: &dyn Fn(usize, usize) -> bool| -> Vec<Vec<bool>> {
                (0..validation.len()).map(|i| (0..labels.len()).map(|l| f(i, l)).collect()).collect()
            };
            let truth = sets(&|i, l| matches!(&validation[i].target, Target::LabelSet(set) if set.contains(&l)));
            let pred = sets(&|i, l| f64::from(scores[i][l]) >= MULTI_LABEL_THRESHOLD);
            let options = crate::analysis::metrics::EvalOptions { resamples: 0, ..Default::default() };
            let metrics = crate::analysis::metrics::multi_label(labels, &truth, &pred, MULTI_LABEL_THRESHOLD, &options);
            result.validation_accuracy = Some(metrics.subset_accuracy);
            result.validation_macro_f1 = Some(metrics.macro_f1.value);
        }
        Outputs::Scores(scores) => {
            let truth: Vec<usize> = validation.iter().map(|e| e.label()).collect();
            let pred: Vec<usize> = scores.iter().map(|s| argmax(s)).collect();
            let (accuracy, macro_f1) = accuracy_and_macro_f1(labels.len(), &truth, &pred);
            result.validation_accuracy = Some(accuracy);
            result.validation_macro_f1 = Some(macro_f1);
        }
        Outputs::Tags(records) => {
            // seqeval over each record's tagged tokens, as transformers' NER example scores.
            let mut counts = Counts::default();
            let (mut right, mut total) = (0usize, 0usize);
            for record in records {
                let truth: Vec<&str> = record.iter().map(|(t, _)| labels[*t as usize].as_str()).collect();
                let pred: Vec<&str> = record.iter().map(|(_, p)| labels[*p as usize].as_str()).collect();
                right += record.iter().filter(|(t, p)| t == p).count();
                total += record.len();
                counts.add(&entities(&truth, Mode::Default)?, &entities(&pred, Mode::Default)?);
            }
            result.validation_accuracy = Some(right as f64 / total.max(1) as f64);
            result.validation_entity_f1 = Some(counts.report().micro.f1);
        }
    }
    Ok(())
}

/// Fine-tunes `base` on `corpus`'s labels or spans into `output`; see the module doc. `progress`
/// counts optimizer steps (stage `FineTuning`); `on_epoch` hears each epoch's numbers (with
/// folds, each fold's in turn); `cancel` stops after the current step with a checkpoint
/// written (the same call goes on from it).
#[allow(clippy::too_many_arguments)]
pub fn finetune(
    store: &mut Store,
    corpus: &str,
    base: &Model,
    output: &Path,
    options: &FinetuneOptions,
    progress: &mut dyn FnMut(RunProgress),
    on_epoch: &mut dyn FnMut(&EpochResult),
    cancel: &AtomicBool,
) -> Result<FinetuneSummary> {
    options.check()?;
    let target = match options.target {
        Some(target) => target,
        None => corpus_target(store, corpus, options.source)?,
    };
    let (labels, items) = gather(store, corpus, target, options.source, base)?;
    let base_sha = sha256_file(&base.files.weights)?;
    let identity = identity(&base_sha, options, target, &labels, &items);
    if let Some(done) = check_output(output, &identity)? {
        return Ok(done);
    }
    let mut examples = Vec::with_capacity(items.len());
    for item in &items {
        let encoded = match &item.pair {
            Some(p) => base.tokenizer.encode_text_pair(&item.text, p)?,
            None => base.tokenizer.encode_single(&item.text)?,
        };
        let target = match &item.reference {
            Reference::Label(label) => Target::Label(*label),
            Reference::LabelSet(set) => Target::LabelSet(set.clone()),
            Reference::Spans(spans) => {
                let targets = token_targets(&encoded, spans, &labels);
                // An empty text has no token to learn from.
                if targets.iter().all(Option::is_none) {
                    continue;
                }
                Target::Tags(targets, item.text.clone())
            }
        };
        examples.push(Example { record_id: item.id, encoded, target });
    }
    let kind = match target {
        FinetuneTarget::Labels if items.iter().any(|i| matches!(i.reference, Reference::LabelSet(_))) => HeadKind::MultiLabel,
        FinetuneTarget::Labels => HeadKind::Sequence,
        FinetuneTarget::Spans => HeadKind::Token,
    };
    let setup = Setup { base, options, target, labels: &labels, kind };
    // The held-out records: one fold of a split stratified by label (by nothing for spans), the
    // validation share's or each of the cross-validation folds in turn.
    let y: Vec<usize> = examples.iter().map(Example::label).collect();
    let split = |fold: &[usize], held: usize| -> (Vec<&Example>, Vec<&Example>) {
        let (mut train, mut held_out) = (Vec::new(), Vec::new());
        for (example, f) in examples.iter().zip(fold) {
            if *f == held {
                held_out.push(example)
            } else {
                train.push(example)
            }
        }
        (train, held_out)
    };
    let started = Instant::now();
    if let Some(k) = options.folds {
        let k = k as usize;
        if examples.len() < k {
            return Err(Error::Input(format!("{k} folds need at least {k} labeled records; {} are labeled", examples.len())));
        }
        let fold = stratified_folds(&y, k, options.seed);
        let splits: Vec<_> = (0..k).map(|i| split(&fold, i)).collect();
        return cross_validate(store, corpus, output, &setup, &identity, &splits, progress, on_epoch, cancel);
    }
    let folds = if options.validation_share > 0.0 { ((1.0 / options.validation_share).round() as usize).max(2) } else { 0 };
    let fold = if folds > 0 { stratified_folds(&y, folds, options.seed) } else { vec![1; y.len()] };
    let (train, validation) = split(&fold, 0);
    if train.is_empty() {
        return Err(Error::Input("no labeled records are left to train on after the validation share; label more records".into()));
    }
    let total_steps = setup.total_steps(train.len());
    let mut meter = Meter::new(total_steps, progress);
    let trained = train_split(&setup, &train, &validation, output, &identity, None, &mut |s, seen| meter.report(s, seen), on_epoch, cancel)?;
    let model = &trained.model;
    let run = if validation.is_empty() {
        None
    } else {
        Some(match kind {
            HeadKind::Sequence | HeadKind::MultiLabel => {
                let scores = label_scores(model, base, &validation)?;
                let key = classifier_run_key(corpus, output, sha256_file(&output.join("model.safetensors"))?, &labels, kind);
                store_classifier_run(store, key, &labels, &validation, scores)?
            }
            HeadKind::Token => {
                let tuned = load_folder(output)?;
                let options = TagOptions::for_corpus(&tuned);
                let key = tagger_run_key(corpus, &tuned, &sha256_file(&tuned.files.weights)?, None, &options);
                match held_out_run(store, &key, RunKind::Tagger)? {
                    Ok(done) => done,
                    Err(id) => {
                        store_tagged(store, id, &tuned, options, &validation)?;
                        store.finish_run(id)?;
                        id
                    }
                }
            }
        })
    };
    let summary = setup.summary(output, (train.len(), validation.len()), trained, started.elapsed().as_secs_f64(), run);
    finish_folder(output, &identity, &summary)?;
    Ok(summary)
}

/// What every split of one fine-tune shares.
struct Setup<'a> {
    base: &'a Model,
    options: &'a FinetuneOptions,
    target: FinetuneTarget,
    labels: &'a [String],
    kind: HeadKind,
}

impl Setup<'_> {
    /// What a training into `output` on `n_train` records, scored on `n_validation`, did in
    /// `secs` of this session.
    fn summary(&self, output: &Path, (n_train, n_validation): (usize, usize), trained: Trained, secs: f64, run: Option<i64>) -> FinetuneSummary {
        FinetuneSummary {
            output: output.to_path_buf(),
            base_model: self.base.name.clone(),
            target: self.target,
            labels: self.labels.to_vec(),
            n_train,
            n_validation,
            steps: trained.steps,
            epochs: trained.epochs,
            resumed_from_step: trained.resumed_from_step,
            examples_per_sec: trained.examples_seen as f64 / secs.max(1e-9),
            run,
            options: self.options.clone(),
            new_head: trained.model.head == crate::engine::finetune::HeadSource::New,
            folds: Vec::new(),
        }
    }

    /// The optimizer steps of a training on `n_train` records.
    fn total_steps(&self, n_train: usize) -> u64 {
        n_train.div_ceil(self.options.batch_size) as u64 * u64::from(self.options.epochs)
    }
}

/// What one training did.
struct Trained {
    model: Trainable,
    steps: u64,
    epochs: Vec<EpochResult>,
    resumed_from_step: Option<u64>,
    /// Examples trained on in this session.
    examples_seen: usize,
}

/// Progress over all the steps of a fine-tune (every fold's, with folds): the rate and the time
/// left from what this session has done.
struct Meter<'a> {
    started: Instant,
    total: u64,
    first: Option<u64>,
    progress: &'a mut dyn FnMut(RunProgress),
}

impl<'a> Meter<'a> {
    fn new(total: u64, progress: &'a mut dyn FnMut(RunProgress)) -> Self {
        Self { started: Instant::now(), total, first: None, progress }
    }

    /// `done` steps of all, `seen` examples trained on in this session.
    fn report(&mut self, done: u64, seen: usize) {
        let first = *self.first.get_or_insert(done);
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let steps_rate = (done - first) as f64 / secs;
        let eta = (steps_rate > 0.0 && self.total > done).then(|| (self.total - done) as f64 / steps_rate);
        (self.progress)(RunProgress { done, total: self.total, records_per_sec: seen as f64 / secs, eta_secs: eta, stage: JobStage::FineTuning });
    }
}

/// Trains a model on `train`, each epoch scored on `validation`, in `output` (checkpoints, then
/// the model; the caller writes the summary). `report` hears the split's step and the examples
/// trained on in this session.
#[allow(clippy::too_many_arguments)]
fn train_split(
    setup: &Setup,
    train: &[&Example],
    validation: &[&Example],
    output: &Path,
    identity: &str,
    fold: Option<u32>,
    report: &mut dyn FnMut(u64, usize),
    on_epoch: &mut dyn FnMut(&EpochResult),
    cancel: &AtomicBool,
) -> Result<Trained> {
    let Setup { base, options, labels, kind, .. } = *setup;
    let model = Trainable::load(&base.files, labels, kind, options.seed)?;
    crate::engine::finetune::keep_freed_memory();
    let steps_per_epoch = train.len().div_ceil(options.batch_size) as u64;
    let total_steps = setup.total_steps(train.len());
    let settings = OptimizerSettings {
        learning_rate: options.learning_rate,
        weight_decay: options.weight_decay,
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-8,
        max_grad_norm: options.max_grad_norm,
        warmup_steps: (options.warmup_ratio * total_steps as f64).ceil() as u64,
        total_steps,
    };
    let mut optimizer = AdamW::new(&model, settings)?;
    std::fs::create_dir_all(output).map_err(|e| Error::io(output, e))?;
    let mut state = CheckpointState { identity: identity.to_string(), step: 0, epochs: Vec::new(), best_score: None, epochs_without_gain: 0 };
    let mut resumed_from_step = None;
    if let Some(dir) = last_checkpoint(output) {
        state = load_checkpoint(&dir, &model, &mut optimizer)?;
        resumed_from_step = Some(state.step);
    }

    let mut last_checkpoint = Instant::now();
    let mut examples_seen = 0usize;
    let mut stopped_early = false;
    report(state.step, 0);
    let mut epoch_losses: Vec<f64> = Vec::new();
    while state.step < total_steps && !stopped_early {
        let epoch = state.step / steps_per_epoch;
        let within = state.step % steps_per_epoch;
        let mut order: Vec<usize> = (0..train.len()).collect();
        order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(options.seed.wrapping_add(epoch)));
        let start = within as usize * options.batch_size;
        let batch_indices = &order[start..(start + options.batch_size).min(order.len())];
        let batch: Vec<&Example> = batch_indices.iter().map(|&i| train[i]).collect();
        let input = base.batch(&batch.iter().map(|e| &e.encoded).collect::<Vec<_>>())?;
        let mut masks = Masks::for_step(options.seed, state.step, model.dropouts);
        let logits = model.logits(&input, Some(&mut masks))?;
        let loss = batch_loss(&model, &logits, &batch)?;
        let loss_value = f64::from(loss.to_scalar::<f32>().map_err(|e| Error::Inference(e.to_string()))?);
        if !loss_value.is_finite() {
            return Err(Error::Inference(format!(
                "the training loss became {loss_value} at step {}; lower the learning rate and start again in a new folder",
                state.step + 1
            )));
        }
        let grads = model.gradients(&loss)?;
        optimizer.step(&model, &grads)?;
        state.step += 1;
        examples_seen += batch.len();
        epoch_losses.push(loss_value);
        report(state.step, examples_seen);
        let epoch_end = state.step.is_multiple_of(steps_per_epoch);
        if epoch_end {
            let train_loss = epoch_losses.iter().sum::<f64>() / epoch_losses.len().max(1) as f64;
            epoch_losses.clear();
            let mut result = EpochResult {
                epoch: epoch as u32 + 1,
                train_loss,
                validation_loss: None,
                validation_accuracy: None,
                validation_macro_f1: None,
                validation_entity_f1: None,
                fold,
            };
            if !validation.is_empty() {
                let (loss, outputs) = evaluate(&model, base, validation)?;
                score(&mut result, loss, &outputs, validation, labels)?;
                let value = result.score().unwrap_or(0.0);
                if state.best_score.is_none_or(|best| value > best) {
                    state.best_score = Some(value);
                    state.epochs_without_gain = 0;
                } else {
                    state.epochs_without_gain += 1;
                }
                stopped_early = options.patience.is_some_and(|p| state.epochs_without_gain >= p);
            }
            on_epoch(&result);
            state.epochs.push(result);
        }
        let cancelled = cancel.load(Ordering::Relaxed);
        // After the last step the model itself is saved next: no checkpoint is written for it.
        let finished = state.step >= total_steps || stopped_early;
        if !finished && (epoch_end || cancelled || last_checkpoint.elapsed().as_secs_f64() >= CHECKPOINT_SECS) {
            save_checkpoint(output, &model, &optimizer, &state)?;
            last_checkpoint = Instant::now();
        }
        if cancelled && state.step < total_steps {
            return Err(Error::Cancelled);
        }
    }
    model.save(output)?;
    Ok(Trained { model, steps: state.step, epochs: state.epochs, resumed_from_step, examples_seen })
}

/// Writes a finished fine-tune's summary beside its model (what makes the folder finished), and
/// removes its checkpoints.
fn finish_folder(output: &Path, identity: &str, summary: &FinetuneSummary) -> Result<()> {
    let stored = serde_json::json!({"identity": identity, "summary": summary});
    crate::fs::write(&summary_path(output), serde_json::to_string_pretty(&stored).expect("json").as_bytes())?;
    let _ = std::fs::remove_dir_all(checkpoint_dir(output));
    let _ = std::fs::remove_dir_all(output.join("checkpoint.partial"));
    Ok(())
}

/// The folder of fold `i` (from 0) of a cross-validated fine-tune.
fn fold_dir(output: &Path, i: usize) -> PathBuf {
    output.join(format!("fold-{}", i + 1))
}

/// k-fold cross-validation: fold `i`'s model trains on the other folds in `output/fold-{i+1}`
/// (a finished fold is kept, an unfinished one resumes), each epoch scored on its held-out
/// records; every record's prediction by the model that did not see it forms one out-of-fold
/// run, whose key joins the k models' weight hashes. The summary's epochs are the folds' means.
#[allow(clippy::too_many_arguments)]
fn cross_validate(
    store: &mut Store,
    corpus: &str,
    output: &Path,
    setup: &Setup,
    identity: &str,
    splits: &[(Vec<&Example>, Vec<&Example>)],
    progress: &mut dyn FnMut(RunProgress),
    on_epoch: &mut dyn FnMut(&EpochResult),
    cancel: &AtomicBool,
) -> Result<FinetuneSummary> {
    let (base, options, labels, kind) = (setup.base, setup.options, setup.labels, setup.kind);
    if splits.iter().any(|(train, held)| train.is_empty() || held.is_empty()) {
        return Err(Error::Input(format!(
            "{} folds leave a fold without records to train on or to hold out; label more records or use fewer folds",
            splits.len()
        )));
    }
    std::fs::create_dir_all(output).map_err(|e| Error::io(output, e))?;
    let note = serde_json::json!({"identity": identity, "folds": splits.len()});
    crate::fs::write(&folds_path(output), note.to_string().as_bytes())?;
    let total: u64 = splits.iter().map(|(train, _)| setup.total_steps(train.len())).sum();
    let mut meter = Meter::new(total, progress);
    let started = Instant::now();
    let (mut offset, mut seen) = (0u64, 0usize);
    let mut folds = Vec::with_capacity(splits.len());
    // Steps done before this session: finished folds', and the resumed fold's.
    let mut done_before: Option<u64> = None;
    for (i, (train, held)) in splits.iter().enumerate() {
        let dir = fold_dir(output, i);
        let fold_identity: String =
            Sha256::digest(format!("{identity}/fold {} of {}", i + 1, splits.len())).iter().map(|b| format!("{b:02x}")).collect();
        let summary = match check_output(&dir, &fold_identity)? {
            Some(done) => {
                *done_before.get_or_insert(0) += done.steps;
                meter.report(offset + done.steps, seen);
                done
            }
            None => {
                let fold_started = Instant::now();
                let trained = train_split(
                    setup,
                    train,
                    held,
                    &dir,
                    &fold_identity,
                    Some(i as u32 + 1),
                    &mut |s, n| meter.report(offset + s, seen + n),
                    on_epoch,
                    cancel,
                )?;
                if let Some(step) = trained.resumed_from_step {
                    *done_before.get_or_insert(0) += step;
                }
                seen += trained.examples_seen;
                let summary = setup.summary(&dir, (train.len(), held.len()), trained, fold_started.elapsed().as_secs_f64(), None);
                finish_folder(&dir, &fold_identity, &summary)?;
                summary
            }
        };
        offset += setup.total_steps(train.len());
        folds.push(summary);
    }

    // The out-of-fold run: each fold's model, loaded from its folder as any model is, on the
    // records it did not train on.
    let mut hashes = Sha256::new();
    for i in 0..splits.len() {
        hashes.update(sha256_file(&fold_dir(output, i).join("model.safetensors"))?.as_bytes());
    }
    let joined: String = hashes.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let run = match kind {
        HeadKind::Sequence | HeadKind::MultiLabel => {
            let key = classifier_run_key(corpus, output, joined, labels, kind);
            let mut all: Vec<(&Example, Vec<f32>)> = Vec::new();
            for (i, (_, held)) in splits.iter().enumerate() {
                let tuned = load_folder(&fold_dir(output, i))?;
                let model = Trainable::load(&tuned.files, labels, kind, options.seed)?;
                all.extend(held.iter().copied().zip(label_scores(&model, base, held)?));
            }
            let (records, scores): (Vec<&Example>, Vec<Vec<f32>>) = all.into_iter().unzip();
            store_classifier_run(store, key, labels, &records, scores)?
        }
        HeadKind::Token => {
            let tuned: Vec<Model> = (0..splits.len()).map(|i| load_folder(&fold_dir(output, i))).collect::<Result<_>>()?;
            let tag_options = TagOptions::for_corpus(&tuned[0]);
            let mut key = tagger_run_key(corpus, &tuned[0], &joined, None, &tag_options);
            key.model = output.display().to_string();
            match held_out_run(store, &key, RunKind::Tagger)? {
                Ok(done) => done,
                Err(id) => {
                    for (model, (_, held)) in tuned.iter().zip(splits) {
                        store_tagged(store, id, model, tag_options, held)?;
                    }
                    store.finish_run(id)?;
                    id
                }
            }
        }
    };

    let mean_epochs = mean_epochs(&folds);
    let summary = FinetuneSummary {
        output: output.to_path_buf(),
        base_model: base.name.clone(),
        target: setup.target,
        labels: labels.to_vec(),
        n_train: splits.iter().map(|(_, held)| held.len()).sum(),
        n_validation: splits.iter().map(|(_, held)| held.len()).sum(),
        steps: folds.iter().map(|f| f.steps).sum(),
        epochs: mean_epochs,
        resumed_from_step: done_before,
        examples_per_sec: seen as f64 / started.elapsed().as_secs_f64().max(1e-9),
        run: Some(run),
        options: options.clone(),
        new_head: folds[0].new_head,
        folds,
    };
    finish_folder(output, identity, &summary)?;
    Ok(summary)
}

/// Each epoch's numbers averaged over the folds that reached it (all of them, unless early
/// stopping ended some sooner): the cross-validated curve.
fn mean_epochs(folds: &[FinetuneSummary]) -> Vec<EpochResult> {
    let longest = folds.iter().map(|f| f.epochs.len()).max().unwrap_or(0);
    (0..longest)
        .map(|e| {
            let reached: Vec<&EpochResult> = folds.iter().filter_map(|f| f.epochs.get(e)).collect();
            let mean = |get: &dyn Fn(&EpochResult) -> Option<f64>| -> Option<f64> {
                let values: Vec<f64> = reached.iter().filter_map(|r| get(r)).collect();
                (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
            };
            EpochResult {
                epoch: e as u32 + 1,
                train_loss: mean(&|r| Some(r.train_loss)).unwrap_or(f64::NAN),
                validation_loss: mean(&|r| r.validation_loss),
                validation_accuracy: mean(&|r| r.validation_accuracy),
                validation_macro_f1: mean(&|r| r.validation_macro_f1),
                validation_entity_f1: mean(&|r| r.validation_entity_f1),
                fold: None,
            }
        })
        .collect()
}

/// A fine-tuned model's folder, loaded as any local model is.
fn load_folder(folder: &Path) -> Result<Model> {
    Model::load(&folder.display().to_string(), &Default::default(), std::sync::Arc::new(crate::engine::hub::Silent))
}

/// A classifier's label scores on `examples` (softmax, or each label's sigmoid).
fn label_scores(model: &Trainable, base: &Model, examples: &[&Example]) -> Result<Vec<Vec<f32>>> {
    let (_, outputs) = evaluate(model, base, examples)?;
    let Outputs::Scores(scores) = outputs else { unreachable!("a sequence classifier scores labels") };
    Ok(scores)
}

/// The run key of a fine-tuned classifier's predictions: the model is its output folder.
fn classifier_run_key(corpus: &str, output: &Path, weights_sha256: String, labels: &[String], kind: HeadKind) -> RunKey {
    RunKey {
        corpus: corpus.to_string(),
        model: output.display().to_string(),
        weights_sha256,
        labels: labels.to_vec(),
        template: String::new(),
        multi_label: kind == HeadKind::MultiLabel,
        strip_accents: None,
        precision: Precision::Exact,
    }
}

/// The run of a fine-tune's held-out predictions under `key`: `Ok(id)` when it is finished
/// already (the key holds the weights' hash: the same model's predictions, stored before a kill
/// kept the summary from being written), else `Err(id)` of a new, empty run (one left half
/// stored is replaced).
fn held_out_run(store: &mut Store, key: &RunKey, kind: RunKind) -> Result<std::result::Result<i64, i64>> {
    let run = store.open_run_as(key, kind)?;
    if run.finished_at.is_some() {
        return Ok(Ok(run.id));
    }
    if run.predictions > 0 {
        store.delete_run(run.id)?;
        return Ok(Err(store.open_run_as(key, kind)?.id));
    }
    Ok(Err(run.id))
}

/// Label scores of `records`, stored as a finished classifier run under `key`.
fn store_classifier_run(store: &mut Store, key: RunKey, labels: &[String], records: &[&Example], scores: Vec<Vec<f32>>) -> Result<i64> {
    let run = match held_out_run(store, &key, RunKind::Classifier)? {
        Ok(done) => return Ok(done),
        Err(id) => store.run(id)?,
    };
    let rows: Vec<PredictionRow> = records
        .iter()
        .zip(scores)
        .map(|(e, s)| {
            let mut order: Vec<usize> = (0..s.len()).collect();
            order.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
            PredictionRow {
                record_id: e.record_id,
                labels: order.iter().map(|&i| labels[i].clone()).collect(),
                scores: order.iter().map(|&i| s[i]).collect(),
            }
        })
        .collect();
    store.save_predictions(run.id, "", &[], &rows)?;
    store.finish_run(run.id)?;
    Ok(run.id)
}

/// `records` tagged by the fine-tuned tagger through the token-classification pipeline with a
/// corpus run's options, saved into tagging run `run`.
fn store_tagged(store: &mut Store, run: i64, tuned: &Model, options: TagOptions, records: &[&Example]) -> Result<()> {
    let tagger = TokenTagger::new(tuned)?;
    for chunk in records.chunks(32) {
        let texts: Vec<&str> = chunk.iter().map(|e| if let Target::Tags(_, text) = &e.target { text.as_str() } else { "" }).collect();
        let taggings = tagger.tag_batch(&texts, options)?;
        let records: Vec<_> = chunk.iter().zip(&texts).zip(taggings).map(|((e, text), tagging)| tagged_record(e.record_id, text, tagging)).collect();
        store.save_tagged(run, &records)?;
    }
    Ok(())
}
