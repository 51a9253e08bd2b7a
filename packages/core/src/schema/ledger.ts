import type { FieldColumn } from "./columnNames.js";
import type { ColumnSpec, ColumnType } from "./columns.js";
import { isNumericType, unifyColumnTypes, widerNumeric } from "./widening.js";

/**
 * The lake-wide type ledger: one type per column for the whole lake — the table's schema.
 * Every Parquet file the compactor writes uses the ledger's type for each column it has,
 * so Athena, Spark and Iceberg-style readers (which refuse BIGINT in one file and DOUBLE
 * in another) read the lake as one table. Stored as one manifest item, updated with one
 * conditional write on `version` (optimistic: a writer that loses re-reads and merges).
 */
export interface TypeLedger {
  /** Bumped by every write; the condition of the next one. */
  readonly version: number;
  /** In first-seen order (the table's column order; new columns append). */
  readonly columns: readonly LedgerColumn[];
  /** Every district that has compacted, sorted: the Glue table's district projection. */
  readonly districts: readonly string[];
  /** The earliest partition day compacted (YYYY-MM-DD): where the date projection starts. */
  readonly firstDay?: string;
  readonly updatedAt: string;
}

export interface LedgerColumn {
  /** Lake column name (Glue-safe already: columnNames.ts). */
  readonly name: string;
  readonly type: ColumnType;
  /** When the column first reached the ledger (ISO instant). */
  readonly firstSeen: string;
  /** When its type last widened (ISO instant); absent if it never did. */
  readonly lastWidened?: string;
  /** The raw JSON key, for a column whose name is not its key (an escaped name). */
  readonly field?: string;
}

/** What one compaction observed: the columns it would write, with their types, in its partition. */
export interface LedgerObservation {
  readonly columns: readonly ColumnSpec[];
  readonly renamedFields?: readonly FieldColumn[];
  readonly district: string;
  readonly day: string;
}

export interface LedgerChange {
  /** The ledger to write (version + 1), or the input unchanged when `changed` is false. */
  readonly ledger: TypeLedger;
  readonly changed: boolean;
  readonly added: readonly string[];
  readonly widened: readonly { readonly name: string; readonly from: ColumnType; readonly to: ColumnType }[];
  /** The district is new to the lake: the table's district projection must grow. */
  readonly newDistrict: boolean;
}

export const EMPTY_LEDGER: TypeLedger = { version: 0, columns: [], districts: [], updatedAt: "" };

/**
 * Folds one compaction's columns into the ledger. Pure, and order-independent in its
 * outcome, so two workers that raced converge when the loser retries on the new version.
 * - A new column is added with its type.
 * - A numeric column widens along INTEGER → BIGINT → DOUBLE only, never narrows.
 * - A column never changes between numeric and non-numeric: the ledger's type stays and
 *   the values that don't fit become NULL and are counted (as within a partition today).
 * - Nothing is ever dropped.
 */
export function widenLedger(
  current: TypeLedger | undefined,
  observed: LedgerObservation,
  nowIso: string,
): LedgerChange {
  const base = current ?? EMPTY_LEDGER;
  const fieldOf = new Map((observed.renamedFields ?? []).map((r) => [r.column, r.field]));
  const byName = new Map(base.columns.map((c, i) => [c.name, i]));
  const columns = [...base.columns];
  const added: string[] = [];
  const widened: { name: string; from: ColumnType; to: ColumnType }[] = [];
  for (const column of observed.columns) {
    const index = byName.get(column.name);
    if (index === undefined) {
      const field = fieldOf.get(column.name);
      byName.set(column.name, columns.length);
      columns.push({
        name: column.name,
        type: column.type,
        firstSeen: nowIso,
        ...(field !== undefined ? { field } : {}),
      });
      added.push(column.name);
      continue;
    }
    const existing = columns[index]!;
    const type = unifyColumnTypes(existing.type, column.type);
    if (type !== existing.type) {
      columns[index] = { ...existing, type, lastWidened: nowIso };
      widened.push({ name: column.name, from: existing.type, to: type });
    }
  }
  const newDistrict = !base.districts.includes(observed.district);
  const districts = newDistrict ? [...base.districts, observed.district].sort() : base.districts;
  const firstDay = base.firstDay === undefined || observed.day < base.firstDay ? observed.day : base.firstDay;
  const changed = added.length > 0 || widened.length > 0 || newDistrict || firstDay !== base.firstDay;
  if (!changed) return { ledger: base, changed, added, widened, newDistrict };
  return {
    ledger: { version: base.version + 1, columns, districts, firstDay, updatedAt: nowIso },
    changed,
    added,
    widened,
    newDistrict,
  };
}

/** Column name → ledger type, the form the engine takes. */
export function ledgerTypes(ledger: TypeLedger | undefined): ReadonlyMap<string, ColumnType> {
  return new Map((ledger?.columns ?? []).map((c) => [c.name, c.type]));
}

/**
 * The types a column can widen from. Only these can ever disagree with the ledger: a
 * DOUBLE never widens, and a non-numeric type never changes.
 */
export type NarrowType = "INTEGER" | "BIGINT";

/** Per column, the narrowest integer type any of a partition's current files holds it as. */
export type NarrowColumns = Readonly<Record<string, NarrowType>>;

function isNarrow(type: ColumnType): type is NarrowType {
  return type === "INTEGER" || type === "BIGINT";
}

/**
 * A partition's narrow columns after a commit. A merge rewrote every file, so only the new
 * file's columns count; an append keeps the older files, so the narrower of both stays.
 */
export function narrowColumnsAfter(
  previous: NarrowColumns | undefined,
  written: readonly ColumnSpec[],
  replacedAll: boolean,
): NarrowColumns {
  const result: Record<string, NarrowType> = replacedAll ? {} : { ...(previous ?? {}) };
  for (const { name, type } of written) {
    if (!isNarrow(type)) continue;
    const before = result[name];
    result[name] = before === "INTEGER" ? "INTEGER" : type;
  }
  return result;
}

/** Columns where a partition's files hold a narrower type than the ledger. */
export function columnsBehindLedger(
  narrow: NarrowColumns | undefined,
  types: ReadonlyMap<string, ColumnType>,
): string[] {
  const behind: string[] = [];
  for (const [name, type] of Object.entries(narrow ?? {})) {
    const ledgerType = types.get(name);
    if (ledgerType && isNumericType(ledgerType) && widerNumeric(type, ledgerType) !== type) behind.push(name);
  }
  return behind.sort();
}

export interface RewriteCandidate {
  readonly partition: { readonly day: string; readonly district: string };
  readonly narrowColumns?: NarrowColumns;
  readonly generation: number;
  readonly inflight?: unknown;
  /** A partition with no files has nothing to rewrite (a merge would find nothing to do). */
  readonly files?: readonly unknown[];
}

/**
 * The partitions whose files are behind the ledger, newest day first (the days analysts
 * query most), then by district. `limit` bounds how many one sweep sends. A committed
 * partition with no record of its integer columns was written before the ledger existed
 * (types decided per partition): it is rewritten once too, which migrates an older lake.
 */
export function partitionsToRewrite<T extends RewriteCandidate>(
  partitions: readonly T[],
  ledger: TypeLedger | undefined,
  limit: number,
): { readonly behind: number; readonly next: readonly T[] } {
  const types = ledgerTypes(ledger);
  const behind = partitions
    .filter(
      (p) =>
        p.generation > 0 &&
        (p.files === undefined || p.files.length > 0) &&
        (p.narrowColumns === undefined || columnsBehindLedger(p.narrowColumns, types).length > 0),
    )
    .sort(
      (a, b) =>
        b.partition.day.localeCompare(a.partition.day) ||
        a.partition.district.localeCompare(b.partition.district),
    );
  return { behind: behind.length, next: behind.slice(0, Math.max(0, limit)) };
}
