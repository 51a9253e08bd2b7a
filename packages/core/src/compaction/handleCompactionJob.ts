import { InjectedFaultError, InvalidEventError } from "../errors.js";
import { partitionLabel } from "../layout/partitions.js";
import { type Metrics, noMetrics } from "../observability/metrics.js";
import { compactAndMeasure } from "../observability/observe.js";
import {
  estimateWork,
  type FunctionLimits,
  handOverDecision,
  lambdaVcpus,
  type WorkEstimate,
  workOfLargestJob,
} from "./capacity.js";
import type { CompactionDeps, CompactionOutcome } from "./compactPartition.js";
import { describeError, failedJobDisposition, nextFailingMark, retryPolicyOf } from "./failures.js";
import { decodeCompactionJob } from "./jobs.js";
import { planCompaction } from "./plan.js";
import type { CompactionJob, CompactionTaskLauncher } from "./ports.js";

/**
 * One message of the compaction queue, handled the same in every runtime (the compactor
 * Lambda, `compacter run`'s consumer, the local Lambda runner): decode → compact → keep
 * the partition's queued and failing marks → tell the caller what to do with the message.
 */
export interface CompactionJobMessage {
  readonly messageId: string;
  readonly body: string;
  /** SQS's ApproximateReceiveCount of this delivery (1 on the first). */
  readonly receiveCount: number;
}

export type CompactionJobResult =
  /** Acknowledge (delete) the message. */
  | { readonly action: "done"; readonly outcome: CompactionOutcome }
  /** Report it failed: SQS redelivers it after the visibility timeout, and past maxReceiveCount moves it to the DLQ. */
  | { readonly action: "retry"; readonly error: unknown }
  /** Retrying cannot help: move it to the DLQ now, then acknowledge it. */
  | { readonly action: "deadLetter"; readonly reason: string; readonly error: unknown }
  /** Too big for this function, or its last run timed out: the task runs it; acknowledge it. */
  | {
      readonly action: "handedOver";
      readonly taskId: string;
      readonly reason: string;
      readonly estimate: WorkEstimate;
    };

/** A function that may hand jobs it cannot finish to a task (the compactor Lambda with the Fargate task). */
export interface HandOver {
  readonly launcher: CompactionTaskLauncher;
  readonly limits: FunctionLimits;
}

/** Where a job's metrics go, and the time limit its duration is measured against. */
export interface JobObservation {
  readonly metrics: Metrics;
  readonly budgetMs: number;
}

export async function handleCompactionJob(
  deps: CompactionDeps,
  message: CompactionJobMessage,
  handOver?: HandOver,
  observe?: JobObservation,
): Promise<CompactionJobResult> {
  let job: ReturnType<typeof decodeCompactionJob>;
  try {
    job = decodeCompactionJob(message.body);
  } catch (error) {
    if (error instanceof InvalidEventError) return { action: "deadLetter", reason: error.message, error };
    throw error;
  }
  const { partition } = job;
  const log = deps.log.child({ partition: partitionLabel(partition), messageId: message.messageId });
  if (handOver) {
    const handed = await handOverIfTooBig(deps, job, message.receiveCount, handOver);
    if (handed) {
      log.warn("compaction job handed to the task", {
        taskId: handed.taskId,
        reason: handed.reason,
        estimate: handed.estimate,
      });
      return handed;
    }
  }
  let outcome: CompactionOutcome;
  try {
    outcome = await compactAndMeasure(
      deps,
      job,
      observe ?? { metrics: noMetrics, budgetMs: deps.config.compactionBudgetMs },
    );
  } catch (error) {
    // A simulated crash (a test's fault point) leaves no trace, as a real one would.
    if (error instanceof InjectedFaultError) throw error;
    const policy = retryPolicyOf(deps.config);
    const disposition = failedJobDisposition(error, message.receiveCount, policy);
    try {
      const state = await deps.store.getPartition(partition);
      const mark = nextFailingMark(state?.failing, { error, nowMs: deps.clock.now() }, policy);
      await deps.store.recordFailure(partition, mark, { clearQueued: disposition.leavesQueue });
      log.error(
        disposition.action === "deadLetter"
          ? "compaction failed with an error retrying cannot fix; the job goes to the DLQ"
          : disposition.leavesQueue
            ? "compaction failed on the job's last receive; SQS moves it to the DLQ, the sweep retries after the back-off"
            : "compaction failed; SQS retries the job after its visibility timeout",
        {
          error,
          receiveCount: message.receiveCount,
          attempts: mark.attempts,
          nextRetryAt: mark.nextRetryAt,
        },
      );
    } catch (markError) {
      log.error("compaction failed, and recording the failure failed too", { error, markError });
    }
    return disposition.action === "deadLetter"
      ? { action: "deadLetter", reason: describeError(error), error }
      : { action: "retry", error };
  }
  // `busy`: the lease holder's job ends this streak (or continues it), not this one.
  if (outcome.status !== "busy") await deps.store.clearFailure(partition);
  return { action: "done", outcome };
}

/** Plans as the compaction would (pure, on one read of the partition) and asks the estimate. */
async function handOverIfTooBig(
  deps: CompactionDeps,
  job: CompactionJob,
  receiveCount: number,
  handOver: HandOver,
): Promise<Extract<CompactionJobResult, { action: "handedOver" }> | undefined> {
  const snapshot = await deps.store.readPartition(job.partition);
  const plan = planCompaction({
    partition: job.partition,
    state: snapshot.state,
    files: snapshot.files,
    nowMs: deps.clock.now(),
    settings: deps.config,
    forceMerge: job.forceMerge,
  });
  if (plan.kind === "none" && !snapshot.state?.inflight) return undefined;
  const kind = plan.kind === "merge" ? "merge" : "append";
  // A merge too big for one job runs in slices (slicedMerge.ts): its largest slice is the job.
  const estimate = estimateWork(
    workOfLargestJob(
      { kind, read: plan.read, lakeInputs: kind === "merge" ? (snapshot.state?.files ?? []) : [] },
      snapshot.files,
      deps.config.maxSliceInputBytes,
    ),
    lambdaVcpus(handOver.limits.memoryMb),
  );
  const decision = handOverDecision({
    estimate,
    limits: handOver.limits,
    receiveCount,
    failing: snapshot.state?.failing,
  });
  if (!decision.handOver) return undefined;
  const { taskId } = await handOver.launcher.launch(job, decision.reason);
  return { action: "handedOver", taskId, reason: decision.reason, estimate };
}
