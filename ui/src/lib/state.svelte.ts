// What the views share: the app facts, the models loaded this session, and the corpora.
import { call, Channel } from "./api";
import type { AppInfo, CorpusInfo, DownloadEvent, FilterSpec, ModelFacts, SortDto } from "./bindings";
import { recall, remember } from "./settings";

export type LoadedModel = { spec: string; facts: ModelFacts };

export const app = $state({
  info: null as AppInfo | null,
  models: [] as LoadedModel[],
  corpora: [] as CorpusInfo[],
  /** Who is annotating: the project's setting (stored with every change). */
  annotator: "",
  view: "models" as ViewName,
  /** Records another view asked Annotate to open: a corpus, filters (the rest empty), an order. */
  annotateWith: null as { corpus: string; filter: Partial<FilterSpec>; sort: SortDto } | null,
  /** A record another view asked the Inspector to open (its text, and the model to use). */
  inspect: null as { text: string; spec: string } | null,
  /** A model another view offered to load (the Models view fills it in; loading stays the user's choice). */
  loadSpec: null as string | null,
  /** The remembered models being loaded again after a start: which one, and what failed. */
  restoring: null as string | null,
  restoreErrors: [] as string[],
});

export type ViewName = "models" | "inspector" | "corpora" | "zeroshot" | "annotate" | "suspicious" | "compare";

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
