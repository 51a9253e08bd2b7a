import { writeFileSync } from "node:fs";
import { DuckDBInstance, VARCHAR } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { filesFailingAlone, probeRead } from "../../../packages/duckdb/src/compaction/isolateOffenders.js";
import { Workspace } from "./fixtures.js";

let ws: Workspace;
beforeAll(() => {
  ws = new Workspace();
});
afterAll(() => ws.remove());

describe("tracing a write error that names no file", () => {
  it("finds the inputs that fail on their own with a real DuckDB, and none when every input reads", async () => {
    const instance = await DuckDBInstance.create(":memory:", { threads: "1" });
    const connection = await instance.connect();
    try {
      const paths = ["good-1", "bad", "good-2"].map((name, index) => {
        const path = ws.path(`${name}.ndjson`);
        writeFileSync(path, name === "bad" ? '{"n":"not a number"}\n' : '{"n":1}\n{"n":2}\n');
        return { index, path };
      });
      // A strict read, as the write is: the bad file's value does not convert.
      const probe = (source: { path: string }) =>
        probeRead(connection, (params, types) => {
          params.file = source.path;
          types.file = VARCHAR;
          return "SELECT * FROM read_ndjson($file, columns = {'n': 'INTEGER'}, auto_detect = false)";
        });
      const offenders = await filesFailingAlone(paths, probe);
      expect(offenders.map((o) => o.index)).toEqual([1]);
      expect(String(offenders[0]?.error)).toMatch(/not a number|Conversion/i);
      expect(await filesFailingAlone([paths[0]!, paths[2]!], probe)).toEqual([]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});
