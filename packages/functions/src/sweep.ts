import { removeOrphans, sweepDuePartitions, sweepTypeRewrites, systemClock } from "@compacter/core";
import { createRuntime, type Runtime } from "@compacter/worker";
import { lambdaConfig } from "./lambdaConfig.js";

/**
 * The scheduled sweep (a Cron, every minute): due partitions → one job each on the
 * compaction queue. Once an hour it also removes orphans (staged outputs of crashed
 * attempts, unreferenced lake files) — listing the lake every minute would cost LIST
 * requests for nothing.
 */
export interface SweepResult {
  readonly partitions: number;
  readonly dueEntries: number;
  readonly orphansRemoved?: number;
  /** Partitions sent to be merged again because their files are behind the type ledger. */
  readonly typeRewrites?: number;
}

export function createSweepHandler(
  runtime: Runtime,
  orphanMinute = 0,
): (event?: unknown) => Promise<SweepResult> {
  return async () => {
    const { store, jobs, log, objects, config } = runtime;
    const swept = await sweepDuePartitions({ store, queue: jobs, clock: systemClock, log });
    const rewrites = await sweepTypeRewrites({ store, queue: jobs, clock: systemClock, log, config });
    const result: SweepResult = {
      partitions: swept.partitions.length,
      dueEntries: swept.dueEntries,
      typeRewrites: rewrites.sent,
    };
    if (new Date(systemClock.now()).getUTCMinutes() !== orphanMinute) return result;
    const removed = await removeOrphans({ store, objects, config, clock: systemClock, log });
    return { ...result, orphansRemoved: removed.staged.length + removed.lake.length };
  };
}

let cold: ((event?: unknown) => Promise<SweepResult>) | undefined;

export async function handler(event?: unknown): Promise<SweepResult> {
  cold ??= createSweepHandler(createRuntime(lambdaConfig(), { role: "sweep" }));
  return cold(event);
}
