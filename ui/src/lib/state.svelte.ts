// What the views share: the app facts, the models loaded this session, and the corpora.
import { call, Channel } from "./api";
import type { AppInfo, CorpusInfo, DownloadEvent, FilterSpec, ModelFacts, SortDto } from "./bindings";
import type { Found } from "./labeling";
import { recall, remember } from "./settings";

export type LoadedModel = { spec: string; facts: ModelFacts };

export const app = $state({
  info: null as AppInfo | null,
  models: [] as LoadedModel[],
  corpora: [] as CorpusInfo[],
  /** Who is annotating: the project's setting (stored with every change). */
  annotator: "",
  view: "models" as ViewName,
  /** What another view asked the shown view to open (see `navigate`); its view takes it once. */
  intent: null as Intent | null,
  /** The remembered models being loaded again after a start: which one, and what failed. */
  restoring: null as string | null,
  restoreErrors: [] as string[],
});

export type ViewName = "models" | "inspector" | "corpora" | "zeroshot" | "annotate" | "suspicious" | "compare";

/** Opening a view with something in it, the only way one view hands another work:
 * Annotate with records (a corpus, a filter with the rest empty, an order), the Inspector with
 * a text and the model to read it with, Models with a model to offer (loading stays the user's
 * choice). */
export type Intent =
  | { view: "annotate"; corpus: string; filter: Partial<FilterSpec>; sort: SortDto; found?: Found }
  | { view: "inspector"; text: string; spec: string }
  | { view: "models"; load: string };

/** Shows a view, or shows one with an intent for it. */
export function navigate(to: ViewName | Intent): void {
  if (typeof to === "string") {
    app.view = to;
  } else {
    app.intent = to;
    app.view = to.view;
  }
}

/** The intent waiting for `view`, if any, without taking it. */
export function pendingIntent<V extends Intent["view"]>(view: V): Extract<Intent, { view: V }> | null {
  const intent = app.intent;
  return intent && intent.view === view ? (intent as Extract<Intent, { view: V }>) : null;
}

/** Takes the intent waiting for `view`: each is acted on once. Reading it in an effect re-runs
 * the effect when another view navigates here. */
export function takeIntent<V extends Intent["view"]>(view: V): Extract<Intent, { view: V }> | null {
  const intent = pendingIntent(view);
  if (intent) app.intent = null;
  return intent;
}

export async function refreshCorpora(): Promise<void> {
  app.corpora = await call("list_corpora", {});
}

export function rememberModel(spec: string, facts: ModelFacts): void {
  app.models = [...app.models.filter((m) => m.spec !== spec), { spec, facts }];
  remember("ui.models", app.models.map((m) => m.spec));
}

/** Loads again the models the project had loaded (from the local cache; a model that no longer
 * loads is reported and forgotten). */
export async function restoreModels(): Promise<void> {
  app.models = [];
  app.restoreErrors = [];
  const specs = (await recall<string[]>("ui.models")) ?? [];
  if (!Array.isArray(specs)) return;
  for (const spec of specs.filter((s): s is string => typeof s === "string")) {
    app.restoring = spec;
    try {
      const facts = await call("load_model", { model: { spec, strip_accents: null }, onProgress: new Channel<DownloadEvent>() });
      app.models = [...app.models.filter((m) => m.spec !== spec), { spec, facts }];
    } catch (e) {
      app.restoreErrors = [...app.restoreErrors, `${spec}: ${e instanceof Error ? e.message : String(e)}`];
    }
  }
  app.restoring = null;
  remember("ui.models", app.models.map((m) => m.spec));
}

export function modelsWithRole(role: "discriminator" | "classifier"): LoadedModel[] {
  return app.models.filter((m) => m.facts.role === role);
}
