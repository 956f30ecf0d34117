// A view's choices, remembered in the project (the core's front-end settings): they survive
// switching views, a restart, and travel with the project file.
import { call } from "./api";

const pending = new Map<string, ReturnType<typeof setTimeout>>();

/** The value stored under `key` (a `ui.` key), or null. A value that cannot be read is none. */
export async function recall<T>(key: string): Promise<T | null> {
  try {
    const text = await call("get_setting", { key });
    return text === null ? null : (JSON.parse(text) as T);
  } catch {
    return null;
  }
}

/** Stores `value` under `key` after `delay` ms without another change (typing stores once). */
export function remember(key: string, value: unknown, delay = 300): void {
  clearTimeout(pending.get(key));
  pending.set(
    key,
    setTimeout(() => {
      pending.delete(key);
      call("set_setting", { key, value: JSON.stringify(value) }).catch((e) => console.warn(`could not remember ${key}:`, e));
    }, delay),
  );
}

/** Keeps the fields of `saved` that have the type of the default's (a stale or hand-edited
 * setting never puts a wrong type into a view). */
function merged<T extends Record<string, unknown>>(defaults: T, saved: unknown): T {
  const out = { ...defaults };
  if (saved && typeof saved === "object") {
    for (const k of Object.keys(defaults) as (keyof T)[]) {
      const v = (saved as Record<string, unknown>)[k as string];
      const d = defaults[k];
      if (v !== undefined && (d === null || v === null ? true : typeof v === typeof d)) out[k] = v as T[keyof T];
    }
  }
  return out;
}

/** The values a view restores: what the user changed while the settings were read (`now`
 * differs from `initial`) stays; the rest comes from `saved` (checked as [`merged`] does). */
export function restored<T extends Record<string, unknown>>(initial: T, now: T, saved: unknown): T {
  const fromSaved = merged(initial, saved);
  const out = { ...fromSaved };
  for (const k of Object.keys(initial) as (keyof T)[]) {
    if (now[k] !== initial[k]) out[k] = now[k];
  }
  return out;
}
