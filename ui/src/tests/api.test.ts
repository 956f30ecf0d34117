import { afterEach, describe, expect, it } from "vitest";
import { call, Channel, CommandError } from "../lib/api";
import { clearMocks, mockCommands } from "./setup";

afterEach(() => clearMocks());

describe("call", () => {
  it("passes the arguments and returns the result", async () => {
    const calls = mockCommands({ list_runs: () => [] });
    await expect(call("list_runs", { corpus: "noticias" })).resolves.toEqual([]);
    expect(calls).toEqual([{ cmd: "list_runs", args: { corpus: "noticias" } }]);
  });

  it("turns the core's {code, message} into a CommandError the UI can branch on", async () => {
    mockCommands({
      inspect: () => {
        throw { code: "not_cached", message: "Recognai/selectra_small is not in the cache" };
      },
    });
    const error = await call("inspect", { args: { model: { spec: "x/y", strip_accents: false }, text: "hola" } }).catch((e) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect(error.code).toBe("not_cached");
    expect(error.message).toContain("not in the cache");
    expect(error.settings).toEqual([]);
  });

  it("keeps the settings that fix an error, for the form to focus", async () => {
    mockCommands({
      import_corpus: () => {
        throw { code: "input", message: "which column holds the text?", settings: ["text_column"] };
      },
    });
    const args = { path: "a.csv", name: "a", format: null, text_column: null, id_column: null, label_column: null, metadata_columns: [], skip_bad: false };
    const error = await call("import_corpus", { args, task: "t", onProgress: new Channel() } as never).catch((e) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect(error.settings).toEqual(["text_column"]);
  });
});
