import { type ColumnType, isNumericType } from "@compacter/core";
import { type DuckDBConnection, LIST, listValue, VARCHAR } from "@duckdb/node-api";
import type { FieldStats, RawScan } from "../inspect/scanRawFile.js";
import { castFromText } from "../sql/expressions.js";
import type { ColumnPlan } from "./planColumns.js";

type OkScan = Extract<RawScan, { kind: "ok" }>;

/**
 * Cast columns and what their values must turn into, from the validator's counts alone.
 *
 * A numeric column that holds a stray string somewhere ("N/A", "12,5") is a cast column,
 * and with real data nearly every numeric column is one. Reading such a column as text and
 * casting every value costs as much as the rest of the read; reading it natively lets
 * DuckDB convert the strays with its own, looser rules ("NaN" and "54.3" into INTEGER
 * convert there, and must be NULL here). So a numeric cast column is read natively only
 * when the validator kept every string of it (they are few), and the write is then checked:
 * the column's non-NULL count must be exactly what our cast rule leaves. A column that
 * fails the check is read as text and cast in a second write (see runCompaction).
 *
 * NULLed values are counted the same way for every cast column, native or not: raw values
 * that are not null, minus non-NULL values written from the raw files. No raw re-read.
 */
export interface CastCounts {
  /** Cast columns (lake names) that may be read in their own type. */
  readonly native: ReadonlySet<string>;
  /** Per cast column: raw values that are not JSON null, over the job's readable raw files. */
  readonly rawNonNull: ReadonlyMap<string, number>;
  /** Per native candidate: how many of those values our cast rule turns into NULL. */
  readonly ruleNulls: ReadonlyMap<string, number>;
}

export async function planCastCounts(
  connection: DuckDBConnection,
  plan: ColumnPlan,
  scans: readonly OkScan[],
): Promise<CastCounts> {
  const castColumns = plan.columns.filter((c) => c.needsCast && c.inRaw);
  const rawNonNull = new Map<string, number>();
  const native = new Set<string>();
  // Per native candidate: non-text values (always NULL in a numeric column) and the kept strings.
  const pending = new Map<string, { type: ColumnType; nonText: number; strings: Map<string, number> }>();
  const byScan = scans.map((scan) => new Map(scan.fields.map(([field], i) => [field, scan.fieldStats[i]!])));
  for (const column of castColumns) {
    let nonNull = 0;
    let nonText = 0;
    const strings = new Map<string, number>();
    let allKept = isNumericType(column.type);
    for (const stats of byScan) {
      const s: FieldStats | undefined = stats.get(column.field);
      if (!s) continue;
      nonNull += s.nonNull;
      nonText += s.nonText;
      if (s.strings === null) allKept = false;
      else for (const [text, n] of s.strings) strings.set(text, (strings.get(text) ?? 0) + n);
    }
    rawNonNull.set(column.name, nonNull);
    if (allKept) pending.set(column.name, { type: column.type, nonText, strings });
  }
  // DuckDB's key matching is case-insensitive where ours is not: with fields that differ
  // only by case, the validator's per-field counts may not be what DuckDB reads.
  if (plan.conflictingFields.length > 0) return { native, rawNonNull, ruleNulls: new Map() };

  const nulling = await textsCastToNull(connection, pending);
  const ruleNulls = new Map<string, number>();
  for (const [name, p] of pending) {
    let nulls = p.nonText;
    for (const [text, n] of p.strings) if (nulling.get(p.type)?.has(text)) nulls += n;
    ruleNulls.set(name, nulls);
    native.add(name);
  }
  return { native, rawNonNull, ruleNulls };
}

/** Per type, the texts that our cast rule (castFromText, the same SQL the write uses) turns into NULL. */
async function textsCastToNull(
  connection: DuckDBConnection,
  pending: ReadonlyMap<string, { type: ColumnType; strings: ReadonlyMap<string, number> }>,
): Promise<Map<ColumnType, Set<string>>> {
  const textsByType = new Map<ColumnType, Set<string>>();
  for (const p of pending.values()) {
    const texts = textsByType.get(p.type) ?? new Set<string>();
    for (const text of p.strings.keys()) texts.add(text);
    textsByType.set(p.type, texts);
  }
  const result = new Map<ColumnType, Set<string>>();
  for (const [type, texts] of textsByType) {
    if (texts.size === 0) continue;
    const reader = await connection.runAndReadAll(
      `SELECT t FROM (SELECT unnest($texts) AS t) WHERE (${castFromText("t", type)}) IS NULL`,
      { texts: listValue([...texts]) },
      { texts: LIST(VARCHAR) },
    );
    result.set(type, new Set(reader.getRowsJson().map((row) => String(row[0]))));
  }
  return result;
}
