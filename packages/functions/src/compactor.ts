import { processCompactionJob } from "@compacter/aws";
import { COMPACTOR_SHAPE, type CompactionEngine, type FunctionLimits, type HandOver } from "@compacter/core";
import { createDuckDbEngine } from "@compacter/duckdb";
import type { Runtime } from "@compacter/wiring";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { invocationBudgetMs, invocationLog } from "./invocation.js";
import { lambdaRuntime } from "./lambdaConfig.js";
import { type ContainerOptions, coldStarted, type LambdaContainer } from "./lambdaContainer.js";
import { taskLauncherFromLinks } from "./taskLauncher.js";

/**
 * The compactor Lambda (compaction queue, batch size 1, subscribed with partial batch
 * responses — without them Lambda would delete a failed job). Each job goes through
 * processCompactionJob, as in `compacter run`'s consumer: every outcome but a failure
 * acknowledges it — `busy` means another worker holds the lease and sees the same due
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
        const disposition = await processCompactionJob(
          { messageId: record.messageId, body: record.body, receiveCount },
          {
            deps: { ...runtime.compactionDeps(engine), log },
            deadLetters: runtime.compactionDeadLetters,
            observe,
            ...(handOver ? { handOver } : {}),
          },
        );
        if (disposition.status === "retry") failures.push({ itemIdentifier: record.messageId });
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

/**
 * The container: one DuckDB instance, reused by warm invocations. With the Fargate task
 * linked, jobs estimated too big for this function (or whose last run timed out) go there.
 */
export function compactorContainer(
  options: ContainerOptions = {},
): LambdaContainer<SQSEvent, SQSBatchResponse> {
  const runtime = lambdaRuntime("compactor", options);
  const engine = createDuckDbEngine();
  const launcher = taskLauncherFromLinks(runtime.log);
  const handle = createCompactorHandler(
    runtime,
    engine,
    launcher ? { launcher, limits: functionLimits() } : undefined,
  );
  return {
    handle,
    close: async () => {
      await engine.close();
      runtime.close();
    },
  };
}

export const { handler, closeContainer } = coldStarted(() => compactorContainer());

/** The running function's limits: what Lambda says about this container, else the deployed shape. */
function functionLimits(): FunctionLimits {
  const memoryMb = Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE) || COMPACTOR_SHAPE.memoryMb;
  return {
    timeoutSeconds: COMPACTOR_SHAPE.timeoutSeconds,
    memoryMb,
    tmpBytes: COMPACTOR_SHAPE.storageMb * 2 ** 20,
  };
}
