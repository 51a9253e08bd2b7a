import type { FailingMark, LakeFile, RawFileRecord } from "../manifest/model.js";
import { deviceInputBytes, planSlices } from "./slicePlan.js";

/**
 * Will a compaction fit in a Lambda function? The work is estimated from what the plan
 * reads (raw gzip bytes, lake Parquet rows and bytes) with the throughput the benchmark
 * measured, and compared with the function's limits; a job that would not fit — or whose
 * previous run died without a word, as a timed-out one does — is handed to the Fargate
 * task instead. Pure: figures in, decision out.
 */

/**
 * Measured by `npm run bench` (BENCHMARKS.md, 2026-11-30, 2 vCPUs, memoryLimit 1 GiB, 2.88 M
 * rows of 179-field telemetry in 586.1 MiB of gzip):
 * - an unsorted append through compactPartition: 35,115 rows/s;
 * - a sorted one-shot (what a merge does): 18,950 rows/s;
 * - 213 gzip bytes per row (586.1 MiB ÷ 2.88 M);
 * - Parquet (ZSTD) 0.567 × the gzip bytes.
 */
export const MEASURED_THROUGHPUT = {
  vcpus: 2,
  appendRowsPerSecond: 35_115,
  mergeRowsPerSecond: 18_950,
  gzipBytesPerRow: 213,
  parquetPerGzipByte: 0.567,
} as const;

/** Lambda allocates one vCPU per 1,769 MB of memory, up to 6 (AWS's documented ratio). */
export function lambdaVcpus(memoryMb: number): number {
  return Math.min(6, Math.max(memoryMb / 1769, 0.1));
}

/**
 * Half the timeout and half of /tmp: throughput varies with the data (wide rows, many
 * small files) and DuckDB spills beside its inputs and outputs; a job estimated at 90% of
 * the timeout would be a coin toss, and a timed-out job is retried for nothing.
 */
export const SAFETY_FACTOR = 2;

export interface CompactionWork {
  readonly kind: "append" | "merge";
  readonly rawGzipBytes: number;
  readonly lakeRows: number;
  readonly lakeBytes: number;
}

export interface WorkEstimate extends CompactionWork {
  readonly rows: number;
  readonly seconds: number;
  readonly outputBytes: number;
  /** Downloads plus the output (DuckDB's spill files come on top: see SAFETY_FACTOR). */
  readonly tmpBytes: number;
}

export interface FunctionLimits {
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly tmpBytes: number;
}

/** What a plan reads: the raw files it compacts and, for a merge, the partition's lake files. */
export function workOfPlan(plan: {
  readonly kind: "append" | "merge";
  readonly read: readonly Pick<RawFileRecord, "size">[];
  readonly lakeInputs: readonly LakeFile[];
}): CompactionWork {
  return {
    kind: plan.kind,
    rawGzipBytes: plan.read.reduce((n, f) => n + f.size, 0),
    lakeRows: plan.lakeInputs.reduce((n, f) => n + f.rows, 0),
    lakeBytes: plan.lakeInputs.reduce((n, f) => n + f.bytes, 0),
  };
}

/**
 * The work of the largest job a plan becomes: the plan itself, or — for a merge that runs
 * in device-range slices (slicedMerge.ts) — its largest slice, which reads its own raw
 * files and its share of the lake files.
 */
export function workOfLargestJob(
  plan: {
    readonly kind: "append" | "merge";
    readonly read: readonly Pick<RawFileRecord, "key" | "size" | "deviceId">[];
    readonly lakeInputs: readonly LakeFile[];
  },
  files: readonly RawFileRecord[],
  maxSliceInputBytes: number,
): CompactionWork {
  const whole = workOfPlan(plan);
  if (plan.kind !== "merge") return whole;
  const slices = planSlices(deviceInputBytes(files), maxSliceInputBytes);
  if (slices.length <= 1) return whole;
  const total = slices.reduce((n, s) => n + s.inputBytes, 0);
  const largest = slices.reduce((a, b) => (b.inputBytes > a.inputBytes ? b : a));
  const share = largest.inputBytes / Math.max(1, total);
  const devices = new Set(largest.devices);
  return {
    kind: "merge",
    rawGzipBytes: plan.read.filter((f) => devices.has(f.deviceId)).reduce((n, f) => n + f.size, 0),
    lakeRows: Math.round(whole.lakeRows * share),
    lakeBytes: Math.round(whole.lakeBytes * share),
  };
}

export function estimateWork(work: CompactionWork, vcpus: number): WorkEstimate {
  const m = MEASURED_THROUGHPUT;
  const rawRows = work.rawGzipBytes / m.gzipBytesPerRow;
  const rows = rawRows + work.lakeRows;
  const perVcpu = (work.kind === "merge" ? m.mergeRowsPerSecond : m.appendRowsPerSecond) / m.vcpus;
  const seconds = rows / (perVcpu * vcpus);
  const outputBytes = work.rawGzipBytes * m.parquetPerGzipByte + work.lakeBytes;
  return {
    ...work,
    rows: Math.round(rows),
    seconds: Math.ceil(seconds),
    outputBytes: Math.round(outputBytes),
    tmpBytes: Math.round(work.rawGzipBytes + work.lakeBytes + outputBytes),
  };
}

export type HandOverDecision =
  | { readonly handOver: false }
  | { readonly handOver: true; readonly reason: string };

/**
 * Hand the job to the Fargate task when its estimate does not fit the function with the
 * safety margin, or when this is a redelivery whose earlier run left no failure behind
 * (a failed run marks the partition failing; a run killed at its timeout cannot).
 */
export function handOverDecision(input: {
  readonly estimate: WorkEstimate;
  readonly limits: FunctionLimits;
  readonly receiveCount: number;
  readonly failing: FailingMark | undefined;
}): HandOverDecision {
  const { estimate, limits } = input;
  if (estimate.seconds * SAFETY_FACTOR > limits.timeoutSeconds) {
    return {
      handOver: true,
      reason: `estimated ${estimate.seconds} s for ${estimate.rows} rows (${estimate.kind}); the function stops at ${limits.timeoutSeconds} s`,
    };
  }
  if (estimate.tmpBytes * SAFETY_FACTOR > limits.tmpBytes) {
    return {
      handOver: true,
      reason: `estimated ${Math.ceil(estimate.tmpBytes / 2 ** 20)} MiB of local files; the function has ${Math.floor(limits.tmpBytes / 2 ** 20)} MiB of /tmp`,
    };
  }
  if (input.receiveCount > 1 && input.failing === undefined) {
    return {
      handOver: true,
      reason: `receive ${input.receiveCount} of a job whose earlier run left no failure: it timed out or was killed`,
    };
  }
  return { handOver: false };
}
