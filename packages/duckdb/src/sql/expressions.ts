import type { ColumnType } from "@compacter/core";

// Fixed patterns (not data): what a string must look like to count as a number. DuckDB's
// own casts are looser ("54.3" → INTEGER 54, "NaN" and "inf" → DOUBLE), and a value that
// would change or is not a JSON-style number must become NULL and be counted instead.
const INTEGER_TEXT = String.raw`\s*[-+]?[0-9]+\s*`;
const NUMBER_TEXT = String.raw`\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*`;

/** SQL that turns text (`expr`, VARCHAR) into `type`, or NULL when the value does not fit. */
export function castFromText(expr: string, type: ColumnType): string {
  switch (type) {
    case "INTEGER":
    case "BIGINT":
      return `CASE WHEN regexp_full_match(${expr}, '${INTEGER_TEXT}') THEN TRY_CAST(${expr} AS ${type}) END`;
    case "DOUBLE":
      return `CASE WHEN regexp_full_match(${expr}, '${NUMBER_TEXT}') THEN TRY_CAST(${expr} AS DOUBLE) END`;
    case "BOOLEAN":
      return `TRY_CAST(${expr} AS BOOLEAN)`;
    case "VARCHAR":
      return expr;
    case "JSON":
      return `CAST(${expr} AS JSON)`;
  }
}

/** The DuckDB type a raw field is read as: its own type, or text when values must be cast. */
export function readType(type: ColumnType, needsCast: boolean): ColumnType {
  if (!needsCast || type === "VARCHAR" || type === "JSON") return type;
  return "VARCHAR";
}

/**
 * Plausible epochs, 2000-01-01 to 2100-01-01, in each unit a device may use. The ranges do
 * not overlap, so a heartbeat's magnitude tells its unit; anything outside all three is
 * absurd (event_time NULL, row kept).
 */
export const HEARTBEAT_WINDOW_SECONDS = { from: 946_684_800, to: 4_102_444_800 } as const;

/**
 * event_time (TIMESTAMPTZ) from a numeric heartbeat expression. Epoch arithmetic on UTC
 * microseconds through `timezone('UTC', …)`, so the session TimeZone never matters.
 */
export function eventTimeFromHeartbeat(heartbeat: string): string {
  const { from, to } = HEARTBEAT_WINDOW_SECONDS;
  const h = `TRY_CAST(${heartbeat} AS DOUBLE)`;
  const micros = `CASE
      WHEN ${h} BETWEEN ${from} AND ${to} THEN ${h} * 1000000
      WHEN ${h} BETWEEN ${from}e3 AND ${to}e3 THEN ${h} * 1000
      WHEN ${h} BETWEEN ${from}e6 AND ${to}e6 THEN ${h}
    END`;
  return `timezone('UTC', make_timestamp(CAST(round(${micros}) AS BIGINT)))`;
}
