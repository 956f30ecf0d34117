//! `selectra` commands. Corpus jobs: zero-shot runs, discriminator scans, embedding sets, results
//! computed elsewhere, training the head, the template lab.

use selectra::domain::precision::Precision;
use selectra::domain::task::ZeroShotTask;
use selectra::jobs::corpus_run;
use selectra::store::Store;
use selectra::Result;

use crate::args::{EmbedArgs, FinetuneArgs, ImportRunArgs, RunArgs, ScanArgs, TemplatesArgs, TrainArgs};
use crate::output::*;

pub fn run_zeroshot(args: RunArgs) -> Result<()> {
    let RunArgs { db, corpus, zs, batch_size, schema, precision, json } = args;
    let spec = zs.spec(schema);
    let mut store = Store::open_existing(&db)?;
    store.corpus(&corpus)?;
    let task = spec.resolve(&store, &corpus)?;
    let model = zs.model()?;
    if precision == Precision::Bf16 {
        // Before the run: what the fast mode costs and saves on this machine, and on this corpus.
        let outlook = selectra::api::task::fast_outlook_for(&store, &corpus)?;
        eprintln!("fast mode: {}; {}", outlook.summary, outlook.corpus_note);
    }
    let summary = with_job_progress(|progress, cancel| {
        let fast = selectra::api::task::fast_gate(precision);
        corpus_run::run_zeroshot(&mut store, &model, &corpus, &task, zs.strip_accents, fast, batch_size, progress, cancel)
    })?;
    if !json {
        let outcome = &summary.precision;
        if let Some(check) = &outcome.check {
            out!("{}", check.summary());
        }
        if let Some(note) = &outcome.note {
            out!("precision: {note}");
        }
    }
    let r = &summary.run;
    report_job(
        &selectra::api::wire::RunSummaryDto::from(summary.clone()),
        json,
        summary.cancelled,
        format!("run {} has {}/{} records", r.id, r.predictions, r.records),
        format!("run {} complete: {} records ({} predicted now)", r.id, r.records, summary.predicted_now),
    )?;
    Ok(())
}

/// `selectra classify --db --corpus`: a classifier's run over a corpus, with its own labels.
pub fn classify_corpus(db: &std::path::Path, corpus: &str, model: &str, strip_accents: Option<bool>, batch_size: usize, json: bool) -> Result<()> {
    let mut store = Store::open_existing(db)?;
    store.corpus(corpus)?;
    let model = load(model, strip_accents)?;
    let summary =
        with_job_progress(|progress, cancel| corpus_run::run_classify(&mut store, &model, corpus, strip_accents, batch_size, progress, cancel))?;
    let r = &summary.run;
    report_job(
        &selectra::api::wire::RunSummaryDto::from(summary.clone()),
        json,
        summary.cancelled,
        format!("run {} has {}/{} records", r.id, r.predictions, r.records),
        format!("run {} complete: {} records labeled {} ({} classified now)", r.id, r.records, r.key.labels.join(", "), summary.predicted_now),
    )?;
    Ok(())
}

pub fn tag_corpus(
    db: &std::path::Path,
    corpus: &str,
    model: &selectra::Model,
    strip_accents: Option<bool>,
    options: selectra::engine::tag::TagOptions,
    batch_size: usize,
    json: bool,
) -> Result<()> {
    let mut store = Store::open_existing(db)?;
    store.corpus(corpus)?;
    let summary =
        with_job_progress(|progress, cancel| corpus_run::run_tag(&mut store, model, corpus, strip_accents, options, batch_size, progress, cancel))?;
    let r = &summary.run;
    let found: u64 = store.entity_counts(r.id)?.iter().map(|(_, n)| n).sum();
    report_job(
        &selectra::api::wire::RunSummaryDto::from(summary.clone()),
        json,
        summary.cancelled,
        format!("run {} has tagged {}/{} records", r.id, r.predictions, r.records),
        format!("run {} complete: {} records, {found} entities ({} tagged now)", r.id, r.records, summary.predicted_now),
    )?;
    Ok(())
}

pub fn scan(args: ScanArgs) -> Result<()> {
    let ScanArgs { db, corpus, model, strip_accents, batch_size, json } = args;
    let mut store = Store::open_existing(&db)?;
    store.corpus(&corpus)?;
    let model = load(&model, strip_accents)?;
    let summary =
        with_job_progress(|progress, cancel| corpus_run::run_scan(&mut store, &model, &corpus, strip_accents, batch_size, progress, cancel))?;
    let s = &summary.scan;
    report_job(
        &summary,
        json,
        summary.cancelled,
        format!("scan {} has {}/{} records", s.id, s.scanned, s.records),
        format!("scan {} complete: {} records ({} scanned now)", s.id, s.records, summary.scanned_now),
    )?;
    Ok(())
}

pub fn embed(args: EmbedArgs) -> Result<()> {
    let EmbedArgs { db, corpus, model, strip_accents, batch_size, json } = args;
    let mut store = Store::open_existing(&db)?;
    store.corpus(&corpus)?;
    let model = load(&model, strip_accents)?;
    let summary =
        with_job_progress(|progress, cancel| corpus_run::run_embed(&mut store, &model, &corpus, strip_accents, batch_size, progress, cancel))?;
    let e = &summary.embeddings;
    report_job(
        &summary,
        json,
        summary.cancelled,
        format!("embedding set {} has {}/{} records", e.id, e.embedded, e.records),
        format!("embedding set {} complete: {} records of {} numbers ({} embedded now)", e.id, e.records, e.dim, summary.embedded_now),
    )?;
    Ok(())
}

pub fn import_run(args: ImportRunArgs) -> Result<()> {
    let ImportRunArgs { db, corpus, from, json } = args;
    let mut store = Store::open_existing(&db)?;
    store.corpus(&corpus)?;
    let summary = with_job_progress(|progress, cancel| selectra::jobs::scale_out::import_results(&mut store, &corpus, &from, progress, cancel))?;
    let noun = summary.kind.noun();
    report_job(
        &summary,
        json,
        summary.cancelled,
        format!("{noun} {} has {}/{} records", summary.id, summary.done, summary.records),
        format!(
            "{noun} {}: {}/{} records ({} imported now, {} already present){}",
            summary.id,
            summary.done,
            summary.records,
            summary.imported,
            summary.already_present,
            if summary.complete { "" } else { "; the same `selectra run`, `scan` or `embed` here computes the rest" }
        ),
    )?;
    Ok(())
}

pub fn train(args: TrainArgs) -> Result<()> {
    let TrainArgs { db, corpus, model, strip_accents, folds, seed, c, class_weight, train_on, json } = args;
    let choice = selectra::analysis::learn::TrainChoice::parse(&c, &class_weight)?;
    let source = selectra::analysis::evaluate::LabelSource::parse(&train_on)?;
    let mut store = Store::open_existing(&db)?;
    store.corpus(&corpus)?;
    let model = load(&model, strip_accents)?;
    let bar = TaskBar::new("embedding {bar:30} {pos}/{len} records  {msg}");
    let cancel = cancel_on_ctrl_c();
    let t = selectra::jobs::train::train(&mut store, &model, &corpus, strip_accents, folds, seed, &choice, source, &mut job_progress(&bar), &cancel)?;
    drop(bar);
    if json {
        print_json(&selectra::api::wire::TrainSummaryDto::from(t));
    } else {
        let cv = &t.cross_validation;
        out!("run {}: a logistic head on {} labeled records ({} labels), every record scored", t.run.id, t.n_train, t.labels.len());
        out!(
            "{}-fold cross-validation: accuracy {:.3} ({:.3}–{:.3}), macro F1 {:.3} ({:.3}–{:.3})",
            cv.folds,
            cv.accuracy.value,
            cv.accuracy.low,
            cv.accuracy.high,
            cv.macro_f1.value,
            cv.macro_f1.low,
            cv.macro_f1.high
        );
        for p in &cv.learning_curve {
            out!("  {:>6} labels: accuracy {:.3}, macro F1 {:.3}", p.n, p.accuracy, p.macro_f1);
        }
        out!("{}", cv.verdict());
    }
    Ok(())
}

pub fn finetune(args: FinetuneArgs) -> Result<()> {
    let FinetuneArgs {
        db,
        corpus,
        model,
        output,
        epochs,
        lr,
        batch_size,
        warmup_ratio,
        weight_decay,
        validation_share,
        folds,
        patience,
        target,
        seed,
        train_on,
        json,
    } = args;
    use selectra::jobs::finetune::{finetune, FinetuneOptions};
    let options = FinetuneOptions {
        epochs,
        learning_rate: lr,
        batch_size,
        warmup_ratio,
        weight_decay,
        seed,
        validation_share,
        folds,
        patience,
        source: selectra::analysis::evaluate::LabelSource::parse(&train_on)?,
        target: target.as_deref().map(selectra::jobs::finetune::FinetuneTarget::parse).transpose()?,
        ..FinetuneOptions::default()
    };
    let mut store = Store::open_existing(&db)?;
    store.corpus(&corpus)?;
    let model = load(&model, None)?;
    let bar = TaskBar::new("fine-tuning {bar:30} {pos}/{len} steps  {msg}");
    let cancel = cancel_on_ctrl_c();
    let mut on_epoch = |e: &selectra::jobs::finetune::EpochResult| {
        if !json {
            let validation = match (e.validation_accuracy, e.validation_macro_f1, e.validation_entity_f1, e.validation_loss) {
                (Some(a), Some(f), _, Some(l)) => format!(", validation accuracy {a:.3}, macro F1 {f:.3}, loss {l:.4}"),
                (Some(a), _, Some(f), Some(l)) => format!(", validation token accuracy {a:.3}, entity F1 {f:.3}, loss {l:.4}"),
                _ => String::new(),
            };
            bar.suspend(|| eprintln!("epoch {}: training loss {:.4}{validation}", e.epoch, e.train_loss));
        }
    };
    let summary = finetune(&mut store, &corpus, &model, &output, &options, &mut job_progress(&bar), &mut on_epoch, &cancel)?;
    drop(bar);
    if json {
        print_json(&summary);
    } else if !summary.folds.is_empty() {
        let k = summary.folds.len();
        out!(
            "cross-validated {} on the {} of {} records in {k} folds into {}: {} steps{}, {:.1} examples/s",
            summary.base_model,
            summary.target.name(),
            summary.n_validation,
            summary.output.display(),
            summary.steps,
            summary.resumed_from_step.map(|s| format!(" (resumed after step {s})")).unwrap_or_default(),
            summary.examples_per_sec
        );
        for fold in &summary.folds {
            let score = fold.epochs.last().and_then(|e| e.score()).map(|s| format!(", held-out F1 {s:.3}")).unwrap_or_default();
            out!("  {}: trained on {}, held out {}{score}", fold.output.display(), fold.n_train, fold.n_validation);
        }
        if let Some(e) = summary.epochs.last() {
            let score = e.score().map(|s| format!("{s:.3}")).unwrap_or_else(|| "-".into());
            out!("mean over the folds after epoch {}: F1 {score}, loss {:.4}", e.epoch, e.validation_loss.unwrap_or(f64::NAN));
        }
        if let Some(run) = summary.run {
            out!("run {run}: the out-of-fold predictions on all {} records (compare it with other runs on them)", summary.n_validation);
        }
    } else {
        out!(
            "fine-tuned {} on the {} of {} records ({} held out) into {}: {} steps{}, {:.1} examples/s",
            summary.base_model,
            summary.target.name(),
            summary.n_train,
            summary.n_validation,
            summary.output.display(),
            summary.steps,
            summary.resumed_from_step.map(|s| format!(" (resumed at step {s})")).unwrap_or_default(),
            summary.examples_per_sec
        );
        if let Some(run) = summary.run {
            out!("run {run}: its predictions on the {} held-out records (compare it with other runs on them)", summary.n_validation);
        }
    }
    Ok(())
}

pub fn templates(args: TemplatesArgs) -> Result<()> {
    let TemplatesArgs {
        db,
        corpus,
        model,
        labels,
        templates,
        hypothesis_sets,
        schema,
        multi_label,
        strip_accents,
        sample,
        seed,
        against,
        within_labels,
        json,
    } = args;
    let source = selectra::analysis::evaluate::LabelSource::parse(&against)?;
    let labels = ZeroShotTask::parse_labels(&labels);
    let hypothesis_sets: Vec<Vec<String>> = hypothesis_sets.iter().map(|set| set.split('|').map(|h| h.trim().to_string()).collect()).collect();
    let mut store = Store::open_existing(&db)?;
    let tasks = selectra::api::task::template_lab_tasks(&store, &corpus, &labels, &templates, &hypothesis_sets, schema, multi_label)?;
    let model = load(&model, strip_accents)?;
    let options = selectra::analysis::metrics::EvalOptions { seed, within_run_labels: within_labels, ..Default::default() };
    let bar = TaskBar::new("{bar:30} {pos}/{len} (template, record) pairs");
    let cancel = cancel_on_ctrl_c();
    let scores = selectra::jobs::templates::template_lab(
        &mut store,
        &model,
        &corpus,
        &tasks,
        sample,
        source,
        &options,
        &mut |done, total| bar.update(done, total, ""),
        &cancel,
    )?;
    drop(bar);
    if json {
        print_json(&scores.into_iter().map(selectra::api::wire::TemplateScoreDto::from).collect::<Vec<_>>());
    } else {
        for s in &scores {
            out!(
                "macro F1 {:.3} ({:.3}–{:.3})  accuracy {:.3} ({:.3}–{:.3})  n={}  {}",
                s.macro_f1.value,
                s.macro_f1.low,
                s.macro_f1.high,
                s.accuracy.value,
                s.accuracy.low,
                s.accuracy.high,
                s.n,
                s.template
            );
        }
    }
    Ok(())
}
