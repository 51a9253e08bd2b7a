import { availableParallelism } from "node:os";
import type { EngineLimits } from "@compacter/core";

/**
 * DuckDB's memory_limit bounds its buffer pool, not the process: measured on 2.88M
 * telemetry rows with 2 threads, a sort or an ordered Parquet copy peaked 250–500 MB
 * above it (reader and writer row buffers, per-thread sort state), and Node with the
 * validator's workers adds ~150 MB. `memoryLimitBytes` is the process's budget, so DuckDB
 * gets it minus a reserve: 30% of it, at most 256 MiB per thread.
 */
export function duckDbMemoryLimit(limits: EngineLimits): number {
  const reserve = Math.min(0.3 * limits.memoryLimitBytes, 256 * 2 ** 20 * resolveThreads(limits.threads));
  return Math.floor(limits.memoryLimitBytes - reserve);
}

export function resolveThreads(threads: number): number {
  return threads > 0 ? threads : availableParallelism();
}
