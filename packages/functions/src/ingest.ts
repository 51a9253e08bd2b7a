import {
  createAwsClients,
  DeadLetters,
  DynamoManifestStore,
  emfMetricsFor,
  type ProcessDeps,
  processIngestMessages,
} from "@compacter/aws";
import { createLogger } from "@compacter/core";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { invocationLog } from "./invocation.js";
import { lambdaConfig } from "./lambdaConfig.js";

/**
 * The ingest Lambda (SQS event source with partial batch responses): env → config →
 * adapters → the core's ingest. A message that can never be valid is copied to the DLQ
 * here and reported as done, so it doesn't burn retries; a retryable failure is reported
 * in `batchItemFailures` and comes back after the queue's visibility timeout.
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

let cold: { deps: ProcessDeps; queueArn: string | undefined; close: () => void } | undefined;

/** The Lambda entry point; adapters are built once per container, on the first event. */
export async function handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  const queueArn = event.Records[0]?.eventSourceARN;
  if (!cold || (!cold.queueArn && queueArn)) {
    cold?.close();
    cold = { ...buildDeps(process.env, queueArn), queueArn };
  }
  return createIngestHandler(cold.deps)(event, context);
}

/** Ends the container's state (local runs only: a Lambda container is frozen, never closed). */
export async function closeContainer(): Promise<void> {
  cold?.close();
  cold = undefined;
}

function buildDeps(
  env: NodeJS.ProcessEnv,
  queueArn: string | undefined,
): { deps: ProcessDeps; close: () => void } {
  // Linked resources (and the stage, for the metrics' dimension) over the environment, as in every handler.
  const config = lambdaConfig(env);
  const log = createLogger({ level: config.logLevel, fields: { role: "ingest" } });
  const clients = createAwsClients();
  const deps: ProcessDeps = {
    config,
    log,
    metrics: emfMetricsFor(config, log),
    store: new DynamoManifestStore({ client: clients.dynamodb, tableName: config.manifestTable }),
    deadLetters: new DeadLetters(
      clients.sqs,
      {
        ...(config.ingestDlqUrl ? { dlqUrl: config.ingestDlqUrl } : {}),
        ...(config.ingestQueueUrl ? { queueUrl: config.ingestQueueUrl } : {}),
        ...(queueArn ? { queueArn } : {}),
      },
      log,
    ),
  };
  return { deps, close: () => clients.destroy() };
}
