//! Fine-tuning a model on a corpus's labels (`engine::finetune`) as a resumable job: the
//! labeled records split into training and a stratified, seeded validation share; epochs of
//! seeded shuffled batches with the Trainer's optimizer and schedule; each epoch scored on the
//! validation records; checkpoints (weights, optimizer moments, the step) written whole into
//! the output folder, so a killed or cancelled fine-tune started again with the same settings
//! goes on from its last checkpoint to the same weights an uninterrupted one reaches. The result
//! is a folder transformers loads, and its predictions on the validation records are stored as
//! a classifier run, so Compare sets it beside zero-shot and the trained head on those records.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use candle_core::{Device, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::analysis::evaluate::LabelSource;
use crate::analysis::learn::stratified_folds;
use crate::analysis::metrics::accuracy_and_macro_f1;
use crate::domain::precision::Precision;
use crate::domain::progress::{JobStage, RunProgress};
use crate::engine::finetune::{AdamW, Masks, OptimizerSettings, Trainable};
use crate::engine::model::Model;
use crate::engine::tokenize::Encoded;
use crate::error::{Error, Result};
use crate::jobs::corpus_run::sha256_file;
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

/// How often (seconds of training) a checkpoint is written besides each epoch's end.
const CHECKPOINT_SECS: f64 = 60.0;

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
    /// Stop after this many epochs without a better validation macro F1 (none: run every epoch).
    pub patience: Option<u32>,
    pub source: LabelSource,
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
    /// On the validation records (none without them).
    pub validation_loss: Option<f64>,
    pub validation_accuracy: Option<f64>,
    pub validation_macro_f1: Option<f64>,
}

/// What a fine-tune did.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FinetuneSummary {
    pub output: PathBuf,
    pub base_model: String,
    pub labels: Vec<String>,
    pub n_train: usize,
    pub n_validation: usize,
    pub steps: u64,
    pub epochs: Vec<EpochResult>,
    /// The step a resumed fine-tune went on from (none: it started fresh).
    pub resumed_from_step: Option<u64>,
    /// Training examples per second in this session (forward, backward and optimizer).
    pub examples_per_sec: f64,
    /// The id of the classifier run of the validation records' predictions (none without them).
    pub run: Option<i64>,
    pub options: FinetuneOptions,
    /// The head was the base model's own (a classifier with these labels) or new.
    pub new_head: bool,
}

/// A training example: the record, its encoding and its label's index.
struct Example {
    record_id: i64,
    encoded: Encoded,
    label: usize,
}

/// What a checkpoint records besides the tensors.
#[derive(Debug, Serialize, Deserialize)]
struct CheckpointState {
    identity: String,
    step: u64,
    epochs: Vec<EpochResult>,
    best_macro_f1: Option<f64>,
    epochs_without_gain: u32,
}

fn checkpoint_dir(output: &Path) -> PathBuf {
    output.join("checkpoint")
}

fn summary_path(output: &Path) -> PathBuf {
    output.join("finetune.json")
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
    let mut moments = std::collections::HashMap::new();
    for (i, (name, var)) in model.parameters().iter().enumerate() {
        let tensor = |values: &[f32]| Tensor::from_slice(values, var.shape(), &Device::Cpu).map_err(|e| Error::Inference(e.to_string()));
        moments.insert(format!("m.{name}"), tensor(&optimizer.first_moments[i])?);
        moments.insert(format!("v.{name}"), tensor(&optimizer.second_moments[i])?);
    }
    let m = tmp.join("optimizer.safetensors");
    candle_core::safetensors::save(&moments, &m).map_err(|e| io(&m, e))?;
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

/// The identity of a fine-tune: the base weights, the options and the data (record, label,
/// text). A checkpoint or a finished model in the output folder with another identity is
/// another fine-tune's, never resumed or overwritten.
fn identity(base_sha: &str, options: &FinetuneOptions, labels: &[String], examples: &[(i64, String, Option<String>, usize)]) -> String {
    let mut h = Sha256::new();
    h.update(base_sha.as_bytes());
    h.update(serde_json::to_string(options).expect("json").as_bytes());
    h.update(serde_json::to_string(labels).expect("json").as_bytes());
    for (id, text, pair, label) in examples {
        h.update(id.to_le_bytes());
        h.update((*label as u64).to_le_bytes());
        h.update(text.as_bytes());
        h.update([0]);
        h.update(pair.as_deref().unwrap_or("").as_bytes());
        h.update([0]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
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
    // A folder holding only an unfinished checkpoint.partial is a fine-tune killed before its
    // first checkpoint: it starts again.
    let entries =
        std::fs::read_dir(output).map_err(|e| Error::io(output, e))?.filter_map(|e| e.ok()).filter(|e| e.file_name() != "checkpoint.partial").count();
    if entries > 0 {
        return Err(Error::Input(format!("{} is not empty; the fine-tuned model goes into a new or empty folder", output.display())));
    }
    Ok(None)
}

/// Scores `examples` without dropout: mean loss, each one's label scores (softmax).
fn evaluate(model: &Trainable, base: &Model, examples: &[&Example]) -> Result<(f64, Vec<Vec<f32>>)> {
    let mut loss_sum = 0.0;
    let mut scores = Vec::with_capacity(examples.len());
    for chunk in examples.chunks(32) {
        let input = base.batch(&chunk.iter().map(|e| &e.encoded).collect::<Vec<_>>())?;
        let logits = model.logits(&input, None)?;
        let labels: Vec<u32> = chunk.iter().map(|e| e.label as u32).collect();
        let loss = Trainable::loss(&logits, &labels)?.to_scalar::<f32>().map_err(|e| Error::Inference(e.to_string()))?;
        loss_sum += f64::from(loss) * chunk.len() as f64;
        let probs = candle_nn::ops::softmax_last_dim(&logits).and_then(|p| p.to_vec2::<f32>()).map_err(|e| Error::Inference(e.to_string()))?;
        scores.extend(probs);
    }
    Ok((loss_sum / examples.len().max(1) as f64, scores))
}

fn argmax(v: &[f32]) -> usize {
    v.iter().enumerate().fold((0, f32::NEG_INFINITY), |best, (i, &x)| if x > best.1 { (i, x) } else { best }).0
}

/// Fine-tunes `base` on `corpus`'s labels into `output`; see the module doc. `progress` counts
/// optimizer steps (stage `FineTuning`); `on_epoch` hears each epoch's numbers; `cancel` stops
/// after the current step with a checkpoint written (the same call goes on from it).
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
    let (references, labels) =
        crate::jobs::train::labeled_records_with(store, corpus, options.source, |row| (row.text.clone(), row.text_pair.clone()))?;
    if references.iter().any(|(_, l, _)| l.len() > 1) {
        return Err(Error::Unsupported {
            what: format!("fine-tuning on records with several labels (corpus {corpus:?} has some)"),
            supported: "single-label corpora (one reference label per record)".into(),
        });
    }
    let data: Vec<(i64, String, Option<String>, usize)> = references
        .into_iter()
        .map(|(id, l, (text, pair))| (id, text, pair, labels.iter().position(|x| *x == l[0]).expect("a label of the list")))
        .collect();
    let base_sha = sha256_file(&base.files.weights)?;
    let identity = identity(&base_sha, options, &labels, &data);
    if let Some(done) = check_output(output, &identity)? {
        return Ok(done);
    }
    let mut examples = Vec::with_capacity(data.len());
    for (record_id, text, pair, label) in &data {
        let encoded = match pair {
            Some(p) => base.tokenizer.encode_text_pair(text, p)?,
            None => base.tokenizer.encode_single(text)?,
        };
        examples.push(Example { record_id: *record_id, encoded, label: *label });
    }
    // The validation records: one fold of a stratified split (none with a share of 0).
    let y: Vec<usize> = examples.iter().map(|e| e.label).collect();
    let folds = if options.validation_share > 0.0 { ((1.0 / options.validation_share).round() as usize).max(2) } else { 0 };
    let fold = if folds > 0 { stratified_folds(&y, folds, options.seed) } else { vec![1; y.len()] };
    let (mut train, mut validation): (Vec<&Example>, Vec<&Example>) = (Vec::new(), Vec::new());
    for (example, f) in examples.iter().zip(&fold) {
        if *f == 0 {
            validation.push(example)
        } else {
            train.push(example)
        }
    }
    if train.is_empty() {
        return Err(Error::Input("no labeled records are left to train on after the validation share; label more records".into()));
    }

    let model = Trainable::load(&base.files, &labels, options.seed)?;
    crate::engine::finetune::keep_freed_memory();
    let steps_per_epoch = train.len().div_ceil(options.batch_size) as u64;
    let total_steps = steps_per_epoch * u64::from(options.epochs);
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
    let mut state = CheckpointState { identity: identity.clone(), step: 0, epochs: Vec::new(), best_macro_f1: None, epochs_without_gain: 0 };
    let mut resumed_from_step = None;
    if let Some(dir) = last_checkpoint(output) {
        state = load_checkpoint(&dir, &model, &mut optimizer)?;
        resumed_from_step = Some(state.step);
    }

    let started = Instant::now();
    let mut last_checkpoint = Instant::now();
    let mut examples_seen = 0usize;
    let mut stopped_early = false;
    let mut report = |step: u64, seen: usize| {
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        let rate = seen as f64 / secs;
        let steps_rate = (step - resumed_from_step.unwrap_or(0)) as f64 / secs;
        let eta = (steps_rate > 0.0 && total_steps > step).then(|| (total_steps - step) as f64 / steps_rate);
        progress(RunProgress { done: step, total: total_steps, records_per_sec: rate, eta_secs: eta, stage: JobStage::FineTuning });
    };
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
        let targets: Vec<u32> = batch.iter().map(|e| e.label as u32).collect();
        let loss = Trainable::loss(&logits, &targets)?;
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
            let mut result =
                EpochResult { epoch: epoch as u32 + 1, train_loss, validation_loss: None, validation_accuracy: None, validation_macro_f1: None };
            if !validation.is_empty() {
                let (loss, scores) = evaluate(&model, base, &validation)?;
                let truth: Vec<usize> = validation.iter().map(|e| e.label).collect();
                let pred: Vec<usize> = scores.iter().map(|s| argmax(s)).collect();
                let (accuracy, macro_f1) = accuracy_and_macro_f1(labels.len(), &truth, &pred);
                result.validation_loss = Some(loss);
                result.validation_accuracy = Some(accuracy);
                result.validation_macro_f1 = Some(macro_f1);
                if state.best_macro_f1.is_none_or(|best| macro_f1 > best) {
                    state.best_macro_f1 = Some(macro_f1);
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
        if epoch_end || cancelled || last_checkpoint.elapsed().as_secs_f64() >= CHECKPOINT_SECS {
            save_checkpoint(output, &model, &optimizer, &state)?;
            last_checkpoint = Instant::now();
        }
        if cancelled && state.step < total_steps {
            return Err(Error::Cancelled);
        }
    }
    let examples_per_sec = examples_seen as f64 / started.elapsed().as_secs_f64().max(1e-9);

    // The model, then its predictions on the validation records as a classifier run.
    model.save(output)?;
    let run = if validation.is_empty() {
        None
    } else {
        let (_, scores) = evaluate(&model, base, &validation)?;
        let key = RunKey {
            corpus: corpus.to_string(),
            model: output.display().to_string(),
            weights_sha256: sha256_file(&output.join("model.safetensors"))?,
            labels: labels.clone(),
            template: String::new(),
            multi_label: false,
            strip_accents: None,
            precision: Precision::Exact,
        };
        let run = store.open_run_as(&key, RunKind::Classifier)?;
        let rows: Vec<PredictionRow> = validation
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
        Some(run.id)
    };
    let summary = FinetuneSummary {
        output: output.to_path_buf(),
        base_model: base.name.clone(),
        labels,
        n_train: train.len(),
        n_validation: validation.len(),
        steps: state.step,
        epochs: state.epochs,
        resumed_from_step,
        examples_per_sec,
        run,
        options: options.clone(),
        new_head: model.head == crate::engine::finetune::HeadSource::New,
    };
    let stored = serde_json::json!({"identity": identity, "summary": summary});
    crate::fs::write(&summary_path(output), serde_json::to_string_pretty(&stored).expect("json").as_bytes())?;
    let _ = std::fs::remove_dir_all(checkpoint_dir(output));
    let _ = std::fs::remove_dir_all(output.join("checkpoint.partial"));
    Ok(summary)
}
