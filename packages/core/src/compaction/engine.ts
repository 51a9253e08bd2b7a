import type { CompacterConfig } from "../config/loadConfig.js";
import type { PartitionId } from "../layout/partitions.js";
import type { FieldColumn } from "../schema/columnNames.js";
import type { ColumnSpec, ColumnType } from "../schema/columns.js";
import type { ByteRange } from "./ports.js";
import type { DeviceRange } from "./slicePlan.js";

/**
 * The port the compaction service drives: turn downloaded raw files (and, for a merge,
 * the partition's current Parquet files) into new Parquet files. The DuckDB adapter
 * implements it; the service never sees SQL.
 */
export interface CompactionEngine {
  compact(job: EngineJob): Promise<EngineResult>;
  close(): Promise<void>;
}

export interface RawInput {
  /** The raw object key: becomes `source_file`. */
  readonly key: string;
  readonly eTag: string;
  /** From the key: becomes `device_id`. */
  readonly deviceId: string;
  /** The downloaded object, byte for byte (still gzip'd). */
  readonly localPath: string;
}

export interface LakeInput {
  readonly lakeKey: string;
  /** A downloaded Parquet file of the partition's current generation. */
  readonly localPath: string;
  /**
   * Not downloaded yet: the engine fetches the parts it reads into `localPath` (a sparse
   * file of `sizeBytes`): the footer, then the row groups whose device_id statistics meet
   * the job's `deviceRange`. Only for a sliced job; absent, `localPath` holds the whole file.
   */
  readonly fetch?: {
    readonly sizeBytes: number;
    readonly ranges: (ranges: readonly ByteRange[]) => Promise<void>;
  };
}

export interface EngineLimits {
  readonly memoryLimitBytes: number;
  /** 0 = one per core. */
  readonly threads: number;
  /** DuckDB spills here; the engine may also keep scratch files here. */
  readonly tempDir: string;
  readonly zstdLevel: number;
  /** A longer raw line is a bad line, skipped without being held whole (default: the setting's). */
  readonly maxLineBytes?: number;
  /** A raw file inflating past this is unreadable, a likely gzip bomb (default: the setting's). */
  readonly maxInflatedBytes?: number;
  /**
   * Temp disk the engine may fill with plain copies of inflated raw files, so DuckDB does
   * not inflate them again (the plainCopyBudgetBytes setting; absent, the engine's PLAIN_COPY_BUDGET_BYTES; 0 turns
   * them off).
   */
  readonly plainCopyBytes?: number;
  /**
   * Rows a sorted job sorts in memory at once; more are sorted device range by device
   * range and joined (default: what half of DuckDB's memory holds; tests set it small).
   */
  readonly sortRunRows?: number;
}

/** A job's limits from the settings: the one place every kind of job (whole, slice) takes them. */
export function engineLimits(
  config: CompacterConfig,
  duckDbTempDir: string,
  zstdLevel: number,
): EngineLimits {
  return {
    memoryLimitBytes: config.memoryLimitBytes,
    threads: config.threads,
    tempDir: duckDbTempDir,
    zstdLevel,
    maxLineBytes: config.maxLineBytes,
    maxInflatedBytes: config.maxInflatedBytes,
    plainCopyBytes: config.plainCopyBudgetBytes,
  };
}

export interface EngineJob {
  readonly partition: PartitionId;
  readonly raw: readonly RawInput[];
  /** Existing Parquet files to rewrite (a merge); empty for an append. */
  readonly lake: readonly LakeInput[];
  /**
   * A slice of a merge (slicePlan.ts): only the `lake` rows of devices in this range are
   * read (sorted files let DuckDB skip the other row groups by their statistics); `raw`
   * holds only the range's files already. Absent: every row.
   */
  readonly deviceRange?: DeviceRange;
  /** `source_file` values whose rows must not survive from `lake` (replaced or removed sources). */
  readonly dropSources: readonly string[];
  /** The district's known raw columns (in the order they were first seen). */
  readonly schema: readonly ColumnSpec[];
  /**
   * The lake-wide ledger's type per column (schema/ledger.ts): every column this job
   * writes takes it, widened further only if this job's values need it (the caller then
   * widens the ledger before committing). Absent: per-partition types as before.
   */
  readonly ledgerTypes?: ReadonlyMap<string, ColumnType>;
  /** Order rows by device_id, event_time (the service always asks; an unordered write is for tools). */
  readonly sort: boolean;
  /** The engine writes its output files into this (existing, empty) directory. */
  readonly outputDir: string;
  /** Split the output only above this size; below it there is exactly one file. */
  readonly maxFileBytes: number;
  readonly limits: EngineLimits;
  /** Aborted when the lease is lost: stop work, throw. */
  readonly signal?: AbortSignal;
  /** Called as each stage begins: progress for logs, and a fixed point a test can abort at. */
  readonly onStage?: (stage: EngineStage) => void;
}

/** The engine's stages in order; "write" and "stats" repeat when a write is retried. */
export type EngineStage = "inspect" | "clean" | "plan" | "write" | "stats";

export type RawFileOutcome =
  | {
      readonly key: string;
      readonly eTag: string;
      readonly outcome: "read";
      /** Valid JSON object lines turned into rows. */
      readonly rows: number;
      /** Lines that were not a JSON object (truncated, garbage, too long); skipped. */
      readonly badLines: number;
      /** The first few bad lines with why each was skipped, for the operator. */
      readonly badLineSamples?: readonly BadLineSample[];
      /** Rows whose heartbeat was missing/NULL (kept, event_time NULL). */
      readonly nullHeartbeats: number;
      /** Rows whose heartbeat was not a plausible s/ms/µs epoch (kept, event_time NULL). */
      readonly absurdHeartbeats: number;
    }
  | {
      readonly key: string;
      readonly eTag: string;
      readonly outcome: "unreadable";
      /** Why, for the operator: "gzip stream is truncated (unexpected end of file)". */
      readonly error: string;
    };

export interface BadLineSample {
  /** 1-based physical line number. */
  readonly line: number;
  readonly reason: string;
}

export interface EngineOutput {
  readonly localPath: string;
  readonly rows: number;
  readonly bytes: number;
}

export interface EngineResult {
  readonly outputs: readonly EngineOutput[];
  /** One entry per raw input, in input order. */
  readonly files: readonly RawFileOutcome[];
  /** The district schema after this job: the input schema plus added and widened columns. */
  readonly schema: readonly ColumnSpec[];
  readonly addedColumns: readonly string[];
  readonly widenedColumns: readonly { name: string; from: string; to: string }[];
  /**
   * New fields seen only with null values in this job: not added yet, because nothing
   * tells their type and no data is lost by waiting for a real value.
   */
  readonly nullOnlyFields?: readonly string[];
  /**
   * New fields that cannot become columns: their lake name equals an existing column's
   * except for case, and DuckDB (like most engines) treats names case-insensitively.
   */
  readonly conflictingFields?: readonly string[];
  /**
   * The job's raw keys that are stored under another column name than the key itself
   * (case twins, "", reserved or non-identifier keys; see columnNames.ts).
   */
  readonly renamedFields?: readonly FieldColumn[];
  /** Per column: values that did not fit the column's type and became NULL. */
  readonly nulledValues: Readonly<Record<string, number>>;
  /** Rows read from `lake` inputs, rows of those dropped by `dropSources`, rows written. */
  readonly rowsFromLake: number;
  readonly rowsDropped: number;
  readonly rowsOut: number;
  /** Wall time per engine stage, for logs and benchmarks. */
  readonly stageMs?: Readonly<Record<string, number>>;
}
