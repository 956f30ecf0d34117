//! A corpus as a Hugging Face dataset: the Parquet data file of one split and the README.md card
//! that `datasets.load_dataset` reads (the files a push commits, and what `corpus push` writes
//! to a folder).
//!
//! The data file's columns: `id`, `text` (and `text_pair`), the reference label as a
//! `ClassLabel` index (`label`; -1 for none, `datasets`' convention) or, when some record has
//! several, `labels` (a list of indexes), `gold` as imported, the annotation `status`, every
//! annotator's own latest `annotators` labels, the reference `spans` when the corpus has any,
//! and each metadata key as a column (numbers, booleans or text, whichever all its values are).
//! The features (with the label names) are written twice, as `datasets` does: in the file's
//! `huggingface` metadata and in the card's YAML `dataset_info`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder, ListBuilder, StringBuilder, StructBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Fields, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::{json, Map, Value};

use crate::domain::annotation::{reference, Status};
use crate::domain::dataset::{write_card, Card, DEFAULT_CONFIG};
use crate::domain::labels::SchemaKind;
use crate::domain::spans::Span;
use crate::error::{Error, Result};
use crate::store::{ExportRow, Store};

/// What the card says that the exchange cannot work out from the project alone (the caller's
/// analysis: annotator agreement, as Markdown).
#[derive(Debug, Clone, Default)]
pub struct CardFacts {
    pub agreement: Option<String>,
}

/// The files written: repository paths (relative to the folder) and the records in the split.
#[derive(Debug, Clone)]
pub struct Written {
    /// The split written (`domain::dataset::split_or_default`).
    pub split: String,
    pub files: Vec<String>,
    pub records: u64,
}

/// The repository path of a split's data file.
pub fn data_file(split: &str) -> String {
    format!("data/{split}-00000-of-00001.parquet")
}

/// Whether `path` is one of `split`'s data files as `push_to_hub` names them
/// (`data/{split}-NNNNN-of-NNNNN*.parquet`): a new push of the split replaces them.
pub fn is_split_file(path: &str, split: &str) -> bool {
    path.strip_prefix("data/").and_then(|rest| rest.strip_prefix(split)).and_then(|rest| rest.strip_prefix('-')).is_some_and(|rest| {
        let b = rest.as_bytes();
        b.len() >= 14
            && b[..5].iter().all(u8::is_ascii_digit)
            && &rest[5..9] == "-of-"
            && b[9..14].iter().all(u8::is_ascii_digit)
            && rest.ends_with(".parquet")
    })
}

/// A split name a repository path and the `datasets` library accept.
fn check_split(split: &str) -> Result<()> {
    let ok = !split.is_empty() && split.len() <= 64 && split.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !split.starts_with('_');
    if ok {
        Ok(())
    } else {
        Err(Error::Input(format!("{split:?} is not a split name; use letters, digits and underscores (e.g. train, test)"))
            .fixed_by(crate::error::Setting::HubSplit))
    }
}

/// A metadata key's column type: the one all its values share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MetaType {
    Int,
    Float,
    Bool,
    Text,
}

impl MetaType {
    fn of(v: &Value) -> Option<Self> {
        match v {
            Value::Null => None,
            Value::Bool(_) => Some(MetaType::Bool),
            Value::Number(n) if n.is_i64() => Some(MetaType::Int),
            Value::Number(_) => Some(MetaType::Float),
            _ => Some(MetaType::Text),
        }
    }

    fn join(self, other: Self) -> Self {
        match (self, other) {
            (a, b) if a == b => a,
            (MetaType::Int, MetaType::Float) | (MetaType::Float, MetaType::Int) => MetaType::Float,
            _ => MetaType::Text,
        }
    }

    fn dtype(self) -> &'static str {
        match self {
            MetaType::Int => "int64",
            MetaType::Float => "float64",
            MetaType::Bool => "bool",
            MetaType::Text => "string",
        }
    }
}

/// A record's reference: (labels, spans). Discarded records have neither.
fn reference_of(row: &ExportRow) -> (Vec<String>, Option<Vec<Span>>) {
    let annotation = row.annotation.as_ref().map(|(labels, status)| (labels.as_slice(), *status));
    let labels = reference(annotation, row.gold.as_deref(), false).map(|(labels, _)| labels).unwrap_or_default();
    let discarded = matches!(row.annotation, Some((_, Status::Discarded)));
    let spans = if discarded {
        None
    } else {
        match (&row.annotation, &row.annotation_spans) {
            (Some((_, Status::Accepted)), Some(spans)) => Some(spans.clone()),
            _ => row.gold_spans.clone(),
        }
    };
    (labels, spans)
}

/// What a first pass over the corpus finds: label names, whether any record has several, the
/// metadata keys and their types, whether there are spans.
struct Shape {
    names: Vec<String>,
    multi: bool,
    meta: Vec<(String, MetaType)>,
    spans: bool,
    pairs: bool,
    records: u64,
}

fn shape(store: &Store, corpus: &str) -> Result<Shape> {
    let schema = store.label_schema(corpus)?;
    let mut names: Vec<String> = if schema.kind == SchemaKind::Labels { schema.labels.iter().map(|l| l.name.clone()).collect() } else { Vec::new() };
    let mut extra: std::collections::BTreeSet<String> = Default::default();
    let mut meta: BTreeMap<String, Option<MetaType>> = BTreeMap::new();
    let (mut multi, mut spans, mut records) = (false, false, 0u64);
    store.for_each_export_row(corpus, &mut |row| {
        records += 1;
        let (labels, reference_spans) = reference_of(&row);
        multi |= labels.len() > 1;
        spans |= reference_spans.is_some();
        extra.extend(labels.into_iter().filter(|l| !names.contains(l)));
        if let Some(Ok(Value::Object(map))) = row.metadata.as_deref().map(serde_json::from_str::<Value>) {
            for (k, v) in map {
                let slot = meta.entry(k).or_insert(None);
                if let Some(t) = MetaType::of(&v) {
                    *slot = Some(slot.map_or(t, |s| s.join(t)));
                }
            }
        }
        Ok(())
    })?;
    names.extend(extra);
    let taken = ["id", "text", "text_pair", "label", "labels", "gold", "status", "annotators", "spans"];
    let meta = meta.into_iter().filter(|(k, _)| !taken.contains(&k.as_str())).map(|(k, t)| (k, t.unwrap_or(MetaType::Text))).collect();
    Ok(Shape { names, multi, meta, spans, pairs: store.corpus_has_pairs(corpus)?, records })
}

fn string_list() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

fn annotator_fields() -> Fields {
    Fields::from(vec![
        Field::new("annotator", DataType::Utf8, true),
        Field::new("labels", string_list(), true),
        Field::new("status", DataType::Utf8, true),
    ])
}

fn span_fields() -> Fields {
    Fields::from(vec![
        Field::new("start", DataType::Int64, true),
        Field::new("end", DataType::Int64, true),
        Field::new("label", DataType::Utf8, true),
    ])
}

/// The features as `datasets` writes them into a Parquet file (`Features.to_dict`) and the card
/// (`_to_yaml_list`), in column order.
fn features(shape: &Shape) -> (Value, Value) {
    let value = |dtype: &str| json!({"dtype": dtype, "_type": "Value"});
    let class = json!({"names": shape.names, "_type": "ClassLabel"});
    let numbered: Map<String, Value> = shape.names.iter().enumerate().map(|(i, n)| (i.to_string(), Value::String(n.clone()))).collect();
    let class_yaml = json!({"class_label": {"names": numbered}});
    let mut dict = Map::new();
    let mut yaml = Vec::new();
    let mut add = |name: &str, d: Value, y: Value| {
        dict.insert(name.to_string(), d);
        let mut entry = Map::new();
        entry.insert("name".into(), Value::String(name.to_string()));
        if let Value::Object(y) = y {
            entry.extend(y);
        }
        yaml.push(Value::Object(entry));
    };
    add("id", value("string"), json!({"dtype": "string"}));
    add("text", value("string"), json!({"dtype": "string"}));
    if shape.pairs {
        add("text_pair", value("string"), json!({"dtype": "string"}));
    }
    if shape.multi {
        add("labels", json!({"feature": class, "_type": "List"}), json!({"list": class_yaml}));
    } else {
        add("label", class, json!({"dtype": class_yaml}));
    }
    add("gold", value("string"), json!({"dtype": "string"}));
    add("status", value("string"), json!({"dtype": "string"}));
    add(
        "annotators",
        json!({"feature": {"annotator": value("string"), "labels": {"feature": value("string"), "_type": "List"}, "status": value("string")}, "_type": "List"}),
        json!({"list": [{"name": "annotator", "dtype": "string"}, {"name": "labels", "list": "string"}, {"name": "status", "dtype": "string"}]}),
    );
    if shape.spans {
        add(
            "spans",
            json!({"feature": {"start": value("int64"), "end": value("int64"), "label": value("string")}, "_type": "List"}),
            json!({"list": [{"name": "start", "dtype": "int64"}, {"name": "end", "dtype": "int64"}, {"name": "label", "dtype": "string"}]}),
        );
    }
    for (key, t) in &shape.meta {
        add(key, value(t.dtype()), json!({"dtype": t.dtype()}));
    }
    (Value::Object(dict), Value::Array(yaml))
}

fn arrow_schema(shape: &Shape, hf_features: &Value) -> Schema {
    let mut fields = vec![Field::new("id", DataType::Utf8, false), Field::new("text", DataType::Utf8, false)];
    if shape.pairs {
        fields.push(Field::new("text_pair", DataType::Utf8, true));
    }
    if shape.multi {
        fields.push(Field::new("labels", DataType::List(Arc::new(Field::new("item", DataType::Int64, true))), true));
    } else {
        fields.push(Field::new("label", DataType::Int64, false));
    }
    fields.push(Field::new("gold", DataType::Utf8, true));
    fields.push(Field::new("status", DataType::Utf8, true));
    fields.push(Field::new("annotators", DataType::List(Arc::new(Field::new("item", DataType::Struct(annotator_fields()), true))), true));
    if shape.spans {
        fields.push(Field::new("spans", DataType::List(Arc::new(Field::new("item", DataType::Struct(span_fields()), true))), true));
    }
    for (key, t) in &shape.meta {
        let dt = match t {
            MetaType::Int => DataType::Int64,
            MetaType::Float => DataType::Float64,
            MetaType::Bool => DataType::Boolean,
            MetaType::Text => DataType::Utf8,
        };
        fields.push(Field::new(key, dt, true));
    }
    let metadata = json!({"info": {"features": hf_features}}).to_string();
    Schema::new(fields).with_metadata(std::collections::HashMap::from([("huggingface".to_string(), metadata)]))
}

/// One batch of rows in column builders.
struct Columns {
    id: StringBuilder,
    text: StringBuilder,
    text_pair: StringBuilder,
    label: Int64Builder,
    labels: ListBuilder<Int64Builder>,
    gold: StringBuilder,
    status: StringBuilder,
    annotators: ListBuilder<StructBuilder>,
    spans: ListBuilder<StructBuilder>,
    meta: Vec<MetaColumn>,
    rows: usize,
}

enum MetaColumn {
    Int(Int64Builder),
    Float(Float64Builder),
    Bool(BooleanBuilder),
    Text(StringBuilder),
}

impl Columns {
    fn new(shape: &Shape) -> Self {
        let annotator = StructBuilder::new(
            annotator_fields(),
            vec![Box::new(StringBuilder::new()), Box::new(ListBuilder::new(StringBuilder::new())), Box::new(StringBuilder::new())],
        );
        let span =
            StructBuilder::new(span_fields(), vec![Box::new(Int64Builder::new()), Box::new(Int64Builder::new()), Box::new(StringBuilder::new())]);
        let meta = shape
            .meta
            .iter()
            .map(|(_, t)| match t {
                MetaType::Int => MetaColumn::Int(Int64Builder::new()),
                MetaType::Float => MetaColumn::Float(Float64Builder::new()),
                MetaType::Bool => MetaColumn::Bool(BooleanBuilder::new()),
                MetaType::Text => MetaColumn::Text(StringBuilder::new()),
            })
            .collect();
        Self {
            id: StringBuilder::new(),
            text: StringBuilder::new(),
            text_pair: StringBuilder::new(),
            label: Int64Builder::new(),
            labels: ListBuilder::new(Int64Builder::new()),
            gold: StringBuilder::new(),
            status: StringBuilder::new(),
            annotators: ListBuilder::new(annotator),
            spans: ListBuilder::new(span),
            meta,
            rows: 0,
        }
    }

    fn push(&mut self, row: &ExportRow, shape: &Shape) {
        self.rows += 1;
        self.id.append_value(&row.export_id);
        self.text.append_value(&row.text);
        self.text_pair.append_option(row.text_pair.as_deref());
        let (labels, spans) = reference_of(row);
        let index = |l: &String| shape.names.iter().position(|n| n == l).expect("every reference label is named") as i64;
        if shape.multi {
            for l in &labels {
                self.labels.values().append_value(index(l));
            }
            self.labels.append(true);
        } else {
            self.label.append_value(labels.first().map_or(-1, index));
        }
        self.gold.append_option(row.gold.as_deref());
        self.status.append_option(row.annotation.as_ref().map(|(_, s)| s.as_str()));
        let annotators = self.annotators.values();
        for (who, labels, status) in &row.annotators {
            annotators.field_builder::<StringBuilder>(0).expect("annotator").append_value(who);
            let list = annotators.field_builder::<ListBuilder<StringBuilder>>(1).expect("labels");
            for l in labels {
                list.values().append_value(l);
            }
            list.append(true);
            annotators.field_builder::<StringBuilder>(2).expect("status").append_value(status.as_str());
            annotators.append(true);
        }
        self.annotators.append(true);
        if let Some(spans) = &spans {
            let builder = self.spans.values();
            for s in spans {
                builder.field_builder::<Int64Builder>(0).expect("start").append_value(s.start as i64);
                builder.field_builder::<Int64Builder>(1).expect("end").append_value(s.end as i64);
                builder.field_builder::<StringBuilder>(2).expect("label").append_value(&s.label);
                builder.append(true);
            }
        }
        self.spans.append(spans.is_some());
        let meta: Map<String, Value> = match row.metadata.as_deref().map(serde_json::from_str::<Value>) {
            Some(Ok(Value::Object(map))) => map,
            _ => Map::new(),
        };
        for ((key, _), column) in shape.meta.iter().zip(self.meta.iter_mut()) {
            let v = meta.get(key).unwrap_or(&Value::Null);
            match column {
                MetaColumn::Int(b) => b.append_option(v.as_i64()),
                MetaColumn::Float(b) => b.append_option(v.as_f64()),
                MetaColumn::Bool(b) => b.append_option(v.as_bool()),
                MetaColumn::Text(b) => match v {
                    Value::Null => b.append_null(),
                    Value::String(s) => b.append_value(s),
                    other => b.append_value(other.to_string()),
                },
            }
        }
    }

    fn finish(&mut self, schema: &Arc<Schema>, shape: &Shape) -> Result<RecordBatch> {
        self.rows = 0;
        let mut columns: Vec<ArrayRef> = vec![Arc::new(self.id.finish()), Arc::new(self.text.finish())];
        let pair = self.text_pair.finish();
        if shape.pairs {
            columns.push(Arc::new(pair));
        }
        let (label, labels) = (self.label.finish(), self.labels.finish());
        columns.push(if shape.multi { Arc::new(labels) } else { Arc::new(label) });
        columns.push(Arc::new(self.gold.finish()));
        columns.push(Arc::new(self.status.finish()));
        columns.push(Arc::new(self.annotators.finish()));
        let spans = self.spans.finish();
        if shape.spans {
            columns.push(Arc::new(spans));
        }
        for column in &mut self.meta {
            columns.push(match column {
                MetaColumn::Int(b) => Arc::new(b.finish()),
                MetaColumn::Float(b) => Arc::new(b.finish()),
                MetaColumn::Bool(b) => Arc::new(b.finish()),
                MetaColumn::Text(b) => Arc::new(b.finish()),
            });
        }
        RecordBatch::try_new(schema.clone(), columns).map_err(|e| Error::Report(format!("cannot build the dataset's rows: {e}")))
    }
}

/// Rows per Parquet batch.
const BATCH: usize = 1024;

/// Where the files go, as the card's loading example names it.
#[derive(Debug, Clone, Copy)]
pub enum Destination<'a> {
    /// A Hub repository (`ORG/NAME`); `previous` is its card so far, whose other splits (in
    /// `configs` and `dataset_info`) are kept.
    Repo { id: &'a str, previous: Option<&'a Card> },
    /// A local folder.
    Folder,
}

/// Writes `corpus` as split `split` (empty: the default split) into `folder`: its data file and
/// README.md.
pub fn write(store: &Store, corpus: &str, folder: &Path, split: &str, facts: &CardFacts, destination: Destination) -> Result<Written> {
    let split = crate::domain::dataset::split_or_default(split);
    check_split(split)?;
    let shape = shape(store, corpus)?;
    let (hf_features, yaml_features) = features(&shape);
    let schema = Arc::new(arrow_schema(&shape, &hf_features));
    let data_path = data_file(split);
    let target = folder.join(&data_path);
    let parent = target.parent().expect("data/ has a parent");
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let io = |e: parquet::errors::ParquetError| Error::Io { path: target.clone(), source: std::io::Error::other(e) };
    let bytes = {
        let file = crate::fs::temp_for(&target)?;
        // The features also as the file's own key-value metadata, where pyarrow puts them.
        let features = schema.metadata().get("huggingface").cloned();
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_key_value_metadata(Some(vec![parquet::file::metadata::KeyValue::new("huggingface".to_string(), features)]))
            .build();
        let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(io)?;
        let mut columns = Columns::new(&shape);
        store.for_each_export_row(corpus, &mut |row| {
            columns.push(&row, &shape);
            if columns.rows == BATCH {
                writer.write(&columns.finish(&schema, &shape)?).map_err(io)?;
            }
            Ok(())
        })?;
        if columns.rows > 0 {
            writer.write(&columns.finish(&schema, &shape)?).map_err(io)?;
        }
        let file = writer.into_inner().map_err(io)?;
        let bytes = file.as_file().metadata().map_err(|e| Error::io(&target, e))?.len();
        crate::fs::persist(file, &target)?;
        bytes
    };
    let card = card(store, corpus, (split, destination), &shape, yaml_features, bytes, facts)?;
    crate::fs::write(&folder.join("README.md"), card.as_bytes())?;
    Ok(Written { split: split.to_string(), files: vec![data_path, "README.md".to_string()], records: shape.records })
}

/// The card's YAML and text.
fn card(
    store: &Store,
    corpus: &str,
    (split, destination): (&str, Destination),
    shape: &Shape,
    features: Value,
    bytes: u64,
    facts: &CardFacts,
) -> Result<String> {
    let (load_from, previous) = match destination {
        Destination::Repo { id, previous } => (id.to_string(), previous),
        Destination::Folder => ("path/to/this/folder".to_string(), None),
    };
    let info = store.corpus(corpus)?;
    let schema = store.label_schema(corpus)?;
    // Other splits the repository has, from its card so far.
    let previous_meta = previous.map(|c| &c.metadata).filter(|m| m.is_object());
    let default_config = previous_meta
        .and_then(|m| m.get("configs"))
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c.get("config_name").and_then(Value::as_str).unwrap_or(DEFAULT_CONFIG) == DEFAULT_CONFIG).cloned());
    let mut data_files: Vec<Value> = default_config
        .as_ref()
        .and_then(|c| c.get("data_files"))
        .and_then(Value::as_array)
        .map(|entries| entries.iter().filter(|e| e.is_object() && e.get("split").and_then(Value::as_str) != Some(split)).cloned().collect())
        .unwrap_or_default();
    data_files.push(json!({"split": split, "path": format!("data/{split}-*")}));
    let info_value = previous_meta.and_then(|m| m.get("dataset_info")).filter(|i| i.is_object());
    let mut splits: Vec<Value> = info_value
        .and_then(|i| i.get("splits"))
        .and_then(Value::as_array)
        .map(|s| s.iter().filter(|s| s.get("name").and_then(Value::as_str) != Some(split)).cloned().collect())
        .unwrap_or_default();
    splits.push(json!({"name": split, "num_bytes": bytes, "num_examples": shape.records}));
    let task = if shape.spans && shape.names.is_empty() { "token-classification" } else { "text-classification" };
    let mut metadata = match previous_meta {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    metadata.insert("language".into(), json!(["es"]));
    metadata.entry("task_categories").or_insert(json!([task]));
    metadata.entry("pretty_name").or_insert(json!(corpus));
    let mut tags: Vec<Value> = metadata.get("tags").and_then(Value::as_array).cloned().unwrap_or_default();
    if !tags.contains(&json!("selectra-studio")) {
        tags.push(json!("selectra-studio"));
    }
    metadata.insert("tags".into(), Value::Array(tags));
    let mut configs: Vec<Value> = previous_meta
        .and_then(|m| m.get("configs"))
        .and_then(Value::as_array)
        .map(|cs| cs.iter().filter(|c| c.get("config_name").and_then(Value::as_str).unwrap_or(DEFAULT_CONFIG) != DEFAULT_CONFIG).cloned().collect())
        .unwrap_or_default();
    configs.insert(0, json!({"config_name": DEFAULT_CONFIG, "data_files": data_files}));
    metadata.insert("configs".into(), Value::Array(configs));
    metadata.insert("dataset_info".into(), json!({"features": features, "splits": splits}));

    let mut text = format!("# {corpus}\n\nA Spanish corpus labeled with Selectra Studio {}.\n\n", crate::VERSION);
    text.push_str(&format!("## How it was made\n\n- Records in the `{split}` split: {}.\n", shape.records));
    match &info.origin {
        Some(origin) => text.push_str(&format!(
            "- Pulled from the Hub dataset `{}` (config `{}`, split `{}`, commit `{}`).\n",
            origin.repo, origin.config, origin.split, origin.commit
        )),
        None => text.push_str(&format!(
            "- Imported from a {} file (`{}`) on {}.\n",
            info.format,
            Path::new(&info.source_path).file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default(),
            info.created_at
        )),
    }
    text.push_str(
        "- `label` (or `labels`) is each record's reference: its accepted annotation, else its imported gold label; -1 is no label. \
         `annotators` holds every annotator's own latest labels and status.\n\n",
    );
    if !shape.names.is_empty() {
        text.push_str("## Labels\n\n| index | label | description |\n|---|---|---|\n");
        for (i, name) in shape.names.iter().enumerate() {
            let description = schema.labels.iter().find(|l| &l.name == name).map(|l| l.description.as_str()).unwrap_or("");
            text.push_str(&format!("| {i} | {} | {} |\n", cell(name), cell(description)));
        }
        text.push('\n');
    }
    if !schema.guidelines.trim().is_empty() {
        text.push_str(&format!("## Guidelines\n\n{}\n\n", schema.guidelines.trim()));
    }
    if let Some(agreement) = facts.agreement.as_deref().filter(|a| !a.trim().is_empty()) {
        text.push_str(&format!("## Annotators and agreement\n\n{}\n\n", agreement.trim()));
    }
    text.push_str(&format!(
        "## Loading\n\n```python\nfrom datasets import load_dataset\n\nds = load_dataset(\"{load_from}\", split=\"{split}\")\n```\n"
    ));
    write_card(&Value::Object(metadata), &text).map_err(|e| Error::Report(format!("cannot write the dataset card: {e}")))
}

/// A table cell's text: one line, pipes escaped.
fn cell(s: &str) -> String {
    crate::domain::text::one_line(s).replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_files_are_recognized_by_push_to_hub_names() {
        assert!(is_split_file("data/train-00000-of-00001.parquet", "train"));
        assert!(is_split_file("data/train-00003-of-00010-abc.parquet", "train"));
        assert!(!is_split_file("data/training-00000-of-00001.parquet", "train"));
        assert!(!is_split_file("data/test-00000-of-00001.parquet", "train"));
        assert!(!is_split_file("train-00000-of-00001.parquet", "train"));
        assert!(check_split("train").is_ok() && check_split("my_split2").is_ok());
        for bad in ["", "a/b", "../x", "tr ain", "_x"] {
            assert!(check_split(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn metadata_columns_take_the_type_all_their_values_share() {
        assert_eq!(MetaType::Int.join(MetaType::Float), MetaType::Float);
        assert_eq!(MetaType::Int.join(MetaType::Bool), MetaType::Text);
        assert_eq!(MetaType::of(&json!(2)), Some(MetaType::Int));
        assert_eq!(MetaType::of(&json!(2.5)), Some(MetaType::Float));
        assert_eq!(MetaType::of(&json!(null)), None);
    }
}
