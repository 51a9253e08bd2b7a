import { mkdir, readdir, rename, rm, stat, symlink } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import {
  columnNameForField,
  type EngineJob,
  type EngineOutput,
  type EngineResult,
  type EngineStage,
  parseBytes,
  type RawFileOutcome,
  SETTINGS,
} from "@compacter/core";
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
import type { RawScan, ScanOptions } from "../inspect/scanRawFile.js";
import { castFromText, eventTimeFromHeartbeat, readType } from "../sql/expressions.js";
import { quoteIdentifier as q } from "../sql/identifiers.js";
import { type CastCounts, planCastCounts } from "./castCounts.js";
import { filesFailingAlone, probeRead } from "./isolateOffenders.js";
import { outputMetadata, RENAMED_FIELDS_KEY, readRenamedFields } from "./keyMetadata.js";
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

export interface RawSource {
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
  // A DuckDB interrupt only stops a query that is running, so an abort that lands between
  // queries is caught here, at the next stage, and once more before the result is returned.
  const enter = (stage: EngineStage) => {
    if (signal?.aborted) throw translateAbort(undefined, signal);
    job.onStage?.(stage);
  };
  const unreadable = new Map<number, string>();
  const bounds = scanBounds(job);

  // 1. Validate every raw file fully (gzip framing, each line, value kinds).
  enter("inspect");
  let t = performance.now();
  const scans: (RawScan | undefined)[] = await ctx.pool.scanAll(
    job.raw.map((r) => ({ path: r.localPath, options: bounds })),
    signal,
  );
  scans.forEach((scan, index) => {
    if (scan?.kind === "unreadable") unreadable.set(index, scan.error);
  });
  timings.inspectMs = performance.now() - t;

  // 2. Files with bad lines (or a BOM) are read from a cleaned copy: DuckDB's own error
  //    skipping loses valid lines next to bad ones. So are files with keys that are not
  //    their own column name (case twins, "", quotes, …): the copy carries the column
  //    names, which DuckDB can tell apart.
  enter("clean");
  t = performance.now();
  const cleanPaths = new Map<number, string>();
  const toClean = scans.flatMap((scan, index) => {
    if (scan?.kind !== "ok") return [];
    const renames = keyRenames(scan);
    if (!scan.needsCleaning && renames === undefined) return [];
    const cleanTo = join(ctx.scratchDir, `clean-${index}.ndjson`);
    const options: ScanOptions = { ...bounds, cleanTo, ...(renames ? { renames } : {}) };
    return [{ index, path: job.raw[index]!.localPath, cleanTo, options }];
  });
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
    enter("plan");
    t = performance.now();
    const lakeColumns = await describeLake(ctx.connection, job);
    const lakeRenamed = await readRenamedFields(
      ctx.connection,
      job.lake.map((l) => l.localPath),
    );
    timings.planMs = performance.now() - t;

    // 4. Write. A file DuckDB still refuses (a validator blind spot) is set aside as
    //    unreadable and the job runs again without it, rather than failing the partition.
    //    A column read natively whose non-NULL count is not what our cast rule leaves is
    //    read as text in another write (see castCounts.ts).
    let written:
      | {
          outputs: EngineOutput[];
          plan: ColumnPlan;
          sources: RawSource[];
          casts: CastCounts;
          perFile: Map<string, SourceCounts>;
          castNonNull: Map<string, number>;
        }
      | undefined;
    const readAsText = new Set<string>();
    let nativeReads = true;
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
      const casts = await planCastCounts(
        ctx.connection,
        plan,
        sources.map((s) => s.scan),
      );
      const native = new Set(nativeReads ? [...casts.native].filter((c) => !readAsText.has(c)) : []);
      timings.planMs += performance.now() - t;
      enter("write");
      t = performance.now();
      let outputs: EngineOutput[];
      try {
        const metadata = outputMetadata(plan, lakeRenamed);
        outputs = await writeOutputs(ctx.connection, job, plan, sources, lakeColumns, native, metadata);
      } catch (error) {
        await clearDirectory(job.outputDir);
        if (signal?.aborted || attempt >= job.raw.length + 2) throw translateAbort(error, signal);
        // A file the message names is the culprit; otherwise each raw file is read on its
        // own to find the ones that fail alone. Only when none does is it the partition's
        // failure (a lake input, the disk, DuckDB itself) and the job fails.
        const named = blameRawFile(error, sources);
        const culprits = named
          ? [named]
          : await filesFailingAlone(sources, (one) =>
              probeRead(ctx.connection, (params, types) =>
                rawSelectSql(plan, [one], native, params, types, bounds.maxLineBytes),
              ),
            );
        if (culprits.length === 0 || signal?.aborted) throw translateAbort(error, signal);
        for (const culprit of culprits) {
          const cause = "error" in culprit ? culprit.error : error;
          unreadable.set(culprit.index, `DuckDB could not read it: ${firstLine(cause)}`);
        }
        timings.writeMs += performance.now() - t;
        continue;
      }
      timings.writeMs += performance.now() - t;
      enter("stats");
      t = performance.now();
      const perFile = await countPerSource(ctx.connection, outputs, sources, plan);
      const castNonNull = await countCastNonNull(ctx.connection, job, outputs, sources, plan);
      timings.statsMs += performance.now() - t;
      if (native.size > 0) {
        // Native reads skip values DuckDB cannot convert (ignore_errors); a line it could
        // not parse at all would go the same way, so a short file means: read as before.
        const short = sources.some((s) => (perFile.get(s.key)?.rows ?? 0) !== s.scan.validLines);
        const wrong = [...native].filter(
          (c) => castNonNull.get(c) !== (casts.rawNonNull.get(c) ?? 0) - (casts.ruleNulls.get(c) ?? 0),
        );
        if (short || wrong.length > 0) {
          if (short) nativeReads = false;
          for (const c of wrong) readAsText.add(c);
          await clearDirectory(job.outputDir);
          continue;
        }
      }
      written = { outputs, plan, sources, casts, perFile, castNonNull };
    }
    // Cleaned copies stay until the counts below are done: counting NULLed values may
    // re-read the files that have them, cleaned copy included (removed in `finally`).

    // 5. Counts, from the written Parquet (cheap column scans) and the validator's counts.
    t = performance.now();
    const { outputs, plan, sources, perFile } = written;
    const nulledValues =
      plan.conflictingFields.length > 0
        ? await countNulled(ctx.connection, plan, sources, bounds.maxLineBytes)
        : nulledFromCounts(written.casts, written.castNonNull);
    const lake = await countLake(ctx.connection, job, sources);
    timings.statsMs += performance.now() - t;

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
        ...(scan.badSamples.length > 0 ? { badLineSamples: scan.badSamples } : {}),
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
    if (signal?.aborted) throw translateAbort(undefined, signal);
    return {
      outputs,
      files,
      schema: plan.schema,
      addedColumns: plan.added,
      widenedColumns: plan.widened,
      nullOnlyFields: plan.nullOnlyFields,
      conflictingFields: plan.conflictingFields,
      renamedFields: plan.renamedFields,
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

/** The scan bounds of a job: its limits, or the settings' defaults. */
function scanBounds(job: EngineJob): { maxLineBytes: number; maxInflatedBytes: number } {
  return {
    maxLineBytes: job.limits.maxLineBytes ?? parseBytes(SETTINGS.maxLineBytes.default),
    maxInflatedBytes: job.limits.maxInflatedBytes ?? parseBytes(SETTINGS.maxInflatedBytes.default),
  };
}

/** Raw key → column name for the keys of a file that are not their own column name, if any. */
function keyRenames(scan: Extract<RawScan, { kind: "ok" }>): Record<string, string> | undefined {
  let renames: Record<string, string> | undefined;
  for (const [field] of scan.fields) {
    const column = columnNameForField(field);
    if (column === field) continue;
    renames ??= Object.create(null) as Record<string, string>;
    renames[field] = column;
  }
  return renames;
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
  maxLineBytes: number,
  ignoreErrors = false,
): string | undefined {
  const chosen = sources.filter((s) => s.gzip === gzip);
  if (chosen.length === 0) return undefined;
  params[name] = listValue(chosen.map((s) => s.readPath));
  types[name] = LIST(VARCHAR);
  return `SELECT * FROM read_ndjson($${name}, columns = $${columnsParam}, format = 'newline_delimited',
    compression = '${gzip ? "gzip" : "uncompressed"}', auto_detect = false, ignore_errors = ${ignoreErrors},
    maximum_object_size = ${Math.floor(maxLineBytes)}, filename = '${PATH_COLUMN}')`;
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

export function rawSelectSql(
  plan: ColumnPlan,
  sources: readonly RawSource[],
  native: ReadonlySet<string>,
  params: Params,
  types: ParamTypes,
  maxLineBytes: number,
  readOrder: readonly RawSource[] = sources,
) {
  if (sources.length === 0) return undefined;
  const readColumns = plan.columns
    .filter((c) => c.inRaw)
    .map((c) => ({ field: c.name, type: readType(c.type, c.needsCast && !native.has(c.name)) }));
  if (readColumns.some((c) => c.field.toLowerCase() === PATH_COLUMN)) {
    throw new RangeError(`a raw field is named ${PATH_COLUMN}, which the engine reserves`);
  }
  if (readColumns.length === 0) readColumns.push({ field: "heartbeat", type: "VARCHAR" });
  bindColumns(readColumns, "raw_columns", params, types);
  // Every line was validated, so the only errors DuckDB may skip are values of natively
  // read cast columns that do not convert (they become NULL, and are counted).
  const ignoreErrors = native.size > 0;
  const reads = [
    rawReadSql(readOrder, true, "raw_gzip", params, types, "raw_columns", maxLineBytes, ignoreErrors),
    rawReadSql(readOrder, false, "raw_clean", params, types, "raw_columns", maxLineBytes, ignoreErrors),
  ].filter((s): s is string => s !== undefined);
  if (reads.length === 0) return undefined;

  // device_id and source_file come from the read path's index (see linkSources), not a
  // join: a hash join under ORDER BY ran out of memory at 256 MiB where this spills fine.
  params.src_keys = listValue(sources.map((s) => s.key));
  params.src_devices = listValue(sources.map((s) => s.deviceId));
  types.src_keys = LIST(VARCHAR);
  types.src_devices = LIST(VARCHAR);

  const select = plan.columns.map((c) => `${rawColumnExpr(c, native)} AS ${q(c.name)}`);
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

function rawColumnExpr(c: OutputColumn, native: ReadonlySet<string>): string {
  if (!c.inRaw) return `CAST(NULL AS ${c.type})`;
  const source = `r.${q(c.name)}`;
  return c.needsCast && !native.has(c.name) ? castFromText(source, c.type) : source;
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

/**
 * A sorted job over raw files only (a closed day converted in one go) usually needs no
 * sort at all: read the files in device_id-then-key order with insertion order kept and
 * the rows come out in device_id, event_time order, since a device writes its hour in
 * time order and its keys sort by hour. That is checked on the written file (two columns,
 * cheap), and a job whose rows are not in order is written again with ORDER BY — which
 * over ~180 wide columns costs about as much as everything else in the job.
 */
async function writeOutputs(
  connection: DuckDBConnection,
  job: EngineJob,
  plan: ColumnPlan,
  sources: readonly RawSource[],
  lakeColumns: readonly LakeColumn[],
  native: ReadonlySet<string>,
  metadata: string,
): Promise<EngineOutput[]> {
  const cleaned = sources.filter((s) => !s.gzip).length;
  // Gzip'd and cleaned files are two reads (UNION ALL); order holds only within one.
  if (job.sort && job.lake.length === 0 && (cleaned === 0 || cleaned === sources.length)) {
    const readOrder = [...sources].sort(
      (a, b) =>
        Buffer.compare(Buffer.from(a.deviceId), Buffer.from(b.deviceId)) ||
        Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)),
    );
    const outputs = await writeQuery(
      connection,
      job,
      plan,
      sources,
      lakeColumns,
      native,
      metadata,
      "readOrder",
      readOrder,
    );
    if (await inDeviceTimeOrder(connection, outputs)) return outputs;
    await clearDirectory(job.outputDir);
  }
  return writeQuery(
    connection,
    job,
    plan,
    sources,
    lakeColumns,
    native,
    metadata,
    job.sort ? "orderBy" : "any",
  );
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
  const query = order === "orderBy" ? `SELECT * FROM (${union}) ORDER BY device_id, event_time` : union;
  const estimate = await estimateOutputBytes(job, sources);

  // Writing one file keeps DuckDB within memory_limit (its file-rotation options do not:
  // FILE_SIZE_BYTES ran out of memory at 256 MiB where a single file spilled fine). So the
  // output is one file when it should fit, and a sorted temp table cut into row ranges
  // when it should not (or turned out not to).
  if (estimate <= job.maxFileBytes) {
    await setInsertionOrder(connection, job, sources, order !== "any");
    const single = await copyToFile(connection, `(${query})`, params, types, job, metadata, 1);
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
    sources.reduce((n, s) => n + s.scan.validLines, 0) + (await countLakeRows(connection, job));
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
  let keepOrder = ordered;
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
  metadata: string,
  part: number,
): Promise<EngineOutput> {
  const localPath = join(job.outputDir, `part-${String(part).padStart(4, "0")}.parquet`);
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

/** Materialises `from` in order once, then writes consecutive row ranges of about maxFileBytes each. */
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

interface SourceCounts {
  readonly rows: number;
  readonly nullHeartbeats: number;
  readonly absurdHeartbeats: number;
}

async function countPerSource(
  connection: DuckDBConnection,
  outputs: readonly EngineOutput[],
  sources: readonly RawSource[],
  plan: ColumnPlan,
): Promise<Map<string, SourceCounts>> {
  const counts = new Map<string, SourceCounts>();
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
 * Non-NULL values of every cast column in the rows written from raw files. Without lake
 * inputs every output row is one, and the Parquet footers' null counts answer it; with
 * them, the cast columns of the raw rows are scanned.
 */
async function countCastNonNull(
  connection: DuckDBConnection,
  job: EngineJob,
  outputs: readonly EngineOutput[],
  sources: readonly RawSource[],
  plan: ColumnPlan,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const columns = plan.columns.filter((c) => c.needsCast && c.inRaw);
  if (columns.length === 0 || outputs.length === 0 || sources.length === 0) return counts;
  const files = { outputs: listValue(outputs.map((o) => o.localPath)) };
  const fileTypes = { outputs: LIST(VARCHAR) };
  if (job.lake.length === 0) {
    const reader = await connection.runAndReadAll(
      `SELECT path_in_schema AS name, sum(stats_null_count) AS nulls, bool_and(stats_null_count IS NOT NULL) AS known
       FROM parquet_metadata($outputs) GROUP BY path_in_schema`,
      files,
      fileTypes,
    );
    const rows = outputs.reduce((n, o) => n + o.rows, 0);
    const nulls = new Map(reader.getRowObjectsJson().map((r) => [String(r.name), r]));
    if (columns.every((c) => nulls.get(c.name)?.known === true)) {
      for (const c of columns) counts.set(c.name, rows - Number(nulls.get(c.name)?.nulls ?? 0));
      return counts;
    }
  }
  const reader = await connection.runAndReadAll(
    `SELECT ${columns.map((c, i) => `count(${q(c.name)}) AS n${i}`).join(", ")}
     FROM read_parquet($outputs) WHERE source_file IN (SELECT unnest($keys))`,
    { ...files, keys: listValue(sources.map((s) => s.key)) },
    { ...fileTypes, keys: LIST(VARCHAR) },
  );
  const row = reader.getRowObjectsJson()[0] ?? {};
  columns.forEach((c, i) => {
    counts.set(c.name, Number(row[`n${i}`] ?? 0));
  });
  return counts;
}

/** Values that did not fit their column: raw values that were not null, minus what was written. */
function nulledFromCounts(
  casts: CastCounts,
  castNonNull: ReadonlyMap<string, number>,
): Record<string, number> {
  const nulled: Record<string, number> = {};
  for (const [name, raw] of casts.rawNonNull) {
    const n = raw - (castNonNull.get(name) ?? 0);
    if (n < 0)
      throw new EngineInvariantError(`${name}: wrote ${-n} more non-NULL values than the raw files hold`);
    if (n > 0) nulled[name] = n;
  }
  return nulled;
}

/**
 * Values that did not fit their column, by re-reading the cast fields of the files that
 * hold values that may not fit, with the same cast expression the write used. Only used
 * when raw fields differ from a column's name only by case (see castCounts.ts).
 */
async function countNulled(
  connection: DuckDBConnection,
  plan: ColumnPlan,
  sources: readonly RawSource[],
  maxLineBytes: number,
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
    castColumns.map((c) => ({ field: c.name, type: "VARCHAR" })),
    "nulled_columns",
    params,
    types,
  );
  const reads = [
    rawReadSql(chosen, true, "nulled_gzip", params, types, "nulled_columns", maxLineBytes),
    rawReadSql(chosen, false, "nulled_clean", params, types, "nulled_columns", maxLineBytes),
  ].filter((s): s is string => s !== undefined);
  if (reads.length === 0) return nulled;
  const counts = castColumns.map(
    (c, i) =>
      `count(*) FILTER (r.${q(c.name)} IS NOT NULL AND (${castFromText(`r.${q(c.name)}`, c.type)}) IS NULL) AS n${i}`,
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
