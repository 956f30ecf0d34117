//! Exporting a corpus with its predictions, as JSONL or CSV, to a file or any writer.
//!
//! A file is written beside its destination and renamed into place when complete, so an export
//! that fails or is interrupted never leaves a half-written file under the requested name.

use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::store::{ExportRow, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

impl ExportFormat {
    pub fn parse(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "jsonl" => Ok(ExportFormat::Jsonl),
            "csv" => Ok(ExportFormat::Csv),
            "parquet" => Err(Error::Unsupported { what: "Parquet export".into(), supported: "jsonl, csv".into() }),
            other => Err(Error::Input(format!("unknown export format {other:?}; use jsonl or csv"))),
        }
    }
}

/// The record's id: its source id when the import named an id column, else its row number.
fn record_id(row: &ExportRow) -> Value {
    match &row.source_id {
        Some(id) => Value::String(id.clone()),
        None => Value::from(row.row_number),
    }
}

/// Writes every record of `corpus` to `out`; returns the number of records written.
pub fn export(store: &Store, corpus: &str, format: ExportFormat, out: &mut dyn Write) -> Result<u64> {
    let io = |e: std::io::Error| Error::Io { path: "<export>".into(), source: e };
    let runs = store.runs(corpus)?;
    let mut count = 0u64;
    match format {
        ExportFormat::Jsonl => store.for_each_export_row(corpus, &mut |row| {
            let predictions: Vec<Value> = row
                .predictions
                .iter()
                .map(|(run, model, labels, scores)| json!({"run": run, "model": model, "labels": labels, "scores": scores}))
                .collect();
            let line = json!({
                "id": record_id(&row),
                "text": row.text,
                "gold": row.gold,
                "annotation": row.annotation.as_ref().map(|(labels, status)| json!({"labels": labels, "status": status})),
                "predictions": predictions,
            });
            serde_json::to_writer(&mut *out, &line).map_err(|e| io(e.into()))?;
            out.write_all(b"\n").map_err(io)?;
            count += 1;
            Ok(())
        })?,
        ExportFormat::Csv => {
            let mut writer = csv::Writer::from_writer(&mut *out);
            let mut header = vec!["id".to_string(), "text".into(), "gold".into(), "annotation".into(), "annotation_status".into()];
            for r in &runs {
                header.extend([format!("run{}_label", r.id), format!("run{}_score", r.id), format!("run{}_scores", r.id)]);
            }
            writer.write_record(&header).map_err(|e| io(e.into()))?;
            store.for_each_export_row(corpus, &mut |row| {
                let id = match record_id(&row) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                let (labels, status) = match &row.annotation {
                    // A label set is written as its labels joined by "|".
                    Some((labels, status)) => (labels.join("|"), status.as_str().to_string()),
                    None => (String::new(), String::new()),
                };
                let mut fields = vec![id, row.text.clone(), row.gold.clone().unwrap_or_default(), labels, status];
                for r in &runs {
                    match row.predictions.iter().find(|(run, ..)| *run == r.id) {
                        Some((_, _, labels, scores)) => {
                            let map: serde_json::Map<String, Value> =
                                labels.iter().cloned().zip(scores.iter().map(|s| Value::from(*s as f64))).collect();
                            fields.extend([labels[0].clone(), scores[0].to_string(), Value::Object(map).to_string()]);
                        }
                        None => fields.extend([String::new(), String::new(), String::new()]),
                    }
                }
                writer.write_record(&fields).map_err(|e| io(e.into()))?;
                count += 1;
                Ok(())
            })?;
            writer.flush().map_err(io)?;
        }
    }
    Ok(count)
}

/// Exports to `path`, atomically: the file appears complete or not at all.
pub fn export_to_file(store: &Store, corpus: &str, format: ExportFormat, path: &Path) -> Result<u64> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    let count = {
        let mut buffered = std::io::BufWriter::new(tmp.as_file_mut());
        let count = export(store, corpus, format, &mut buffered)?;
        buffered.flush().map_err(|e| Error::io(path, e))?;
        count
    };
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(count)
}
