import {
  partitionLabel,
  removeOrphans,
  retryPolicyOf,
  type SweepOutcome,
  sweepDuePartitions,
  systemClock,
} from "@compacter/core";
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
  /** "day/district" of each partition a job was sent for. */
  readonly sent: readonly string[];
  /** Due partitions not sent: a job already queued or in progress, or failing and backing off. */
  readonly held: SweepOutcome["held"];
  readonly dueEntries: number;
  readonly orphansRemoved?: number;
}

export function createSweepHandler(
  runtime: Runtime,
  orphanMinute = 0,
): (event?: unknown) => Promise<SweepResult> {
  return async () => {
    const { store, jobs, log, objects, config } = runtime;
    const swept = await sweepDuePartitions({
      store,
      queue: jobs,
      clock: systemClock,
      log,
      retry: retryPolicyOf(config),
    });
    const result: SweepResult = {
      partitions: swept.partitions.length,
      sent: swept.partitions.map(partitionLabel),
      held: swept.held,
      dueEntries: swept.dueEntries,
    };
    if (new Date(systemClock.now()).getUTCMinutes() !== orphanMinute) return result;
    const removed = await removeOrphans({ store, objects, config, clock: systemClock, log });
    return { ...result, orphansRemoved: removed.staged.length + removed.lake.length };
  };
}

let cold: { runtime: Runtime; handle: (event?: unknown) => Promise<SweepResult> } | undefined;

export async function handler(event?: unknown): Promise<SweepResult> {
  if (!cold) {
    const runtime = createRuntime(lambdaConfig(), { role: "sweep" });
    cold = { runtime, handle: createSweepHandler(runtime) };
  }
  return cold.handle(event);
}

/** Ends the container's state (local runs only: a Lambda container is frozen, never closed). */
export async function closeContainer(): Promise<void> {
  cold?.runtime.close();
  cold = undefined;
}
