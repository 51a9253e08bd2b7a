import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { Logger, QueueFunctionShape } from "@compacter/core";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { invokeWithTimeout } from "./invoke.js";

/**
 * Lambda's SQS event source mapping, locally: `concurrency` pollers each receive up to the
 * batch size (gathering for the batching window), invoke the function with an SQS event,
 * and then do what the mapping does with the result —
 * - returned, partialResponses on: delete every message except the `batchItemFailures`;
 * - returned, partialResponses off: delete every message (the response is ignored, so a
 *   failure the handler reported is lost — what AWS does);
 * - threw, or ran past the function timeout (abandoned, as Lambda kills it): delete none;
 *   the messages come back after the queue's visibility timeout, and its redrive policy
 *   moves them to the DLQ after maxReceiveCount receives.
 */
export interface EventSourceMappingOptions {
  readonly name: string;
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly shape: Pick<QueueFunctionShape, "batchSize" | "batchWindowSeconds" | "partialResponses">;
  readonly timeoutMs: number;
  readonly batchWindowMs: number;
  /** Pollers (the mapping's maximum concurrency, locally). */
  readonly concurrency: number;
  readonly invoke: (event: SQSEvent) => Promise<unknown>;
  readonly log: Logger;
  readonly onInvocation?: (invocation: SqsInvocation) => void;
}

export interface SqsInvocation {
  readonly function: string;
  readonly messageIds: readonly string[];
  readonly receiveCounts: readonly number[];
  readonly result: "ok" | "error" | "timeout";
  /** Messages deleted after the invocation. */
  readonly deleted: readonly string[];
  readonly bodies: readonly string[];
}

const LONG_POLL_SECONDS = 1;

export class EventSourceMapping {
  private readonly stopping = new AbortController();
  private loops: Promise<void>[] = [];

  constructor(private readonly options: EventSourceMappingOptions) {}

  start(): void {
    for (let i = 0; i < this.options.concurrency; i++) this.loops.push(this.poll());
  }

  /** Stops receiving; invocations in hand finish (or time out) first. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all(this.loops);
  }

  private async poll(): Promise<void> {
    const { log, name } = this.options;
    while (!this.stopping.signal.aborted) {
      try {
        const batch = await this.receiveBatch();
        if (batch.length > 0) await this.invoke(batch);
      } catch (error) {
        if (this.stopping.signal.aborted) return;
        log.warn("event source mapping could not poll its queue; retrying", { function: name, error });
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /** Up to batchSize messages, waiting up to the batching window for a batch to fill. */
  private async receiveBatch(): Promise<Message[]> {
    const { sqs, queueUrl, shape, batchWindowMs } = this.options;
    const batch: Message[] = [];
    const deadline = Date.now() + batchWindowMs;
    do {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, shape.batchSize - batch.length),
          WaitTimeSeconds: batch.length === 0 ? LONG_POLL_SECONDS : 0,
          MessageSystemAttributeNames: ["All"],
        }),
        { abortSignal: this.stopping.signal },
      );
      batch.push(...Messages);
      if (batch.length === 0) return batch;
      if (Messages.length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(100, deadline - Date.now())));
      }
    } while (batch.length < shape.batchSize && Date.now() < deadline);
    return batch;
  }

  private async invoke(batch: readonly Message[]): Promise<void> {
    const { name, queueArn, timeoutMs, shape, log } = this.options;
    const event: SQSEvent = { Records: batch.map((m) => toRecord(m, queueArn)) };
    const outcome = await invokeWithTimeout(() => this.options.invoke(event), timeoutMs);
    let toDelete: Message[] = [];
    if (outcome.result === "ok") {
      const failed = new Set(
        shape.partialResponses
          ? ((outcome.value as SQSBatchResponse | undefined)?.batchItemFailures ?? []).map(
              (f) => f.itemIdentifier,
            )
          : [],
      );
      toDelete = batch.filter((m) => !failed.has(m.MessageId ?? ""));
    } else {
      log.warn(
        outcome.result === "timeout"
          ? "invocation ran past the function timeout and was abandoned; its messages return after the visibility timeout"
          : "invocation failed; its messages return after the visibility timeout",
        {
          function: name,
          messages: batch.length,
          ...(outcome.result === "error" ? { error: outcome.error } : {}),
        },
      );
    }
    await this.delete(toDelete);
    this.options.onInvocation?.({
      function: name,
      messageIds: batch.map((m) => m.MessageId ?? ""),
      receiveCounts: batch.map(receiveCountOf),
      result: outcome.result,
      deleted: toDelete.map((m) => m.MessageId ?? ""),
      bodies: batch.map((m) => m.Body ?? ""),
    });
  }

  private async delete(messages: readonly Message[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      await this.options.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: messages
            .slice(i, i + 10)
            .map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
  }
}

function receiveCountOf(message: Message): number {
  return Number.parseInt(message.Attributes?.ApproximateReceiveCount ?? "1", 10) || 1;
}

/** The record Lambda builds from a received message. */
function toRecord(message: Message, queueArn: string): SQSRecord {
  const a = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? "1",
      SentTimestamp: a.SentTimestamp ?? "0",
      SenderId: a.SenderId ?? "local",
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? "0",
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: queueArn.split(":")[3] ?? "us-east-1",
  };
}
