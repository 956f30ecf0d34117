// The span editor's rules: a record's text as words (selections snap to them), spans as the core
// stores them (character offsets by code point, end exclusive, never overlapping), and the edits
// a key or a click makes. The core checks every saved span again against the text.
import type { RunEntity, Span } from "./bindings";

/** A word or a single punctuation mark: [start, end) in code points. */
export type Word = { start: number; end: number; text: string };

/** The text's words: runs of letters, digits and marks (an apostrophe or hyphen inside a word
 * keeps it whole: "María-José", "l'aigua"), and every other visible character on its own. */
export function words(text: string): Word[] {
  const chars = Array.from(text);
  const isWordChar = (c: string) => /[\p{L}\p{N}\p{M}]/u.test(c);
  const out: Word[] = [];
  let i = 0;
  while (i < chars.length) {
    if (/\s/u.test(chars[i])) {
      i++;
      continue;
    }
    let j = i + 1;
    if (isWordChar(chars[i])) {
      while (j < chars.length && (isWordChar(chars[j]) || (/['’\-]/u.test(chars[j]) && j + 1 < chars.length && isWordChar(chars[j + 1])))) j++;
    }
    out.push({ start: i, end: j, text: chars.slice(i, j).join("") });
    i = j;
  }
  return out;
}

/** The units a selection snaps to: words, or with `subword` every visible character on its own
 * (to mark part of a word: "anti" in "antimonopolio", a tagger's piece). */
export function units(text: string, subword: boolean, cuts: number[] = []): Word[] {
  const chars = Array.from(text);
  if (subword) {
    const out: Word[] = [];
    chars.forEach((c, i) => {
      if (!/\s/u.test(c)) out.push({ start: i, end: i + 1, text: c });
    });
    return out;
  }
  // A word is cut where a saved span begins or ends inside it (one marked while sub-word spans
  // were allowed), so every saved span stays whole units, shown and editable.
  const inside = [...new Set(cuts)].sort((a, b) => a - b);
  return words(text).flatMap((w) => {
    const at = inside.filter((c) => c > w.start && c < w.end);
    const bounds = [w.start, ...at, w.end];
    return bounds.slice(1).map((end, k) => ({ start: bounds[k], end, text: chars.slice(bounds[k], end).join("") }));
  });
}

/** The words from `a` to `b` (either order), as a character range. */
export function wordRange(ws: Word[], a: number, b: number): { start: number; end: number } | null {
  if (!ws.length) return null;
  const [lo, hi] = [Math.max(0, Math.min(a, b)), Math.min(ws.length - 1, Math.max(a, b))];
  return { start: ws[lo].start, end: ws[hi].end };
}

/** The span that covers word `i`, if any. */
export function spanAt(spans: Span[], ws: Word[], i: number): Span | null {
  const w = ws[i];
  return w ? (spans.find((s) => s.start < w.end && w.start < s.end) ?? null) : null;
}

/** Adds a span over `range` with `label`: a span already on exactly that range changes type; one
 * that would overlap another is refused with why (entity spans do not nest). */
export function addSpan(spans: Span[], range: { start: number; end: number }, label: string): { spans: Span[]; error: string | null } {
  const same = spans.find((s) => s.start === range.start && s.end === range.end);
  if (same) return { spans: spans.map((s) => (s === same ? { ...s, label } : s)), error: null };
  const clash = spans.find((s) => s.start < range.end && range.start < s.end);
  if (clash) return { spans, error: `That would overlap the ${clash.label} span: entity spans do not nest. Delete it first, or select words outside it.` };
  return { spans: [...spans, { start: range.start, end: range.end, label }].sort((a, b) => a.start - b.start), error: null };
}

/** A type's key on the selection from unit `anchor` to `cursor`: a selection of one unit inside a
 * span changes that span's type (click a span, press a type); otherwise a span over the
 * selection, as [`addSpan`] makes it. */
export function mark(spans: Span[], ws: Word[], anchor: number, cursor: number, label: string): { spans: Span[]; error: string | null } {
  const within = anchor === cursor ? spanAt(spans, ws, cursor) : null;
  if (within) return { spans: spans.map((s) => (s === within ? { ...s, label } : s)), error: null };
  const range = wordRange(ws, anchor, cursor);
  return range ? addSpan(spans, range, label) : { spans, error: null };
}

/** Removes the span covering word `i`. */
export function removeAt(spans: Span[], ws: Word[], i: number): Span[] {
  const s = spanAt(spans, ws, i);
  return s ? spans.filter((x) => x !== s) : spans;
}

/** A span widened to the whole words it touches (selections snap to words). */
export function snap(span: Span, ws: Word[]): Span {
  const touched = ws.filter((w) => w.start < span.end && span.start < w.end);
  return touched.length ? { start: touched[0].start, end: touched[touched.length - 1].end, label: span.label } : span;
}

/** A tagging run's entities of one record as spans to accept, snapped to words; of entities that
 * then overlap (two pieces of one word), the first is kept. */
export function suggestedSpans(entities: RunEntity[], run: number | null, ws: Word[]): Span[] {
  const out: Span[] = [];
  for (const e of entities.filter((e) => e.run === run)) {
    const s = snap({ start: e.start, end: e.end, label: e.label }, ws);
    if (!out.some((o) => o.start < s.end && s.start < o.end)) out.push(s);
  }
  return out;
}

/** Accepting every suggestion: the suggestions that overlap nothing already there join the spans
 * (a span the user marked is never replaced, not even on the same words). */
export function acceptAll(spans: Span[], suggestions: Span[]): Span[] {
  let out = spans;
  for (const s of suggestions) {
    if (!out.some((o) => o.start < s.end && s.start < o.end)) out = addSpan(out, s, s.label).spans;
  }
  return out;
}

/** The text cut into pieces for display: each word or gap with the span (and suggestion) over it.
 * One pass over words and spans together (both by position), so a long record with hundreds of
 * spans costs its length, not words × spans. */
export function pieces(text: string, ws: Word[], spans: Span[], suggestions: Span[]) {
  const chars = Array.from(text);
  const out: { text: string; word: number | null; span: Span | null; suggested: Span | null; last: boolean }[] = [];
  const byStart = (list: Span[]) => [...list].sort((a, b) => a.start - b.start);
  const [marked, offered] = [byStart(spans), byStart(suggestions)];
  let [m, o] = [0, 0];
  // The span of `list` (from index `at` on, by start) that holds [start, end), moving `at` past
  // spans that end before it; spans do not overlap, so one pointer suffices.
  const holding = (list: Span[], at: number, w: Word): [Span | null, number] => {
    while (at < list.length && list[at].end <= w.start) at++;
    const s = list[at];
    return [s && s.start <= w.start && w.end <= s.end ? s : null, at];
  };
  let at = 0;
  ws.forEach((w, i) => {
    if (w.start > at) out.push({ text: chars.slice(at, w.start).join(""), word: null, span: null, suggested: null, last: false });
    let span: Span | null, suggested: Span | null;
    [span, m] = holding(marked, m, w);
    [suggested, o] = holding(offered, o, w);
    out.push({ text: w.text, word: i, span, suggested, last: !!span && span.end === w.end });
    at = w.end;
  });
  if (at < chars.length) out.push({ text: chars.slice(at).join(""), word: null, span: null, suggested: null, last: false });
  return out;
}
