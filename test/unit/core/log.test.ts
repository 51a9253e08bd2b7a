import { CompacterError, createLogger } from "@compacter/core";
import { describe, expect, it } from "vitest";

function capture(level = "debug") {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level,
    fields: { role: "compactor" },
    sink: (line) => lines.push(JSON.parse(line)),
  });
  return { log, lines };
}

describe("createLogger", () => {
  it("writes one JSON object per line with the context of every parent on it", () => {
    const { log, lines } = capture();
    log
      .child({ partition: "2025-12-12/BRCB" })
      .child({ generation: 4 })
      .info("generation committed", { key: "BRCB/SLS30I001/2025121201/2025121201.txt.gz" });
    expect(lines).toEqual([
      {
        level: "info",
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        role: "compactor",
        partition: "2025-12-12/BRCB",
        generation: 4,
        key: "BRCB/SLS30I001/2025121201/2025121201.txt.gz",
        msg: "generation committed",
      },
    ]);
  });

  it("writes an error with its type, stack and whole cause chain", () => {
    const { log, lines } = capture();
    const root = new TypeError("Cannot read properties of undefined (reading 'rows')");
    log.error("compaction job failed", {
      error: new CompacterError("engine failed", { retryable: true, cause: root }),
    });
    const error = lines[0]?.error as Record<string, unknown>;
    expect(error).toMatchObject({ type: "CompacterError", message: "engine failed", retryable: true });
    expect(error.stack).toMatch(/^CompacterError: engine failed\n\s+at /);
    expect(error.cause).toMatchObject({ type: "TypeError", message: root.message });
    expect((error.cause as { stack: string }).stack).toContain("log.test.ts");
  });

  it("drops lines below its level and refuses an unknown level", () => {
    const { log, lines } = capture("warn");
    log.info("not shown");
    log.debug("not shown");
    log.warn("shown");
    expect(lines.map((l) => l.msg)).toEqual(["shown"]);
    expect(() => createLogger({ level: "verbose" })).toThrow(/log level 'verbose' is not one of debug, info/);
  });
});
