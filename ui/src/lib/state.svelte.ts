// What the views share: the app facts, the models loaded this session, and the corpora.
import { call } from "./api";
import type { AppInfo, CorpusDto, FilterDto, ModelFacts, SortDto } from "./bindings";

export type LoadedModel = { spec: string; facts: ModelFacts };

export const app = $state({
  info: null as AppInfo | null,
  models: [] as LoadedModel[],
  corpora: [] as CorpusDto[],
  /** Who is annotating: the project's setting (stored with every change). */
  annotator: "",
  view: "models" as ViewName,
  /** Records another view asked Annotate to open: a corpus, filters (the rest empty), an order. */
  annotateWith: null as { corpus: string; filter: Partial<FilterDto>; sort: SortDto } | null,
  /** A record another view asked the Inspector to open (its text, and the model to use). */
  inspect: null as { text: string; spec: string } | null,
  /** A model another view offered to load (the Models view fills it in; loading stays the user's choice). */
  loadSpec: null as string | null,
});

export type ViewName = "models" | "inspector" | "corpora" | "zeroshot" | "annotate" | "suspicious" | "compare";

export async function refreshCorpora(): Promise<void> {
  app.corpora = await call("list_corpora", {});
}

export function rememberModel(spec: string, facts: ModelFacts): void {
  app.models = [...app.models.filter((m) => m.spec !== spec), { spec, facts }];
}

export function modelsWithRole(role: "discriminator" | "classifier"): LoadedModel[] {
  return app.models.filter((m) => m.facts.role === role);
}
