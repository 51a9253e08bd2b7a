import type { CompactionDeps, CompactionOutcome } from "../compaction/compactPartition.js";
import { compactPartition } from "../compaction/compactPartition.js";
import type { CompactionJob } from "../compaction/ports.js";
import type { IngestRecordResult } from "../ingest/handleIngestMessage.js";
import type { LakeFreshness } from "./freshness.js";
import { METRICS, type MetricPoint, type Metrics, point } from "./metrics.js";

/**
 * Results → metric points: what each role publishes, decided once for every runtime.
 * Counters are published even when zero, so a graph shows "nothing happened" rather than
 * a gap that looks like "nobody reported".
 */

export function ingestMetrics(records: readonly IngestRecordResult[]): MetricPoint[] {
  const n = (...outcomes: IngestRecordResult["outcome"][]) =>
    records.filter((r) => outcomes.includes(r.outcome)).length;
  return [
    point(METRICS.filesIngested, n("registered", "replaced")),
    point(METRICS.filesDuplicate, n("duplicate")),
    point(METRICS.filesStale, n("stale")),
    point(METRICS.filesRejected, n("rejected")),
    point(METRICS.filesRemoved, n("removed")),
  ];
}

/** A compaction that threw has no plan we know of. */
export const FAILED_PLAN = "unknown";

export interface CompactionTiming {
  /** Wall-clock time of the job. */
  readonly durationMs: number;
  /** The job's time limit (the compactor function's timeout on Lambda). */
  readonly budgetMs: number;
}

export function compactionMetrics(
  outcome: CompactionOutcome | { readonly status: "failed" },
  timing: CompactionTiming,
): MetricPoint[] {
  const plan = ("plan" in outcome && outcome.plan) || (outcome.status === "failed" ? FAILED_PLAN : "none");
  const points = [
    point(METRICS.compactions, 1, { Plan: plan, Outcome: outcome.status }),
    point(METRICS.compactionDuration, timing.durationMs),
    point(METRICS.compactionTimeoutUsed, percentOf(timing.durationMs, timing.budgetMs)),
  ];
  const history = "history" in outcome ? outcome.history : undefined;
  if (outcome.status !== "committed" || !history) return points;
  points.push(
    point(METRICS.rowsIn, history.rowsIn),
    point(METRICS.rowsOut, history.rowsOut),
    point(METRICS.badLines, history.badLines),
    point(
      METRICS.nulledValues,
      Object.values(history.nulledValues).reduce((sum, n) => sum + n, 0),
    ),
    point(METRICS.quarantinedFiles, history.inputs.filter((f) => f.outcome === "quarantined").length),
  );
  if (history.publishWindowMs !== undefined)
    points.push(point(METRICS.publishWindow, history.publishWindowMs));
  return points;
}

export function freshnessMetrics(freshness: LakeFreshness): MetricPoint[] {
  return [
    point(METRICS.lakeFreshness, freshness.ageMs / 1000),
    point(METRICS.overdueFiles, freshness.overdueFiles),
  ];
}

export function failingMetrics(failingPartitions: number): MetricPoint[] {
  return [point(METRICS.failingPartitions, failingPartitions)];
}

/**
 * One compaction job, timed, with its metrics published whatever happens: a job that
 * throws is published as outcome "failed" (and rethrown), so the worker's figures match
 * the Lambda's Errors.
 */
export async function compactAndMeasure(
  deps: CompactionDeps,
  job: CompactionJob,
  observe: { readonly metrics: Metrics; readonly budgetMs: number },
): Promise<CompactionOutcome> {
  const startedMs = deps.clock.now();
  const timing = () => ({ durationMs: deps.clock.now() - startedMs, budgetMs: observe.budgetMs });
  let outcome: CompactionOutcome;
  try {
    outcome = await compactPartition(deps, job);
  } catch (error) {
    observe.metrics.publish(compactionMetrics({ status: "failed" }, timing()));
    throw error;
  }
  observe.metrics.publish(compactionMetrics(outcome, timing()));
  return outcome;
}

function percentOf(part: number, whole: number): number {
  return whole > 0 ? Math.round((10_000 * part) / whole) / 100 : 0;
}
