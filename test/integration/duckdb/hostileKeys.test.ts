import { type CompactionEngine, columnNameForField, type FieldColumn } from "@compacter/core";
import { createDuckDbEngine } from "@compacter/duckdb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { job, line, queryParquet, rawInput, Workspace } from "./fixtures.js";

const HOUR = 1765472400;

/** Every awkward key we could think of, each with a value no other key has. */
const AWKWARD: readonly string[] = [
  "",
  " ",
  "Speed", // a case twin of the fixture's own "speed"
  "SPEED",
  "café", // NFC
  "cafe\u0301", // NFD: renders the same
  "k".repeat(300),
  'quo"te',
  "apo'strophe",
  "a.b",
  "a[0]",
  "nul\u0000byte",
  "lone\ud800",
  "device_id",
  "source_file",
  "event_time",
  "district",
  "hiveperiod",
  "rowid",
  "filename",
  "file_row_number",
  "__compacter_path",
  "speed__0123456789ab",
  "emoji😀",
];

let ws: Workspace;
let engine: CompactionEngine;

beforeAll(() => {
  ws = new Workspace();
  engine = createDuckDbEngine();
});

afterAll(async () => {
  await engine.close();
  ws.remove();
});

function valuesOf(i: number): Record<string, unknown> {
  return Object.fromEntries(AWKWARD.map((key, k) => [key, (i + 1) * 1000 + k]));
}

describe("hostile keys", () => {
  it("stores every key in its own column with every value, in one file or spread over two", async () => {
    // File 1 holds all keys on every line; file 2 holds each key on its own line, so a
    // key's column cannot depend on which other keys a file has.
    const together = ws.rawFile(
      "together.txt.gz",
      [0, 1].map((i) => line("DEV100", HOUR + i, valuesOf(i))),
    );
    const apart = ws.rawFile(
      "apart.txt.gz",
      AWKWARD.map((key, k) => line("DEV101", HOUR + k, { [key]: 5000 + k })),
    );
    const inputs = [rawInput(together, "DEV100"), rawInput(apart, "DEV101")];
    const result = await engine.compact(job(ws, { raw: inputs }));
    expect(result.files.map((f) => f.outcome)).toEqual(["read", "read"]);
    expect(result.rowsOut).toBe(2 + AWKWARD.length);

    const files = result.outputs.map((o) => o.localPath);
    for (const [k, key] of AWKWARD.entries()) {
      const column = columnNameForField(key);
      const rows = await queryParquet(
        files,
        `SELECT device_id, heartbeat, "${column}"::BIGINT AS v FROM {files} WHERE "${column}" IS NOT NULL ORDER BY ALL`,
      );
      expect(rows, `key ${JSON.stringify(key)} → ${column}`).toEqual([
        { device_id: "DEV100", heartbeat: HOUR, v: 1000n + BigInt(k) },
        { device_id: "DEV100", heartbeat: HOUR + 1, v: 2000n + BigInt(k) },
        { device_id: "DEV101", heartbeat: HOUR + k, v: 5000n + BigInt(k) },
      ]);
    }
    // The fixture's own plain "speed" keeps its column and its values next to its twins.
    const speeds = await queryParquet(files, "SELECT count(speed)::INTEGER AS n FROM {files}");
    expect(speeds).toEqual([{ n: 2 + AWKWARD.length }]);
    // The columns Compacter adds still say what they said.
    const added = await queryParquet(files, "SELECT DISTINCT device_id FROM {files} ORDER BY 1");
    expect(added).toEqual([{ device_id: "DEV100" }, { device_id: "DEV101" }]);

    const expected: FieldColumn[] = AWKWARD.map((field) => ({ field, column: columnNameForField(field) }));
    expect(new Set(result.renamedFields?.map((r) => r.field))).toEqual(new Set(AWKWARD));
    // The mapping travels with the Parquet file too.
    const kv = await queryParquet(
      files,
      "SELECT decode(value) AS v FROM parquet_kv_metadata($files) WHERE decode(key) = 'compacter_renamed_fields'",
    );
    const mapping = JSON.parse(String(kv[0]?.v)) as FieldColumn[];
    expect(new Set(mapping.map((m) => JSON.stringify(m)))).toEqual(
      new Set(expected.map((m) => JSON.stringify(m))),
    );
  });

  it("keeps a lake file's escaped columns and their mapping through a merge", async () => {
    const first = await engine.compact(
      job(ws, {
        raw: [rawInput(ws.rawFile("m1.txt.gz", [line("DEV200", HOUR, { "": 1, Speed: 2 })]), "DEV200")],
      }),
    );
    const lake = first.outputs.map((o, i) => ({ lakeKey: `lake/${i}.parquet`, localPath: o.localPath }));
    const merged = await engine.compact(
      job(ws, {
        raw: [rawInput(ws.rawFile("m2.txt.gz", [line("DEV201", HOUR, { other: 3 })]), "DEV201")],
        lake,
        schema: first.schema,
      }),
    );
    const files = merged.outputs.map((o) => o.localPath);
    const empty = columnNameForField("");
    const twin = columnNameForField("Speed");
    expect(
      await queryParquet(
        files,
        `SELECT "${empty}"::INTEGER AS e, "${twin}"::INTEGER AS s FROM {files} WHERE device_id = 'DEV200'`,
      ),
    ).toEqual([{ e: 1, s: 2 }]);
    const kv = await queryParquet(
      files,
      "SELECT decode(value) AS v FROM parquet_kv_metadata($files) WHERE decode(key) = 'compacter_renamed_fields'",
    );
    expect(JSON.parse(String(kv[0]?.v))).toEqual(
      expect.arrayContaining([
        { field: "", column: empty },
        { field: "Speed", column: twin },
      ]),
    );
  });
});
