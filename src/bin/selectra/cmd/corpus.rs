//! `selectra` commands. Corpora in a project: import, list, export (with an embedding set), export
//! a trained head, the label schema, deleting a result set.

use std::io::Write;

use selectra::domain::progress::Watch;
use selectra::domain::task::ZeroShotTask;
use selectra::exchange::export::{self, ExportFormat, ExportOptions};
use selectra::exchange::import::{self, Format, ImportOptions};
use selectra::store::Store;
use selectra::Result;

use crate::args::{CorpusImportArgs, CorpusListArgs, DeleteArgs, ExportArgs, ExportHeadArgs, SchemaArgs};
use crate::output::*;

pub fn corpus_import(args: CorpusImportArgs) -> Result<()> {
    let CorpusImportArgs {
        db,
        name,
        format,
        text_column,
        text_pair_column,
        id_column,
        label_column,
        spans_column,
        metadata_columns,
        skip_bad,
        max_record_bytes,
        json,
        path,
    } = args;
    let options = ImportOptions {
        name,
        format: format.as_deref().map(Format::parse).transpose()?,
        text_column,
        text_pair_column,
        id_column,
        label_column,
        spans_column,
        metadata_columns,
        skip_bad,
        max_record_bytes,
    };
    let mut store = Store::open(&db)?;
    let bar = TaskBar::new("{bar:30} {percent}%  {msg}  {elapsed}");
    let cancel = cancel_on_ctrl_c();
    let outcome = import::import_file(
        &mut store,
        &path,
        &options,
        &mut |p| {
            bar.update(p.bytes_read, p.total_bytes, &format!("{} records", p.records));
        },
        &cancel,
    )?;
    drop(bar);
    if json {
        print_json(&outcome);
    } else {
        out!("imported {} records into corpus {:?} ({})", outcome.imported, outcome.corpus.name, db.display());
        if !outcome.skipped.is_empty() {
            out!("skipped {} bad rows:", outcome.skipped.len());
            for bad in &outcome.skipped {
                out!("  row {}: {}", bad.line, bad.reason);
            }
        }
    }
    Ok(())
}

pub fn corpus_list(args: CorpusListArgs) -> Result<()> {
    let CorpusListArgs { db, json } = args;
    let corpora = Store::open_existing(&db)?.corpora()?;
    if json {
        print_json(&corpora);
    } else if corpora.is_empty() {
        out!("no corpora in {}", db.display());
    } else {
        let width = corpora.iter().map(|c| c.name.chars().count()).max().unwrap_or(4).max(4);
        out!("{:width$}  {:>9}  {:<6}  {:<24}  source", "name", "records", "format", "imported");
        for c in &corpora {
            out!("{:width$}  {:>9}  {:<6}  {:<24}  {}", c.name, c.records, c.format, c.created_at, c.source_path);
        }
    }
    Ok(())
}

pub fn export_head(args: ExportHeadArgs) -> Result<()> {
    let ExportHeadArgs { db, run, output } = args;
    let store = Store::open_existing(&db)?;
    let (weights, json) = selectra::jobs::train::export_head(&store, run, &output)?;
    out!("wrote {} and {}", weights.display(), json.display());
    Ok(())
}

pub fn delete(args: DeleteArgs) -> Result<()> {
    let DeleteArgs { db, run, scan, embeddings } = args;
    use selectra::store::ResultSet;
    let set = run.map(ResultSet::Run).or(scan.map(ResultSet::Scan)).or(embeddings.map(ResultSet::Embeddings));
    let set = set.ok_or_else(|| selectra::Error::Input("choose what to delete: a run, a scan or an embedding set".into()))?;
    Store::open_existing(&db)?.delete_result_set(set)?;
    out!("deleted {} {}", set.noun(), set.id());
    Ok(())
}

pub fn export(args: ExportArgs) -> Result<()> {
    let ExportArgs { db, corpus, format, output, raw_csv, embeddings } = args;
    let store = Store::open_existing(&db)?;
    let format = ExportFormat::parse(&format)?;
    let embeddings = match embeddings {
        None => None,
        Some(model) => Some(
            store
                .embedding_sets(&corpus)?
                .into_iter()
                .rev()
                .find(|s| s.key.model == model)
                .ok_or_else(|| selectra::Error::Input(format!("corpus {corpus:?} has no embeddings by {model:?}; run selectra embed with it first")))?
                .id,
        ),
    };
    let options = ExportOptions { raw_csv, embeddings };
    match output {
        Some(path) => {
            let n = export::export_to_file(&store, &corpus, format, &options, &path, &mut Watch::none())?;
            eprintln!("exported {n} records to {}", path.display());
        }
        None => {
            // Stdout itself (not its lock) is Send, which the Parquet writer needs.
            let mut out = std::io::BufWriter::new(std::io::stdout());
            export::export(&store, &corpus, format, &options, &mut out, &mut Watch::none())?;
            out.flush().map_err(|e| selectra::Error::Io { path: "<stdout>".into(), source: e })?;
        }
    }
    Ok(())
}

pub fn schema(args: SchemaArgs) -> Result<()> {
    let SchemaArgs { db, corpus, set, labels, json } = args;
    let mut store = Store::open_existing(&db)?;
    let schema = if let Some(file) = set {
        store.set_label_schema(&corpus, selectra::exchange::import::read_label_schema(&file)?)?
    } else if let Some(labels) = labels {
        store.set_label_schema(&corpus, selectra::store::LabelSchema::from_names(&ZeroShotTask::parse_labels(&labels))?)?
    } else {
        store.label_schema(&corpus)?
    };
    if json {
        print_json(&schema);
    } else if schema.labels.is_empty() {
        out!("corpus {corpus:?} has no label schema yet");
    } else {
        // Stored text is printed with its control characters escaped: a description
        // cannot drive the terminal.
        use selectra::domain::text::{one_line, printable};
        for l in &schema.labels {
            out!(
                "{:>3}  {:<20}  {}  {}",
                one_line(l.key.as_deref().unwrap_or("")),
                printable(&l.name),
                l.colour.as_deref().unwrap_or(""),
                printable(&l.description)
            );
        }
        for warning in schema.warnings() {
            out!("note: {}", printable(&warning));
        }
        if !schema.guidelines.is_empty() {
            out!("\n{}", printable(&schema.guidelines));
        }
    }
    Ok(())
}
