// Generated from selectra::api::wire, the core's types and src-tauri/src/{dto,args}.rs by src-tauri/src/bindings.rs; do not edit.
// Regenerate: UPDATE_BINDINGS=1 cargo test -p selectra-studio --test bindings

import type { Channel } from "@tauri-apps/api/core";

export type ErrorCode = "model_spec" | "missing_file" | "not_cached" | "download" | "config" | "unsupported" | "weights" | "tokenizer" | "input" | "inference" | "io" | "database" | "import" | "cancelled" | "report";

export type Setting = "text_column" | "text_pair_column" | "spans_column" | "id_column" | "label_column" | "metadata_columns" | "format" | "corpus_name" | "corpus" | "max_record_bytes" | "batch_size" | "skip_bad" | "label_schema" | "hub_dataset" | "hub_config" | "hub_split";

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
retrain_every: number, auto_retrain_max_secs: number, 
/**
 * The cosine similarity from which two records are near-duplicates (the core's default).
 */
near_duplicate_cosine: number, 
/**
 * How many records a similarity search returns (the core's default).
 */
neighbours: number, 
/**
 * Fine-tuning's defaults (the transformers Trainer's, and the held-out share).
 */
finetune: FinetuneOptions, };

export type ModelRef = { spec: string, strip_accents: boolean | null, };

export type DownloadEvent = { "kind": "progress", file: string, done: number, total: number, };

export type TaskProgress = { done: number, total: number, message: string, eta_secs: number | null, 
/**
 * What the work is doing now, in the core's words ("embedding the records", "training the
 * classifier"), when it has stages.
 */
stage: string | null, };

export type InspectArgs = { model: ModelRef, text: string, };

export type ReplaceArgs = { model: ModelRef, text: string, index: number, replacement: string, };

export type ClassifyArgs = { model: ModelRef, text: string, labels: Array<string>, template: string, multi_label: boolean, };

export type ClassifyTextArgs = { model: ModelRef, text: string, text_pair: string | null, };

export type TagTextArgs = { model: ModelRef, text: string, 
/**
 * none, simple, first, average or max.
 */
aggregation: string, };

export type ModelRunArgs = { corpus: string, model: ModelRef, 
/**
 * A tagger's aggregation (none, simple, first, average or max); null: the core's default.
 */
aggregation: string | null, };

export type PreviewArgs = { path: string, 
/**
 * csv, tsv, jsonl, txt, conll or parquet; `null` guesses from the file name.
 */
format: string | null, };

export type ImportArgs = { path: string, name: string, format: string | null, text_column: string | null, 
/**
 * The second text of a sentence-pair corpus, if any.
 */
text_pair_column: string | null, id_column: string | null, label_column: string | null, 
/**
 * Each record's reference entity spans, if any.
 */
spans_column: string | null, metadata_columns: Array<string>, skip_bad: boolean, };

export type ColumnArgs = { name: string, format: string | null, text_column: string | null, 
/**
 * The second text of a sentence-pair corpus, if any.
 */
text_pair_column: string | null, id_column: string | null, label_column: string | null, 
/**
 * Each record's reference entity spans, if any.
 */
spans_column: string | null, metadata_columns: Array<string>, skip_bad: boolean, };

export type HubSplitArgs = { dataset: string, config: string | null, split: string | null, };

export type HubImportArgs = { dataset: string, config: string | null, split: string | null, name: string, format: string | null, text_column: string | null, 
/**
 * The second text of a sentence-pair corpus, if any.
 */
text_pair_column: string | null, id_column: string | null, label_column: string | null, 
/**
 * Each record's reference entity spans, if any.
 */
spans_column: string | null, metadata_columns: Array<string>, skip_bad: boolean, };

export type PushArgs = { corpus: string, to: string, split: string, private: boolean, };

export type SortDto = "row" | "margin" | "entropy" | "score_desc" | "score_asc" | "suspicion" | "random" | "entity_score" | "listed";

export type BrowseArgs = { corpus: string, filter: FilterSpec, sort: SortDto, after: string | null, limit: number, };

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

export type ExportArgs = { corpus: string, 
/**
 * jsonl, csv or parquet.
 */
format: string, path: string, 
/**
 * CSV cells exactly as stored (no guard against spreadsheet formulas).
 */
raw_csv: boolean, };

export type AnnotateArgs = { record_id: number, labels: Array<string>, status: Status, };

export type AnnotateSpansArgs = { record_id: number, spans: Array<Span>, status: Status, };

export type BulkLabelArgs = { corpus: string, records: Array<number>, filter: FilterSpec | null, 
/**
 * The labels (none to discard).
 */
labels: Array<string>, status: Status, };

export type BulkEntitiesArgs = { corpus: string, records: Array<number>, filter: FilterSpec | null, 
/**
 * The tagging run whose entities become the records' spans.
 */
run: number, 
/**
 * Accepted, or pending (to review).
 */
status: Status, };

export type EvaluateArgs = { corpus: string, 
/**
 * Empty: every run of the corpus.
 */
runs: Array<number>, 
/**
 * Score only records whose reference labels every run can predict.
 */
within_run_labels: boolean, };

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

export type ScanArgs = { corpus: string, model: ModelRef, };

export type TrainArgs = { corpus: string, model: ModelRef, folds: number, seed: number, 
/**
 * annotations, gold or both.
 */
source: string, };

export type FinetuneArgs = { corpus: string, model: string, output: string, epochs: number | null, learning_rate: number | null, batch_size: number | null, validation_share: number | null, 
/**
 * Cross-validation folds (none: one model and the validation share).
 */
folds: number | null, 
/**
 * annotations, gold or both.
 */
source: string, 
/**
 * labels (a classifier) or spans (a tagger); none: what the corpus has.
 */
target: string | null, };

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
 * "RUN1,RUN2", "RUN,annotation", "RUN,gold", "RUN,spans" or "annotators".
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
scan: number | null, min_suspicion: number | null, 
/**
 * Records with an entity of this type: in `entity_run`'s entities, else in their annotated
 * spans.
 */
entity: string | null, 
/**
 * The tagging run whose entities `entity` filters and the entity order sorts by.
 */
entity_run: number | null, 
/**
 * Only these records: what a search or a data-quality tool found (the order "listed"
 * keeps theirs).
 */
records: Array<number> | null, };

export type EvalFilter = { runs: Array<number>, 
/**
 * The reference label (a multi-label reference's first).
 */
reference: string | null, 
/**
 * Only the records this (single-label) run got wrong: its top label is not the reference.
 */
mistakes_of: number | null, };

export type EmbedCorpusArgs = { corpus: string, model: ModelRef, };

export type DuplicatesArgs = { corpus: string, embeddings: number | null, threshold: number | null, };

export type SimilarArgs = { corpus: string, embeddings: number, record: number | null, text: string | null, 
/**
 * `null`: the core's default.
 */
k: number | null, };

export type DiscardArgs = { corpus: string, records: Array<number>, };

export type ExplainRecordArgs = { run: number, record: number, 
/**
 * `null`: the label the run's model scores highest on the record.
 */
label: string | null, method: Method, };

export type ExplainTextArgs = { model: ModelRef, text: string, text_pair: string | null, 
/**
 * Zero-shot candidate labels as typed (comma-separated; the core splits them); `null` for a
 * classifier.
 */
labels: string | null, 
/**
 * `null`: the core's default template.
 */
template: string | null, multi_label: boolean, label: string | null, method: Method, };

export type KeyWordsArgs = { run: number, 
/**
 * `null`: the core's default.
 */
per_label: number | null, method: Method, };

export type MapArgs = { corpus: string, embeddings: number, method: ProjectionMethod, 
/**
 * UMAP's seed; `null`: the core's default.
 */
seed: number | null, };

export type MapColourArgs = { corpus: string, map: number, by: ColourBy, };

export type LassoArgs = { corpus: string, map: number, outline: Array<[number, number]>, };

export type ModelEntry = { id: string, 
/**
 * Empty for cached repositories that are not presets.
 */
description: string, preset: boolean, cached_refs: Array<string>, cached_snapshots: number, };

export type TokenScore = { token: string, id: number, 
/**
 * Character offsets into the text, end exclusive.
 */
start: number, end: number, logit: number, probability: number, 
/**
 * The token's embedding was never trained: accents are kept on a model whose files strip
 * them, and this piece has one (see the SELECTRA card's note). Serialized only when true.
 */
untrained_embedding: boolean, };

export type WordScore = { 
/**
 * The word as it appears in the text.
 */
text: string, start: number, end: number, 
/**
 * The highest P(replaced) among the word's tokens.
 */
probability: number, 
/**
 * Indices into [`Inspection::tokens`] of the word's tokens.
 */
first_token: number, token_count: number, 
/**
 * One of the word's tokens has an untrained embedding (see [`TokenScore::untrained_embedding`]).
 */
untrained_embedding: boolean, };

export type Inspection = { model: string, text: string, tokens: Array<TokenScore>, };

export type ZeroShotResult = { sequence: string, labels: Array<string>, scores: Array<number>, };

export type CorpusInfo = { id: number, name: string, source_path: string, format: string, created_at: string, records: number, 
/**
 * Where a corpus pulled from the Hub came from; none for a file's.
 */
origin: HubOrigin | null, };

export type BadRow = { line: number, reason: string, };

export type ImportOutcome = { corpus: CorpusInfo, imported: number, skipped: Array<BadRow>, };

export type Status = "pending" | "accepted" | "discarded";

export type RunKey = { corpus: string, model: string, weights_sha256: string, labels: Array<string>, template: string, multi_label: boolean, strip_accents: boolean | null, 
/**
 * The encoder's precision (`crate::domain::precision`): exact f32, or the bf16 fast mode.
 */
precision: Precision, };

export type RunKind = "zeroshot" | "trained" | "classifier" | "tagger";

export type RunInfo = { id: number, 
/**
 * The name someone gave the run, if any.
 */
name: string | null, kind: RunKind, created_at: string, finished_at: string | null, predictions: number, records: number, 
/**
 * The fast mode's agreement check that decided this run's precision, if one did.
 */
precision_check: AgreementCheck | null, corpus: string, model: string, weights_sha256: string, labels: Array<string>, template: string, multi_label: boolean, strip_accents: boolean | null, 
/**
 * The encoder's precision (`crate::domain::precision`): exact f32, or the bf16 fast mode.
 */
precision: Precision, };

export type Precision = "exact" | "bf16";

export type AgreementGate = { 
/**
 * The most records compared.
 */
max_records: number, 
/**
 * The least share of records whose top label must be the same.
 */
min_same_top_label: number, 
/**
 * The most any label's score may differ on any record compared.
 */
max_score_delta: number, 
/**
 * The sequential test's chance of passing where bf16 flips twice the allowed share of top
 * labels, and of failing where it flips half of it.
 */
error_rate: number, 
/**
 * Corpora with fewer records run exact: the check would cost more than the fast mode saves
 * ([`FastOutlook::pays_off_from`], set from bf16's speed on the machine; `u64::MAX` where it
 * is no faster; `None`: no floor).
 */
pays_off_from: number | null, };

export type AgreementCheck = { 
/**
 * Records compared.
 */
records: number, 
/**
 * Of those, records whose top label is the same in both precisions.
 */
same_top_label: number, 
/**
 * The largest difference of any label's score on any record.
 */
max_score_delta: number, 
/**
 * The thresholds it was held to.
 */
gate: AgreementGate, 
/**
 * Seconds each precision took on the sample (the exact side may come from the logits cache).
 */
exact_secs: number, fast_secs: number, 
/**
 * The exact scores were read from the logits cache, not computed: their time says nothing
 * about exact's speed.
 */
exact_cached: boolean, passed: boolean, };

export type PrecisionOutcome = { requested: Precision, used: Precision, 
/**
 * The agreement check, when one was made in this session.
 */
check: AgreementCheck | null, 
/**
 * Why the fast mode was not used, or that an earlier check is being relied on.
 */
note: string | null, };

export type FastOutlook = { 
/**
 * The CPU has the instructions the fast mode needs.
 */
available: boolean, 
/**
 * bf16 products' speed over exact f32's, measured on this machine.
 */
speedup: number | null, 
/**
 * The instructions bf16 products run on here ("AMX" or "AVX512_BF16").
 */
kernel: string | null, 
/**
 * The fewest and the most records the check compares both ways.
 */
min_check_records: number, max_check_records: number, 
/**
 * The smallest corpus on which a fast run can take less time than an exact one (its check
 * passing as early as it can); `None` where bf16 is not faster here.
 */
pays_off_from: number | null, };

export type FastOutlookView = { outlook: FastOutlook, summary: string, 
/**
 * What it means for the corpus asked about.
 */
corpus_note: string, };

export type AnnotationEvent = { id: number, record_id: number, 
/**
 * The state after the change; `None` when the record has no annotation any more.
 */
labels: Array<string> | null, status: Status | null, undoes: number | null, 
/**
 * The entity spans after the change, when the annotation has them (left out otherwise).
 */
spans?: Array<Span>, };

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

export type LabelDef = { name: string, description: string, 
/**
 * The key that picks the label (one character); the first nine labels default to 1–9.
 */
key: string | null, 
/**
 * `#rrggbb`; defaults from [`LABEL_COLOURS`].
 */
colour: string | null, 
/**
 * The NLI hypothesis for this label; `None` means the run's template filled with the name.
 */
hypothesis: string | null, };

export type LabelSchema = { labels: Array<LabelDef>, guidelines: string, 
/**
 * What the labels label: whole records, or entity spans (then they are entity types).
 */
kind: SchemaKind, };

export type AnnotatorCount = { annotator: string, 
/**
 * Records this annotator accepted.
 */
records: number, };

export type PairAgreement = { a: string, b: string, 
/**
 * Records both accepted.
 */
records: number, 
/**
 * The share of those with the same labels.
 */
observed: number | null, 
/**
 * Cohen's kappa; `None` with no shared records or when chance agreement is perfect.
 */
kappa: number | null, };

export type FleissAgreement = { annotators: number, 
/**
 * Records every one of them accepted (Fleiss' kappa needs the same raters per record).
 */
records: number, kappa: number | null, };

export type SpanAgreement = { a: string, b: string, records: number, a_entities: number, b_entities: number, matched: number, 
/**
 * `None` when neither marked an entity in the shared records.
 */
f1: number | null, };

export type Span = { start: number, end: number, label: string, };

export type SchemaKind = "labels" | "spans";

export type RunEntity = { run: number, 
/**
 * The entity's type (`entity_group`, or the token's label without aggregation).
 */
label: string, 
/**
 * Character offsets into the record's text, end exclusive.
 */
start: number, end: number, score: number, 
/**
 * The record's text from `start` to `end`.
 */
text: string, };

export type AnnotatorAgreement = { annotators: Array<AnnotatorCount>, pairs: Array<PairAgreement>, 
/**
 * With three or more annotators.
 */
fleiss: FleissAgreement | null, 
/**
 * Records accepted by two or more annotators with different labels (the review filter).
 */
disputed: number, 
/**
 * Entity spans, for every pair of annotators who both accepted spans of some records.
 */
span_pairs: Array<SpanAgreement>, };

export type HistoryEntry = { id: number, at: string, annotator: string, 
/**
 * The state after the change; `None` when the record had no annotation any more.
 */
labels: Array<string> | null, status: Status | null, 
/**
 * The change this one undid.
 */
undoes: number | null, 
/**
 * The bulk action it was part of.
 */
batch: number | null, };

export type RecordPrediction = { run_id: number, model: string, multi_label: boolean, 
/**
 * Sorted by score, highest first.
 */
labels: Array<string>, scores: Array<number>, };

export type LabelSources = { 
/**
 * Records with an accepted annotation that has labels, and the kinds of label among them.
 */
annotations: number, annotation_kinds: number, 
/**
 * Records with a gold label, and the kinds of label among them.
 */
gold: number, gold_kinds: number, };

export type ScanKey = { corpus: string, 
/**
 * The model as named (Hub id with its revision, or folder).
 */
model: string, weights_sha256: string, 
/**
 * `None`: the model's own tokenizer setting.
 */
strip_accents: boolean | null, };

export type ScanInfo = { id: number, 
/**
 * The name someone gave the scan, if any.
 */
name: string | null, created_at: string, finished_at: string | null, 
/**
 * Records with a result.
 */
scanned: number, records: number, corpus: string, 
/**
 * The model as named (Hub id with its revision, or folder).
 */
model: string, weights_sha256: string, 
/**
 * `None`: the model's own tokenizer setting.
 */
strip_accents: boolean | null, };

export type ScanSummary = { scan: ScanInfo, 
/**
 * Records scanned in this session (0 when the scan was already complete).
 */
scanned_now: number, cancelled: boolean, };

export type ScannedWord = { start: number, end: number, probability: number, flagged: boolean, };

export type FlaggedWord = { word: string, count: number, mean_probability: number, 
/**
 * Row numbers of the first records where it is flagged (at most 3).
 */
examples: Array<number>, };

export type ScanDisagreement = { record_id: number, row_number: number, text: string, suspicion_a: number, suspicion_b: number, 
/**
 * (start, end) character spans of the words only scan A flags, and only scan B flags.
 */
only_a: Array<[number, number]>, only_b: Array<[number, number]>, };

export type ScanComparison = { a: number, b: number, 
/**
 * Records both scans cover.
 */
records: number, 
/**
 * Words (by character span, so tokenizers need not agree) both scans score.
 */
words: number, flagged_by_a: number, flagged_by_b: number, flagged_by_both: number, 
/**
 * Share of words on which both agree (flagged or not).
 */
agreement: number, 
/**
 * Cohen's kappa of the two flagged/not-flagged labelings; `None` when it is undefined
 * (both scans flag everything, or nothing).
 */
kappa: number | null, 
/**
 * The records where the scans disagree most: most words flagged by exactly one, then the
 * largest suspicion gap.
 */
disagreements: Array<ScanDisagreement>, };

export type Estimate = { value: number, low: number, high: number, };

export type LabelStats = { label: string, precision: number, recall: number, f1: number, 
/**
 * How many records have this label in the reference.
 */
support: number, };

export type ReliabilityBin = { lower: number, upper: number, count: number, 
/**
 * Mean confidence of the bin's records; `None` for an empty bin.
 */
confidence: number | null, 
/**
 * Share of the bin's records predicted correctly; `None` for an empty bin.
 */
accuracy: number | null, };

export type CoveragePoint = { threshold: number, kept: number, coverage: number, 
/**
 * Accuracy on the kept records; `None` when none is kept.
 */
accuracy: number | null, };

export type SingleLabelMetrics = { n: number, 
/**
 * The labels the per-label rows, the confusion matrix and the macro average cover: every label
 * that occurs in the reference or the predictions, in the order given.
 */
labels: Array<string>, accuracy: Estimate, macro_f1: Estimate, micro_f1: number, weighted_f1: number, per_label: Array<LabelStats>, 
/**
 * `confusion[t][p]`: records with reference `labels[t]` predicted as `labels[p]`.
 */
confusion: Array<Array<number>>, 
/**
 * Expected calibration error of the top-label confidence over `bins` equal-width bins.
 */
ece: number, reliability: Array<ReliabilityBin>, coverage: Array<CoveragePoint>, };

export type MultiLabelMetrics = { n: number, labels: Array<string>, threshold: number, 
/**
 * Share of records whose predicted set equals the reference set.
 */
subset_accuracy: number, hamming_loss: number, micro_f1: Estimate, macro_f1: Estimate, per_label: Array<LabelStats>, };

export type RunMetrics = { "kind": "single_label" } & SingleLabelMetrics | { "kind": "multi_label" } & MultiLabelMetrics;

export type Mistake = { row_number: number, source_id: string | null, text: string, reference: Array<string>, predicted: Array<string>, confidence: number, };

export type ReferenceCounts = { accepted_annotations: number, gold: number, 
/**
 * Records left out: discarded, or without a reference or without every run's prediction.
 */
excluded: number, 
/**
 * Records left out because their reference has a label some run cannot predict (only with
 * [`EvalOptions::within_run_labels`]; otherwise they are scored, as that run's errors).
 */
outside_run_labels: number, };

export type RunEvaluation = { run: RunInfo, metrics: RunMetrics, 
/**
 * For each of the run's labels, how its scores spread over [0, 1] on the evaluated records.
 */
score_histograms: Array<[string, [number, number, number, number, number, number, number, number, number, number]]>, 
/**
 * The (up to) ten most confident mistakes.
 */
mistakes: Array<Mistake>, 
/**
 * Evaluated records whose reference has a label this run cannot predict (each is an error
 * of the run), and those labels, most frequent first.
 */
outside_references: number, outside_labels: Array<[string, number]>, };

export type Baseline = { 
/**
 * The label (a label set joined by "|") it predicts for every record.
 */
predicts: string, accuracy: number, macro_f1: number, };

export type ClassWeight = "none" | "balanced";

export type Candidate = { c: number, class_weight: ClassWeight, macro_f1: number, };

export type PublishedScore = { model: string, 
/**
 * The repository the source links for the model, `ORG/NAME[@REVISION]`.
 */
hub_id: string, family: string, 
/**
 * Parameters in millions, where the source gives them.
 */
params_millions: number | null, task: string, metric: string, mean: number, 
/**
 * Standard deviation over fine-tuning runs, where the source gives one.
 */
std: number | null, 
/**
 * `mean` and `std` exactly as the source prints them ("0.8691", "0.865"): shown as typed,
 * so a table never claims more or fewer digits than the source has.
 */
mean_text: string, std_text: string | null, 
/**
 * Key into [`Source`].
 */
source: string, };

export type Source = { source: string, citation: string, url: string, note: string, };

export type LoadableModel = { 
/**
 * The published row's model name.
 */
model: string, 
/**
 * A Hub id that loads (an NLI classifier or a discriminator of the family), if one is known.
 */
load_id: string | null, 
/**
 * Its architecture, one of [`crate::engine::model::config::Architecture`]'s names.
 */
architecture: string | null, note: string, };

export type Classification = { labels: Array<string>, scores: Array<number>, };

export type Entity = { entity?: string, entity_group?: string, score: number, index?: number, 
/**
 * The token, or the entity's tokens joined by the tokenizer's decoder.
 */
word: string, 
/**
 * Character offsets into the text, end exclusive.
 */
start: number, end: number, };

export type Tagging = { entities: Array<Entity>, 
/**
 * The text was longer than the model accepts: its end was not tagged (serialized only then).
 */
truncated?: boolean, };

export type EmbeddingKey = { corpus: string, model: string, weights_sha256: string, strip_accents: boolean | null, };

export type EmbeddingSetInfo = { id: number, dim: number, created_at: string, finished_at: string | null, 
/**
 * Records with a vector.
 */
embedded: number, records: number, corpus: string, model: string, weights_sha256: string, strip_accents: boolean | null, };

export type RunLabelIssues = { run: number, 
/**
 * The run's labels: the classes, in the order of the matrices.
 */
labels: Array<string>, multi_label: boolean, 
/**
 * Records examined: with a reference label among the run's labels and the run's scores.
 */
records: number, 
/**
 * Records with a reference the run cannot predict (left out).
 */
outside_run_labels: number, issues: Array<RecordIssue>, 
/**
 * P(given label = row | true label = column) (single-label runs; empty for multi-label).
 */
noise_matrix: Array<Array<number>>, 
/**
 * The calibrated confident joint, `[given][true]` (single-label runs).
 */
confident_joint: Array<Array<number>>, 
/**
 * Each label's one-vs-rest matrices (multi-label runs; empty otherwise).
 */
per_label: Array<LabelNoise>, };

export type RecordIssue = { row: number, 
/**
 * The id exports write (the source id, else the row number).
 */
id: string, record_id: number, 
/**
 * The reference label (the accepted annotation's, else gold); for a multi-label run, the
 * reference labels joined by `|` as a gold cell writes them.
 */
given: string, 
/**
 * The run's most likely label; for a multi-label run, the labels it predicts (score at or
 * above the multi-label threshold) joined by `|`.
 */
suggested: string, 
/**
 * The suggestion as labels, for front ends to pre-select.
 */
suggested_labels: Array<string>, 
/**
 * The label quality (self-confidence: the run's probability of the given label; for
 * multi-label runs, the labels' qualities averaged worst first): lowest first.
 */
quality: number, };

export type LabelNoise = { label: string, 
/**
 * P(given = row | true = column), rows and columns: without the label, with it.
 */
noise_matrix: Array<Array<number>>, confident_joint: Array<Array<number>>, 
/**
 * Records whose flag for this label is likely wrong.
 */
issues: number, };

export type DuplicateReport = { corpus: string, 
/**
 * The embedding set near-duplicates came from (`None`: exact duplicates only).
 */
embeddings: number | null, threshold: number | null, 
/**
 * Records looked at (discarded records are left out), and how many had a vector.
 */
records: number, embedded: number, 
/**
 * Groups, largest first, then by first row.
 */
groups: Array<DuplicateGroup>, 
/**
 * Said when a near group holds a large part of the corpus: the embeddings do not tell those
 * records apart at this threshold (a model without trained weights, one whose vectors all
 * point one way, or a threshold too low), and keeping one of them would discard the rest.
 */
warning: string | null, 
/**
 * Every pair of embedded records was compared; false when hashing chose the candidates
 * (above [`EXACT_PAIRS_UP_TO`] records: a pair at the threshold is found with probability
 * at least [`LSH_RECALL`]).
 */
exhaustive: boolean, };

export type DuplicateGroup = { 
/**
 * By row.
 */
records: Array<GroupMember>, 
/**
 * Every record has the same text after normalisation.
 */
exact: boolean, 
/**
 * The lowest similarity of a pair that joined the group (`None` when only exact matches
 * joined it). Members join transitively, so two members may be less similar than this.
 */
least_similarity: number | null, 
/**
 * Members have different reference labels.
 */
labels_disagree: boolean, 
/**
 * The member that "keep one" keeps: the first with an accepted annotation, else the first.
 */
keep: number, };

export type GroupMember = { record_id: number, row: number, 
/**
 * The id exports write.
 */
id: string, text: string, 
/**
 * The record's reference labels (accepted annotation, else gold); empty when it has none.
 */
labels: Array<string>, 
/**
 * Whether its annotation is accepted (the record a group keeps, by preference).
 */
accepted: boolean, };

export type Neighbour = { record_id: number, similarity: number, };

export type Method = "loo" | "lime";

export type WordWeight = { word: string, start: number, end: number, weight: number, };

export type Explanation = { label: string, 
/**
 * The label's score on the whole text (its words joined by single spaces).
 */
score: number, method: Method, words: Array<WordWeight>, 
/**
 * The second text's words, for a sentence pair.
 */
pair_words: Array<WordWeight> | null, 
/**
 * How many inputs were scored (each one forward pass per input for a classifier, one per
 * label for zero-shot).
 */
inputs_scored: number, };

export type KeyWord = { 
/**
 * The word as it appears most often (case and accents kept).
 */
word: string, 
/**
 * Its mean weight over its occurrences in the label's explained records.
 */
mean_weight: number, occurrences: number, 
/**
 * The records it occurs in, in the order explained (the most confident first).
 */
records: Array<number>, };

export type LabelKeyWords = { label: string, 
/**
 * How many records were explained for the label (its most confident, up to the sample).
 */
records: number, 
/**
 * The words with the highest mean weight, highest first.
 */
words: Array<KeyWord>, };

export type RunKeyWords = { run: number, method: Method, labels: Array<LabelKeyWords>, 
/**
 * How many inputs the model scored in all.
 */
inputs_scored: number, };

export type ProjectionMethod = "pca" | "umap";

export type MapPoints = { record_ids: Array<number>, x: Array<number>, y: Array<number>, 
/**
 * The share of the vectors' variance each axis holds (PCA; empty for UMAP).
 */
explained_variance_ratio: Array<number>, };

export type MapInfo = { id: number, embedding_set: number, method: ProjectionMethod, seed: number, 
/**
 * Records on the map (the set's vectors when it was made).
 */
records: number, explained_variance_ratio: Array<number>, created_at: string, };

export type MapColours = { categories: Array<string>, category: Array<number>, values: Array<number> | null, };

export type ColourBy = { "by": "gold" } | { "by": "reference" } | { "by": "run_label", run: number, } | { "by": "run_score", run: number, } | { "by": "suspicion", run: number, };

export type MapView = { info: MapInfo, points: MapPoints, };

export type DatasetId = { repo: string, revision: string | null, };

export type HubOrigin = { repo: string, 
/**
 * The revision asked for (none: the default branch).
 */
revision: string | null, 
/**
 * The commit the files were read at.
 */
commit: string, config: string, split: string, 
/**
 * Read from the Hub's Parquet conversion rather than the repository's own files.
 */
converted: boolean, };

export type DataFile = { path: string, size: number, };

export type SplitLayout = { name: string, files: Array<DataFile>, rows: number | null, 
/**
 * The Hub converted only the first part of this split (it is larger than the conversion's cap).
 */
partial: boolean, };

export type ConfigLayout = { name: string, 
/**
 * The config `load_dataset` picks without a name.
 */
default: boolean, splits: Array<SplitLayout>, 
/**
 * Column names, from the card's features or the first Parquet file's schema; empty when unknown.
 */
columns: Array<string>, 
/**
 * Files whose format cannot be imported (compressed, binary), named so the user knows.
 */
unread: Array<string>, };

export type HubDataset = { id: DatasetId, 
/**
 * The revision the files are read at (the asked one, `main`, or the conversion's branch).
 */
read_from: string, 
/**
 * The commit of that revision.
 */
commit: string, 
/**
 * Read from the Hub's Parquet conversion.
 */
converted: boolean, 
/**
 * Read from the cache only (offline, or the Hub could not be reached: `offline_reason`).
 */
offline: boolean, offline_reason: string | null, configs: Array<ConfigLayout>, };

export type PushOutcome = { repo: string, split: string, commit: string | null, url: string | null, records: number, 
/**
 * The repository paths the commit added.
 */
files: Array<string>, };

export type HubPreviewDto = { preview: PreviewDto, config: string, split: string, name: string, };

export type EpochResult = { epoch: number, 
/**
 * The mean training loss over the epoch's steps.
 */
train_loss: number, 
/**
 * On the validation records (none without them): the loss, the accuracy (of the tagged
 * tokens for a tagger), and the macro F1 of the labels or seqeval's micro F1 of the entities.
 */
validation_loss: number | null, validation_accuracy: number | null, validation_macro_f1: number | null, validation_entity_f1: number | null, 
/**
 * The fold (from 1) whose model this epoch trained, when cross-validating; none for one
 * model, and for the folds' means.
 */
fold: number | null, };

export type FinetuneOptions = { epochs: number, learning_rate: number, batch_size: number, 
/**
 * The share of all steps spent warming the learning rate up (0: none, the Trainer's default).
 */
warmup_ratio: number, weight_decay: number, max_grad_norm: number, seed: number, validation_share: number, 
/**
 * Stop after this many epochs without a better validation score (macro F1 for labels,
 * entity F1 for spans; none: run every epoch).
 */
patience: number | null, source: LabelSource, 
/**
 * Labels or spans; none: what the corpus has (refused when it has both).
 */
target: FinetuneTarget | null, 
/**
 * Cross-validation: this many models, each trained on all folds but one and scored on that
 * one, so every labeled record is predicted once by a model that did not see it (none: one
 * model, scored on the validation share).
 */
folds: number | null, };

export type FinetuneSummary = { output: string, base_model: string, target: FinetuneTarget, 
/**
 * The classifier's labels, or the tagger's IOB2 tags, in id order.
 */
labels: Array<string>, n_train: number, n_validation: number, steps: number, epochs: Array<EpochResult>, 
/**
 * The step a resumed fine-tune went on from (none: it started fresh).
 */
resumed_from_step: number | null, 
/**
 * Training examples per second in this session (forward, backward and optimizer).
 */
examples_per_sec: number, 
/**
 * The id of the run of the validation records' predictions (a classifier's or a tagger's;
 * none without them).
 */
run: number | null, options: FinetuneOptions, 
/**
 * The head was the base model's own (a classifier with these labels) or new.
 */
new_head: boolean, 
/**
 * With folds, each fold's own summary (its model is in its `output`); the fields above
 * then cover all folds: their records, steps, each epoch's mean numbers, and the
 * out-of-fold run over every record.
 */
folds: Array<FinetuneSummary>, };

export type FinetuneTarget = "labels" | "spans";

export type LabelSource = "annotations" | "gold" | "both";

export type ModelList = { cache: string, models: Array<ModelListEntry>, };

export type ModelListEntry = { 
/**
 * At least one snapshot is in the cache.
 */
cached: boolean, id: string, 
/**
 * Empty for cached repositories that are not presets.
 */
description: string, preset: boolean, cached_refs: Array<string>, cached_snapshots: number, };

export type ModelFacts = { name: string, folder: string, weights_file: string, model_type: string, architecture: string, 
/**
 * "discriminator" (per-token scores), "classifier" (a sequence classifier: zero-shot NLI, or
 * its own labels), "tagger" (a token classifier: entities) or "embedder" (a bare encoder:
 * sentence embeddings).
 */
role: string, 
/**
 * The role in words, as the Models view shows it.
 */
role_description: string, 
/**
 * How its record embeddings are made, in words.
 */
embedding: string, parameters: number, layers: number, hidden_size: number, embedding_size: number, attention_heads: number, intermediate_size: number, vocab_size: number, max_positions: number, labels: Array<string>, 
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

export type InspectionView = { words: Array<WordScore>, 
/**
 * The text was longer than the model accepts and its end was not scored.
 */
truncated: boolean, 
/**
 * Whether the model's files strip accents, and whether accents were stripped here.
 */
files_strip_accents: boolean, strips_accents: boolean, 
/**
 * What an untrained-embedding mark means (the core's wording).
 */
untrained_note: string, model: string, text: string, tokens: Array<TokenScore>, };

export type PreviewDto = { format: string, 
/**
 * Whether the format has columns to choose (CSV, TSV, JSONL); plain text and CoNLL have none.
 */
has_columns: boolean, columns: Array<string>, rows: Array<Array<string>>, };

export type PageDto = { 
/**
 * Matching records over all pages: always counted by the CLI, by the app for the first page
 * only (counting a million rows costs more than reading a page).
 */
total: number | null, records: Array<RecordDto>, 
/**
 * The cursor of the next page; `null` on the last.
 */
next: string | null, };

export type RecordDto = { record_id: number, 
/**
 * The 1-based row of the source file.
 */
row: number, 
/**
 * The source's id column.
 */
id: string | null, text: string, 
/**
 * The second text of a sentence pair (`null` for single texts).
 */
text_pair: string | null, gold: string | null, 
/**
 * The metadata object as imported.
 */
metadata: Record<string, unknown> | null, 
/**
 * Each metadata value as text, as the filters compare it.
 */
metadata_text: Array<MetaEntry>, 
/**
 * The annotation: its labels, status and who changed it last.
 */
labels: Array<string> | null, 
/**
 * The annotation's entity spans, when it has them.
 */
spans: Array<Span> | null, status: Status | null, annotator: string | null, 
/**
 * The browsed run's top label, its score, the margin to the second and the entropy.
 */
predicted: string | null, score: number | null, margin: number | null, entropy: number | null, 
/**
 * The record's suspicion in the browsed scan.
 */
suspicion: number | null, };

export type MetaEntry = { key: string, value: string, };

export type UndoneDto = { event: AnnotationEvent | null, batch: number | null, records: number, };

export type SchemaViewDto = { schema: LabelSchema, suggested: Array<string>, };

export type LabelCount = { label: string, count: number, };

export type RecordPredictionDto = { 
/**
 * The core's rule: the top label, or for a multi-label run those over the threshold.
 */
suggested: Array<string>, run_id: number, model: string, multi_label: boolean, 
/**
 * Sorted by score, highest first.
 */
labels: Array<string>, scores: Array<number>, };

export type LabelSourcesDto = { 
/**
 * annotations, gold or both.
 */
suggested: string, 
/**
 * Records with an accepted annotation that has labels, and the kinds of label among them.
 */
annotations: number, annotation_kinds: number, 
/**
 * Records with a gold label, and the kinds of label among them.
 */
gold: number, gold_kinds: number, };

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

export type MetaValueDto = { value: string, records: number, };

export type RunDto = { 
/**
 * `precision_check` in words.
 */
precision_check_summary: string | null, 
/**
 * Whether the run scores labels per record (suggestions, orders, evaluation and Compare
 * take it); a tagger's run finds entities instead.
 */
predicts_labels: boolean, id: number, 
/**
 * The name someone gave the run, if any.
 */
name: string | null, kind: RunKind, created_at: string, finished_at: string | null, predictions: number, records: number, 
/**
 * The fast mode's agreement check that decided this run's precision, if one did.
 */
precision_check: AgreementCheck | null, corpus: string, model: string, weights_sha256: string, labels: Array<string>, template: string, multi_label: boolean, strip_accents: boolean | null, 
/**
 * The encoder's precision (`crate::domain::precision`): exact f32, or the bf16 fast mode.
 */
precision: Precision, };

export type RunSummaryDto = { run: RunDto, 
/**
 * Records predicted in this session (0 when the run was already complete).
 */
predicted_now: number, cancelled: boolean, 
/**
 * The precision asked for and used, with the fast mode's agreement check.
 */
precision: PrecisionOutcome, 
/**
 * This session's agreement check, in words.
 */
check_summary: string | null, };

export type CurvePointDto = { n: number, accuracy: number, macro_f1: number, };

export type TrainSummaryDto = { 
/**
 * The trained run's id; the run itself is `trained_run` (its scores are the suggestions).
 */
run: number, trained_run: RunDto, 
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
 * Cross-validated accuracy and macro F1, with their bootstrap 95% intervals.
 */
cv_accuracy: number, cv_macro_f1: number, cv_accuracy_ci: [number, number], cv_macro_f1_ci: [number, number], learning_curve: Array<CurvePointDto>, 
/**
 * Always answering the most frequent label.
 */
baseline: Baseline, 
/**
 * Whether the head learned more than the label counts, and the core's sentence saying so.
 */
beats_baseline: boolean, verdict: string, 
/**
 * The objective trained with, and the candidates cross-validation chose it from (if it chose).
 */
c: number, class_weight: ClassWeight, selection: Array<Candidate> | null, };

export type TemplateScoreDto = { template: string, 
/**
 * Accuracy and macro F1 with their bootstrap 95% intervals.
 */
accuracy: number, ci: [number, number], macro_f1: number, macro_f1_ci: [number, number], n: number, 
/**
 * Labeled records left out because their reference is outside the labels.
 */
outside: number, };

export type SuspiciousRecordDto = { record_id: number, 
/**
 * The 1-based row of the source file, and the source's id.
 */
row: number, id: string | null, text: string, 
/**
 * The record's suspicion (its most suspicious word's P(replaced)), its flagged words and
 * the mean P(replaced).
 */
suspicion: number, flagged: number, mean: number, 
/**
 * The flagged words, as they read.
 */
spans: Array<FlaggedSpan>, 
/**
 * Every word: character span, P(replaced), flagged.
 */
words: Array<ScannedWord>, };

export type FlaggedSpan = { word: string, start: number, end: number, probability: number, };

export type ScanViewDto = { scan: ScanInfo, 
/**
 * The most suspicious records, most suspicious first.
 */
records: Array<SuspiciousRecordDto>, 
/**
 * The word forms flagged most often.
 */
words: Array<FlaggedWord>, 
/**
 * Records per tenth of suspicion, [0, 0.1) first.
 */
histogram: Array<number>, };

export type FigureDto = { name: string, caption: string, svg: string, };

export type EvaluationDto = { corpus: string, references: ReferenceCounts, runs: Array<RunEvaluationDto>, 
/**
 * The runs' ids, in the order scored.
 */
run_ids: Array<number>, figures: Array<FigureDto>, };

export type RunEvaluationDto = { outside_warning: string | null, run: RunInfo, metrics: RunMetrics, 
/**
 * For each of the run's labels, how its scores spread over [0, 1] on the evaluated records.
 */
score_histograms: Array<[string, [number, number, number, number, number, number, number, number, number, number]]>, 
/**
 * The (up to) ten most confident mistakes.
 */
mistakes: Array<Mistake>, 
/**
 * Evaluated records whose reference has a label this run cannot predict (each is an error
 * of the run), and those labels, most frequent first.
 */
outside_references: number, outside_labels: Array<[string, number]>, };

export type PublishedDto = { 
/**
 * The card's comparison table: its fine-tuned models (rows) and tasks (columns), in order.
 */
card_models: Array<string>, card_tasks: Array<string>, scores: Array<PublishedScoreDto>, sources: Array<Source>, figures: Array<FigureDto>, 
/**
 * What loads for each published model's family.
 */
models: Array<LoadableModel>, };

export type PublishedScoreDto = { 
/**
 * The number as the source prints it ("0.865 ± 0.004", "0.8691"): what the table shows.
 */
display: string, model: string, 
/**
 * The repository the source links for the model, `ORG/NAME[@REVISION]`.
 */
hub_id: string, family: string, 
/**
 * Parameters in millions, where the source gives them.
 */
params_millions: number | null, task: string, metric: string, mean: number, 
/**
 * Standard deviation over fine-tuning runs, where the source gives one.
 */
std: number | null, 
/**
 * `mean` and `std` exactly as the source prints them ("0.8691", "0.865"): shown as typed,
 * so a table never claims more or fewer digits than the source has.
 */
mean_text: string, std_text: string | null, 
/**
 * Key into [`Source`].
 */
source: string, };

export type YourData = { corpus: string, 
/**
 * Whether the corpus's records are sentence pairs.
 */
pairs: boolean, 
/**
 * Records scored for labels and for entities.
 */
label_records: number, entity_records: number, rows: Array<YourDataRow>, 
/**
 * Size against score on each card task where a run with a known size has a number.
 */
figures: Array<FigureDto>, };

export type YourDataRow = { run: number, model: string, kind: RunKind, 
/**
 * Entity-level micro F1 (the card's NER column), for a tagging run.
 */
entities_f1: Estimate | null, 
/**
 * Accuracy on sentence pairs (the card's PAWS-X and XNLI columns), for a single-label run of a pair corpus.
 */
pair_accuracy: Estimate | null, 
/**
 * Accuracy on single texts, for a single-label run of any other corpus.
 */
accuracy: Estimate | null, 
/**
 * Macro F1 of the labels or of the entity types.
 */
macro_f1: Estimate, 
/**
 * The model's parameters, when the front end knows them (a model it has loaded).
 */
parameters: number | null, };

/** Every command: the arguments `invoke` takes and what it resolves to. */
export type Commands = {
  app_info: { args: {}; result: AppInfo };
  list_models: { args: {}; result: ModelList };
  load_model: { args: { model: ModelRef; onProgress: Channel<DownloadEvent> }; result: ModelFacts };
  inspect: { args: { args: InspectArgs }; result: InspectionView };
  inspect_replaced: { args: { args: ReplaceArgs }; result: InspectionView };
  classify: { args: { args: ClassifyArgs }; result: ZeroShotResult };
  classify_text: { args: { args: ClassifyTextArgs }; result: Classification };
  tag_text: { args: { args: TagTextArgs }; result: Tagging };
  open_project: { args: { path: string }; result: AppInfo };
  list_corpora: { args: {}; result: Array<CorpusInfo> };
  preview_import: { args: { args: PreviewArgs }; result: PreviewDto };
  import_corpus: { args: { args: ImportArgs; task: string; onProgress: Channel<TaskProgress> }; result: ImportOutcome };
  describe_hub_dataset: { args: { dataset: string }; result: HubDataset };
  preview_hub_split: { args: { args: HubSplitArgs; task: string; onProgress: Channel<TaskProgress> }; result: HubPreviewDto };
  import_hub_dataset: { args: { args: HubImportArgs; task: string; onProgress: Channel<TaskProgress> }; result: ImportOutcome };
  push_hub_dataset: { args: { args: PushArgs; task: string; onProgress: Channel<TaskProgress> }; result: PushOutcome };
  browse: { args: { args: BrowseArgs }; result: PageDto };
  list_runs: { args: { corpus: string }; result: Array<RunDto> };
  fast_outlook: { args: { corpus: string }; result: FastOutlookView };
  run_zeroshot: { args: { args: RunArgs; task: string; onProgress: Channel<TaskProgress> }; result: RunSummaryDto };
  resume_run: { args: { run: number; task: string; onProgress: Channel<TaskProgress> }; result: RunSummaryDto };
  run_model: { args: { args: ModelRunArgs; task: string; onProgress: Channel<TaskProgress> }; result: RunSummaryDto };
  rename_corpus: { args: { corpus: string; name: string }; result: null };
  delete_corpus: { args: { corpus: string }; result: number };
  rename_run: { args: { run: number; name: string | null }; result: null };
  delete_run: { args: { run: number }; result: null };
  rename_scan: { args: { scan: number; name: string | null }; result: null };
  delete_scan: { args: { scan: number }; result: null };
  export_corpus: { args: { args: ExportArgs; task: string; onProgress: Channel<TaskProgress> }; result: number };
  train_head: { args: { args: TrainArgs; task: string; onProgress: Channel<TaskProgress> }; result: TrainSummaryDto };
  finetune_model: { args: { args: FinetuneArgs; task: string; onProgress: Channel<TaskProgress>; onEpoch: Channel<EpochResult> }; result: FinetuneSummary };
  template_lab: { args: { args: TemplateLabArgs; task: string; onProgress: Channel<TaskProgress> }; result: Array<TemplateScoreDto> };
  use_template: { args: { corpus: string; labels: Array<string>; template: string }; result: SchemaViewDto };
  cancel_task: { args: { task: string }; result: boolean };
  label_distribution: { args: { run: number }; result: Array<LabelCount> };
  annotate: { args: { args: AnnotateArgs }; result: AnnotationEvent };
  undo_annotation: { args: { corpus: string }; result: UndoneDto | null };
  label_records: { args: { args: BulkLabelArgs }; result: BatchOutcome };
  accept_entities: { args: { args: BulkEntitiesArgs }; result: BatchOutcome };
  get_annotator: { args: {}; result: string };
  set_annotator: { args: { name: string }; result: string };
  label_schema: { args: { corpus: string }; result: SchemaViewDto };
  set_label_schema: { args: { corpus: string; schema: LabelSchema }; result: SchemaViewDto };
  annotator_agreement: { args: { corpus: string }; result: AnnotatorAgreement };
  record_history: { args: { record: number }; result: Array<HistoryEntry> };
  record_predictions: { args: { record: number }; result: Array<RecordPredictionDto> };
  annotate_spans: { args: { args: AnnotateSpansArgs }; result: AnnotationEvent };
  record_entities: { args: { record: number }; result: Array<RunEntity> };
  published: { args: {}; result: PublishedDto };
  evaluate: { args: { args: EvaluateArgs; task: string; onProgress: Channel<TaskProgress> }; result: EvaluationDto };
  your_data: { args: { corpus: string; task: string; onProgress: Channel<TaskProgress> }; result: YourData };
  write_report: { args: { args: ReportArgs; task: string; onProgress: Channel<TaskProgress> }; result: string };
  label_sources: { args: { corpus: string }; result: LabelSourcesDto };
  get_setting: { args: { key: string }; result: string | null };
  set_setting: { args: { key: string; value: string }; result: null };
  metadata_keys: { args: { corpus: string }; result: Array<string> };
  meta_filter_help: { args: { corpus: string; text: string; limit: number }; result: MetaFilterHelpDto | null };
  label_warnings: { args: { names: Array<string> }; result: Array<string> };
  spreadsheet_text: { args: { rows: Array<Array<string>>; raw: boolean }; result: string };
  run_scan: { args: { args: ScanArgs; task: string; onProgress: Channel<TaskProgress> }; result: ScanSummary };
  list_scans: { args: { corpus: string }; result: Array<ScanInfo> };
  scan_view: { args: { scan: number; limit: number }; result: ScanViewDto };
  compare_scans: { args: { a: number; b: number; limit: number }; result: ScanComparison };
  scanned_record: { args: { scan: number; row: number }; result: SuspiciousRecordDto };
  embedding_sets: { args: { corpus: string }; result: Array<EmbeddingSetInfo> };
  embed_corpus: { args: { args: EmbedCorpusArgs; task: string; onProgress: Channel<TaskProgress> }; result: EmbeddingSetInfo };
  label_issues: { args: { corpus: string; run: number }; result: RunLabelIssues };
  find_duplicates: { args: { args: DuplicatesArgs; task: string; onProgress: Channel<TaskProgress> }; result: DuplicateReport };
  similar_records: { args: { args: SimilarArgs }; result: Array<Neighbour> };
  discard_records: { args: { args: DiscardArgs }; result: BatchOutcome };
  explain_record: { args: { args: ExplainRecordArgs }; result: Explanation };
  explain_text: { args: { args: ExplainTextArgs }; result: Explanation };
  run_key_words: { args: { args: KeyWordsArgs; task: string; onProgress: Channel<TaskProgress> }; result: RunKeyWords };
  make_map: { args: { args: MapArgs; task: string; onProgress: Channel<TaskProgress> }; result: MapView };
  map_colours: { args: { args: MapColourArgs }; result: MapColours };
  map_lasso: { args: { args: LassoArgs }; result: Array<number> };
  record_text: { args: { record: number }; result: string };
};
