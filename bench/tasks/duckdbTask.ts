import { mkdir, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  DuckDBInstance,
  type DuckDBType,
  type DuckDBValue,
  LIST,
  listValue,
  STRUCT,
  structValue,
  VARCHAR,
} from "@duckdb/node-api";
import { startMeasure } from "./measure.js";
import type { DuckDbResult, DuckDbTask } from "./types.js";

/**
 * The seed's conversion: ONE DuckDB query over the raw files with full schema inference
 * (every line of every file, union by name), the same added columns as ours taken from the
 * path, and a Hive-partitioned Parquet copy with DuckDB's defaults. As the seed ran it: no
 * memory limit of ours (DuckDB's default, 80% of RAM), every core.
 */
const SEED_SQL = `COPY (
  SELECT * EXCLUDE (filename),
    split_part(key, '/', 2) AS device_id,
    key AS source_file,
    to_timestamp(TRY_CAST(heartbeat AS DOUBLE)) AS event_time,
    substr(split_part(key, '/', 3), 1, 4) || '-' || substr(split_part(key, '/', 3), 5, 2) || '-'
      || substr(split_part(key, '/', 3), 7, 2) AS hiveperiod,
    split_part(key, '/', 1) AS district
  FROM (
    SELECT *, substr(filename, length($root) + 2) AS key
    FROM read_json_auto($files, filename = true, sample_size = -1, union_by_name = true)
  )
) TO $out (FORMAT parquet, PARTITION_BY (hiveperiod, district))`;

/**
 * The skilled one-liner: what a data engineer who knows DuckDB writes instead of
 * Compacter — one statement, the explicit column list (from the same field discovery as
 * ours), ZSTD Parquet, local files, our memory limit and threads. `ignore_errors` because
 * a stray "N/A" in a DOUBLE column would otherwise stop it (it turns such values into
 * NULL silently and can lose valid rows next to a bad line: FACTS.md). No validation, no
 * S3, no manifest, no order: the price of Compacter's guarantees is measured against it.
 */
const ONE_LINER_SQL = `COPY (
  SELECT * FROM read_ndjson($files, columns = $columns, format = 'newline_delimited', ignore_errors = true)
) TO $out (FORMAT parquet, COMPRESSION zstd)`;

/** The floor: DuckDB reading every column of every line (typed as our lake types them) and discarding it. */
const FLOOR_COLUMNS_SQL = `SELECT count(*), count(COLUMNS(*))
  FROM read_ndjson($files, columns = $columns, format = 'newline_delimited', ignore_errors = true)`;

/** The bare scan DESIGN.md names: count(*) over the same files. */
const FLOOR_COUNT_SQL = `SELECT count(*)
  FROM read_ndjson($files, columns = $columns, format = 'newline_delimited', ignore_errors = true)`;

export async function runDuckDbTask(task: DuckDbTask): Promise<DuckDbResult> {
  await mkdir(task.outDir, { recursive: true });
  const instance = await DuckDBInstance.create(":memory:", {
    temp_directory: join(task.outDir, ".spill"),
    autoinstall_known_extensions: "false",
    ...(task.memoryLimit ? { memory_limit: task.memoryLimit } : {}),
    ...(task.threads ? { threads: String(task.threads) } : {}),
  });
  const connection = await instance.connect();
  const params: Record<string, DuckDBValue> = { files: listValue([...task.files]) };
  const types: Record<string, DuckDBType> = { files: LIST(VARCHAR) };
  let sql: string;
  if (task.variant === "seed") {
    sql = SEED_SQL;
    params.root = task.rawRoot;
    params.out = join(task.outDir, "seed");
    types.root = VARCHAR;
    types.out = VARCHAR;
  } else {
    sql =
      task.variant === "oneLiner"
        ? ONE_LINER_SQL
        : task.variant === "floorColumns"
          ? FLOOR_COLUMNS_SQL
          : FLOOR_COUNT_SQL;
    if (task.variant === "oneLiner") {
      params.out = join(task.outDir, "one-liner.parquet");
      types.out = VARCHAR;
    }
    const value: Record<string, DuckDBValue> = {};
    const type: Record<string, DuckDBType> = {};
    for (const c of task.columns ?? []) {
      value[c.field] = c.type;
      type[c.field] = VARCHAR;
    }
    params.columns = structValue(value);
    types.columns = STRUCT(type);
  }
  try {
    const measure = startMeasure();
    const reader = await connection.runAndReadAll(sql, params, types);
    const measured = measure.stop();
    const rows = Number(reader.getRowsJson()[0]?.[0] ?? 0);
    const written =
      task.variant === "seed"
        ? await folderSize(join(task.outDir, "seed"))
        : task.variant === "oneLiner"
          ? { bytes: (await stat(join(task.outDir, "one-liner.parquet"))).size, files: 1 }
          : { bytes: 0, files: 0 };
    return { measure: measured, rows, outBytes: written.bytes, outFiles: written.files };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function folderSize(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    bytes += (await stat(join(entry.parentPath, entry.name))).size;
    files += 1;
  }
  return { bytes, files };
}
