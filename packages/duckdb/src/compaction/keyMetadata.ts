import type { FieldColumn } from "@compacter/core";
import { type DuckDBConnection, LIST, listValue, VARCHAR } from "@duckdb/node-api";
import type { ColumnPlan } from "./planColumns.js";

/**
 * Parquet key-value metadata key holding the escaped columns of a lake file with the raw
 * key each holds: JSON `[{ "field": "Speed", "column": "speed__c372fee9b456" }, …]`. An
 * escaped name cannot be read back into its key (columnNames.ts), so every file carries
 * the mapping of its own columns; read it with
 * `SELECT decode(value) FROM parquet_kv_metadata('…') WHERE decode(key) = 'compacter_renamed_fields'`.
 */
export const RENAMED_FIELDS_KEY = "compacter_renamed_fields";

/** The mapping lake files carry (union over the files; a column maps to one key lake-wide). */
export async function readRenamedFields(
  connection: DuckDBConnection,
  paths: readonly string[],
): Promise<FieldColumn[]> {
  if (paths.length === 0) return [];
  const reader = await connection.runAndReadAll(
    `SELECT decode(value) AS v FROM parquet_kv_metadata($files) WHERE decode(key) = '${RENAMED_FIELDS_KEY}'`,
    { files: listValue([...paths]) },
    { files: LIST(VARCHAR) },
  );
  const byColumn = new Map<string, FieldColumn>();
  for (const row of reader.getRowObjectsJson()) {
    for (const entry of parseMapping(String(row.v))) byColumn.set(entry.column, entry);
  }
  return [...byColumn.values()];
}

/** The metadata value for an output: the escaped columns it holds, from raw keys or lake inputs. */
export function outputMetadata(plan: ColumnPlan, fromLake: readonly FieldColumn[]): string {
  const columns = new Set(plan.columns.map((c) => c.name));
  const byColumn = new Map<string, FieldColumn>();
  for (const entry of [...fromLake, ...plan.renamedFields]) {
    if (columns.has(entry.column)) byColumn.set(entry.column, { field: entry.field, column: entry.column });
  }
  return JSON.stringify([...byColumn.values()]);
}

function parseMapping(text: string): FieldColumn[] {
  try {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value)) return [];
    return value.filter(
      (e): e is FieldColumn =>
        typeof e === "object" && e !== null && typeof e.field === "string" && typeof e.column === "string",
    );
  } catch {
    // A foreign or damaged value: the mapping is also in the generation history.
    return [];
  }
}
