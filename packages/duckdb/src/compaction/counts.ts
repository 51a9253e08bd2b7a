import type { EngineJob, EngineOutput } from "@compacter/core";
import { type DuckDBConnection, LIST, listValue, VARCHAR } from "@duckdb/node-api";
import { EngineInvariantError } from "../errors.js";
import { castFromText } from "../sql/expressions.js";
import { quoteIdentifier as q } from "../sql/identifiers.js";
import type { CastCounts } from "./castCounts.js";
import type { ColumnPlan } from "./planColumns.js";
import {
  bindColumns,
  dropSet,
  lakeRangeFilter,
  type Params,
  type ParamTypes,
  type RawSource,
  rawReadSql,
} from "./sourceSql.js";

// What a job's output holds, counted from the written Parquet (cheap column scans) and,
// where a count needs it, the raw inputs again.

/** Rows of one raw source in the output, with its heartbeat damage. */
export interface SourceCounts {
  readonly rows: number;
  readonly nullHeartbeats: number;
  readonly absurdHeartbeats: number;
}

export async function countPerSource(
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
export async function countCastNonNull(
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
export function nulledFromCounts(
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
export async function countNulled(
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

export async function countLake(
  connection: DuckDBConnection,
  job: EngineJob,
  sources: readonly RawSource[],
): Promise<{ rowsFromLake: number; rowsDropped: number }> {
  if (job.lake.length === 0) return { rowsFromLake: 0, rowsDropped: 0 };
  const params: Params = {
    files: listValue(job.lake.map((l) => l.localPath)),
    drop: listValue(dropSet(job, sources)),
  };
  const types: ParamTypes = { files: LIST(VARCHAR), drop: LIST(VARCHAR) };
  const inRange = lakeRangeFilter(job, "device_id", params, types);
  const reader = await connection.runAndReadAll(
    `SELECT count(*) AS total, count(*) FILTER (source_file IN (SELECT unnest($drop))) AS dropped
     FROM read_parquet($files, union_by_name = true) WHERE ${inRange}`,
    params,
    types,
  );
  const row = reader.getRowObjectsJson()[0] ?? {};
  return { rowsFromLake: Number(row.total), rowsDropped: Number(row.dropped) };
}
