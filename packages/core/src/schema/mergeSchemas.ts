import type { ColumnSpec, ColumnType } from "./columns.js";
import { unifyColumnTypes } from "./widening.js";

/**
 * Union of two column lists by name, keeping `current`'s order and appending new names;
 * types follow the widening rules (numeric widens, nothing else changes). Used when two
 * workers extended the same district schema at once: the merge is order-independent, so
 * retries converge.
 */
export function mergeSchemas(current: readonly ColumnSpec[], incoming: readonly ColumnSpec[]): ColumnSpec[] {
  const merged = new Map<string, ColumnType>(current.map((c) => [c.name, c.type]));
  for (const column of incoming) {
    const existing = merged.get(column.name);
    merged.set(column.name, existing === undefined ? column.type : unifyColumnTypes(existing, column.type));
  }
  return [...merged].map(([name, type]) => ({ name, type }));
}
