import { mkdir, rm, symlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  columnNameForField,
  type EngineJob,
  type EngineOutput,
  type EngineResult,
  type EngineStage,
  type RawFileOutcome,
} from "@compacter/core";
import { type DuckDBConnection, LIST, listValue, VARCHAR } from "@duckdb/node-api";
import { CompactionAbortedError, EngineInvariantError } from "../errors.js";
import type { ScanPool } from "../inspect/ScanPool.js";
import type { RawScan, ScanOptions } from "../inspect/scanRawFile.js";
import { type CastCounts, planCastCounts } from "./castCounts.js";
import {
  countCastNonNull,
  countLake,
  countNulled,
  countPerSource,
  nulledFromCounts,
  type SourceCounts,
} from "./counts.js";
import { filesFailingAlone, probeRead } from "./isolateOffenders.js";
import { outputMetadata, readRenamedFields } from "./keyMetadata.js";
import { plainCopyPaths } from "./plainCopies.js";
import { type ColumnPlan, type LakeColumn, planColumns } from "./planColumns.js";
import { type RawSource, rawSelectSql, scanBounds } from "./sourceSql.js";
import { fetchLakeParts } from "./sparseLake.js";
import { clearDirectory, type WriteContext, writeOutputs } from "./writeOutputs.js";

export interface CompactionContext extends WriteContext {
  readonly pool: ScanPool;
}

/** Stage durations of the last job, for benchmarks and logs. */
export type StageTimings = {
  inspectMs: number;
  cleanMs: number;
  planMs: number;
  writeMs: number;
  statsMs: number;
};

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

  // 1. Validate every raw file fully (gzip framing, each line, value kinds). The text the
  //    validator inflates is also written out as a plain copy of the file's valid lines
  //    (within the plainCopyBudgetBytes setting), which DuckDB then reads instead of inflating the
  //    gzip a second time: each byte is inflated once. See plainCopies.ts.
  enter("inspect");
  let t = performance.now();
  const cleanPaths = new Map<number, string>();
  const copyTo = await plainCopyPaths(job, ctx.scratchDir);
  const scans: (RawScan | undefined)[] = await ctx.pool.scanAll(
    job.raw.map((r, index) => {
      const copy = copyTo.get(index);
      const options = copy ? { ...bounds, cleanTo: copy.path, cleanMaxBytes: copy.maxBytes } : bounds;
      return { path: r.localPath, options };
    }),
    signal,
  );
  for (const [index, copy] of copyTo) {
    const scan = scans[index];
    const complete = scan?.kind === "ok" && scan.textBytes <= copy.maxBytes;
    if (complete && keyRenames(scan) === undefined) cleanPaths.set(index, copy.path);
    else await rm(copy.path, { force: true });
  }
  scans.forEach((scan, index) => {
    if (scan?.kind === "unreadable") unreadable.set(index, scan.error);
  });
  timings.inspectMs = performance.now() - t;

  // 2. Files with bad lines (or a BOM) are read from a cleaned copy: DuckDB's own error
  //    skipping loses valid lines next to bad ones. So are files with keys that are not
  //    their own column name (case twins, "", quotes, …): the copy carries the column
  //    names, which DuckDB can tell apart. A plain copy from step 1 is already clean.
  enter("clean");
  t = performance.now();
  const toClean = scans.flatMap((scan, index) => {
    if (scan?.kind !== "ok" || cleanPaths.has(index)) return [];
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
    await fetchLakeParts(ctx.connection, job);
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
        job.ledgerTypes,
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
        outputs = await writeOutputs(ctx, job, plan, sources, lakeColumns, native, metadata);
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
      const short = sources.filter((s) => (perFile.get(s.key)?.rows ?? 0) !== s.scan.validLines);
      if (native.size > 0) {
        // Native reads skip values DuckDB cannot convert (ignore_errors); a line it could
        // not parse at all would go the same way, so a short file means: read as before.
        const wrong = [...native].filter(
          (c) => castNonNull.get(c) !== (casts.rawNonNull.get(c) ?? 0) - (casts.ruleNulls.get(c) ?? 0),
        );
        if (short.length > 0 || wrong.length > 0) {
          if (short.length > 0) nativeReads = false;
          for (const c of wrong) readAsText.add(c);
          await clearDirectory(job.outputDir);
          continue;
        }
      }
      if (short.length > 1 && short.length === sources.length) {
        // Every file at once is no one file's content: the engine is wrong, not the data.
        throw new EngineInvariantError(
          `DuckDB and the validator disagree on the row count of all ${short.length} raw files`,
        );
      }
      if (short.length > 0) {
        // DuckDB and the validator disagree on a file read as text: a validator blind spot
        // for that file's content. It fails alone (quarantined with the counts, so nothing
        // is lost silently and `compacter retry` can bring it back once fixed).
        for (const s of short) {
          const rows = perFile.get(s.key)?.rows ?? 0;
          unreadable.set(
            s.index,
            `DuckDB read ${rows} rows of it where the validator counted ${s.scan.validLines}; report this file as a Compacter bug`,
          );
        }
        await clearDirectory(job.outputDir);
        continue;
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
