import { describe, expect, it } from "vitest";
import { acceptAll, addSpan, mark, pieces, removeAt, spanAt, suggestedSpans, units, wordRange, words } from "../lib/spans";

describe("span editor rules", () => {
  it("snaps a tagger's sub-word entities to whole words, keeping the first of those that then overlap", () => {
    const ws = words("Banco de España");
    const entities = [
      { run: 1, label: "ORG", start: 0, end: 2, score: 0.9, text: "Ba" },
      { run: 1, label: "MISC", start: 2, end: 5, score: 0.9, text: "nco" },
      { run: 1, label: "LOC", start: 7, end: 12, score: 0.9, text: " Esp" },
    ];
    expect(suggestedSpans(entities, 1, ws)).toEqual([{ start: 0, end: 5, label: "ORG" }, { start: 6, end: 15, label: "LOC" }]);
  });

  it("cuts text into words by code point, keeping hyphenated names and emoji apart", () => {
    const ws = words("María-José vio 🎓 en São Paulo, ¿no?");
    expect(ws.map((w) => w.text)).toEqual(["María-José", "vio", "🎓", "en", "São", "Paulo", ",", "¿", "no", "?"]);
    // Offsets are code points, as the core counts characters: the emoji is one.
    expect(ws[2]).toEqual({ start: 15, end: 16, text: "🎓" });
    expect(ws[3].start).toBe(17);
  });

  it("marks a selection of words, changes a span's type, refuses overlaps and removes spans", () => {
    const text = "Juan Pérez vive en Madrid";
    const ws = words(text);
    let spans = addSpan([], wordRange(ws, 1, 0)!, "PER").spans;
    expect(spans).toEqual([{ start: 0, end: 10, label: "PER" }]);
    spans = addSpan(spans, wordRange(ws, 4, 4)!, "LOC").spans;
    spans = addSpan(spans, wordRange(ws, 4, 4)!, "ORG").spans;
    expect(spans.map((s) => s.label)).toEqual(["PER", "ORG"]);
    const clash = addSpan(spans, wordRange(ws, 1, 2)!, "MISC");
    expect(clash.error).toContain("overlap the PER span");
    expect(clash.spans).toBe(spans);
    expect(spanAt(spans, ws, 1)?.label).toBe("PER");
    expect(removeAt(spans, ws, 1)).toEqual([{ start: 19, end: 25, label: "ORG" }]);
  });

  it("accepts a run's suggestions around what is already marked, and shows both", () => {
    const text = "Ana vive en Lima";
    const ws = words(text);
    const entities = [
      { run: 3, label: "PER", start: 0, end: 3, score: 0.9, text: "Ana" },
      { run: 3, label: "LOC", start: 12, end: 16, score: 0.8, text: "Lima" },
      { run: 4, label: "ORG", start: 12, end: 16, score: 0.7, text: "Lima" },
    ];
    const suggested = suggestedSpans(entities, 3, ws);
    const mine = [{ start: 12, end: 16, label: "ORG" }];
    expect(acceptAll(mine, suggested)).toEqual([{ start: 0, end: 3, label: "PER" }, { start: 12, end: 16, label: "ORG" }]);
    const shown = pieces(text, ws, mine, suggested);
    expect(shown.map((p) => p.text).join("")).toBe(text);
    expect(shown.find((p) => p.text === "Ana")!.suggested?.label).toBe("PER");
    expect(shown.find((p) => p.text === "Lima")!.last).toBe(true);
  });

  it("cuts words where a saved span begins or ends inside them, and allows single characters when sub-word spans are on", () => {
    const text = "antimonopolio en 🇪🇸";
    expect(units(text, false).map((u) => u.text)).toEqual(["antimonopolio", "en", "🇪", "🇸"]);
    // A span over "anti" (saved with sub-word spans on) stays whole units in word mode.
    const cut = units(text, false, [0, 4]);
    expect(cut.map((u) => u.text)).toEqual(["anti", "monopolio", "en", "🇪", "🇸"]);
    expect(pieces(text, cut, [{ start: 0, end: 4, label: "MISC" }], []).filter((p) => p.span).map((p) => p.text)).toEqual(["anti"]);
    const chars = units(text, true);
    expect(chars).toHaveLength(Array.from(text).filter((c) => c !== " ").length);
    expect(chars[13]).toEqual({ start: 14, end: 15, text: "e" });
  });

  it("retypes the span under a one-word selection and marks a new span otherwise", () => {
    const ws = words("Juan Pérez vive en Madrid");
    const spans = [{ start: 0, end: 10, label: "LOC" }];
    expect(mark(spans, ws, 1, 1, "PER")).toEqual({ spans: [{ start: 0, end: 10, label: "PER" }], error: null });
    expect(mark(spans, ws, 4, 4, "LOC").spans).toEqual([...spans, { start: 19, end: 25, label: "LOC" }]);
    // Two words reaching into the span: refused, not retyped.
    expect(mark(spans, ws, 1, 2, "PER").error).toContain("overlap the LOC span");
  });
});
