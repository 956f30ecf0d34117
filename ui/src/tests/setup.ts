// Shared helpers for the UI unit tests: the IPC is Tauri's mockIPC, answering from a table of
// handlers per command, and every call is recorded so tests can check what the UI asked for.
import { mockIPC, clearMocks } from "@tauri-apps/api/mocks";
import type { Commands } from "../lib/bindings";

export type Call = { cmd: string; args: Record<string, unknown> };
type Handler = (args: Record<string, unknown>) => unknown;

/** The project's front-end settings while a test runs (what get_setting/set_setting see). */
export const settings = new Map<string, string>();

/** Answers for the commands every view makes in passing, unless a test gives its own. */
const passive: Partial<Record<keyof Commands, Handler>> = {
  get_setting: (a) => settings.get(a.key as string) ?? null,
  set_setting: (a) => {
    settings.set(a.key as string, a.value as string);
    return null;
  },
  label_sources: () => ({ annotations: 0, annotation_kinds: 0, gold: 0, gold_kinds: 0, suggested: "both" }),
  metadata_keys: () => [],
  label_warnings: () => [],
  meta_filter_help: () => null,
};

export function mockCommands(handlers: Partial<Record<keyof Commands, Handler>>): Call[] {
  const calls: Call[] = [];
  mockIPC((cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    const handler = handlers[cmd as keyof Commands] ?? passive[cmd as keyof Commands];
    if (!handler) throw { code: "input", message: `unexpected command ${cmd}` };
    return handler(a);
  });
  return calls;
}

/** Delivers a message on a Channel the UI passed to a command, as the Rust side does. */
export function sendOnChannel(channel: unknown, index: number, message: unknown): void {
  const id = (channel as { id: number }).id;
  (window as unknown as { __TAURI_INTERNALS__: { runCallback: (id: number, data: unknown) => void } }).__TAURI_INTERNALS__.runCallback(id, { index, message });
}

export { clearMocks };
