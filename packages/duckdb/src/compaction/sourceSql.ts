import { type EngineJob, parseBytes, SETTINGS } from "@compacter/core";
import {
  type DuckDBType,
  type DuckDBValue,
  LIST,
  listValue,
  STRUCT,
  structValue,
  VARCHAR,
} from "@duckdb/node-api";
import type { RawScan } from "../inspect/scanRawFile.js";
import { castFromText, eventTimeFromHeartbeat, readType } from "../sql/expressions.js";
import { quoteIdentifier as q } from "../sql/identifiers.js";
import type { ColumnPlan, LakeColumn, OutputColumn } from "./planColumns.js";

/**
 * The SQL that reads a job's inputs: raw files (gzip originals or cleaned copies) through
 * `read_ndjson` with bound column lists, and the partition's lake files. Names reach SQL
 * text only through quoteIdentifier; everything else is a bound parameter.
 */

export type Params = Record<string, DuckDBValue>;
export type ParamTypes = Record<string, DuckDBType>;

/**
 * A readable raw input as DuckDB reads it: through a symlink named by its position
 * (`<n>.ndjson.gz`, or `<n>.ndjson` for a cleaned copy), so each row's file is a list index.
 */
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

/** The scan bounds of a job: its limits, or the settings' defaults. */
export function scanBounds(job: EngineJob): { maxLineBytes: number; maxInflatedBytes: number } {
  return {
    maxLineBytes: job.limits.maxLineBytes ?? parseBytes(SETTINGS.maxLineBytes.default),
    maxInflatedBytes: job.limits.maxInflatedBytes ?? parseBytes(SETTINGS.maxInflatedBytes.default),
  };
}

/**
 * `read_ndjson` over one kind of source (gzip originals or plain copies), or over both in
 * the given order ("any": compression told apart by each path's `.gz` or not), or
 * undefined if there is none.
 */
export function rawReadSql(
  sources: readonly RawSource[],
  gzip: boolean | "any",
  name: string,
  params: Params,
  types: ParamTypes,
  columnsParam: string,
  maxLineBytes: number,
  ignoreErrors = false,
): string | undefined {
  const chosen = gzip === "any" ? sources : sources.filter((s) => s.gzip === gzip);
  if (chosen.length === 0) return undefined;
  params[name] = listValue(chosen.map((s) => s.readPath));
  types[name] = LIST(VARCHAR);
  return `SELECT * FROM read_ndjson($${name}, columns = $${columnsParam}, format = 'newline_delimited',
    compression = '${gzip === "any" ? "auto_detect" : gzip ? "gzip" : "uncompressed"}', auto_detect = false, ignore_errors = ${ignoreErrors},
    maximum_object_size = ${Math.floor(maxLineBytes)}, filename = '${PATH_COLUMN}')`;
}

/** Binds the read columns (raw field → DuckDB type) as a STRUCT parameter: no names in SQL text. */
export function bindColumns(
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
  // One read over every file, in `readOrder`, so insertion order follows it (a sorted job
  // over in-order files needs no sort) whichever files are gzip and which plain copies.
  const read = rawReadSql(
    readOrder,
    "any",
    "raw_files",
    params,
    types,
    "raw_columns",
    maxLineBytes,
    ignoreErrors,
  );
  if (read === undefined) return undefined;

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
    FROM (${read}) r
  )`;
}

function rawColumnExpr(c: OutputColumn, native: ReadonlySet<string>): string {
  if (!c.inRaw) return `CAST(NULL AS ${c.type})`;
  const source = `r.${q(c.name)}`;
  return c.needsCast && !native.has(c.name) ? castFromText(source, c.type) : source;
}

export function lakeSelectSql(
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
    ANTI JOIN (SELECT unnest($drop_sources) AS s) d ON l.source_file = d.s
    WHERE ${lakeRangeFilter(job, "l.device_id", params, types)}`;
}

/**
 * The SQL condition that keeps a sliced merge's devices (EngineJob.deviceRange), bounds
 * bound as parameters; "true" for a whole-partition job. A plain comparison on the column
 * is what DuckDB pushes into the Parquet scan, skipping row groups by their min/max.
 */
export function lakeRangeFilter(job: EngineJob, column: string, params: Params, types: ParamTypes): string {
  const range = job.deviceRange;
  const conditions: string[] = [];
  if (range?.fromDevice !== undefined) {
    params.range_from = range.fromDevice;
    types.range_from = VARCHAR;
    conditions.push(`${column} >= $range_from`);
  }
  if (range?.toDevice !== undefined) {
    params.range_to = range.toDevice;
    types.range_to = VARCHAR;
    conditions.push(`${column} < $range_to`);
  }
  return conditions.length > 0 ? conditions.join(" AND ") : "true";
}

function isNumeric(type: string | undefined): boolean {
  return type === "INTEGER" || type === "BIGINT" || type === "DOUBLE";
}

/** Sources whose earlier rows must go: the job's list plus every raw key read now (its rows are replaced). */
export function dropSet(job: EngineJob, sources: readonly RawSource[]): string[] {
  return [...new Set([...job.dropSources, ...sources.map((s) => s.key)])];
}
