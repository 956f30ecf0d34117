// Generated from src-tauri/src/dto.rs by src-tauri/src/bindings.rs; do not edit.
// Regenerate: UPDATE_BINDINGS=1 cargo test -p selectra-studio --test bindings

import type { Channel } from "@tauri-apps/api/core";

export type ErrorCode = "model_spec" | "missing_file" | "not_cached" | "download" | "config" | "unsupported" | "weights" | "tokenizer" | "input" | "inference" | "io" | "database" | "import" | "cancelled" | "report";

export type Setting = "text_column" | "id_column" | "label_column" | "metadata_columns" | "format" | "corpus_name" | "corpus" | "max_record_bytes" | "batch_size" | "skip_bad" | "label_schema";

export type ErrorDto = { code: ErrorCode, message: string, 
/**
 * The settings that fix the error, most relevant first (the field to focus); usually none.
 */
settings: Array<Setting>, };

export type AppInfo = { 
/**
 * The core's version and commit, as `selectra --version` prints them.
 */
version: string, 
/**
 * The open project database.
 */
project: string, 
/**
 * The Hugging Face cache models are downloaded into.
 */
hub_cache: string, offline: boolean, 
/**
 * P(replaced) from which a word counts as flagged (the core's threshold).
 */
replaced_threshold: number, 
/**
 * Learning's defaults: new labels between retrainings, and the longest training (seconds)
 * that is retrained without being asked.
 */
retrain_every: number, auto_retrain_max_secs: number, };

export type ModelEntryDto = { id: string, description: string, preset: boolean, cached: boolean, cached_refs: Array<string>, };

export type ModelRef = { spec: string, strip_accents: boolean | null, };

export type DownloadEvent = { "kind": "progress", file: string, done: number, total: number, };

export type ModelFacts = { name: string, folder: string, weights_file: string, model_type: string, architecture: string, 
/**
 * "discriminator" (per-token scores) or "classifier" (zero-shot NLI).
 */
role: string, parameters: number, layers: number, hidden_size: number, embedding_size: number, attention_heads: number, intermediate_size: number, vocab_size: number, max_positions: number, labels: Array<string>, 
/**
 * The tokenizer class and algorithm, e.g. "RobertaTokenizer (byte-level BPE)".
 */
tokenizer: string, 
/**
 * Whether the tokenizer has the lower-case and accent settings (WordPiece only).
 */
accent_setting: boolean, do_lower_case: boolean, 
/**
 * Whether the model's own tokenizer files strip accents (an unset value follows lower-casing).
 */
files_strip_accents: boolean, 
/**
 * What is in effect, after the user's override.
 */
strips_accents: boolean, };

export type InspectArgs = { model: ModelRef, text: string, };

export type ReplaceArgs = { model: ModelRef, text: string, index: number, replacement: string, };

export type TokenDto = { token: string, id: number, 
/**
 * Character (Unicode scalar) offsets into the text, end exclusive.
 */
start: number, end: number, logit: number, probability: number, 
/**
 * Accents kept on a model whose files strip them, and this piece has one: its embedding
 * was never trained.
 */
untrained_embedding: boolean, };

export type WordDto = { text: string, start: number, end: number, probability: number, first_token: number, token_count: number, untrained_embedding: boolean, };

export type InspectionDto = { model: string, text: string, tokens: Array<TokenDto>, words: Array<WordDto>, truncated: boolean, 
/**
 * Whether the model's files strip accents, and whether accents were stripped here.
 */
files_strip_accents: boolean, strips_accents: boolean, 
/**
 * What an untrained-embedding mark means (the core's wording).
 */
untrained_note: string, };

export type ClassifyArgs = { model: ModelRef, text: string, labels: Array<string>, template: string, multi_label: boolean, };

export type ZeroShotResult = { sequence: string, labels: Array<string>, scores: Array<number>, };

export type CorpusInfo = { id: number, name: string, source_path: string, format: string, created_at: string, records: number, };

export type PreviewArgs = { path: string, 
/**
 * csv, tsv, jsonl or txt; `null` guesses from the file name.
 */
format: string | null, };

export type PreviewDto = { format: string, columns: Array<string>, rows: Array<Array<string>>, };

export type ImportArgs = { path: string, name: string, format: string | null, text_column: string | null, id_column: string | null, label_column: string | null, metadata_columns: Array<string>, skip_bad: boolean, };

export type TaskProgress = { done: number, total: number, message: string, eta_secs: number | null, 
/**
 * What the work is doing now, in the core's words ("embedding the records", "training the
 * classifier"), when it has stages.
 */
stage: string | null, };

export type BadRow = { line: number, reason: string, };

export type ImportOutcome = { corpus: CorpusInfo, imported: number, skipped: Array<BadRow>, };

export type SortDto = "row" | "margin" | "entropy" | "score_desc" | "score_asc" | "suspicion" | "random";

export type Status = "pending" | "accepted" | "discarded";

export type BrowseArgs = { corpus: string, filter: FilterSpec, sort: SortDto, after: string | null, limit: number, };

export type RecordDto = { record_id: number, row_number: number, source_id: string | null, text: string, gold: string | null, 
/**
 * The record's metadata, each value as text (as the filter bar compares it).
 */
metadata: Array<MetaEntry>, annotation_labels: Array<string> | null, annotation_status: Status | null, 
/**
 * Who changed the annotation last.
 */
annotator: string | null, top_label: string | null, top_score: number | null, margin: number | null, 
/**
 * The record's suspicion in the browsed scan.
 */
suspicion: number | null, };

export type PageDto = { rows: Array<RecordDto>, 
/**
 * Matching records over all pages; only counted for the first page.
 */
total: number | null, 
/**
 * The cursor of the next page; `null` on the last.
 */
next: string | null, };

export type RunDto = { id: number, 
/**
 * The name someone gave the run.
 */
name: string | null, 
/**
 * "zeroshot", or "trained" (a head trained on the corpus's labels).
 */
kind: string, corpus: string, model: string, labels: Array<string>, template: string, multi_label: boolean, strip_accents: boolean | null, created_at: string, finished_at: string | null, predictions: number, records: number, 
/**
 * "exact", or "bf16" (the fast mode).
 */
precision: string, 
/**
 * The fast mode's agreement check that decided the run's precision, in words.
 */
precision_check: string | null, };

export type RunArgs = { corpus: string, model: ModelRef, 
/**
 * Ignored with `use_schema`.
 */
labels: Array<string>, template: string, multi_label: boolean, 
/**
 * The labels and their hypotheses from the corpus's label schema.
 */
use_schema: boolean, 
/**
 * The bf16 fast mode, behind its agreement check on the corpus (else exact f32).
 */
fast: boolean, };

export type RunSummaryDto = { run: RunDto, predicted_now: number, cancelled: boolean, 
/**
 * The fast mode's check made in this session, in words.
 */
precision_check: string | null, 
/**
 * Why the fast mode was not used, or that an earlier check is relied on.
 */
precision_note: string | null, };

export type LabelCount = { label: string, count: number, };

export type AnnotateArgs = { record_id: number, labels: Array<string>, status: Status, };

export type AnnotationEventDto = { record_id: number, 
/**
 * The record's state after the change (`null`: no annotation any more).
 */
labels: Array<string> | null, status: Status | null, undo: boolean, };

export type RecordPredictionDto = { run_id: number, model: string, labels: Array<string>, scores: Array<number>, 
/**
 * The labels the run suggests (the core decides: top label, or those over the threshold).
 */
suggested: Array<string>, };

export type PublishedScoreDto = { model: string, hub_id: string, family: string, params_millions: number | null, task: string, metric: string, mean: number, std: number | null, 
/**
 * The number as the source prints it ("0.865 ± 0.004", "0.8691"): what the table shows.
 */
display: string, source: string, };

export type SourceDto = { key: string, citation: string, url: string, note: string, };

export type FigureDto = { name: string, caption: string, svg: string, };

export type LoadableModelDto = { model: string, load_id: string | null, architecture: string | null, note: string, };

export type PublishedDto = { 
/**
 * The card's comparison table: its fine-tuned models (rows) and tasks (columns), in order.
 */
card_models: Array<string>, card_tasks: Array<string>, scores: Array<PublishedScoreDto>, sources: Array<SourceDto>, figures: Array<FigureDto>, 
/**
 * What loads for each published model's family.
 */
models: Array<LoadableModelDto>, };

export type EvaluateArgs = { corpus: string, 
/**
 * Empty: every run of the corpus.
 */
runs: Array<number>, 
/**
 * Score only records whose reference labels every run can predict.
 */
within_run_labels: boolean, };

export type Estimate = { value: number, low: number, high: number, };

export type RunScoreDto = { run: RunDto, multi_label: boolean, n: number, 
/**
 * Accuracy (single-label) or subset accuracy (multi-label; no interval).
 */
accuracy: Estimate, macro_f1: Estimate, 
/**
 * Expected calibration error (single-label only).
 */
ece: number | null, 
/**
 * The labels the confusion matrix covers (single-label).
 */
labels: Array<string>, 
/**
 * `confusion[t][p]`: records with reference `labels[t]` predicted `labels[p]`.
 */
confusion: Array<Array<number>>, 
/**
 * The reliability bins of the top score (single-label).
 */
reliability: Array<ReliabilityBinDto>, 
/**
 * The most confident mistakes.
 */
mistakes: Array<MistakeDto>, 
/**
 * Scored records whose reference this run cannot predict, and the core's warning about them.
 */
outside_references: number, outside_warning: string | null, };

export type EvaluationDto = { 
/**
 * The runs scored, on the records every one of them predicted.
 */
run_ids: Array<number>, corpus: string, accepted_annotations: number, gold: number, excluded: number, 
/**
 * Records left out because their reference lies outside some run's labels (when asked).
 */
outside_run_labels: number, runs: Array<RunScoreDto>, figures: Array<FigureDto>, };

export type ReportArgs = { 
/**
 * `null`: only the published comparison.
 */
corpus: string | null, runs: Array<number>, 
/**
 * The folder to write index.html, report.json and figures/ into.
 */
output: string, 
/**
 * Score only records whose reference labels every run can predict.
 */
within_run_labels: boolean, };

export type ScanDto = { id: number, 
/**
 * The name someone gave the scan.
 */
name: string | null, corpus: string, model: string, strip_accents: boolean | null, created_at: string, finished_at: string | null, scanned: number, records: number, };

export type ScanArgs = { corpus: string, model: ModelRef, };

export type ScanSummaryDto = { scan: ScanDto, scanned_now: number, cancelled: boolean, };

export type ScannedWordDto = { start: number, end: number, probability: number, 
/**
 * At or above the core's flagged threshold.
 */
flagged: boolean, };

export type SuspiciousRecordDto = { record_id: number, row_number: number, source_id: string | null, text: string, suspicion: number, flagged: number, mean: number, words: Array<ScannedWordDto>, };

export type FlaggedWordDto = { word: string, count: number, mean_probability: number, examples: Array<number>, };

export type ScanViewDto = { scan: ScanDto, 
/**
 * The most suspicious records, most suspicious first.
 */
records: Array<SuspiciousRecordDto>, 
/**
 * The word forms flagged most often.
 */
words: Array<FlaggedWordDto>, 
/**
 * Records per tenth of suspicion, [0, 0.1) first.
 */
histogram: Array<number>, };

export type ScanDisagreementDto = { record_id: number, row_number: number, text: string, suspicion_a: number, suspicion_b: number, 
/**
 * Character spans of the words only scan A (or only B) flags.
 */
only_a: Array<[number, number]>, only_b: Array<[number, number]>, };

export type ScanComparisonDto = { a: number, b: number, records: number, words: number, flagged_by_a: number, flagged_by_b: number, flagged_by_both: number, agreement: number, kappa: number | null, disagreements: Array<ScanDisagreementDto>, };

export type FilterSpec = { 
/**
 * Whole words, case- and accent-insensitive; every word must occur.
 */
text: string | null, 
/**
 * Only records with this gold label.
 */
gold: string | null, 
/**
 * A status, "unannotated", or nothing for all.
 */
status: string | null, 
/**
 * Whose annotation (the annotator who changed the record last).
 */
annotator: string | null, 
/**
 * The run whose predictions are shown, filtered on and sorted by.
 */
run: number | null, 
/**
 * Records whose top label in the run is this.
 */
predicted_label: string | null, min_score: number | null, max_score: number | null, 
/**
 * The margin between the run's top two scores.
 */
min_margin: number | null, max_margin: number | null, 
/**
 * "RUN1,RUN2", "RUN,annotation", "RUN,gold" or "annotators".
 */
disagree: string | null, 
/**
 * Each "key=value", "key~text", "key^=text", "key>=x", "key<=y" or "key=x..y".
 */
meta: Array<string>, 
/**
 * The run's reliability bin (0–9) of the top score, as the evaluation bins it.
 */
score_bin: number | null, 
/**
 * The records an evaluation covers, or a part of them (a chart's drill-down).
 */
evaluation: EvalFilter | null, 
/**
 * A seeded random sample of this many matching records.
 */
sample: number | null, 
/**
 * The seed of the sample and of the random order.
 */
seed: number, 
/**
 * The scan whose suspicion is shown, filtered on and sorted by.
 */
scan: number | null, min_suspicion: number | null, };

export type MetaEntry = { key: string, value: string, };

export type UndoneDto = { event: AnnotationEventDto | null, batch: number | null, records: number, };

export type BulkLabelArgs = { corpus: string, records: Array<number>, filter: FilterSpec | null, 
/**
 * The labels (none to discard).
 */
labels: Array<string>, status: Status, };

export type BatchOutcome = { 
/**
 * The batch (for undo); `None` when nothing changed.
 */
batch: number | null, 
/**
 * Records asked for.
 */
matched: number, 
/**
 * Records whose annotation changed (the others already had it).
 */
changed: number, };

export type LabelDefDto = { name: string, description: string, 
/**
 * One character; the core gives the first nine labels 1–9 when none is chosen.
 */
key: string | null, 
/**
 * `#rrggbb`; the core fills a default.
 */
colour: string | null, 
/**
 * The NLI hypothesis; `null`: the run's template filled with the name.
 */
hypothesis: string | null, };

export type LabelSchemaDto = { labels: Array<LabelDefDto>, guidelines: string, };

export type SchemaViewDto = { schema: LabelSchemaDto, suggested: Array<string>, };

export type PairAgreementDto = { a: string, b: string, records: number, observed: number | null, 
/**
 * Cohen's kappa.
 */
kappa: number | null, };

export type AgreementDto = { 
/**
 * Each annotator and how many records they accepted.
 */
annotators: Array<[string, number]>, pairs: Array<PairAgreementDto>, 
/**
 * Fleiss' kappa over the records all annotators accepted (three or more annotators).
 */
fleiss_kappa: number | null, fleiss_records: number, 
/**
 * Records accepted with different labels by different annotators.
 */
disputed: number, };

export type HistoryEntryDto = { at: string, annotator: string, labels: Array<string> | null, status: Status | null, undo: boolean, batch: number | null, };

export type ExportArgs = { corpus: string, 
/**
 * jsonl, csv or parquet.
 */
format: string, path: string, 
/**
 * CSV cells exactly as stored (no guard against spreadsheet formulas).
 */
raw_csv: boolean, };

export type EvalFilter = { runs: Array<number>, 
/**
 * The reference label (a multi-label reference's first).
 */
reference: string | null, 
/**
 * Only the records this (single-label) run got wrong: its top label is not the reference.
 */
mistakes_of: number | null, };

export type ReliabilityBinDto = { lower: number, upper: number, count: number, confidence: number | null, accuracy: number | null, };

export type MistakeDto = { row_number: number, text: string, reference: Array<string>, predicted: Array<string>, confidence: number, };

export type TrainArgs = { corpus: string, model: ModelRef, folds: number, seed: number, 
/**
 * annotations, gold or both.
 */
source: string, };

export type CurvePointDto = { n: number, accuracy: number, macro_f1: number, };

export type TrainSummaryDto = { 
/**
 * The trained run (its scores are the suggestions).
 */
run: RunDto, 
/**
 * What it learned from, in words ("accepted annotations").
 */
source: string, 
/**
 * How long the training took (embedding included), in seconds.
 */
secs: number, 
/**
 * Of those, the fits and storing the run: what a retrain costs.
 */
fit_secs: number, n_train: number, labels: Array<string>, folds: number, 
/**
 * Cross-validated, with bootstrap intervals.
 */
accuracy: Estimate, macro_f1: Estimate, learning_curve: Array<CurvePointDto>, 
/**
 * Always answering the most frequent label: what it predicts, its accuracy and macro F1.
 */
baseline_predicts: string, baseline_accuracy: number, baseline_macro_f1: number, 
/**
 * Whether the head learned more than the label counts, and the core's sentence saying so.
 */
beats_baseline: boolean, verdict: string, };

export type TemplateLabArgs = { corpus: string, model: ModelRef, labels: Array<string>, templates: Array<string>, multi_label: boolean, 
/**
 * Also score the corpus's label schema with its own hypotheses (labels as the schema has them).
 */
with_schema: boolean, 
/**
 * Score a seeded sample of this many labeled records.
 */
sample: number | null, 
/**
 * The reference labels: annotations, gold or both.
 */
source: string, 
/**
 * Score only records whose reference is among the labels.
 */
within_labels: boolean, };

export type TemplateScoreDto = { template: string, accuracy: Estimate, macro_f1: Estimate, n: number, 
/**
 * Labeled records left out because their reference is outside the labels.
 */
outside: number, };

export type LabelSourcesDto = { annotations: number, annotation_kinds: number, gold: number, gold_kinds: number, 
/**
 * annotations, gold or both.
 */
suggested: string, };

export type MetaValueDto = { value: string, records: number, };

export type MetaFilterHelpDto = { key: string, 
/**
 * equals, contains, prefix or range.
 */
kind: string, 
/**
 * The text compared (empty for a range).
 */
value: string, 
/**
 * The key's most frequent values containing `value` (ignoring case and accents).
 */
values: Array<MetaValueDto>, };

/** Every command: the arguments `invoke` takes and what it resolves to. */
export type Commands = {
  app_info: { args: {}; result: AppInfo };
  list_models: { args: {}; result: Array<ModelEntryDto> };
  load_model: { args: { model: ModelRef; onProgress: Channel<DownloadEvent> }; result: ModelFacts };
  inspect: { args: { args: InspectArgs }; result: InspectionDto };
  inspect_replaced: { args: { args: ReplaceArgs }; result: InspectionDto };
  classify: { args: { args: ClassifyArgs }; result: ZeroShotResult };
  open_project: { args: { path: string }; result: AppInfo };
  list_corpora: { args: {}; result: Array<CorpusInfo> };
  preview_import: { args: { args: PreviewArgs }; result: PreviewDto };
  import_corpus: { args: { args: ImportArgs; task: string; onProgress: Channel<TaskProgress> }; result: ImportOutcome };
  browse: { args: { args: BrowseArgs }; result: PageDto };
  list_runs: { args: { corpus: string }; result: Array<RunDto> };
  run_zeroshot: { args: { args: RunArgs; task: string; onProgress: Channel<TaskProgress> }; result: RunSummaryDto };
  resume_run: { args: { run: number; task: string; onProgress: Channel<TaskProgress> }; result: RunSummaryDto };
  rename_corpus: { args: { corpus: string; name: string }; result: null };
  delete_corpus: { args: { corpus: string }; result: number };
  rename_run: { args: { run: number; name: string | null }; result: null };
  delete_run: { args: { run: number }; result: null };
  rename_scan: { args: { scan: number; name: string | null }; result: null };
  delete_scan: { args: { scan: number }; result: null };
  export_corpus: { args: { args: ExportArgs; task: string; onProgress: Channel<TaskProgress> }; result: number };
  train_head: { args: { args: TrainArgs; task: string; onProgress: Channel<TaskProgress> }; result: TrainSummaryDto };
  template_lab: { args: { args: TemplateLabArgs; task: string; onProgress: Channel<TaskProgress> }; result: Array<TemplateScoreDto> };
  use_template: { args: { corpus: string; labels: Array<string>; template: string }; result: SchemaViewDto };
  cancel_task: { args: { task: string }; result: boolean };
  label_distribution: { args: { run: number }; result: Array<LabelCount> };
  annotate: { args: { args: AnnotateArgs }; result: AnnotationEventDto };
  undo_annotation: { args: { corpus: string }; result: UndoneDto | null };
  label_records: { args: { args: BulkLabelArgs }; result: BatchOutcome };
  get_annotator: { args: {}; result: string };
  set_annotator: { args: { name: string }; result: string };
  label_schema: { args: { corpus: string }; result: SchemaViewDto };
  set_label_schema: { args: { corpus: string; schema: LabelSchemaDto }; result: SchemaViewDto };
  annotator_agreement: { args: { corpus: string }; result: AgreementDto };
  record_history: { args: { record: number }; result: Array<HistoryEntryDto> };
  record_predictions: { args: { record: number }; result: Array<RecordPredictionDto> };
  published: { args: {}; result: PublishedDto };
  evaluate: { args: { args: EvaluateArgs; task: string; onProgress: Channel<TaskProgress> }; result: EvaluationDto };
  write_report: { args: { args: ReportArgs; task: string; onProgress: Channel<TaskProgress> }; result: string };
  label_sources: { args: { corpus: string }; result: LabelSourcesDto };
  get_setting: { args: { key: string }; result: string | null };
  set_setting: { args: { key: string; value: string }; result: null };
  metadata_keys: { args: { corpus: string }; result: Array<string> };
  meta_filter_help: { args: { corpus: string; text: string; limit: number }; result: MetaFilterHelpDto | null };
  label_warnings: { args: { names: Array<string> }; result: Array<string> };
  spreadsheet_text: { args: { rows: Array<Array<string>>; raw: boolean }; result: string };
  run_scan: { args: { args: ScanArgs; task: string; onProgress: Channel<TaskProgress> }; result: ScanSummaryDto };
  list_scans: { args: { corpus: string }; result: Array<ScanDto> };
  scan_view: { args: { scan: number; limit: number }; result: ScanViewDto };
  compare_scans: { args: { a: number; b: number; limit: number }; result: ScanComparisonDto };
  scanned_record: { args: { scan: number; row: number }; result: SuspiciousRecordDto };
};
