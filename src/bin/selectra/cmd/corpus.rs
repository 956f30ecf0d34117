//! `selectra` commands. Corpora in a project: import (from files and the Hub), list, push to the
//! Hub, export (with an embedding set), export
//! a trained head, the label schema, deleting a result set.

use std::io::Write;

use selectra::domain::progress::Watch;
use selectra::domain::task::ZeroShotTask;
use selectra::exchange::export::{self, ExportFormat, ExportOptions};
use std::sync::Arc;

use selectra::domain::dataset::DatasetId;
use selectra::exchange::hub;
use selectra::exchange::import::{self, Format, ImportOptions};
use selectra::hub::HubSettings;
use selectra::store::Store;
use selectra::Result;

use crate::args::{CorpusHubArgs, CorpusImportArgs, CorpusListArgs, CorpusPushArgs, DeleteArgs, ExportArgs, ExportHeadArgs, SchemaArgs};
use crate::output::*;

pub fn corpus_import(args: CorpusImportArgs) -> Result<()> {
    let CorpusImportArgs {
        db,
        name,
        hub,
        config,
        split,
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
        name: name.unwrap_or_default(),
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
    let cancel = cancel_on_ctrl_c();
    let outcome = match (hub, path) {
        (Some(dataset), _) => {
            let settings = HubSettings::from_env();
            let dataset = hub::describe(&DatasetId::parse(&dataset)?, &settings)?;
            if let Some(reason) = &dataset.offline_reason {
                eprintln!("reading {} from the cache only: {reason}", dataset.id);
            }
            let downloads = Arc::new(DownloadBar::new());
            let bar = TaskBar::new("{bar:30} {percent}%  {msg}  {elapsed}");
            let outcome = hub::pull(
                &mut store,
                &dataset,
                (config.as_deref(), split.as_deref()),
                &options,
                &settings,
                downloads,
                &mut |p| bar.update(p.bytes_read, p.total_bytes, &format!("{} records", p.records)),
                &cancel,
            )?;
            drop(bar);
            outcome
        }
        (None, Some(path)) => {
            let bar = TaskBar::new("{bar:30} {percent}%  {msg}  {elapsed}");
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
            outcome
        }
        (None, None) => unreachable!("clap requires a file or --hub"),
    };
    if json {
        print_json(&outcome);
    } else {
        out!("imported {} records into corpus {:?} ({})", outcome.imported, outcome.corpus.name, db.display());
        if let Some(origin) = &outcome.corpus.origin {
            out!("from {}", origin.source());
        }
        if !outcome.skipped.is_empty() {
            out!("skipped {} bad rows:", outcome.skipped.len());
            for bad in &outcome.skipped {
                out!("  row {}: {}", bad.line, bad.reason);
            }
        }
    }
    Ok(())
}

pub fn corpus_hub(args: CorpusHubArgs) -> Result<()> {
    let CorpusHubArgs { dataset, config, split, preview, json } = args;
    let settings = HubSettings::from_env();
    let dataset = hub::describe(&DatasetId::parse(&dataset)?, &settings)?;
    let rows = match preview {
        Some(n) => Some(hub::preview_split(&dataset, config.as_deref(), split.as_deref(), n, &settings, Arc::new(DownloadBar::new()))?),
        None => None,
    };
    if json {
        print_json(&serde_json::json!({"dataset": dataset, "preview": rows}));
        return Ok(());
    }
    out!(
        "{} at {} (commit {}){}",
        dataset.id,
        dataset.read_from,
        dataset.commit,
        if dataset.converted { ", the Hub's Parquet conversion" } else { "" }
    );
    if let Some(reason) = &dataset.offline_reason {
        out!("from the cache only: {reason}");
    }
    for c in &dataset.configs {
        out!("config {}{}", c.name, if c.default { " (default)" } else { "" });
        if !c.columns.is_empty() {
            out!("  columns: {}", c.columns.join(", "));
        }
        for s in &c.splits {
            let rows = s.rows.map_or("? rows".to_string(), |r| format!("{r} rows"));
            out!(
                "  {:<12} {:>12}  {} file(s), {} bytes{}",
                s.name,
                rows,
                s.files.len(),
                s.bytes(),
                if s.partial { " (partly converted)" } else { "" }
            );
        }
        if !c.unread.is_empty() {
            out!("  not read: {}", c.unread.join(", "));
        }
    }
    if let Some(preview) = rows {
        out!("{}", preview.columns.join("\t"));
        for row in &preview.rows {
            let cells: Vec<String> = row.iter().map(|c| selectra::domain::text::one_line(c).into_owned()).collect();
            out!("{}", cells.join("\t"));
        }
    }
    Ok(())
}

pub fn corpus_push(args: CorpusPushArgs) -> Result<()> {
    let CorpusPushArgs { db, corpus, to, folder, private, split, message, json } = args;
    let store = Store::open_existing(&db)?;
    let facts = selectra::api::hub::card_facts(&store, &corpus)?;
    if let Some(folder) = folder {
        let destination = selectra::exchange::dataset_files::Destination::Folder;
        let written = selectra::exchange::dataset_files::write(&store, &corpus, &folder, &split, &facts, destination)?;
        if json {
            print_json(&serde_json::json!({"folder": folder, "split": written.split, "records": written.records, "files": written.files}));
        } else {
            out!("wrote {} records as split {} to {}: {}", written.records, written.split, folder.display(), written.files.join(", "));
        }
        return Ok(());
    }
    let to = DatasetId::parse(to.as_deref().unwrap_or_default())?;
    let outcome = hub::push(&store, &corpus, &to, &hub::PushOptions { private, split, message }, &facts, &HubSettings::from_env())?;
    if json {
        print_json(&outcome);
    } else {
        out!(
            "pushed {} records of {corpus:?} to {} as split {}{}",
            outcome.records,
            outcome.repo,
            outcome.split,
            outcome.url.map(|u| format!(": {u}")).unwrap_or_default()
        );
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
