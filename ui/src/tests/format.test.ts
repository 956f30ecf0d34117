import { describe, expect, it } from "vitest";
import { entitySegments, progressText } from "../lib/format";

describe("entities in place", () => {
  it("cuts the text at character offsets counted as the core counts them (code points)", () => {
    const text = "Ana 🎓 vive en São Paulo";
    const segments = entitySegments(text, [
      { start: 14, end: 23, entity_group: "LOC", score: 0.9 },
      { start: 0, end: 3, entity_group: "PER", score: 0.8 },
    ]);
    expect(segments).toEqual([
      { text: "Ana", label: "PER", score: 0.8 },
      { text: " 🎓 vive en ", label: null, score: null },
      { text: "São Paulo", label: "LOC", score: 0.9 },
    ]);
  });
  it("leaves out empty, overlapping and out-of-text spans, keeping the text whole", () => {
    const segments = entitySegments("hola mundo", [
      { start: 0, end: 4, entity: "B-PER", score: 0.5 },
      { start: 2, end: 6, entity: "I-PER", score: 0.5 },
      { start: 5, end: 5, entity: "O", score: 0.5 },
      { start: 8, end: 40, entity: "B-LOC", score: 0.5 },
    ]);
    expect(segments.map((s) => s.text).join("")).toBe("hola mundo");
    expect(segments.filter((s) => s.label).map((s) => s.label)).toEqual(["B-PER"]);
  });
});

describe("progress in words", () => {
  it("says the stage, how far, the message and the ETA, leaving out what is unknown", () => {
    expect(progressText({ done: 3, total: 10, message: "12.0 records/s", eta_secs: 4, stage: "embedding the records" }, "records"))
      .toBe("embedding the records · 3/10 records · 12.0 records/s · ETA 4s");
    expect(progressText({ done: 512, total: 2048, message: "40 records", eta_secs: null, stage: null }, "", false)).toBe("40 records");
  });
});
