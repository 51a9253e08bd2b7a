import type { DuckDBConnection, DuckDBType, DuckDBValue } from "@duckdb/node-api";

/** A raw input that fails when read on its own, with the error it failed with. */
export interface Offender<S> {
  readonly index: number;
  readonly source: S;
  readonly error?: unknown;
}

/**
 * The raw inputs that fail when each is read on its own: how a write error that names no
 * file is traced to the files it came from, so they are quarantined and the partition
 * compacts without them. An empty answer means the failure is not any one file's.
 * Sequential on purpose: this is the rare path, and it must not add memory to a job that
 * just failed.
 */
export async function filesFailingAlone<S extends { readonly index: number }>(
  sources: readonly S[],
  probe: (source: S) => Promise<void>,
): Promise<Offender<S>[]> {
  const offenders: Offender<S>[] = [];
  for (const source of sources) {
    try {
      await probe(source);
    } catch (error) {
      if (/interrupt/i.test(error instanceof Error ? error.message : String(error))) throw error;
      offenders.push({ index: source.index, source, error });
    }
  }
  return offenders;
}

/**
 * Reads every value of one raw input's rows the way the write does. The filter touches
 * every column (`COLUMNS(*)`), so DuckDB cannot skip the one a count alone would not need;
 * no table alias is used, since a raw column could carry the alias's name.
 */
export async function probeRead(
  connection: DuckDBConnection,
  selectSql: (params: Record<string, DuckDBValue>, types: Record<string, DuckDBType>) => string | undefined,
): Promise<void> {
  const params: Record<string, DuckDBValue> = {};
  const types: Record<string, DuckDBType> = {};
  const sql = selectSql(params, types);
  if (sql === undefined) return;
  await connection.run(`SELECT count(*) FROM (${sql}) WHERE hash(COLUMNS(*)) IS NOT NULL`, params, types);
}
