import { type CompactionEngine, handleCompactionJob, partitionLabel } from "@compacter/core";
import { createDuckDbEngine } from "@compacter/duckdb";
import { createRuntime, type Runtime } from "@compacter/worker";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { lambdaConfig } from "./lambdaConfig.js";

/**
 * The compactor Lambda (compaction queue, batch size 1, subscribed with partial batch
 * responses — without them Lambda would delete a failed job). Every outcome but a failure
 * acknowledges the job: `busy` means another worker holds the lease and sees the same due
 * work. A failure is reported in `batchItemFailures`: SQS redelivers it after the queue's
 * visibility timeout and moves it to the DLQ after maxReceiveCount receives, and the
 * partition is marked failing with a back-off for the sweep (handleCompactionJob). A job
 * that retrying cannot fix (an invalid body, a non-retryable error) goes to the DLQ at once.
 */
export function createCompactorHandler(
  runtime: Runtime,
  engine: CompactionEngine,
): (event: SQSEvent) => Promise<SQSBatchResponse> {
  return async (event) => {
    const failures: SQSBatchResponse["batchItemFailures"] = [];
    for (const record of event.Records) {
      const receiveCount = Number.parseInt(record.attributes?.ApproximateReceiveCount ?? "1", 10) || 1;
      try {
        const result = await handleCompactionJob(runtime.compactionDeps(engine), {
          messageId: record.messageId,
          body: record.body,
          receiveCount,
        });
        if (result.action === "done") {
          runtime.log.info("compaction job done", {
            partition: partitionLabel(result.outcome.partition),
            status: result.outcome.status,
            plan: result.outcome.plan,
            generation: result.outcome.generation,
          });
          continue;
        }
        if (result.action === "deadLetter") {
          const moved = await runtime.compactionDeadLetters.send({
            messageId: record.messageId,
            body: record.body,
            reason: result.reason,
          });
          if (moved) continue;
        }
        failures.push({ itemIdentifier: record.messageId });
      } catch (error) {
        runtime.log.error("compaction job failed; it will be retried", {
          messageId: record.messageId,
          error,
        });
        failures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures: failures };
  };
}

let cold: { runtime: Runtime; engine: CompactionEngine } | undefined;

/** One DuckDB instance per container, reused by warm invocations. */
export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  cold ??= { runtime: createRuntime(lambdaConfig(), { role: "compactor" }), engine: createDuckDbEngine() };
  return createCompactorHandler(cold.runtime, cold.engine)(event);
}

/** Ends the container's state (local runs only: a Lambda container is frozen, never closed). */
export async function closeContainer(): Promise<void> {
  const state = cold;
  cold = undefined;
  if (!state) return;
  await state.engine.close();
  state.runtime.close();
}
