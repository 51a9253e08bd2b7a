/**
 * Engine throughput against the baselines, one variant per process (so peak RSS is per
 * variant). Run every variant over the same directory of gzip'd NDJSON files:
 *
 *   for v in engine engine-unsorted seed explicit explicit-tuned floor-count floor-all gunzip scan; do
 *     /usr/bin/time -f "%M KB" npx tsx packages/duckdb/bench/throughput.ts --dir DIR --variant $v
 *   done
 *
 * Prints one JSON line per run: rows/s, wall and CPU seconds, peak RSS, Parquet ÷ gzip bytes.
 * A benchmark, not a test: nothing here asserts on time.
 */

import { isUtf8 } from "node:buffer";
import * as fs from "node:fs";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as zlib from "node:zlib";
import type { ColumnSpec, EngineResult } from "@compacter/core";
import { DuckDBInstance, LIST, listValue, STRUCT, structValue, VARCHAR } from "@duckdb/node-api";
import { createDuckDbEngine } from "../src/index.js";
import { scanRawFile } from "../src/inspect/scanRawFile.js";

const { values } = parseArgs({
  options: {
    dir: { type: "string" },
    variant: { type: "string", default: "engine" },
    files: { type: "string", default: "0" },
    memory: { type: "string", default: String(2 * 2 ** 30) },
    work: { type: "string", default: "/tmp/compacter-bench" },
  },
});
if (!values.dir) throw new Error("--dir is required");
const dir = values.dir;
const variant = values.variant!;
const work = values.work!;
const memoryLimitBytes = Number(values.memory);
let names = readdirSync(dir)
  .filter((f) => f.endsWith(".gz"))
  .sort();
if (Number(values.files) > 0) names = names.slice(0, Number(values.files));
const paths = names.map((n) => join(dir, n));
const gzipBytes = paths.reduce((sum, p) => sum + statSync(p).size, 0);
rmSync(work, { recursive: true, force: true });
mkdirSync(join(work, "out"), { recursive: true });

const started = performance.now();
const cpuStart = process.cpuUsage();
let rows = 0;
let outputBytes = 0;
let extra: Record<string, unknown> = {};

if (variant === "engine" || variant === "engine-unsorted") {
  const engine = createDuckDbEngine();
  const result: EngineResult = await engine.compact({
    partition: { day: "2025-12-12", district: "BENCH" },
    raw: names.map((name, i) => ({
      key: `BENCH/${name}`,
      eTag: String(i),
      deviceId: name.split(/[_.-]/)[0] ?? name,
      localPath: join(dir, name),
    })),
    lake: [],
    dropSources: [],
    schema: [],
    sort: variant === "engine",
    outputDir: join(work, "out"),
    maxFileBytes: 512 * 2 ** 20,
    limits: { memoryLimitBytes, threads: 0, tempDir: join(work, "tmp"), zstdLevel: 3 },
  });
  await engine.close();
  rows = result.rowsOut;
  outputBytes = result.outputs.reduce((s, o) => s + o.bytes, 0);
  extra = { stageMs: result.stageMs, outputs: result.outputs.length, columns: result.schema.length };
} else if (variant === "gunzip" || variant === "scan") {
  // The inspect stage's two halves on one thread: gunzip alone, then gunzip + the validator.
  const state = {};
  for (const path of paths) {
    if (variant === "gunzip") rows += zlib.gunzipSync(fs.readFileSync(path), { chunkSize: 1 << 20 }).length;
    else {
      const scan = await scanRawFile(path, { fs, zlib, isUtf8 }, state);
      if (scan.kind === "ok") rows += scan.validLines;
    }
  }
  extra = { note: variant === "gunzip" ? "rows = decompressed bytes" : "single thread" };
} else {
  const instance = await DuckDBInstance.create(":memory:", {
    memory_limit: `${memoryLimitBytes}B`,
    threads: String(availableParallelism()),
    temp_directory: join(work, "tmp"),
    preserve_insertion_order: variant.endsWith("-ordered") ? "true" : "false",
    autoinstall_known_extensions: "false",
  });
  const connection = await instance.connect();
  const files = { files: listValue(paths) };
  const fileTypes = { files: LIST(VARCHAR) };
  const out = join(work, "out", "out.parquet");
  const schema = await schemaOf(paths[0]!);
  const colValues: Record<string, string> = {};
  const colTypes: Record<string, typeof VARCHAR> = {};
  for (const c of schema) {
    colValues[c.name] = c.type;
    colTypes[c.name] = VARCHAR;
  }
  const p = { ...files, cols: structValue(colValues), out };
  const t = { ...fileTypes, cols: STRUCT(colTypes), out: VARCHAR };
  const explicit = "read_ndjson($files, columns = $cols, format = 'newline_delimited', filename = true)";
  const sql: Record<string, string> = {
    seed: "COPY (SELECT * FROM read_json_auto($files, union_by_name = true, sample_size = -1, filename = true)) TO $out (FORMAT parquet, COMPRESSION zstd)",
    explicit: `COPY (SELECT * FROM ${explicit}) TO $out (FORMAT parquet, COMPRESSION zstd)`,
    "sorted-pio-false": `COPY (SELECT * FROM ${explicit} ORDER BY unitno, heartbeat) TO $out (FORMAT parquet, COMPRESSION zstd, DICTIONARY_SIZE_LIMIT 1000)`,
    "sorted-pio-true-ordered": `COPY (SELECT * FROM ${explicit} ORDER BY unitno, heartbeat) TO $out (FORMAT parquet, COMPRESSION zstd, DICTIONARY_SIZE_LIMIT 1000)`,
    "explicit-tuned-ordered": `COPY (SELECT * FROM ${explicit}) TO $out (FORMAT parquet, COMPRESSION zstd, DICTIONARY_SIZE_LIMIT 1000)`,
    "explicit-tuned": `COPY (SELECT * FROM ${explicit}) TO $out (FORMAT parquet, COMPRESSION zstd, DICTIONARY_SIZE_LIMIT 1000)`,
    "floor-count":
      "SELECT count(*) AS n FROM read_ndjson($files, columns = $cols, format = 'newline_delimited')",
    "floor-all":
      "SELECT count(COLUMNS(*)) FROM read_ndjson($files, columns = $cols, format = 'newline_delimited')",
  };
  const query = sql[variant];
  if (!query) throw new Error(`unknown variant ${variant}`);
  const needsOut = query.includes("$out");
  // Bind only what the query names: DuckDB refuses unused parameters.
  const params: Record<string, unknown> = {};
  const types: Record<string, unknown> = {};
  for (const name of ["files", "cols", "out"] as const) {
    if (!query.includes(`$${name}`)) continue;
    params[name] = p[name];
    types[name] = t[name];
  }
  const reader = await connection.runAndReadAll(query, params as never, types as never);
  const first = reader.getRowsJson()[0];
  rows = Number(first?.[0] ?? 0);
  if (needsOut) outputBytes = statSync(out).size;
  if (variant.startsWith("sorted")) {
    // Is the file really in order? Compare each row with the previous one.
    const check = await connection.runAndReadAll(
      "SELECT count(*) FILTER (prev_u > unitno OR (prev_u = unitno AND prev_h > heartbeat)) AS disorder FROM (SELECT unitno, heartbeat, lag(unitno) OVER w AS prev_u, lag(heartbeat) OVER w AS prev_h FROM read_parquet($out, file_row_number = true) WINDOW w AS (ORDER BY file_row_number))",
      { out },
      { out: VARCHAR },
    );
    extra = { outOfOrderRows: Number(check.getRowObjectsJson()[0]?.disorder) };
  }
  connection.closeSync();
  instance.closeSync();
}

const wallMs = performance.now() - started;
const cpu = process.cpuUsage(cpuStart);
console.log(
  JSON.stringify({
    variant,
    files: paths.length,
    rows,
    wallS: +(wallMs / 1000).toFixed(2),
    rowsPerSec: Math.round((rows / wallMs) * 1000),
    cpuS: +((cpu.user + cpu.system) / 1e6).toFixed(1),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    gzipMB: +(gzipBytes / 1e6).toFixed(1),
    parquetMB: +(outputBytes / 1e6).toFixed(1),
    parquetPerGzip: outputBytes ? +(outputBytes / gzipBytes).toFixed(3) : undefined,
    ...extra,
  }),
);
rmSync(work, { recursive: true, force: true });

/** The explicit column list the baselines read with: what the engine itself decides for a file. */
async function schemaOf(path: string): Promise<ColumnSpec[]> {
  const scan = await scanRawFile(path, { fs, zlib, isUtf8 }, {});
  if (scan.kind !== "ok") throw new Error(`${path}: ${scan.error}`);
  const { typeForNewColumn } = await import("@compacter/core");
  return scan.fields.map(([name, kinds]) => ({ name, type: typeForNewColumn(kinds) ?? "VARCHAR" }));
}
