import type { Message, SQSClient } from "@aws-sdk/client-sqs";
import {
  type CompactionDeps,
  type CompactionOutcome,
  decodeCompactionJob,
  type Metrics,
  noMetrics,
  partitionLabel,
} from "@compacter/core";
import { Consumer } from "sqs-consumer";
import type { DeadLetters } from "../ingest/DeadLetters.js";
import { abortableReceives } from "../ingest/IngestConsumer.js";
import { processCompactionJob } from "./processCompactionJob.js";

/**
 * The long-running compactor: `compactionConcurrency` loops, each taking one partition
 * job at a time from the compaction queue. A heartbeat keeps the message invisible for as
 * long as the compaction runs. The message is deleted once the partition is handled —
 * committed, nothing due, or busy (another worker holds the lease and will see the same
 * due work; the sweep re-sends a job if anything is left). A failure leaves it on the
 * queue: it comes back after the visibility timeout, and the redrive policy parks a
 * partition that keeps failing in the DLQ. The loops share an engine with as many slots
 * (createDuckDbEngine's `slots`), so a slow partition holds up one loop, not all.
 */
export interface CompactionConsumerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly deps: CompactionDeps;
  readonly deadLetters: DeadLetters;
  /** Each job publishes its metrics; its duration is measured against `compactionBudgetMs`. */
  readonly metrics?: Metrics;
  readonly onOutcome?: (outcome: CompactionOutcome) => void;
}

export class CompactionConsumer {
  private readonly loops: Consumer[] = [];
  private readonly drain = new AbortController();
  private stopped: Promise<void> | undefined;
  private readonly outcomes = { committed: 0, nothing: 0, busy: 0, conflict: 0, failed: 0, invalid: 0 };

  constructor(private readonly options: CompactionConsumerOptions) {
    const { config, log } = options.deps;
    const visibilityTimeout = Math.max(1, Math.ceil(config.visibilityTimeoutMs / 1000));
    const sqs = abortableReceives(options.sqs, this.drain.signal);
    for (let i = 0; i < config.compactionConcurrency; i++) {
      const consumer = Consumer.create({
        queueUrl: options.queueUrl,
        sqs,
        batchSize: 1,
        waitTimeSeconds: Math.min(20, Math.max(0, Math.round(config.pollWaitMs / 1000))),
        visibilityTimeout,
        // The receive count tells the last receive (the job then leaves for the DLQ) from the others.
        messageSystemAttributeNames: ["ApproximateReceiveCount"],
        ...(visibilityTimeout >= 3 ? { heartbeatInterval: Math.floor(visibilityTimeout / 3) } : {}),
        pollingCompleteWaitTimeMs: config.visibilityTimeoutMs,
        handleMessage: (message) => this.handle(message),
      });
      consumer.on("error", (error, messages) => {
        if (this.drain.signal.aborted && messages === undefined) return; // the cancelled long poll
        log.warn("compaction queue error", { error, queueUrl: options.queueUrl });
      });
      consumer.on("processing_error", (error, message) => {
        this.outcomes.failed += 1;
        log.error("compaction failed; the job will be retried after its visibility timeout", {
          partition: partitionOf(message),
          messageId: messageOf(message)?.MessageId,
          error,
        });
      });
      this.loops.push(consumer);
    }
  }

  start(): void {
    for (const loop of this.loops) loop.start();
    this.options.deps.log.info("compaction consumer started", { loops: this.loops.length });
  }

  /** Stops polling; a compaction in hand gets up to the visibility timeout to finish. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      const stopped = this.loops
        .filter((loop) => loop.status.isRunning)
        .map((loop) => new Promise<void>((resolve) => loop.once("stopped", () => resolve())));
      for (const loop of this.loops) loop.stop();
      this.drain.abort();
      await Promise.all(stopped);
    })();
    return this.stopped;
  }

  stats(): Readonly<typeof this.outcomes> {
    return { ...this.outcomes };
  }

  private async handle(message: Message): Promise<Message> {
    const { deps, deadLetters } = this.options;
    const disposition = await processCompactionJob(
      {
        messageId: message.MessageId ?? "",
        body: message.Body ?? "",
        receiveCount: Number.parseInt(message.Attributes?.ApproximateReceiveCount ?? "1", 10) || 1,
      },
      {
        deps,
        deadLetters,
        observe: { metrics: this.options.metrics ?? noMetrics, budgetMs: deps.config.compactionBudgetMs },
      },
    );
    // Left on the queue (processing_error counts and logs it): SQS redelivers it.
    if (disposition.status === "retry") throw disposition.error;
    if (disposition.status === "deadLettered") {
      if (disposition.invalid) this.outcomes.invalid += 1;
      else this.outcomes.failed += 1;
    }
    if (disposition.status === "done") {
      this.outcomes[disposition.outcome.status] += 1;
      this.options.onOutcome?.(disposition.outcome);
    }
    return message; // done, dead-lettered, or (not in this runtime: it hands nothing over) handed over
  }
}

/** sqs-consumer passes the failed message (or, for a batch, the messages) with the error. */
function messageOf(message: Message | Message[] | undefined): Message | undefined {
  return Array.isArray(message) ? message[0] : message;
}

/** "day/district" of a job message, for the log line of its failure; undefined if it is not a job. */
function partitionOf(message: Message | Message[] | undefined): string | undefined {
  try {
    return partitionLabel(decodeCompactionJob(messageOf(message)?.Body ?? "").partition);
  } catch {
    return undefined;
  }
}
