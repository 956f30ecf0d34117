//! The `selectra` command line: a thin adapter over the library. Each subcommand parses its
//! arguments, calls one library function, and prints the result (a table, or JSON with `--json`).
//! Errors go to stderr as one line and the process exits non-zero; stdout stays parseable.

macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod args;
mod cmd;
mod output;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command, CorpusCommand};
use selectra::Setting;

fn main() -> ExitCode {
    selectra::engine::model::workers::keep_candle_pool_idle();
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}{}", flag_hint(&e));
            ExitCode::FAILURE
        }
    }
}

/// The flag (or command) that changes a setting the core says would fix an error. The core's
/// messages never name flags (the app shows them too); the CLI adds its own.
fn flag(setting: Setting) -> &'static str {
    match setting {
        Setting::TextColumn => "--text-column",
        Setting::TextPairColumn => "--text-pair-column",
        Setting::SpansColumn => "--spans-column",
        Setting::IdColumn => "--id-column",
        Setting::LabelColumn => "--label-column",
        Setting::MetadataColumns => "--metadata-columns",
        Setting::Format => "--format",
        Setting::CorpusName => "--name",
        Setting::Corpus => "--corpus",
        Setting::MaxRecordBytes => "--max-record-bytes",
        Setting::BatchSize => "--batch-size",
        Setting::SkipBad => "--skip-bad",
        Setting::LabelSchema => "selectra schema --labels",
        Setting::HubDataset => "--hub/--to",
        Setting::HubConfig => "--config",
        Setting::HubSplit => "--split",
    }
}

/// " (see --skip-bad, --max-record-bytes)" for an error that settings fix; empty otherwise.
fn flag_hint(error: &selectra::Error) -> String {
    let flags: Vec<&str> = error.settings().iter().map(|s| flag(*s)).collect();
    if flags.is_empty() {
        String::new()
    } else {
        format!(" (see {})", flags.join(", "))
    }
}

/// One line per command: its arguments to its function.
fn run(command: Command) -> selectra::Result<()> {
    match command {
        Command::Inspect(args) => cmd::model::inspect(args),
        Command::Zeroshot(args) => cmd::model::zeroshot(args),
        Command::Classify(args) => cmd::model::classify(args),
        Command::Tag(args) => cmd::model::tag(args),
        Command::Corpus { command: CorpusCommand::Import(args) } => cmd::corpus::corpus_import(args),
        Command::Corpus { command: CorpusCommand::List(args) } => cmd::corpus::corpus_list(args),
        Command::Corpus { command: CorpusCommand::Hub(args) } => cmd::corpus::corpus_hub(args),
        Command::Corpus { command: CorpusCommand::Push(args) } => cmd::corpus::corpus_push(args),
        Command::Run(args) => cmd::jobs::run_zeroshot(args),
        Command::Scan(args) => cmd::jobs::scan(args),
        Command::Embed(args) => cmd::jobs::embed(args),
        Command::ImportRun(args) => cmd::jobs::import_run(args),
        Command::Train(args) => cmd::jobs::train(args),
        Command::Finetune(args) => cmd::jobs::finetune(args),
        Command::Templates(args) => cmd::jobs::templates(args),
        Command::ExportHead(args) => cmd::corpus::export_head(args),
        Command::Delete(args) => cmd::corpus::delete(args),
        Command::Scans(args) => cmd::scans::scans(args),
        Command::Suspicious(args) => cmd::scans::suspicious(args),
        Command::Export(args) => cmd::corpus::export(args),
        Command::Annotate(args) => cmd::labeling::annotate(args),
        Command::Report(args) => cmd::report::report(args),
        Command::Query(args) => cmd::labeling::query(args),
        Command::Label(args) => cmd::labeling::label(args),
        Command::Schema(args) => cmd::corpus::schema(args),
        Command::Agreement(args) => cmd::labeling::agreement(args),
        Command::Issues(args) => cmd::labeling::issues(args),
        Command::Duplicates(args) => cmd::labeling::duplicates(args),
        Command::Similar(args) => cmd::labeling::similar(args),
        Command::Explain(args) => cmd::model::explain(args),
        Command::Map(args) => cmd::labeling::map(args),
        Command::Models(args) => cmd::model::models(args),
    }
}
