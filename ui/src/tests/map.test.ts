import { describe, expect, it } from "vitest";
import { colourKey, parseColourKey, pointColours, Viewport, PALETTE } from "../lib/map";
import { heatSegments } from "../lib/format";

describe("the map's viewport", () => {
  const xs = [0, 10, 10, 0, 5];
  const ys = [0, 0, 10, 10, 5];

  it("fits every point and maps back and forth", () => {
    const v = Viewport.fit(xs, ys, 200, 100);
    for (let i = 0; i < xs.length; i++) {
      const [sx, sy] = v.toScreen(xs[i], ys[i]);
      expect(sx).toBeGreaterThanOrEqual(0);
      expect(sx).toBeLessThanOrEqual(200);
      expect(sy).toBeGreaterThanOrEqual(0);
      expect(sy).toBeLessThanOrEqual(100);
      const [x, y] = v.toData(sx, sy);
      expect(x).toBeCloseTo(xs[i], 9);
      expect(y).toBeCloseTo(ys[i], 9);
    }
    // y points up: the top of the map is the top of the canvas.
    expect(v.toScreen(0, 10)[1]).toBeLessThan(v.toScreen(0, 0)[1]);
  });

  it("zooms about the pointer and pans by pixels", () => {
    const v = Viewport.fit(xs, ys, 200, 100);
    const before = v.toData(30, 40);
    v.zoom(30, 40, 2.5);
    const after = v.toData(30, 40);
    expect(after[0]).toBeCloseTo(before[0], 9);
    expect(after[1]).toBeCloseTo(before[1], 9);
    const [sx, sy] = v.toScreen(5, 5);
    v.pan(7, -3);
    const [tx, ty] = v.toScreen(5, 5);
    expect(tx - sx).toBeCloseTo(7, 9);
    expect(ty - sy).toBeCloseTo(-3, 9);
  });

  it("paints each point's colour and finds the nearest point under the pointer", () => {
    const v = Viewport.fit(xs, ys, 200, 100);
    const colours = new Uint32Array([1, 2, 3, 4, 5]);
    const buffer = new Uint32Array(200 * 100);
    v.paint(buffer, 200, 100, 1, xs, ys, colours, 2);
    // At half resolution the same point lands at half the coordinates.
    const half = new Uint32Array(100 * 50);
    v.paint(half, 100, 50, 0.5, xs, ys, colours, 1);
    const [hx, hy] = v.toScreen(5, 5).map((c) => Math.round(c / 2));
    expect([half[hy * 100 + hx], half[(hy - 1) * 100 + hx - 1], half[hy * 100 + hx - 1], half[(hy - 1) * 100 + hx]]).toContain(5);
    const [sx, sy] = v.toScreen(5, 5).map(Math.round);
    expect([buffer[sy * 200 + sx], buffer[(sy - 1) * 200 + sx - 1]]).toContain(5);
    expect(v.nearest(xs, ys, sx + 2, sy + 1, 6)).toBe(4);
    expect(v.nearest(xs, ys, sx + 30, sy, 6)).toBe(-1);
    // After a pan the grid follows the points.
    v.pan(40, 0);
    const [px, py] = v.toScreen(10, 0);
    expect(v.nearest(xs, ys, px, py, 6)).toBe(1);
  });
});

describe("the map's colours", () => {
  it("gives categories the palette, scores the ramp and none grey", () => {
    const c = pointColours(3, { categories: ["a", "b"], category: [0, 1, -1], values: null });
    const rgb = (p: number) => [p & 255, (p >> 8) & 255, (p >> 16) & 255];
    expect(rgb(c[0])).toEqual(PALETTE[0]);
    expect(rgb(c[1])).toEqual(PALETTE[1]);
    expect(rgb(c[2])).toEqual([190, 190, 190]);
    const s = pointColours(3, { categories: [], category: [-1, -1, -1], values: [0, 1, Number.NaN] });
    expect(rgb(s[0])).toEqual([68, 1, 84]);
    expect(rgb(s[1])).toEqual([253, 231, 37]);
    expect(rgb(s[2])).toEqual([190, 190, 190]);
  });

  it("round-trips a colour choice through the select's value", () => {
    for (const by of [{ by: "gold" }, { by: "reference" }, { by: "run_label", run: 3 }, { by: "run_score", run: 12 }, { by: "suspicion", run: 1 }] as const) {
      expect(parseColourKey(colourKey(by))).toEqual(by);
    }
  });
});

describe("word heat", () => {
  it("cuts a text into its explained words and the rest, by code points", () => {
    const text = "¡Qué 😡 mal!";
    const segments = heatSegments(text, [{ start: 0, end: 4, weight: 1 }, { start: 7, end: 11, weight: -1 }]);
    expect(segments.map((s) => s.text)).toEqual(["¡Qué", " 😡 ", "mal!"]);
    expect(segments.map((s) => s.word?.weight ?? null)).toEqual([1, null, -1]);
    expect(segments.map((s) => s.text).join("")).toBe(text);
  });
});
