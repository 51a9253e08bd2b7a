import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { EngineJob, EngineOutput } from "@compacter/core";
import { BIGINT, type DuckDBConnection, INTEGER, LIST, listValue, VARCHAR } from "@duckdb/node-api";
import { duckDbMemoryLimit, resolveThreads } from "../engine/memory.js";
import { RENAMED_FIELDS_KEY } from "./keyMetadata.js";
import { type WritePart, writeOrderedParts } from "./orderedParts.js";
import type { ColumnPlan, LakeColumn } from "./planColumns.js";
import { partPath, writeSortedRuns } from "./sortedRuns.js";
import {
  lakeRangeFilter,
  lakeSelectSql,
  type Params,
  type ParamTypes,
  type RawSource,
  rawSelectSql,
  scanBounds,
} from "./sourceSql.js";

/** Rows a Parquet writer thread buffers before it flushes a row group (DuckDB's default). */
const ROW_GROUP_ROWS = 122_880;
/** Parquet bytes per gzip'd raw byte, measured on telemetry (ZSTD); only steers the split. */
const PARQUET_PER_GZIP_BYTE = 0.6;

/**
 * A sorted job over raw files only (a closed day converted in one go) usually needs no
 * sort at all: read the files in device_id-then-key order with insertion order kept and
 * the rows come out in device_id, event_time order, since a device writes its hour in
 * time order and its keys sort by hour. That is checked on the written file (two columns,
 * cheap), and a job whose rows are not in order is written again with ORDER BY — which
 * over ~180 wide columns costs about as much as everything else in the job.
 */
export async function writeOutputs(
  db: WriteContext,
  job: EngineJob,
  plan: ColumnPlan,
  sources: readonly RawSource[],
  lakeColumns: readonly LakeColumn[],
  native: ReadonlySet<string>,
  metadata: string,
): Promise<EngineOutput[]> {
  const { connection, scratchDir } = db;
  const write = (order: RowOrder, readOrder: readonly RawSource[] = sources) =>
    writeQuery(connection, job, plan, sources, lakeColumns, native, metadata, scratchDir, order, readOrder);
  if (job.sort && job.lake.length === 0) {
    const readOrder = [...sources].sort(
      (a, b) =>
        Buffer.compare(Buffer.from(a.deviceId), Buffer.from(b.deviceId)) ||
        Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)),
    );
    const writePart: WritePart = async (partConnection, group, localPath) => {
      const params: Params = {};
      const types: ParamTypes = {};
      const select = rawSelectSql(plan, sources, native, params, types, scanBounds(job).maxLineBytes, group);
      await partConnection.run("SET preserve_insertion_order = true");
      return copyToFile(partConnection, `(${select})`, params, types, job, metadata, localPath);
    };
    const outputs =
      (await writeInDeviceParts(db, job, sources, readOrder, plan.columns.length, writePart)) ??
      (await write("readOrder", readOrder));
    if (await inDeviceTimeOrder(connection, outputs)) return outputs;
    await clearDirectory(job.outputDir);
  }
  return write(job.sort ? "orderBy" : "any");
}

/** The engine's connection for a job, a way to open more on the same instance, and its scratch. */
export interface WriteContext {
  readonly connection: DuckDBConnection;
  /** Another connection to the job's instance (interrupted with the job, closed after it). */
  readonly connect: () => Promise<DuckDBConnection>;
  /** Private scratch directory of this job (removed by the caller). */
  readonly scratchDir: string;
}

/**
 * Bytes a Parquet writer holds per row and column while it fills a row group (DuckDB's
 * vectors: 8-byte values, 16-byte strings, validity). Measured: two writers of 127
 * columns ran out of memory at memory_limit 358 MiB, where one writer completes.
 */
const WRITER_BYTES_PER_COLUMN = 16;

/**
 * The in-order write of raw files split by device over every thread (orderedParts.ts),
 * where there is more than one thread and device, and the writers' row groups fit half
 * of DuckDB's memory (the rest reads and compresses); otherwise one ordered write.
 * Parts are sized to about ¾ of maxFileBytes, so they join into files below it.
 */
async function writeInDeviceParts(
  db: WriteContext,
  job: EngineJob,
  sources: readonly RawSource[],
  readOrder: readonly RawSource[],
  columns: number,
  writePart: WritePart,
): Promise<EngineOutput[] | undefined> {
  const threads = resolveThreads(job.limits.threads);
  const devices = new Set(readOrder.map((s) => s.deviceId)).size;
  const writersBytes = threads * ROW_GROUP_ROWS * columns * WRITER_BYTES_PER_COLUMN;
  if (threads < 2 || devices < 2 || writersBytes > duckDbMemoryLimit(job.limits) / 2) return undefined;
  const estimate = await estimateOutputBytes(db.connection, job, sources);
  const parts = Math.min(devices, Math.max(threads, Math.ceil(estimate / (0.75 * job.maxFileBytes))));
  return writeOrderedParts(db.connect, job, readOrder, parts, threads, db.scratchDir, writePart);
}

/** How rows are put in order: by DuckDB's ORDER BY, by reading in order, or not at all. */
type RowOrder = "orderBy" | "readOrder" | "any";

async function writeQuery(
  connection: DuckDBConnection,
  job: EngineJob,
  plan: ColumnPlan,
  sources: readonly RawSource[],
  lakeColumns: readonly LakeColumn[],
  native: ReadonlySet<string>,
  metadata: string,
  scratchDir: string,
  order: RowOrder,
  readOrder: readonly RawSource[] = sources,
): Promise<EngineOutput[]> {
  const params: Params = {};
  const types: ParamTypes = {};
  const parts = [
    rawSelectSql(plan, sources, native, params, types, scanBounds(job).maxLineBytes, readOrder),
    lakeSelectSql(plan, job, lakeColumns, sources, params, types),
  ].filter((s): s is string => s !== undefined);
  if (parts.length === 0) return [];
  const union = parts.join("\nUNION ALL\n");
  if (order === "orderBy") {
    // More rows than one in-memory sort holds: sorted device range by device range (sortedRuns.ts).
    const runs = await writeSortedRuns(
      connection,
      job,
      { sql: union, params, types },
      sources,
      plan.columns.map((c) => c.name),
      duckDbMemoryLimit(job.limits),
      scratchDir,
      (from, p, t, localPath) => copyToFile(connection, from, p, t, job, metadata, localPath),
    );
    if (runs) return runs;
  }
  const query = order === "orderBy" ? `SELECT * FROM (${union}) ORDER BY device_id, event_time` : union;
  const estimate = await estimateOutputBytes(connection, job, sources);

  // Writing one file keeps DuckDB within memory_limit (its file-rotation options do not:
  // FILE_SIZE_BYTES ran out of memory at 256 MiB where a single file spilled fine). So the
  // output is one file when it should fit, and a sorted temp table cut into row ranges
  // when it should not (or turned out not to).
  if (estimate <= job.maxFileBytes) {
    await setInsertionOrder(connection, job, sources, order !== "any");
    const single = await copyToFile(connection, `(${query})`, params, types, job, metadata, partPath(job, 1));
    if (single.rows === 0) {
      await rm(single.localPath, { force: true });
      return [];
    }
    if (single.bytes <= job.maxFileBytes) return [single];
    const tmp = join(job.outputDir, ".oversized.parquet");
    await rename(single.localPath, tmp);
    try {
      return await writeSplit(
        connection,
        job,
        "read_parquet($oversized)",
        { oversized: tmp },
        { oversized: VARCHAR },
        single.bytes / single.rows,
        metadata,
      );
    } finally {
      await rm(tmp, { force: true });
    }
  }
  const rowsEstimate =
    sources.reduce((n, s) => n + s.scan.validLines, 0) + (await countLakeRows(connection, job)).inRange;
  return writeSplit(
    connection,
    job,
    `(${query})`,
    params,
    types,
    estimate / Math.max(1, rowsEstimate),
    metadata,
  );
}

/**
 * Unsorted output may be written in any order, which lets every thread fill its own row
 * group, but each buffers a full one: allow that only when memory_limit has room for it.
 */
async function setInsertionOrder(
  connection: DuckDBConnection,
  job: EngineJob,
  sources: readonly RawSource[],
  ordered: boolean,
) {
  const keepOrder = ordered || !rowGroupsFitMemory(job, sources);
  await connection.run(`SET preserve_insertion_order = ${keepOrder ? "true" : "false"}`);
}

/** Whether memory_limit has room for every thread to buffer a full row group of these sources' rows. */
function rowGroupsFitMemory(job: EngineJob, sources: readonly RawSource[]): boolean {
  const textPerRow = Math.max(2048, ...sources.map((s) => s.scan.textBytes / Math.max(1, s.scan.lines)));
  return resolveThreads(job.limits.threads) * ROW_GROUP_ROWS * textPerRow <= job.limits.memoryLimitBytes;
}

async function copyToFile(
  connection: DuckDBConnection,
  from: string,
  params: Params,
  types: ParamTypes,
  job: EngineJob,
  metadata: string,
  localPath: string,
): Promise<EngineOutput> {
  // DICTIONARY_SIZE_LIMIT: the default (tries a dictionary for every column) costs ~40%
  // more CPU and writes larger files on sensor data; a small dictionary still serves the
  // low-cardinality text columns. The key → column mapping of escaped names travels in
  // the file's key-value metadata, so any reader can tell which raw key a column holds.
  const reader = await connection.runAndReadAll(
    `COPY ${from} TO $out (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL $zstd_level,
      DICTIONARY_SIZE_LIMIT 1000, RETURN_STATS true, KV_METADATA {${RENAMED_FIELDS_KEY}: $kv_renamed})`,
    { ...params, out: localPath, zstd_level: job.limits.zstdLevel, kv_renamed: metadata },
    { ...types, out: VARCHAR, zstd_level: INTEGER, kv_renamed: VARCHAR },
  );
  const row = reader.getRowObjectsJson()[0] ?? {};
  return { localPath, rows: Number(row.count ?? 0), bytes: Number(row.file_size_bytes ?? 0) };
}

/** Materialises `from` in order once, then writes consecutive row ranges of at most maxFileBytes each (a single row may be more). */
async function writeSplit(
  connection: DuckDBConnection,
  job: EngineJob,
  from: string,
  params: Params,
  types: ParamTypes,
  bytesPerRowEstimate: number,
  metadata: string,
): Promise<EngineOutput[]> {
  await connection.run("SET preserve_insertion_order = true");
  await connection.run("DROP TABLE IF EXISTS temp.compacter_rows");
  await connection.run(`CREATE TEMP TABLE compacter_rows AS SELECT * FROM ${from}`, params, types);
  try {
    const total = Number(
      (await connection.runAndReadAll("SELECT count(*) AS n FROM temp.compacter_rows")).getRowObjectsJson()[0]
        ?.n ?? 0,
    );
    const outputs: EngineOutput[] = [];
    let bytesPerRow = Math.max(1, bytesPerRowEstimate);
    let start = 0;
    while (start < total) {
      const remaining = total - start;
      let rows = Math.max(1, Math.floor(job.maxFileBytes / bytesPerRow));
      // Avoid a sliver at the end: split what is left evenly instead.
      if (rows < remaining && remaining < rows * 1.5) rows = Math.ceil(remaining / 2);
      rows = Math.min(rows, remaining);
      const output = await copyToFile(
        connection,
        "(SELECT * FROM temp.compacter_rows WHERE rowid >= $from_row AND rowid < $to_row)",
        { from_row: start, to_row: start + rows },
        { from_row: BIGINT, to_row: BIGINT },
        job,
        metadata,
        partPath(job, outputs.length + 1),
      );
      if (output.bytes > job.maxFileBytes && rows > 1) {
        // The estimate was low (the first file's comes from the gzip size): the same rows
        // again, fewer of them, at the bytes per row this file measured. Each retry holds
        // fewer rows, so it ends; only a single row may stay above maxFileBytes.
        await rm(output.localPath, { force: true });
        bytesPerRow = Math.max(bytesPerRow, output.bytes / output.rows) * (rows / (rows - 1));
        continue;
      }
      outputs.push(output);
      start += rows;
      const written = outputs.reduce((s, o) => s + o.rows, 0);
      bytesPerRow = outputs.reduce((s, o) => s + o.bytes, 0) / Math.max(1, written);
    }
    return outputs;
  } finally {
    await connection.run("DROP TABLE IF EXISTS temp.compacter_rows");
  }
}

/** Whether the written files, read in order, hold their rows in device_id, event_time order (NULL times last). */
async function inDeviceTimeOrder(
  connection: DuckDBConnection,
  outputs: readonly EngineOutput[],
): Promise<boolean> {
  if (outputs.length === 0) return true;
  const reader = await connection.runAndReadAll(
    `SELECT count(*) AS disorder FROM (
       SELECT device_id, event_time,
         lag(device_id) OVER w AS prev_device, lag(event_time) OVER w AS prev_time
       FROM read_parquet($outputs, filename = true, file_row_number = true)
       WINDOW w AS (ORDER BY filename, file_row_number))
     WHERE prev_device > device_id
       OR (prev_device = device_id AND ((prev_time IS NULL AND event_time IS NOT NULL) OR prev_time > event_time))`,
    { outputs: listValue(outputs.map((o) => o.localPath)) },
    { outputs: LIST(VARCHAR) },
  );
  return Number(reader.getRowObjectsJson()[0]?.disorder ?? 1) === 0;
}

async function estimateOutputBytes(
  connection: DuckDBConnection,
  job: EngineJob,
  sources: readonly RawSource[],
): Promise<number> {
  let bytes = 0;
  for (const s of sources) {
    const info = await stat(s.gzip ? s.readPath : job.raw[s.index]!.localPath);
    bytes += info.size * PARQUET_PER_GZIP_BYTE;
  }
  let lakeBytes = 0;
  for (const l of job.lake) lakeBytes += (await stat(l.localPath)).size;
  if (job.deviceRange && lakeBytes > 0) {
    // A slice reads only its devices' share of the lake files.
    const { inRange, total } = await countLakeRows(connection, job);
    lakeBytes *= inRange / Math.max(1, total);
  }
  return bytes + lakeBytes;
}

/** Rows of the lake inputs, and of those the rows in the job's device range (all of them without one). */
async function countLakeRows(
  connection: DuckDBConnection,
  job: EngineJob,
): Promise<{ inRange: number; total: number }> {
  if (job.lake.length === 0) return { inRange: 0, total: 0 };
  const params: Params = { files: listValue(job.lake.map((l) => l.localPath)) };
  const types: ParamTypes = { files: LIST(VARCHAR) };
  const inRange = lakeRangeFilter(job, "device_id", params, types);
  // Both from what a sliced job fetched: the range by a filter DuckDB prunes row groups
  // with, the total from the footers (a sparse lake file has holes outside its range).
  const reader = await connection.runAndReadAll(
    `SELECT (SELECT count(*) FROM read_parquet($files, union_by_name = true) WHERE ${inRange}) AS in_range,
       (SELECT sum(num_rows) FROM (SELECT DISTINCT file_name, row_group_id, row_group_num_rows AS num_rows
          FROM parquet_metadata($files))) AS total`,
    params,
    types,
  );
  const row = reader.getRowObjectsJson()[0] ?? {};
  return { inRange: Number(row.in_range ?? 0), total: Number(row.total ?? 0) };
}

/** Removes what a failed attempt left in the output directory (it was empty before the job). */
export async function clearDirectory(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    await mkdir(dir, { recursive: true });
    return;
  }
  await Promise.all(entries.map((e) => rm(join(dir, e), { recursive: true, force: true })));
}
