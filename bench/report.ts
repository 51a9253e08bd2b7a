import type { MachineInfo } from "./machine.js";
import type { CapacityUnits, Measure } from "./tasks/types.js";

/** One measured variant of section 1, over its runs. */
export interface VariantFigures {
  readonly name: string;
  readonly label: string;
  /** Rows each run converted (or read). */
  readonly rows: number;
  readonly runs: readonly Measure[];
  /** Medians over the runs. */
  readonly wallMs: number;
  readonly cpuMs: number;
  /** Highest over the runs. */
  readonly maxRssMb: number;
  readonly rowsPerSecond: number;
  readonly rowsPerCpuSecond: number;
  readonly note?: string;
}

export interface Target {
  readonly section: string;
  readonly name: string;
  readonly target: string;
  readonly result: string;
  readonly met: boolean;
}

export interface RequestLine {
  readonly operation: string;
  readonly role: "device" | "S3" | "ingest" | "sweep" | "compaction";
  readonly count: number;
  readonly perFile: number;
  readonly billable: boolean;
}

export interface CostLine {
  readonly item: string;
  readonly perFile: number;
  readonly unitPrice: number;
  readonly costPerFile: number;
  readonly costPerDeviceDay: number;
  readonly note?: string;
}

export interface BenchReport {
  readonly meta: {
    readonly date: string;
    readonly command: string;
    readonly size: string;
    readonly runs: number;
    readonly seconds: number;
    readonly machine: MachineInfo;
    readonly loadAtEnd: readonly number[];
    /** Load averages seen before each measured run. */
    readonly loadDuring: { readonly min: number; readonly max: number };
    readonly dataset: {
      readonly devices: number;
      readonly hours: number;
      readonly files: number;
      readonly rows: number;
      readonly gzBytes: number;
      readonly textBytes: number;
      readonly knobs: Readonly<Record<string, number>>;
      readonly strayStrings: number;
      readonly generatedSeconds: number;
      readonly cached: boolean;
      readonly uploadSeconds: number;
    };
    readonly settings: Readonly<Record<string, string>>;
  };
  readonly throughput: {
    readonly variants: readonly VariantFigures[];
    /** Median stage wall times of our compactions (engine stages; the rest is S3, manifest and commit). */
    readonly profile: Readonly<Record<string, Readonly<Record<string, number>>>>;
    readonly seedFiles: number;
  };
  readonly incremental: {
    readonly runs: number;
    readonly steps: readonly {
      readonly label: string;
      readonly plan: string;
      readonly files: number;
      readonly rowsOut: number;
      readonly wallMs: number;
      readonly cpuMs: number;
    }[];
    readonly totalWallMs: number;
    readonly totalCpuMs: number;
    /** Every compaction job of the last day: the bounds a job must keep (issue 14). */
    readonly jobs: readonly JobFigures[];
    /** The day-close merge with 1 and with 2 concurrent workers (2: a separate day run). */
    readonly mergeByWorkers: readonly (JobFigures & { readonly workers: number })[];
    readonly oneShotWallMs: number;
    readonly oneShotCpuMs: number;
    readonly ratio: number;
    readonly cpuRatio: number;
  };
  readonly memory: {
    /** The limit of the runs below (§3); the throughput runs and the day use runMemoryLimitMb. */
    readonly memoryLimitMb: number;
    readonly runMemoryLimitMb: number;
    readonly gzMb: number;
    readonly textMb: number;
    /** The sorted one-shot, and a whole service day (its peak is the merge's). */
    readonly runs: readonly {
      readonly what: string;
      readonly maxRssMb: number;
      readonly completed: boolean;
      readonly rowsOut: number;
      readonly wallMs: number;
    }[];
  };
  readonly storage: {
    readonly gzBytes: number;
    readonly sortedBytes: number;
    readonly dayBytes: number;
    readonly appendBytes: number;
    readonly seedBytes: number;
    readonly seedFiles: number;
    /** The skilled one-liner's single ZSTD file (DuckDB's defaults otherwise). */
    readonly oneLinerBytes: number;
  };
  readonly queries: {
    readonly unitno: string;
    readonly lakeRuns: number;
    readonly rows: readonly {
      readonly name: string;
      readonly lakeMs: number;
      readonly rawMs: number;
      readonly speedup: number;
      readonly answerRows: number;
      readonly note?: string;
    }[];
  };
  readonly requests: {
    readonly files: number;
    readonly lines: readonly RequestLine[];
    /** Ours (S3 delivery included, the device's PUT and free DELETEs excluded). */
    readonly billablePerFile: number;
    readonly emptyReceives: number;
    readonly capacity: CapacityUnits;
    readonly costs: readonly CostLine[];
    readonly costPerFile: number;
    readonly costPerDeviceDay: number;
  };
  readonly ingest: {
    readonly messages: number;
    readonly wallMs: number;
    readonly perSecond: number;
    readonly loops: number;
  };
  readonly rowChecks: readonly {
    readonly what: string;
    readonly expected: number;
    readonly actual: number;
  }[];
  readonly targets: readonly Target[];
}

export interface JobFigures {
  readonly label: string;
  readonly plan: string;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly peakRssMb: number;
  /** False where the peak could not be reset per job (it then covers the day so far). */
  readonly peakRssPerJob: boolean;
  readonly peakTempBytes: number;
  /** The peak beyond its downloads and staged output: DuckDB's spill and the engine's scratch. */
  readonly peakWorkingBytes: number;
  readonly inputBytes: number;
  readonly outputBytes: number;
  readonly outputs: number;
  /** A sliced merge's slices, each a job of its own. */
  readonly slices?: readonly {
    readonly index: number;
    readonly worker: string;
    readonly wallMs: number;
    readonly peakTempBytes: number;
    readonly peakWorkingBytes: number;
    readonly inputBytes: number;
    readonly outputBytes: number;
    readonly outputs: number;
  }[];
}
