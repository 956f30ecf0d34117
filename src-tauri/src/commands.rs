//! The Tauri commands: each parses its arguments, calls the library, and converts the result or
//! the error (design §1: no business logic, SQL or tensor code here). Anything that can take more
//! than a moment runs on a blocking worker thread, never on the UI's; long work reports progress
//! through a [`Channel`] and stops when [`cancel_task`] is called with its task id.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tauri::ipc::Channel;
use tauri::State;

use selectra::api::task::{Resumable, TaskSpec};
use selectra::domain::dataset::DatasetId;
use selectra::domain::precision::Precision;
use selectra::domain::progress::Watch;
use selectra::domain::task::ZeroShotTask;
use selectra::engine::classify::{TextClassifier, TextInput};
use selectra::engine::hub::DownloadObserver;
use selectra::engine::tag::{Aggregation, TokenTagger};
use selectra::engine::zeroshot::ZeroShotClassifier;
use selectra::exchange::hub as hub_dataset;
use selectra::exchange::import::{self, Format, ImportOptions};
use selectra::store::{Sort, Store, Target};

use crate::args::*;
use crate::dto::*;
use crate::state::AppState;

/// Runs library work on the open project on a blocking worker thread: SQLite may wait on another
/// writer (an import, a CLI run) for up to its busy timeout, and the UI thread must never wait.
async fn with_store<T: Send + 'static>(state: &AppState, work: impl FnOnce(&mut Store) -> selectra::Result<T> + Send + 'static) -> CmdResult<T> {
    let project = state.project();
    blocking(move || work(&mut crate::state::lock(&project))).await
}

/// Runs blocking library work off the async runtime's threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> selectra::Result<T> + Send + 'static) -> CmdResult<T> {
    match tauri::async_runtime::spawn_blocking(work).await {
        Ok(result) => result.map_err(Into::into),
        Err(e) => Err(ErrorDto { code: selectra::ErrorCode::Inference, message: format!("the worker thread failed: {e}"), settings: Vec::new() }),
    }
}

/// Download progress forwarded to the UI as `event` makes it (a model's download event, or a
/// task's progress), at most every 100 ms (and always at a file's end).
struct ChannelObserver<T: tauri::ipc::IpcResponse> {
    channel: Channel<T>,
    last: std::sync::Mutex<Option<Instant>>,
    event: fn(&str, u64, u64) -> T,
}

impl<T: tauri::ipc::IpcResponse> ChannelObserver<T> {
    fn new(channel: Channel<T>, event: fn(&str, u64, u64) -> T) -> Arc<Self> {
        Arc::new(Self { channel, last: Default::default(), event })
    }
}

impl<T: tauri::ipc::IpcResponse + Send + Sync> DownloadObserver for ChannelObserver<T> {
    fn progress(&self, file: &str, done: u64, total: u64) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if done < total && last.is_some_and(|t| t.elapsed() < Duration::from_millis(100)) {
            return;
        }
        *last = Some(Instant::now());
        // A closed window cannot receive progress any more; the download itself goes on.
        let _ = self.channel.send((self.event)(file, done, total));
    }
}

/// A model file's download, as the Models view shows it.
fn model_download(file: &str, done: u64, total: u64) -> DownloadEvent {
    DownloadEvent::Progress { file: file.to_string(), done, total }
}

/// A dataset file's download, as a task's progress.
fn dataset_download(file: &str, done: u64, total: u64) -> TaskProgress {
    TaskProgress { done, total, message: file.to_string(), eta_secs: None, stage: Some("downloading".into()) }
}

#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> CmdResult<AppInfo> {
    Ok(state.info())
}

#[tauri::command]
pub async fn list_models(state: State<'_, AppState>) -> CmdResult<ModelList> {
    let hub = state.hub.clone();
    blocking(move || ModelList::read(&hub)).await
}

#[tauri::command]
pub async fn load_model(state: State<'_, AppState>, model: ModelRef, on_progress: Channel<DownloadEvent>) -> CmdResult<ModelFacts> {
    let observer = ChannelObserver::new(on_progress, model_download);
    let models = state.models.clone();
    blocking(move || Ok(ModelFacts::from(&*models.get(&model, observer)?))).await
}

#[tauri::command]
pub async fn inspect(state: State<'_, AppState>, args: InspectArgs) -> CmdResult<InspectionView> {
    let models = state.models.clone();
    blocking(move || {
        let model = models.get(&args.model, Arc::new(selectra::engine::hub::Silent))?;
        Ok(InspectionView::new(selectra::engine::inspect::inspect(&model, &args.text)?, &model))
    })
    .await
}

#[tauri::command]
pub async fn inspect_replaced(state: State<'_, AppState>, args: ReplaceArgs) -> CmdResult<InspectionView> {
    let models = state.models.clone();
    blocking(move || {
        let model = models.get(&args.model, Arc::new(selectra::engine::hub::Silent))?;
        Ok(InspectionView::new(selectra::engine::inspect::inspect_with_replacement(&model, &args.text, args.index, &args.replacement)?, &model))
    })
    .await
}

#[tauri::command]
pub async fn classify(state: State<'_, AppState>, args: ClassifyArgs) -> CmdResult<ZeroShotResult> {
    let models = state.models.clone();
    blocking(move || {
        let task = ZeroShotTask::new(args.labels, &args.template, args.multi_label)?;
        let model = models.get(&args.model, Arc::new(selectra::engine::hub::Silent))?;
        ZeroShotClassifier::new(&model)?.classify(&args.text, &task)
    })
    .await
}

/// One text (or pair) through a sequence classifier with its own labels: every label's score.
#[tauri::command]
pub async fn classify_text(state: State<'_, AppState>, args: ClassifyTextArgs) -> CmdResult<Classification> {
    let models = state.models.clone();
    blocking(move || {
        let model = models.get(&args.model, Arc::new(selectra::engine::hub::Silent))?;
        TextClassifier::new(&model)?.classify(TextInput { text: &args.text, pair: args.text_pair.as_deref() })
    })
    .await
}

/// One text through a token classifier: its entities.
#[tauri::command]
pub async fn tag_text(state: State<'_, AppState>, args: TagTextArgs) -> CmdResult<Tagging> {
    let models = state.models.clone();
    blocking(move || {
        let aggregation = Aggregation::parse(&args.aggregation)?;
        let model = models.get(&args.model, Arc::new(selectra::engine::hub::Silent))?;
        TokenTagger::new(&model)?.tag(&args.text, aggregation)
    })
    .await
}

/// Opens (or creates) another project database and makes it the current one.
#[tauri::command]
pub async fn open_project(state: State<'_, AppState>, path: String) -> CmdResult<AppInfo> {
    let store = blocking(move || Store::open(&PathBuf::from(path))).await?;
    state.set_project(store);
    Ok(state.info())
}

#[tauri::command]
pub async fn list_corpora(state: State<'_, AppState>) -> CmdResult<Vec<CorpusInfo>> {
    with_store(&state, |s| Ok(s.corpora()?.into_iter().collect())).await
}

#[tauri::command]
pub async fn preview_import(args: PreviewArgs) -> CmdResult<PreviewDto> {
    blocking(move || {
        let format = args.format.as_deref().map(Format::parse).transpose()?;
        Ok(import::preview(&PathBuf::from(args.path), format, 8)?.into())
    })
    .await
}

/// The core's import options from the app's column choices.
fn import_options(c: ColumnArgs) -> selectra::Result<ImportOptions> {
    Ok(ImportOptions {
        name: c.name,
        format: c.format.as_deref().map(Format::parse).transpose()?,
        text_column: c.text_column,
        text_pair_column: c.text_pair_column,
        id_column: c.id_column,
        label_column: c.label_column,
        spans_column: c.spans_column,
        metadata_columns: c.metadata_columns,
        skip_bad: c.skip_bad,
        max_record_bytes: None,
    })
}

/// An import's progress on the task's channel: bytes read of the file(s), records stored.
fn import_progress(channel: &Channel<TaskProgress>) -> impl FnMut(import::ImportProgress) + '_ {
    let mut throttle = Throttle::default();
    move |p| {
        if throttle.ready(p.bytes_read >= p.total_bytes) {
            let _ = channel.send(TaskProgress {
                done: p.bytes_read,
                total: p.total_bytes,
                message: format!("{} records", p.records),
                eta_secs: None,
                stage: None,
            });
        }
    }
}

#[tauri::command]
pub async fn import_corpus(
    state: State<'_, AppState>,
    args: ImportArgs,
    task: String,
    on_progress: Channel<TaskProgress>,
) -> CmdResult<ImportOutcome> {
    let cancel = state.tasks.start(&task);
    let db = state.project_path();
    let result = blocking(move || {
        let options = import_options(args.columns)?;
        // Long work gets its own connection, so the UI can browse while it runs (WAL).
        let mut store = Store::open(&db)?;
        import::import_file(&mut store, &PathBuf::from(args.path), &options, &mut import_progress(&on_progress), &cancel)
    })
    .await;
    state.tasks.finish(&task);
    result
}

#[tauri::command]
pub async fn describe_hub_dataset(state: State<'_, AppState>, dataset: String) -> CmdResult<HubDataset> {
    let hub = state.hub.clone();
    blocking(move || hub_dataset::describe(&DatasetId::parse(&dataset)?, &hub)).await
}

#[tauri::command]
pub async fn preview_hub_split(
    state: State<'_, AppState>,
    args: HubSplitArgs,
    task: String,
    on_progress: Channel<TaskProgress>,
) -> CmdResult<HubPreviewDto> {
    let hub = state.hub.clone();
    state.tasks.start(&task);
    let result = blocking(move || {
        let id = DatasetId::parse(&args.dataset)?;
        let dataset = hub_dataset::describe(&id, &hub)?;
        let (config, split) = selectra::domain::dataset::choose(&dataset.configs, args.config.as_deref(), args.split.as_deref())?;
        let (config, split) = (config.name.clone(), split.name.clone());
        let observer = ChannelObserver::new(on_progress, dataset_download);
        let preview = hub_dataset::preview_split(&dataset, Some(&config), Some(&split), 8, &hub, observer)?;
        Ok(HubPreviewDto { preview: preview.into(), name: hub_dataset::default_corpus_name(&id, &config, &split), config, split })
    })
    .await;
    state.tasks.finish(&task);
    result
}

#[tauri::command]
pub async fn import_hub_dataset(
    state: State<'_, AppState>,
    args: HubImportArgs,
    task: String,
    on_progress: Channel<TaskProgress>,
) -> CmdResult<ImportOutcome> {
    let cancel = state.tasks.start(&task);
    let db = state.project_path();
    let hub = state.hub.clone();
    let result = blocking(move || {
        let options = import_options(args.columns)?;
        let dataset = hub_dataset::describe(&DatasetId::parse(&args.source.dataset)?, &hub)?;
        let observer = ChannelObserver::new(on_progress.clone(), dataset_download);
        let mut store = Store::open(&db)?;
        let split = (args.source.config.as_deref(), args.source.split.as_deref());
        hub_dataset::pull(&mut store, &dataset, split, &options, &hub, observer, &mut import_progress(&on_progress), &cancel)
    })
    .await;
    state.tasks.finish(&task);
    result
}

#[tauri::command]
pub async fn push_hub_dataset(
    state: State<'_, AppState>,
    args: PushArgs,
    task: String,
    on_progress: Channel<TaskProgress>,
) -> CmdResult<PushOutcome> {
    let db = state.project_path();
    let hub = state.hub.clone();
    state.tasks.start(&task);
    let result = blocking(move || {
        let store = Store::open_existing(&db)?;
        let _ = on_progress.send(TaskProgress {
            done: 0,
            total: 0,
            message: format!("writing and committing {:?}", args.corpus),
            eta_secs: None,
            stage: None,
        });
        let facts = selectra::api::hub::card_facts(&store, &args.corpus)?;
        let options = hub_dataset::PushOptions { private: args.private, split: args.split, message: None };
        hub_dataset::push(&store, &args.corpus, &DatasetId::parse(&args.to)?, &options, &facts, &hub)
    })
    .await;
    state.tasks.finish(&task);
    result
}

#[tauri::command]
pub async fn browse(state: State<'_, AppState>, args: BrowseArgs) -> CmdResult<PageDto> {
    let mut query = args.filter.query().map_err(ErrorDto::from)?;
    query.sort = match args.sort {
        SortDto::Row => Sort::Row,
        SortDto::Margin => Sort::Margin,
        SortDto::Entropy => Sort::Entropy,
        SortDto::ScoreDesc => Sort::ScoreDesc,
        SortDto::ScoreAsc => Sort::ScoreAsc,
        SortDto::Suspicion => Sort::SuspicionDesc,
        SortDto::Random => Sort::Random(args.filter.seed),
        SortDto::EntityScore => Sort::EntityScoreAsc,
        SortDto::Listed => Sort::Listed,
    };
    query.after = args.after.as_deref().map(selectra::store::Cursor::parse).transpose().map_err(ErrorDto::from)?;
    query.limit = u64::from(args.limit);
    with_store(&state, move |s| Ok(PageDto::new(s.query(&args.corpus, &query)?, None))).await
}

/// Labels (or discards) the chosen records, or every record the filter matches, as one batch
/// that one undo reverts.
#[tauri::command]
pub async fn label_records(state: State<'_, AppState>, args: BulkLabelArgs) -> CmdResult<BatchOutcome> {
    let query = args.filter.as_ref().map(selectra::domain::query::FilterSpec::query).transpose().map_err(ErrorDto::from)?;
    with_store(&state, move |s| {
        let annotator = s.annotator()?;
        let status = args.status;
        let outcome = match query {
            Some(q) => s.annotate_matching(&args.corpus, &q, &args.labels, status, &annotator)?,
            None => s.annotate_batch(&args.corpus, &args.records, &args.labels, status, &annotator)?,
        };
        Ok(outcome)
    })
    .await
}

/// Gives the chosen records (or every record the filter matches) a tagging run's entities as
/// their spans, as one batch that one undo reverts.
#[tauri::command]
pub async fn accept_entities(state: State<'_, AppState>, args: BulkEntitiesArgs) -> CmdResult<BatchOutcome> {
    let query = args.filter.as_ref().map(selectra::domain::query::FilterSpec::query).transpose().map_err(ErrorDto::from)?;
    with_store(&state, move |s| {
        let annotator = s.annotator()?;
        let target = match &query {
            Some(q) => Target::Matching(q),
            None => Target::Records(&args.records),
        };
        s.accept_entities(&args.corpus, target, args.run, args.status, &annotator)
    })
    .await
}

#[tauri::command]
pub async fn get_annotator(state: State<'_, AppState>) -> CmdResult<String> {
    with_store(&state, |s| s.annotator()).await
}

/// Stores the annotator's name in the project; returns it as stored.
#[tauri::command]
pub async fn set_annotator(state: State<'_, AppState>, name: String) -> CmdResult<String> {
    with_store(&state, move |s| {
        s.set_annotator(&name)?;
        s.annotator()
    })
    .await
}

#[tauri::command]
pub async fn label_schema(state: State<'_, AppState>, corpus: String) -> CmdResult<SchemaViewDto> {
    with_store(&state, move |s| Ok(SchemaViewDto { suggested: s.labels_in_use(&corpus)?, schema: s.label_schema(&corpus)? })).await
}

/// Replaces the corpus's label schema; the core checks it and fills the defaults it returns.
#[tauri::command]
pub async fn set_label_schema(state: State<'_, AppState>, corpus: String, schema: LabelSchema) -> CmdResult<SchemaViewDto> {
    with_store(&state, move |s| Ok(SchemaViewDto { schema: s.set_label_schema(&corpus, schema)?, suggested: s.labels_in_use(&corpus)? })).await
}

#[tauri::command]
pub async fn annotator_agreement(state: State<'_, AppState>, corpus: String) -> CmdResult<AnnotatorAgreement> {
    with_store(&state, move |s| s.annotator_agreement(&corpus)).await
}

#[tauri::command]
pub async fn record_history(state: State<'_, AppState>, record: i64) -> CmdResult<Vec<HistoryEntry>> {
    with_store(&state, move |s| s.record_history(record)).await
}

#[tauri::command]
pub async fn list_runs(state: State<'_, AppState>, corpus: String) -> CmdResult<Vec<RunDto>> {
    with_store(&state, move |s| Ok(s.runs(&corpus)?.into_iter().map(Into::into).collect())).await
}

/// What the fast mode would cost and save on this machine and this corpus, said before a run.
#[tauri::command]
pub async fn fast_outlook(state: State<'_, AppState>, corpus: String) -> CmdResult<FastOutlookView> {
    with_store(&state, move |s| selectra::api::task::fast_outlook_for(s, &corpus)).await
}

/// Runs (or resumes) zero-shot labels over a corpus. Cancelling keeps every finished batch;
/// the same arguments resume.
#[tauri::command]
pub async fn run_zeroshot(state: State<'_, AppState>, args: RunArgs, task: String, on_progress: Channel<TaskProgress>) -> CmdResult<RunSummaryDto> {
    let models = state.models.clone();
    corpus_job(&state, task, on_progress, move |store, progress, cancel| {
        let spec = if args.use_schema {
            TaskSpec::Schema { template: args.template.clone(), multi_label: args.multi_label }
        } else {
            TaskSpec::Labels { labels: args.labels.clone(), template: args.template.clone(), multi_label: args.multi_label }
        };
        store.corpus(&args.corpus)?;
        let zs = spec.resolve(store, &args.corpus)?;
        let model = models.get(&args.model, Arc::new(selectra::engine::hub::Silent))?;
        let summary = selectra::jobs::corpus_run::run_zeroshot(
            store,
            &model,
            &args.corpus,
            &zs,
            args.model.strip_accents,
            selectra::api::task::fast_gate(if args.fast { Precision::Bf16 } else { Precision::Exact }),
            selectra::jobs::corpus_run::RUN_BATCH_RECORDS,
            progress,
            cancel,
        )?;
        Ok(summary.into())
    })
    .await
}

/// Runs (or resumes) a fine-tuned task model over a corpus as it was trained: a sequence
/// classifier's labels, or a token classifier's entities.
#[tauri::command]
pub async fn run_model(state: State<'_, AppState>, args: ModelRunArgs, task: String, on_progress: Channel<TaskProgress>) -> CmdResult<RunSummaryDto> {
    let models = state.models.clone();
    corpus_job(&state, task, on_progress, move |store, progress, cancel| {
        store.corpus(&args.corpus)?;
        let aggregation = args.aggregation.as_deref().map(Aggregation::parse).transpose()?;
        let model = models.get(&args.model, Arc::new(selectra::engine::hub::Silent))?;
        let summary = selectra::jobs::corpus_run::run_task_model(
            store,
            &model,
            &args.corpus,
            args.model.strip_accents,
            aggregation,
            selectra::jobs::corpus_run::RUN_BATCH_RECORDS,
            progress,
            cancel,
        )?;
        Ok(summary.into())
    })
    .await
}

/// Resumes an unfinished run with exactly its recorded settings (model, labels, hypotheses,
/// accent setting): a zero-shot run, a classifier's run, or a tagger's.
#[tauri::command]
pub async fn resume_run(state: State<'_, AppState>, run: i64, task: String, on_progress: Channel<TaskProgress>) -> CmdResult<RunSummaryDto> {
    let models = state.models.clone();
    corpus_job(&state, task, on_progress, move |store, progress, cancel| {
        let (info, how) = selectra::api::task::resumable_run(store, run)?;
        let model_ref = ModelRef { spec: info.key.model.clone(), strip_accents: info.key.strip_accents };
        let model = models.get(&model_ref, Arc::new(selectra::engine::hub::Silent))?;
        let (corpus, strip, batch) = (&info.key.corpus, info.key.strip_accents, selectra::jobs::corpus_run::RUN_BATCH_RECORDS);
        let summary = match how {
            Resumable::ZeroShot(zs) => selectra::jobs::corpus_run::run_zeroshot(
                store,
                &model,
                corpus,
                &zs,
                strip,
                selectra::api::task::fast_gate(info.key.precision),
                batch,
                progress,
                cancel,
            )?,
            Resumable::Classifier => selectra::jobs::corpus_run::run_classify(store, &model, corpus, strip, batch, progress, cancel)?,
            Resumable::Tagger(options) => selectra::jobs::corpus_run::run_tag(store, &model, corpus, strip, options, batch, progress, cancel)?,
        };
        Ok(summary.into())
    })
    .await
}

#[tauri::command]
pub async fn rename_corpus(state: State<'_, AppState>, corpus: String, name: String) -> CmdResult<()> {
    with_store(&state, move |s| s.rename_corpus(&corpus, &name)).await
}

/// Deletes a corpus and everything of it (the UI asks first); returns the records deleted.
#[tauri::command]
pub async fn delete_corpus(state: State<'_, AppState>, corpus: String) -> CmdResult<u64> {
    with_store(&state, move |s| s.delete_corpus(&corpus)).await
}

#[tauri::command]
pub async fn rename_run(state: State<'_, AppState>, run: i64, name: Option<String>) -> CmdResult<()> {
    with_store(&state, move |s| s.rename_run(run, name.as_deref())).await
}

#[tauri::command]
pub async fn delete_run(state: State<'_, AppState>, run: i64) -> CmdResult<()> {
    with_store(&state, move |s| s.delete_run(run)).await
}

#[tauri::command]
pub async fn rename_scan(state: State<'_, AppState>, scan: i64, name: Option<String>) -> CmdResult<()> {
    with_store(&state, move |s| s.rename_scan(scan, name.as_deref())).await
}

#[tauri::command]
pub async fn delete_scan(state: State<'_, AppState>, scan: i64) -> CmdResult<()> {
    with_store(&state, move |s| s.delete_scan(scan)).await
}

/// Writes a corpus out as `selectra export` does (atomically; never over the project itself), on
/// its own connection so that browsing and labeling go on, with progress and cancel (a cancelled
/// export leaves no file); returns the number of records written.
#[tauri::command]
pub async fn export_corpus(state: State<'_, AppState>, args: ExportArgs, task: String, on_progress: Channel<TaskProgress>) -> CmdResult<u64> {
    corpus_job(&state, task, on_progress, move |store, progress, cancel| {
        let format = selectra::exchange::export::ExportFormat::parse(&args.format)?;
        let options = selectra::exchange::export::ExportOptions { raw_csv: args.raw_csv, embeddings: None };
        let mut watch = Watch::new(progress, cancel);
        selectra::exchange::export::export_to_file(store, &args.corpus, format, &options, std::path::Path::new(&args.path), &mut watch)
    })
    .await
}

/// Trains a head on the corpus's labels in the background (embedding what is missing, with
/// progress and cancel): its scores become a run, the suggestions' source.
#[tauri::command]
pub async fn train_head(state: State<'_, AppState>, args: TrainArgs, task: String, on_progress: Channel<TaskProgress>) -> CmdResult<TrainSummaryDto> {
    let models = state.models.clone();
    corpus_job(&state, task, on_progress, move |store, progress, cancel| {
        store.corpus(&args.corpus)?;
        let model = models.get(&args.model, Arc::new(selectra::engine::hub::Silent))?;
        let summary = selectra::jobs::train::train(
            store,
            &model,
            &args.corpus,
            args.model.strip_accents,
            args.folds.max(2) as usize,
            args.seed,
            &selectra::analysis::learn::TrainChoice::default(),
            selectra::analysis::evaluate::LabelSource::parse(&args.source)?,
            progress,
            cancel,
        )?;
        Ok(summary.into())
    })
    .await
}

/// Fine-tunes a model on the corpus's labels or entity spans into a folder (progress per step, each epoch's
/// numbers on `on_epoch`, cancellable; the same call goes on from its checkpoint).
#[tauri::command]
pub async fn finetune_model(
    state: State<'_, AppState>,
    args: FinetuneArgs,
    task: String,
    on_progress: Channel<TaskProgress>,
    on_epoch: Channel<EpochResult>,
) -> CmdResult<FinetuneSummary> {
    let models = state.models.clone();
    corpus_job(&state, task, on_progress, move |store, progress, cancel| {
        store.corpus(&args.corpus)?;
        let defaults = selectra::jobs::finetune::FinetuneOptions::default();
        let options = selectra::jobs::finetune::FinetuneOptions {
            epochs: args.epochs.unwrap_or(defaults.epochs),
            learning_rate: args.learning_rate.unwrap_or(defaults.learning_rate),
            batch_size: args.batch_size.map_or(defaults.batch_size, |b| b as usize),
            validation_share: args.validation_share.unwrap_or(defaults.validation_share),
            folds: args.folds,
            source: selectra::analysis::evaluate::LabelSource::parse(&args.source)?,
            target: args.target.as_deref().map(selectra::jobs::finetune::FinetuneTarget::parse).transpose()?,
            ..defaults
        };
        let model = models.get(&ModelRef { spec: args.model.clone(), strip_accents: None }, Arc::new(selectra::engine::hub::Silent))?;
        let mut epoch = |e: &EpochResult| {
            let _ = on_epoch.send(e.clone());
        };
        selectra::jobs::finetune::finetune(store, &args.corpus, &model, &PathBuf::from(&args.output), &options, progress, &mut epoch, cancel)
    })
    .await
}

/// Scores hypothesis templates on the labeled records (progress per record, cancellable).
#[tauri::command]
pub async fn template_lab(
    state: State<'_, AppState>,
    args: TemplateLabArgs,
    task: String,
    on_progress: Channel<TaskProgress>,
) -> CmdResult<Vec<TemplateScoreDto>> {
    let models = state.models.clone();
    corpus_job(&state, task, on_progress.clone(), move |store, _, cancel| {
        let tasks =
            selectra::api::task::template_lab_tasks(store, &args.corpus, &args.labels, &args.templates, &[], args.with_schema, args.multi_label)?;
        let model = models.get(&args.model, Arc::new(selectra::engine::hub::Silent))?;
        let started = Instant::now();
        let mut report = |done: u64, total: u64| {
            let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-9);
            let _ = on_progress.send(TaskProgress {
                done,
                total,
                message: "template × record pairs".into(),
                eta_secs: (done > 0).then(|| total.saturating_sub(done) as f64 / rate),
                stage: None,
            });
        };
        let options = selectra::analysis::metrics::EvalOptions { within_run_labels: args.within_labels, ..Default::default() };
        let scores = selectra::jobs::templates::template_lab(
            store,
            &model,
            &args.corpus,
            &tasks,
            args.sample.map(|n| n.max(1) as usize),
            selectra::analysis::evaluate::LabelSource::parse(&args.source)?,
            &options,
            &mut report,
            cancel,
        )?;
        Ok(scores.into_iter().map(Into::into).collect())
    })
    .await
}

/// Makes a template the corpus's hypotheses: every label of its schema gets `template` filled
/// with its name (labels from `labels` first, when the corpus has no schema yet).
#[tauri::command]
pub async fn use_template(state: State<'_, AppState>, corpus: String, labels: Vec<String>, template: String) -> CmdResult<SchemaViewDto> {
    with_store(&state, move |s| Ok(SchemaViewDto { schema: s.use_template(&corpus, &labels, &template)?, suggested: s.labels_in_use(&corpus)? }))
        .await
}

/// A corpus job (a run, a scan) on a worker thread with its own connection, so browsing goes on
/// (WAL): progress goes to the channel, and `cancel_task(task)` stops it at a batch boundary.
async fn corpus_job<T: Send + 'static>(
    state: &AppState,
    task: String,
    on_progress: Channel<TaskProgress>,
    work: impl FnOnce(&mut Store, &mut dyn FnMut(selectra::domain::progress::RunProgress), &std::sync::atomic::AtomicBool) -> selectra::Result<T>
        + Send
        + 'static,
) -> CmdResult<T> {
    let cancel = state.tasks.start(&task);
    let db = state.project_path();
    let result = blocking(move || {
        let mut store = Store::open(&db)?;
        let mut progress = |p: selectra::domain::progress::RunProgress| {
            let _ = on_progress.send(TaskProgress {
                done: p.done,
                total: p.total,
                // The stage travels apart (`stage`): the message is the rate.
                message: format!("{:.1} records/s", p.records_per_sec),
                eta_secs: p.eta_secs,
                stage: p.stage.description().map(str::to_string),
            });
        };
        work(&mut store, &mut progress, &cancel)
    })
    .await;
    state.tasks.finish(&task);
    result
}

/// The corpus's embedding sets (the similarity tools search one).
#[tauri::command]
pub async fn embedding_sets(state: State<'_, AppState>, corpus: String) -> CmdResult<Vec<selectra::store::EmbeddingSetInfo>> {
    with_store(&state, move |s| s.embedding_sets(&corpus)).await
}

/// Embeds the corpus's records that have no vector yet with the model (progress, cancel).
#[tauri::command]
pub async fn embed_corpus(
    state: State<'_, AppState>,
    args: EmbedCorpusArgs,
    task: String,
    on_progress: Channel<TaskProgress>,
) -> CmdResult<selectra::store::EmbeddingSetInfo> {
    let models = state.models.clone();
    corpus_job(&state, task, on_progress, move |store, progress, cancel| {
        store.corpus(&args.corpus)?;
        let model = models.get(&args.model, Arc::new(selectra::engine::hub::Silent))?;
        let summary = selectra::jobs::corpus_run::run_embed(
            store,
            &model,
            &args.corpus,
            args.model.strip_accents,
            selectra::jobs::corpus_run::EMBED_BATCH_RECORDS,
            progress,
            cancel,
        )?;
        if summary.cancelled {
            return Err(selectra::Error::Cancelled);
        }
        Ok(summary.embeddings)
    })
    .await
}

/// Likely label errors among the records a run scored (confident learning).
#[tauri::command]
pub async fn label_issues(state: State<'_, AppState>, corpus: String, run: i64) -> CmdResult<selectra::analysis::label_issues::RunLabelIssues> {
    with_store(&state, move |s| selectra::analysis::label_issues::for_run(s, &corpus, run)).await
}

/// Duplicate groups of the corpus (progress in records compared, cancellable).
#[tauri::command]
pub async fn find_duplicates(
    state: State<'_, AppState>,
    args: DuplicatesArgs,
    task: String,
    on_progress: Channel<TaskProgress>,
) -> CmdResult<selectra::analysis::similar::DuplicateReport> {
    corpus_job(&state, task, on_progress, move |store, progress, cancel| {
        let mut watch = selectra::domain::progress::Watch::new(progress, cancel);
        selectra::analysis::similar::duplicate_groups(store, &args.corpus, args.embeddings, args.threshold, &mut watch)
    })
    .await
}

/// The records most like one record, or like a typed text, in an embedding set.
#[tauri::command]
pub async fn similar_records(state: State<'_, AppState>, args: SimilarArgs) -> CmdResult<Vec<selectra::analysis::similar::Neighbour>> {
    let models = state.models.clone();
    let vectors = state.vectors.clone();
    with_store(&state, move |s| {
        let set = s.corpus_embedding_set(&args.corpus, args.embeddings)?;
        let table = vectors.get(s, &set)?;
        let k = args.k.map_or(selectra::analysis::similar::DEFAULT_NEIGHBOURS, |k| k as usize);
        match (args.record, args.text.as_deref().map(str::trim).filter(|t| !t.is_empty())) {
            (Some(record), _) => selectra::analysis::similar::more_like(s, &table, record, k),
            (None, Some(text)) => {
                let model = models
                    .get(&ModelRef { spec: set.key.model.clone(), strip_accents: set.key.strip_accents }, Arc::new(selectra::engine::hub::Silent))?;
                let query = selectra::jobs::corpus_run::embed_query(s, &model, set.id, text)?;
                table.nearest(&query, k, None)
            }
            (None, None) => Err(selectra::Error::Input("type what the records should be like, or start from a record".into())),
        }
    })
    .await
}

/// Discards the records as one batch that one undo reverts (their labels stay).
#[tauri::command]
pub async fn discard_records(state: State<'_, AppState>, args: DiscardArgs) -> CmdResult<BatchOutcome> {
    with_store(&state, move |s| {
        let annotator = s.annotator()?;
        s.discard(&args.corpus, selectra::store::Target::Records(&args.records), &annotator)
    })
    .await
}

#[tauri::command]
pub fn cancel_task(state: State<'_, AppState>, task: String) -> CmdResult<bool> {
    Ok(state.tasks.cancel(&task))
}

#[tauri::command]
pub async fn label_distribution(state: State<'_, AppState>, run: i64) -> CmdResult<Vec<LabelCount>> {
    with_store(&state, move |s| Ok(s.label_distribution(run)?.into_iter().map(|(label, count)| LabelCount { label, count }).collect())).await
}

#[tauri::command]
pub async fn annotate(state: State<'_, AppState>, args: AnnotateArgs) -> CmdResult<AnnotationEvent> {
    with_store(&state, move |s| {
        let annotator = s.annotator()?;
        s.annotate(args.record_id, &args.labels, args.status, &annotator)
    })
    .await
}

/// Sets a record's entity spans (checked against its text) and status; its labels stay.
#[tauri::command]
pub async fn annotate_spans(state: State<'_, AppState>, args: AnnotateSpansArgs) -> CmdResult<AnnotationEvent> {
    with_store(&state, move |s| {
        let annotator = s.annotator()?;
        s.annotate_spans(args.record_id, &args.spans, args.status, &annotator)
    })
    .await
}

/// A record's entities in every tagging run that tagged it (the span editor's pre-annotations).
#[tauri::command]
pub async fn record_entities(state: State<'_, AppState>, record: i64) -> CmdResult<Vec<RunEntity>> {
    with_store(&state, move |s| s.record_entities(record)).await
}

/// Undoes the project annotator's last change in `corpus` (a bulk action's whole batch); `null`
/// when there is nothing to undo. Undo is personal: other annotators' changes are never undone.
#[tauri::command]
pub async fn undo_annotation(state: State<'_, AppState>, corpus: String) -> CmdResult<Option<UndoneDto>> {
    with_store(&state, move |s| {
        let annotator = s.annotator()?;
        Ok(s.undo_last(&corpus, &annotator)?.map(Into::into))
    })
    .await
}

#[tauri::command]
pub async fn record_predictions(state: State<'_, AppState>, record: i64) -> CmdResult<Vec<RecordPredictionDto>> {
    with_store(&state, move |s| Ok(s.record_predictions(record)?.into_iter().map(Into::into).collect())).await
}

/// Runs (or resumes) a discriminator scan over a corpus. Cancelling keeps every finished batch;
/// the same arguments resume.
#[tauri::command]
pub async fn run_scan(state: State<'_, AppState>, args: ScanArgs, task: String, on_progress: Channel<TaskProgress>) -> CmdResult<ScanSummary> {
    let models = state.models.clone();
    corpus_job(&state, task, on_progress, move |store, progress, cancel| {
        store.corpus(&args.corpus)?;
        let model = models.get(&args.model, Arc::new(selectra::engine::hub::Silent))?;
        let summary = selectra::jobs::corpus_run::run_scan(
            store,
            &model,
            &args.corpus,
            args.model.strip_accents,
            selectra::jobs::corpus_run::SCAN_BATCH_RECORDS,
            progress,
            cancel,
        )?;
        Ok(summary)
    })
    .await
}

#[tauri::command]
pub async fn list_scans(state: State<'_, AppState>, corpus: String) -> CmdResult<Vec<ScanInfo>> {
    with_store(&state, move |s| s.scans(Some(&corpus))).await
}

/// The most suspicious records, the most flagged word forms and the suspicion histogram of a scan.
#[tauri::command]
pub async fn scan_view(state: State<'_, AppState>, scan: i64, limit: u32) -> CmdResult<ScanViewDto> {
    with_store(&state, move |s| ScanViewDto::read(s, scan, limit as usize)).await
}

/// One scanned record by its row number: where a flagged word form was seen.
#[tauri::command]
pub async fn scanned_record(state: State<'_, AppState>, scan: i64, row: u64) -> CmdResult<SuspiciousRecordDto> {
    with_store(&state, move |s| Ok(s.scanned_record(scan, row)?.into())).await
}

/// Two scans of a corpus side by side: agreement on flagged words, and the records where they
/// disagree most.
#[tauri::command]
pub async fn compare_scans(state: State<'_, AppState>, a: i64, b: i64, limit: u32) -> CmdResult<ScanComparison> {
    with_store(&state, move |s| selectra::analysis::scans::compare_scans(s, a, b, limit as usize)).await
}

/// Rows as tab-separated text for the clipboard, formula-safe unless `raw` (the core's rule).
#[tauri::command]
pub async fn spreadsheet_text(rows: Vec<Vec<String>>, raw: bool) -> CmdResult<String> {
    Ok(selectra::exchange::export::tsv(&rows, raw))
}

#[tauri::command]
pub async fn published() -> CmdResult<PublishedDto> {
    blocking(PublishedDto::read).await
}

/// Scores runs against the corpus's reference labels, with progress and cancel.
#[tauri::command]
pub async fn evaluate(state: State<'_, AppState>, args: EvaluateArgs, task: String, on_progress: Channel<TaskProgress>) -> CmdResult<EvaluationDto> {
    corpus_job(&state, task, on_progress, move |store, progress, cancel| {
        let options = selectra::analysis::metrics::EvalOptions { within_run_labels: args.within_run_labels, ..Default::default() };
        let evaluation =
            selectra::analysis::evaluate::evaluate_watched(store, &args.corpus, &args.runs, &options, &mut Watch::new(progress, cancel))?;
        EvaluationDto::new(&evaluation)
    })
    .await
}

/// The corpus's runs on the user's own references, in the card's columns ("your data"), with
/// progress and cancel.
#[tauri::command]
pub async fn your_data(state: State<'_, AppState>, corpus: String, task: String, on_progress: Channel<TaskProgress>) -> CmdResult<YourData> {
    let models = state.models.clone();
    corpus_job(&state, task, on_progress, move |store, progress, cancel| {
        // Sizes of the models this session loaded: their runs are drawn on the size charts.
        let sizes = |name: &str| models.parameters_of(name);
        selectra::api::wire::YourData::of(store, &corpus, &Default::default(), &mut Watch::new(progress, cancel), &sizes)
    })
    .await
}

/// Writes the shareable report (HTML, JSON, figures) into a folder the user chose, with progress
/// (the scoring, then the figures) and cancel.
#[tauri::command]
pub async fn write_report(state: State<'_, AppState>, args: ReportArgs, task: String, on_progress: Channel<TaskProgress>) -> CmdResult<String> {
    corpus_job(&state, task, on_progress, move |store, progress, cancel| {
        let options = selectra::analysis::metrics::EvalOptions { within_run_labels: args.within_run_labels, ..Default::default() };
        let store = args.corpus.as_ref().map(|_| &*store);
        let (files, _) = selectra::report::write_project_report(
            store,
            args.corpus.as_deref(),
            &args.runs,
            &PathBuf::from(args.output),
            &options,
            &mut Watch::new(progress, cancel),
        )?;
        Ok(files.html.display().to_string())
    })
    .await
}

/// What a head could learn from in this corpus, and the core's suggestion.
#[tauri::command]
pub async fn label_sources(state: State<'_, AppState>, corpus: String) -> CmdResult<LabelSourcesDto> {
    with_store(&state, move |s| Ok(s.label_sources(&corpus)?.into())).await
}

/// A view's remembered state in the project (JSON text), if any.
#[tauri::command]
pub async fn get_setting(state: State<'_, AppState>, key: String) -> CmdResult<Option<String>> {
    with_store(&state, move |s| Ok(s.front_end_setting(&key)?.map(|v| v.to_string()))).await
}

/// Remembers a view's state (JSON text) in the project.
#[tauri::command]
pub async fn set_setting(state: State<'_, AppState>, key: String, value: String) -> CmdResult<()> {
    let value: serde_json::Value =
        serde_json::from_str(&value).map_err(|e| ErrorDto::from(selectra::Error::Input(format!("the setting {key:?} is not JSON: {e}"))))?;
    with_store(&state, move |s| s.set_front_end_setting(&key, &value)).await
}

#[tauri::command]
pub async fn metadata_keys(state: State<'_, AppState>, corpus: String) -> CmdResult<Vec<String>> {
    with_store(&state, move |s| s.metadata_keys(&corpus)).await
}

/// How the core reads one metadata filter (`text`), with values of its key that contain its
/// text: the filter bar's suggestions, and its hint when an exact value matches nothing. `None`
/// when the text is not a filter (yet).
#[tauri::command]
pub async fn meta_filter_help(state: State<'_, AppState>, corpus: String, text: String, limit: u32) -> CmdResult<Option<MetaFilterHelpDto>> {
    let Ok(filter) = selectra::store::MetaFilter::parse(&text) else { return Ok(None) };
    with_store(&state, move |s| {
        let (key, kind, value) = filter.parts();
        let values = match value {
            Some(text) => s.metadata_values(&corpus, key, Some(text), limit)?,
            None => Vec::new(),
        };
        Ok(Some(MetaFilterHelpDto {
            key: key.into(),
            kind: kind.into(),
            value: value.unwrap_or_default().into(),
            values: values.into_iter().map(|(value, records)| MetaValueDto { value, records }).collect(),
        }))
    })
    .await
}

/// The labels editor's warnings about these names (near-duplicates).
#[tauri::command]
pub async fn label_warnings(names: Vec<String>) -> CmdResult<Vec<String>> {
    Ok(selectra::store::LabelSchema::warnings_for(&names))
}

/// Lets a progress callback through every 100 ms, and always at the end.
#[derive(Default)]
struct Throttle(Option<Instant>);

impl Throttle {
    fn ready(&mut self, last: bool) -> bool {
        if last || self.0.is_none_or(|t| t.elapsed() >= Duration::from_millis(100)) {
            self.0 = Some(Instant::now());
            return true;
        }
        false
    }
}

/// Why a run gave a record its label (the run's own model; loaded on first use).
#[tauri::command]
pub async fn explain_record(state: State<'_, AppState>, args: ExplainRecordArgs) -> CmdResult<Explanation> {
    let models = state.models.clone();
    // Its own connection: the model's passes never hold the project's shared one.
    let db = state.project_path();
    blocking(move || {
        let store = Store::open(&db)?;
        let (spec, strip_accents) = selectra::jobs::explain::run_model(&store.run(args.run)?);
        let model = models.get(&ModelRef { spec, strip_accents }, Arc::new(selectra::engine::hub::Silent))?;
        let lime = selectra::domain::attribution::LimeOptions::default();
        selectra::jobs::explain::explain_record(&store, &model, args.run, args.record, args.label.as_deref(), args.method, &lime)
    })
    .await
}

/// Why a model gives a typed text a label: zero-shot with labels, else the classifier's own.
#[tauri::command]
pub async fn explain_text(state: State<'_, AppState>, args: ExplainTextArgs) -> CmdResult<Explanation> {
    use selectra::domain::attribution::{explain, LimeOptions};
    let models = state.models.clone();
    blocking(move || {
        let model = models.get(&args.model, Arc::new(selectra::engine::hub::Silent))?;
        let lime = LimeOptions::default();
        let (text, pair, label) = (args.text.as_str(), args.text_pair.as_deref().filter(|p| !p.trim().is_empty()), args.label.as_deref());
        match args.labels {
            Some(labels) => {
                use selectra::domain::task::{ZeroShotTask, DEFAULT_TEMPLATE};
                let template = args.template.as_deref().unwrap_or(DEFAULT_TEMPLATE);
                let task = ZeroShotTask::new(ZeroShotTask::parse_labels(&labels), template, args.multi_label)?;
                let classifier = selectra::engine::zeroshot::ZeroShotClassifier::new(&model)?;
                let scorer = selectra::engine::explain::zeroshot_scorer(&classifier, &task);
                explain(text, pair, label, args.method, &lime, &scorer)
            }
            None => {
                let classifier = TextClassifier::new(&model)?;
                let scorer = selectra::engine::explain::classifier_scorer(&classifier, model.config.id2label.clone());
                explain(text, pair, label, args.method, &lime, &scorer)
            }
        }
    })
    .await
}

/// What a run keys on (progress in records explained, cancellable).
#[tauri::command]
pub async fn run_key_words(
    state: State<'_, AppState>,
    args: KeyWordsArgs,
    task: String,
    on_progress: Channel<TaskProgress>,
) -> CmdResult<RunKeyWords> {
    let models = state.models.clone();
    corpus_job(&state, task, on_progress, move |store, progress, cancel| {
        let (spec, strip_accents) = selectra::jobs::explain::run_model(&store.run(args.run)?);
        let model = models.get(&ModelRef { spec, strip_accents }, Arc::new(selectra::engine::hub::Silent))?;
        let mut watch = selectra::domain::progress::Watch::new(progress, cancel);
        let per_label = args.per_label.map_or(selectra::jobs::explain::SUMMARY_RECORDS_PER_LABEL, |n| n as usize);
        selectra::jobs::explain::key_words(store, &model, args.run, per_label, args.method, &mut watch)
    })
    .await
}

/// The map of an embedding set: made (progress in records, cancellable) and stored, or the
/// stored one.
#[tauri::command]
pub async fn make_map(state: State<'_, AppState>, args: MapArgs, task: String, on_progress: Channel<TaskProgress>) -> CmdResult<MapView> {
    corpus_job(&state, task, on_progress, move |store, progress, cancel| {
        let mut watch = selectra::domain::progress::Watch::new(progress, cancel);
        let (info, points) = selectra::analysis::projection::make_map(
            store,
            &args.corpus,
            args.embeddings,
            args.method,
            args.seed.map_or(selectra::domain::map::DEFAULT_SEED, u64::from),
            &mut watch,
        )?;
        Ok(MapView { info, points })
    })
    .await
}

/// A map's colours by gold, reference, a run's label or score, or suspicion.
#[tauri::command]
pub async fn map_colours(state: State<'_, AppState>, args: MapColourArgs) -> CmdResult<MapColours> {
    with_store(&state, move |s| {
        let (_, points) = s.map_points(&args.corpus, args.map)?;
        selectra::analysis::projection::colours(s, &args.corpus, &points, args.by)
    })
    .await
}

/// The records inside a lasso's outline, in map order: the filter the bulk actions then apply to.
#[tauri::command]
pub async fn map_lasso(state: State<'_, AppState>, args: LassoArgs) -> CmdResult<Vec<i64>> {
    with_store(&state, move |s| {
        let (_, points) = s.map_points(&args.corpus, args.map)?;
        selectra::analysis::projection::enclosed(&points, &args.outline)
    })
    .await
}

/// A record's text (the map's hover).
#[tauri::command]
pub async fn record_text(state: State<'_, AppState>, record: i64) -> CmdResult<String> {
    with_store(&state, move |s| s.record_text(record)).await
}
