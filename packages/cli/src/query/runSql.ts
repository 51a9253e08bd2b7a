import { mkdir } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { CompacterError } from "@compacter/core";
import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBPreparedStatement,
  type DuckDBType,
  DuckDBTypeId,
  JsonDuckDBValueConverter,
} from "@duckdb/node-api";
import { UsageError } from "../errors.js";
import { type Cell, type ColumnInfo, createResultWriter, type OutputFormat } from "./resultWriters.js";

/** DuckDB rejected the SQL (parser, binder, catalog, conversion, …): its message is the whole story. */
export class QueryError extends CompacterError {}

export interface SqlRequest {
  readonly sql: string;
  /** `--param name=value`: bound to `$name` as text; DuckDB casts it to the type the SQL expects. */
  readonly params: Readonly<Record<string, string>>;
  readonly format: OutputFormat;
  readonly out: Writable;
}

export interface SqlEnvironment {
  /**
   * Root of the snapshot's Hive tree (`hiveperiod=…/district=…/*.parquet`), or undefined
   * when the scope holds no files: `telemetry` is then an empty view.
   */
  readonly lakeRoot: string | undefined;
  /** Private scratch directory: spill files, DuckDB's extension and home directories. */
  readonly scratchDir: string;
  readonly memoryLimitBytes: number;
  /** 0 = one per core. */
  readonly threads: number;
  /** Aborting interrupts the running statement. */
  readonly signal?: AbortSignal;
  /**
   * DuckDB `TimeZone` (an ICU zone name from core's duckDbTimeZone, never user text): how
   * TIMESTAMPTZ values such as event_time print. Default UTC.
   */
  readonly timeZone?: string;
}

export interface SqlResult {
  readonly rows: number;
  readonly columns: readonly string[];
  /** `--param` names no statement used. */
  readonly unusedParams: readonly string[];
}

/** Name of the DuckDB variable holding the snapshot's glob; the view reads it at query time. */
const GLOB_VARIABLE = "compacter_telemetry_glob";

/**
 * Runs the user's SQL (one or more statements; the last one's result is printed) against
 * a `telemetry` view of the snapshot. The view reads the Hive tree with
 * `hive_partitioning` (so `hiveperiod` and `district` are columns, hiveperiod a DATE)
 * and `union_by_name` (files written before a field appeared lack its column).
 */
export async function runSql(request: SqlRequest, env: SqlEnvironment): Promise<SqlResult> {
  await mkdir(env.scratchDir, { recursive: true });
  let instance: DuckDBInstance | undefined;
  let connection: DuckDBConnection | undefined;
  const interrupt = () => connection?.interrupt();
  env.signal?.addEventListener("abort", interrupt, { once: true });
  try {
    instance = await DuckDBInstance.create(":memory:", {
      memory_limit: `${Math.floor(env.memoryLimitBytes)}B`,
      threads: String(env.threads > 0 ? env.threads : availableParallelism()),
      temp_directory: join(env.scratchDir, "spill"),
      // Nothing may reach the network or $HOME: parquet and json are built in.
      extension_directory: join(env.scratchDir, "extensions"),
      secret_directory: join(env.scratchDir, "secrets"),
      home_directory: env.scratchDir,
      allow_persistent_secrets: "false",
      autoinstall_known_extensions: "false",
      autoload_known_extensions: "true",
    });
    connection = await instance.connect();
    if (env.timeZone !== undefined) {
      // SET takes no bound parameter; the name is one of core's fixed zone names, quoted anyway.
      await connection.run(`SET TimeZone = '${env.timeZone.replaceAll("'", "''")}'`);
    }
    await defineTelemetryView(connection, env.lakeRoot);
    return await runStatements(connection, request, env.signal);
  } finally {
    env.signal?.removeEventListener("abort", interrupt);
    connection?.closeSync();
    instance?.closeSync();
  }
}

async function defineTelemetryView(
  connection: DuckDBConnection,
  lakeRoot: string | undefined,
): Promise<void> {
  if (lakeRoot === undefined) {
    await connection.run(
      "CREATE TEMP VIEW telemetry AS SELECT NULL::DATE AS hiveperiod, NULL::VARCHAR AS district WHERE false",
    );
    return;
  }
  // The path travels as a bound value into a variable, never into the SQL text.
  await connection.run(`SET VARIABLE ${GLOB_VARIABLE} = $glob`, {
    glob: join(lakeRoot, "*", "*", "*.parquet"),
  });
  await connection.run(
    `CREATE TEMP VIEW telemetry AS SELECT * FROM read_parquet(getvariable('${GLOB_VARIABLE}'), hive_partitioning = true, union_by_name = true)`,
  );
}

async function runStatements(
  connection: DuckDBConnection,
  request: SqlRequest,
  signal: AbortSignal | undefined,
): Promise<SqlResult> {
  const used = new Set<string>();
  const statements = await duck(() => connection.extractStatements(request.sql));
  if (statements.count === 0) throw new UsageError("the SQL holds no statement");
  let result: { rows: number; columns: readonly string[] } = { rows: 0, columns: [] };
  for (let i = 0; i < statements.count; i++) {
    // Prepared one at a time: a statement may use what the one before created.
    const prepared = await duck(() => statements.prepare(i));
    // An abort that came while no statement was running (before the connection existed,
    // or between statements) reached no query: interrupt() only stops one in flight.
    signal?.throwIfAborted();
    bindParams(prepared, request.params, used);
    if (i < statements.count - 1) {
      await duck(() => prepared.run());
      continue;
    }
    result = await streamResult(prepared, request);
  }
  return { ...result, unusedParams: Object.keys(request.params).filter((name) => !used.has(name)) };
}

function bindParams(
  prepared: DuckDBPreparedStatement,
  params: Readonly<Record<string, string>>,
  used: Set<string>,
): void {
  for (let index = 1; index <= prepared.parameterCount; index++) {
    const name = prepared.parameterName(index);
    const value = params[name];
    if (value === undefined) {
      throw new UsageError(`the SQL uses $${name}: pass --param ${name}=VALUE`);
    }
    used.add(name);
    prepared.bindVarchar(index, value);
  }
}

async function streamResult(
  prepared: DuckDBPreparedStatement,
  request: SqlRequest,
): Promise<{ rows: number; columns: readonly string[] }> {
  const result = await duck(() => prepared.stream());
  const names = result.columnNames();
  const types = result.columnTypes();
  const writer = createResultWriter(request.format, request.out);
  await writer.begin(names.map((name, i) => ({ name, numeric: isNumeric(types[i]) }) satisfies ColumnInfo));
  const bigIntegers = types.map((t) => t !== undefined && BIG_INTEGER_TYPES.has(t.typeId));
  for (;;) {
    const chunk = await duck(() => result.fetchChunk());
    if (!chunk || chunk.rowCount === 0) break;
    const rows = chunk.convertRows(JsonDuckDBValueConverter);
    await writer.rows(
      bigIntegers.includes(true)
        ? rows.map((row) => row.map((v, i) => (bigIntegers[i] ? safeNumber(v) : v)))
        : rows,
    );
  }
  return { rows: await writer.end(), columns: names };
}

/** 64- and 128-bit integers arrive as strings (JSON has no bigint); small ones print as numbers. */
const BIG_INTEGER_TYPES: ReadonlySet<DuckDBTypeId> = new Set([
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
]);

const NUMERIC_TYPES: ReadonlySet<DuckDBTypeId> = new Set([
  ...BIG_INTEGER_TYPES,
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.FLOAT,
  DuckDBTypeId.DOUBLE,
  DuckDBTypeId.DECIMAL,
]);

function isNumeric(type: DuckDBType | undefined): boolean {
  return type !== undefined && NUMERIC_TYPES.has(type.typeId);
}

function safeNumber(value: Cell): Cell {
  if (typeof value !== "string") return value;
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : value;
}

/** DuckDB's own message, without the binding's wrapper text and without a stack trace. */
async function duck<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof CompacterError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new QueryError(message.replace(/^Failed to extract statements: /, ""), { cause: error });
  }
}
