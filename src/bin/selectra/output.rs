//! What every command shares: progress bars, Ctrl-C, JSON printing, loading a model with a
//! download bar.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use selectra::domain::progress::RunProgress;
use selectra::engine::hub::{DownloadObserver, HubSettings};
use selectra::engine::model::{LoadOptions, Model};
use selectra::engine::tokenize::TokenizerOptions;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Loads a model, showing a download bar on stderr while files are fetched.
pub(crate) fn load(spec: &str, strip_accents: Option<bool>) -> selectra::Result<Model> {
    let options = LoadOptions { tokenizer: TokenizerOptions { strip_accents }, hub: HubSettings::from_env() };
    Model::load(spec, &options, Arc::new(DownloadBar::new()))
}

/// A download progress bar on stderr. It appears only while bytes are actually being fetched
/// (cache hits report completion and nothing else) and only when stderr is a terminal.
pub(crate) struct DownloadBar {
    bar: ProgressBar,
    shown: AtomicBool,
}

impl DownloadBar {
    pub(crate) fn new() -> Self {
        let bar = ProgressBar::hidden();
        bar.set_style(ProgressStyle::with_template("{msg:30} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} {eta}").expect("valid template"));
        Self { bar, shown: AtomicBool::new(false) }
    }
}

impl DownloadObserver for DownloadBar {
    fn progress(&self, file: &str, done: u64, total: u64) {
        if done < total && std::io::stderr().is_terminal() && !self.shown.swap(true, Ordering::Relaxed) {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.bar.enable_steady_tick(Duration::from_millis(200));
        }
        self.bar.set_message(file.to_string());
        self.bar.set_length(total.max(done));
        self.bar.set_position(done);
    }
}

impl Drop for DownloadBar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// Ctrl-C asks long work to stop at the next safe point (the current batch is kept).
pub(crate) fn cancel_on_ctrl_c() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    // Failing to install the handler only means Ctrl-C kills the process, which is still safe.
    let _ = ctrlc::set_handler(move || handler_flag.store(true, Ordering::Relaxed));
    flag
}

/// A progress bar for long work on stderr, drawn only on a terminal.
pub(crate) struct TaskBar {
    bar: ProgressBar,
}

impl TaskBar {
    pub(crate) fn new(template: &str) -> Self {
        let bar = if std::io::stderr().is_terminal() { ProgressBar::new(0) } else { ProgressBar::hidden() };
        bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
        Self { bar }
    }

    /// Prints around the bar (it is hidden, then drawn again).
    pub(crate) fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    pub(crate) fn update(&self, position: u64, length: u64, message: &str) {
        self.bar.set_length(length);
        self.bar.set_position(position);
        self.bar.set_message(message.to_string());
    }
}

impl Drop for TaskBar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

pub(crate) fn print_json<T: serde::Serialize>(value: &T) {
    let text = serde_json::to_string(value).expect("plain data serializes");
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}

/// A corpus job's progress (a run, a scan) on its bar: records done, rate and ETA.
/// Runs a corpus job (a zero-shot run, a scan, an embedding set) with a progress bar and Ctrl-C
/// as its cancel; the bar is gone when it returns.
pub(crate) fn with_job_progress<T>(job: impl FnOnce(&mut dyn FnMut(RunProgress), &AtomicBool) -> selectra::Result<T>) -> selectra::Result<T> {
    let bar = TaskBar::new("{bar:30} {pos}/{len} records  {msg}");
    let cancel = cancel_on_ctrl_c();
    let mut progress = job_progress(&bar);
    let result = job(&mut progress, &cancel);
    drop(progress);
    result
}

/// Prints a corpus job's summary: JSON, or a line saying it is complete or how far it got; a
/// cancelled job ends the command as cancelled (the same command resumes it).
pub(crate) fn report_job(summary: &impl serde::Serialize, json: bool, cancelled: bool, stopped_at: String, complete: String) -> selectra::Result<()> {
    if json {
        print_json(summary);
    } else if cancelled {
        out!("cancelled: {stopped_at}; run the same command to resume");
    } else {
        out!("{complete}");
    }
    if cancelled {
        return Err(selectra::Error::Cancelled);
    }
    Ok(())
}

pub(crate) fn job_progress(bar: &TaskBar) -> impl FnMut(RunProgress) + '_ {
    |p| {
        let eta = p.eta_secs.map(|s| format!("{:.1} rec/s, ETA {}s", p.records_per_sec, s.round())).unwrap_or_default();
        let message = match p.stage.description() {
            None => eta,
            Some(stage) => format!("{stage}  {eta}"),
        };
        bar.update(p.done, p.total, &message);
    }
}
