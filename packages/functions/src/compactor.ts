import {
  type CompactionEngine,
  compactPartition,
  decodeCompactionJob,
  InvalidEventError,
  partitionLabel,
} from "@compacter/core";
import { createDuckDbEngine } from "@compacter/duckdb";
import { createRuntime, type Runtime } from "@compacter/worker";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { lambdaConfig } from "./lambdaConfig.js";

/**
 * The compactor Lambda (compaction queue, batch size 1, partial batch responses). Every
 * outcome but a failure acknowledges the job: `busy` means another worker holds the lease
 * and sees the same due work, and the sweep re-sends a job for anything still due. A job
 * body no worker could act on goes straight to the DLQ; a failure comes back after the
 * queue's visibility timeout and, if it keeps failing, lands in the DLQ (alarmed).
 */
export function createCompactorHandler(
  runtime: Runtime,
  engine: CompactionEngine,
): (event: SQSEvent) => Promise<SQSBatchResponse> {
  return async (event) => {
    const failures: SQSBatchResponse["batchItemFailures"] = [];
    for (const record of event.Records) {
      try {
        const job = decodeCompactionJob(record.body);
        const outcome = await compactPartition(runtime.compactionDeps(engine), job);
        runtime.log.info("compaction job done", {
          partition: partitionLabel(outcome.partition),
          status: outcome.status,
          plan: outcome.plan,
          generation: outcome.generation,
        });
      } catch (error) {
        if (error instanceof InvalidEventError) {
          const moved = await runtime.compactionDeadLetters.send({
            messageId: record.messageId,
            body: record.body,
            reason: error.message,
          });
          if (moved) continue;
        }
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
