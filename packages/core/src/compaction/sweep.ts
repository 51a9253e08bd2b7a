import type { PartitionId } from "../layout/partitions.js";
import { partitionLabel } from "../layout/partitions.js";
import type { Logger } from "../log.js";
import type { ManifestStore } from "../manifest/store.js";
import { type LakeFreshness, lakeFreshness } from "../observability/freshness.js";
import type { Metrics } from "../observability/metrics.js";
import { failingMetrics, freshnessMetrics } from "../observability/observe.js";
import { mapLimit } from "../util/mapLimit.js";
import { queuedHoldMs, type RetryPolicy, type SweepDecision, sweepDecision } from "./failures.js";
import type { Clock, JobQueue } from "./ports.js";

/** Partition states read in parallel by one sweep. */
const STATE_READ_CONCURRENCY = 8;

export interface SweepDeps {
  readonly store: ManifestStore;
  readonly queue: JobQueue;
  readonly clock: Clock;
  readonly log: Logger;
  readonly retry: RetryPolicy;
  /** Lake freshness and failing partitions are published here every run, even when nothing else runs. */
  readonly metrics?: Metrics;
}

export interface SweepOutcome {
  /** Partitions a job was sent for. */
  readonly partitions: PartitionId[];
  readonly dueEntries: number;
  /** Due partitions not sent, by reason: a job already queued, one in progress, a failing one backing off. */
  readonly held: Readonly<Record<Exclude<SweepDecision, { send: true }>["reason"], number>>;
  /** Age past due of the oldest raw file not yet in the lake (observability/freshness.ts). */
  readonly freshness: LakeFreshness;
}

/**
 * The scheduler's half of compaction: every partition with something due (a raw file
 * whose window closed, a late file's debounce ended, a merge at day close, a commit left
 * in flight) gets one job on the compaction queue — unless it has one queued or in
 * progress, or it is failing and its back-off has not ended (compaction/failures.ts).
 * Sending a job twice stays harmless (the second worker waits on the lease or finds
 * nothing due); the marks only keep a stuck partition from costing a job every sweep.
 */
export async function sweepDuePartitions(deps: SweepDeps): Promise<SweepOutcome> {
  const nowMs = deps.clock.now();
  const due = await deps.store.listDue(new Date(nowMs).toISOString());
  const freshness = lakeFreshness(due, nowMs);
  deps.metrics?.publish(freshnessMetrics(freshness));
  const unique = new Map<string, PartitionId>();
  for (const entry of due) unique.set(partitionLabel(entry.partition), entry.partition);
  const held = { queued: 0, "in progress": 0, "backing off": 0 };
  // A failing partition keeps its work due, so every one is among these.
  let failing = 0;
  const decided = await mapLimit([...unique.values()], STATE_READ_CONCURRENCY, async (partition) => {
    const state = await deps.store.getPartition(partition);
    if (state?.failing) failing += 1;
    const decision = sweepDecision(state, nowMs);
    if (!decision.send) {
      held[decision.reason] += 1;
      return undefined;
    }
    // No partition item (written before items existed): nothing to mark, send as before.
    if (!state) return partition;
    // Conditional: of two sweeps racing, one marks and sends.
    const marked = await deps.store.markQueued(partition, nowMs + queuedHoldMs(deps.retry), nowMs);
    if (!marked) held.queued += 1;
    return marked ? partition : undefined;
  });
  const partitions = decided.filter((p): p is PartitionId => p !== undefined);
  deps.metrics?.publish(failingMetrics(failing));
  if (partitions.length > 0) {
    try {
      await deps.queue.sendCompactionJobs(partitions.map((partition) => ({ partition })));
    } catch (error) {
      // Unmarked, the next sweep sends them again instead of waiting out the hold.
      await Promise.allSettled(partitions.map((p) => deps.store.clearQueued(p)));
      throw error;
    }
    deps.log.info("sent compaction jobs", { partitions: partitions.length, dueEntries: due.length, held });
  } else if (held.queued + held["in progress"] + held["backing off"] > 0) {
    deps.log.debug("due partitions already queued, in progress or backing off", { held });
  }
  return { partitions, dueEntries: due.length, held, freshness };
}
