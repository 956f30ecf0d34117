//! Reading corpora from CSV, TSV, JSONL, plain-text and CoNLL files, streamed row by row.
//!
//! The parser turns a file into a stream of [`ImportItem`]s: a record, or a bad row with its line
//! number and what is wrong with it. Problems with the file as a whole (unreadable, empty, a
//! header without the chosen columns) are errors. The store decides what bad rows mean: roll the
//! import back, or skip them (`--skip-bad`). Nothing is held in memory beyond the current row.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::dataset::HubOrigin;
use crate::domain::labels::LabelSchema;
use crate::domain::spans::{entities, parse_spans, Mode, Span};
use crate::error::{Error, Result, Setting};
pub use crate::store::{BadRow, ImportItem, ImportOutcome};

mod columnar;
use crate::store::{NewRecord, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Tsv,
    Jsonl,
    Txt,
    /// CoNLL / IOB2: a token and its tag per line (tag last), a blank line between sentences;
    /// each sentence is a record (its tokens joined by spaces) with its entities as reference
    /// spans.
    Conll,
    /// Parquet: columns chosen as in JSONL (a row read as an object); nested values (a list of
    /// span structs) as their JSON.
    Parquet,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Jsonl => "jsonl",
            Format::Txt => "txt",
            Format::Conll => "conll",
            Format::Parquet => "parquet",
        }
    }

    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "csv" => Format::Csv,
            "tsv" => Format::Tsv,
            "jsonl" | "ndjson" => Format::Jsonl,
            "txt" | "text" => Format::Txt,
            "conll" | "iob" | "iob2" | "bio" => Format::Conll,
            "parquet" | "pq" => Format::Parquet,
            other => return Err(Error::Input(format!("unknown format {other:?}; use {FORMATS}"))),
        })
    }

    /// Whether records come from chosen columns (or JSON fields): plain text and CoNLL have none.
    pub fn has_columns(self) -> bool {
        matches!(self, Format::Csv | Format::Tsv | Format::Jsonl | Format::Parquet)
    }

    /// The format a file's extension implies, if any.
    pub fn from_path(path: &Path) -> Option<Self> {
        Format::parse(path.extension()?.to_str()?).ok()
    }
}

/// The formats import reads, as messages name them.
const FORMATS: &str = "csv, tsv, jsonl, txt, conll or parquet";

/// What to import and how to read it.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub name: String,
    /// Taken from the file extension when not given.
    pub format: Option<Format>,
    /// Defaults to "text" (or the only column of a one-column file).
    pub text_column: Option<String>,
    /// The second text of a sentence-pair corpus (CSV, TSV and JSONL only).
    pub text_pair_column: Option<String>,
    pub id_column: Option<String>,
    pub label_column: Option<String>,
    /// A record's reference entity spans (CSV, TSV and JSONL): a list of `{"start", "end",
    /// "label"}` or `[start, end, label]` in characters of the text (see
    /// `domain::spans::parse_spans`).
    pub spans_column: Option<String>,
    pub metadata_columns: Vec<String>,
    pub skip_bad: bool,
    /// The longest record accepted, in bytes of the source row; longer ones are bad rows.
    /// `None`: [`DEFAULT_MAX_RECORD_BYTES`].
    pub max_record_bytes: Option<usize>,
}

/// The default cap on one record's size: far above any text a model reads whole (512 tokens are
/// a few kilobytes), low enough that a broken file cannot fill memory one "line" at a time.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1 << 20;

/// How much of a file the import preview reads at most.
pub const PREVIEW_BYTES: u64 = 1 << 20;

impl ImportOptions {
    fn record_limit(&self) -> usize {
        self.max_record_bytes.unwrap_or(DEFAULT_MAX_RECORD_BYTES)
    }
}

fn too_long(line: u64, limit: usize) -> BadRow {
    BadRow::fixed_by(line, format!("the record is longer than {limit} bytes (the per-record limit)"), Setting::MaxRecordBytes)
}

/// Progress of an import: bytes of the file read so far, and records stored.
#[derive(Debug, Clone, Copy)]
pub struct ImportProgress {
    pub bytes_read: u64,
    pub total_bytes: u64,
    pub records: u64,
}

/// Counts the bytes that pass through (for progress) and follows their quoting (for the
/// unclosed-quote check).
struct Counting<R> {
    inner: R,
    bytes: Arc<AtomicU64>,
    quotes: Arc<QuoteTracker>,
}

/// Follows CSV quoting byte by byte as RFC 4180 and the csv crate read it, to tell at the end
/// of the file whether a quoted field was left open (the csv reader takes an unclosed quote as
/// "the field runs to the end of the file"). A `"` opens a quoted field only at the start of a
/// field; inside an unquoted field (`He is 6" tall`) it is a literal character, as in the csv
/// crate and Python's `csv` module.
pub struct QuoteTracker {
    delimiter: u8,
    state: std::sync::atomic::AtomicU8,
    /// Whether the input has ended (a read returned no bytes).
    ended: AtomicBool,
}

impl QuoteTracker {
    const FIELD_START: u8 = 0;
    const UNQUOTED: u8 = 1;
    const QUOTED: u8 = 2;
    /// A `"` inside a quoted field: the field's end, or the first half of `""`.
    const QUOTE_IN_QUOTED: u8 = 3;

    pub fn new(format: Format) -> Self {
        Self {
            delimiter: if format == Format::Tsv { b'\t' } else { b',' },
            state: std::sync::atomic::AtomicU8::new(Self::FIELD_START),
            ended: AtomicBool::new(false),
        }
    }

    /// Follows `bytes`, the next bytes of the input; no bytes is the end of the input.
    pub fn feed(&self, bytes: &[u8]) {
        if bytes.is_empty() {
            self.ended.store(true, Ordering::Relaxed);
        }
        let mut state = self.state.load(Ordering::Relaxed);
        for &b in bytes {
            let ends_field = b == self.delimiter || b == b'\n' || b == b'\r';
            state = match state {
                Self::FIELD_START if b == b'"' => Self::QUOTED,
                Self::FIELD_START | Self::UNQUOTED if ends_field => Self::FIELD_START,
                Self::FIELD_START | Self::UNQUOTED => Self::UNQUOTED,
                Self::QUOTED if b == b'"' => Self::QUOTE_IN_QUOTED,
                Self::QUOTED => Self::QUOTED,
                _ if b == b'"' => Self::QUOTED,
                _ if ends_field => Self::FIELD_START,
                _ => Self::UNQUOTED,
            };
        }
        self.state.store(state, Ordering::Relaxed);
    }

    /// Whether the input so far ends inside a quoted field.
    pub fn unclosed(&self) -> bool {
        self.state.load(Ordering::Relaxed) == Self::QUOTED
    }

    /// Whether the input has ended inside a quoted field. The csv reader reads past its buffer
    /// only to finish the record it is on, so when this turns true the record it returns next is
    /// the last one, and the one that swallowed the rest of the file.
    pub fn ended_unclosed(&self) -> bool {
        self.ended.load(Ordering::Relaxed) && self.unclosed()
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        self.quotes.feed(&buf[..n]);
        Ok(n)
    }
}

/// The largest schema file read: a thousand labels with long descriptions and the guidelines.
const MAX_SCHEMA_FILE_BYTES: u64 = 16 << 20;

/// Reads a label schema file: the JSON that `LabelSchema` serializes to (see
/// [`LabelSchema::from_json`]), at most 16 MiB.
pub fn read_label_schema(path: &Path) -> Result<LabelSchema> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() || meta.len() > MAX_SCHEMA_FILE_BYTES {
        return Err(Error::Input(format!("{} is not a label schema file (a regular file of at most 16 MiB)", path.display())));
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    LabelSchema::from_json(&text).map_err(|e| Error::Input(format!("{}: {e}", path.display())))
}

/// Imports `path` into `store` as a new corpus. `cancel` stops the import (nothing is kept).
pub fn import_file(
    store: &mut Store,
    path: &Path,
    options: &ImportOptions,
    progress: &mut dyn FnMut(ImportProgress),
    cancel: &AtomicBool,
) -> Result<ImportOutcome> {
    let format = match options.format {
        Some(f) => f,
        None => Format::from_path(path).ok_or_else(|| {
            Error::Input(format!("cannot tell the format of {} from its name; choose {FORMATS}", path.display())).fixed_by(Setting::Format)
        })?,
    };
    let source = path.display().to_string();
    import_files(store, &[path.to_path_buf()], format, options, (&source, None), progress, cancel)
}

/// Imports the files `paths`, all of `format`, into `store` as one new corpus, in order (the
/// files of a Hub dataset's split): row numbers go on from file to file, so a record's row
/// number is its place in the whole. `source` names the corpus's source and, for a Hub
/// dataset, where it came from. `cancel` stops the import (nothing is kept).
pub fn import_files(
    store: &mut Store,
    paths: &[PathBuf],
    format: Format,
    options: &ImportOptions,
    (source, origin): (&str, Option<&HubOrigin>),
    progress: &mut dyn FnMut(ImportProgress),
    cancel: &AtomicBool,
) -> Result<ImportOutcome> {
    let mut sizes = Vec::with_capacity(paths.len());
    for path in paths {
        let size = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
        if size == 0 {
            return Err(Error::Import { path: path.to_path_buf(), message: "the file is empty".into() });
        }
        sizes.push(size);
    }
    let total_bytes: u64 = sizes.iter().sum();
    // Bytes of the files before the current one, and the current one's progress in its bytes.
    let done_before = Arc::new(AtomicU64::new(0));
    let current = Arc::new(AtomicU64::new(0));
    let mut files = paths.iter().zip(sizes.iter().copied());
    let mut rows: Option<Box<dyn Iterator<Item = Result<ImportItem>>>> = None;
    // The row number the previous files reached: the next file's rows go on from it.
    let (mut offset, mut last, mut previous_size) = (0u64, 0u64, 0u64);
    let (before, now) = (done_before.clone(), current.clone());
    let open = |path: &Path, size: u64| -> Result<Box<dyn Iterator<Item = Result<ImportItem>>>> {
        now.store(0, Ordering::Relaxed);
        if format == Format::Parquet {
            // Progress in rows, shown as the share of the file's bytes they stand for.
            let read = Arc::new(AtomicU64::new(0));
            let (rows, total_rows) = columnar::ParquetRows::open(path, options, read.clone())?;
            let now = now.clone();
            return Ok(Box::new(rows.inspect(move |_| {
                let done = read.load(Ordering::Relaxed);
                now.store(if total_rows == 0 { size } else { (size as u128 * done as u128 / total_rows as u128) as u64 }, Ordering::Relaxed);
            })));
        }
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let quotes = Arc::new(QuoteTracker::new(format));
        let reader = Counting { inner: file, bytes: now.clone(), quotes: quotes.clone() };
        parse(reader, format, options, path, quotes)
    };
    let mut items = std::iter::from_fn(|| loop {
        if cancel.load(Ordering::Relaxed) {
            return Some(Err(Error::Cancelled));
        }
        if let Some(item) = rows.as_mut().and_then(Iterator::next) {
            return Some(item.map(|item| match item {
                ImportItem::Record(mut record) => {
                    record.row_number += offset;
                    last = last.max(record.row_number);
                    ImportItem::Record(record)
                }
                ImportItem::Bad(mut bad) => {
                    bad.line += offset;
                    last = last.max(bad.line);
                    ImportItem::Bad(bad)
                }
            }));
        }
        let (path, size) = files.next()?;
        if rows.is_some() {
            before.fetch_add(previous_size, Ordering::Relaxed);
            offset = last;
        }
        previous_size = size;
        match open(path, size) {
            Ok(r) => rows = Some(r),
            Err(e) => return Some(Err(e)),
        }
    });
    let bytes_read = || (done_before.load(Ordering::Relaxed) + current.load(Ordering::Relaxed)).min(total_bytes);
    store.import_corpus_from(options.name.as_str(), source, origin, format.name(), &mut items, options.skip_bad, &mut |records| {
        progress(ImportProgress { bytes_read: bytes_read(), total_bytes, records })
    })
}

/// The first rows of a file as the import wizard shows them: the columns it has (or the JSON
/// fields of its first lines) and their raw values, before any column is chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preview {
    pub format: Format,
    pub columns: Vec<String>,
    /// Up to the requested number of rows, one value per column ("" where a row has none).
    pub rows: Vec<Vec<String>>,
}

/// Reads the first `limit` rows of `path` without importing anything, from at most its first
/// [`PREVIEW_BYTES`] (a row cut there is left out). The format comes from the file name unless
/// given. Undecodable values are shown lossily; the import itself reports them.
pub fn preview(path: &Path, format: Option<Format>, limit: usize) -> Result<Preview> {
    let format = match format {
        Some(f) => f,
        None => Format::from_path(path).ok_or_else(|| {
            Error::Input(format!("cannot tell the format of {} from its name; choose {FORMATS}", path.display())).fixed_by(Setting::Format)
        })?,
    };
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let whole = file.metadata().map_err(|e| Error::io(path, e))?.len() <= PREVIEW_BYTES;
    let file = file.take(PREVIEW_BYTES);
    let bad = |message: String| Error::Import { path: path.to_path_buf(), message };
    match format {
        Format::Csv | Format::Tsv => {
            let mut reader = csv::ReaderBuilder::new().delimiter(if format == Format::Tsv { b'\t' } else { b',' }).flexible(true).from_reader(file);
            let columns: Vec<String> = reader
                .byte_headers()
                .map_err(|e| bad(format!("cannot read the header row: {e}")))?
                .iter()
                .map(|h| String::from_utf8_lossy(h).trim_start_matches('\u{feff}').trim().to_string())
                .collect();
            let mut rows = Vec::new();
            let mut records = reader.byte_records().take(limit + 1).peekable();
            while let Some(record) = records.next() {
                // The last row read may be cut at the byte limit: show only complete rows.
                if (records.peek().is_none() && !whole) || rows.len() == limit {
                    break;
                }
                let record = record.map_err(|e| bad(e.to_string()))?;
                rows.push((0..columns.len()).map(|i| String::from_utf8_lossy(record.get(i).unwrap_or_default()).into_owned()).collect());
            }
            Ok(Preview { format, columns, rows })
        }
        Format::Jsonl => {
            let mut columns: Vec<String> = Vec::new();
            let mut objects = Vec::new();
            for (n, line) in complete_lines(file, whole).enumerate() {
                let line = line.map_err(|e| bad(format!("line {}: {e}", n + 1)))?;
                if line.trim().is_empty() {
                    continue;
                }
                if objects.len() == limit {
                    break;
                }
                let Ok(Value::Object(object)) = serde_json::from_str::<Value>(&line) else {
                    return Err(bad(format!("line {} is not a JSON object", n + 1)));
                };
                for key in object.keys() {
                    if !columns.contains(key) {
                        columns.push(key.clone());
                    }
                }
                objects.push(object);
            }
            let show = |v: Option<&Value>| match v {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            };
            let rows = objects.iter().map(|o| columns.iter().map(|c| show(o.get(c))).collect()).collect();
            Ok(Preview { format, columns, rows })
        }
        Format::Conll => {
            // Sentences as they will be imported: the text, and the entities in it.
            let mut rows = Vec::new();
            let reader =
                ConllRows { lines: Lines::new(file, DEFAULT_MAX_RECORD_BYTES), path: path.to_path_buf(), max: DEFAULT_MAX_RECORD_BYTES, done: false };
            let mut items = reader.peekable();
            while let Some(item) = items.next() {
                // The last sentence read may be cut at the byte limit: show only complete ones.
                if (items.peek().is_none() && !whole) || rows.len() == limit {
                    break;
                }
                match item? {
                    ImportItem::Record(r) => {
                        let spans: Vec<Span> = serde_json::from_str(r.gold_spans.as_deref().unwrap_or("[]")).unwrap_or_default();
                        let chars: Vec<char> = r.text.chars().collect();
                        let shown: Vec<String> =
                            spans.iter().map(|s| format!("{} {}", chars[s.start..s.end].iter().collect::<String>(), s.label)).collect();
                        rows.push(vec![r.text, shown.join("; ")]);
                    }
                    ImportItem::Bad(b) => rows.push(vec![format!("line {}: {}", b.line, b.reason), String::new()]),
                }
            }
            Ok(Preview { format, columns: vec!["text".to_string(), "entities".to_string()], rows })
        }
        Format::Parquet => columnar::preview(path, limit),
        Format::Txt => {
            let mut rows = Vec::new();
            for line in complete_lines(file, whole) {
                let line = line.map_err(|e| bad(e.to_string()))?;
                if rows.len() == limit {
                    break;
                }
                if !line.trim().is_empty() {
                    rows.push(vec![line]);
                }
            }
            Ok(Preview { format, columns: vec!["text".to_string()], rows })
        }
    }
}

/// The lines of the preview's bytes, lossily decoded; unless the file was read `whole`, a last
/// line without its line ending was cut at the byte limit and is left out.
fn complete_lines(input: impl Read, whole: bool) -> impl Iterator<Item = std::io::Result<String>> {
    let mut reader = BufReader::new(input);
    std::iter::from_fn(move || {
        let mut buf = Vec::new();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => None,
            Ok(_) if !whole && buf.last() != Some(&b'\n') => None,
            Ok(_) => {
                while matches!(buf.last(), Some(b'\n' | b'\r')) {
                    buf.pop();
                }
                Some(Ok(String::from_utf8_lossy(&buf).into_owned()))
            }
            Err(e) => Some(Err(e)),
        }
    })
}

/// The rows of `input` read as `format`: records and bad rows, one at a time. `quotes` follows
/// the bytes read (CSV/TSV use it to detect an unclosed quote); `path` only labels errors.
pub fn parse<'a, R: Read + 'a>(
    input: R,
    format: Format,
    options: &ImportOptions,
    path: &Path,
    quotes: Arc<QuoteTracker>,
) -> Result<Box<dyn Iterator<Item = Result<ImportItem>> + 'a>> {
    Ok(match format {
        Format::Parquet => return Err(Error::Input(format!("{}: Parquet is read from a file, not a stream", path.display()))),
        Format::Csv | Format::Tsv => Box::new(CsvRows::new(input, format, options, path, quotes)?),
        Format::Jsonl => {
            let fields = JsonlFields::new(options);
            Box::new(LineRows {
                lines: Lines::new(input, options.record_limit()),
                path: path.to_path_buf(),
                convert: move |line, text: String| fields.convert(line, &text),
            })
        }
        Format::Txt | Format::Conll => {
            if options.id_column.is_some()
                || options.label_column.is_some()
                || !options.metadata_columns.is_empty()
                || options.text_pair_column.is_some()
                || options.spans_column.is_some()
            {
                return Err(Error::Input(format!(
                    "{} files have no columns; choose no id, label, second-text, spans or metadata columns",
                    if format == Format::Txt { "plain-text" } else { "CoNLL" }
                )));
            }
            let lines = Lines::new(input, options.record_limit());
            if format == Format::Conll {
                Box::new(ConllRows { lines, path: path.to_path_buf(), max: options.record_limit(), done: false })
            } else {
                Box::new(LineRows {
                    lines,
                    path: path.to_path_buf(),
                    convert: |line, text| {
                        Ok(NewRecord { row_number: line, source_id: None, text, text_pair: None, gold: None, gold_spans: None, metadata: None })
                    },
                })
            }
        }
    })
}

/// Parses bytes held in memory; for the fuzzer and for tests.
pub fn parse_bytes<'a>(bytes: &'a [u8], format: Format, options: &ImportOptions) -> Result<Box<dyn Iterator<Item = Result<ImportItem>> + 'a>> {
    let quotes = Arc::new(QuoteTracker::new(format));
    let reader = Counting { inner: bytes, bytes: Arc::new(AtomicU64::new(0)), quotes: quotes.clone() };
    parse(reader, format, options, Path::new("<memory>"), quotes)
}

fn column_index(header: &[String], name: &str, role: &str, setting: Setting, path: &Path) -> Result<usize> {
    header.iter().position(|h| h == name).ok_or_else(|| {
        Error::Input(format!("{}: there is no column {name:?} for the {role}; the columns are: {}", path.display(), header.join(", ")))
            .fixed_by(setting)
    })
}

/// Which input field feeds which record field.
struct Columns<K> {
    text: K,
    text_pair: Option<K>,
    id: Option<K>,
    label: Option<K>,
    spans: Option<K>,
    metadata: Vec<(String, K)>,
}

const UNCLOSED_QUOTE: &str = "a quoted field opened on or after this line is never closed (unbalanced \")";

struct CsvRows<R: Read> {
    reader: csv::Reader<R>,
    columns: Columns<usize>,
    width: usize,
    record: csv::ByteRecord,
    quotes: Arc<QuoteTracker>,
    /// Whether the record with the unclosed quote was reported (as that bad row).
    unclosed_reported: bool,
    last_line: u64,
    done: bool,
    path: std::path::PathBuf,
    max_record_bytes: usize,
}

impl<R: Read> CsvRows<R> {
    fn new(input: R, format: Format, options: &ImportOptions, path: &Path, quotes: Arc<QuoteTracker>) -> Result<Self> {
        let mut reader =
            csv::ReaderBuilder::new().delimiter(if format == Format::Tsv { b'\t' } else { b',' }).has_headers(true).flexible(true).from_reader(input);
        let header = reader
            .byte_headers()
            .map_err(|e| Error::Import { path: path.to_path_buf(), message: format!("cannot read the header row: {e}") })?
            .clone();
        let header: Vec<String> = header
            .iter()
            .map(|h| String::from_utf8(h.to_vec()).map(|s| s.trim_start_matches('\u{feff}').trim().to_string()))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| Error::Import { path: path.to_path_buf(), message: "line 1: the header row is not valid UTF-8".into() })?;
        let text = match &options.text_column {
            Some(c) => column_index(&header, c, "text", Setting::TextColumn, path)?,
            None if header.len() == 1 => 0,
            None => header.iter().position(|h| h == "text").ok_or_else(|| {
                Error::Input(format!("{}: which column holds the text? Choose the text column (columns: {})", path.display(), header.join(", ")))
                    .fixed_by(Setting::TextColumn)
            })?,
        };
        let columns = Columns {
            text,
            text_pair: options
                .text_pair_column
                .as_deref()
                .map(|c| column_index(&header, c, "second text", Setting::TextPairColumn, path))
                .transpose()?,
            id: options.id_column.as_deref().map(|c| column_index(&header, c, "id", Setting::IdColumn, path)).transpose()?,
            label: options.label_column.as_deref().map(|c| column_index(&header, c, "label", Setting::LabelColumn, path)).transpose()?,
            spans: options.spans_column.as_deref().map(|c| column_index(&header, c, "entity spans", Setting::SpansColumn, path)).transpose()?,
            metadata: options
                .metadata_columns
                .iter()
                .map(|c| Ok((c.clone(), column_index(&header, c, "metadata", Setting::MetadataColumns, path)?)))
                .collect::<Result<_>>()?,
        };
        Ok(Self {
            reader,
            columns,
            width: header.len(),
            record: csv::ByteRecord::new(),
            quotes,
            unclosed_reported: false,
            last_line: 1,
            done: false,
            path: path.to_path_buf(),
            max_record_bytes: options.record_limit(),
        })
    }

    fn field(&self, i: usize, name: &str, line: u64) -> std::result::Result<String, BadRow> {
        let bytes = self.record.get(i).unwrap_or_default();
        String::from_utf8(bytes.to_vec()).map_err(|_| BadRow::new(line, format!("column {name} is not valid UTF-8")))
    }

    fn convert(&self, row_number: u64, line: u64) -> std::result::Result<NewRecord, BadRow> {
        if self.record.as_slice().len() > self.max_record_bytes {
            return Err(too_long(line, self.max_record_bytes));
        }
        if self.record.len() != self.width {
            return Err(BadRow::new(line, format!("has {} fields, the header has {}", self.record.len(), self.width)));
        }
        let text = self.field(self.columns.text, "text", line)?;
        if text.trim().is_empty() {
            return Err(BadRow::new(line, "the text is empty"));
        }
        let optional = |col: Option<usize>, name: &str| -> std::result::Result<Option<String>, BadRow> {
            Ok(match col {
                Some(i) => Some(self.field(i, name, line)?).filter(|s| !s.is_empty()),
                None => None,
            })
        };
        let metadata = if self.columns.metadata.is_empty() {
            None
        } else {
            let mut map = Map::new();
            for (name, i) in &self.columns.metadata {
                map.insert(name.clone(), Value::String(self.field(*i, name, line)?));
            }
            Some(Value::Object(map).to_string())
        };
        let gold_spans = match optional(self.columns.spans, "spans")? {
            None => None,
            Some(cell) => Some(spans_json(&Value::String(cell), &text, line)?),
        };
        Ok(NewRecord {
            row_number,
            source_id: optional(self.columns.id, "id")?,
            text_pair: optional(self.columns.text_pair, "second text")?.filter(|s| !s.trim().is_empty()),
            gold: optional(self.columns.label, "label")?,
            gold_spans,
            text,
            metadata,
        })
    }
}

impl<R: Read> Iterator for CsvRows<R> {
    type Item = Result<ImportItem>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.reader.read_byte_record(&mut self.record) {
            Ok(true) => {
                let line = self.record.position().map_or(0, |p| p.line());
                self.last_line = line;
                let row_number = self.record.position().map_or(0, |p| p.record());
                if self.quotes.ended_unclosed() && !self.unclosed_reported {
                    // This record ran to the end of the file inside a quoted field: it is the bad
                    // row, whatever its fields look like.
                    self.unclosed_reported = true;
                    return Some(Ok(ImportItem::Bad(BadRow::new(line, UNCLOSED_QUOTE))));
                }
                Some(Ok(match self.convert(row_number, line) {
                    Ok(record) => ImportItem::Record(record),
                    Err(bad) => ImportItem::Bad(bad),
                }))
            }
            Ok(false) => {
                self.done = true;
                // The csv reader takes an unclosed quote as "the field runs to the end of the
                // file"; the quote tracker, which has seen every byte, tells.
                if self.quotes.unclosed() && !self.unclosed_reported {
                    return Some(Ok(ImportItem::Bad(BadRow::new(self.last_line, UNCLOSED_QUOTE))));
                }
                None
            }
            Err(e) => {
                let line = e.position().map_or(self.last_line, |p| p.line());
                match e.kind() {
                    csv::ErrorKind::Io(_) => {
                        self.done = true;
                        Some(Err(Error::Import { path: self.path.clone(), message: format!("line {line}: {e}") }))
                    }
                    _ => Some(Ok(ImportItem::Bad(BadRow::new(line, e.to_string())))),
                }
            }
        }
    }
}

/// Reads lines as raw bytes (so invalid UTF-8 becomes a bad row, not an abort), holding at most
/// `max` bytes of a line: a longer line is consumed to its end but not kept.
struct Lines<R> {
    reader: BufReader<R>,
    line: u64,
    buf: Vec<u8>,
    max: usize,
}

/// A line: its text, or its bytes when not UTF-8, or how long it was when over the limit.
enum Line {
    Text(String),
    NotUtf8,
    TooLong,
}

impl<R: Read> Lines<R> {
    fn new(input: R, max: usize) -> Self {
        Self { reader: BufReader::new(input), line: 0, buf: Vec::new(), max }
    }

    /// Appends the next line (ending included) to `buf`, up to `max + 2` bytes; the rest of a
    /// longer line is read and dropped. Ok(false) at the end of the input.
    fn read_capped(&mut self) -> std::io::Result<bool> {
        let mut any = false;
        loop {
            let chunk = self.reader.fill_buf()?;
            if chunk.is_empty() {
                return Ok(any);
            }
            any = true;
            let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            let room = (self.max + 2).saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&chunk[..take.min(room)]);
            self.reader.consume(take);
            if done {
                return Ok(true);
            }
        }
    }

    /// The next line without its line ending, or None at the end; Err for I/O errors.
    fn next_line(&mut self) -> Option<std::io::Result<(u64, Line)>> {
        self.buf.clear();
        match self.read_capped() {
            Ok(false) => None,
            Ok(true) => {
                self.line += 1;
                while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
                    self.buf.pop();
                }
                let mut bytes = std::mem::take(&mut self.buf);
                if self.line == 1 && bytes.starts_with(b"\xEF\xBB\xBF") {
                    bytes.drain(..3);
                }
                if bytes.len() > self.max {
                    return Some(Ok((self.line, Line::TooLong)));
                }
                Some(Ok((self.line, String::from_utf8(bytes).map_or(Line::NotUtf8, Line::Text))))
            }
            Err(e) => Some(Err(e)),
        }
    }
}

/// Turns one JSONL line (an object) into a record, reading the chosen fields.
struct JsonlFields(Columns<String>);

impl JsonlFields {
    fn new(options: &ImportOptions) -> Self {
        Self(Columns {
            text: options.text_column.clone().unwrap_or_else(|| "text".into()),
            text_pair: options.text_pair_column.clone(),
            id: options.id_column.clone(),
            label: options.label_column.clone(),
            spans: options.spans_column.clone(),
            metadata: options.metadata_columns.iter().map(|c| (c.clone(), c.clone())).collect(),
        })
    }

    fn convert(&self, line: u64, text: &str) -> std::result::Result<NewRecord, BadRow> {
        let value: Value = serde_json::from_str(text).map_err(|e| BadRow::new(line, format!("not valid JSON: {e}")))?;
        let Value::Object(object) = value else {
            return Err(BadRow::new(line, "is not a JSON object"));
        };
        self.record_of(line, &object)
    }

    /// A record from one object's fields (a JSONL line, or a Parquet row read as one).
    fn record_of(&self, line: u64, object: &Map<String, Value>) -> std::result::Result<NewRecord, BadRow> {
        let columns = &self.0;
        let bad = |reason: String| BadRow::new(line, reason);
        let text = match object.get(&columns.text) {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(Value::String(_)) => return Err(bad("the text is empty".into())),
            Some(_) => return Err(bad(format!("field {:?} is not a string", columns.text))),
            None => {
                return Err(BadRow::fixed_by(
                    line,
                    format!("has no field {:?} (choose the field that holds the text)", columns.text),
                    Setting::TextColumn,
                ))
            }
        };
        let scalar = |key: &Option<String>| -> std::result::Result<Option<String>, BadRow> {
            let Some(key) = key else { return Ok(None) };
            match object.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone()).filter(|s| !s.is_empty())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(Value::Bool(b)) => Ok(Some(b.to_string())),
                Some(_) => Err(bad(format!("field {key:?} must be a string or a number"))),
            }
        };
        let metadata = if columns.metadata.is_empty() {
            None
        } else {
            let map: Map<String, Value> = columns.metadata.iter().map(|(k, _)| (k.clone(), object.get(k).cloned().unwrap_or(Value::Null))).collect();
            Some(Value::Object(map).to_string())
        };
        let text_pair = match columns.text_pair.as_ref().map(|k| (k, object.get(k))) {
            None | Some((_, None | Some(Value::Null))) => None,
            Some((_, Some(Value::String(s)))) => Some(s.clone()).filter(|s| !s.trim().is_empty()),
            Some((k, Some(_))) => return Err(bad(format!("field {k:?} (the second text) is not a string"))),
        };
        let gold_spans = match columns.spans.as_ref().and_then(|k| object.get(k)) {
            None | Some(Value::Null) => None,
            Some(value) => Some(spans_json(value, &text, line)?),
        };
        // A list of labels (a multi-label dataset's column) is the labels joined by `|`, the
        // gold cell's multi-label form.
        let gold = match columns.label.as_ref().and_then(|k| object.get(k).map(|v| (k, v))) {
            Some((key, Value::Array(items))) => {
                let labels: Vec<String> = items
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => Ok(s.clone()),
                        Value::Number(n) => Ok(n.to_string()),
                        _ => Err(bad(format!("field {key:?} must be a string, a number or a list of them"))),
                    })
                    .collect::<std::result::Result<_, _>>()?;
                Some(labels.join("|")).filter(|g| !g.is_empty())
            }
            _ => scalar(&columns.label)?,
        };
        Ok(NewRecord { row_number: line, source_id: scalar(&columns.id)?, text, text_pair, gold, gold_spans, metadata })
    }
}

/// A record's reference spans as the store keeps them (JSON), or the bad row that says why not.
fn spans_json(value: &Value, text: &str, line: u64) -> std::result::Result<String, BadRow> {
    let spans = parse_spans(value, text).map_err(|why| BadRow::fixed_by(line, why, Setting::SpansColumn))?;
    Ok(serde_json::to_string(&spans).expect("spans serialize"))
}

/// The sentences of a CoNLL / IOB2 file: each non-blank line a token and its tag (the first and
/// the last whitespace-separated fields; columns between, as CoNLL-2002's and -2003's POS and
/// chunk tags, are ignored), a blank line ending a sentence, `-DOCSTART-` lines ignored. A
/// sentence becomes a record: its tokens joined by single spaces, and its entities, read from
/// the tags as seqeval's default mode (conlleval) reads them, as character spans of that text.
/// A line without a tag, or a sentence longer than the per-record limit, is a bad row.
struct ConllRows<R> {
    lines: Lines<R>,
    path: std::path::PathBuf,
    max: usize,
    done: bool,
}

impl<R: Read> Iterator for ConllRows<R> {
    type Item = Result<ImportItem>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut first_line = 0;
        let mut tokens: Vec<String> = Vec::new();
        let mut tags: Vec<String> = Vec::new();
        let mut bytes = 0usize;
        let mut bad: Option<BadRow> = None;
        loop {
            let next = self.lines.next_line();
            let (line, text) = match next {
                None => {
                    self.done = true;
                    break;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(Error::io(&self.path, e)));
                }
                Some(Ok((line, Line::TooLong))) => {
                    bad.get_or_insert(too_long(line, self.lines.max));
                    continue;
                }
                Some(Ok((line, Line::NotUtf8))) => {
                    bad.get_or_insert(BadRow::new(line, "not valid UTF-8"));
                    continue;
                }
                Some(Ok((line, Line::Text(text)))) => (line, text),
            };
            if text.trim().is_empty() {
                if tokens.is_empty() && bad.is_none() {
                    continue;
                }
                break;
            }
            if text.trim_start().starts_with("-DOCSTART-") {
                continue;
            }
            if tokens.is_empty() && bad.is_none() {
                first_line = line;
            }
            let fields: Vec<&str> = text.split_whitespace().collect();
            if fields.len() < 2 {
                bad.get_or_insert(BadRow::new(line, "a CoNLL line is a token and its tag (e.g. \"Madrid B-LOC\"); this one has no tag"));
                continue;
            }
            bytes += text.len() + 1;
            if bytes > self.max {
                bad.get_or_insert(too_long(first_line, self.max));
            }
            tokens.push(fields[0].to_string());
            tags.push(fields[fields.len() - 1].to_string());
        }
        if let Some(bad) = bad {
            return Some(Ok(ImportItem::Bad(bad)));
        }
        if tokens.is_empty() {
            return None;
        }
        Some(Ok(ImportItem::Record(conll_record(first_line, &tokens, &tags))))
    }
}

/// One CoNLL sentence as a record: the tokens joined by spaces, the tags' entities as spans.
fn conll_record(line: u64, tokens: &[String], tags: &[String]) -> NewRecord {
    let mut text = String::new();
    let mut offsets = Vec::with_capacity(tokens.len());
    for token in tokens {
        if !text.is_empty() {
            text.push(' ');
        }
        let start = text.chars().count();
        text.push_str(token);
        offsets.push((start, start + token.chars().count()));
    }
    let spans: Vec<Span> = entities(tags, Mode::Default)
        .expect("the default mode reads any tags")
        .into_iter()
        .map(|e| Span { start: offsets[e.start].0, end: offsets[e.end - 1].1, label: e.label })
        .collect();
    NewRecord {
        row_number: line,
        source_id: None,
        text,
        text_pair: None,
        gold: None,
        gold_spans: Some(serde_json::to_string(&spans).expect("spans serialize")),
        metadata: None,
    }
}

/// Rows of a line-based format (JSONL, plain text): blank lines are skipped, a line that is
/// not UTF-8 is a bad row, and `convert` turns each other line into a record or a bad row.
struct LineRows<R, F> {
    lines: Lines<R>,
    path: std::path::PathBuf,
    convert: F,
}

impl<R: Read, F: FnMut(u64, String) -> std::result::Result<NewRecord, BadRow>> Iterator for LineRows<R, F> {
    type Item = Result<ImportItem>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            return Some(match self.lines.next_line()? {
                Err(e) => Err(Error::io(&self.path, e)),
                Ok((line, Line::TooLong)) => Ok(ImportItem::Bad(too_long(line, self.lines.max))),
                Ok((line, Line::NotUtf8)) => Ok(ImportItem::Bad(BadRow::new(line, "not valid UTF-8"))),
                Ok((_, Line::Text(text))) if text.trim().is_empty() => continue,
                Ok((line, Line::Text(text))) => Ok(match (self.convert)(line, text) {
                    Ok(record) => ImportItem::Record(record),
                    Err(bad) => ImportItem::Bad(bad),
                }),
            });
        }
    }
}
