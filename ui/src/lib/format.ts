// Number and text formatting shared by the views.

export function pct(x: number, digits = 1): string {
  return `${(x * 100).toFixed(digits)}%`;
}

export function fixed(x: number | null | undefined, digits = 4): string {
  return x === null || x === undefined ? "–" : x.toFixed(digits);
}

export function params(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

/** A size in bytes as people read it: "512 B", "3.4 kB", "1.2 MB", "5.0 GB" (powers of 1000, as the Hub shows sizes). */
export function bytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = n / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

export function duration(secs: number | null | undefined): string {
  if (secs === null || secs === undefined || !isFinite(secs)) return "–";
  const s = Math.round(secs);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m ${s % 60}s` : `${Math.floor(m / 60)}h ${m % 60}m`;
}

/** Background for a P(replaced): transparent at 0, strong at 1 (CSS var keeps both themes legible). */
export function heat(p: number): string {
  const a = Math.max(0, Math.min(1, p));
  return `rgba(var(--heat-rgb), ${(0.08 + 0.82 * a).toFixed(3)})`;
}

/** An SVG chart from the core as an image URL: shown with <img>, so it can never run as markup. */
export function svgUrl(svg: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

/** Labels typed as a comma-separated list, for labeling without a run: blanks and repeats are
 * dropped (a repeat would be the same button twice). */
export function splitLabels(text: string): string[] {
  return [...new Set(text.split(",").map((l) => l.trim()).filter((l) => l.length > 0))];
}

/** Long work's progress in words, the same in every view: what it is doing, how far (`done/total
 * unit`, unless `count` is off, e.g. for bytes), the core's message and the ETA. */
export function progressText(p: { done: number; total: number; message: string; eta_secs: number | null; stage: string | null }, unit = "", count = true): string {
  const parts = [
    p.stage,
    count ? `${p.done}/${p.total}${unit ? ` ${unit}` : ""}` : null,
    p.message || null,
    p.eta_secs !== null ? `ETA ${duration(p.eta_secs)}` : null,
  ];
  return parts.filter((x) => x).join(" · ");
}

/** A text cut at entity spans (character offsets, as the core counts them: Unicode scalars),
 * for showing entities in place. Overlapping or empty spans are left out of the text (the list
 * beside it still has them). */
export function entitySegments(text: string, entities: { start: number; end: number; entity?: string; entity_group?: string; score: number }[]): { text: string; label: string | null; score: number | null }[] {
  const chars = Array.from(text);
  const out: { text: string; label: string | null; score: number | null }[] = [];
  let at = 0;
  for (const e of [...entities].sort((a, b) => a.start - b.start)) {
    if (e.start < at || e.end <= e.start || e.end > chars.length) continue;
    if (e.start > at) out.push({ text: chars.slice(at, e.start).join(""), label: null, score: null });
    out.push({ text: chars.slice(e.start, e.end).join(""), label: e.entity_group ?? e.entity ?? "", score: e.score });
    at = e.end;
  }
  if (at < chars.length) out.push({ text: chars.slice(at).join(""), label: null, score: null });
  return out;
}

/** A text cut into explained words (with their weights) and what lies between them; offsets are
 * in characters (code points), as the core counts them. */
export function heatSegments<W extends { start: number; end: number }>(text: string, words: W[]): { text: string; word: W | null }[] {
  const chars = Array.from(text);
  const out: { text: string; word: W | null }[] = [];
  let at = 0;
  for (const w of [...words].sort((a, b) => a.start - b.start)) {
    if (w.start < at || w.end <= w.start || w.end > chars.length) continue;
    if (w.start > at) out.push({ text: chars.slice(at, w.start).join(""), word: null });
    out.push({ text: chars.slice(w.start, w.end).join(""), word: w });
    at = w.end;
  }
  if (at < chars.length) out.push({ text: chars.slice(at).join(""), word: null });
  return out;
}
