import {
  type ColumnSpec,
  type ColumnType,
  columnNameForField,
  type DiscoveredField,
  type FieldColumn,
  mergeDiscoveredFields,
  nativeKinds,
  unifyColumnTypes,
} from "@compacter/core";
import type { RawScan } from "../inspect/scanRawFile.js";

/** Columns of our own that every lake file carries after the raw columns. */
export const ADDED_COLUMN_TYPES = {
  device_id: "VARCHAR",
  source_file: "VARCHAR",
  event_time: "TIMESTAMP WITH TIME ZONE",
} as const;

export interface OutputColumn {
  /**
   * Lake column name, and the key DuckDB reads it under: a raw file whose keys are not
   * all their own column names is read from a cleaned copy with those keys renamed.
   */
  readonly name: string;
  /** Raw JSON key it holds (the validator's counts are by key). */
  readonly field: string;
  readonly type: ColumnType;
  /** Read as text and cast (the batch holds values the type does not store natively). */
  readonly needsCast: boolean;
  /** Some readable raw file of this job has the field. */
  readonly inRaw: boolean;
  /** The lake inputs' type for the column, when they have it. */
  readonly lakeType?: ColumnType;
}

export interface ColumnPlan {
  readonly columns: readonly OutputColumn[];
  readonly schema: readonly ColumnSpec[];
  readonly added: readonly string[];
  readonly widened: readonly { name: string; from: string; to: string }[];
  readonly nullOnlyFields: readonly string[];
  readonly conflictingFields: readonly string[];
  /** Raw keys of this job stored under another name (columnNames.ts), with their columns. */
  readonly renamedFields: readonly FieldColumn[];
  /** Per cast column, the indexes of the raw files holding values that may not fit. */
  readonly castFiles: ReadonlyMap<string, readonly number[]>;
}

/** A lake file column as DuckDB describes it. */
export interface LakeColumn {
  readonly name: string;
  readonly duckdbType: string;
}

/** Our column types from DuckDB's; foreign Parquet types map to the closest lake type. */
export function columnTypeOfDuckDb(duckdbType: string): ColumnType {
  const t = duckdbType.toUpperCase();
  if (t === "BOOLEAN") return "BOOLEAN";
  if (t === "INTEGER" || t === "SMALLINT" || t === "TINYINT" || t === "USMALLINT" || t === "UTINYINT")
    return "INTEGER";
  if (t === "BIGINT" || t === "UINTEGER") return "BIGINT";
  if (t === "DOUBLE" || t === "FLOAT" || t === "HUGEINT" || t === "UBIGINT" || t.startsWith("DECIMAL"))
    return "DOUBLE";
  if (t === "JSON") return "JSON";
  return "VARCHAR";
}

/**
 * Decides the job's columns: the district schema, then whatever the lake inputs carry
 * (union by name, types unified), then the fields discovered in the raw files. A column
 * the lake-wide ledger knows takes the ledger's type (numeric types still widen past it
 * when this job's values need it; the ledger follows before the commit).
 */
export function planColumns(
  schema: readonly ColumnSpec[],
  lakeColumns: readonly LakeColumn[],
  scans: readonly (RawScan | undefined)[],
  ledger: ReadonlyMap<string, ColumnType> = new Map(),
): ColumnPlan {
  const lakeTypes = new Map<string, ColumnType>();
  for (const column of lakeColumns) {
    if (column.name in ADDED_COLUMN_TYPES) continue;
    lakeTypes.set(column.name, columnTypeOfDuckDb(column.duckdbType));
  }
  const widened: { name: string; from: string; to: string }[] = [];
  // The ledger's type first: it is the table's, and it never changes between numeric and
  // non-numeric, so a district schema or an older file that disagrees yields to it.
  const withLedger = (name: string, type: ColumnType): ColumnType => {
    const ledgerType = ledger.get(name);
    return ledgerType ? unifyColumnTypes(ledgerType, type) : type;
  };
  const base: ColumnSpec[] = schema.map((c) => {
    const lakeType = lakeTypes.get(c.name);
    const type = withLedger(c.name, lakeType ? unifyColumnTypes(c.type, lakeType) : c.type);
    if (type !== c.type) widened.push({ name: c.name, from: c.type, to: type });
    return { name: c.name, type };
  });
  const added: string[] = [];
  for (const [name, type] of lakeTypes) {
    if (base.some((c) => c.name === name)) continue;
    base.push({ name, type: withLedger(name, type) });
    added.push(name);
  }

  const discovered = new Map<string, number>();
  for (const scan of scans) {
    if (scan?.kind !== "ok") continue;
    for (const [field, kinds] of scan.fields) discovered.set(field, (discovered.get(field) ?? 0) | kinds);
  }
  // A field new to this district but known to the ledger starts at the ledger's type, so
  // its first file here already agrees with every other district's.
  for (const field of discovered.keys()) {
    const name = columnNameForField(field);
    const ledgerType = ledger.get(name);
    if (!ledgerType || base.some((c) => c.name.toLowerCase() === name.toLowerCase())) continue;
    base.push({ name, type: ledgerType });
    added.push(name);
  }
  const fields: DiscoveredField[] = [...discovered].map(([field, kinds]) => ({ field, kinds }));
  const merge = mergeDiscoveredFields(base, fields);

  for (const w of merge.widened) {
    const earlier = widened.find((x) => x.name === w.name);
    if (earlier) earlier.to = w.to;
    else widened.push({ name: w.name, from: w.from, to: w.to });
  }
  const castSet = new Set(merge.castColumns);
  // The naming rule is one-way for escaped names: the job's own keys say which key a
  // column holds. A column none of them maps to is not read from raw files at all.
  const fieldOfColumn = new Map<string, string>();
  const renamedFields: FieldColumn[] = [];
  for (const field of discovered.keys()) {
    const column = columnNameForField(field);
    fieldOfColumn.set(column, field);
    if (column !== field) renamedFields.push({ field, column });
  }
  const columns: OutputColumn[] = merge.columns.map((c) => {
    const field = fieldOfColumn.get(c.name) ?? c.name;
    const lakeType = lakeTypes.get(c.name);
    return {
      name: c.name,
      field,
      type: c.type,
      needsCast: castSet.has(c.name),
      inRaw: fieldOfColumn.has(c.name),
      ...(lakeType ? { lakeType } : {}),
    };
  });

  const castFiles = new Map<string, number[]>();
  for (const column of columns) {
    if (!column.needsCast) continue;
    const native = nativeKinds(column.type);
    const files: number[] = [];
    scans.forEach((scan, index) => {
      if (scan?.kind !== "ok") return;
      const entry = scan.fields.find(([f]) => f === column.field);
      if (entry && (entry[1] & ~native) !== 0) files.push(index);
    });
    castFiles.set(column.name, files);
  }

  return {
    columns,
    schema: merge.columns,
    added: [...added, ...merge.added],
    widened,
    nullOnlyFields: merge.nullOnlyFields,
    conflictingFields: merge.conflictingFields,
    renamedFields: renamedFields.filter((r) => columns.some((c) => c.name === r.column)),
    castFiles,
  };
}
