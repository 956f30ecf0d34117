import { describe, expect, it } from "vitest";
import { firstPage, selectRows, startingPicks, step, toggled, usableSort, withSuggestion } from "../lib/labeling";
import type { RecordDto, RecordPredictionDto } from "../lib/bindings";

const record = (labels: string[] | null): RecordDto => ({
  record_id: 1, row: 1, id: null, text: "t", text_pair: null, gold: null, metadata: null, metadata_text: [], labels, status: labels ? "accepted" : null,
  annotator: null, predicted: null, score: null, margin: null, entropy: null, suspicion: null, spans: null,
});
const prediction = (run_id: number, suggested: string[]): RecordPredictionDto => ({
  run_id, model: "m", multi_label: false, labels: suggested, scores: suggested.map(() => 0.5), suggested,
});

describe("the labels a record starts with", () => {
  it("are its annotation's, else the chosen run's suggestion among the labels in use", () => {
    const predictions = [prediction(7, ["deportes"]), prediction(8, ["cultura"])];
    expect(startingPicks(record(["economía"]), predictions, 7, ["deportes", "economía"], false, [])).toEqual(["economía"]);
    expect(startingPicks(record(null), predictions, 7, ["deportes", "economía"], false, [])).toEqual(["deportes"]);
    expect(startingPicks(record(null), predictions, 8, ["deportes", "economía"], false, [])).toEqual([]);
    expect(startingPicks(record(null), predictions, null, ["deportes"], false, [])).toEqual([]);
  });
  it("never replace what the user picked", () => {
    expect(startingPicks(record(null), [prediction(7, ["deportes"])], 7, ["deportes", "cultura"], true, ["cultura"])).toEqual(["cultura"]);
  });
});

describe("a label key", () => {
  it("picks one label in a single-label task and toggles in a multi-label one", () => {
    expect(toggled(["a"], "b", false)).toEqual(["b"]);
    expect(toggled(["b"], "b", false)).toEqual(["b"]);
    expect(toggled(["a"], "b", true)).toEqual(["a", "b"]);
    expect(toggled(["a", "b"], "a", true)).toEqual(["b"]);
  });
});

describe("the order asked of the core", () => {
  it("falls back to file order when the order needs a run or a scan that is not chosen", () => {
    const none = { run: null, scan: null, entity_run: null };
    expect(usableSort("margin", none)).toBe("row");
    expect(usableSort("margin", { ...none, run: 3 })).toBe("margin");
    expect(usableSort("suspicion", { ...none, run: 3 })).toBe("row");
    expect(usableSort("random", none)).toBe("random");
    expect(usableSort("entity_score", none)).toBe("row");
    expect(usableSort("entity_score", { ...none, entity_run: 9 })).toBe("entity_score");
  });
});

describe("keyset paging", () => {
  it("moves within a page, onto the next page after its last record, and back", () => {
    const p = { ...firstPage(), next: "c1" };
    expect(step(p, 3, 1, 50, 50)).toEqual({ to: "record", index: 4 });
    const forward = step(p, 49, 1, 50, 50);
    expect(forward).toEqual({ to: "page", paging: { cursors: [null, "c1"], start: 50, next: "c1" }, after: "c1", index: 0 });
    if (forward.to !== "page") throw new Error("a page");
    const back = step({ ...forward.paging, next: "c2" }, 0, -1, 50, 50);
    expect(back).toEqual({ to: "page", paging: { cursors: [null], start: 0, next: "c2" }, after: null, index: 49 });
  });
  it("stops at both ends", () => {
    expect(step(firstPage(), 0, -1, 10, 50)).toEqual({ to: "none" });
    expect(step(firstPage(), 9, 1, 10, 50)).toEqual({ to: "none" });
  });
});

describe("the list's selection", () => {
  it("toggles a row, and shift-click adds the range from the last click", () => {
    const ids = [10, 11, 12, 13];
    let s = selectRows(new Set(), ids, null, 1, false);
    expect([...s]).toEqual([11]);
    s = selectRows(s, ids, 1, 3, true);
    expect([...s].sort()).toEqual([11, 12, 13]);
    s = selectRows(s, ids, 3, 2, false);
    expect([...s].sort()).toEqual([11, 13]);
  });
});

describe("a tool's suggestion", () => {
  it("is picked unless the user picked, kept to the labels in use; the listed order needs a found set", () => {
    expect(withSuggestion(["cultura"], ["economía"], ["cultura", "economía"], false)).toEqual(["economía"]);
    expect(withSuggestion(["cultura"], ["economía"], ["cultura", "economía"], true)).toEqual(["cultura"]);
    expect(withSuggestion(["cultura"], ["otra"], ["cultura", "economía"], false)).toEqual(["cultura"]);
    expect(withSuggestion([], undefined, ["cultura"], false)).toEqual([]);
    expect(usableSort("listed", { run: null, scan: null, entity_run: null, records: null })).toBe("row");
    expect(usableSort("listed", { run: null, scan: null, entity_run: null, records: [3, 1] })).toBe("listed");
  });
});
