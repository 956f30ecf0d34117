// Drawing the corpus map: a viewport from map coordinates to canvas pixels, points painted
// straight into a pixel buffer (no path per point: 100,000 points in a few milliseconds), the
// nearest point under the pointer through a grid of screen cells, and the colour choices.
import type { ColourBy, MapColours } from "./bindings";

/** Okabe–Ito's eight colours (told apart with every common colour-vision deficiency), as RGB. */
export const PALETTE: [number, number, number][] = [
  [230, 159, 0], [86, 180, 233], [0, 158, 115], [240, 228, 66], [0, 114, 178], [213, 94, 0], [204, 121, 167], [0, 0, 0],
];
const NONE: [number, number, number] = [190, 190, 190];
// viridis at 0, 0.5 and 1, for scores.
const RAMP: [number, number, number][] = [[68, 1, 84], [33, 145, 140], [253, 231, 37]];

/** A colour as ImageData's 32-bit pixel (little-endian RGBA). */
function pixel([r, g, b]: [number, number, number]): number {
  return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

function ramp(v: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, v)) * 2;
  const i = Math.min(1, Math.floor(t));
  const f = t - i;
  return [0, 1, 2].map((k) => Math.round(RAMP[i][k] + (RAMP[i + 1][k] - RAMP[i][k]) * f)) as [number, number, number];
}

/** Each point's pixel colour: its category's, a score on the ramp, or grey for none. */
export function pointColours(n: number, colours: MapColours | null): Uint32Array {
  const out = new Uint32Array(n).fill(pixel(NONE));
  if (!colours) return out;
  for (let i = 0; i < n; i++) {
    const v = colours.values?.[i];
    if (colours.values) {
      if (v !== undefined && v !== null && Number.isFinite(v)) out[i] = pixel(ramp(v));
    } else {
      const c = colours.category[i];
      if (c >= 0) out[i] = pixel(PALETTE[c % PALETTE.length]);
    }
  }
  return out;
}

/** A colour choice as a select's value, and back. */
export function colourKey(by: ColourBy): string {
  return "run" in by ? `${by.by}:${by.run}` : by.by;
}

export function parseColourKey(key: string): ColourBy {
  const [by, run] = key.split(":");
  if (by === "gold" || by === "reference") return { by };
  if (by === "run_label" || by === "run_score" || by === "suspicion") return { by, run: Number(run) };
  return { by: "reference" };
}

/** Map coordinates to canvas pixels: a scale and an offset, y pointing up. */
export class Viewport {
  scale: number;
  cx: number;
  cy: number;
  width: number;
  height: number;
  private grid: { cell: number; cols: number; heads: Int32Array; next: Int32Array } | null = null;

  constructor(scale: number, cx: number, cy: number, width: number, height: number) {
    this.scale = scale;
    this.cx = cx;
    this.cy = cy;
    this.width = width;
    this.height = height;
  }

  /** The view that shows every point with a margin. */
  static fit(xs: ArrayLike<number>, ys: ArrayLike<number>, width: number, height: number): Viewport {
    let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
    for (let i = 0; i < xs.length; i++) {
      x0 = Math.min(x0, xs[i]); x1 = Math.max(x1, xs[i]);
      y0 = Math.min(y0, ys[i]); y1 = Math.max(y1, ys[i]);
    }
    if (!Number.isFinite(x0)) [x0, x1, y0, y1] = [-1, 1, -1, 1];
    const span = Math.max((x1 - x0) / width, (y1 - y0) / height, 1e-12);
    return new Viewport(0.92 / span, (x0 + x1) / 2, (y0 + y1) / 2, width, height);
  }

  resize(width: number, height: number) {
    if (width !== this.width || height !== this.height) this.grid = null;
    this.width = width;
    this.height = height;
  }

  toScreen(x: number, y: number): [number, number] {
    return [(x - this.cx) * this.scale + this.width / 2, this.height / 2 - (y - this.cy) * this.scale];
  }

  toData(sx: number, sy: number): [number, number] {
    return [(sx - this.width / 2) / this.scale + this.cx, (this.height / 2 - sy) / this.scale + this.cy];
  }

  pan(dx: number, dy: number) {
    this.cx -= dx / this.scale;
    this.cy += dy / this.scale;
    this.grid = null;
  }

  /** Zooms by `factor` keeping the map point under (sx, sy) where it is. */
  zoom(sx: number, sy: number, factor: number) {
    const [x, y] = this.toData(sx, sy);
    this.scale *= factor;
    const [x2, y2] = this.toData(sx, sy);
    this.cx += x - x2;
    this.cy += y - y2;
    this.grid = null;
  }

  /** Paints `size`-pixel squares of each point's colour into a pixel buffer of `bw` × `bh`
   * pixels, `res` buffer pixels to a viewport pixel. */
  paint(buffer: Uint32Array, bw: number, bh: number, res: number, xs: ArrayLike<number>, ys: ArrayLike<number>, colours: Uint32Array, size: number) {
    buffer.fill(0xffffffff);
    const scale = this.scale * res;
    // Rounded to the nearest pixel (+0.5 then truncated), the square's top left corner.
    const ox = (this.width / 2) * res - this.cx * scale - (size >> 1) + 0.5;
    const oy = (this.height / 2) * res + this.cy * scale - (size >> 1) + 0.5;
    const maxX = bw - size + 1;
    const maxY = bh - size + 1;
    for (let i = 0; i < xs.length; i++) {
      const fx = xs[i] * scale + ox;
      const fy = oy - ys[i] * scale;
      // Points whose square lies wholly inside take the fast path; the rest are clipped.
      if (fx >= 0 && fy >= 0 && fx < maxX && fy < maxY) {
        const c = colours[i];
        let at = (fy | 0) * bw + (fx | 0);
        for (let dy = 0; dy < size; dy++, at += bw) {
          for (let dx = 0; dx < size; dx++) buffer[at + dx] = c;
        }
      } else if (fx > -size && fy > -size && fx < bw + 1 && fy < bh + 1) {
        const px = Math.floor(fx);
        const py = Math.floor(fy);
        const c = colours[i];
        for (let dy = 0; dy < size; dy++) {
          const y = py + dy;
          if (y < 0 || y >= bh) continue;
          for (let dx = 0; dx < size; dx++) {
            const x = px + dx;
            if (x >= 0 && x < bw) buffer[y * bw + x] = c;
          }
        }
      }
    }
  }

  /** The point nearest (sx, sy) within `radius` pixels, or -1; through a grid of screen cells
   * built once per view. */
  nearest(xs: ArrayLike<number>, ys: ArrayLike<number>, sx: number, sy: number, radius: number): number {
    const cell = Math.max(4, Math.ceil(radius));
    if (!this.grid || this.grid.cell !== cell) {
      const cols = Math.ceil(this.width / cell) + 1;
      const rows = Math.ceil(this.height / cell) + 1;
      const heads = new Int32Array(cols * rows).fill(-1);
      const next = new Int32Array(xs.length).fill(-1);
      for (let i = 0; i < xs.length; i++) {
        const [px, py] = this.toScreen(xs[i], ys[i]);
        if (px < 0 || py < 0 || px >= this.width || py >= this.height) continue;
        const k = Math.floor(py / cell) * cols + Math.floor(px / cell);
        next[i] = heads[k];
        heads[k] = i;
      }
      this.grid = { cell, cols, heads, next };
    }
    const { cols, heads, next } = this.grid;
    const rows = heads.length / cols;
    const [cx, cy] = [Math.floor(sx / cell), Math.floor(sy / cell)];
    let best = -1;
    let bestD = radius * radius;
    for (let gy = cy - 1; gy <= cy + 1; gy++) {
      for (let gx = cx - 1; gx <= cx + 1; gx++) {
        if (gx < 0 || gy < 0 || gx >= cols || gy >= rows) continue;
        for (let i = heads[gy * cols + gx]; i >= 0; i = next[i]) {
          const [px, py] = this.toScreen(xs[i], ys[i]);
          const d = (px - sx) ** 2 + (py - sy) ** 2;
          if (d <= bestD) {
            bestD = d;
            best = i;
          }
        }
      }
    }
    return best;
  }
}
