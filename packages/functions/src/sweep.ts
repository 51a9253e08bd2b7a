import {
  METRICS,
  partitionLabel,
  point,
  removeOrphans,
  retryPolicyOf,
  type SweepOutcome,
  sweepDuePartitions,
  sweepTypeRewrites,
} from "@compacter/core";
import type { Runtime } from "@compacter/wiring";
import type { Context } from "aws-lambda";
import { invocationLog } from "./invocation.js";
import { lambdaRuntime } from "./lambdaConfig.js";
import { type ContainerOptions, coldStarted, type LambdaContainer } from "./lambdaContainer.js";

/**
 * The scheduled sweep (a Cron, every minute): due partitions → one job each on the
 * compaction queue. Once an hour it also removes orphans (staged outputs of crashed
 * attempts, unreferenced lake files) — listing the lake every minute would cost LIST
 * requests for nothing. Every run publishes lake freshness (from the due index), so the
 * headline figure is there even when nothing else runs.
 */
export interface SweepResult {
  readonly partitions: number;
  /** "day/district" of each partition a job was sent for. */
  readonly sent: readonly string[];
  /** Due partitions not sent: a job already queued or in progress, or failing and backing off. */
  readonly held: SweepOutcome["held"];
  readonly dueEntries: number;
  /** Seconds past due of the oldest raw file not yet in the lake (0: nothing overdue). */
  readonly lakeFreshnessSeconds: number;
  readonly orphansRemoved?: number;
  /** Partitions sent to be merged again because their files are behind the type ledger. */
  readonly typeRewrites?: number;
}

export function createSweepHandler(
  runtime: Runtime,
  orphanMinute = 0,
): (event?: unknown, context?: Context) => Promise<SweepResult> {
  return async (_event, context) => {
    const { store, jobs, objects, config, metrics, clock } = runtime;
    const log = invocationLog(runtime.log, context);
    const swept = await sweepDuePartitions({
      store,
      queue: jobs,
      clock,
      log,
      retry: retryPolicyOf(config),
      metrics,
    }).catch((error: unknown) => {
      metrics.publish([point(METRICS.sweepErrors, 1)]);
      log.error("sweep failed; EventBridge retries it twice, then the next scheduled run tries again", {
        error,
      });
      throw error;
    });
    const rewrites = await sweepTypeRewrites({
      store,
      queue: jobs,
      clock,
      log,
      config,
      retry: retryPolicyOf(config),
    });
    const result: SweepResult = {
      partitions: swept.partitions.length,
      sent: swept.partitions.map(partitionLabel),
      held: swept.held,
      dueEntries: swept.dueEntries,
      lakeFreshnessSeconds: swept.freshness.ageMs / 1000,
      typeRewrites: rewrites.sent,
    };
    if (new Date(clock.now()).getUTCMinutes() !== orphanMinute) return result;
    const removed = await removeOrphans({ store, objects, config, clock, log });
    return { ...result, orphansRemoved: removed.staged.length + removed.lake.length };
  };
}

/** The container: the runtime's clients, reused by warm invocations. */
export function sweepContainer(options: ContainerOptions = {}): LambdaContainer<unknown, SweepResult> {
  const runtime = lambdaRuntime("sweep", options);
  return { handle: createSweepHandler(runtime), close: async () => runtime.close() };
}

export const { handler, closeContainer } = coldStarted(() => sweepContainer());
