// The labeling rules of the Annotate view, apart from its markup so they are tested alone:
// which labels a record starts with, how a label key changes the picks, keyset paging, and the
// list's selection.
import type { FilterSpec, RecordDto, RecordPredictionDto, RunLabelIssues, SortDto } from "./bindings";

/** The labels a record starts with. Its annotation's, if it has one; otherwise the chosen
 * run's suggestion (the core's rule: top label, or those over the threshold), kept to the
 * labels being used, unless the user already picked (`touched`). Enter saves exactly these, so
 * a suggestion is always shown as picked before it can be saved. */
export function startingPicks(record: RecordDto | null, predictions: RecordPredictionDto[], run: number | null, labels: string[], touched: boolean, picked: string[]): string[] {
  if (!record || touched) return picked;
  if (record.labels) return [...record.labels];
  const suggested = predictions.find((p) => p.run_id === run)?.suggested ?? [];
  return suggested.filter((l) => labels.includes(l));
}

/** A label key or click: single-label picks that label (pressing it again keeps it picked);
 * multi-label toggles it in the set. */
export function toggled(picked: string[], label: string, multiLabel: boolean): string[] {
  if (!multiLabel) return [label];
  return picked.includes(label) ? picked.filter((l) => l !== label) : [...picked, label];
}

/** What a data-quality tool or a search found: its records (the filter, in this order), the
 * labels it suggests for some of them (pre-picked when a record is shown) and what to say about
 * each. */
export type Found = { title: string; records: number[]; suggestions: Map<number, string[]>; notes: Map<number, string> };

/** Likely label errors as a found set: least likely label first, each with the run's suggestion. */
export function issuesFound(found: RunLabelIssues): Found {
  return {
    title: `${found.issues.length} likely mislabeled of ${found.records} labeled records (run ${found.run}), least likely label first`,
    records: found.issues.map((i) => i.record_id),
    suggestions: new Map(found.issues.map((i) => [i.record_id, i.suggested_labels])),
    notes: new Map(found.issues.map((i) => [i.record_id, `Likely mislabeled: labeled ${i.given}, run ${found.run} suggests ${i.suggested || "no label"} (label quality ${i.quality.toFixed(3)}).`])),
  };
}

/** The labels a record starts with when a tool suggested some: the suggestion (kept to the
 * labels being used) unless the user already picked; otherwise `startingPicks`'s. */
export function withSuggestion(picks: string[], suggested: string[] | undefined, labels: string[], touched: boolean): string[] {
  if (touched || !suggested) return picks;
  const usable = suggested.filter((l) => labels.includes(l));
  return usable.length ? usable : picks;
}

/** The order actually asked of the core: an order by a run's scores needs a run, the order by
 * suspicion a scan, the listed order a found set; without them, file order. */
export function usableSort(sort: SortDto, filter: Pick<FilterSpec, "run" | "scan" | "entity_run"> & Partial<Pick<FilterSpec, "records">>): SortDto {
  const needsRun = ["margin", "entropy", "score_asc", "score_desc"].includes(sort);
  const unusable = (needsRun && filter.run === null) || (sort === "suspicion" && filter.scan === null) || (sort === "entity_score" && !filter.entity_run)
    || (sort === "listed" && !filter.records);
  return unusable ? "row" : sort;
}

/** Keyset paging: the cursor each loaded page started after (null: the first page), the records
 * before the current page, and the cursor of the page after it. */
export type Paging = { cursors: (string | null)[]; start: number; next: string | null };

export const firstPage = (): Paging => ({ cursors: [null], start: 0, next: null });

/** Where moving `delta` records from record `index` of a page of `length` goes: a record of this
 * page, the first record of the next page, the last of the previous one, or nowhere (the ends).
 * The next page starts after this page's last record, whatever changed on this page (records
 * annotated here may have left an "unannotated" filter). */
export type Step =
  | { to: "record"; index: number }
  | { to: "page"; paging: Paging; after: string | null; index: number }
  | { to: "none" };

export function step(paging: Paging, index: number, delta: number, length: number, pageSize: number): Step {
  const to = index + delta;
  if (to >= 0 && to < length) return { to: "record", index: to };
  if (to >= length && paging.next !== null) {
    return { to: "page", paging: { ...paging, cursors: [...paging.cursors, paging.next], start: paging.start + length }, after: paging.next, index: 0 };
  }
  if (to < 0 && paging.cursors.length > 1) {
    const cursors = paging.cursors.slice(0, -1);
    return { to: "page", paging: { ...paging, cursors, start: Math.max(0, paging.start - pageSize) }, after: cursors.at(-1) ?? null, index: pageSize - 1 };
  }
  return { to: "none" };
}

/** The list's selection after clicking row `i` (shift: the range from the last click). */
export function selectRows(selected: Set<number>, ids: number[], anchor: number | null, i: number, shift: boolean): Set<number> {
  const s = new Set(selected);
  if (shift && anchor !== null) {
    const [a, b] = [Math.min(anchor, i), Math.max(anchor, i)];
    for (let k = a; k <= b; k++) s.add(ids[k]);
  } else if (s.has(ids[i])) {
    s.delete(ids[i]);
  } else {
    s.add(ids[i]);
  }
  return s;
}
