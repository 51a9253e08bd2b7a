import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runSql } from "../../../packages/cli/src/query/runSql.js";

/**
 * `compacter query`'s DuckDB step and an abort (Ctrl-C, or the console's browser leaving)
 * that arrives before DuckDB is running anything: the statement must not run at all.
 */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "compacter-runsql-abort-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it("does not start the user's statement when the abort came first", async () => {
  const aborted = new AbortController();
  aborted.abort();
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  // Hours of work if it ran: the test would time out instead of seeing the abort.
  const endless = runSql(
    { sql: "SELECT sum(i) FROM range(1000000000000) t(i)", params: {}, format: "json", out: sink },
    {
      lakeRoot: undefined,
      scratchDir: join(dir, "scratch"),
      memoryLimitBytes: 256 * 1024 * 1024,
      threads: 1,
      signal: aborted.signal,
    },
  );
  await expect(endless).rejects.toThrow(/abort/i);
});
