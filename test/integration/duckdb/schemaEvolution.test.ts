import { type CompactionEngine, columnNameForField, type EngineResult } from "@compacter/core";
import { createDuckDbEngine } from "@compacter/duckdb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_SCHEMA, hourOfLines, job, line, queryParquet, rawInput, Workspace } from "./fixtures.js";

const HOUR = 1765472400;

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

/** Column name → DuckDB type of the written files, as a reader sees them. */
async function outputTypes(result: EngineResult): Promise<Record<string, string>> {
  const rows = await queryParquet(
    result.outputs.map((o) => o.localPath),
    "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {files})",
  );
  return Object.fromEntries(rows.map((r) => [String(r.column_name), String(r.column_type)]));
}

function expectOutputMatchesSchema(types: Record<string, string>, result: EngineResult): void {
  const expected: Record<string, string> = Object.fromEntries(result.schema.map((c) => [c.name, c.type]));
  expected.device_id = "VARCHAR";
  expected.source_file = "VARCHAR";
  expected.event_time = "TIMESTAMP WITH TIME ZONE";
  expect(types).toEqual(expected);
  expect(Object.keys(types)).toEqual([
    ...result.schema.map((c) => c.name),
    "device_id",
    "source_file",
    "event_time",
  ]);
}

describe("types", () => {
  it("nulls and counts values that do not fit a numeric column, which stays numeric; numeric strings cast", async () => {
    const lines = [
      line("DEV001", HOUR, { speed: 10.5, rpm: 1 }),
      line("DEV001", HOUR + 1, { speed: "N/A", rpm: "N/A" }),
      line("DEV001", HOUR + 2, { speed: "12,5", rpm: "7" }),
      line("DEV001", HOUR + 3, { speed: "54.3", rpm: "54.3" }),
      line("DEV001", HOUR + 4, { speed: " 7 ", ok: "yes-ish" }),
      line("DEV001", HOUR + 5, { speed: true, ok: 1 }),
    ];
    const input = rawInput(ws.rawFile("na.txt.gz", lines), "DEV001");
    const result = await engine.compact(job(ws, { raw: [input] }));
    expect(result.nulledValues).toEqual({ speed: 3, rpm: 2, ok: 1 });
    const types = await outputTypes(result);
    expect(types).toMatchObject({ speed: "DOUBLE", rpm: "INTEGER", ok: "BOOLEAN" });
    const rows = await queryParquet(
      result.outputs.map((o) => o.localPath),
      "SELECT speed, rpm, ok FROM {files} ORDER BY event_time",
    );
    expect(rows).toEqual([
      { speed: 10.5, rpm: 1, ok: true },
      { speed: null, rpm: null, ok: true },
      { speed: null, rpm: 7, ok: true },
      { speed: 54.3, rpm: null, ok: true },
      { speed: 7, rpm: 1500, ok: null },
      { speed: null, rpm: 1500, ok: true },
    ]);
    expect(result.files[0]).toMatchObject({ outcome: "read", rows: 6, badLines: 0 });
  });

  it("adds a field that first appears in a late line of one file, NULL everywhere else", async () => {
    const late = hourOfLines("DEV002", HOUR, 200);
    late[198] = line("DEV002", HOUR + 198, { coolant_temp: 88.25 });
    const a = rawInput(ws.rawFile("late-a.txt.gz", hourOfLines("DEV001", HOUR, 150)), "DEV001");
    const b = rawInput(ws.rawFile("late-b.txt.gz", late), "DEV002");
    const result = await engine.compact(job(ws, { raw: [a, b] }));
    expect(result.addedColumns).toEqual(["coolant_temp"]);
    expect(result.schema.at(-1)).toEqual({ name: "coolant_temp", type: "DOUBLE" });
    const rows = await queryParquet(
      result.outputs.map((o) => o.localPath),
      "SELECT count(coolant_temp)::INTEGER AS n, max(coolant_temp) AS v, count(*)::INTEGER AS total FROM {files}",
    );
    expect(rows).toEqual([{ n: 1, v: 88.25, total: 350 }]);
    expectOutputMatchesSchema(await outputTypes(result), result);
  });

  it("escapes raw fields that collide with added or partition columns and defers null-only fields", async () => {
    const lines = [line("DEV003", HOUR, { device_id: "spoof", district: 7, future: null })];
    const result = await engine.compact(
      job(ws, { raw: [rawInput(ws.rawFile("collide.txt.gz", lines), "DEV003")] }),
    );
    const rawDeviceId = columnNameForField("device_id");
    const rawDistrict = columnNameForField("district");
    expect(result.addedColumns).toEqual([rawDeviceId, rawDistrict]);
    expect(rawDeviceId).toMatch(/^device_id__[0-9a-f]{12}$/);
    expect(result.nullOnlyFields).toEqual(["future"]);
    expect(result.renamedFields).toEqual([
      { field: "device_id", column: rawDeviceId },
      { field: "district", column: rawDistrict },
    ]);
    const rows = await queryParquet(
      result.outputs.map((o) => o.localPath),
      `SELECT device_id, "${rawDeviceId}" AS spoofed, "${rawDistrict}" AS district FROM {files}`,
    );
    expect(rows).toEqual([{ device_id: "DEV003", spoofed: "spoof", district: 7 }]);
  });

  it("widens INTEGER to BIGINT and DOUBLE across files", async () => {
    const small = rawInput(
      ws.rawFile("w-small.txt.gz", [line("DEV004", HOUR, { rpm: 5, odo: 1 })]),
      "DEV004",
    );
    const big = rawInput(
      ws.rawFile("w-big.txt.gz", [line("DEV005", HOUR, { rpm: 3_000_000_000, odo: 2 })]),
      "DEV005",
    );
    const frac = rawInput(ws.rawFile("w-frac.txt.gz", [line("DEV006", HOUR, { odo: 2.5 })]), "DEV006");
    const result = await engine.compact(job(ws, { raw: [small, big, frac] }));
    expect(result.widenedColumns).toEqual([{ name: "rpm", from: "INTEGER", to: "BIGINT" }]);
    expect(result.schema.find((c) => c.name === "odo")).toEqual({ name: "odo", type: "DOUBLE" });
    const types = await outputTypes(result);
    expect(types).toMatchObject({ rpm: "BIGINT", odo: "DOUBLE" });
    const rows = await queryParquet(
      result.outputs.map((o) => o.localPath),
      "SELECT rpm, odo FROM {files} ORDER BY device_id",
    );
    expect(rows).toEqual([
      { rpm: 5n, odo: 1 },
      { rpm: 3_000_000_000n, odo: 2 },
      { rpm: 1500n, odo: 2.5 },
    ]);
    expectOutputMatchesSchema(types, result);
  });

  it("widens against an existing Parquet input that has the narrower type", async () => {
    const first = await engine.compact(
      job(ws, {
        raw: [rawInput(ws.rawFile("gen1.txt.gz", hourOfLines("DEV007", HOUR, 20)), "DEV007", "2025121201")],
      }),
    );
    expect((await outputTypes(first)).rpm).toBe("INTEGER");
    const lake = first.outputs.map((o, i) => ({ lakeKey: `lake/data_${i}.parquet`, localPath: o.localPath }));
    const second = await engine.compact(
      job(ws, {
        schema: BASE_SCHEMA,
        lake,
        raw: [
          rawInput(
            ws.rawFile("gen2.txt.gz", [line("DEV007", HOUR + 3600, { rpm: 1.5, extra: "x" })]),
            "DEV007",
            "2025121202",
          ),
        ],
      }),
    );
    expect(second.widenedColumns).toEqual([{ name: "rpm", from: "INTEGER", to: "DOUBLE" }]);
    expect(second.rowsFromLake).toBe(20);
    expect(second.rowsOut).toBe(21);
    const types = await outputTypes(second);
    expectOutputMatchesSchema(types, second);
    const rows = await queryParquet(
      second.outputs.map((o) => o.localPath),
      "SELECT sum(rpm) AS s, count(extra)::INTEGER AS e FROM {files}",
    );
    expect(rows).toEqual([{ s: 1000 * 20 + (19 * 20) / 2 + 1.5, e: 1 }]);
  });

  it("keeps a lake column the schema does not list (union by name)", async () => {
    const first = await engine.compact(
      job(ws, {
        raw: [rawInput(ws.rawFile("u1.txt.gz", [line("DEV008", HOUR, { legacy: "v1" })]), "DEV008")],
      }),
    );
    const second = await engine.compact(
      job(ws, {
        lake: first.outputs.map((o) => ({ lakeKey: "l", localPath: o.localPath })),
        raw: [rawInput(ws.rawFile("u2.txt.gz", [line("DEV008", HOUR + 1)]), "DEV008", "2025121202")],
      }),
    );
    expect(second.addedColumns).toContain("legacy");
    const rows = await queryParquet(
      second.outputs.map((o) => o.localPath),
      "SELECT legacy FROM {files} ORDER BY event_time",
    );
    expect(rows).toEqual([{ legacy: "v1" }, { legacy: null }]);
  });
});
