// The labeling keymap. Keys are matched on `KeyboardEvent.key` (the character the layout
// produces), so "1" is the key labelled 1 on AZERTY or Dvorak too; every action can be rebound
// and the bindings are kept in localStorage.

export type Action =
  | "label1" | "label2" | "label3" | "label4" | "label5" | "label6" | "label7" | "label8" | "label9"
  | "accept" | "pending" | "discard" | "undo" | "next" | "previous" | "explain";

export const ACTIONS: { action: Action; title: string }[] = [
  ...Array.from({ length: 9 }, (_, i) => ({ action: `label${i + 1}` as Action, title: `Pick label ${i + 1}` })),
  { action: "accept", title: "Accept (the picked labels, else the model's)" },
  { action: "pending", title: "Save as pending (unsure: come back to it)" },
  { action: "discard", title: "Discard the record" },
  { action: "undo", title: "Undo the last change" },
  { action: "next", title: "Next record" },
  { action: "previous", title: "Previous record" },
  { action: "explain", title: "Why this label? (the words that made the model's label)" },
];

export type Keymap = Record<Action, string>;

export const DEFAULT_KEYMAP: Keymap = {
  label1: "1", label2: "2", label3: "3", label4: "4", label5: "5",
  label6: "6", label7: "7", label8: "8", label9: "9",
  accept: "Enter",
  pending: "Shift+Enter",
  discard: "Ctrl+d",
  undo: "Ctrl+z",
  next: "ArrowRight",
  previous: "ArrowLeft",
  explain: "Ctrl+e",
};

const STORAGE_KEY = "selectra.keymap";

/** The key chord of an event, e.g. "Ctrl+z", "Enter", "Shift+Enter", "é". Shift counts only with
 * named keys: with a character it is part of the character. */
export function chord(e: KeyboardEvent): string {
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  const mods = [e.ctrlKey || e.metaKey ? "Ctrl" : "", e.altKey ? "Alt" : "", e.shiftKey && e.key.length > 1 ? "Shift" : ""].filter(Boolean);
  return [...mods, key].join("+");
}

export function actionFor(map: Keymap, e: KeyboardEvent): Action | null {
  const c = chord(e);
  const found = (Object.keys(map) as Action[]).find((a) => map[a].toLowerCase() === c.toLowerCase());
  if (found) return found;
  // The arrows along the other axis move too.
  if (c === "ArrowDown" && map.next === "ArrowRight") return "next";
  if (c === "ArrowUp" && map.previous === "ArrowLeft") return "previous";
  return null;
}

export function loadKeymap(storage: Storage = localStorage): Keymap {
  try {
    const saved = JSON.parse(storage.getItem(STORAGE_KEY) ?? "{}");
    return { ...DEFAULT_KEYMAP, ...saved };
  } catch {
    return { ...DEFAULT_KEYMAP };
  }
}

export function saveKeymap(map: Keymap, storage: Storage = localStorage): void {
  storage.setItem(STORAGE_KEY, JSON.stringify(map));
}

/** Binding a key already bound elsewhere moves it: the other action loses it. */
export function rebind(map: Keymap, action: Action, key: string): Keymap {
  const next = { ...map };
  for (const a of Object.keys(next) as Action[]) {
    if (a !== action && next[a].toLowerCase() === key.toLowerCase()) next[a] = "";
  }
  next[action] = key;
  return next;
}
