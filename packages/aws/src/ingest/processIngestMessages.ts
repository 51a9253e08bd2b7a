import {
  handleIngestMessage,
  type IngestDeps,
  type IngestMessageResult,
  ingestMetrics,
  isRetryable,
  type Metrics,
} from "@compacter/core";
import type { DeadLetters } from "./DeadLetters.js";

/**
 * What both consumers (the SQS poller and the Lambda handler) do with a batch: run each
 * message through the core's ingest, and decide its fate.
 * - done: registered (or nothing to do) → delete it;
 * - deadLettered: can never be valid, already copied to the DLQ → delete it;
 * - retry: a failure that may pass (throttling, a network error, a lost race) → leave it
 *   on the queue; its redrive policy moves it to the DLQ if it keeps failing.
 */
export interface IngestMessage {
  readonly messageId: string;
  readonly body: string;
}

export type MessageDisposition =
  | { readonly messageId: string; readonly status: "done"; readonly result: IngestMessageResult }
  | { readonly messageId: string; readonly status: "deadLettered"; readonly reason: string }
  | { readonly messageId: string; readonly status: "retry"; readonly error: unknown };

export interface ProcessDeps extends IngestDeps {
  readonly deadLetters: DeadLetters;
  /** Each batch publishes its record outcomes (files ingested, duplicate, stale, rejected, removed). */
  readonly metrics?: Metrics;
}

export async function processIngestMessages(
  messages: readonly IngestMessage[],
  deps: ProcessDeps,
): Promise<MessageDisposition[]> {
  // Messages of a batch are independent (the manifest orders events by sequencer), so
  // they run concurrently; records inside one message run in order.
  const dispositions = await Promise.all(messages.map((message) => processOne(message, deps)));
  deps.metrics?.publish(
    ingestMetrics(dispositions.flatMap((d) => (d.status === "done" ? d.result.records : []))),
  );
  return dispositions;
}

async function processOne(message: IngestMessage, deps: ProcessDeps): Promise<MessageDisposition> {
  const { messageId } = message;
  try {
    const result = await handleIngestMessage(message.body, deps, { messageId });
    return { messageId, status: "done", result };
  } catch (error) {
    // A message that can never succeed (an InvalidEventError, or any error that says it is
    // not retryable) goes to the DLQ now instead of burning maxReceiveCount receives.
    if (!isRetryable(error)) {
      const reason = error instanceof Error ? error.message : String(error);
      if (await deps.deadLetters.send({ messageId, body: message.body, reason })) {
        deps.log.error("invalid ingest message moved to the dead-letter queue", { messageId, reason });
        return { messageId, status: "deadLettered", reason };
      }
      return { messageId, status: "retry", error };
    }
    deps.log.warn("ingest message failed; it will be retried", { messageId, error });
    return { messageId, status: "retry", error };
  }
}
