import { InjectedFaultError, InvalidEventError } from "../errors.js";
import { partitionLabel } from "../layout/partitions.js";
import { type CompactionDeps, type CompactionOutcome, compactPartition } from "./compactPartition.js";
import { describeError, failedJobDisposition, nextFailingMark, retryPolicyOf } from "./failures.js";
import { decodeCompactionJob } from "./jobs.js";

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
  | { readonly action: "deadLetter"; readonly reason: string; readonly error: unknown };

export async function handleCompactionJob(
  deps: CompactionDeps,
  message: CompactionJobMessage,
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
  let outcome: CompactionOutcome;
  try {
    outcome = await compactPartition(deps, job);
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
