import type { PartitionId } from "@compacter/core";

/** What every task measures about itself. */
export interface Measure {
  readonly wallMs: number;
  /** CPU of the whole process (every thread: DuckDB's, the validator workers'), user + system. */
  readonly cpuMs: number;
  /** Peak resident set of the process over its whole life (getrusage ru_maxrss). */
  readonly maxRssMb: number;
}

export interface LakeOutput {
  readonly key: string;
  readonly rows: number;
  readonly bytes: number;
}

/** One compactPartition through the local stack, with its clock set to `clockMs`. */
export interface CompactTask {
  readonly kind: "compact";
  readonly partition: PartitionId;
  readonly clockMs: number;
}

export interface CompactResult {
  readonly measure: Measure;
  readonly status: string;
  readonly plan?: string;
  readonly reason?: string;
  readonly rowsOut: number;
  readonly nulledValues: number;
  readonly outputs: readonly LakeOutput[];
  readonly stageMs: Readonly<Record<string, number>>;
}

/** One step of a service day: S3 delivers `notifications`, ingest drains them, the clock moves, the sweep and a compactor run. */
export interface DayStep {
  readonly label: string;
  readonly clockMs: number;
  readonly notifications: readonly string[];
}

export interface DayTask {
  readonly kind: "day";
  readonly partition: PartitionId;
  readonly steps: readonly DayStep[];
  /**
   * Compaction workers (consumers, each with its own engine) in the process: with 2, a
   * sliced merge's slices run on both at once. Default 1.
   */
  readonly workers?: number;
}

export interface DayStepResult {
  readonly label: string;
  readonly messages: number;
  readonly ingestMs: number;
  /** From the compaction job's receipt to its outcome. */
  readonly compactMs: number;
  readonly compactCpuMs: number;
  readonly status: string;
  readonly plan?: string;
  readonly rowsOut: number;
  readonly outputs: readonly LakeOutput[];
  /** Peak RSS of the process during this job (all its workers), MiB. */
  readonly peakRssMb: number;
  /** Whether the peak is this job's alone (the peak could be reset before it). */
  readonly peakRssPerJob: boolean;
  /** Peak disk under the temp dir during this job (downloads, outputs, DuckDB spill), bytes. */
  readonly peakTempBytes: number;
  /** Of that, the peak beyond its downloads and staged output (spill, plain copies): WorkspaceDisk. */
  readonly peakWorkingBytes: number;
  /** Raw gzip bytes plus lake Parquet bytes the job read. */
  readonly inputBytes: number;
  readonly outputBytes: number;
  /** A sliced merge's slices, each a job of its own (wall from the slice's own record). */
  readonly slices?: readonly SliceJobResult[];
}

export interface SliceJobResult {
  readonly index: number;
  readonly worker: string;
  readonly wallMs: number;
  /** Its workspace plus DuckDB's spill directory (see samplePeakDisk). */
  readonly peakTempBytes: number;
  readonly peakWorkingBytes: number;
  readonly inputBytes: number;
  readonly outputBytes: number;
  readonly outputs: number;
}

/** Requests per `service:Operation`, split by the role that made them. */
export interface RoleRequests {
  readonly ingest: Readonly<Record<string, number>>;
  readonly sweep: Readonly<Record<string, number>>;
  readonly compaction: Readonly<Record<string, number>>;
}

export interface CapacityUnits {
  /** DynamoDB's own accounting for the table (dynalite: item size / 1 KB per write, / 4 KB per read). */
  readonly tableWrite: number;
  readonly tableRead: number;
  /** Estimated index writes (not reported by the emulator): see requestMeter.ts. */
  readonly indexWriteEstimate: number;
}

export interface DayResult {
  readonly measure: Measure;
  readonly steps: readonly DayStepResult[];
  readonly requests: RoleRequests;
  /** ReceiveMessage calls that returned no message (idle long polls: a fixed cost, not per file). */
  readonly emptyReceives: number;
  readonly capacity: CapacityUnits;
  /** Lake files of the partition after the day. */
  readonly lake: readonly LakeOutput[];
  readonly nulledValues: number;
}

/** Drains the ingest queue (already filled by the parent) through the IngestConsumer. */
export interface IngestTask {
  readonly kind: "ingest";
  readonly expected: number;
}

export interface IngestResult {
  readonly measure: Measure;
  readonly messages: number;
  readonly registered: number;
  readonly loops: number;
}

export const DUCKDB_VARIANTS = ["seed", "oneLiner", "floorColumns", "floorCount"] as const;
export type DuckDbVariant = (typeof DUCKDB_VARIANTS)[number];

/** A DuckDB baseline over local copies of the raw files. */
export interface DuckDbTask {
  readonly kind: "duckdb";
  readonly variant: DuckDbVariant;
  readonly files: readonly string[];
  /** The folder the keys are relative to (device id, district and hour come from the path). */
  readonly rawRoot: string;
  readonly outDir: string;
  /** oneLiner and the floors: the explicit column list (raw field → DuckDB type). */
  readonly columns?: readonly { readonly field: string; readonly type: string }[];
  /** oneLiner: the memory_limit and threads our compaction runs with (DuckDB's defaults otherwise). */
  readonly memoryLimit?: string;
  readonly threads?: number;
}

export interface DuckDbResult {
  readonly measure: Measure;
  readonly rows: number;
  readonly outBytes: number;
  readonly outFiles: number;
}

export type QueryParam = string | readonly string[];

export interface QuerySpec {
  readonly name: string;
  readonly sql: string;
  readonly params?: Readonly<Record<string, QueryParam>>;
}

/** Runs each query `runs` times in one DuckDB instance (the first run included: it pays the cold reads). */
export interface QueryTask {
  readonly kind: "query";
  readonly runs: number;
  readonly queries: readonly QuerySpec[];
}

export interface QueryResult {
  readonly measure: Measure;
  readonly queries: readonly {
    readonly name: string;
    readonly ms: readonly number[];
    readonly rows: number;
  }[];
}

export type ChildTask = CompactTask | DayTask | IngestTask | DuckDbTask | QueryTask;

export type ChildTaskResult<T extends ChildTask> = T extends CompactTask
  ? CompactResult
  : T extends DayTask
    ? DayResult
    : T extends IngestTask
      ? IngestResult
      : T extends DuckDbTask
        ? DuckDbResult
        : T extends QueryTask
          ? QueryResult
          : never;
