//! The `selectra` command line: a thin adapter over the library. Each subcommand parses its
//! arguments, calls one library function, and prints the result (a table, or JSON with `--json`).
//! Errors go to stderr as one line and the process exits non-zero; stdout stays parseable.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use selectra::hub::{self, DownloadObserver, HubSettings};
use selectra::inspect::{self, Inspection};
use selectra::model::{LoadOptions, Model};
use selectra::tokenize::TokenizerOptions;
use selectra::zeroshot::{ZeroShotClassifier, ZeroShotResult, ZeroShotTask, DEFAULT_TEMPLATE};

#[derive(Parser)]
#[command(name = "selectra", version, about = "SELECTRA (Spanish ELECTRA) models from the command line")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Per-token discriminator scores: which tokens look replaced?
    Inspect {
        /// A model folder, or a Hub id ORG/NAME[@REVISION] (e.g. Recognai/selectra_small).
        #[arg(long)]
        model: String,
        /// Override the tokenizer's accent stripping (the SELECTRA card recommends false).
        #[arg(long, value_name = "true|false")]
        strip_accents: Option<bool>,
        /// Merge subwords into words (a word scores as its most suspicious token).
        #[arg(long, conflicts_with = "json")]
        words: bool,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// The text to inspect.
        text: String,
    },
    /// Zero-shot classification with an NLI model, as transformers' pipeline computes it.
    Zeroshot {
        /// An NLI model folder or Hub id (e.g. Recognai/zeroshot_selectra_medium).
        #[arg(long)]
        model: String,
        /// Comma-separated candidate labels.
        #[arg(long)]
        labels: String,
        /// Hypothesis template; {} is replaced by each label.
        #[arg(long, default_value = DEFAULT_TEMPLATE)]
        template: String,
        /// Score each label independently instead of making labels compete.
        #[arg(long)]
        multi_label: bool,
        /// Override the tokenizer's accent stripping.
        #[arg(long, value_name = "true|false")]
        strip_accents: Option<bool>,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// The text to classify.
        text: String,
    },
    /// The preset models and what the Hugging Face cache holds.
    Models {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> selectra::Result<()> {
    match command {
        Command::Inspect { model, strip_accents, words, json, text } => {
            let model = load(&model, strip_accents)?;
            let inspection = inspect::inspect(&model, &text)?;
            if inspection.truncated {
                eprintln!("warning: the text is longer than the model's {} tokens; only its beginning was scored", model.tokenizer.max_length());
            }
            if json {
                print_json(&inspection);
            } else if words {
                print_words(&inspection);
            } else {
                print_tokens(&inspection);
            }
        }
        Command::Zeroshot { model, labels, template, multi_label, strip_accents, json, text } => {
            let task = ZeroShotTask::new(ZeroShotTask::parse_labels(&labels), &template, multi_label)?;
            let model = load(&model, strip_accents)?;
            let classifier = ZeroShotClassifier::new(&model)?;
            if classifier.entailment_guessed {
                eprintln!(
                    "warning: no class of {} is named entailment; using class {} as entailment (results may be meaningless)",
                    model.name,
                    classifier.entailment_id()
                );
            }
            let result = classifier.classify(&text, &task)?;
            if json {
                print_json(&result);
            } else {
                print_scores(&result);
            }
        }
        Command::Models { json } => list_models(json)?,
    }
    Ok(())
}

fn load(spec: &str, strip_accents: Option<bool>) -> selectra::Result<Model> {
    let options = LoadOptions { tokenizer: TokenizerOptions { strip_accents }, hub: HubSettings::from_env() };
    Model::load(spec, &options, Arc::new(DownloadBar::new()))
}

/// A download progress bar on stderr. It appears only while bytes are actually being fetched
/// (cache hits report completion and nothing else) and only when stderr is a terminal.
struct DownloadBar {
    bar: ProgressBar,
    shown: AtomicBool,
}

impl DownloadBar {
    fn new() -> Self {
        let bar = ProgressBar::hidden();
        bar.set_style(
            ProgressStyle::with_template("{msg:30} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
                .expect("valid template"),
        );
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

fn print_json<T: serde::Serialize>(value: &T) {
    let text = serde_json::to_string(value).expect("plain data serializes");
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}

fn print_tokens(inspection: &Inspection) {
    let width = inspection.tokens.iter().map(|t| t.token.chars().count()).max().unwrap_or(5).max(5);
    println!("{:width$}  {:>9}  {:>8}  {:>11}", "token", "chars", "logit", "P(replaced)");
    for t in &inspection.tokens {
        let flag = if t.probability > 0.5 { "  <- looks replaced" } else { "" };
        println!("{:width$}  {:>9}  {:>8.4}  {:>11.4}{flag}", t.token, format!("{}-{}", t.start, t.end), t.logit, t.probability);
    }
}

fn print_words(inspection: &Inspection) {
    let words = inspection.words();
    let width = words.iter().map(|w| w.text.chars().count()).max().unwrap_or(4).max(4);
    println!("{:width$}  {:>9}  {:>11}", "word", "chars", "P(replaced)");
    for w in &words {
        let flag = if w.probability > 0.5 { "  <- looks replaced" } else { "" };
        println!("{:width$}  {:>9}  {:>11.4}{flag}", w.text, format!("{}-{}", w.start, w.end), w.probability);
    }
}

fn print_scores(result: &ZeroShotResult) {
    let width = result.labels.iter().map(|l| l.chars().count()).max().unwrap_or(5).max(5);
    println!("{:width$}  {:>6}", "label", "score");
    for (label, score) in result.labels.iter().zip(&result.scores) {
        let bar = "#".repeat((score * 30.0).round() as usize);
        println!("{label:width$}  {score:>6.4}  {bar}");
    }
}

fn list_models(json: bool) -> selectra::Result<()> {
    let settings = HubSettings::from_env();
    let cached = hub::cached_repos(&settings)?;
    #[derive(serde::Serialize)]
    struct Row {
        id: String,
        description: String,
        preset: bool,
        cached_refs: Vec<String>,
        cached_snapshots: usize,
    }
    let mut rows: Vec<Row> = hub::PRESETS
        .iter()
        .map(|(id, description)| {
            let entry = cached.iter().find(|c| c.repo == *id);
            Row {
                id: id.to_string(),
                description: description.to_string(),
                preset: true,
                cached_refs: entry.map(|c| c.refs.clone()).unwrap_or_default(),
                cached_snapshots: entry.map_or(0, |c| c.snapshots),
            }
        })
        .collect();
    for c in cached.iter().filter(|c| !hub::PRESETS.iter().any(|(id, _)| *id == c.repo)) {
        rows.push(Row { id: c.repo.clone(), description: String::new(), preset: false, cached_refs: c.refs.clone(), cached_snapshots: c.snapshots });
    }
    if json {
        print_json(&serde_json::json!({ "cache": settings.cache_dir, "models": rows }));
        return Ok(());
    }
    println!("Hugging Face cache: {}", settings.cache_dir.display());
    let width = rows.iter().map(|r| r.id.len()).max().unwrap_or(2);
    println!("{:width$}  {:<18}  description", "model", "cached");
    for r in &rows {
        let cached = if r.cached_snapshots == 0 { "no".to_string() } else { format!("yes ({})", r.cached_refs.join(", ")) };
        println!("{:width$}  {:<18}  {}", r.id, cached, r.description);
    }
    Ok(())
}
