import { readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { type EngineJob, type EngineOutput, planSlices } from "@compacter/core";
import { type DuckDBConnection, LIST, listValue, VARCHAR } from "@duckdb/node-api";
import { concatParquet } from "../parquet/concatParquet.js";
import { lakeRangeFilter, type Params, type ParamTypes, type RawSource } from "./sourceSql.js";

/**
 * Bytes a row of ~190 columns takes in DuckDB's sort, per column (measured: 1.88M rows of
 * telemetry spilled 4.2 GiB, ~2.3 KB a row). A run gets a sixth of DuckDB's memory for its
 * rows: the sort needs about twice that, and the Parquet writer's row groups and ZSTD
 * state sit outside DuckDB's pool (measured, memory_limit 1.5 GiB: a run of 356K rows
 * peaked at 2.2 GB of RSS, 162K rows at 1.4 GB, 65K rows at 0.7 GB, at the same rows/s).
 */
const SORT_BYTES_PER_COLUMN = 12;
const RUN_SHARE_OF_MEMORY = 1 / 6;
/** The column that carries a row's run in the splitting pass. */
const RUN_COLUMN = "__compacter_run";

/** Writes `from` to `localPath` as the job's Parquet (codec, level, metadata). */
export type WriteFile = (
  from: string,
  params: Params,
  types: ParamTypes,
  localPath: string,
) => Promise<EngineOutput>;

/** The n-th output file of a job (from 1). */
export function partPath(job: EngineJob, n: number): string {
  return join(job.outputDir, `part-${String(n).padStart(4, "0")}.parquet`);
}

/** Rows one run may hold to sort in memory (see RUN_SHARE_OF_MEMORY). */
export function maxRunRows(duckDbMemoryBytes: number, columns: number): number {
  const rowBytes = SORT_BYTES_PER_COLUMN * Math.max(1, columns);
  return Math.max(10_000, Math.floor((duckDbMemoryBytes * RUN_SHARE_OF_MEMORY) / rowBytes));
}

/**
 * A sorted job (a merge) whose rows do not fit one in-memory sort. DuckDB's ORDER BY would
 * spill them in its row format — ~20× their Parquet size on this data, so a district-day
 * slice spilled gigabytes and took minutes. Instead:
 *
 * 1. one pass splits the rows by device range into runs small enough to sort in memory
 *    (cheap ZSTD, small row groups, so the pass holds little);
 * 2. each run is sorted in memory and written as the job's Parquet, then its split files go;
 * 3. consecutive sorted runs are joined into output files of at most maxFileBytes by
 *    copying their row groups (concatParquet): no row is decoded twice.
 *
 * Device ranges are contiguous and in order, so the joined file is in device_id,
 * event_time order as a whole. Working disk: the split runs (~1.2× the output at low
 * ZSTD), shrinking as runs are sorted. Undefined when one sort fits: the caller sorts as before.
 */
export async function writeSortedRuns(
  connection: DuckDBConnection,
  job: EngineJob,
  from: { readonly sql: string; readonly params: Params; readonly types: ParamTypes },
  sources: readonly RawSource[],
  columns: readonly string[],
  duckDbMemoryBytes: number,
  scratchDir: string,
  write: WriteFile,
): Promise<EngineOutput[] | undefined> {
  if (columns.some((c) => c.toLowerCase() === RUN_COLUMN)) return undefined; // a raw field took the name
  const rowsByDevice = await deviceRows(connection, job, sources);
  const runs = planSlices(
    rowsByDevice,
    job.limits.sortRunRows ?? maxRunRows(duckDbMemoryBytes, columns.length),
  );
  if (runs.length <= 1) return undefined;

  const splitDir = join(scratchDir, "runs");
  await rm(splitDir, { recursive: true, force: true });
  const bounds: Params = {};
  const boundTypes: ParamTypes = {};
  const cases = runs.slice(1).map((run, i) => {
    bounds[`run_bound_${i}`] = run.fromDevice ?? "";
    boundTypes[`run_bound_${i}`] = VARCHAR;
    return `WHEN device_id < $run_bound_${i} THEN ${i}`;
  });
  // A partitioned write buffers rows per open run file (by default 512K rows before a
  // flush): a quarter of the memory is shared out between the runs instead.
  const bufferRows = Math.max(
    1024,
    Math.min(
      65_536,
      Math.floor(duckDbMemoryBytes / 4 / runs.length / (SORT_BYTES_PER_COLUMN * columns.length)),
    ),
  );
  await connection.run("SET preserve_insertion_order = false");
  await connection.run(`SET partitioned_write_flush_threshold = ${bufferRows}`);
  await connection.run(
    `COPY (SELECT *, CASE ${cases.join(" ")} ELSE ${runs.length - 1} END AS ${RUN_COLUMN} FROM (${from.sql}))
     TO '${splitDir}' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1,
       ROW_GROUP_SIZE ${bufferRows}, PARTITION_BY (${RUN_COLUMN}))`,
    { ...from.params, ...bounds },
    { ...from.types, ...boundTypes },
  );

  await connection.run("SET preserve_insertion_order = true");
  const sorted: EngineOutput[] = [];
  for (let run = 0; run < runs.length; run++) {
    const dir = join(splitDir, `${RUN_COLUMN}=${run}`);
    const files = await readdir(dir).catch(() => [] as string[]);
    if (files.length === 0) continue; // no rows fell in this range
    const output = await write(
      "(SELECT * FROM read_parquet($run_files, hive_partitioning = false) ORDER BY device_id, event_time)",
      { run_files: listValue(files.map((f) => join(dir, f))) },
      { run_files: LIST(VARCHAR) },
      join(scratchDir, `sorted-${String(run).padStart(5, "0")}.parquet`),
    );
    await rm(dir, { recursive: true, force: true });
    if (output.rows > 0) sorted.push(output);
    else await rm(output.localPath, { force: true });
  }
  await rm(splitDir, { recursive: true, force: true });
  return joinSortedRuns(sorted, job);
}

/**
 * Consecutive sorted runs, in order, joined into the job's output files of at most
 * maxFileBytes (a bigger run alone); the runs' files are moved or removed.
 */
export async function joinSortedRuns(
  sorted: readonly EngineOutput[],
  job: EngineJob,
): Promise<EngineOutput[]> {
  const groups: EngineOutput[][] = [];
  for (const run of sorted) {
    const last = groups.at(-1);
    const bytes = (last ?? []).reduce((n, r) => n + r.bytes, 0);
    if (last && bytes + run.bytes <= job.maxFileBytes) last.push(run);
    else groups.push([run]);
  }
  const outputs: EngineOutput[] = [];
  for (const [i, group] of groups.entries()) {
    const localPath = partPath(job, i + 1);
    if (group.length === 1) {
      await rename(group[0]!.localPath, localPath);
      outputs.push({ ...group[0]!, localPath });
      continue;
    }
    const joined = await concatParquet(
      group.map((r) => r.localPath),
      localPath,
    );
    for (const r of group) await rm(r.localPath, { force: true });
    outputs.push({ localPath, ...joined });
  }
  return outputs;
}

/** Rows per device of the job: raw files from their scans, lake rows by one narrow query. */
async function deviceRows(
  connection: DuckDBConnection,
  job: EngineJob,
  sources: readonly RawSource[],
): Promise<Map<string, number>> {
  const rows = new Map<string, number>();
  for (const s of sources) rows.set(s.deviceId, (rows.get(s.deviceId) ?? 0) + s.scan.validLines);
  if (job.lake.length === 0) return rows;
  const params: Params = { files: listValue(job.lake.map((l) => l.localPath)) };
  const types: ParamTypes = { files: LIST(VARCHAR) };
  const inRange = lakeRangeFilter(job, "device_id", params, types);
  const reader = await connection.runAndReadAll(
    `SELECT device_id, count(*) AS n FROM read_parquet($files, union_by_name = true)
     WHERE ${inRange} AND device_id IS NOT NULL GROUP BY device_id`,
    params,
    types,
  );
  for (const row of reader.getRowObjectsJson()) {
    const device = String(row.device_id);
    rows.set(device, (rows.get(device) ?? 0) + Number(row.n ?? 0));
  }
  return rows;
}
