//! Reading Parquet files: each row is read as a JSON object of the chosen columns, and becomes a
//! record by the same field rules as a JSONL line (so a nested list of `{start, end, label}`
//! structs is a spans column exactly as its JSON is). Only the chosen columns are read, one
//! batch of rows at a time; a column of a type a record cannot hold is refused before any row.
//!
//! Arrow values become JSON here rather than through `arrow-json`, which would pull `arrow-cast`
//! into the build for the handful of types a corpus column holds.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float16Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;
use serde_json::{Map, Value};

use super::{column_index, too_long, ImportOptions, JsonlFields, Preview};
use crate::error::{Error, Result, Setting};
use crate::store::ImportItem;

/// Rows read per batch: few enough that a batch of long texts stays small in memory.
const BATCH_ROWS: usize = 256;

/// Opens `path` as Parquet, or says why it is not one.
fn builder(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let not_parquet = |e: String| Error::Import {
        path: path.to_path_buf(),
        message: format!("this is not a Parquet file, or a damaged one ({e}); choose its real format, or write it again"),
    };
    guarded(|| ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| e.to_string())).map_err(not_parquet)
}

/// Runs a parquet-crate call that may panic on damaged input (it asserts on some corrupt
/// pages and footers): the panic becomes its message.
fn guarded<T>(read: impl FnOnce() -> std::result::Result<T, String>) -> std::result::Result<T, String> {
    crate::error::panic_guard::catch(read).unwrap_or_else(|panic| Err(crate::error::shortened(&panic)))
}

/// A batch-reading error as the user reads it: a codec this build does not read says which do.
fn batch_error(path: &Path, row: u64, e: impl std::fmt::Display) -> Error {
    let e = e.to_string();
    let hint = if e.contains("Disabled feature") || e.contains("not supported") {
        " (this build reads Parquet compressed with snappy, gzip, lz4 or brotli, or not at all; write the file again with one of them)"
    } else {
        ""
    };
    Error::Import { path: path.to_path_buf(), message: format!("cannot read the rows from row {row} on: {e}{hint}") }
}

/// Whether values of `data_type` can become JSON (see [`cell`]).
fn readable(data_type: &DataType) -> bool {
    match data_type {
        DataType::Null
        | DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float16
        | DataType::Float32
        | DataType::Float64
        | DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View => true,
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => readable(f.data_type()),
        DataType::Struct(fields) => fields.iter().all(|f| readable(f.data_type())),
        DataType::Dictionary(key, value) => key.is_integer() && readable(value),
        _ => false,
    }
}

fn number(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// Row `i` of `array` as JSON: strings, numbers (a NaN is null), booleans, lists and structs;
/// a dictionary-encoded value as its value. Only types [`readable`] accepts reach here.
fn cell(array: &dyn Array, i: usize) -> Value {
    if array.is_null(i) {
        return Value::Null;
    }
    let list = |values: Arc<dyn Array>| Value::Array((0..values.len()).map(|j| cell(values.as_ref(), j)).collect());
    match array.data_type() {
        DataType::Boolean => Value::Bool(array.as_boolean().value(i)),
        DataType::Int8 => array.as_primitive::<Int8Type>().value(i).into(),
        DataType::Int16 => array.as_primitive::<Int16Type>().value(i).into(),
        DataType::Int32 => array.as_primitive::<Int32Type>().value(i).into(),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(i).into(),
        DataType::UInt8 => array.as_primitive::<UInt8Type>().value(i).into(),
        DataType::UInt16 => array.as_primitive::<UInt16Type>().value(i).into(),
        DataType::UInt32 => array.as_primitive::<UInt32Type>().value(i).into(),
        DataType::UInt64 => array.as_primitive::<UInt64Type>().value(i).into(),
        DataType::Float16 => number(array.as_primitive::<Float16Type>().value(i).to_f64()),
        DataType::Float32 => number(array.as_primitive::<Float32Type>().value(i).into()),
        DataType::Float64 => number(array.as_primitive::<Float64Type>().value(i)),
        DataType::Utf8 => array.as_string::<i32>().value(i).into(),
        DataType::LargeUtf8 => array.as_string::<i64>().value(i).into(),
        DataType::Utf8View => array.as_string_view().value(i).into(),
        DataType::List(_) => list(array.as_list::<i32>().value(i)),
        DataType::LargeList(_) => list(array.as_list::<i64>().value(i)),
        DataType::FixedSizeList(_, _) => list(array.as_fixed_size_list().value(i)),
        DataType::Struct(fields) => {
            let s = array.as_struct();
            Value::Object(fields.iter().zip(s.columns()).map(|(f, c)| (f.name().clone(), cell(c.as_ref(), i))).collect())
        }
        DataType::Dictionary(_, _) => {
            let d = array.as_any_dictionary();
            match cell(d.keys(), i).as_u64() {
                Some(k) if (k as usize) < d.values().len() => cell(d.values().as_ref(), k as usize),
                _ => Value::Null,
            }
        }
        _ => Value::Null,
    }
}

/// The class-label names of columns, from the `huggingface` key of a Parquet file's metadata
/// (the features the `datasets` library writes there): a `ClassLabel` column, or a list of
/// them, stores label indexes, and a record takes the names. Absent or unreadable metadata
/// names nothing (the numbers are then read as they are).
fn class_labels(builder: &ParquetRecordBatchReaderBuilder<File>) -> Vec<(String, Vec<String>)> {
    // The Arrow schema's metadata: the file's key-value metadata (as pyarrow writes it) merged
    // with the metadata of the embedded Arrow schema (as arrow-rs writes it).
    let Some(json) = builder.schema().metadata().get("huggingface") else { return Vec::new() };
    let Ok(meta) = serde_json::from_str::<Value>(json) else { return Vec::new() };
    let names = |feature: &Value| -> Option<Vec<String>> {
        let feature = match feature.get("_type").and_then(Value::as_str)? {
            "ClassLabel" => feature,
            "Sequence" | "List" | "LargeList" => feature.get("feature").filter(|f| f.get("_type").and_then(Value::as_str) == Some("ClassLabel"))?,
            _ => return None,
        };
        Some(feature.get("names")?.as_array()?.iter().map(|n| n.as_str().map(str::to_string).unwrap_or_else(|| n.to_string())).collect())
    };
    let features = meta.get("info").and_then(|i| i.get("features")).and_then(Value::as_object);
    features.into_iter().flatten().filter_map(|(column, feature)| Some((column.clone(), names(feature)?))).collect()
}

/// A label column's index (or list of indexes) as its name; -1, `datasets`' "no label", is null.
fn named(value: Value, names: &[String]) -> Value {
    match value {
        Value::Number(n) => match n.as_i64() {
            Some(i) if i >= 0 && (i as usize) < names.len() => Value::String(names[i as usize].clone()),
            Some(-1) => Value::Null,
            _ => Value::Number(n),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(|v| named(v, names)).filter(|v| !v.is_null()).collect()),
        other => other,
    }
}

/// Roughly how many bytes a value holds (its strings, and a few per other value): the
/// per-record limit applies to a Parquet row as to a line of text.
fn weight(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len() + 2,
        Value::Array(a) => 2 + a.iter().map(weight).sum::<usize>(),
        Value::Object(o) => 2 + o.iter().map(|(k, v)| k.len() + 3 + weight(v)).sum::<usize>(),
        _ => 8,
    }
}

/// The rows of a Parquet file as records and bad rows; `rows_read` counts the rows read so far
/// (import progress), out of the file's rows.
pub(super) struct ParquetRows {
    reader: ParquetRecordBatchReader,
    batch: Option<RecordBatch>,
    at: usize,
    row: u64,
    rows_read: Arc<AtomicU64>,
    fields: JsonlFields,
    max_record_bytes: usize,
    path: PathBuf,
    done: bool,
    /// Label columns stored as class indexes, with their names.
    class_labels: Vec<(String, Vec<String>)>,
}

impl ParquetRows {
    /// Opens `path` with the columns `options` chooses (text: "text", or the only column);
    /// errors name a missing column and the columns there are, or a column a record cannot
    /// hold. Returns the rows and how many rows the file has.
    pub(super) fn open(path: &Path, options: &ImportOptions, rows_read: Arc<AtomicU64>) -> Result<(Self, u64)> {
        let builder = builder(path)?;
        let class_labels = class_labels(&builder);
        let total = builder.metadata().file_metadata().num_rows().max(0) as u64;
        let schema = builder.schema().clone();
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let mut options = options.clone();
        if options.text_column.is_none() {
            options.text_column = Some(match names.as_slice() {
                [only] => only.clone(),
                _ if names.iter().any(|n| n == "text") => "text".into(),
                _ => {
                    return Err(Error::Input(format!(
                        "{}: which column holds the text? Choose the text column (columns: {})",
                        path.display(),
                        names.join(", ")
                    ))
                    .fixed_by(Setting::TextColumn))
                }
            });
        }
        let mut chosen: Vec<usize> = Vec::new();
        let roles = [
            (options.text_column.as_deref(), "text", Setting::TextColumn),
            (options.text_pair_column.as_deref(), "second text", Setting::TextPairColumn),
            (options.id_column.as_deref(), "id", Setting::IdColumn),
            (options.label_column.as_deref(), "label", Setting::LabelColumn),
            (options.spans_column.as_deref(), "entity spans", Setting::SpansColumn),
        ];
        let metadata = options.metadata_columns.iter().map(|c| (Some(c.as_str()), "metadata", Setting::MetadataColumns));
        for (column, role, setting) in roles.into_iter().chain(metadata) {
            let Some(column) = column else { continue };
            let i = column_index(&names, column, role, setting, path)?;
            let data_type = schema.field(i).data_type();
            if !readable(data_type) {
                return Err(Error::Input(format!(
                    "{}: column {column:?} holds {data_type} values, which cannot be a record's {role}; choose another column",
                    path.display()
                ))
                .fixed_by(setting));
            }
            if !chosen.contains(&i) {
                chosen.push(i);
            }
        }
        chosen.sort_unstable();
        let mask = ProjectionMask::roots(builder.parquet_schema(), chosen);
        let reader = guarded(|| builder.with_projection(mask).with_batch_size(BATCH_ROWS).build().map_err(|e| e.to_string()))
            .map_err(|e| batch_error(path, 1, e))?;
        let rows = Self {
            reader,
            batch: None,
            at: 0,
            row: 0,
            rows_read,
            fields: JsonlFields::new(&options),
            max_record_bytes: options.record_limit(),
            path: path.to_path_buf(),
            done: false,
            class_labels,
        };
        Ok((rows, total))
    }
}

impl Iterator for ParquetRows {
    type Item = Result<ImportItem>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            if let Some(batch) = self.batch.as_ref().filter(|b| self.at < b.num_rows()) {
                let i = self.at;
                self.at += 1;
                self.row += 1;
                self.rows_read.store(self.row, Ordering::Relaxed);
                let schema = batch.schema();
                let mut object: Map<String, Value> =
                    schema.fields().iter().zip(batch.columns()).map(|(f, c)| (f.name().clone(), cell(c.as_ref(), i))).collect();
                for (column, names) in &self.class_labels {
                    if let Some(v) = object.get_mut(column) {
                        *v = named(v.take(), names);
                    }
                }
                let line = self.row;
                if object.iter().map(|(k, v)| k.len() + weight(v)).sum::<usize>() > self.max_record_bytes {
                    return Some(Ok(ImportItem::Bad(too_long(line, self.max_record_bytes))));
                }
                return Some(Ok(match self.fields.record_of(line, &object) {
                    Ok(record) => ImportItem::Record(record),
                    Err(bad) => ImportItem::Bad(bad),
                }));
            }
            let reader = &mut self.reader;
            match guarded(|| reader.next().transpose().map_err(|e| e.to_string())).transpose() {
                None => self.done = true,
                Some(Ok(batch)) => {
                    self.batch = Some(batch);
                    self.at = 0;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(batch_error(&self.path, self.row + 1, e)));
                }
            }
        }
    }
}

/// A Parquet row shown in the import preview: text as is, nested values as JSON.
fn shown(v: Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// The first `limit` rows of a Parquet file, every column that a record can hold shown (the
/// others, binary or temporal, show their type), read no further than those rows.
pub(super) fn preview(path: &Path, limit: usize) -> Result<Preview> {
    let builder = builder(path)?;
    let class_labels = class_labels(&builder);
    let schema = builder.schema().clone();
    let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let shown_columns: Vec<usize> = (0..columns.len()).filter(|&i| readable(schema.field(i).data_type())).collect();
    let mask = ProjectionMask::roots(builder.parquet_schema(), shown_columns.iter().copied());
    let mut reader = guarded(|| builder.with_projection(mask).with_batch_size(limit.max(1)).with_limit(limit).build().map_err(|e| e.to_string()))
        .map_err(|e| batch_error(path, 1, e))?;
    let mut rows = Vec::new();
    while let Some(batch) = guarded(|| reader.next().transpose().map_err(|e| e.to_string())).transpose() {
        let batch = batch.map_err(|e| batch_error(path, rows.len() as u64 + 1, e))?;
        for i in 0..batch.num_rows() {
            let mut row = Vec::with_capacity(columns.len());
            let mut read = batch.columns().iter();
            for (c, field) in schema.fields().iter().enumerate() {
                row.push(if shown_columns.contains(&c) {
                    let names = class_labels.iter().find(|(column, _)| column == field.name()).map(|(_, names)| names.as_slice());
                    read.next().map(|a| shown(names.map_or_else(|| cell(a.as_ref(), i), |n| named(cell(a.as_ref(), i), n)))).unwrap_or_default()
                } else {
                    format!("({} values)", field.data_type())
                });
            }
            rows.push(row);
        }
    }
    Ok(Preview { format: super::Format::Parquet, columns, rows })
}
