//! Exporting a corpus with its predictions, as JSONL, CSV or Parquet, to a file or any writer.
//!
//! A file is written beside its destination and renamed into place when complete, so an export
//! that fails or is interrupted never leaves a half-written file under the requested name.

use std::borrow::Cow;
use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};

use crate::domain::progress::{JobStage, Watch};
use crate::error::{Error, Result};
use crate::store::{ExportRow, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Jsonl,
    Csv,
    /// The JSONL shape as nested Parquet columns, loadable by Hugging Face `datasets`.
    Parquet,
}

impl ExportFormat {
    pub fn parse(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "jsonl" => Ok(ExportFormat::Jsonl),
            "csv" => Ok(ExportFormat::Csv),
            "parquet" => Ok(ExportFormat::Parquet),
            other => Err(Error::Input(format!("unknown export format {other:?}; use jsonl, csv or parquet"))),
        }
    }
}

/// How cells are written to CSV (and to tables copied for spreadsheets).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Write cells exactly as stored, even those a spreadsheet would run as a formula.
    pub raw_csv: bool,
    /// Add each record's vector of this embedding set (JSONL `"embedding"`, a Parquet list
    /// column; `null` for a record the set has not reached).
    pub embeddings: Option<i64>,
}

/// A cell made safe to open in a spreadsheet: text that starts with `=`, `+`, `-`, `@`, a tab
/// or a carriage return would be run as a formula (CSV injection), so it gets a leading `'`, as
/// OWASP recommends. Plain numbers ("-3.25") cannot be formulas and are left alone.
pub fn spreadsheet_safe(cell: &str) -> Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.trim().parse::<f64>().map_or(true, |v| !v.is_finite()) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// Rows as tab-separated text for the clipboard: tabs and line breaks inside a cell become
/// spaces, and cells are made [`spreadsheet_safe`] unless `raw`.
pub fn tsv(rows: &[Vec<String>], raw: bool) -> String {
    rows.iter()
        .map(|row| {
            row.iter()
                .map(|cell| if raw { Cow::Borrowed(cell.as_str()) } else { spreadsheet_safe(cell) }.replace(['\t', '\n', '\r'], " "))
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The record's id: its source id when the import named an id column, else its row number (a
/// JSON number where the corpus has no source ids; see `Store::row_id_prefix`).
fn record_id(row: &ExportRow) -> Value {
    if row.source_id.is_none() && row.export_id == row.row_number.to_string() {
        Value::from(row.row_number)
    } else {
        Value::String(row.export_id.clone())
    }
}

/// Writes every record of `corpus` to `out`; returns the number of records written. `watch`
/// counts the records written (stage `Exporting`) and stops the export when cancelled.
pub fn export(
    store: &Store,
    corpus: &str,
    format: ExportFormat,
    options: &ExportOptions,
    out: &mut (dyn Write + Send),
    watch: &mut Watch,
) -> Result<u64> {
    let io = |e: std::io::Error| Error::Io { path: "<export>".into(), source: e };
    watch.stage(JobStage::Exporting, store.corpus(corpus)?.records)?;
    // Label runs get label columns; tagging runs' entities go in their own field.
    let (runs, taggers): (Vec<_>, Vec<_>) = store.runs(corpus)?.into_iter().partition(|r| r.kind.predicts_labels());
    let tagged = !taggers.is_empty();
    let scans = store.scans(Some(corpus))?;
    // A sentence-pair corpus's exports carry each record's second text beside its text.
    let pairs = store.corpus_has_pairs(corpus)?;
    // A corpus with reference entity spans (a CoNLL import) exports them.
    let spanned = store.corpus_has_gold_spans(corpus)?;
    if let Some(set) = options.embeddings {
        let info = store.embedding_set(set)?;
        if info.key.corpus != corpus {
            return Err(Error::Input(format!("embedding set {set} is of corpus {:?}, not {corpus:?}", info.key.corpus)));
        }
        if format == ExportFormat::Csv {
            return Err(Error::Input("embeddings are exported to JSONL or Parquet, not CSV; choose one of those".into()));
        }
    }
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
                "metadata": row.metadata.as_deref().and_then(|m| serde_json::from_str::<Value>(m).ok()),
                "annotation": row.annotation.as_ref().map(|(labels, status)| {
                    let mut a = json!({"labels": labels, "status": status, "annotator": row.annotator});
                    // Entity spans, when the annotation has them.
                    if let Some(spans) = &row.annotation_spans {
                        a["spans"] = json!(spans);
                    }
                    a
                }),
                "annotators": row.annotators.iter().map(|(who, labels, status)| json!({"annotator": who, "labels": labels, "status": status})).collect::<Vec<_>>(),
                "predictions": predictions,
                "scans": row.scans,
            });
            let mut line = line;
            if pairs {
                line["text_pair"] = json!(row.text_pair);
            }
            if tagged {
                line["entities"] = json!(row.entities);
            }
            if spanned {
                line["gold_spans"] = json!(row.gold_spans);
            }
            if let Some(set) = options.embeddings {
                line["embedding"] = json!(store.embedding(set, row.record_id)?);
            }
            serde_json::to_writer(&mut *out, &line).map_err(|e| io(e.into()))?;
            out.write_all(b"\n").map_err(io)?;
            count += 1;
            watch.tick()
        })?,
        ExportFormat::Csv => {
            let mut writer = csv::Writer::from_writer(&mut *out);
            let mut header = vec!["id".to_string(), "text".into(), "gold".into(), "annotation".into(), "annotation_status".into()];
            if pairs {
                header.insert(2, "text_pair".into());
            }
            if spanned {
                header.push("gold_spans".into());
            }
            for r in &runs {
                header.extend([format!("run{}_label", r.id), format!("run{}_score", r.id), format!("run{}_scores", r.id)]);
            }
            for r in &taggers {
                header.push(format!("run{}_entities", r.id));
            }
            for s in &scans {
                header.extend([format!("scan{}_suspicion", s.id), format!("scan{}_flagged", s.id)]);
            }
            writer.write_record(&header).map_err(|e| io(e.into()))?;
            let raw = options.raw_csv;
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
                if pairs {
                    fields.insert(2, row.text_pair.clone().unwrap_or_default());
                }
                if spanned {
                    fields.push(row.gold_spans.as_ref().map(|s| json!(s).to_string()).unwrap_or_default());
                }
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
                for r in &taggers {
                    // A run's entities as a JSON list, without the run (the column names it).
                    let entities: Vec<Value> = row
                        .entities
                        .iter()
                        .filter(|e| e.run == r.id)
                        .map(|e| json!({"label": e.label, "start": e.start, "end": e.end, "score": e.score, "text": e.text}))
                        .collect();
                    fields.push(Value::Array(entities).to_string());
                }
                for s in &scans {
                    match row.scans.iter().find(|r| r.scan == s.id) {
                        Some(r) => fields.extend([r.suspicion.to_string(), r.flagged.to_string()]),
                        None => fields.extend([String::new(), String::new()]),
                    }
                }
                writer
                    .write_record(fields.iter().map(|f| if raw { Cow::Borrowed(f.as_str()) } else { spreadsheet_safe(f) }.into_owned()))
                    .map_err(|e| io(e.into()))?;
                count += 1;
                watch.tick()
            })?;
            writer.flush().map_err(io)?;
        }
        ExportFormat::Parquet => count = parquet::write(store, corpus, (pairs, tagged, spanned), options.embeddings, out, watch)?,
    }
    Ok(count)
}

mod parquet {
    //! Parquet with the JSONL export's shape: id, text, gold, annotation {labels, status},
    //! predictions [{run, model, labels, scores}], scans [{scan, model, suspicion, flagged,
    //! tokens [{token, start, end, probability}]}], and with tagging runs entities [{run, label,
    //! start, end, score, text}], written a row group of records at a time.

    use std::io::Write;
    use std::sync::Arc;

    use arrow_array::builder::{Float32Builder, Int64Builder, ListBuilder, StringBuilder, StructBuilder};
    use arrow_array::{ArrayRef, RecordBatch};
    use arrow_schema::{DataType, Field, Fields, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::basic::Compression;
    use parquet::file::properties::WriterProperties;

    use super::record_id;
    use crate::domain::progress::Watch;
    use crate::error::{Error, Result};
    use crate::store::Store;

    const ROWS_PER_GROUP: usize = 8192;

    fn list_of(item: DataType) -> DataType {
        DataType::List(Arc::new(Field::new("item", item, true)))
    }

    fn annotation_fields() -> Fields {
        Fields::from(vec![Field::new("labels", list_of(DataType::Utf8), true), Field::new("status", DataType::Utf8, true)])
    }

    fn prediction_fields() -> Fields {
        Fields::from(vec![
            Field::new("run", DataType::Int64, true),
            Field::new("model", DataType::Utf8, true),
            Field::new("labels", list_of(DataType::Utf8), true),
            Field::new("scores", list_of(DataType::Float32), true),
        ])
    }

    fn token_fields() -> Fields {
        Fields::from(vec![
            Field::new("token", DataType::Utf8, true),
            Field::new("start", DataType::Int64, true),
            Field::new("end", DataType::Int64, true),
            Field::new("probability", DataType::Float32, true),
        ])
    }

    fn scan_fields() -> Fields {
        Fields::from(vec![
            Field::new("scan", DataType::Int64, true),
            Field::new("model", DataType::Utf8, true),
            Field::new("suspicion", DataType::Float32, true),
            Field::new("flagged", DataType::Int64, true),
            Field::new("tokens", list_of(DataType::Struct(token_fields())), true),
        ])
    }

    fn entity_fields() -> Fields {
        Fields::from(vec![
            Field::new("run", DataType::Int64, true),
            Field::new("label", DataType::Utf8, true),
            Field::new("start", DataType::Int64, true),
            Field::new("end", DataType::Int64, true),
            Field::new("score", DataType::Float32, true),
            Field::new("text", DataType::Utf8, true),
        ])
    }

    fn entity_builder() -> StructBuilder {
        StructBuilder::new(
            entity_fields(),
            vec![
                Box::new(Int64Builder::new()),
                Box::new(StringBuilder::new()),
                Box::new(Int64Builder::new()),
                Box::new(Int64Builder::new()),
                Box::new(Float32Builder::new()),
                Box::new(StringBuilder::new()),
            ],
        )
    }

    fn span_fields() -> Fields {
        Fields::from(vec![
            Field::new("start", DataType::Int64, true),
            Field::new("end", DataType::Int64, true),
            Field::new("label", DataType::Utf8, true),
        ])
    }

    fn span_builder() -> StructBuilder {
        StructBuilder::new(span_fields(), vec![Box::new(Int64Builder::new()), Box::new(Int64Builder::new()), Box::new(StringBuilder::new())])
    }

    fn token_builder() -> StructBuilder {
        StructBuilder::new(
            token_fields(),
            vec![Box::new(StringBuilder::new()), Box::new(Int64Builder::new()), Box::new(Int64Builder::new()), Box::new(Float32Builder::new())],
        )
    }

    struct Columns {
        id: StringBuilder,
        text: StringBuilder,
        /// In a sentence-pair corpus: each record's second text.
        text_pair: Option<StringBuilder>,
        gold: StringBuilder,
        annotation: StructBuilder,
        predictions: ListBuilder<StructBuilder>,
        scans: ListBuilder<StructBuilder>,
        /// With tagging runs: each record's entities.
        entities: Option<ListBuilder<StructBuilder>>,
        /// With reference spans: each record's (null for a record without a reference).
        gold_spans: Option<ListBuilder<StructBuilder>>,
        /// With an embedding set: each record's vector.
        embedding: Option<ListBuilder<Float32Builder>>,
        rows: usize,
    }

    impl Columns {
        fn new((pairs, tagged, spanned): (bool, bool, bool), embeddings: bool) -> Self {
            let annotation =
                StructBuilder::new(annotation_fields(), vec![Box::new(ListBuilder::new(StringBuilder::new())), Box::new(StringBuilder::new())]);
            let prediction = StructBuilder::new(
                prediction_fields(),
                vec![
                    Box::new(Int64Builder::new()),
                    Box::new(StringBuilder::new()),
                    Box::new(ListBuilder::new(StringBuilder::new())),
                    Box::new(ListBuilder::new(Float32Builder::new())),
                ],
            );
            let scan = StructBuilder::new(
                scan_fields(),
                vec![
                    Box::new(Int64Builder::new()),
                    Box::new(StringBuilder::new()),
                    Box::new(Float32Builder::new()),
                    Box::new(Int64Builder::new()),
                    Box::new(ListBuilder::new(token_builder())),
                ],
            );
            Self {
                id: StringBuilder::new(),
                text: StringBuilder::new(),
                text_pair: pairs.then(StringBuilder::new),
                gold: StringBuilder::new(),
                annotation,
                predictions: ListBuilder::new(prediction),
                scans: ListBuilder::new(scan),
                entities: tagged.then(|| ListBuilder::new(entity_builder())),
                gold_spans: spanned.then(|| ListBuilder::new(span_builder())),
                embedding: embeddings.then(|| ListBuilder::new(Float32Builder::new())),
                rows: 0,
            }
        }

        fn finish(&mut self, schema: &Arc<Schema>) -> Result<RecordBatch> {
            let mut arrays: Vec<ArrayRef> = vec![Arc::new(self.id.finish()), Arc::new(self.text.finish())];
            if let Some(pair) = self.text_pair.as_mut() {
                arrays.push(Arc::new(pair.finish()));
            }
            arrays.extend([
                Arc::new(self.gold.finish()) as ArrayRef,
                Arc::new(self.annotation.finish()),
                Arc::new(self.predictions.finish()),
                Arc::new(self.scans.finish()),
            ]);
            if let Some(entities) = &mut self.entities {
                arrays.push(Arc::new(entities.finish()));
            }
            if let Some(spans) = &mut self.gold_spans {
                arrays.push(Arc::new(spans.finish()));
            }
            if let Some(embedding) = &mut self.embedding {
                arrays.push(Arc::new(embedding.finish()));
            }
            self.rows = 0;
            RecordBatch::try_new(schema.clone(), arrays).map_err(|e| Error::Inference(format!("building a Parquet batch: {e}")))
        }
    }

    fn labels_into(builder: &mut ListBuilder<StringBuilder>, labels: &[String]) {
        for l in labels {
            builder.values().append_value(l);
        }
        builder.append(true);
    }

    pub(super) fn write(
        store: &Store,
        corpus: &str,
        (pairs, tagged, spanned): (bool, bool, bool),
        embeddings: Option<i64>,
        out: &mut (dyn Write + Send),
        watch: &mut Watch,
    ) -> Result<u64> {
        let mut fields = vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("text", DataType::Utf8, false),
            Field::new("gold", DataType::Utf8, true),
            Field::new("annotation", DataType::Struct(annotation_fields()), true),
            Field::new("predictions", list_of(DataType::Struct(prediction_fields())), true),
            Field::new("scans", list_of(DataType::Struct(scan_fields())), true),
        ];
        if pairs {
            fields.insert(2, Field::new("text_pair", DataType::Utf8, true));
        }
        if tagged {
            fields.push(Field::new("entities", list_of(DataType::Struct(entity_fields())), true));
        }
        if spanned {
            fields.push(Field::new("gold_spans", list_of(DataType::Struct(span_fields())), true));
        }
        if embeddings.is_some() {
            fields.push(Field::new("embedding", list_of(DataType::Float32), true));
        }
        let schema = Arc::new(Schema::new(fields));
        let io = |e: parquet::errors::ParquetError| Error::Io { path: "<export>".into(), source: std::io::Error::other(e) };
        let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
        let mut writer = ArrowWriter::try_new(out, schema.clone(), Some(props)).map_err(io)?;
        let mut columns = Columns::new((pairs, tagged, spanned), embeddings.is_some());
        let mut count = 0u64;
        store.for_each_export_row(corpus, &mut |row| {
            match record_id(&row) {
                serde_json::Value::String(s) => columns.id.append_value(s),
                other => columns.id.append_value(other.to_string()),
            }
            columns.text.append_value(&row.text);
            if let Some(pair) = columns.text_pair.as_mut() {
                pair.append_option(row.text_pair.as_deref());
            }
            columns.gold.append_option(row.gold.as_deref());
            match &row.annotation {
                Some((labels, status)) => {
                    labels_into(columns.annotation.field_builder::<ListBuilder<StringBuilder>>(0).expect("labels column"), labels);
                    columns.annotation.field_builder::<StringBuilder>(1).expect("status column").append_value(status.as_str());
                    columns.annotation.append(true);
                }
                None => {
                    columns.annotation.field_builder::<ListBuilder<StringBuilder>>(0).expect("labels column").append(false);
                    columns.annotation.field_builder::<StringBuilder>(1).expect("status column").append_null();
                    columns.annotation.append(false);
                }
            }
            let predictions = columns.predictions.values();
            for (run, model, labels, scores) in &row.predictions {
                predictions.field_builder::<Int64Builder>(0).expect("run column").append_value(*run);
                predictions.field_builder::<StringBuilder>(1).expect("model column").append_value(model);
                labels_into(predictions.field_builder::<ListBuilder<StringBuilder>>(2).expect("labels column"), labels);
                let score_list = predictions.field_builder::<ListBuilder<Float32Builder>>(3).expect("scores column");
                for s in scores {
                    score_list.values().append_value(*s);
                }
                score_list.append(true);
                predictions.append(true);
            }
            columns.predictions.append(true);
            let scans = columns.scans.values();
            for s in &row.scans {
                scans.field_builder::<Int64Builder>(0).expect("scan column").append_value(s.scan);
                scans.field_builder::<StringBuilder>(1).expect("model column").append_value(&s.model);
                scans.field_builder::<Float32Builder>(2).expect("suspicion column").append_value(s.suspicion);
                scans.field_builder::<Int64Builder>(3).expect("flagged column").append_value(i64::from(s.flagged));
                let tokens = scans.field_builder::<ListBuilder<StructBuilder>>(4).expect("tokens column");
                for t in &s.tokens {
                    let token = tokens.values();
                    token.field_builder::<StringBuilder>(0).expect("token column").append_value(&t.token);
                    token.field_builder::<Int64Builder>(1).expect("start column").append_value(t.start as i64);
                    token.field_builder::<Int64Builder>(2).expect("end column").append_value(t.end as i64);
                    token.field_builder::<Float32Builder>(3).expect("probability column").append_value(t.probability);
                    token.append(true);
                }
                tokens.append(true);
                scans.append(true);
            }
            columns.scans.append(true);
            if let Some(entities) = columns.entities.as_mut() {
                let entity = entities.values();
                for e in &row.entities {
                    entity.field_builder::<Int64Builder>(0).expect("run column").append_value(e.run);
                    entity.field_builder::<StringBuilder>(1).expect("label column").append_value(&e.label);
                    entity.field_builder::<Int64Builder>(2).expect("start column").append_value(e.start as i64);
                    entity.field_builder::<Int64Builder>(3).expect("end column").append_value(e.end as i64);
                    entity.field_builder::<Float32Builder>(4).expect("score column").append_value(e.score);
                    entity.field_builder::<StringBuilder>(5).expect("text column").append_value(&e.text);
                    entity.append(true);
                }
                entities.append(true);
            }
            if let Some(builder) = columns.gold_spans.as_mut() {
                match &row.gold_spans {
                    Some(spans) => {
                        for s in spans {
                            let span = builder.values();
                            span.field_builder::<Int64Builder>(0).expect("start column").append_value(s.start as i64);
                            span.field_builder::<Int64Builder>(1).expect("end column").append_value(s.end as i64);
                            span.field_builder::<StringBuilder>(2).expect("label column").append_value(&s.label);
                            span.append(true);
                        }
                        builder.append(true);
                    }
                    None => builder.append(false),
                }
            }
            if let (Some(set), Some(builder)) = (embeddings, &mut columns.embedding) {
                match store.embedding(set, row.record_id)? {
                    Some(vector) => {
                        builder.values().append_slice(&vector);
                        builder.append(true);
                    }
                    None => builder.append(false),
                }
            }
            columns.rows += 1;
            count += 1;
            if columns.rows == ROWS_PER_GROUP {
                writer.write(&columns.finish(&schema)?).map_err(io)?;
            }
            watch.tick()
        })?;
        if columns.rows > 0 {
            writer.write(&columns.finish(&schema)?).map_err(io)?;
        }
        writer.close().map_err(io)?;
        Ok(count)
    }
}

/// Exports to `path`, atomically: the file appears complete or not at all. The project database
/// itself (or its WAL and shared-memory files) is refused as a destination.
/// A cancelled export leaves nothing behind.
pub fn export_to_file(store: &Store, corpus: &str, format: ExportFormat, options: &ExportOptions, path: &Path, watch: &mut Watch) -> Result<u64> {
    if store.is_own_file(path) {
        return Err(Error::Input(format!(
            "{} is the project database itself; exporting there would replace the project. Choose another file",
            path.display()
        )));
    }
    let mut tmp = crate::fs::temp_for(path)?;
    let count = {
        let mut buffered = std::io::BufWriter::new(tmp.as_file_mut());
        let count = export(store, corpus, format, options, &mut buffered, watch)?;
        buffered.flush().map_err(|e| Error::io(path, e))?;
        count
    };
    crate::fs::persist(tmp, path)?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralized_numbers_are_not() {
        for (cell, safe) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1+2", "'+1+2"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("-3.25", "-3.25"),
            ("+7", "+7"),
            ("-inf", "'-inf"),
            ("hola = adiós", "hola = adiós"),
            ("", ""),
        ] {
            assert_eq!(spreadsheet_safe(cell), safe, "{cell:?}");
        }
        let rows =
            vec![vec!["token".to_string(), "logit".into()], vec!["=cmd|' /C calc'!A0".into(), "-3.1".into()], vec!["a\tb".into(), "x\ny".into()]];
        assert_eq!(tsv(&rows, false), "token\tlogit\n'=cmd|' /C calc'!A0\t-3.1\na b\tx y");
        assert_eq!(tsv(&rows, true), "token\tlogit\n=cmd|' /C calc'!A0\t-3.1\na b\tx y");
    }
}
