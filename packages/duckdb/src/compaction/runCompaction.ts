import { mkdir, readdir, rename, rm, stat, symlink } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import type { EngineJob, EngineOutput, EngineResult, RawFileOutcome } from "@compacter/core";
import {
  BIGINT,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
  INTEGER,
  LIST,
  listValue,
  STRUCT,
  structValue,
  VARCHAR,
} from "@duckdb/node-api";
import { CompactionAbortedError, EngineInvariantError } from "../errors.js";
import type { ScanPool } from "../inspect/ScanPool.js";
import { MAX_LINE_BYTES, type RawScan } from "../inspect/scanRawFile.js";
import { castFromText, eventTimeFromHeartbeat, readType } from "../sql/expressions.js";
import { quoteIdentifier as q } from "../sql/identifiers.js";
import { type ColumnPlan, type LakeColumn, type OutputColumn, planColumns } from "./planColumns.js";

type Params = Record<string, DuckDBValue>;
type ParamTypes = Record<string, DuckDBType>;

export interface CompactionContext {
  readonly connection: DuckDBConnection;
  readonly pool: ScanPool;
  /** Private scratch directory of this job (removed by the caller). */
  readonly scratchDir: string;
}

/** Stage durations of the last job, for benchmarks and logs. */
export type StageTimings = {
  inspectMs: number;
  cleanMs: number;
  planMs: number;
  writeMs: number;
  statsMs: number;
};

interface RawSource {
  readonly index: number;
  readonly key: string;
  readonly deviceId: string;
  /** What DuckDB reads: the original gzip, or the cleaned plain copy. */
  readonly readPath: string;
  readonly gzip: boolean;
  readonly scan: Extract<RawScan, { kind: "ok" }>;
}

const PATH_COLUMN = "__compacter_path";

/** One compaction job, start to finish; see DuckDbEngine for the lifecycle around it. */
export async function runCompaction(
  ctx: CompactionContext,
  job: EngineJob,
): Promise<EngineResult & { stageMs: StageTimings }> {
  const timings: StageTimings = { inspectMs: 0, cleanMs: 0, planMs: 0, writeMs: 0, statsMs: 0 };
  checkJob(job);
  const signal = job.signal;
  const unreadable = new Map<number, string>();

  // 1. Validate every raw file fully (gzip framing, each line, value kinds).
  let t = performance.now();
  const scans: (RawScan | undefined)[] = await ctx.pool.scanAll(
    job.raw.map((r) => ({ path: r.localPath })),
    signal,
  );
  scans.forEach((scan, index) => {
    if (scan?.kind === "unreadable") unreadable.set(index, scan.error);
  });
  timings.inspectMs = performance.now() - t;

  // 2. Files with bad lines (or a BOM) are read from a cleaned copy: DuckDB's own error
  //    skipping loses valid lines next to bad ones.
  t = performance.now();
  const cleanPaths = new Map<number, string>();
  const toClean = scans.flatMap((scan, index) =>
    scan?.kind === "ok" && scan.needsCleaning
      ? [{ index, path: job.raw[index]!.localPath, cleanTo: join(ctx.scratchDir, `clean-${index}.ndjson`) }]
      : [],
  );
  const cleaned = await ctx.pool.scanAll(toClean, signal);
  cleaned.forEach((again, i) => {
    const { index, cleanTo } = toClean[i]!;
    const first = scans[index];
    if (again?.kind !== "ok" || first?.kind !== "ok" || again.validLines !== first.validLines) {
      throw new EngineInvariantError(`cleaning ${job.raw[index]!.key} did not reproduce its first scan`);
    }
    cleanPaths.set(index, cleanTo);
  });
  timings.cleanMs = performance.now() - t;

  try {
    // 3. Columns: schema ∪ lake inputs ∪ discovered raw fields.
    t = performance.now();
    const lakeColumns = await describeLake(ctx.connection, job);
    timings.planMs = performance.now() - t;

    // 4. Write. A file DuckDB still refuses (a validator blind spot) is set aside as
    //    unreadable and the job runs again without it, rather than failing the partition.
    let written: { outputs: EngineOutput[]; plan: ColumnPlan; sources: RawSource[] } | undefined;
    for (let attempt = 0; !written; attempt++) {
      t = performance.now();
      const plan = planColumns(
        job.schema,
        lakeColumns,
        scans.map((s, i) => (unreadable.has(i) ? undefined : s)),
      );
      const sources = await linkSources(
        job,
        scans,
        unreadable,
        cleanPaths,
        join(ctx.scratchDir, `read-${attempt}`),
      );
      timings.planMs += performance.now() - t;
      t = performance.now();
      try {
        const outputs = await writeOutputs(ctx.connection, job, plan, sources, lakeColumns);
        written = { outputs, plan, sources };
      } catch (error) {
        await clearDirectory(job.outputDir);
        const culprit = attempt < job.raw.length ? blameRawFile(error, sources) : undefined;
        if (!culprit || signal?.aborted) throw translateAbort(error, signal);
        unreadable.set(culprit.index, `DuckDB could not read it: ${firstLine(error)}`);
      }
      timings.writeMs += performance.now() - t;
    }
    // Cleaned copies stay until the counts below are done: counting NULLed values re-reads
    // the files that have them, cleaned copy included (removed in `finally`).

    // 5. Counts, from the written Parquet (cheap column scans) and targeted raw re-reads.
    t = performance.now();
    const { outputs, plan, sources } = written;
    const perFile = await countPerSource(ctx.connection, outputs, sources, plan);
    const nulledValues = await countNulled(ctx.connection, plan, sources);
    const lake = await countLake(ctx.connection, job, sources);
    timings.statsMs = performance.now() - t;

    const files: RawFileOutcome[] = job.raw.map((raw, index) => {
      const error = unreadable.get(index);
      if (error !== undefined) return { key: raw.key, eTag: raw.eTag, outcome: "unreadable", error };
      const scan = scans[index] as Extract<RawScan, { kind: "ok" }>;
      const counted = perFile.get(raw.key) ?? { rows: 0, nullHeartbeats: 0, absurdHeartbeats: 0 };
      if (counted.rows !== scan.validLines) {
        throw new EngineInvariantError(
          `${raw.key}: validator counted ${scan.validLines} rows but the output holds ${counted.rows}`,
        );
      }
      return {
        key: raw.key,
        eTag: raw.eTag,
        outcome: "read",
        rows: counted.rows,
        badLines: scan.lines - scan.validLines,
        nullHeartbeats: counted.nullHeartbeats,
        absurdHeartbeats: counted.absurdHeartbeats,
      };
    });
    const rowsOut = outputs.reduce((sum, o) => sum + o.rows, 0);
    const rawRows = sources.reduce((sum, s) => sum + s.scan.validLines, 0);
    if (rowsOut !== rawRows + lake.rowsFromLake - lake.rowsDropped) {
      throw new EngineInvariantError(
        `wrote ${rowsOut} rows, expected ${rawRows} raw + ${lake.rowsFromLake} lake - ${lake.rowsDropped} dropped`,
      );
    }
    return {
      outputs,
      files,
      schema: plan.schema,
      addedColumns: plan.added,
      widenedColumns: plan.widened,
      nullOnlyFields: plan.nullOnlyFields,
      conflictingFields: plan.conflictingFields,
      nulledValues,
      rowsFromLake: lake.rowsFromLake,
      rowsDropped: lake.rowsDropped,
      rowsOut,
      stageMs: timings,
    };
  } catch (error) {
    await clearDirectory(job.outputDir);
    throw translateAbort(error, signal);
  } finally {
    for (const path of cleanPaths.values()) await rm(path, { force: true });
  }
}

function checkJob(job: EngineJob): void {
  const keys = new Set<string>();
  const paths = new Set<string>();
  for (const raw of job.raw) {
    if (keys.has(raw.key)) throw new RangeError(`raw key ${raw.key} appears twice in one job`);
    if (paths.has(raw.localPath))
      throw new RangeError(`local path ${raw.localPath} appears twice in one job`);
    keys.add(raw.key);
    paths.add(raw.localPath);
  }
  if (!Number.isSafeInteger(job.maxFileBytes) || job.maxFileBytes < 1)
    throw new RangeError(`maxFileBytes must be a positive integer, got ${job.maxFileBytes}`);
  if (!Number.isInteger(job.limits.zstdLevel) || job.limits.zstdLevel < 1 || job.limits.zstdLevel > 22)
    throw new RangeError(`zstdLevel must be 1..22, got ${job.limits.zstdLevel}`);
}

/**
 * The readable raw files as DuckDB will read them: through symlinks named by position
 * (`<n>.ndjson.gz`, or `<n>.ndjson` for a cleaned copy), so each row's file is a list index.
 */
async function linkSources(
  job: EngineJob,
  scans: readonly (RawScan | undefined)[],
  unreadable: ReadonlyMap<number, string>,
  cleanPaths: ReadonlyMap<number, string>,
  dir: string,
): Promise<RawSource[]> {
  await mkdir(dir, { recursive: true });
  const sources: RawSource[] = [];
  for (const [index, raw] of job.raw.entries()) {
    const scan = scans[index];
    if (unreadable.has(index) || scan?.kind !== "ok") continue;
    const cleanPath = cleanPaths.get(index);
    const position = sources.length + 1;
    const readPath = join(dir, cleanPath === undefined ? `${position}.ndjson.gz` : `${position}.ndjson`);
    await symlink(resolve(cleanPath ?? raw.localPath), readPath);
    sources.push({
      index,
      key: raw.key,
      deviceId: raw.deviceId,
      readPath,
      gzip: cleanPath === undefined,
      scan,
    });
  }
  return sources;
}

async function describeLake(connection: DuckDBConnection, job: EngineJob): Promise<LakeColumn[]> {
  if (job.lake.length === 0) return [];
  const reader = await connection.runAndReadAll(
    "DESCRIBE SELECT * FROM read_parquet($files, union_by_name = true)",
    { files: listValue(job.lake.map((l) => l.localPath)) },
    { files: LIST(VARCHAR) },
  );
  return reader
    .getRowObjectsJson()
    .map((row) => ({ name: String(row.column_name), duckdbType: String(row.column_type) }));
}

/** `read_ndjson` over one kind of source (gzip originals or cleaned copies), or undefined if none. */
function rawReadSql(
  sources: readonly RawSource[],
  gzip: boolean,
  name: string,
  params: Params,
  types: ParamTypes,
  columnsParam: string,
): string | undefined {
  const chosen = sources.filter((s) => s.gzip === gzip);
  if (chosen.length === 0) return undefined;
  params[name] = listValue(chosen.map((s) => s.readPath));
  types[name] = LIST(VARCHAR);
  return `SELECT * FROM read_ndjson($${name}, columns = $${columnsParam}, format = 'newline_delimited',
    compression = '${gzip ? "gzip" : "uncompressed"}', auto_detect = false, ignore_errors = false,
    maximum_object_size = ${MAX_LINE_BYTES}, filename = '${PATH_COLUMN}')`;
}

/** Binds the read columns (raw field → DuckDB type) as a STRUCT parameter: no names in SQL text. */
function bindColumns(
  columns: readonly { field: string; type: string }[],
  name: string,
  params: Params,
  types: ParamTypes,
): void {
  const value: Record<string, DuckDBValue> = {};
  const type: Record<string, DuckDBType> = {};
  for (const c of columns) {
    value[c.field] = c.type;
    type[c.field] = VARCHAR;
  }
  params[name] = structValue(value);
  types[name] = STRUCT(type);
}

function rawSelectSql(plan: ColumnPlan, sources: readonly RawSource[], params: Params, types: ParamTypes) {
  if (sources.length === 0) return undefined;
  const readColumns = plan.columns
    .filter((c) => c.inRaw)
    .map((c) => ({ field: c.field, type: readType(c.type, c.needsCast) }));
  if (readColumns.some((c) => c.field.toLowerCase() === PATH_COLUMN)) {
    throw new RangeError(`a raw field is named ${PATH_COLUMN}, which the engine reserves`);
  }
  if (readColumns.length === 0) readColumns.push({ field: "heartbeat", type: "VARCHAR" });
  bindColumns(readColumns, "raw_columns", params, types);
  const reads = [
    rawReadSql(sources, true, "raw_gzip", params, types, "raw_columns"),
    rawReadSql(sources, false, "raw_clean", params, types, "raw_columns"),
  ].filter((s): s is string => s !== undefined);
  if (reads.length === 0) return undefined;

  // device_id and source_file come from the read path's index (see linkSources), not a
  // join: a hash join under ORDER BY ran out of memory at 256 MiB where this spills fine.
  params.src_keys = listValue(sources.map((s) => s.key));
  params.src_devices = listValue(sources.map((s) => s.deviceId));
  types.src_keys = LIST(VARCHAR);
  types.src_devices = LIST(VARCHAR);

  const select = plan.columns.map((c) => `${rawColumnExpr(c)} AS ${q(c.name)}`);
  const heartbeat = plan.columns.find((c) => c.field === "heartbeat");
  const eventTime = heartbeat
    ? eventTimeFromHeartbeat(q(heartbeat.name))
    : "CAST(NULL AS TIMESTAMP WITH TIME ZONE)";
  const position = `CAST(split_part(parse_filename(r.${q(PATH_COLUMN)}), '.', 1) AS INTEGER)`;
  return `SELECT *, ${eventTime} AS event_time FROM (
    SELECT ${[...select, `list_extract($src_devices, ${position}) AS device_id`, `list_extract($src_keys, ${position}) AS source_file`].join(",\n      ")}
    FROM (${reads.join("\nUNION ALL\n")}) r
  )`;
}

function rawColumnExpr(c: OutputColumn): string {
  if (!c.inRaw) return `CAST(NULL AS ${c.type})`;
  const source = `r.${q(c.field)}`;
  return c.needsCast ? castFromText(source, c.type) : source;
}

function lakeSelectSql(
  plan: ColumnPlan,
  job: EngineJob,
  lakeColumns: readonly LakeColumn[],
  sources: readonly RawSource[],
  params: Params,
  types: ParamTypes,
): string | undefined {
  if (job.lake.length === 0) return undefined;
  params.lake_files = listValue(job.lake.map((l) => l.localPath));
  params.drop_sources = listValue(dropSet(job, sources));
  types.lake_files = LIST(VARCHAR);
  types.drop_sources = LIST(VARCHAR);
  const present = new Set(lakeColumns.map((c) => c.name));
  const select = plan.columns.map((c) => {
    if (!present.has(c.name)) return `CAST(NULL AS ${c.type}) AS ${q(c.name)}`;
    // Our own older generations only ever hold narrower numeric types: a plain CAST widens.
    // Anything else was written by someone else; TRY_CAST keeps the job alive.
    const safe = c.lakeType === c.type || (isNumeric(c.lakeType) && isNumeric(c.type));
    return `${safe ? "CAST" : "TRY_CAST"}(l.${q(c.name)} AS ${c.type}) AS ${q(c.name)}`;
  });
  for (const [name, type] of [
    ["device_id", "VARCHAR"],
    ["source_file", "VARCHAR"],
    ["event_time", "TIMESTAMP WITH TIME ZONE"],
  ] as const) {
    select.push(
      present.has(name) ? `CAST(l.${name} AS ${type}) AS ${name}` : `CAST(NULL AS ${type}) AS ${name}`,
    );
  }
  return `SELECT ${select.join(",\n      ")}
    FROM read_parquet($lake_files, union_by_name = true) l
    ANTI JOIN (SELECT unnest($drop_sources) AS s) d ON l.source_file = d.s`;
}

function isNumeric(type: string | undefined): boolean {
  return type === "INTEGER" || type === "BIGINT" || type === "DOUBLE";
}

/** Sources whose earlier rows must go: the job's list plus every raw key read now (its rows are replaced). */
function dropSet(job: EngineJob, sources: readonly RawSource[]): string[] {
  return [...new Set([...job.dropSources, ...sources.map((s) => s.key)])];
}

/** Rows a Parquet writer thread buffers before it flushes a row group (DuckDB's default). */
const ROW_GROUP_ROWS = 122_880;
/** Parquet bytes per gzip'd raw byte, measured on telemetry (ZSTD); only steers the split. */
const PARQUET_PER_GZIP_BYTE = 0.6;

async function writeOutputs(
  connection: DuckDBConnection,
  job: EngineJob,
  plan: ColumnPlan,
  sources: readonly RawSource[],
  lakeColumns: readonly LakeColumn[],
): Promise<EngineOutput[]> {
  const params: Params = {};
  const types: ParamTypes = {};
  const parts = [
    rawSelectSql(plan, sources, params, types),
    lakeSelectSql(plan, job, lakeColumns, sources, params, types),
  ].filter((s): s is string => s !== undefined);
  if (parts.length === 0) return [];
  const union = parts.join("\nUNION ALL\n");
  const query = job.sort ? `SELECT * FROM (${union}) ORDER BY device_id, event_time` : union;
  const estimate = await estimateOutputBytes(job, sources);

  // Writing one file keeps DuckDB within memory_limit (its file-rotation options do not:
  // FILE_SIZE_BYTES ran out of memory at 256 MiB where a single file spilled fine). So the
  // output is one file when it should fit, and a sorted temp table cut into row ranges
  // when it should not (or turned out not to).
  if (estimate <= job.maxFileBytes) {
    await setInsertionOrder(connection, job, sources);
    const single = await copyToFile(connection, `(${query})`, params, types, job, 1);
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
      );
    } finally {
      await rm(tmp, { force: true });
    }
  }
  const rowsEstimate =
    sources.reduce((n, s) => n + s.scan.validLines, 0) + (await countLakeRows(connection, job));
  return writeSplit(connection, job, `(${query})`, params, types, estimate / Math.max(1, rowsEstimate));
}

/**
 * Unsorted output may be written in any order, which lets every thread fill its own row
 * group, but each buffers a full one: allow that only when memory_limit has room for it.
 */
async function setInsertionOrder(
  connection: DuckDBConnection,
  job: EngineJob,
  sources: readonly RawSource[],
) {
  let keepOrder = job.sort;
  if (!keepOrder) {
    const textPerRow = Math.max(2048, ...sources.map((s) => s.scan.textBytes / Math.max(1, s.scan.lines)));
    const threads = job.limits.threads > 0 ? job.limits.threads : availableParallelism();
    keepOrder = threads * ROW_GROUP_ROWS * textPerRow > job.limits.memoryLimitBytes;
  }
  await connection.run(`SET preserve_insertion_order = ${keepOrder ? "true" : "false"}`);
}

async function copyToFile(
  connection: DuckDBConnection,
  from: string,
  params: Params,
  types: ParamTypes,
  job: EngineJob,
  part: number,
): Promise<EngineOutput> {
  const localPath = join(job.outputDir, `part-${String(part).padStart(4, "0")}.parquet`);
  // DICTIONARY_SIZE_LIMIT: the default (tries a dictionary for every column) costs ~40%
  // more CPU and writes larger files on sensor data; a small dictionary still serves the
  // low-cardinality text columns.
  const reader = await connection.runAndReadAll(
    `COPY ${from} TO $out (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL $zstd_level,
      DICTIONARY_SIZE_LIMIT 1000, RETURN_STATS true)`,
    { ...params, out: localPath, zstd_level: job.limits.zstdLevel },
    { ...types, out: VARCHAR, zstd_level: INTEGER },
  );
  const row = reader.getRowObjectsJson()[0] ?? {};
  return { localPath, rows: Number(row.count ?? 0), bytes: Number(row.file_size_bytes ?? 0) };
}

/** Materialises `from` in order once, then writes consecutive row ranges of about maxFileBytes each. */
async function writeSplit(
  connection: DuckDBConnection,
  job: EngineJob,
  from: string,
  params: Params,
  types: ParamTypes,
  bytesPerRowEstimate: number,
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
        outputs.length + 1,
      );
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

async function estimateOutputBytes(job: EngineJob, sources: readonly RawSource[]): Promise<number> {
  let bytes = 0;
  for (const s of sources) {
    const info = await stat(s.gzip ? s.readPath : job.raw[s.index]!.localPath);
    bytes += info.size * PARQUET_PER_GZIP_BYTE;
  }
  for (const l of job.lake) bytes += (await stat(l.localPath)).size;
  return bytes;
}

async function countLakeRows(connection: DuckDBConnection, job: EngineJob): Promise<number> {
  if (job.lake.length === 0) return 0;
  const reader = await connection.runAndReadAll(
    "SELECT count(*) AS n FROM read_parquet($files, union_by_name = true)",
    { files: listValue(job.lake.map((l) => l.localPath)) },
    { files: LIST(VARCHAR) },
  );
  return Number(reader.getRowObjectsJson()[0]?.n ?? 0);
}

async function countPerSource(
  connection: DuckDBConnection,
  outputs: readonly EngineOutput[],
  sources: readonly RawSource[],
  plan: ColumnPlan,
): Promise<Map<string, { rows: number; nullHeartbeats: number; absurdHeartbeats: number }>> {
  const counts = new Map<string, { rows: number; nullHeartbeats: number; absurdHeartbeats: number }>();
  if (outputs.length === 0 || sources.length === 0) return counts;
  const heartbeat = plan.columns.find((c) => c.field === "heartbeat");
  const isNull = heartbeat ? `${q(heartbeat.name)} IS NULL` : "true";
  const reader = await connection.runAndReadAll(
    `SELECT source_file, count(*) AS rows,
       count(*) FILTER (${isNull}) AS null_hb,
       count(*) FILTER (NOT (${isNull}) AND event_time IS NULL) AS absurd_hb
     FROM read_parquet($outputs)
     WHERE source_file IN (SELECT unnest($keys))
     GROUP BY source_file`,
    { outputs: listValue(outputs.map((o) => o.localPath)), keys: listValue(sources.map((s) => s.key)) },
    { outputs: LIST(VARCHAR), keys: LIST(VARCHAR) },
  );
  for (const row of reader.getRowObjectsJson()) {
    counts.set(String(row.source_file), {
      rows: Number(row.rows),
      nullHeartbeats: Number(row.null_hb),
      absurdHeartbeats: Number(row.absurd_hb),
    });
  }
  return counts;
}

/**
 * Values that did not fit their column. Only cast columns can lose a value, and only in
 * the files whose validator kinds say they hold such values, so this re-reads just those
 * fields of just those files, with the same cast expression the write used.
 */
async function countNulled(
  connection: DuckDBConnection,
  plan: ColumnPlan,
  sources: readonly RawSource[],
): Promise<Record<string, number>> {
  const nulled: Record<string, number> = {};
  const castColumns = plan.columns.filter(
    (c) => c.needsCast && (plan.castFiles.get(c.name)?.length ?? 0) > 0,
  );
  if (castColumns.length === 0) return nulled;
  const wanted = new Set(castColumns.flatMap((c) => plan.castFiles.get(c.name) ?? []));
  const chosen = sources.filter((s) => wanted.has(s.index));
  const params: Params = {};
  const types: ParamTypes = {};
  bindColumns(
    castColumns.map((c) => ({ field: c.field, type: "VARCHAR" })),
    "nulled_columns",
    params,
    types,
  );
  const reads = [
    rawReadSql(chosen, true, "nulled_gzip", params, types, "nulled_columns"),
    rawReadSql(chosen, false, "nulled_clean", params, types, "nulled_columns"),
  ].filter((s): s is string => s !== undefined);
  if (reads.length === 0) return nulled;
  const counts = castColumns.map(
    (c, i) =>
      `count(*) FILTER (r.${q(c.field)} IS NOT NULL AND (${castFromText(`r.${q(c.field)}`, c.type)}) IS NULL) AS n${i}`,
  );
  const reader = await connection.runAndReadAll(
    `SELECT ${counts.join(", ")} FROM (${reads.join(" UNION ALL ")}) r`,
    params,
    types,
  );
  const row = reader.getRowObjectsJson()[0] ?? {};
  castColumns.forEach((c, i) => {
    const n = Number(row[`n${i}`] ?? 0);
    if (n > 0) nulled[c.name] = n;
  });
  return nulled;
}

async function countLake(
  connection: DuckDBConnection,
  job: EngineJob,
  sources: readonly RawSource[],
): Promise<{ rowsFromLake: number; rowsDropped: number }> {
  if (job.lake.length === 0) return { rowsFromLake: 0, rowsDropped: 0 };
  const reader = await connection.runAndReadAll(
    `SELECT count(*) AS total, count(*) FILTER (source_file IN (SELECT unnest($drop))) AS dropped
     FROM read_parquet($files, union_by_name = true)`,
    { files: listValue(job.lake.map((l) => l.localPath)), drop: listValue(dropSet(job, sources)) },
    { files: LIST(VARCHAR), drop: LIST(VARCHAR) },
  );
  const row = reader.getRowObjectsJson()[0] ?? {};
  return { rowsFromLake: Number(row.total), rowsDropped: Number(row.dropped) };
}

/** The raw input a DuckDB read error names, if any. */
function blameRawFile(error: unknown, sources: readonly RawSource[]): RawSource | undefined {
  const message = error instanceof Error ? error.message : String(error);
  if (/interrupt/i.test(message)) return undefined;
  return sources.find((s) => message.includes(s.readPath));
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
}

function translateAbort(error: unknown, signal: AbortSignal | undefined): unknown {
  if (!signal?.aborted) return error;
  const reason: unknown = signal.reason;
  return reason instanceof Error
    ? reason
    : new CompactionAbortedError("compaction aborted", { cause: error });
}

/** Removes what a failed attempt left in the output directory (it was empty before the job). */
async function clearDirectory(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    await mkdir(dir, { recursive: true });
    return;
  }
  await Promise.all(entries.map((e) => rm(join(dir, e), { recursive: true, force: true })));
}
