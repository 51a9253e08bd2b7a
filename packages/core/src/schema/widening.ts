import { columnNameForField } from "./columnNames.js";
import type { ColumnSpec, ColumnType } from "./columns.js";

/**
 * What a raw JSON value looked like, as bit flags so a column's kinds over many rows
 * OR together. Numbers are classified from their text, not from a parsed JS number:
 * `12.0` is REAL (its writer meant a fraction) and 9007199254740993 keeps its digits.
 */
export const ValueKind = {
  NULL: 1,
  BOOLEAN: 2,
  /** An integer literal that fits a signed 32-bit INTEGER. */
  INT32: 4,
  /** An integer literal that fits a signed 64-bit BIGINT but not INTEGER. */
  INT64: 8,
  /** An integer literal beyond BIGINT's range; only a DOUBLE holds it. */
  BIGNUM: 16,
  /** A number with a fraction or an exponent. */
  REAL: 32,
  STRING: 64,
  /** An object or an array. */
  NESTED: 128,
} as const;

const NUMBER_KINDS = ValueKind.INT32 | ValueKind.INT64 | ValueKind.BIGNUM | ValueKind.REAL;
const INT32_MAX = "2147483647";
const INT32_MIN_ABS = "2147483648";
const INT64_MAX = "9223372036854775807";
const INT64_MIN_ABS = "9223372036854775808";

/** Kind of a JSON number literal (assumed well-formed: `-?digits[.digits][e±digits]`). */
export function numberKind(literal: string): number {
  if (/[.eE]/.test(literal)) return ValueKind.REAL;
  const negative = literal.startsWith("-");
  const digits = negative ? literal.slice(1) : literal;
  if (fitsUnder(digits, negative ? INT32_MIN_ABS : INT32_MAX)) return ValueKind.INT32;
  if (fitsUnder(digits, negative ? INT64_MIN_ABS : INT64_MAX)) return ValueKind.INT64;
  return ValueKind.BIGNUM;
}

/** Whether a run of decimal digits (no leading zeros except "0") is ≤ `limit`. */
function fitsUnder(digits: string, limit: string): boolean {
  if (digits.length !== limit.length) return digits.length < limit.length;
  return digits <= limit;
}

/** Kind of an already-parsed JSON value; numbers should go through {@link numberKind} when their text is known. */
export function kindOfValue(value: unknown): number {
  if (value === null || value === undefined) return ValueKind.NULL;
  if (typeof value === "boolean") return ValueKind.BOOLEAN;
  if (typeof value === "number")
    return numberKind(Number.isInteger(value) ? value.toFixed(0) : String(value));
  if (typeof value === "string") return ValueKind.STRING;
  return ValueKind.NESTED;
}

const NUMERIC_ORDER: readonly ColumnType[] = ["INTEGER", "BIGINT", "DOUBLE"];

export function isNumericType(type: ColumnType): boolean {
  return NUMERIC_ORDER.includes(type);
}

/** The narrowest numeric type holding every number kind in `kinds`, or undefined if there is none. */
function numericTypeFor(kinds: number): ColumnType | undefined {
  if (kinds & (ValueKind.REAL | ValueKind.BIGNUM)) return "DOUBLE";
  if (kinds & ValueKind.INT64) return "BIGINT";
  if (kinds & ValueKind.INT32) return "INTEGER";
  return undefined;
}

/** The wider of two types on the only path types move along: INTEGER → BIGINT → DOUBLE. */
export function widerNumeric(a: ColumnType, b: ColumnType): ColumnType {
  return NUMERIC_ORDER[Math.max(NUMERIC_ORDER.indexOf(a), NUMERIC_ORDER.indexOf(b))] ?? a;
}

/**
 * The type of a column first seen now. A field holding numbers is numeric even when some
 * of its values are strings ("N/A" becomes NULL and is counted; one stray string never
 * turns a numeric field into text). Undefined when every value was null: nothing is
 * known yet and no data is lost by waiting for a real value.
 */
export function typeForNewColumn(kinds: number): ColumnType | undefined {
  const seen = kinds & ~ValueKind.NULL;
  if (seen === 0) return undefined;
  if (seen & ValueKind.NESTED) return "JSON";
  const numeric = numericTypeFor(seen);
  if (numeric) return numeric;
  if (seen & ValueKind.STRING) return "VARCHAR";
  return "BOOLEAN";
}

/** Kinds that a column of `type` stores without any conversion that could fail. */
export function nativeKinds(type: ColumnType): number {
  switch (type) {
    case "BOOLEAN":
      return ValueKind.NULL | ValueKind.BOOLEAN;
    case "INTEGER":
      return ValueKind.NULL | ValueKind.INT32;
    case "BIGINT":
      return ValueKind.NULL | ValueKind.INT32 | ValueKind.INT64;
    case "DOUBLE":
      return ValueKind.NULL | NUMBER_KINDS;
    case "VARCHAR":
    case "JSON":
      return ~0;
  }
}

export interface ColumnResolution {
  readonly type: ColumnType;
  /** The type before this batch when it widened. */
  readonly widenedFrom?: ColumnType;
  /**
   * The batch holds values the type does not store natively (a string in a numeric
   * column, a number in a BOOLEAN column): they are read as text and cast, and a value
   * that does not cast becomes NULL and is counted.
   */
  readonly needsCast: boolean;
}

/**
 * Where an existing column goes after a batch with `kinds`. Numbers widen a numeric
 * column; strings, booleans and nested values never change a column's type.
 */
export function resolveColumn(existing: ColumnType, kinds: number): ColumnResolution {
  let type = existing;
  if (isNumericType(existing)) {
    const needed = numericTypeFor(kinds);
    if (needed) type = widerNumeric(existing, needed);
  }
  const needsCast = (kinds & ~nativeKinds(type)) !== 0;
  return type === existing ? { type, needsCast } : { type, widenedFrom: existing, needsCast };
}

export interface DiscoveredField {
  /** The raw JSON key. */
  readonly field: string;
  /** {@link ValueKind} flags of every value seen for it. */
  readonly kinds: number;
}

export interface SchemaMerge {
  /** Input columns in their order (types possibly widened), then added columns in first-seen order. */
  readonly columns: readonly ColumnSpec[];
  readonly added: readonly string[];
  readonly widened: readonly { name: string; from: ColumnType; to: ColumnType }[];
  /** Columns (lake names) whose batch values must be read as text and cast. */
  readonly castColumns: readonly string[];
  /** New fields seen only with null values: not added until a value shows their type. */
  readonly nullOnlyFields: readonly string[];
  /**
   * New fields whose lake name equals an existing column's name except for case: DuckDB
   * names are case-insensitive, so they cannot become separate columns. Only a column
   * named before the naming rule (columnNames.ts) can be such a twin: the rule's own
   * names are lower case.
   */
  readonly conflictingFields: readonly string[];
}

/**
 * Merges the fields discovered in a batch (in first-seen order) into a schema: known
 * columns keep their place and may widen, new fields append. Pure: the engine reads the
 * data, this decides the types.
 */
export function mergeDiscoveredFields(
  schema: readonly ColumnSpec[],
  discovered: readonly DiscoveredField[],
): SchemaMerge {
  const kindsByColumn = new Map<string, number>();
  const fieldOf = new Map<string, string>();
  for (const { field, kinds } of discovered) {
    const name = columnNameForField(field);
    kindsByColumn.set(name, (kindsByColumn.get(name) ?? 0) | kinds);
    fieldOf.set(name, field);
  }
  const columns: ColumnSpec[] = [];
  const widened: { name: string; from: ColumnType; to: ColumnType }[] = [];
  const castColumns: string[] = [];
  const known = new Set<string>();
  for (const column of schema) {
    known.add(column.name.toLowerCase());
    const kinds = kindsByColumn.get(column.name) ?? 0;
    const resolution = resolveColumn(column.type, kinds);
    columns.push({ name: column.name, type: resolution.type });
    if (resolution.widenedFrom)
      widened.push({ name: column.name, from: resolution.widenedFrom, to: resolution.type });
    if (resolution.needsCast) castColumns.push(column.name);
  }
  const added: string[] = [];
  const nullOnlyFields: string[] = [];
  const conflictingFields: string[] = [];
  for (const [name, kinds] of kindsByColumn) {
    if (schema.some((c) => c.name === name)) continue;
    if (known.has(name.toLowerCase())) {
      conflictingFields.push(fieldOf.get(name) ?? name);
      continue;
    }
    const type = typeForNewColumn(kinds);
    if (!type) {
      nullOnlyFields.push(fieldOf.get(name) ?? name);
      continue;
    }
    known.add(name.toLowerCase());
    columns.push({ name, type });
    added.push(name);
    if (resolveColumn(type, kinds).needsCast) castColumns.push(name);
  }
  return { columns, added, widened, castColumns, nullOnlyFields, conflictingFields };
}

/**
 * The type two generations of one column share, e.g. a lake file written when a column
 * was INTEGER read next to a schema that has it as DOUBLE. Numeric types widen; anything
 * else keeps the schema's type (the older file's values are cast to it).
 */
export function unifyColumnTypes(schemaType: ColumnType, otherType: ColumnType): ColumnType {
  if (isNumericType(schemaType) && isNumericType(otherType)) return widerNumeric(schemaType, otherType);
  return schemaType;
}
