/**
 * The lake's column types. Raw JSON values map to these; a column's type only widens
 * (INTEGER → BIGINT → DOUBLE), and a value that doesn't fit becomes NULL and is counted
 * instead of turning the column into text.
 */
export const COLUMN_TYPES = ["BOOLEAN", "INTEGER", "BIGINT", "DOUBLE", "VARCHAR", "JSON"] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
}

/** The per-district schema kept in the manifest; `version` guards concurrent updates. */
export interface DistrictSchema {
  readonly district: string;
  readonly version: number;
  readonly columns: readonly ColumnSpec[];
}

/** Columns Compacter adds to every row; a raw field with one of these names is escaped (columnNames.ts). */
export const ADDED_COLUMNS = ["device_id", "source_file", "event_time"] as const;
/** Hive partition columns live in the path only; a raw field with one of these names is escaped (columnNames.ts). */
export const PARTITION_COLUMNS = ["hiveperiod", "district"] as const;
