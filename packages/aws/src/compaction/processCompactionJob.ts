import {
  type CompactionDeps,
  type CompactionJobMessage,
  type CompactionOutcome,
  type HandOver,
  handleCompactionJob,
  InvalidEventError,
  type JobObservation,
  partitionLabel,
} from "@compacter/core";
import type { DeadLetters } from "../ingest/DeadLetters.js";

/**
 * What both compaction consumers (`compacter run`'s SQS poller and the compactor Lambda)
 * do with one job: run it through the core's handleCompactionJob, move a job retrying
 * cannot fix to the DLQ, and decide the message's fate.
 * - done / handedOver / deadLettered → delete it;
 * - retry → leave it on the queue (also when the DLQ could not take it): SQS redelivers it
 *   after the visibility timeout and its redrive policy parks it past maxReceiveCount.
 * An error thrown by the job itself (a simulated crash among them) is the caller's, as a
 * crash is: each runtime reports it its own way.
 */
export type CompactionJobDisposition =
  | { readonly status: "done"; readonly outcome: CompactionOutcome }
  | { readonly status: "handedOver" }
  | { readonly status: "deadLettered"; readonly reason: string; readonly invalid: boolean }
  | { readonly status: "retry"; readonly error: unknown };

export interface ProcessJobDeps {
  readonly deps: CompactionDeps;
  readonly deadLetters: DeadLetters;
  /** Where the job's metrics go and the budget its duration is measured against. */
  readonly observe: JobObservation;
  /** Only a function that can hand a job to the task (the compactor Lambda) has one. */
  readonly handOver?: HandOver;
}

export async function processCompactionJob(
  message: CompactionJobMessage,
  { deps, deadLetters, observe, handOver }: ProcessJobDeps,
): Promise<CompactionJobDisposition> {
  const result = await handleCompactionJob(deps, message, handOver, observe);
  switch (result.action) {
    case "retry":
      return { status: "retry", error: result.error };
    case "handedOver":
      return { status: "handedOver" };
    case "deadLetter": {
      const { messageId, body } = message;
      if (!(await deadLetters.send({ messageId, body, reason: result.reason }))) {
        return { status: "retry", error: result.error };
      }
      deps.log.error("compaction job moved to the dead-letter queue", { messageId, reason: result.reason });
      return {
        status: "deadLettered",
        reason: result.reason,
        invalid: result.error instanceof InvalidEventError,
      };
    }
    case "done": {
      const { outcome } = result;
      deps.log.info("compaction job done", {
        partition: partitionLabel(outcome.partition),
        status: outcome.status,
        plan: outcome.plan,
        generation: outcome.generation,
      });
      return { status: "done", outcome };
    }
  }
}
