import type { PartitionId } from "../layout/partitions.js";
import type { Logger } from "../log.js";
import type { ManifestStore } from "../manifest/store.js";
import { type LakeFreshness, lakeFreshness } from "../observability/freshness.js";
import type { Metrics } from "../observability/metrics.js";
import { freshnessMetrics } from "../observability/observe.js";
import type { Clock, JobQueue } from "./ports.js";

/**
 * The scheduler's half of compaction: every partition with something due (a raw file
 * whose window closed, a late file's debounce ended, a merge at day close, a commit left
 * in flight) gets one job on the compaction queue. Sending a job twice is harmless: the
 * second worker either waits on the lease or finds nothing due.
 */
export async function sweepDuePartitions(deps: {
  readonly store: ManifestStore;
  readonly queue: JobQueue;
  readonly clock: Clock;
  readonly log: Logger;
  /** Lake freshness is published here every run, so it is there even when nothing else runs. */
  readonly metrics?: Metrics;
}): Promise<{ partitions: PartitionId[]; dueEntries: number; freshness: LakeFreshness }> {
  const nowMs = deps.clock.now();
  const now = new Date(nowMs).toISOString();
  const due = await deps.store.listDue(now);
  const freshness = lakeFreshness(due, nowMs);
  deps.metrics?.publish(freshnessMetrics(freshness));
  const partitions = new Map<string, PartitionId>();
  for (const entry of due)
    partitions.set(`${entry.partition.day}/${entry.partition.district}`, entry.partition);
  const jobs = [...partitions.values()].map((partition) => ({ partition }));
  if (jobs.length > 0) {
    await deps.queue.sendCompactionJobs(jobs);
    deps.log.info("sent compaction jobs", { partitions: jobs.length, dueEntries: due.length });
  }
  return { partitions: [...partitions.values()], dueEntries: due.length, freshness };
}
