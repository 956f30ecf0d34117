import { afterEach, describe, expect, it } from "vitest";
import { call, CommandError } from "../lib/api";
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
  });
});
