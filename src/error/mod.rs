//! The library's one error type.
//!
//! Every failure a user can cause or meet (a bad model folder, a model that is not cached while
//! offline, a label list with a duplicate, a truncated weights file) becomes one `Error` whose
//! message says what was wrong and what to do. Front ends branch on [`Error::code`], a closed set,
//! and show the message; they never parse it. A library that panics on damaged input instead of
//! returning an error is called through [`panic_guard`], which turns the panic into one.

pub mod panic_guard;

use std::path::{Path, PathBuf};

/// A closed set of error kinds, stable for front ends (the CLI's exit code, the app's `{code, message}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The `--model` value is neither an existing folder nor a well-formed Hub id.
    ModelSpec,
    /// A file the model needs is missing (folder, cache or Hub repository).
    MissingFile,
    /// The model is not in the cache and the Hub may not or cannot be reached.
    NotCached,
    /// Talking to the Hub failed (network, authentication, unknown repository or revision).
    Download,
    /// config.json is unreadable, malformed, or describes something we do not support.
    Config,
    /// The model type, architecture or setting is valid but not supported by this version.
    Unsupported,
    /// The weights file is corrupt, truncated, or does not match config.json.
    Weights,
    /// The tokenizer files are missing, malformed, or inconsistent.
    Tokenizer,
    /// The user's input (text, labels, template) cannot be used.
    Input,
    /// The tensor computation failed; this is a bug or a resource problem, not bad input.
    Inference,
    /// Reading or writing a file failed.
    Io,
    /// The project database cannot be opened or written.
    Database,
    /// A corpus file has bad rows or cannot be imported.
    Import,
    /// The user cancelled long work; nothing half-done was kept.
    Cancelled,
    /// A chart or report could not be built.
    Report,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    ModelSpec(String),

    #[error("{}: {what}. {hint}", path.display())]
    MissingFile { path: PathBuf, what: String, hint: String },

    #[error(
        "model {model} is not in the Hugging Face cache at {} and the Hub cannot be used ({reason}). \
         Run the same command once with network access (and without HF_HUB_OFFLINE=1), \
         or use a local folder with the model's files.",
        cache.display()
    )]
    NotCached { model: String, cache: PathBuf, reason: String },

    #[error("could not fetch {file} of {model} from the Hub: {message}")]
    Download { model: String, file: String, message: String },

    /// A dataset repository on the Hub could not be read or written.
    #[error("Hub dataset {repo}: {message}")]
    Hub { repo: String, message: String },

    #[error(
        "Hub dataset {repo} is not in the Hugging Face cache at {} and the Hub cannot be used ({reason}). \
         Pull it once with network access (and without HF_HUB_OFFLINE=1).",
        cache.display()
    )]
    DatasetNotCached { repo: String, cache: PathBuf, reason: String },

    #[error("{}: {message}", path.display())]
    Config { path: PathBuf, message: String },

    #[error("{what} is not supported; supported: {supported}")]
    Unsupported { what: String, supported: String },

    #[error("{}: {message}", path.display())]
    Weights { path: PathBuf, message: String },

    #[error("{}: {message}", path.display())]
    Tokenizer { path: PathBuf, message: String },

    #[error("{0}")]
    Input(String),

    #[error("model computation failed: {0}")]
    Inference(String),

    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },

    #[error("{}: {message}", path.display())]
    Database { path: PathBuf, message: String },

    #[error("{}: {message}", path.display())]
    Import { path: PathBuf, message: String },

    #[error("cancelled")]
    Cancelled,

    #[error("{0}")]
    Report(String),

    /// An error that one of the user's settings fixes: the error as it is (message and code
    /// unchanged), and the settings to change, most relevant first. The core never names a flag
    /// or a field; each front end maps a [`Setting`] to its own control.
    #[error("{error}")]
    Setting { settings: Vec<Setting>, error: Box<Error> },
}

/// A setting a person changes to fix an error ([`Error::fixed_by`]): the CLI names its flag, the
/// app focuses its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Setting {
    /// Which column (or JSON field) of an import holds the text.
    TextColumn,
    /// Which column (or JSON field) holds a pair's second text.
    TextPairColumn,
    /// Which column (or JSON field) holds a record's reference entity spans.
    SpansColumn,
    IdColumn,
    LabelColumn,
    MetadataColumns,
    /// The import file's format (csv, tsv, jsonl, txt, conll or parquet).
    Format,
    /// A new corpus's name.
    CorpusName,
    /// Which corpus of the project.
    Corpus,
    /// The longest record an import takes.
    MaxRecordBytes,
    BatchSize,
    /// Importing the good rows of a file with bad ones.
    SkipBad,
    /// The corpus's label schema.
    LabelSchema,
    /// A Hub dataset id (`ORG/NAME[@REVISION]`), to pull from or push to.
    HubDataset,
    /// Which config of a Hub dataset.
    HubConfig,
    /// Which split of a Hub dataset.
    HubSplit,
}

impl Error {
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::ModelSpec(_) => ErrorCode::ModelSpec,
            Error::MissingFile { .. } => ErrorCode::MissingFile,
            Error::NotCached { .. } => ErrorCode::NotCached,
            Error::Download { .. } | Error::Hub { .. } => ErrorCode::Download,
            Error::DatasetNotCached { .. } => ErrorCode::NotCached,
            Error::Config { .. } => ErrorCode::Config,
            Error::Unsupported { .. } => ErrorCode::Unsupported,
            Error::Weights { .. } => ErrorCode::Weights,
            Error::Tokenizer { .. } => ErrorCode::Tokenizer,
            Error::Input(_) => ErrorCode::Input,
            Error::Inference(_) => ErrorCode::Inference,
            Error::Io { .. } => ErrorCode::Io,
            Error::Database { .. } => ErrorCode::Database,
            Error::Import { .. } => ErrorCode::Import,
            Error::Cancelled => ErrorCode::Cancelled,
            Error::Report(_) => ErrorCode::Report,
            Error::Setting { error, .. } => error.code(),
        }
    }

    /// This error, marked as fixed by `setting` (added after any it already names).
    pub fn fixed_by(self, setting: Setting) -> Self {
        match self {
            Error::Setting { mut settings, error } => {
                if !settings.contains(&setting) {
                    settings.push(setting);
                }
                Error::Setting { settings, error }
            }
            error => Error::Setting { settings: vec![setting], error: Box::new(error) },
        }
    }

    /// The settings that fix this error, most relevant first; empty for most errors.
    pub fn settings(&self) -> &[Setting] {
        match self {
            Error::Setting { settings, .. } => settings,
            _ => &[],
        }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io { path: path.to_path_buf(), source }
    }

    pub(crate) fn config(path: &Path, message: impl Into<String>) -> Self {
        Error::Config { path: path.to_path_buf(), message: message.into() }
    }

    pub(crate) fn weights(path: &Path, message: impl Into<String>) -> Self {
        Error::Weights { path: path.to_path_buf(), message: message.into() }
    }

    pub(crate) fn tokenizer(path: &Path, message: impl Into<String>) -> Self {
        Error::Tokenizer { path: path.to_path_buf(), message: message.into() }
    }
}

/// Tensor code only fails on shapes we built ourselves, so a candle error at inference time is a
/// bug or an exhausted resource; it is reported as such rather than blamed on the user's input.
impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Inference(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The longest piece of the user's input a message quotes, in characters.
pub const QUOTE_CHARS: usize = 200;

/// `value` quoted for a message (`{:?}`, so control characters are escaped), cut to
/// [`QUOTE_CHARS`] with the length of what was left out: an error about a 200 MB id or a list of
/// millions of labels stays one readable line.
pub fn quoted(value: &str) -> String {
    let total = value.chars().count();
    if total <= QUOTE_CHARS {
        return format!("{value:?}");
    }
    let head: String = value.chars().take(QUOTE_CHARS).collect();
    format!("{head:?}… ({} characters in all)", total)
}

/// A message part that may quote input (a library's parse error, a list of numbers), cut to
/// [`MESSAGE_CHARS`] characters.
pub fn shortened(text: &str) -> String {
    if text.chars().count() <= MESSAGE_CHARS {
        return text.to_string();
    }
    let head: String = text.chars().take(MESSAGE_CHARS).collect();
    format!("{head}… (cut)")
}

/// The longest message part [`shortened`] keeps.
pub const MESSAGE_CHARS: usize = 500;

/// A list of the user's values for a message: at most ten, each [`quoted`], and how many more.
pub fn quoted_list<S: AsRef<str>>(values: &[S]) -> String {
    const SHOWN: usize = 10;
    let mut parts: Vec<String> = values.iter().take(SHOWN).map(|v| quoted(v.as_ref())).collect();
    if values.len() > SHOWN {
        parts.push(format!("… {} more", values.len() - SHOWN));
    }
    format!("[{}]", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_short_and_escaped() {
        assert_eq!(quoted("a\nb"), "\"a\\nb\"");
        let long = "x".repeat(1_000_000);
        let q = quoted(&long);
        assert!(q.len() < QUOTE_CHARS + 40 && q.ends_with("(1000000 characters in all)"), "{q}");
        let many: Vec<String> = (0..5_000_000).map(|i| i.to_string()).collect();
        let l = quoted_list(&many);
        assert!(l.len() < 200 && l.ends_with("… 4999990 more]"), "{l}");
        assert_eq!(quoted_list(&["a", "b"]), "[\"a\", \"b\"]");
    }
}
