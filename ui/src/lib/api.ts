// The one way the UI talks to the core: typed `invoke` over the generated command map.
import { invoke, Channel } from "@tauri-apps/api/core";
import type { Commands, ErrorDto, ErrorCode, Setting } from "./bindings";

export { Channel };

/** A command's error as the UI shows it: a closed `code` to branch on and a message for people. */
export class CommandError extends Error {
  code: ErrorCode | "ipc";
  /** The settings that fix the error, most relevant first (the field a form should focus). */
  settings: Setting[];
  constructor(code: ErrorCode | "ipc", message: string, settings: Setting[] = []) {
    super(message);
    this.code = code;
    this.settings = settings;
  }
}

function isErrorDto(e: unknown): e is ErrorDto {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}

export async function call<K extends keyof Commands>(
  name: K,
  args: Commands[K]["args"],
): Promise<Commands[K]["result"]> {
  try {
    return (await invoke(name, args as Record<string, unknown>)) as Commands[K]["result"];
  } catch (e) {
    if (isErrorDto(e)) throw new CommandError(e.code, e.message, Array.isArray(e.settings) ? e.settings : []);
    throw new CommandError("ipc", String(e));
  }
}

/** The message to show for any thrown value. */
export function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A fresh id for a cancellable task. */
export function taskId(): string {
  return `task-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** The corpus's runs that score labels per record (what suggestions, filters and Compare read):
 * every run but taggers', as the core marks them. */
export async function labelRuns(corpus: string) {
  return (await call("list_runs", { corpus })).filter((r) => r.predicts_labels);
}
