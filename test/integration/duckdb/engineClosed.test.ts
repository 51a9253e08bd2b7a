import { isRetryable } from "@compacter/core";
import { createDuckDbEngine, EngineClosedError } from "@compacter/duckdb";
import { describe, expect, it } from "vitest";

describe("a job that reaches a closed engine (the process is shutting down)", () => {
  it.each([1, 2])(
    "fails with a retryable EngineClosedError (%i slot(s)), so its message comes back",
    async (slots) => {
      const engine = createDuckDbEngine({ slots });
      await engine.close();
      const error = await engine.compact({} as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EngineClosedError);
      expect(isRetryable(error)).toBe(true);
    },
  );
});
