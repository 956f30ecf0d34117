//! Progress and cancel as values: what a long piece of work is doing ([`JobStage`]), how far it
//! is ([`RunProgress`]), and [`Watch`], which counts steps, reports at most every 100 ms and stops
//! the work once cancel is set. Every floor's long work speaks these; front ends show them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::Serialize;

use crate::error::{Error, Result};

/// How far a job is.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RunProgress {
    /// Records with a prediction in this run, including those from earlier sessions (while
    /// checking the fast mode: records of the sample compared).
    pub done: u64,
    pub total: u64,
    /// Throughput of this session.
    pub records_per_sec: f64,
    pub eta_secs: Option<f64>,
    pub stage: JobStage,
}

/// What a job is doing while it reports progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStage {
    /// Computing and storing the job's results.
    #[default]
    Computing,
    /// Comparing the fast mode with exact f32 on a sample, before a fast run starts.
    CheckingPrecision,
    /// Embedding the records a head is trained on (`done` counts records).
    Embedding,
    /// Training a head: choosing its objective, cross-validating, fitting (`done` counts model
    /// fits).
    Training,
    /// Fine-tuning a model (`done` counts optimizer steps).
    FineTuning,
    /// Writing a corpus out (`done` counts records).
    Exporting,
    /// Reading the records and scoring runs against the reference labels (`done` counts records).
    Evaluating,
    /// Drawing and writing a report's figures (`done` counts figures).
    Reporting,
}

impl JobStage {
    /// What front ends show next to the progress, if anything besides the count.
    pub fn description(self) -> Option<&'static str> {
        match self {
            JobStage::Computing => None,
            JobStage::CheckingPrecision => Some("checking bf16 against exact"),
            JobStage::Embedding => Some("embedding the records"),
            JobStage::Training => Some("training the classifier"),
            JobStage::FineTuning => Some("fine-tuning the model"),
            JobStage::Exporting => Some("writing the export"),
            JobStage::Evaluating => Some("scoring the runs"),
            JobStage::Reporting => Some("drawing the figures"),
        }
    }
}

/// Progress and cancel for long work that is not a corpus job (an export, an evaluation, a
/// report, a training): it counts what is done, reports at most every 100 ms (and always when a
/// stage ends), and stops the work with [`Error::Cancelled`] at its next tick once cancel is set.
/// [`Watch::none`] watches nothing, for callers without a front end.
pub struct Watch<'a> {
    stage: JobStage,
    done: u64,
    total: u64,
    started: Instant,
    last: Option<Instant>,
    report: Option<&'a mut dyn FnMut(RunProgress)>,
    cancel: Option<&'a AtomicBool>,
}

impl<'a> Watch<'a> {
    pub fn new(report: &'a mut dyn FnMut(RunProgress), cancel: &'a AtomicBool) -> Self {
        Watch { stage: JobStage::Computing, done: 0, total: 0, started: Instant::now(), last: None, report: Some(report), cancel: Some(cancel) }
    }

    /// Watches nothing: ticks never stop the work.
    pub fn none() -> Watch<'static> {
        Watch { stage: JobStage::Computing, done: 0, total: 0, started: Instant::now(), last: None, report: None, cancel: None }
    }

    /// Starts a stage of `total` steps (reported at once).
    pub fn stage(&mut self, stage: JobStage, total: u64) -> Result<()> {
        self.stage = stage;
        self.done = 0;
        self.total = total;
        self.started = Instant::now();
        self.last = None;
        self.advance(0)
    }

    /// One step done.
    pub fn tick(&mut self) -> Result<()> {
        self.advance(1)
    }

    /// `n` steps done; `Err(Cancelled)` once cancel is set.
    pub fn advance(&mut self, n: u64) -> Result<()> {
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(Error::Cancelled);
        }
        self.done += n;
        let now = Instant::now();
        let due = self.last.is_none_or(|t| now.duration_since(t).as_millis() >= 100) || self.done >= self.total;
        if let (true, Some(report)) = (due, self.report.as_mut()) {
            self.last = Some(now);
            let secs = self.started.elapsed().as_secs_f64().max(1e-9);
            let rate = self.done as f64 / secs;
            let eta = (rate > 0.0 && self.total >= self.done).then(|| (self.total - self.done) as f64 / rate);
            report(RunProgress { done: self.done, total: self.total, records_per_sec: rate, eta_secs: eta, stage: self.stage });
        }
        Ok(())
    }
}
