import {
  ChangeMessageVisibilityBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { IngestDeps, IngestOutcome, Metrics } from "@compacter/core";
import { Consumer } from "sqs-consumer";
import type { DeadLetters } from "./DeadLetters.js";
import { type MessageDisposition, processIngestMessages } from "./processIngestMessages.js";

/**
 * The long-running ingest consumer (`compacter run`, a container, a laptop): `concurrency`
 * receive loops (sqs-consumer `Consumer`s sharing one SQS client), each long-polling for
 * batches of 10. While a batch is processed a heartbeat keeps it invisible; a message that
 * fails retryably is made visible again after an exponential backoff instead of a full
 * visibility timeout; a loop whose receives fail (or whose whole batch failed) backs off
 * before polling again. `stop()` drains: no new receives, the batches in hand finish and
 * are deleted, an idle long poll is cancelled.
 */
export interface IngestConsumerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  /** Store, config, log: what the core's ingest needs. */
  readonly ingest: IngestDeps & {
    readonly config: IngestDeps["config"] & {
      readonly ingestConcurrency: number;
      readonly visibilityTimeoutMs: number;
      readonly pollWaitMs: number;
    };
  };
  readonly deadLetters: DeadLetters;
  readonly metrics?: Metrics;
  /** Called after each batch (progress, tests). */
  readonly onBatch?: (dispositions: readonly MessageDisposition[]) => void;
}

export interface IngestConsumerStats {
  readonly messages: number;
  readonly done: number;
  readonly deadLettered: number;
  readonly retried: number;
  /** Record outcomes of the messages done. */
  readonly records: Readonly<Partial<Record<IngestOutcome | "test", number>>>;
}

const MAX_BATCH = 10;
const MAX_LOOP_BACKOFF_MS = 30_000;
const FIRST_LOOP_BACKOFF_MS = 500;

export class IngestConsumer {
  private readonly loops: Consumer[] = [];
  private readonly drain = new AbortController();
  private draining = false;
  private stopped: Promise<void> | undefined;
  private readonly finished: Promise<void>;
  private markFinished: () => void = () => {};
  private readonly counts = {
    messages: 0,
    done: 0,
    deadLettered: 0,
    retried: 0,
    records: {} as Partial<Record<IngestOutcome | "test", number>>,
  };

  constructor(private readonly options: IngestConsumerOptions) {
    this.finished = new Promise((resolve) => {
      this.markFinished = resolve;
    });
    const { config } = options.ingest;
    const visibilityTimeout = Math.max(1, Math.ceil(config.visibilityTimeoutMs / 1000));
    const heartbeatInterval = Math.floor(visibilityTimeout / 3);
    const sqs = abortableReceives(options.sqs, this.drain.signal);
    for (let i = 0; i < config.ingestConcurrency; i++) {
      const log = options.ingest.log.child({ loop: i });
      let backoffMs = 0;
      const consumer: Consumer = Consumer.create({
        queueUrl: options.queueUrl,
        sqs,
        batchSize: MAX_BATCH,
        waitTimeSeconds: Math.min(20, Math.max(0, Math.round(config.pollWaitMs / 1000))),
        visibilityTimeout,
        ...(heartbeatInterval >= 1 ? { heartbeatInterval } : {}),
        messageSystemAttributeNames: ["ApproximateReceiveCount"],
        // stop() waits this long for the batch in hand before giving up on it (it then
        // reappears after its visibility timeout: at-least-once, and ingest is idempotent).
        pollingCompleteWaitTimeMs: config.visibilityTimeoutMs,
        handleMessageBatch: async (messages) => {
          const dispositions = await this.handleBatch(messages);
          const acked = new Set(dispositions.filter((d) => d.status !== "retry").map((d) => d.messageId));
          // Back the loop off only when nothing in the batch could be processed: the
          // store (or the network) is down, and polling harder would not help.
          backoffMs = acked.size === 0 ? nextBackoff(backoffMs) : 0;
          consumer.updateOption("pollingWaitTimeMs", backoffMs);
          return messages.filter((m) => m.MessageId !== undefined && acked.has(m.MessageId));
        },
      });
      consumer.on("empty", () => {
        if (backoffMs === 0) return;
        backoffMs = 0;
        consumer.updateOption("pollingWaitTimeMs", 0);
      });
      consumer.on("error", (error, messages) => {
        if (this.draining && messages === undefined) return; // the cancelled long poll
        backoffMs = nextBackoff(backoffMs);
        if (!this.draining) consumer.updateOption("pollingWaitTimeMs", backoffMs);
        log.warn("ingest queue error; backing off", { error, backoffMs, queueUrl: options.queueUrl });
      });
      this.loops.push(consumer);
    }
  }

  start(): void {
    if (this.draining) throw new Error("an ingest consumer cannot be restarted after stop()");
    this.options.ingest.log.info("ingest consumer started", {
      queueUrl: this.options.queueUrl,
      loops: this.loops.length,
    });
    for (const loop of this.loops) loop.start();
  }

  /** Graceful drain; resolves once every loop has stopped. Safe to call more than once. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.draining = true;
      // A loop that never started emits no "stopped".
      const stopped = this.loops
        .filter((loop) => loop.status.isRunning)
        .map((loop) => new Promise<void>((resolve) => loop.once("stopped", () => resolve())));
      for (const loop of this.loops) loop.stop();
      // Loops that are only waiting on a long poll have nothing in hand: cancel the poll.
      this.drain.abort();
      await Promise.all(stopped);
      this.options.ingest.log.info("ingest consumer stopped", { ...this.stats() });
      this.markFinished();
    })();
    return this.stopped;
  }

  /** Resolves when the consumer has stopped and drained, whoever stopped it. */
  whenStopped(): Promise<void> {
    return this.finished;
  }

  /**
   * Drains on the first of these signals (ECS and Kubernetes send SIGTERM before killing
   * a task; Ctrl-C is SIGINT). Returns a function that removes the handlers.
   */
  stopOnSignals(signals: readonly NodeJS.Signals[] = ["SIGTERM", "SIGINT"]): () => void {
    const onSignal = (signal: NodeJS.Signals) => {
      this.options.ingest.log.info("draining the ingest consumer", { signal });
      void this.stop();
    };
    for (const signal of signals) process.once(signal, onSignal);
    return () => {
      for (const signal of signals) process.off(signal, onSignal);
    };
  }

  stats(): IngestConsumerStats {
    return { ...this.counts, records: { ...this.counts.records } };
  }

  private async handleBatch(messages: Message[]): Promise<MessageDisposition[]> {
    const dispositions = await processIngestMessages(
      messages.map((m) => ({ messageId: m.MessageId ?? "", body: m.Body ?? "" })),
      {
        ...this.options.ingest,
        deadLetters: this.options.deadLetters,
        ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
      },
    );
    this.count(dispositions);
    await this.backOffRetries(messages, dispositions);
    this.options.onBatch?.(dispositions);
    return dispositions;
  }

  /**
   * A retryable failure comes back after 2^receiveCount seconds (capped by the visibility
   * timeout) rather than the full timeout: a throttled table recovers in seconds.
   */
  private async backOffRetries(messages: readonly Message[], dispositions: readonly MessageDisposition[]) {
    const retry = new Set(dispositions.filter((d) => d.status === "retry").map((d) => d.messageId));
    const entries = messages
      .filter((m) => m.MessageId !== undefined && retry.has(m.MessageId) && m.ReceiptHandle)
      .map((m) => ({
        Id: m.MessageId as string,
        ReceiptHandle: m.ReceiptHandle as string,
        VisibilityTimeout: retryDelaySeconds(
          Number(m.Attributes?.ApproximateReceiveCount ?? 1),
          this.options.ingest.config.visibilityTimeoutMs,
        ),
      }));
    if (entries.length === 0) return;
    try {
      await this.options.sqs.send(
        new ChangeMessageVisibilityBatchCommand({ QueueUrl: this.options.queueUrl, Entries: entries }),
      );
    } catch (error) {
      // The messages still come back, after the full visibility timeout.
      this.options.ingest.log.warn("could not shorten the visibility of failed messages", { error });
    }
  }

  private count(dispositions: readonly MessageDisposition[]): void {
    const c = this.counts;
    for (const d of dispositions) {
      c.messages += 1;
      if (d.status === "done") {
        c.done += 1;
        if (d.result.test) c.records.test = (c.records.test ?? 0) + 1;
        for (const r of d.result.records) c.records[r.outcome] = (c.records[r.outcome] ?? 0) + 1;
      } else if (d.status === "deadLettered") c.deadLettered += 1;
      else c.retried += 1;
    }
  }
}

export function retryDelaySeconds(receiveCount: number, visibilityTimeoutMs: number): number {
  const cap = Math.max(1, Math.ceil(visibilityTimeoutMs / 1000));
  return Math.min(cap, 2 ** Math.min(Math.max(1, receiveCount), 12));
}

function nextBackoff(current: number): number {
  return current === 0 ? FIRST_LOOP_BACKOFF_MS : Math.min(MAX_LOOP_BACKOFF_MS, current * 2);
}

/**
 * sqs-consumer's own abort (stop({ abort: true })) also cancels the deletes of a batch
 * that was just processed. This client cancels only ReceiveMessage calls when `signal`
 * fires, so a drain ends idle long polls at once and still deletes what was done.
 */
export function abortableReceives(sqs: SQSClient, signal: AbortSignal): SQSClient {
  return new Proxy(sqs, {
    get(target, property, receiver) {
      if (property !== "send") return Reflect.get(target, property, receiver);
      return (command: unknown, options?: { abortSignal?: AbortSignal }) => {
        if (!(command instanceof ReceiveMessageCommand)) {
          return (target.send as (c: unknown, o?: unknown) => Promise<unknown>)(command, options);
        }
        const signals = options?.abortSignal ? [options.abortSignal, signal] : [signal];
        return target.send(command, { ...options, abortSignal: AbortSignal.any(signals) });
      };
    },
  });
}
