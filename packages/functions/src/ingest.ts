import { type ProcessDeps, processIngestMessages } from "@compacter/aws";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { invocationLog } from "./invocation.js";
import { lambdaRuntime } from "./lambdaConfig.js";
import { type ContainerOptions, coldStarted, type LambdaContainer } from "./lambdaContainer.js";

/**
 * The ingest Lambda (SQS event source with partial batch responses): links → config →
 * adapters (@compacter/wiring, as every entry point) → the core's ingest. A message that
 * can never be valid is copied to the DLQ here and reported as done, so it doesn't burn
 * retries; a retryable failure is reported in `batchItemFailures` and comes back after
 * the queue's visibility timeout.
 */
export function createIngestHandler(
  deps: ProcessDeps,
): (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse> {
  return async (event, context) => {
    const dispositions = await processIngestMessages(
      event.Records.map((record) => ({ messageId: record.messageId, body: record.body })),
      { ...deps, log: invocationLog(deps.log, context) },
    );
    return {
      batchItemFailures: dispositions
        .filter((d) => d.status === "retry")
        .map((d) => ({ itemIdentifier: d.messageId })),
    };
  };
}

/**
 * The container: the runtime's clients, reused by warm invocations. The event names its
 * queue only by ARN: without a configured DLQ the queue's redrive policy names it.
 */
export function ingestContainer(options: ContainerOptions = {}): LambdaContainer<SQSEvent, SQSBatchResponse> {
  const runtime = lambdaRuntime("ingest", options);
  return {
    handle: (event, context) =>
      createIngestHandler(runtime.ingestDeps(event.Records[0]?.eventSourceARN))(event, context),
    close: async () => runtime.close(),
  };
}

export const { handler, closeContainer } = coldStarted(() => ingestContainer());
