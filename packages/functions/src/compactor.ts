import {
  type CompactionEngine,
  compactAndMeasure,
  decodeCompactionJob,
  InvalidEventError,
  partitionLabel,
} from "@compacter/core";
import { createDuckDbEngine } from "@compacter/duckdb";
import type { Runtime } from "@compacter/worker";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { invocationBudgetMs, invocationLog } from "./invocation.js";
import { lambdaRuntime } from "./lambdaConfig.js";

/**
 * The compactor Lambda (compaction queue, batch size 1, partial batch responses). Every
 * outcome but a failure acknowledges the job: `busy` means another worker holds the lease
 * and sees the same due work, and the sweep re-sends a job for anything still due. A job
 * body no worker could act on goes straight to the DLQ; a failure comes back after the
 * queue's visibility timeout and, if it keeps failing, lands in the DLQ (alarmed). Each job
 * publishes its metrics, its duration measured against the time the invocation had.
 */
export function createCompactorHandler(
  runtime: Runtime,
  engine: CompactionEngine,
): (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse> {
  return async (event, context) => {
    const log = invocationLog(runtime.log, context);
    const observe = {
      metrics: runtime.metrics,
      budgetMs: invocationBudgetMs(context, runtime.config.compactionBudgetMs),
    };
    const failures: SQSBatchResponse["batchItemFailures"] = [];
    for (const record of event.Records) {
      try {
        const job = decodeCompactionJob(record.body);
        const outcome = await compactAndMeasure({ ...runtime.compactionDeps(engine), log }, job, observe);
        log.info("compaction job done", {
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
        log.error("compaction job failed; it will be retried", {
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
export async function handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  cold ??= { runtime: lambdaRuntime("compactor"), engine: createDuckDbEngine() };
  return createCompactorHandler(cold.runtime, cold.engine)(event, context);
}
