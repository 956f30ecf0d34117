import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { render, screen, fireEvent, waitFor, cleanup } from "@testing-library/svelte";
import type { Estimate, InspectionView, RecordDto, ReliabilityBin, RunDto } from "../lib/bindings";
import { app, pendingIntent } from "../lib/state.svelte";
import Inspector from "../views/Inspector.svelte";
import Annotate from "../views/Annotate.svelte";
import Models from "../views/Models.svelte";
import Corpora from "../views/Corpora.svelte";
import ZeroShot from "../views/ZeroShot.svelte";
import Suspicious from "../views/Suspicious.svelte";
import Compare from "../views/Compare.svelte";
import { clearMocks, mockCommands, sendOnChannel, settings } from "./setup";

const HOSTILE = `<img src=x onerror="window.pwned=1"> & <b>bold</b>`;

function inspection(probabilities: number[], untrained: boolean[] = []): InspectionView {
  const words = ["El", "perro", "come"];
  return {
    model: "disc",
    text: "El perro come",
    truncated: false,
    tokens: probabilities.map((p, i) => ({
      token: words[i], id: i, start: 0, end: 1, logit: Math.log(p / (1 - p)), probability: p, untrained_embedding: untrained[i] ?? false,
    })),
    words: probabilities.map((p, i) => ({
      text: words[i], start: 0, end: 1, probability: p, first_token: i, token_count: 1, untrained_embedding: untrained[i] ?? false,
    })),
    files_strip_accents: true,
    strips_accents: untrained.length === 0,
    untrained_note: "embedding not trained: see the SELECTRA card's note",
  };
}

function record(id: number, text: string, extra: Partial<RecordDto> = {}): RecordDto {
  return {
    record_id: id, row: id, id: null, text, text_pair: null, gold: null, metadata: {}, metadata_text: [], labels: null, status: null, spans: null,
    annotator: null, predicted: "deportes", score: 0.8, margin: 0.5, entropy: 0.6, suspicion: null, ...extra,
  };
}

const RUN: RunDto = {
  id: 7, name: null, kind: "zeroshot", corpus: "noticias", model: "zs", labels: ["cultura", "deportes", "economía"], template: "Este ejemplo es {}.",
  multi_label: false, strip_accents: null, created_at: "", finished_at: "", predictions: 2, records: 2, precision: "exact", precision_check: null,
  weights_sha256: "0".repeat(64), precision_check_summary: null, predicts_labels: true,
};

/** A single-label run's metrics, with what a view does not show filled in. */
function singleLabel(m: { n: number; accuracy: Estimate; macro_f1: Estimate; ece: number; labels: string[]; confusion: number[][]; reliability: ReliabilityBin[] }) {
  return { kind: "single_label" as const, micro_f1: 0, weighted_f1: 0, per_label: [], coverage: [], ...m };
}

/** A cross-validation's numbers as the train summary carries them. */
function cv(e: Estimate) {
  return { cv_accuracy: e.value, cv_accuracy_ci: [e.low, e.high], cv_macro_f1: e.value, cv_macro_f1_ci: [e.low, e.high] };
}

beforeEach(() => {
  app.corpora = [{ id: 1, name: "noticias", records: 2, format: "csv", source_path: "n.csv", created_at: "", origin: null }];
  app.models = [];
  app.intent = null;
  // Views stay mounted while hidden and act only while shown: the tests render Annotate's.
  app.view = "annotate";
  settings.clear();
  localStorage.clear();
});

afterEach(() => {
  cleanup();
  clearMocks();
});

describe("Inspector", () => {
  it("shows each token's score and recomputes them when a token is replaced", async () => {
    const calls = mockCommands({
      inspect: () => inspection([0.1, 0.2, 0.9]),
      inspect_replaced: () => inspection([0.1, 0.6, 0.3]),
    });
    render(Inspector);
    await fireEvent.input(document.querySelector("#inspect-model")!, { target: { value: "disc" } });
    await fireEvent.click(screen.getByText("Inspect"));
    await waitFor(() => expect(document.querySelectorAll("td.probability")).toHaveLength(3));
    const shown = [...document.querySelectorAll("td.probability")].map((td) => td.textContent);
    expect(shown).toEqual(["0.1000", "0.2000", "0.9000"]);
    expect(document.querySelector(".tok[data-index='2']")!.getAttribute("title")).toContain("P(replaced) 0.9000");
    // The default is the model's own files' setting (no override), the faithful one for a
    // discriminator pre-trained with accents stripped.
    expect((calls.find((c) => c.cmd === "inspect")!.args.args as { model: { strip_accents: boolean | null } }).model.strip_accents).toBeNull();
    expect(document.querySelector(".untrained-mark")).toBeNull();

    await fireEvent.click(document.querySelector(".tok[data-index='1']")!);
    const field = document.querySelector("#replacement") as HTMLInputElement;
    await fireEvent.input(field, { target: { value: "gato" } });
    await fireEvent.keyDown(field, { key: "Enter" });
    await waitFor(() => expect(screen.getByText("Δ")).toBeTruthy());
    const replaced = calls.find((c) => c.cmd === "inspect_replaced")!.args.args as { index: number; replacement: string };
    expect(replaced).toMatchObject({ index: 1, replacement: "gato" });
    expect([...document.querySelectorAll("td.probability")].map((td) => td.textContent)).toEqual(["0.1000", "0.6000", "0.3000"]);
  });

  it("marks tokens whose embedding was never trained when accents are kept, with the core's note", async () => {
    const calls = mockCommands({ inspect: () => inspection([0.1, 0.2, 0.9], [false, true, false]) });
    render(Inspector);
    await fireEvent.input(document.querySelector("#inspect-model")!, { target: { value: "disc" } });
    await fireEvent.change(document.querySelector("#inspect-accents")!, { target: { value: "keep" } });
    await waitFor(() => expect(document.querySelectorAll(".tok.untrained")).toHaveLength(1));
    expect((calls.at(-1)!.args.args as { model: { strip_accents: boolean | null } }).model.strip_accents).toBe(false);
    const marked = document.querySelector(".tok.untrained")!;
    expect(marked.getAttribute("data-index")).toBe("1");
    expect(marked.querySelector(".untrained-mark")!.textContent).toBe("*");
    expect(marked.getAttribute("title")).toContain("embedding not trained");
    expect(document.querySelector(".untrained-note")!.textContent).toContain("SELECTRA card's note");
  });

  it("inspects the same model typed into both fields without breaking the list", async () => {
    mockCommands({ inspect: () => inspection([0.1, 0.2, 0.9]) });
    render(Inspector);
    await fireEvent.input(document.querySelector("#inspect-model")!, { target: { value: "disc" } });
    await fireEvent.input(document.querySelector("#inspect-model-b")!, { target: { value: "disc" } });
    await fireEvent.click(screen.getByText("Inspect"));
    await waitFor(() => expect(document.querySelectorAll(".result")).toHaveLength(2));
    expect(document.querySelectorAll("td.probability")).toHaveLength(6);
  });

  it("copies the table as the core writes it, formula-safe unless raw cells are asked for", async () => {
    const written: string[] = [];
    Object.defineProperty(navigator, "clipboard", { value: { writeText: async (t: string) => void written.push(t) }, configurable: true });
    const calls = mockCommands({
      inspect: () => inspection([0.1, 0.2, 0.9]),
      spreadsheet_text: (a) => ((a.raw as boolean) ? "raw" : "guarded"),
    });
    render(Inspector);
    await fireEvent.input(document.querySelector("#inspect-model")!, { target: { value: "disc" } });
    await fireEvent.click(screen.getByText("Inspect"));
    await waitFor(() => expect(document.querySelectorAll("td.probability")).toHaveLength(3));
    await fireEvent.click(document.querySelector("#inspect-copy")!);
    await waitFor(() => expect(written).toEqual(["guarded"]));
    const rows = calls.find((c) => c.cmd === "spreadsheet_text")!.args.rows as string[][];
    expect(rows[0]).toEqual(["model", "token", "start", "end", "logit", "P(replaced)"]);
    expect(rows).toHaveLength(4);
    await fireEvent.click(document.querySelector("#inspect-raw")!);
    await fireEvent.click(document.querySelector("#inspect-copy")!);
    await waitFor(() => expect(written).toEqual(["guarded", "raw"]));
  });

  it("shows the core's error message", async () => {
    mockCommands({ inspect: () => { throw { code: "not_cached", message: "Recognai/selectra_small is not in the Hugging Face cache" }; } });
    render(Inspector);
    await fireEvent.input(document.querySelector("#inspect-model")!, { target: { value: "Recognai/selectra_small" } });
    await fireEvent.click(screen.getByText("Inspect"));
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("not in the Hugging Face cache"));
  });
});

describe("Models", () => {
  it("shows download progress from the channel, then the model's facts", async () => {
    let finish: (v: unknown) => void = () => {};
    mockCommands({
      list_models: () => ({ cache: "/cache", models: [] }),
      load_model: (args) => {
        sendOnChannel(args.onProgress, 0, { kind: "progress", file: "model.safetensors", done: 25, total: 100 });
        return new Promise((resolve) => (finish = resolve));
      },
    });
    render(Models);
    await fireEvent.input(document.querySelector("#model-spec")!, { target: { value: "Recognai/selectra_small" } });
    await fireEvent.click(document.querySelector("#load-model")!);
    await waitFor(() => expect(document.body.textContent).toContain("Downloading model.safetensors"));
    expect(document.body.textContent).toContain("25%");
    finish({
      name: "Recognai/selectra_small", folder: "/cache", weights_file: "pytorch_model.bin", model_type: "electra",
      architecture: "ElectraForPreTraining", role: "discriminator", role_description: "discriminator (per-token scores)",
      embedding: "mean of the last hidden states", parameters: 21_800_000, layers: 12, hidden_size: 256,
      embedding_size: 128, attention_heads: 4, intermediate_size: 1024, vocab_size: 50000, max_positions: 512, labels: [],
      tokenizer: "BertTokenizer (WordPiece)", accent_setting: true, do_lower_case: false, files_strip_accents: true, strips_accents: true,
    });
    await waitFor(() => expect(document.querySelector("#fact-params")!.textContent).toBe("21.8M"));
    expect(document.body.textContent).toContain("discriminator (per-token scores)");
    expect(app.models.map((m) => m.spec)).toEqual(["Recognai/selectra_small"]);
    expect(document.querySelector("#try-it")).toBeNull();
  });

  const facts = (role: string, labels: string[]) => ({
    name: "m", folder: "/m", weights_file: "model.safetensors", model_type: "electra", architecture: "X", role,
    role_description: role, embedding: "mean", parameters: 1000,
    layers: 2, hidden_size: 32, embedding_size: 32, attention_heads: 4, intermediate_size: 64, vocab_size: 100, max_positions: 64, labels,
    tokenizer: "BertTokenizer (WordPiece)", accent_setting: true, do_lower_case: false, files_strip_accents: false, strips_accents: false,
  });

  it("tries a token classifier on a text: its entities in place, as text", async () => {
    const calls = mockCommands({
      list_models: () => ({ cache: "/cache", models: [] }),
      load_model: () => facts("tagger", ["O", "B-PER", "I-PER"]),
      tag_text: () => ({ entities: [{ entity_group: "PER", score: 0.91, word: HOSTILE, start: 0, end: 4 }] }),
    });
    render(Models);
    await fireEvent.input(document.querySelector("#model-spec")!, { target: { value: "/models/ner" } });
    await fireEvent.click(document.querySelector("#load-model")!);
    await waitFor(() => expect(document.querySelector("#try-run")!.textContent).toBe("Tag"));
    await fireEvent.input(document.querySelector("#try-text")!, { target: { value: "Juan vive en Madrid" } });
    await fireEvent.click(document.querySelector("#try-run")!);
    await waitFor(() => expect(document.querySelector("#try-entities mark")!.textContent).toBe("JuanPER"));
    expect(calls.find((c) => c.cmd === "tag_text")!.args).toEqual({ args: { model: { spec: "/models/ner", strip_accents: null }, text: "Juan vive en Madrid", aggregation: "simple" } });
    expect(document.querySelector("#try-entity-list")!.textContent).toContain(HOSTILE);
    expect((window as unknown as { pwned?: number }).pwned).toBeUndefined();
  });

  it("runs a tagger over a corpus with progress, and says what it tagged", async () => {
    const calls = mockCommands({
      list_models: () => ({ cache: "/cache", models: [] }),
      list_corpora: () => [{ id: 1, name: "noticias", source_path: "n.csv", format: "csv", created_at: "", records: 40 }],
      load_model: () => facts("tagger", ["O", "B-PER", "I-PER"]),
      run_model: () => ({
        run: { ...RUN, id: 3, kind: "tagger", predicts_labels: false, labels: ["PER"], template: "aggregation=first stride=128", predictions: 40, records: 40 },
        predicted_now: 40, cancelled: false, precision: { asked: "exact", used: "exact", check: null }, check_summary: null,
      }),
    });
    render(Models);
    await fireEvent.input(document.querySelector("#model-spec")!, { target: { value: "/models/ner" } });
    await fireEvent.click(document.querySelector("#load-model")!);
    await waitFor(() => expect(document.querySelector("#try-corpus option")!.textContent).toMatch(/^noticias \(\d+\)$/));
    await fireEvent.change(document.querySelector("#try-run-aggregation")!, { target: { value: "first" } });
    await fireEvent.click(document.querySelector("#try-run-corpus")!);
    await waitFor(() => expect(document.querySelector("#try-run-summary")!.textContent).toContain("Run 3: 40/40 records tagged"));
    const args = calls.find((c) => c.cmd === "run_model")!.args as { args: unknown; task: string };
    expect(args.args).toEqual({ corpus: "noticias", model: { spec: "/models/ner", strip_accents: null }, aggregation: "first" });
    expect(args.task).toMatch(/^task-/);
  });

  it("tries a pair classifier: both texts go to the model, every label's score comes back", async () => {
    const calls = mockCommands({
      list_models: () => ({ cache: "/cache", models: [] }),
      load_model: () => facts("classifier", ["no_paráfrasis", "paráfrasis"]),
      classify_text: () => ({ labels: ["paráfrasis", "no_paráfrasis"], scores: [0.8, 0.2] }),
    });
    render(Models);
    await fireEvent.input(document.querySelector("#model-spec")!, { target: { value: "/models/pawsx" } });
    await fireEvent.click(document.querySelector("#load-model")!);
    await waitFor(() => expect(document.querySelector("#try-run")!.textContent).toBe("Classify"));
    await fireEvent.input(document.querySelector("#try-text")!, { target: { value: "El perro come pan." } });
    await fireEvent.input(document.querySelector("#try-pair")!, { target: { value: "El perro está comiendo pan." } });
    await fireEvent.click(document.querySelector("#try-run")!);
    await waitFor(() => expect(document.querySelector("#try-scores")!.textContent).toContain("paráfrasis0.8000"));
    expect((calls.find((c) => c.cmd === "classify_text")!.args as { args: { text_pair: string } }).args.text_pair).toBe("El perro está comiendo pan.");
  });
});

const NO_SCHEMA = { schema: { labels: [], guidelines: "" }, suggested: [] };
const FINETUNE_DEFAULTS = {
  epochs: 3, learning_rate: 5e-5, batch_size: 16, warmup_ratio: 0, weight_decay: 0, max_grad_norm: 1, seed: 42, validation_share: 0.1, patience: null, source: "both" as const, target: null, folds: null,
};

/** What the core's schema check gives back for typed names: keys 1–9 by position. */
function schemaOf(names: string[], guidelines = "") {
  return { labels: names.map((name, i) => ({ name, description: "", key: String(i + 1), colour: "#0072b2", hypothesis: null })), guidelines };
}

/** The filter a browse call asked for. */
function filterOf(a: Record<string, unknown>) {
  return (a.args as { filter: { status: string | null; [k: string]: unknown } }).filter;
}

/** Annotate over one record, with no run and no scan: the corpus has no labels yet. */
function annotateWithoutRuns() {
  return mockCommands({
    list_runs: () => [],
    list_scans: () => [],
    label_schema: () => NO_SCHEMA,
    set_label_schema: (a) => ({ schema: schemaOf((a.schema as { labels: { name: string }[] }).labels.map((l) => l.name)), suggested: [] }),
    browse: () => ({ records: [record(1, "texto")], total: 1, next: null }),
    record_predictions: () => [],
  });
}

/** One epoch's numbers as the fine-tune sends them (`fold`: a cross-validation's fold, or none). */
function finetuneEpoch(n: number, f1: number, fold: number | null = null) {
  return { epoch: n, train_loss: 1 / n, validation_loss: 0.5 / n, validation_accuracy: f1, validation_macro_f1: f1, validation_entity_f1: null, fold };
}

/** Annotate over one record with no runs, fine-tuning with `handlers` (finetune_model, load_model). */
function annotateFinetuning(handlers: Parameters<typeof mockCommands>[0]) {
  return mockCommands({
    list_runs: () => [],
    list_scans: () => [],
    label_schema: () => NO_SCHEMA,
    browse: () => ({ records: [record(1, "texto")], total: 1, next: null }),
    record_predictions: () => [],
    ...handlers,
  });
}

describe("Annotate", () => {
  it("fine-tunes a model, shows each epoch as it ends, and says where the model and its run are", async () => {
    const epoch = (n: number, f1: number) => finetuneEpoch(n, f1);
    const calls = annotateFinetuning({
      finetune_model: (a) => {
        // Two epochs arrive on the epoch channel while it runs.
        sendOnChannel(a.onEpoch, 0, epoch(1, 0.6));
        sendOnChannel(a.onEpoch, 1, epoch(2, 0.9));
        return { output: "/tmp/m", base_model: "Recognai/selectra_small", target: "labels", labels: ["a", "b"], n_train: 90, n_validation: 10, steps: 12, epochs: [epoch(1, 0.6), epoch(2, 0.9)],
          resumed_from_step: null, examples_per_sec: 42.5, run: 7, options: FINETUNE_DEFAULTS, new_head: true, folds: [] };
      },
      load_model: (a) => ({
        name: (a.model as { spec: string }).spec, folder: "/tmp/m", weights_file: "model.safetensors", model_type: "electra", architecture: "ElectraForSequenceClassification",
        role: "classifier", role_description: "classifier", embedding: "mean", parameters: 1000, layers: 2, hidden_size: 32, embedding_size: 32, attention_heads: 4,
        intermediate_size: 64, vocab_size: 100, max_positions: 64, labels: ["a", "b"], tokenizer: "BertTokenizer (WordPiece)", accent_setting: true,
        do_lower_case: false, files_strip_accents: false, strips_accents: false,
      }),
    });
    app.info = { version: "", project: "", hub_cache: "", offline: true, replaced_threshold: 0.5, retrain_every: 20, auto_retrain_max_secs: 30, near_duplicate_cosine: 0.95, neighbours: 10, finetune: { ...FINETUNE_DEFAULTS, epochs: 4 } };
    render(Annotate);
    await fireEvent.click(await waitFor(() => document.querySelector("#an-finetune summary")!));
    // The core's defaults fill the settings.
    expect((document.querySelector("#an-ft-epochs") as HTMLInputElement).value).toBe("4");
    expect((document.querySelector("#an-ft-lr") as HTMLInputElement).value).toBe("0.00005");
    await fireEvent.input(document.querySelector("#an-ft-model")!, { target: { value: "Recognai/selectra_small" } });
    await fireEvent.input(document.querySelector("#an-ft-output")!, { target: { value: "/tmp/m" } });
    await fireEvent.click(document.querySelector("#an-ft-run")!);
    await waitFor(() => expect(document.querySelector("#an-ft-done")!.textContent).toContain("Run 7 holds its predictions on the held-out records"));
    expect([...document.querySelectorAll("#an-ft-curve tbody tr")].map((r) => r.textContent)).toEqual(["11.00000.50000.6000.600", "20.50000.25000.9000.900"]);
    expect(document.querySelector("#an-ft-chart polyline")).toBeTruthy();
    const asked = calls.find((c) => c.cmd === "finetune_model")!.args.args as Record<string, unknown>;
    expect(asked).toMatchObject({ corpus: "noticias", model: "Recognai/selectra_small", output: "/tmp/m", epochs: 4, learning_rate: 5e-5, batch_size: 16, validation_share: 0.1, target: "labels" });
    // The fine-tuned folder joins the project's models.
    await waitFor(() => expect(app.models.map((m) => m.spec)).toContain("/tmp/m"));
  });

  it("cross-validates in folds: each fold's epochs as they end, then the means, and the out-of-fold run", async () => {
    const epoch = (fold: number | null, n: number, f1: number) => finetuneEpoch(n, f1, fold);
    const fold = (i: number) => ({ output: `/tmp/cv/fold-${i}`, base_model: "Recognai/selectra_small", target: "labels", labels: ["a", "b"], n_train: 60, n_validation: 30, steps: 8,
      epochs: [epoch(i, 1, 0.5), epoch(i, 2, 0.7)], resumed_from_step: null, examples_per_sec: 40, run: null, options: FINETUNE_DEFAULTS, new_head: true, folds: [] });
    const calls = annotateFinetuning({
      finetune_model: (a) => {
        sendOnChannel(a.onEpoch, 0, epoch(1, 1, 0.5));
        sendOnChannel(a.onEpoch, 1, epoch(1, 2, 0.7));
        return { output: "/tmp/cv", base_model: "Recognai/selectra_small", target: "labels", labels: ["a", "b"], n_train: 90, n_validation: 90, steps: 24,
          epochs: [epoch(null, 1, 0.5), epoch(null, 2, 0.7)], resumed_from_step: null, examples_per_sec: 40, run: 9, options: { ...FINETUNE_DEFAULTS, folds: 3 }, new_head: true,
          folds: [fold(1), fold(2), fold(3)] };
      },
      load_model: () => { throw "not needed here"; },
    });
    app.info = { version: "", project: "", hub_cache: "", offline: true, replaced_threshold: 0.5, retrain_every: 20, auto_retrain_max_secs: 30, near_duplicate_cosine: 0.95, neighbours: 10, finetune: FINETUNE_DEFAULTS };
    render(Annotate);
    await fireEvent.click(await waitFor(() => document.querySelector("#an-finetune summary")!));
    await fireEvent.input(document.querySelector("#an-ft-model")!, { target: { value: "Recognai/selectra_small" } });
    await fireEvent.input(document.querySelector("#an-ft-output")!, { target: { value: "/tmp/cv" } });
    await fireEvent.input(document.querySelector("#an-ft-folds")!, { target: { value: "3" } });
    // With folds, the held-out share is not used.
    expect((document.querySelector("#an-ft-validation") as HTMLInputElement).disabled).toBe(true);
    await fireEvent.click(document.querySelector("#an-ft-run")!);
    await waitFor(() => expect(document.querySelector("#an-ft-done")!.textContent).toContain("Run 9 holds every one of the 90 records predicted by the model that did not see it"));
    expect(document.querySelector("#an-ft-done")!.textContent).toContain("3 models saved to /tmp/cv/fold-1 … /tmp/cv/fold-3");
    expect(document.querySelector("#an-finetune summary")!.textContent).toContain("mean held-out macro F1 over 3 folds 0.700 after 2 epochs");
    // Every fold's epochs, then their means.
    expect([...document.querySelectorAll("#an-ft-curve th")].map((t) => t.textContent)[0]).toBe("Fold");
    const rows = [...document.querySelectorAll("#an-ft-curve tbody tr")].map((r) => r.textContent);
    expect(rows).toHaveLength(8);
    expect(rows.slice(0, 2)).toEqual(["111.00000.50000.5000.500", "120.50000.25000.7000.700"]);
    expect(rows.slice(6)).toEqual(["mean11.00000.50000.5000.500", "mean20.50000.25000.7000.700"]);
    expect((calls.find((c) => c.cmd === "finetune_model")!.args.args as Record<string, unknown>).folds).toBe(3);
  });

  it("fine-tunes a tagger on the spans when Annotate labels spans, and scores its epochs by entity F1", async () => {
    const TYPES = { schema: { labels: ["PER", "LOC"].map((name, i) => ({ name, description: "", key: String(i + 1), colour: "#0072b2", hypothesis: null })), guidelines: "", kind: "spans" }, suggested: [] };
    const epoch = { epoch: 1, train_loss: 0.8, validation_loss: 0.4, validation_accuracy: 0.95, validation_macro_f1: null, validation_entity_f1: 0.75, fold: null };
    const calls = mockCommands({
      list_runs: () => [],
      list_scans: () => [],
      label_schema: () => TYPES,
      browse: () => ({ records: [record(1, "Juan vive en Madrid")], total: 1, next: null }),
      record_predictions: () => [],
      record_entities: () => [],
      finetune_model: () => ({ output: "/tmp/t", base_model: "Recognai/selectra_small", target: "spans", labels: ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"], n_train: 9, n_validation: 1,
        steps: 1, epochs: [epoch], resumed_from_step: null, examples_per_sec: 10, run: 3, options: FINETUNE_DEFAULTS, new_head: true, folds: [] }),
      load_model: () => { throw "not needed here"; },
    });
    app.info = { version: "", project: "", hub_cache: "", offline: true, replaced_threshold: 0.5, retrain_every: 20, auto_retrain_max_secs: 30, near_duplicate_cosine: 0.95, neighbours: 10, finetune: FINETUNE_DEFAULTS };
    render(Annotate);
    await fireEvent.click(await waitFor(() => document.querySelector("#an-finetune summary")!));
    // Once the schema says spans, the panel trains a tagger.
    await waitFor(() => expect(document.querySelector("#an-ft-learns")!.textContent).toContain("a tagger (IOB2 tags) learns from your spans, else the imported ones"));
    await fireEvent.input(document.querySelector("#an-ft-model")!, { target: { value: "Recognai/selectra_small" } });
    await fireEvent.input(document.querySelector("#an-ft-output")!, { target: { value: "/tmp/t" } });
    await fireEvent.click(document.querySelector("#an-ft-run")!);
    await waitFor(() => expect(document.querySelector("#an-ft-done")!.textContent).toContain("Run 3 holds its entities in the held-out records"));
    expect(document.querySelector("#an-ft-done")!.textContent).toContain("AutoModelForTokenClassification");
    expect([...document.querySelectorAll("#an-ft-curve th")].map((t) => t.textContent)).toContain("Entity F1");
    expect(document.querySelector("#an-ft-curve tbody tr")!.textContent).toBe("10.80000.40000.9500.750");
    expect((calls.find((c) => c.cmd === "finetune_model")!.args.args as Record<string, unknown>).target).toBe("spans");
  });

  it("shows a sentence pair's second text under the first, as text", async () => {
    mockCommands({
      list_runs: () => [],
      list_scans: () => [],
      label_schema: () => NO_SCHEMA,
      browse: () => ({ records: [record(1, "El perro come pan.", { text_pair: HOSTILE })], total: 1, next: null }),
      record_predictions: () => [],
    });
    render(Annotate);
    await waitFor(() => expect(document.querySelector("#an-text-pair")!.textContent).toContain(HOSTILE));
    expect(document.querySelector(".record-text")!.textContent).toBe("El perro come pan.");
    expect((window as unknown as { pwned?: number }).pwned).toBeUndefined();
  });

  it("marks entity spans with the keyboard, accepts a tagger's suggestions, and saves exactly what is shown", async () => {
    const TYPES = { schema: { labels: ["PER", "LOC"].map((name, i) => ({ name, description: "", key: String(i + 1), colour: "#0072b2", hypothesis: null })), guidelines: "", kind: "spans" }, suggested: [] };
    const TAGGER = { ...RUN, id: 9, kind: "tagger", predicts_labels: false, labels: ["PER", "LOC"], template: "aggregation=simple stride=128" };
    const calls = mockCommands({
      list_runs: () => [RUN, TAGGER],
      list_scans: () => [],
      label_schema: () => TYPES,
      browse: (a) => (filterOf(a).status === "unannotated" ? { records: [], total: 2, next: null } : { records: [record(1, "Juan Pérez vive en Madrid"), record(2, "Ana")], total: 2, next: null }),
      record_predictions: () => [],
      record_entities: (a) => (a.record === 1 ? [{ run: 9, label: "PER", start: 0, end: 10, score: 0.9, text: "Juan Pérez" }] : []),
      annotate_spans: (a) => {
        const args = a.args as { record_id: number; spans: unknown[]; status: string };
        return { record_id: args.record_id, labels: [], spans: args.spans, status: args.status, id: 1, undoes: null };
      },
    });
    render(Annotate);
    await waitFor(() => expect(document.querySelector("#an-span-text")!.textContent).toBe("Juan Pérez vive en Madrid"));
    await waitFor(() => expect(document.querySelector("#an-span-accept-all")).toBeTruthy());
    const panel = document.querySelector("#an-record")!;
    // The cursor to "Madrid" (word 4), its type's key; then the tagger's PER span accepted.
    for (let i = 0; i < 4; i++) await fireEvent.keyDown(panel, { key: "ArrowRight" });
    await fireEvent.keyDown(panel, { key: "2" });
    await fireEvent.keyDown(panel, { key: "a" });
    await waitFor(() => expect([...document.querySelectorAll("#an-span-text .tag")].map((t) => t.textContent)).toEqual(["PER", "LOC"]));
    // Marking across an existing span is refused with why.
    await fireEvent.keyDown(panel, { key: "ArrowLeft", shiftKey: true });
    await fireEvent.keyDown(panel, { key: "ArrowLeft", shiftKey: true });
    await fireEvent.keyDown(panel, { key: "ArrowLeft", shiftKey: true });
    await fireEvent.keyDown(panel, { key: "1" });
    await waitFor(() => expect(document.querySelector("#an-notice")!.textContent).toContain("overlap"));
    expect(document.querySelector("#an-enter-saves")!.textContent).toContain("saves 2 spans: PER, LOC");
    await fireEvent.keyDown(panel, { key: "Enter" });
    await waitFor(() => expect(calls.some((c) => c.cmd === "annotate_spans")).toBe(true));
    expect(calls.find((c) => c.cmd === "annotate_spans")!.args.args).toEqual({
      record_id: 1, status: "accepted", spans: [{ start: 0, end: 10, label: "PER" }, { start: 19, end: 25, label: "LOC" }],
    });
    await waitFor(() => expect(document.querySelector("#an-span-text")!.textContent).toBe("Ana"));
    // Back on the first record (its saved spans shown), a drag over "vive en" selects both words.
    await fireEvent.keyDown(panel, { key: "ArrowUp" });
    await waitFor(() => expect(document.querySelector("#an-span-text")!.textContent).toBe("Juan PérezPER vive en MadridLOC"));
    await fireEvent.mouseDown(document.querySelector("#an-span-text [data-word='2']")!);
    await fireEvent.mouseOver(document.querySelector("#an-span-text [data-word='3']")!);
    await fireEvent.mouseUp(window);
    expect([...document.querySelectorAll("#an-span-text .w.sel")].map((w) => w.textContent)).toEqual(["vive", "en"]);
  });

  it("retypes a span from one of its words, undoes marks one at a time, and marks part of a word when sub-word spans are on", async () => {
    const TYPES = { schema: { labels: ["PER", "LOC"].map((name, i) => ({ name, description: "", key: String(i + 1), colour: "#0072b2", hypothesis: null })), guidelines: "", kind: "spans" }, suggested: [] };
    const saved = { ...record(1, "Juan Pérez vive en Madrid"), spans: [{ start: 0, end: 10, label: "LOC" }], status: "accepted" as const };
    const calls = mockCommands({
      list_runs: () => [],
      list_scans: () => [],
      label_schema: () => TYPES,
      browse: (a) => (filterOf(a).status === "unannotated" ? { records: [], total: 1, next: null } : { records: [saved], total: 1, next: null }),
      record_predictions: () => [],
      record_entities: () => [],
      undo_annotation: () => null,
    });
    render(Annotate);
    await waitFor(() => expect(document.querySelector("#an-span-text")!.textContent).toBe("Juan PérezLOC vive en Madrid"));
    const panel = document.querySelector("#an-record")!;
    const tags = () => [...document.querySelectorAll("#an-span-text .tag")].map((t) => t.textContent);
    // A click on "Pérez" (inside the LOC span) and PER's key: the span changes type, whole.
    await fireEvent.mouseDown(document.querySelector("#an-span-text [data-word='1']")!);
    await fireEvent.mouseUp(window);
    await fireEvent.keyDown(panel, { key: "1" });
    await waitFor(() => expect(tags()).toEqual(["PER"]));
    // "Madrid" as LOC, then Ctrl+Z twice: the LOC mark goes, then the retype; nothing saved is undone.
    for (let i = 0; i < 3; i++) await fireEvent.keyDown(panel, { key: "ArrowRight" });
    await fireEvent.keyDown(panel, { key: "2" });
    await waitFor(() => expect(tags()).toEqual(["PER", "LOC"]));
    await fireEvent.keyDown(panel, { key: "z", ctrlKey: true });
    await waitFor(() => expect(tags()).toEqual(["PER"]));
    await fireEvent.keyDown(panel, { key: "z", ctrlKey: true });
    await waitFor(() => expect(tags()).toEqual(["LOC"]));
    expect(calls.some((c) => c.cmd === "undo_annotation")).toBe(false);
    // A third Ctrl+Z, with no mark left, undoes the last saved change.
    await fireEvent.keyDown(panel, { key: "z", ctrlKey: true });
    await waitFor(() => expect(calls.some((c) => c.cmd === "undo_annotation")).toBe(true));
    // Sub-word spans: the units are characters; "Mad" of "Madrid" becomes a span of its own.
    await fireEvent.click(document.querySelector("#an-subword")!);
    const madrid = [...document.querySelectorAll("#an-span-text [data-word]")].find((w) => w.textContent === "M")!;
    await fireEvent.mouseDown(madrid);
    await fireEvent.mouseUp(window);
    await fireEvent.keyDown(panel, { key: "ArrowRight", shiftKey: true });
    await fireEvent.keyDown(panel, { key: "ArrowRight", shiftKey: true });
    await fireEvent.keyDown(panel, { key: "2" });
    await waitFor(() => expect(document.querySelector("#an-enter-saves")!.textContent).toContain("saves 2 spans: LOC, LOC"));
    await fireEvent.keyDown(panel, { key: "Enter" });
    await waitFor(() => expect(calls.some((c) => c.cmd === "annotate_spans")).toBe(true));
    expect((calls.find((c) => c.cmd === "annotate_spans")!.args.args as { spans: unknown[] }).spans).toEqual([
      { start: 0, end: 10, label: "LOC" },
      { start: 19, end: 22, label: "LOC" },
    ]);
  });

  it("gives the selected records a tagger's entities in one batch, and offers no document labels in span labeling", async () => {
    const TYPES = { schema: { labels: ["PER", "LOC"].map((name, i) => ({ name, description: "", key: String(i + 1), colour: "#0072b2", hypothesis: null })), guidelines: "", kind: "spans" }, suggested: [] };
    const TAGGER = { ...RUN, id: 9, name: "ner", kind: "tagger", predicts_labels: false, labels: ["PER", "LOC"], template: "aggregation=simple" };
    const calls = mockCommands({
      list_runs: () => [TAGGER],
      list_scans: () => [],
      label_schema: () => TYPES,
      browse: (a) => (filterOf(a).status === "unannotated" ? { records: [], total: 2, next: null } : { records: [record(1, "Juan vive en Madrid"), record(2, "Ana")], total: 2, next: null }),
      record_predictions: () => [],
      record_entities: () => [],
      accept_entities: (a) => ({ batch: 4, matched: (a.args as { records: number[] }).records.length, changed: 2 }),
      label_records: () => ({ batch: 5, matched: 2, changed: 2 }),
    });
    render(Annotate);
    await waitFor(() => expect(document.querySelector("#an-tagger-run")).toBeTruthy());
    await fireEvent.click(document.querySelector("#an-mode-list")!);
    await waitFor(() => expect(document.querySelectorAll("#an-list tbody tr")).toHaveLength(2));
    const rows = [...document.querySelectorAll("#an-list tbody tr")] as HTMLElement[];
    await fireEvent.click(rows[0]);
    await fireEvent.click(rows[1], { shiftKey: true });
    await waitFor(() => expect(document.querySelector("#an-bulk-entities")!.textContent).toContain("run 9: ner"));
    expect(document.querySelector("[data-bulk-label]")).toBeNull();
    // A type's key on the list labels nothing: entity types are not document labels.
    await fireEvent.keyDown(document.querySelector("#an-list-zone")!, { key: "1" });
    await fireEvent.click(document.querySelector("#an-bulk-entities")!);
    await waitFor(() => expect(calls.some((c) => c.cmd === "accept_entities")).toBe(true));
    expect(calls.find((c) => c.cmd === "accept_entities")!.args.args).toMatchObject({ records: [1, 2], filter: null, run: 9, status: "accepted" });
    await waitFor(() => expect(document.querySelector("#an-notice")!.textContent).toContain("2 of 2 records"));
    expect(calls.some((c) => c.cmd === "label_records")).toBe(false);
  });

  it("labels with the keyboard: a digit picks, Enter accepts, Ctrl+Z undoes", async () => {
    const rows = [record(1, "El equipo ganó"), record(2, "La bolsa cayó", { predicted: "economía" })];
    const prediction = (record: number) =>
      record === 2
        ? [{ run_id: 7, model: "zs", labels: ["economía", "cultura", "deportes"], scores: [0.7, 0.2, 0.1], suggested: ["economía"] }]
        : [{ run_id: 7, model: "zs", labels: ["deportes", "cultura", "economía"], scores: [0.5, 0.3, 0.2], suggested: ["deportes"] }];
    const calls = mockCommands({
      list_runs: () => [RUN],
      list_scans: () => [],
      label_schema: () => NO_SCHEMA,
      browse: (a) => (filterOf(a).status === "unannotated" ? { records: [], total: 2, next: null } : { records: rows, total: 2, next: null }),
      record_predictions: (a) => prediction(a.record as number),
      annotate: (a) => {
        const args = a.args as { record_id: number; labels: string[]; status: string };
        return { record_id: args.record_id, labels: args.labels, status: args.status, id: 1, undoes: null };
      },
      undo_annotation: () => ({ event: { id: 2, record_id: 1, labels: null, status: null, undoes: 1 }, batch: null, records: 1 }),
    });
    render(Annotate);
    await waitFor(() => expect(document.querySelector("#an-record")!.textContent).toContain("El equipo ganó"));
    const panel = document.querySelector("#an-record")!;
    await fireEvent.keyDown(panel, { key: "3" });
    await fireEvent.keyDown(panel, { key: "Enter" });
    await waitFor(() => expect(calls.some((c) => c.cmd === "annotate")).toBe(true));
    expect(calls.find((c) => c.cmd === "annotate")!.args.args).toEqual({ record_id: 1, labels: ["economía"], status: "accepted" });
    // Enter moved on to the next record, whose suggestion is shown as picked before Enter is
    // pressed; Enter saves exactly the label displayed as selected.
    await waitFor(() => expect(document.querySelector("#an-record")!.textContent).toContain("La bolsa cayó"));
    await waitFor(() => expect(document.querySelectorAll(".labels button.picked")).toHaveLength(1));
    const shownPicked = document.querySelector(".labels button.picked") as HTMLElement;
    expect(shownPicked.getAttribute("aria-pressed")).toBe("true");
    expect(shownPicked.textContent).toContain("suggested 0.70");
    expect(document.querySelector("#an-enter-saves")!.textContent).toContain("saves: economía");
    await fireEvent.keyDown(panel, { key: "Enter" });
    await waitFor(() => expect(calls.filter((c) => c.cmd === "annotate")).toHaveLength(2));
    expect(calls.filter((c) => c.cmd === "annotate")[1].args.args).toMatchObject({ record_id: 2, labels: [shownPicked.dataset.label] });
    await fireEvent.keyDown(panel, { key: "z", ctrlKey: true });
    await waitFor(() => expect(calls.some((c) => c.cmd === "undo_annotation")).toBe(true));
    await waitFor(() => expect(document.querySelector("#an-record")!.textContent).toContain("El equipo ganó"));
    expect(document.querySelector("#an-state")!.textContent).toBe("not annotated");
  });

  it("never saves a label the user did not see: Enter before anything is picked saves nothing", async () => {
    const calls = annotateWithoutRuns();
    render(Annotate);
    await waitFor(() => expect(document.querySelector("#an-record")).toBeTruthy());
    await fireEvent.input(document.querySelector("#an-labels")!, { target: { value: "a, b, a" } });
    await fireEvent.click(document.querySelector("#an-save-labels")!);
    await waitFor(() => expect(document.querySelectorAll(".labels button")).toHaveLength(2));
    expect((calls.find((c) => c.cmd === "set_label_schema")!.args.schema as { labels: { name: string }[] }).labels.map((l) => l.name)).toEqual(["a", "b"]);
    expect(document.querySelector("#an-enter-saves")!.textContent).toContain("saves nothing yet");
    await fireEvent.keyDown(document.querySelector("#an-record")!, { key: "Enter" });
    expect(calls.some((c) => c.cmd === "annotate")).toBe(false);
    expect(document.body.textContent).toContain("Pick a label first");
  });

  it("typing in a field does not trigger labeling keys", async () => {
    const calls = annotateWithoutRuns();
    render(Annotate);
    await waitFor(() => expect(document.querySelector("#an-labels")).toBeTruthy());
    await fireEvent.keyDown(document.querySelector("#an-labels")!, { key: "Enter" });
    expect(calls.some((c) => c.cmd === "annotate")).toBe(false);
  });
});

describe("Annotate with a label schema, filters and bulk actions", () => {
  it("uses the schema's own keys and shows its guidelines; many labels get a finder", async () => {
    const names = ["deportes", "economía", "política", "cultura", "salud", "ciencia", "clima", "tecnología", "moda", "viajes", "otros"];
    const schema = schemaOf(names, "Etiqueta el tema principal.");
    schema.labels[0].key = "d";
    schema.labels[0].description = "Fútbol y otros deportes";
    const calls = mockCommands({
      list_runs: () => [],
      list_scans: () => [],
      label_schema: () => ({ schema, suggested: [] }),
      browse: () => ({ records: [record(1, "El equipo ganó", { metadata: { fuente: "web" }, metadata_text: [{ key: "fuente", value: "web" }] })], total: 1, next: null }),
      record_predictions: () => [],
      annotate: (a) => ({ ...(a.args as object), id: 1, undoes: null }),
    });
    render(Annotate);
    await waitFor(() => expect(document.querySelectorAll(".labels button")).toHaveLength(11));
    expect(document.querySelector("#an-guidelines")!.textContent).toContain("Etiqueta el tema principal.");
    expect(document.querySelector("#an-guidelines")!.textContent).toContain("Fútbol y otros deportes");
    expect(document.querySelector("#an-meta")!.textContent).toContain("fuente web");
    const panel = document.querySelector("#an-record")!;
    await fireEvent.keyDown(panel, { key: "d" });
    await fireEvent.keyDown(panel, { key: "Enter" });
    await waitFor(() => expect(calls.find((c) => c.cmd === "annotate")?.args.args).toEqual({ record_id: 1, labels: ["deportes"], status: "accepted" }));
    // More than nine labels: typing narrows them, Enter picks the first match.
    await fireEvent.input(document.querySelector("#an-find-label")!, { target: { value: "tecno" } });
    expect([...document.querySelectorAll(".labels button")].map((b) => (b as HTMLElement).dataset.label)).toEqual(["tecnología"]);
    await fireEvent.keyDown(document.querySelector("#an-find-label")!, { key: "Enter" });
    expect(document.querySelector("#an-enter-saves")!.textContent).toContain("saves: tecnología");
  });

  it("combines filters from the bar and sends them whole to the core", async () => {
    const calls = mockCommands({
      // A tagger's run (entities, no label scores) is never a run to filter or suggest by.
      list_runs: () => [RUN, { ...RUN, id: 9, kind: "tagger", predicts_labels: false }],
      list_scans: () => [],
      label_schema: () => NO_SCHEMA,
      browse: (a) => ({ records: [record(1, "uno")], total: filterOf(a).status === "unannotated" ? 1 : 17, next: null }),
      record_predictions: () => [],
    });
    render(Annotate);
    await waitFor(() => expect(document.querySelector("#an-filter-count")!.textContent).toBe("17 matching"));
    await fireEvent.change(document.querySelector("#an-filter-predicted")!, { target: { value: "economía" } });
    await fireEvent.change(document.querySelector("#an-filter-status")!, { target: { value: "unannotated" } });
    await fireEvent.click(document.querySelector("#an-filter-more")!);
    await fireEvent.change(document.querySelector("#an-filter-meta")!, { target: { value: "fuente=web; year>=2019" } });
    await fireEvent.change(document.querySelector("#an-filter-disagree")!, { target: { value: "7,annotation" } });
    await fireEvent.change(document.querySelector("#an-filter-min-score")!, { target: { value: "0.4" } });
    await waitFor(() => {
      const last = calls.filter((c) => c.cmd === "browse" && (c.args.args as { limit: number }).limit === 50).at(-1)!;
      expect(filterOf(last.args)).toMatchObject({
        run: 7, predicted_label: "economía", status: "unannotated", meta: ["fuente=web", "year>=2019"], disagree: "7,annotation", min_score: 0.4,
      });
    });
    expect(document.querySelector("#an-filter-more")!.textContent).toContain("6 on");
  });

  it("labels a shift-click range, or all matching records, in one batch that one undo reverts", async () => {
    const rows = [record(1, "uno"), record(2, "dos"), record(3, "tres"), record(4, "cuatro")];
    const calls = mockCommands({
      list_runs: () => [RUN],
      list_scans: () => [],
      label_schema: () => NO_SCHEMA,
      browse: () => ({ records: rows, total: 120, next: "0.5:4" }),
      record_predictions: () => [],
      label_records: (a) => ({ batch: 3, matched: (a.args as { records: number[] }).records.length || 120, changed: 3 }),
      undo_annotation: () => ({ event: null, batch: 3, records: 3 }),
    });
    render(Annotate);
    await waitFor(() => expect(document.querySelector("#an-mode-list")).toBeTruthy());
    await fireEvent.click(document.querySelector("#an-mode-list")!);
    await waitFor(() => expect(document.querySelectorAll("#an-list tbody tr")).toHaveLength(4));
    const tr = () => document.querySelectorAll("#an-list tbody tr");
    await fireEvent.click(tr()[0]);
    await fireEvent.click(tr()[2], { shiftKey: true });
    expect(document.querySelector("#an-bulk")!.textContent).toContain("3 selected");
    await fireEvent.keyDown(document.querySelector("#an-list-zone")!, { key: "2" });
    await waitFor(() => expect(calls.some((c) => c.cmd === "label_records")).toBe(true));
    expect(calls.find((c) => c.cmd === "label_records")!.args.args).toMatchObject({ records: [1, 2, 3], filter: null, labels: ["deportes"], status: "accepted" });
    await waitFor(() => expect(document.querySelector("#an-notice")!.textContent).toContain("one undo reverts them all"));
    await fireEvent.click(document.querySelector("#an-select-all")!);
    expect(document.querySelector("#an-bulk")!.textContent).toContain("120 selected");
    await fireEvent.click(document.querySelector("#an-bulk-discard")!);
    await waitFor(() => expect(calls.filter((c) => c.cmd === "label_records")).toHaveLength(2));
    const all = calls.filter((c) => c.cmd === "label_records")[1].args.args as { records: number[]; filter: { run: number }; status: string };
    expect([all.records, all.filter.run, all.status]).toEqual([[], 7, "discarded"]);
    await fireEvent.keyDown(document.querySelector("#an-list-zone")!, { key: "z", ctrlKey: true });
    await waitFor(() => expect(document.querySelector("#an-notice")!.textContent).toContain("Undid the bulk change of 3 records"));
  });
});

describe("Zero-shot", () => {
  it("shows progress, cancels the run it started, and offers to resume", async () => {
    let finish: (v: unknown) => void = () => {};
    const calls = mockCommands({
      list_runs: () => [],
      list_scans: () => [],
      run_zeroshot: (args) => {
        sendOnChannel(args.onProgress, 0, { done: 3, total: 10, message: "2.0 records/s", eta_secs: 3.5, stage: null });
        return new Promise((resolve) => (finish = resolve));
      },
      cancel_task: () => true,
      label_distribution: () => [],
      fast_outlook: () => ({
        outlook: { available: true, speedup: 1.7, kernel: "AVX512_BF16", min_check_records: 391, max_check_records: 2000, pays_off_from: 950 },
        summary: "bf16 products (AVX512_BF16) run 1.7× exact f32 on this CPU and the check compares 391 to 2000 records both ways first, so the fast mode pays off from about 950 records",
        corpus_note: "this corpus has 2 records, too few: a fast run would be exact f32",
      }),
    });
    render(ZeroShot);
    await fireEvent.input(document.querySelector("#zs-model")!, { target: { value: "zs" } });
    expect(document.querySelector("#zs-fast-outlook")).toBeNull();
    await fireEvent.click(document.querySelector("#zs-fast")!);
    // Before the run, the core's outlook for this machine and corpus.
    await waitFor(() => expect(document.querySelector("#zs-fast-outlook")!.textContent).toContain("pays off from about 950 records; this corpus has 2 records, too few"));
    expect(calls.find((c) => c.cmd === "fast_outlook")!.args).toEqual({ corpus: "noticias" });
    await fireEvent.click(document.querySelector("#zs-run")!);
    await waitFor(() => expect(document.querySelector("#zs-progress")!.textContent).toContain("3/10 records"));
    expect(document.querySelector("#zs-progress")!.textContent).toContain("ETA 4s");
    await fireEvent.click(document.querySelector("#zs-cancel")!);
    const started = calls.find((c) => c.cmd === "run_zeroshot")!.args;
    await waitFor(() => expect(calls.find((c) => c.cmd === "cancel_task")?.args).toEqual({ task: started.task }));
    expect((started.args as { labels: string[] }).labels).toEqual(["cultura", "sociedad", "economía", "salud", "deportes"]);
    expect((started.args as { fast: boolean }).fast).toBe(true);
    const note = "the fast mode changed this corpus's results more than the agreement check allows; the run is exact f32";
    finish({ run: { ...RUN, predictions: 3, records: 10, finished_at: null }, predicted_now: 3, cancelled: true, check_summary: "bf16 against exact: failed", precision: { requested: "bf16", used: "exact", check: null, note } });
    await waitFor(() => expect(document.querySelector("#zs-summary")!.textContent).toContain("Cancelled: run 7 has 3/10"));
    expect(document.querySelector("#zs-precision-check")!.textContent).toBe("bf16 against exact: failed");
    expect(document.querySelector("#zs-precision-note")!.textContent).toBe(note);
    await waitFor(() => expect(document.querySelector("#zs-cancel")).toBeNull());
    expect(document.querySelector("#zs-run")!.textContent!.trim()).toBe("Resume");
  });
});

describe("Suspicious tokens", () => {
  it("scans a corpus, ranks records with their flagged words highlighted, and opens one in the Inspector", async () => {
    const scan = { id: 3, name: null, corpus: "noticias", model: "disc", strip_accents: null, created_at: "", finished_at: "x", scanned: 2, records: 2 };
    let scanned = false;
    const calls = mockCommands({
      list_scans: () => (scanned ? [scan] : []),
      run_scan: (args) => {
        sendOnChannel(args.onProgress, 0, { done: 1, total: 2, message: "3.0 records/s", eta_secs: 1, stage: null });
        scanned = true;
        return { scan, scanned_now: 2, cancelled: false };
      },
      scan_view: () => ({
        scan,
        // "Estamos desayunando pan rosa": "rosa" (chars 24-28) is flagged; the text has an accent before it.
        records: [
          { record_id: 9, row: 4, id: null, text: "Éstamos desayunando pan rosa", suspicion: 0.91, flagged: 1, mean: 0.3, spans: [],
            words: [{ start: 0, end: 7, probability: 0.05, flagged: false }, { start: 8, end: 19, probability: 0.1, flagged: false },
                    { start: 20, end: 23, probability: 0.2, flagged: false }, { start: 24, end: 28, probability: 0.91, flagged: true }] },
          { record_id: 2, row: 1, id: null, text: "Hola", suspicion: 0.2, flagged: 0, mean: 0.2, spans: [],
            words: [{ start: 0, end: 4, probability: 0.2, flagged: false }] },
        ],
        words: [{ word: "rosa", count: 1, mean_probability: 0.91, examples: [4] }],
        histogram: [1, 0, 1, 0, 0, 0, 0, 0, 0, 1],
      }),
    });
    render(Suspicious);
    await waitFor(() => expect(document.body.textContent).toContain("No scan of “noticias” yet"));
    await fireEvent.input(document.querySelector("#sus-model")!, { target: { value: "disc" } });
    await fireEvent.click(document.querySelector("#sus-run")!);
    await waitFor(() => expect(document.querySelector("#sus-summary")!.textContent).toContain("Scan 3 complete: 2 records"));
    expect((calls.find((c) => c.cmd === "run_scan")!.args.args as { corpus: string }).corpus).toBe("noticias");
    await waitFor(() => expect(document.querySelectorAll("#sus-records tbody tr")).toHaveLength(2));
    const rows = [...document.querySelectorAll("#sus-records tbody tr")];
    expect(rows.map((r) => r.getAttribute("data-record"))).toEqual(["9", "2"]);
    const flagged = [...rows[0].querySelectorAll(".word.flagged")].map((w) => w.textContent);
    expect(flagged).toEqual(["rosa"]);
    expect(rows[0].querySelector(".scan-text")!.textContent).toBe("Éstamos desayunando pan rosa");
    expect(document.querySelectorAll("#sus-histogram tbody tr")).toHaveLength(10);
    expect(document.querySelector("#sus-words")!.textContent).toContain("rosa");
    await fireEvent.click(rows[0].querySelector(".open-inspector")!);
    expect(app.view).toBe("inspector");
    expect(app.intent).toEqual({ view: "inspector", text: "Éstamos desayunando pan rosa", spec: "disc" });
  });
});

describe("Suspicious tokens side by side", () => {
  it("compares two scans and marks the words only one of them flags", async () => {
    const scan = (id: number, model: string) => ({ id, name: null, corpus: "noticias", model, strip_accents: null, created_at: "", finished_at: "x", scanned: 1, records: 1 });
    const calls = mockCommands({
      list_scans: () => [scan(1, "small"), scan(2, "medium")],
      scan_view: (a) => ({ scan: scan(a.scan as number, "x"), records: [], words: [], histogram: [0, 0, 0, 0, 0, 0, 0, 0, 0, 1] }),
      compare_scans: () => ({
        a: 2, b: 1, records: 1, words: 4, flagged_by_a: 1, flagged_by_b: 2, flagged_by_both: 1, agreement: 0.75, kappa: 0.5,
        disagreements: [{ record_id: 5, row_number: 3, text: "pan rosa con tomate", suspicion_a: 0.9, suspicion_b: 0.95, only_a: [], only_b: [[13, 19]] }],
      }),
    });
    render(Suspicious);
    await waitFor(() => expect(document.querySelector("#sus-compare-with")).toBeTruthy());
    await fireEvent.change(document.querySelector("#sus-compare-with")!, { target: { value: "1" } });
    await waitFor(() => expect(document.querySelector("#sus-agreement")!.textContent).toContain("agreement 75.0%, Cohen's kappa 0.500"));
    expect(calls.find((c) => c.cmd === "compare_scans")!.args).toMatchObject({ a: 2, b: 1 });
    expect([...document.querySelectorAll("#sus-disagreements mark")].map((m) => m.textContent)).toEqual(["tomate"]);
  });
});

describe("corpus text is never markup", () => {
  it("renders hostile text and labels as text", async () => {
    mockCommands({
      list_runs: () => [{ ...RUN, labels: [HOSTILE, "b"] }],
      list_scans: () => [],
      label_schema: () => ({ schema: { labels: [{ name: HOSTILE, description: HOSTILE, key: null, colour: null, hypothesis: null }], guidelines: HOSTILE }, suggested: [HOSTILE] }),
      browse: () => ({ records: [record(1, HOSTILE, { predicted: HOSTILE, gold: HOSTILE, metadata: { [HOSTILE]: HOSTILE }, metadata_text: [{ key: HOSTILE, value: HOSTILE }] })], total: 1, next: null }),
      record_predictions: () => [{ run_id: 7, model: HOSTILE, labels: [HOSTILE], scores: [0.9], suggested: [HOSTILE] }],
    });
    render(Annotate);
    await waitFor(() => expect(document.querySelector("#an-record")!.textContent).toContain(HOSTILE));
    await waitFor(() => expect(document.body.textContent).toContain(`run 7: ${HOSTILE}`));
    expect(document.querySelector("img")).toBeNull();
    expect(document.querySelector("b")).toBeNull();
    expect((window as unknown as { pwned?: number }).pwned).toBeUndefined();
  });

  it("a file with duplicate and blank column names previews without breaking the list", async () => {
    mockCommands({ preview_import: () => ({ format: "csv", has_columns: true, columns: ["text", "text", "", ""], rows: [["a", "b", "c", "d"]] }) });
    render(Corpora);
    await fireEvent.input(document.querySelector("#import-path")!, { target: { value: "/tmp/c.csv" } });
    await fireEvent.click(document.querySelector("#import-preview")!);
    await waitFor(() => expect(document.querySelectorAll("#preview-table th")).toHaveLength(4));
    expect(document.querySelector("#preview-table")!.textContent).toContain("d");
  });

  it("in the import preview too", async () => {
    mockCommands({ preview_import: () => ({ format: "csv", has_columns: true, columns: ["text", HOSTILE], rows: [[HOSTILE, "x"]] }) });
    render(Corpora);
    await fireEvent.input(document.querySelector("#import-path")!, { target: { value: "/tmp/c.csv" } });
    await fireEvent.click(document.querySelector("#import-preview")!);
    await waitFor(() => expect(document.querySelector("#preview-table")!.textContent).toContain(HOSTILE));
    expect(document.querySelector("img")).toBeNull();
  });
});

describe("Compare drill-down", () => {
  it("opens a confusion cell's, a bin's and the mistakes' records in Annotate with the filter that selects them", async () => {
    const estimate = { value: 0.5, low: 0.4, high: 0.6 };
    const calls = mockCommands({
      published: () => ({ scores: [], card_models: [], card_tasks: [], sources: [], figures: [], models: [] }),
      list_runs: () => [RUN, { ...RUN, id: 8 }],
      evaluate: () => ({
        run_ids: [7, 8], corpus: "noticias", references: { accepted_annotations: 3, gold: 10, excluded: 0, outside_run_labels: 0 }, figures: [],
        runs: [{
          run: RUN, metrics: singleLabel({ n: 13, accuracy: estimate, macro_f1: estimate, ece: 0.1,
            labels: ["cultura", "deportes"], confusion: [[5, 2], [0, 6]],
            reliability: [{ lower: 0.5, upper: 0.6, count: 4, confidence: 0.55, accuracy: 0.5 }] }),
          mistakes: [{ row_number: 3, source_id: null, text: "x", reference: ["cultura"], predicted: ["deportes"], confidence: 0.9 }],
          score_histograms: [], outside_references: 0, outside_labels: [], outside_warning: null,
        }],
      }),
      annotator_agreement: () => ({ annotators: [], pairs: [], fleiss: null, disputed: 0 }),
      browse: () => ({ records: [], total: 4, next: null }),
    });
    render(Compare);
    await waitFor(() => expect(document.querySelectorAll("#cmp-choose input")).toHaveLength(2));
    await fireEvent.click(document.querySelectorAll("#cmp-choose input")[1]);
    await fireEvent.click(document.querySelector("#cmp-score")!);
    await waitFor(() => expect(document.querySelector("#cmp-drill-7")).toBeTruthy());
    expect(calls.find((c) => c.cmd === "evaluate")!.args.args).toEqual({ corpus: "noticias", runs: [7], within_run_labels: false });
    await waitFor(() => expect(document.querySelector("#cmp-disagreements")!.textContent).toContain("4 records"));
    await fireEvent.click(document.querySelector("#cmp-drill-7 button[data-cell='cultura|deportes']")!);
    expect(app.view).toBe("annotate");
    expect(app.intent).toEqual({
      view: "annotate", corpus: "noticias", sort: "row",
      filter: { run: 7, predicted_label: "deportes", evaluation: { runs: [7, 8], reference: "cultura", mistakes_of: null } },
    });
    await fireEvent.click(document.querySelector("#cmp-drill-7 button[data-bin='0']")!);
    expect(pendingIntent("annotate")!.filter).toEqual({ run: 7, score_bin: 0, evaluation: { runs: [7, 8], reference: null, mistakes_of: null } });
    await fireEvent.click(document.querySelector("#cmp-mistakes-7")!);
    expect(app.intent).toMatchObject({ view: "annotate", sort: "score_desc", filter: { run: 7, evaluation: { mistakes_of: 7 } } });
  });
});

describe("Compare's likely label errors", () => {
  it("shows a multi-label run's errors per label, and opens them in Annotate with the suggestions", async () => {
    const estimate = { value: 0.5, low: 0.4, high: 0.6 };
    const multi = { ...RUN, id: 9, multi_label: true };
    mockCommands({
      published: () => ({ scores: [], card_models: [], card_tasks: [], sources: [], figures: [], models: [] }),
      list_runs: () => [multi],
      evaluate: () => ({
        run_ids: [9], corpus: "noticias", references: { accepted_annotations: 0, gold: 10, excluded: 0, outside_run_labels: 0 }, figures: [],
        runs: [{
          run: multi, metrics: { kind: "multi_label", n: 10, labels: multi.labels, threshold: 0.5, subset_accuracy: 0.4, hamming_loss: 0.2, micro_f1: estimate, macro_f1: estimate, per_label: [] },
          mistakes: [], score_histograms: [], outside_references: 0, outside_labels: [], outside_warning: null,
        }],
      }),
      annotator_agreement: () => ({ annotators: [], pairs: [], fleiss: null, disputed: 0 }),
      label_issues: () => ({
        run: 9, labels: multi.labels, multi_label: true, records: 10, outside_run_labels: 0, noise_matrix: [], confident_joint: [],
        issues: [{ row: 4, id: "4", record_id: 4, given: "cultura|deportes", suggested: "cultura", suggested_labels: ["cultura"], quality: 0.2 }],
        per_label: multi.labels.map((label, i) => ({ label, noise_matrix: [[0.9, 0.1 * i], [0.1, 1 - 0.1 * i]], confident_joint: [[5, 1], [1, 3]], issues: i })),
      }),
    });
    render(Compare);
    await waitFor(() => expect(document.querySelectorAll("#cmp-choose input")).toHaveLength(1));
    await fireEvent.click(document.querySelector("#cmp-score")!);
    await waitFor(() => expect(document.querySelector("#cmp-drill-9")).toBeTruthy());
    await fireEvent.click(document.querySelector("#cmp-issues-9")!);
    await waitFor(() => expect(document.querySelector("#cmp-issues-summary-9")!.textContent).toContain("1 of 10 labeled records"));
    expect(document.querySelectorAll("#cmp-noise-9 tbody tr")).toHaveLength(3);
    await fireEvent.click(document.querySelector("#cmp-issues-summary-9 button")!);
    expect(app.intent).toMatchObject({ view: "annotate", sort: "listed", filter: { run: 9, records: [4] } });
    const intent = pendingIntent("annotate")!;
    expect(intent.found!.suggestions.get(4)).toEqual(["cultura"]);
  });
});

describe("Compare: what a run keys on", () => {
  it("lists each label's words by mean weight, with progress, and opens a word's records in Annotate", async () => {
    const estimate = { value: 0.5, low: 0.4, high: 0.6 };
    const calls = mockCommands({
      published: () => ({ scores: [], card_models: [], card_tasks: [], sources: [], figures: [], models: [] }),
      list_runs: () => [RUN],
      evaluate: () => ({
        run_ids: [RUN.id], corpus: "noticias", references: { accepted_annotations: 0, gold: 10, excluded: 0, outside_run_labels: 0 }, figures: [],
        runs: [{
          run: RUN, metrics: { kind: "multi_label", n: 10, labels: RUN.labels, threshold: 0.5, subset_accuracy: 0.4, hamming_loss: 0.2, micro_f1: estimate, macro_f1: estimate, per_label: [] },
          mistakes: [], score_histograms: [], outside_references: 0, outside_labels: [], outside_warning: null,
        }],
      }),
      annotator_agreement: () => ({ annotators: [], pairs: [], fleiss: null, disputed: 0 }),
      run_key_words: (a) => {
        sendOnChannel(a.onProgress, 0, { done: 3, total: 60, message: "", eta_secs: null, stage: null });
        return {
          run: RUN.id, method: "loo", inputs_scored: 480,
          labels: [
            { label: "deportes", records: 20, words: [{ word: "partido", mean_weight: 0.21, occurrences: 9, records: [3, 8, 12] }, { word: "equipo", mean_weight: 0.12, occurrences: 4, records: [8, 20] }] },
            { label: "cultura", records: 0, words: [] },
          ],
        };
      },
    });
    render(Compare);
    await waitFor(() => expect(document.querySelectorAll("#cmp-choose input")).toHaveLength(1));
    await fireEvent.click(document.querySelector("#cmp-score")!);
    await waitFor(() => expect(document.querySelector(`#cmp-keywords-${RUN.id}`)).toBeTruthy());
    await fireEvent.click(document.querySelector(`#cmp-keywords-${RUN.id}`)!);
    await waitFor(() => expect(document.querySelector(`#cmp-keywords-table-${RUN.id}`)!.textContent).toContain("partido 0.210"));
    expect(calls.find((c) => c.cmd === "run_key_words")!.args.args).toEqual({ run: RUN.id, per_label: null, method: "loo" });
    expect(document.querySelector(`#cmp-keywords-table-${RUN.id}`)!.textContent).toContain("no word in two records");
    const word = [...document.querySelectorAll(`#cmp-keywords-table-${RUN.id} button`)].find((b) => b.textContent?.startsWith("partido"))!;
    await fireEvent.click(word);
    expect(app.intent).toMatchObject({ view: "annotate", sort: "listed", filter: { records: [3, 8, 12] } });
    expect(pendingIntent("annotate")!.found!.title).toContain("“partido” weighs for deportes");
  });
});

describe("Compare's your-data table", () => {
  it("puts a tagger's entity F1 and a pair classifier's accuracy in the card's columns", async () => {
    const e = (value: number) => ({ value, low: value - 0.05, high: value + 0.05 });
    const calls = mockCommands({
      published: () => ({ scores: [], card_models: [], card_tasks: [], sources: [], figures: [], models: [] }),
      list_runs: () => [RUN],
      your_data: () => ({
        corpus: "noticias", pairs: true, label_records: 40, entity_records: 12,
        rows: [
          { run: 7, model: "pawsx", kind: "classifier", entities_f1: null, pair_accuracy: e(0.81), accuracy: null, macro_f1: e(0.8), parameters: null },
          { run: 9, model: "ner", kind: "tagger", entities_f1: e(0.62), pair_accuracy: null, accuracy: null, macro_f1: e(0.5), parameters: 22000000 },
        ],
        figures: [{ name: "your-data-size-conll2002-ner", caption: "sizes", svg: "<svg></svg>" }],
      }),
    });
    render(Compare);
    await waitFor(() => expect(document.querySelector("#cmp-your-data-run")).toBeTruthy());
    await fireEvent.click(document.querySelector("#cmp-your-data-run")!);
    await waitFor(() => expect(document.querySelectorAll("#cmp-your-data tbody tr")).toHaveLength(2));
    const cells = (run: number) => [...document.querySelectorAll(`#cmp-your-data tr[data-run='${run}'] td`)].map((td) => td.textContent);
    expect(cells(9)[2]).toBe("0.620 [0.570, 0.670]");
    expect(cells(9)[3]).toBe("–");
    expect(cells(7)[3]).toBe("0.810 [0.760, 0.860]");
    expect((calls.find((c) => c.cmd === "your_data")!.args as { corpus: string }).corpus).toBe("noticias");
    expect(document.querySelectorAll("#cmp-your-data-figures img")).toHaveLength(1);
    // A tagger's row opens the records where its entities are not the reference's, in Annotate.
    await fireEvent.click(document.querySelector("#cmp-your-data button[data-errs='9']")!);
    expect(app.intent).toEqual({ view: "annotate", corpus: "noticias", filter: { disagree: "9,spans" }, sort: "row" });
  });
});

describe("Compare's published table", () => {
  it("offers each row's loadable model in Models, and says why a row has none", async () => {
    const score = (model: string, task: string) => ({
      model, task, hub_id: "x/y", family: "F", params_millions: 1, metric: "accuracy", mean: 0.8, std: null, display: "0.8", source: "card",
    });
    mockCommands({
      published: () => ({
        scores: [score("BETO", "XNLI"), score("RoBERTa-b", "XNLI")], card_models: ["BETO", "RoBERTa-b"], card_tasks: ["XNLI"],
        sources: [], figures: [],
        models: [
          { model: "BETO", load_id: "Recognai/bert-base-spanish-wwm-cased-xnli", architecture: "BertForSequenceClassification", note: "n" },
          { model: "RoBERTa-b", load_id: null, architecture: null, note: "a masked language model" },
        ],
      }),
      list_runs: () => [],
    });
    render(Compare);
    await waitFor(() => expect(document.querySelector("#published-table")!.textContent).toContain("load Recognai/bert-base-spanish-wwm-cased-xnli"));
    expect(document.querySelector("#published-table")!.textContent).toContain("(no loadable model)");
    await fireEvent.click(screen.getByText("load Recognai/bert-base-spanish-wwm-cased-xnli"));
    expect(app.view).toBe("models");
    cleanup();
    mockCommands({ list_models: () => ({ cache: "/cache", models: [] }) });
    render(Models);
    expect((document.querySelector("#model-spec") as HTMLInputElement).value).toBe("Recognai/bert-base-spanish-wwm-cased-xnli");
    expect(app.intent).toBeNull();
  });
});

describe("Annotate learns", () => {
  it("retrains in the background after N labels and takes the new head's suggestions", async () => {
    const trained: RunDto = { ...RUN, id: 9, kind: "trained", model: "disc + logistic head" };
    let runs = [RUN];
    const estimate = { value: 0.8, low: 0.7, high: 0.9 };
    const calls = mockCommands({
      list_runs: () => runs,
      list_scans: () => [],
      label_schema: () => NO_SCHEMA,
      browse: () => ({ records: [record(1, "uno"), record(2, "dos")], total: 2, next: null }),
      record_predictions: () => runs.length > 1
        ? [{ run_id: 9, model: "head", labels: ["economía", "cultura", "deportes"], scores: [0.8, 0.1, 0.1], suggested: ["economía"] }]
        : [],
      annotate: (a) => ({ ...(a.args as object), id: 1, undoes: null }),
      train_head: () => {
        runs = [RUN, trained];
        return { run: trained.id, trained_run: trained, n_train: 40, labels: ["cultura", "deportes", "economía"], folds: 5, ...cv(estimate),
          learning_curve: [{ n: 25, accuracy: 0.6, macro_f1: 0.55 }],
          baseline: { predicts: "cultura", accuracy: 0.5, macro_f1: 0.22 }, beats_baseline: false, c: 1, class_weight: "none", selection: null, source: "accepted annotations", secs: 4, fit_secs: 1,
          verdict: "The head does not beat always answering \"cultura\" (accuracy 0.500, macro F1 0.220): …" };
      },
    });
    render(Annotate);
    await waitFor(() => expect(document.querySelector("#an-record")).toBeTruthy());
    await fireEvent.input(document.querySelector("#an-learn-model")!, { target: { value: "disc" } });
    await fireEvent.input(document.querySelector("#an-learn-every")!, { target: { value: "1" } });
    const panel = document.querySelector("#an-record")!;
    // No head yet: labels alone do not start training (the user chooses the model first).
    await fireEvent.keyDown(panel, { key: "1" });
    await fireEvent.keyDown(panel, { key: "Enter" });
    await waitFor(() => expect(calls.some((c) => c.cmd === "annotate")).toBe(true));
    expect(calls.some((c) => c.cmd === "train_head")).toBe(false);
    await fireEvent.click(document.querySelector("#an-learn-train")!);
    await waitFor(() => expect(calls.filter((c) => c.cmd === "train_head")).toHaveLength(1));
    expect((calls.find((c) => c.cmd === "train_head")!.args.args as { model: { spec: string } }).model.spec).toBe("disc");
    await waitFor(() => expect(document.querySelector("#an-learn-result")!.textContent).toContain("Run 9"));
    expect(document.querySelectorAll("#an-learn-curve tbody tr")).toHaveLength(2);
    // The core's verdict on the majority baseline is shown as it says it, marked when the head does not beat it.
    const verdict = document.querySelector("#an-learn-verdict")!;
    expect(verdict.textContent).toContain("does not beat always answering \"cultura\"");
    expect(verdict.classList.contains("warning")).toBe(true);
    // The head's suggestion is pre-selected on the record being labeled.
    await waitFor(() => expect(document.querySelector(".labels button.picked")?.getAttribute("data-label")).toBe("economía"));
    expect(document.querySelector("#an-enter-saves")!.textContent).toContain("the model's suggestion");
    // Now every new label (every = 1) retrains in the background.
    await fireEvent.keyDown(document.querySelector("#an-record")!, { key: "Enter" });
    await waitFor(() => expect(calls.filter((c) => c.cmd === "train_head")).toHaveLength(2));
    await waitFor(() => expect(document.querySelector("#an-learn-result")!.textContent).toContain("Trained 2 times"));
  });
});

// The app on a real corpus (issue 34): what the user chose stays, keys stay with the record,
// a busy project is never shown as an empty one, and training says what it learns from.
describe("Annotate on a real corpus", () => {
  const SIX = { labels: ["a", "b", "c", "d", "e", "f"].map((name, i) => ({ name, description: "", key: String(i + 1), colour: null, hypothesis: null })), guidelines: "" };
  const estimate = { value: 0.8, low: 0.7, high: 0.9 };
  /** Commands for a corpus with the six-label schema and two records; `more` adds or replaces. */
  const sixLabels = (more: Parameters<typeof mockCommands>[0] = {}) =>
    mockCommands({
      list_runs: () => [RUN],
      list_scans: () => [],
      label_schema: () => ({ schema: SIX, suggested: [] }),
      browse: () => ({ records: [record(1, "uno"), record(2, "dos")], total: 2, next: null }),
      record_predictions: () => [],
      annotate: (a) => ({ ...(a.args as object), id: 1, undoes: null }),
      ...more,
    });

  const summary = (secs: number, labels: string[]) => ({
    run: 9, trained_run: { ...RUN, id: 9, kind: "trained", labels }, n_train: 40, labels, folds: 5, ...cv(estimate), learning_curve: [],
    baseline: { predicts: "a", accuracy: 0.2, macro_f1: 0.1 }, beats_baseline: true, c: 1, class_weight: "none", selection: null, verdict: "ok", source: "accepted annotations", secs, fit_secs: secs - 6,
  });

  it("trains on the source the core suggests or the user picks, keeps the schema's labels, and retrains only while it is cheap", async () => {
    let runs = [RUN];
    const calls = mockCommands({
      list_runs: () => runs,
      list_scans: () => [],
      label_schema: () => ({ schema: SIX, suggested: [] }),
      label_sources: () => ({ annotations: 1249, annotation_kinds: 6, gold: 10763, gold_kinds: 24, suggested: "annotations" }),
      browse: () => ({ records: [record(1, "uno"), record(2, "dos"), record(3, "tres")], total: 3, next: null }),
      record_predictions: () => [],
      annotate: (a) => ({ ...(a.args as object), id: 1, undoes: null }),
      // A head trained on 24 gold topics, and slow: 256 s.
      train_head: () => {
        runs = [RUN, { ...RUN, id: 9, labels: Array.from({ length: 24 }, (_, i) => `t${i}`) }];
        return summary(256, Array.from({ length: 24 }, (_, i) => `t${i}`));
      },
    });
    render(Annotate);
    await waitFor(() => expect(document.querySelector("#an-learn-source")).toBeTruthy());
    expect(document.querySelector("#an-learn-source")!.textContent).toContain("1249 records, 6 kinds");
    expect(document.querySelector("#an-learn-source")!.textContent).toContain("10763 records, 24 kinds");
    expect((document.querySelector("input[name='an-source'][value='annotations']") as HTMLInputElement).checked).toBe(true);
    await fireEvent.input(document.querySelector("#an-learn-model")!, { target: { value: "disc" } });
    await fireEvent.click(document.querySelector("#an-learn-train")!);
    await waitFor(() => expect(calls.filter((c) => c.cmd === "train_head")).toHaveLength(1));
    expect((calls.find((c) => c.cmd === "train_head")!.args.args as { source: string }).source).toBe("annotations");
    await waitFor(() => expect(document.querySelector("#an-learn-result")).toBeTruthy());
    // The schema's six labels and keys stay, whatever the head was trained on.
    await waitFor(() => expect(document.querySelectorAll(".labels button")).toHaveLength(6));
    expect([...document.querySelectorAll(".labels button kbd")].map((k) => k.textContent)).toEqual(["1", "2", "3", "4", "5", "6"]);
    // Fits of 250 s are not cheap: new labels do not retrain, and the view says why.
    expect(document.querySelector("#an-learn-paused")!.textContent).toContain("fits took 250 s");
    await fireEvent.input(document.querySelector("#an-learn-every")!, { target: { value: "1" } });
    const panel = document.querySelector("#an-record")!;
    await fireEvent.keyDown(panel, { key: "2" });
    await fireEvent.keyDown(panel, { key: "Enter" });
    await waitFor(() => expect(calls.some((c) => c.cmd === "annotate")).toBe(true));
    await new Promise((r) => setTimeout(r, 50));
    expect(calls.filter((c) => c.cmd === "train_head")).toHaveLength(1);
    // The user picks the gold column: the next training learns from it.
    await fireEvent.click(document.querySelector("input[name='an-source'][value='gold']")!);
    await fireEvent.click(document.querySelector("#an-learn-train")!);
    await waitFor(() => expect(calls.filter((c) => c.cmd === "train_head")).toHaveLength(2));
    expect((calls.filter((c) => c.cmd === "train_head")[1].args.args as { source: string }).source).toBe("gold");
    // ... and the choice is remembered in the project.
    await waitFor(() => expect(JSON.parse(settings.get("ui.annotate") ?? "{}").source).toBe("gold"));
  });

  it("keeps what the user picked on a record when the view is left and shown again", async () => {
    const calls = sixLabels();
    render(Annotate);
    await waitFor(() => expect(document.querySelector("#an-record")).toBeTruthy());
    await fireEvent.keyDown(document.querySelector("#an-record")!, { key: "3" });
    expect(document.querySelector(".labels button.picked")?.getAttribute("data-label")).toBe("c");
    const pages = calls.filter((c) => c.cmd === "browse").length;
    app.view = "zeroshot";
    await new Promise((r) => setTimeout(r, 20));
    app.view = "annotate";
    // Shown again, the page is read afresh, and the pick stays.
    await waitFor(() => expect(calls.filter((c) => c.cmd === "browse").length).toBeGreaterThan(pages));
    await new Promise((r) => setTimeout(r, 50));
    expect(document.querySelector(".labels button.picked")?.getAttribute("data-label")).toBe("c");
  });

  it("says a cancelled training was cancelled, and what is kept", async () => {
    mockCommands({
      list_runs: () => [RUN],
      list_scans: () => [],
      label_schema: () => ({ schema: SIX, suggested: [] }),
      browse: () => ({ records: [record(1, "uno")], total: 1, next: null }),
      record_predictions: () => [],
      train_head: () => Promise.reject({ code: "cancelled", message: "cancelled" }),
    });
    render(Annotate);
    await waitFor(() => expect(document.querySelector("#an-record")).toBeTruthy());
    await fireEvent.input(document.querySelector("#an-learn-model")!, { target: { value: "disc" } });
    await fireEvent.click(document.querySelector("#an-learn-train")!);
    await waitFor(() => expect(document.querySelector("#an-learning")!.textContent).toContain("Training cancelled. The records embedded so far are kept"));
  });

  it("counts what a head could learn from afresh when the Learning panel opens", async () => {
    let labeled = 0;
    mockCommands({
      list_runs: () => [RUN],
      list_scans: () => [],
      label_schema: () => ({ schema: SIX, suggested: [] }),
      label_sources: () => ({ annotations: labeled, annotation_kinds: Math.min(labeled, 2), gold: 50, gold_kinds: 8, suggested: labeled >= 2 ? "annotations" : "gold" }),
      browse: () => ({ records: [record(1, "uno"), record(2, "dos")], total: 2, next: null }),
      record_predictions: () => [],
      annotate: (a) => {
        labeled += 1;
        return { ...(a.args as object), id: 1, undoes: null };
      },
    });
    render(Annotate);
    await waitFor(() => expect(document.querySelector("#an-learn-source")!.textContent).toContain("your accepted labels: 0 records"));
    for (const key of ["1", "2"]) {
      const panel = document.querySelector("#an-record")!;
      await fireEvent.keyDown(panel, { key });
      await fireEvent.keyDown(panel, { key: "Enter" });
      await waitFor(() => expect(labeled).toBeGreaterThan(0));
    }
    await waitFor(() => expect(labeled).toBe(2));
    const details = document.querySelector("#an-learning") as HTMLDetailsElement;
    details.open = true;
    await fireEvent(details, new Event("toggle"));
    await waitFor(() => expect(document.querySelector("#an-learn-source")!.textContent).toContain("your accepted labels: 2 records, 2 kinds"));
    expect((document.querySelector("input[name='an-source'][value='annotations']") as HTMLInputElement).checked).toBe(true);
  });

  it("labels only while the record has the keyboard: a key on a focused filter or the page labels nothing, and says so", async () => {
    const calls = sixLabels();
    render(Annotate);
    await waitFor(() => expect(document.querySelector("#an-record")).toBeTruthy());
    const status = document.querySelector("#an-filter-status") as HTMLSelectElement;
    status.focus();
    await fireEvent.keyDown(status, { key: "p" });
    await fireEvent.keyDown(status, { key: "Enter" });
    await fireEvent.keyDown(document.body, { key: "2" });
    await fireEvent.keyDown(document.body, { key: "Enter" });
    await new Promise((r) => setTimeout(r, 50));
    expect(calls.some((c) => c.cmd === "annotate")).toBe(false);
    expect(document.querySelector("#an-keys-away")!.textContent).toContain("Esc");
    // Escape gives the record the keyboard; then the keys label.
    await fireEvent.keyDown(document.body, { key: "Escape" });
    expect(document.activeElement?.id).toBe("an-record");
    await fireEvent.keyDown(document.activeElement!, { key: "2" });
    await fireEvent.keyDown(document.activeElement!, { key: "Enter" });
    await waitFor(() => expect(calls.some((c) => c.cmd === "annotate")).toBe(true));
    expect((calls.find((c) => c.cmd === "annotate")!.args.args as { labels: string[] }).labels).toEqual(["b"]);
  });

  it("never says the corpus is empty while the project is busy: it says it is reading", async () => {
    mockCommands({
      list_runs: () => [],
      list_scans: () => [],
      label_schema: () => NO_SCHEMA,
      // An export holds the project: the first page does not come yet.
      browse: () => new Promise(() => {}),
      record_predictions: () => [],
    });
    render(Annotate);
    await waitFor(() => expect(document.querySelector("#an-reading")).toBeTruthy());
    await new Promise((r) => setTimeout(r, 1100));
    expect(document.querySelector("#an-reading")!.textContent).toContain("another task");
    expect(document.body.textContent).not.toContain("No records match");
    expect(document.body.textContent).not.toContain("no labels yet");
    expect(document.querySelector("#an-labels")).toBeNull();
  });
});

describe("Zero-shot keeps the user's choices", () => {
  it("restores the corpus's labels and the lab's settings from the project, and stores changes", async () => {
    settings.set("ui.zeroshot", JSON.stringify({ useSchema: true, labels: "x, y", labWithin: false, labSource: "gold" }));
    const calls = mockCommands({
      list_runs: () => [],
      label_schema: () => ({ schema: { labels: [{ name: "arte", description: "", key: "1", colour: null, hypothesis: null }, { name: "ciencia", description: "", key: "2", colour: null, hypothesis: null }], guidelines: "" }, suggested: [] }),
      label_sources: () => ({ annotations: 0, annotation_kinds: 0, gold: 30, gold_kinds: 2, suggested: "gold" }),
      template_lab: () => [],
    });
    render(ZeroShot);
    await waitFor(() => expect((document.querySelector("#zs-use-schema") as HTMLInputElement | null)?.checked).toBe(true));
    expect(document.querySelector("#zs-lab-labels")!.textContent).toContain("arte, ciencia");
    expect((document.querySelector("#zs-lab-within") as HTMLInputElement).checked).toBe(false);
    await fireEvent.input(document.querySelector("#zs-model")!, { target: { value: "zs" } });
    await fireEvent.click(document.querySelector("#zs-lab-run")!);
    await waitFor(() => expect(calls.some((c) => c.cmd === "template_lab")).toBe(true));
    const lab = calls.find((c) => c.cmd === "template_lab")!.args.args as { labels: string[]; source: string; within_labels: boolean };
    expect([lab.labels, lab.source, lab.within_labels]).toEqual([["arte", "ciencia"], "gold", false]);
    await waitFor(() => expect(JSON.parse(settings.get("ui.zeroshot") ?? "{}").spec).toBe("zs"));
  });
});

describe("Filters, matrices and labels on a real corpus", () => {
  it("offers the values that contain an exact metadata value matching nothing", async () => {
    const calls = mockCommands({
      list_runs: () => [],
      list_scans: () => [],
      label_schema: () => NO_SCHEMA,
      browse: (a) => ((a.args as { filter: { meta: string[] } }).filter.meta.length ? { records: [], total: 0, next: null } : { records: [record(1, "uno")], total: 1, next: null }),
      record_predictions: () => [],
      metadata_keys: () => ["author"],
      meta_filter_help: (a) => (a.text === "author=Aristoteles"
        ? { key: "author", kind: "equals", value: "Aristoteles", values: [{ value: "Aristóteles", records: 12 }, { value: "Aristóteles (384–322 a. C.)", records: 3 }] }
        : null),
    });
    render(Annotate);
    await waitFor(() => expect(document.querySelector("#an-record")).toBeTruthy());
    await fireEvent.click(document.querySelector("#an-filter-more")!);
    await waitFor(() => expect(document.querySelector("#an-filter-meta")!.getAttribute("placeholder")).toContain("author~"));
    await fireEvent.change(document.querySelector("#an-filter-meta")!, { target: { value: "author=Aristoteles" } });
    await waitFor(() => expect(document.querySelector("#an-filter-meta-hint")!.textContent).toContain("Aristóteles (12)"));
    await fireEvent.click([...document.querySelectorAll("#an-filter-meta-hint button")].find((b) => b.textContent?.startsWith("every value"))!);
    await waitFor(() => expect(calls.filter((c) => c.cmd === "browse").some((c) => (c.args.args as { filter: { meta: string[] } }).filter.meta[0] === "author~Aristoteles")).toBe(true));
  });

  it("drops suggestions and hints that come back after the filter changed", async () => {
    mockCommands({
      list_runs: () => [],
      list_scans: () => [],
      label_schema: () => NO_SCHEMA,
      browse: () => ({ records: [record(1, "uno")], total: 1, next: null }),
      record_predictions: () => [],
      metadata_keys: () => ["author"],
      // Slow, as a pass over a large corpus is.
      meta_filter_help: () => new Promise((r) => setTimeout(() => r({ key: "author", kind: "equals", value: "Ar", values: [{ value: "Aristóteles", records: 12 }] }), 100)),
    });
    render(Annotate);
    await waitFor(() => expect(document.querySelector("#an-record")).toBeTruthy());
    await fireEvent.click(document.querySelector("#an-filter-more")!);
    const field = document.querySelector("#an-filter-meta")!;
    await fireEvent.input(field, { target: { value: "author=Ar" } });
    await fireEvent.change(field, { target: { value: "author=Ar" } });
    await new Promise((r) => setTimeout(r, 600));
    // The filter was applied before the suggestion came back, and it matches a record.
    expect(document.querySelector("#an-filter-meta-values")).toBeNull();
    expect(document.querySelector("#an-filter-meta-hint")).toBeNull();
  });

  it("warns when references lie outside a run's labels, scores only those on request, and lets a wide matrix scroll", async () => {
    const estimate = { value: 0.03, low: 0.02, high: 0.04 };
    const wide = Array.from({ length: 24 }, (_, i) => `t${i}`);
    const calls = mockCommands({
      published: () => ({ scores: [], card_models: [], card_tasks: [], sources: [], figures: [], models: [] }),
      list_runs: () => [RUN],
      evaluate: () => ({
        run_ids: [7], corpus: "noticias", references: { accepted_annotations: 0, gold: 10763, excluded: 0, outside_run_labels: 0 }, figures: [],
        runs: [{
          run: RUN, metrics: singleLabel({ n: 10763, accuracy: estimate, macro_f1: estimate, ece: 0.1, labels: wide,
            confusion: wide.map(() => wide.map(() => 1)), reliability: [] }),
          mistakes: [], score_histograms: [], outside_labels: [], outside_references: 10400,
          outside_warning: "10400 of 10763 scored records have a reference label run 7 cannot predict",
        }],
      }),
      annotator_agreement: () => ({ annotators: [], pairs: [], fleiss: null, disputed: 0 }),
      browse: () => ({ records: [], total: 0, next: null }),
    });
    render(Compare);
    await waitFor(() => expect(document.querySelectorAll("#cmp-choose input")).toHaveLength(1));
    await fireEvent.click(document.querySelector("#cmp-score")!);
    await waitFor(() => expect(document.querySelector("[data-outside-warning='7']")!.textContent).toContain("cannot predict"));
    const drill = document.querySelector("#cmp-drill-7")!;
    expect(drill.querySelector(".matrix-wrap table.confusion")).toBeTruthy();
    expect(drill.querySelector(".grid2")).toBeNull();
    expect(drill.textContent).toContain("24 labels: scroll sideways");
    await fireEvent.click(document.querySelector("[data-outside-warning='7'] button")!);
    await waitFor(() => expect(calls.filter((c) => c.cmd === "evaluate")).toHaveLength(2));
    expect((calls.filter((c) => c.cmd === "evaluate")[1].args.args as { within_run_labels: boolean }).within_run_labels).toBe(true);
  });

  it("imports a Hub dataset's split after listing its configs and previewing its rows, and pushes a corpus", async () => {
    const dataset = {
      id: { repo: "Org/opiniones", revision: null }, read_from: "refs/convert/parquet", commit: "abcdef0123456789", converted: true, offline: false, offline_reason: null,
      configs: [
        { name: "default", default: true, columns: ["text", "label"], unread: [], splits: [
          { name: "train", rows: 5, partial: false, files: [{ path: "default/train/0000.parquet", size: 2048 }, { path: "default/train/0001.parquet", size: 1500 }] },
          { name: "test", rows: 1, partial: false, files: [{ path: "default/test/0000.parquet", size: 900 }] },
        ] },
      ],
    };
    const calls = mockCommands({
      describe_hub_dataset: () => dataset,
      preview_hub_split: (a) => {
        const { split } = a.args as { split: string };
        return { preview: { format: "parquet", has_columns: true, columns: ["text", "label"], rows: [[`<b>${split}</b>`, "positivo"]] }, config: "default", split, name: split === "train" ? "opiniones" : `opiniones-${split}` };
      },
      import_hub_dataset: (a) => ({ corpus: { id: 2, name: (a.args as { name: string }).name, records: 1, format: "parquet", source_path: "hf://datasets/Org/opiniones@abc/default/test", created_at: "", origin: null }, imported: 1, skipped: [] }),
      list_corpora: () => [],
      list_runs: () => [],
      list_scans: () => [],
      label_schema: () => NO_SCHEMA,
      browse: () => ({ records: [record(1, "uno")], total: 1, next: null }),
      push_hub_dataset: (a) => ({ repo: (a.args as { to: string }).to, split: "train", commit: "c0ffee", url: "https://huggingface.co/datasets/Org/x/commit/c0ffee", records: 1, files: [] }),
    });
    render(Corpora);
    await fireEvent.click(document.querySelector("#import-source-hub")!);
    await waitFor(() => expect(document.querySelector("#hub-dataset")).toBeTruthy());
    await fireEvent.input(document.querySelector("#hub-dataset")!, { target: { value: "Org/opiniones" } });
    await fireEvent.click(document.querySelector("#hub-describe")!);
    // The splits with rows, files and sizes; the default split is previewed at once.
    await waitFor(() => expect(document.querySelector("#hub-splits")!.textContent).toContain("3.5 kB"));
    expect(document.querySelector("#hub-source")!.textContent).toContain("the Hub's Parquet conversion");
    await waitFor(() => expect((document.querySelector("#import-name") as HTMLInputElement).value).toBe("opiniones"));
    // Another split: its rows (user text stays text) and its default name.
    await fireEvent.click(document.querySelector("[data-hub-split='default/test']")!);
    await waitFor(() => expect((document.querySelector("#import-name") as HTMLInputElement).value).toBe("opiniones-test"));
    expect(document.querySelector("#preview-table")!.textContent).toContain("<b>test</b>");
    expect(document.querySelector("#preview-table b")).toBeNull();
    await fireEvent.click(document.querySelector("#import-run")!);
    await waitFor(() => expect(document.querySelector("#import-outcome")!.textContent).toContain("Imported 1 records into “opiniones-test”"));
    const asked = calls.find((c) => c.cmd === "import_hub_dataset")!.args.args as Record<string, unknown>;
    expect(asked).toMatchObject({ dataset: "Org/opiniones", config: "default", split: "test", name: "opiniones-test", text_column: "text", label_column: "label", format: null });
    // Pushing the open corpus.
    await waitFor(() => expect(document.querySelector("#push-to")).toBeTruthy());
    await fireEvent.input(document.querySelector("#push-to")!, { target: { value: "Org/x" } });
    await fireEvent.click(document.querySelector("#push-run")!);
    await waitFor(() => expect(document.querySelector("#push-done")!.textContent).toContain("Pushed 1 records to Org/x as split train"));
    expect(calls.find((c) => c.cmd === "push_hub_dataset")!.args.args).toEqual({ corpus: "opiniones-test", to: "Org/x", split: "", private: false });
  });

  it("flags near-duplicate labels in the labels editor, above the records", async () => {
    mockCommands({
      list_runs: () => [],
      list_scans: () => [],
      label_schema: () => ({ schema: { labels: [{ name: "informatica", description: "", key: "1", colour: null, hypothesis: null }, { name: "informática", description: "", key: "2", colour: null, hypothesis: null }], guidelines: "" }, suggested: [] }),
      browse: () => ({ records: Array.from({ length: 50 }, (_, i) => record(i + 1, `r${i}`)), total: 50, next: null }),
      label_warnings: (a) => ((a.names as string[]).length === 2 ? ["\"informatica\" and \"informática\" differ only in accents or case: probably one label typed twice"] : []),
    });
    app.corpora = [{ id: 1, name: "noticias", records: 50, format: "csv", source_path: "n.csv", created_at: "", origin: null }];
    render(Corpora);
    await fireEvent.click(await waitFor(() => screen.getByText("noticias")));
    await waitFor(() => expect(document.querySelector("[data-schema-warning]")!.textContent).toContain("probably one label typed twice"));
    // The editor comes before the 50-row table, not below it.
    const editor = document.querySelector("#schema-editor")!;
    const table = document.querySelector("#browse-table")!;
    expect(editor.compareDocumentPosition(table) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
  });
});


// Data quality (issue 29): what a tool finds becomes the filter in its order, with the run's
// suggestion picked; duplicate groups are kept to one record in one batch.
describe("Annotate's data-quality tools", () => {
  const issues = {
    run: 7, labels: RUN.labels, multi_label: false, records: 40, outside_run_labels: 0,
    issues: [
      { row: 2, id: "2", record_id: 2, given: "cultura", suggested: "economía", suggested_labels: ["economía"], quality: 0.04 },
      { row: 1, id: "1", record_id: 1, given: "deportes", suggested: "cultura", suggested_labels: ["cultura"], quality: 0.11 },
    ],
    noise_matrix: [[0.9, 0.1, 0], [0.05, 0.85, 0.1], [0.05, 0.05, 0.9]], confident_joint: [[9, 1, 0], [1, 17, 2], [1, 1, 8]], per_label: [],
  };
  const set = { id: 3, corpus: "noticias", model: "st", weights_sha256: "0".repeat(64), strip_accents: null, dim: 8, created_at: "", finished_at: "", embedded: 2, records: 2 };
  const member = (id: number, labels: string[], accepted = false) => ({ record_id: id, row: id, id: String(id), text: `texto ${id}`, labels, accepted });

  it("opens the likely mislabeled records least likely first, with the run's suggestion picked", async () => {
    const calls = mockCommands({
      list_runs: () => [RUN],
      list_scans: () => [],
      label_schema: () => NO_SCHEMA,
      embedding_sets: () => [],
      browse: (a) => (filterOf(a).records ? { records: [record(2, "dos", { labels: ["cultura"], status: "accepted" }), record(1, "uno")], total: 2, next: null } : { records: [record(1, "uno"), record(2, "dos")], total: 2, next: null }),
      record_predictions: () => [],
      label_issues: () => issues,
    });
    render(Annotate);
    await waitFor(() => expect(document.querySelector("#an-record")).toBeTruthy());
    await fireEvent.click(document.querySelector("#an-quality summary")!);
    await fireEvent.click(document.querySelector("#an-issues")!);
    await waitFor(() => expect(document.querySelector("#an-found")!.textContent).toContain("2 likely mislabeled of 40"));
    const asked = calls.filter((c) => c.cmd === "browse").at(-1)!.args.args as { filter: { records: number[] }; sort: string };
    expect(asked.filter.records).toEqual([2, 1]);
    expect(asked.sort).toBe("listed");
    // The record's accepted label is "cultura"; the run's suggestion is what Enter would save.
    await waitFor(() => expect(document.querySelector(".labels button.picked")?.getAttribute("data-label")).toBe("economía"));
    expect(document.querySelector("#an-found-note")!.textContent).toContain("labeled cultura, run 7 suggests economía");
    // Clearing the found set goes back to the whole corpus in file order.
    await fireEvent.click(document.querySelector("#an-found-clear")!);
    await waitFor(() => expect(document.querySelector("#an-found")).toBeNull());
    const after = calls.filter((c) => c.cmd === "browse").at(-1)!.args.args as { filter: { records: number[] | null }; sort: string };
    expect(after.filter.records).toBeNull();
    expect(after.sort).toBe("row");
  });

  it("finds duplicate groups with an embedding set, keeps one of a group and discards the rest in one batch", async () => {
    let report = {
      corpus: "noticias", embeddings: 3, threshold: 0.95, records: 5, embedded: 5, warning: null as string | null, exhaustive: true,
      groups: [
        { records: [member(1, ["cultura"]), member(4, ["deportes"], true)], exact: false, least_similarity: 0.97, labels_disagree: true, keep: 4 },
        { records: [member(2, []), member(5, [])], exact: true, least_similarity: null, labels_disagree: false, keep: 2 },
      ],
    };
    const calls = mockCommands({
      list_runs: () => [RUN],
      list_scans: () => [],
      label_schema: () => NO_SCHEMA,
      embedding_sets: () => [set],
      browse: () => ({ records: [record(1, "uno"), record(2, "dos")], total: 2, next: null }),
      record_predictions: () => [],
      find_duplicates: () => report,
      discard_records: (a) => {
        report = { ...report, groups: report.groups.slice(1) };
        return { batch: 5, matched: (a.args as { records: number[] }).records.length, changed: 1 };
      },
    });
    app.info = { version: "", project: "", hub_cache: "", offline: true, replaced_threshold: 0.5, retrain_every: 20, auto_retrain_max_secs: 30, near_duplicate_cosine: 0.95, neighbours: 10, finetune: FINETUNE_DEFAULTS };
    render(Annotate);
    await waitFor(() => expect(document.querySelector("#an-record")).toBeTruthy());
    await fireEvent.click(document.querySelector("#an-quality summary")!);
    await waitFor(() => expect((document.querySelector("#an-embeddings") as HTMLSelectElement).value).toBe("3"));
    await fireEvent.click(document.querySelector("#an-duplicates")!);
    await waitFor(() => expect(document.querySelector("#an-dup-groups")!.textContent).toContain("2 duplicate groups"));
    const asked = calls.find((c) => c.cmd === "find_duplicates")!.args.args as { embeddings: number; threshold: number };
    expect(asked).toMatchObject({ embeddings: 3, threshold: 0.95 });
    expect(document.querySelector("#an-dup-groups")!.textContent).toContain("labels disagree");
    // The shown record is in a group: the card says of which rows it may be a duplicate.
    await waitFor(() => expect(document.querySelector("#an-dup-note")!.textContent).toContain("row 4"));
    const keep = [...document.querySelectorAll("#an-dup-groups li button")].find((b) => b.textContent?.includes("Keep row 4"))!;
    await fireEvent.click(keep);
    await waitFor(() => expect(calls.some((c) => c.cmd === "discard_records")).toBe(true));
    expect((calls.find((c) => c.cmd === "discard_records")!.args.args as { records: number[] }).records).toEqual([1]);
    await waitFor(() => expect(document.querySelector("#an-notice")!.textContent).toContain("one undo brings them back"));
    await waitFor(() => expect(document.querySelector("#an-dup-groups")!.textContent).toContain("1 duplicate groups"));
  });

  it("searches records like a typed text and records like the shown one", async () => {
    const calls = mockCommands({
      list_runs: () => [RUN],
      list_scans: () => [],
      label_schema: () => NO_SCHEMA,
      embedding_sets: () => [set],
      browse: () => ({ records: [record(1, "uno"), record(2, "dos")], total: 2, next: null }),
      record_predictions: () => [],
      similar_records: (a) => ((a.args as { text: string | null }).text ? [{ record_id: 2, similarity: 0.91 }, { record_id: 1, similarity: 0.4 }] : [{ record_id: 2, similarity: 0.8 }]),
    });
    render(Annotate);
    await waitFor(() => expect(document.querySelector("#an-record")).toBeTruthy());
    await fireEvent.click(document.querySelector("#an-quality summary")!);
    await waitFor(() => expect((document.querySelector("#an-embeddings") as HTMLSelectElement).value).toBe("3"));
    await fireEvent.input(document.querySelector("#an-semantic")!, { target: { value: "fútbol" } });
    await fireEvent.click(document.querySelector("#an-semantic-go")!);
    await waitFor(() => expect(document.querySelector("#an-found")!.textContent).toContain("most like “fútbol”"));
    expect((calls.filter((c) => c.cmd === "browse").at(-1)!.args.args as { filter: { records: number[] } }).filter.records).toEqual([2, 1]);
    await fireEvent.click(document.querySelector("#an-more-like")!);
    await waitFor(() => expect(document.querySelector("#an-found")!.textContent).toContain("most like row"));
    expect((calls.filter((c) => c.cmd === "similar_records").at(-1)!.args.args as { record: number }).record).toBeGreaterThan(0);
  });
});

describe("Why this label, and the map", () => {
  const set = { id: 3, corpus: "noticias", model: "st", weights_sha256: "0".repeat(64), strip_accents: null, dim: 8, created_at: "", finished_at: "", embedded: 3, records: 3 };
  const explanation = {
    label: "deportes", score: 0.91, method: "loo", inputs_scored: 4,
    words: [{ word: "ganó", start: 0, end: 4, weight: 0.3 }, { word: "el", start: 5, end: 7, weight: -0.01 }, { word: "partido", start: 8, end: 15, weight: 0.5 }],
  };

  it("explains the record's label by the run's model and shades its words, from a button or Ctrl+E", async () => {
    const calls = mockCommands({
      list_runs: () => [RUN],
      list_scans: () => [],
      label_schema: () => NO_SCHEMA,
      embedding_sets: () => [],
      browse: () => ({ records: [record(1, "ganó el partido")], total: 1, next: null }),
      record_predictions: () => [],
      explain_record: () => explanation,
    });
    render(Annotate);
    await waitFor(() => expect(document.querySelector("#an-record")).toBeTruthy());
    await fireEvent.click(document.querySelector("#an-why-go")!);
    await waitFor(() => expect(document.querySelector("#an-record-heat")).toBeTruthy());
    const asked = calls.find((c) => c.cmd === "explain_record")!.args.args as { run: number; record: number; label: string | null; method: string };
    expect(asked).toEqual({ run: RUN.id, record: 1, label: null, method: "loo" });
    const shaded = [...document.querySelectorAll("#an-record-heat .w")];
    expect(shaded.map((w) => w.textContent)).toEqual(["ganó", "el", "partido"]);
    expect(shaded[1].classList.contains("neg")).toBe(true);
    expect(shaded[2].getAttribute("title")).toBe("+0.5000");
    expect(document.querySelector("#an-record-heat")!.textContent).toBe("ganó el partido");
    expect(document.querySelector("#an-why-summary")!.textContent).toContain("deportes");
    // LIME, from the keyboard.
    (document.querySelector("#an-why-method") as HTMLSelectElement).value = "lime";
    await fireEvent.change(document.querySelector("#an-why-method")!);
    (document.querySelector("#an-record") as HTMLElement).focus();
    await fireEvent.keyDown(document.querySelector("#an-record")!, { key: "e", ctrlKey: true });
    await waitFor(() => expect(calls.filter((c) => c.cmd === "explain_record").length).toBe(2));
    expect((calls.filter((c) => c.cmd === "explain_record")[1].args.args as { method: string }).method).toBe("lime");
  });

  it("draws the map of an embedding set, colours it, and turns a lasso into the filter", async () => {
    const map = {
      info: { id: 9, embedding_set: 3, method: "pca", seed: 0, records: 3, explained_variance_ratio: [0.6, 0.3], created_at: "" },
      points: { record_ids: [1, 2, 3], x: [0, 1, 2], y: [0, 1, 0], explained_variance_ratio: [0.6, 0.3] },
    };
    const calls = mockCommands({
      list_runs: () => [RUN],
      list_scans: () => [],
      label_schema: () => NO_SCHEMA,
      embedding_sets: () => [set],
      browse: (a) => (filterOf(a).records ? { records: [record(2, "dos"), record(3, "tres")], total: 2, next: null } : { records: [record(1, "uno")], total: 1, next: null }),
      record_predictions: () => [],
      make_map: () => map,
      map_colours: () => ({ categories: ["deportes", "cultura"], category: [0, 1, -1], values: null }),
      map_lasso: () => [2, 3],
    });
    render(Annotate);
    await waitFor(() => expect(document.querySelector("#an-record")).toBeTruthy());
    await fireEvent.click(document.querySelector("#an-map summary")!);
    await waitFor(() => expect((document.querySelector("#an-map-set") as HTMLSelectElement).value).toBe("3"));
    await fireEvent.click(document.querySelector("#an-map-make")!);
    await waitFor(() => expect(document.querySelector("#an-map-facts")!.textContent).toContain("60.0% and 30.0%"));
    expect((calls.find((c) => c.cmd === "make_map")!.args.args as { embeddings: number; method: string })).toMatchObject({ embeddings: 3, method: "pca" });
    await waitFor(() => expect(document.querySelector("#an-map-legend")!.textContent).toContain("cultura"));
    expect((calls.find((c) => c.cmd === "map_colours")!.args.args as { by: unknown }).by).toEqual({ by: "reference" });
    // A lasso: press, drag around, release.
    await fireEvent.click(document.querySelector("#an-map-lasso")!);
    const canvas = document.querySelector("#an-map-canvas")!;
    await fireEvent.pointerDown(canvas, { clientX: 10, clientY: 10, pointerId: 1 });
    for (const [x, y] of [[60, 10], [60, 60], [10, 60]]) await fireEvent.pointerMove(canvas, { clientX: x, clientY: y, pointerId: 1 });
    await fireEvent.pointerUp(canvas, { clientX: 10, clientY: 60, pointerId: 1 });
    await waitFor(() => expect(document.querySelector("#an-found")!.textContent).toContain("2 records inside the outline"));
    const outline = (calls.find((c) => c.cmd === "map_lasso")!.args.args as { outline: [number, number][] }).outline;
    expect(outline.length).toBeGreaterThanOrEqual(3);
    expect(outline.every(([x, y]) => Number.isFinite(x) && Number.isFinite(y))).toBe(true);
    expect(filterOf(calls.filter((c) => c.cmd === "browse").at(-1)!.args).records).toEqual([2, 3]);
  });
});
