import type { ColumnSpec, ColumnType } from "./columns.js";

const NUMERIC_RANK: Partial<Record<ColumnType, number>> = { INTEGER: 1, BIGINT: 2, DOUBLE: 3 };

/**
 * Union of two column lists by name, keeping `current`'s order and appending new names;
 * numeric types widen (INTEGER → BIGINT → DOUBLE). Used when two workers extended the
 * same district schema at once: the merge is order-independent, so retries converge.
 */
export function mergeSchemas(current: readonly ColumnSpec[], incoming: readonly ColumnSpec[]): ColumnSpec[] {
  const merged = new Map<string, ColumnType>(current.map((c) => [c.name, c.type]));
  for (const column of incoming) {
    const existing = merged.get(column.name);
    merged.set(column.name, existing === undefined ? column.type : wider(existing, column.type));
  }
  return [...merged].map(([name, type]) => ({ name, type }));
}

function wider(a: ColumnType, b: ColumnType): ColumnType {
  const ra = NUMERIC_RANK[a];
  const rb = NUMERIC_RANK[b];
  if (ra !== undefined && rb !== undefined) return ra >= rb ? a : b;
  // A column's type never narrows and never turns numeric into text: the first type wins.
  return a;
}
