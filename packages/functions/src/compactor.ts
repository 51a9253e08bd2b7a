import {
  COMPACTOR_SHAPE,
  type CompactionEngine,
  type FunctionLimits,
  type HandOver,
  handleCompactionJob,
  partitionLabel,
} from "@compacter/core";
import { createDuckDbEngine } from "@compacter/duckdb";
import type { Runtime } from "@compacter/wiring";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { invocationBudgetMs, invocationLog } from "./invocation.js";
import { lambdaRuntime } from "./lambdaConfig.js";
import { taskLauncherFromLinks } from "./taskLauncher.js";

/**
 * The compactor Lambda (compaction queue, batch size 1, subscribed with partial batch
 * responses — without them Lambda would delete a failed job). Every outcome but a failure
 * acknowledges the job: `busy` means another worker holds the lease and sees the same due
 * work. A failure is reported in `batchItemFailures`: SQS redelivers it after the queue's
 * visibility timeout and moves it to the DLQ after maxReceiveCount receives, and the
 * partition is marked failing with a back-off for the sweep (handleCompactionJob). A job
 * that retrying cannot fix (an invalid body, a non-retryable error) goes to the DLQ at once.
 * Each job publishes its metrics, its duration measured against the time the invocation had.
 */
export function createCompactorHandler(
  runtime: Runtime,
  engine: CompactionEngine,
  handOver?: HandOver,
): (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse> {
  return async (event, context) => {
    const log = invocationLog(runtime.log, context);
    const observe = {
      metrics: runtime.metrics,
      budgetMs: invocationBudgetMs(context, runtime.config.compactionBudgetMs),
    };
    const failures: SQSBatchResponse["batchItemFailures"] = [];
    for (const record of event.Records) {
      const receiveCount = Number.parseInt(record.attributes?.ApproximateReceiveCount ?? "1", 10) || 1;
      try {
        const result = await handleCompactionJob(
          { ...runtime.compactionDeps(engine), log },
          { messageId: record.messageId, body: record.body, receiveCount },
          handOver,
          observe,
        );
        if (result.action === "handedOver") continue;
        if (result.action === "done") {
          log.info("compaction job done", {
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

let cold: { runtime: Runtime; engine: CompactionEngine; handOver: HandOver | undefined } | undefined;

/**
 * One DuckDB instance per container, reused by warm invocations. With the Fargate task
 * linked, jobs estimated too big for this function (or whose last run timed out) go there.
 */
export async function handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  if (!cold) {
    const runtime = lambdaRuntime("compactor");
    const launcher = taskLauncherFromLinks(runtime.log);
    cold = {
      runtime,
      engine: createDuckDbEngine(),
      handOver: launcher ? { launcher, limits: functionLimits() } : undefined,
    };
  }
  return createCompactorHandler(cold.runtime, cold.engine, cold.handOver)(event, context);
}

/** The running function's limits: what Lambda says about this container, else the deployed shape. */
function functionLimits(): FunctionLimits {
  const memoryMb = Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE) || COMPACTOR_SHAPE.memoryMb;
  return {
    timeoutSeconds: COMPACTOR_SHAPE.timeoutSeconds,
    memoryMb,
    tmpBytes: COMPACTOR_SHAPE.storageMb * 2 ** 20,
  };
}

/** Ends the container's state (local runs only: a Lambda container is frozen, never closed). */
export async function closeContainer(): Promise<void> {
  const state = cold;
  cold = undefined;
  if (!state) return;
  await state.engine.close();
  state.runtime.close();
}
