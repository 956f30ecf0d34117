import { describe, expect, it } from "vitest";
import { actionFor, chord, DEFAULT_KEYMAP, loadKeymap, rebind, saveKeymap } from "../lib/keys";

const key = (k: string, mods: Partial<KeyboardEventInit> = {}) => new KeyboardEvent("keydown", { key: k, ...mods });

describe("keymap", () => {
  it("maps the default keys to actions", () => {
    expect(actionFor(DEFAULT_KEYMAP, key("3"))).toBe("label3");
    expect(actionFor(DEFAULT_KEYMAP, key("Enter"))).toBe("accept");
    expect(actionFor(DEFAULT_KEYMAP, key("z", { ctrlKey: true }))).toBe("undo");
    expect(actionFor(DEFAULT_KEYMAP, key("Z", { ctrlKey: true }))).toBe("undo");
    expect(actionFor(DEFAULT_KEYMAP, key("ArrowDown"))).toBe("next");
    expect(actionFor(DEFAULT_KEYMAP, key("z"))).toBeNull();
    // Shift counts with named keys only: Shift+Enter saves as pending, Shift+1 ("!") is a character.
    expect(actionFor(DEFAULT_KEYMAP, key("Enter", { shiftKey: true }))).toBe("pending");
    expect(chord(key("!", { shiftKey: true }))).toBe("!");
  });

  it("rebinding moves a key away from the action that had it", () => {
    // An AZERTY user puts label 1 on "&" (the unshifted 1 key) and Enter on "a".
    let map = rebind(DEFAULT_KEYMAP, "label1", chord(key("&")));
    map = rebind(map, "accept", "a");
    expect(actionFor(map, key("&"))).toBe("label1");
    expect(actionFor(map, key("1"))).toBeNull();
    expect(actionFor(map, key("a"))).toBe("accept");
    const moved = rebind(map, "discard", "a");
    expect(moved.accept).toBe("");
    expect(actionFor(moved, key("a"))).toBe("discard");
  });

  it("keeps bindings across sessions", () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) } as Storage;
    saveKeymap(rebind(DEFAULT_KEYMAP, "next", "j"), storage);
    expect(loadKeymap(storage).next).toBe("j");
    expect(loadKeymap(storage).previous).toBe(DEFAULT_KEYMAP.previous);
  });
});
