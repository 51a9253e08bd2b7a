import { GetQueueAttributesCommand, SetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import {
  COMPACTOR_SHAPE,
  type CompacterConfig,
  INGEST_SHAPE,
  type Logger,
  type QueueFunctionShape,
  queueVisibilitySeconds,
  SETTINGS,
  SWEEP_SHAPE,
  sweepScheduleMinutes,
} from "@compacter/core";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { LOCAL_TASK_CLUSTER } from "../taskLauncher.js";
import { EventSourceMapping, type SqsInvocation } from "./EventSourceMapping.js";
import { type ScheduledInvocation, ScheduledInvoker } from "./ScheduledInvoker.js";

/**
 * The deployed Lambda shape on the local stack (`compacter dev --runtime lambda`, and
 * tests): the three handlers of @compacter/functions, invoked as AWS invokes them —
 * an event source mapping per queue (batch size, batching window, partial batch
 * responses), the sweep on its schedule with EventBridge's asynchronous retries, every
 * invocation abandoned at its function timeout, and the queues' visibility timeouts set
 * to what the deploy sets. Every number comes from @compacter/core's lambdaShape.ts (what
 * infra/ deploys) and the settings (maxReceiveCount); a TimeScale shrinks the durations
 * so a local run takes seconds, not hours, and keeps their ratios.
 */
export interface DeployedHandlers {
  readonly ingest: (event: SQSEvent) => Promise<SQSBatchResponse>;
  readonly compactor: (event: SQSEvent) => Promise<SQSBatchResponse>;
  readonly sweep: (event?: unknown) => Promise<unknown>;
  /** Releases what the handlers' containers hold (clients, DuckDB), so the process can end. */
  readonly close: () => Promise<void>;
}

export interface LambdaRunnerOptions {
  readonly sqs: SQSClient;
  readonly config: CompacterConfig;
  readonly handlers: DeployedHandlers;
  /** Default: as deployed. */
  readonly timeScale?: TimeScale;
  /** Pollers per queue (the mappings' maximum concurrency). Default ingest 2, compactor 1. */
  readonly concurrency?: { readonly ingest?: number; readonly compactor?: number };
  readonly log: Logger;
  readonly onInvocation?: (invocation: SqsInvocation | ScheduledInvocation) => void;
}

/** How local time relates to the deployed shape's. */
export interface TimeScale {
  /** Multiplies every duration of the shape (timeouts, windows, the schedule). 1: as deployed. */
  readonly factor: number;
  /**
   * No timeout or schedule period below this: work that takes a second locally must not
   * time out because the scale made a 60 s timeout 60 ms. Visibility timeouts follow the
   * resulting timeouts by the deployed rule (6 × timeout + window), so ratios hold.
   */
  readonly floorMs: number;
}

export const AS_DEPLOYED: TimeScale = { factor: 1, floorMs: 0 };

/** The deployed shape's durations at a time scale, in ms (visibility in whole seconds, as SQS takes it). */
export function scaledShape(config: CompacterConfig, scale: TimeScale) {
  const ms = (seconds: number) => Math.max(scale.floorMs, seconds * 1000 * scale.factor);
  const queue = (shape: QueueFunctionShape) => {
    const timeoutMs = ms(shape.timeoutSeconds);
    const batchWindowMs = shape.batchWindowSeconds * 1000 * scale.factor;
    return {
      shape,
      timeoutMs,
      batchWindowMs,
      visibilityTimeoutSeconds: Math.max(
        1,
        Math.ceil(queueVisibilitySeconds(timeoutMs / 1000, batchWindowMs / 1000)),
      ),
    };
  };
  const minuteMs = ms(60);
  return {
    ingest: queue(INGEST_SHAPE),
    compactor: queue(COMPACTOR_SHAPE),
    sweep: {
      everyMs: sweepScheduleMinutes(config.sweepIntervalMs) * minuteMs,
      timeoutMs: ms(SWEEP_SHAPE.timeoutSeconds),
      retries: SWEEP_SHAPE.asyncRetries,
      retryDelayMs: minuteMs,
    },
  };
}

/**
 * What a deployed function's environment holds: the settings, the resources as
 * `SST_RESOURCE_*` links, and the compaction queue's (scaled) visibility, as
 * infra/functions.ts sets it.
 */
export function functionEnvironment(
  config: CompacterConfig,
  settingsEnv: Readonly<Record<string, string>>,
  timeScale: TimeScale,
): Record<string, string> {
  const link = (value: Record<string, string>) => JSON.stringify(value);
  const scaled = scaledShape(config, timeScale);
  return {
    ...settingsEnv,
    [SETTINGS.visibilityTimeoutMs.env]: `${scaled.compactor.visibilityTimeoutSeconds}s`,
    SST_RESOURCE_App: link({ name: "compacter", stage: "local" }),
    SST_RESOURCE_ManifestTable: link({ name: config.manifestTable }),
    SST_RESOURCE_RawBucket: link({ name: config.rawBucket }),
    SST_RESOURCE_LakeBucket: link({ name: config.lakeBucket }),
    SST_RESOURCE_CompactionQueue: link({ url: config.compactionQueueUrl }),
    SST_RESOURCE_IngestDlq: link({ url: config.ingestDlqUrl }),
    SST_RESOURCE_CompactionDlq: link({ url: config.compactionDlqUrl }),
    // The Fargate task, locally: a child process running `compacter compact` (taskLauncher.ts).
    SST_RESOURCE_CompactorTask: JSON.stringify({
      cluster: LOCAL_TASK_CLUSTER,
      taskDefinition: "compacter compact",
      subnets: [],
      securityGroups: [],
      assignPublicIp: false,
      containers: ["compactor"],
    }),
  };
}

/**
 * The handlers exactly as Lambda loads them (their `handler` exports, which read SST's
 * `Resource` and COMPACTER_* from the environment on their first event). Sets `env` on
 * this process first: one process stands in for the three functions' containers.
 */
export async function loadDeployedHandlers(env: Readonly<Record<string, string>>): Promise<DeployedHandlers> {
  Object.assign(process.env, env);
  const [ingest, compactor, sweep] = await Promise.all([
    import("../ingest.js"),
    import("../compactor.js"),
    import("../sweep.js"),
  ]);
  return {
    ingest: ingest.handler,
    compactor: compactor.handler,
    sweep: sweep.handler,
    close: async () => {
      await Promise.all([ingest.closeContainer(), compactor.closeContainer(), sweep.closeContainer()]);
    },
  };
}

export class LambdaRunner {
  private readonly parts: { start(): void; stop(): Promise<void> }[] = [];
  private started = false;

  constructor(private readonly options: LambdaRunnerOptions) {}

  /** Sets the queues' visibility timeouts to the deployed (scaled) values, then starts polling and the schedule. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { sqs, config, handlers, log, onInvocation } = this.options;
    const timeScale = this.options.timeScale ?? AS_DEPLOYED;
    const scaled = scaledShape(config, timeScale);
    const mapping = async (
      name: string,
      queueUrl: string,
      shaped: ReturnType<typeof scaledShape>["ingest"],
      concurrency: number,
      invoke: (event: SQSEvent) => Promise<unknown>,
    ) => {
      await sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: queueUrl,
          Attributes: { VisibilityTimeout: String(shaped.visibilityTimeoutSeconds) },
        }),
      );
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
      );
      return new EventSourceMapping({
        name,
        sqs,
        queueUrl,
        queueArn: Attributes.QueueArn ?? queueUrl,
        shape: shaped.shape,
        timeoutMs: shaped.timeoutMs,
        batchWindowMs: shaped.batchWindowMs,
        concurrency,
        invoke,
        log,
        ...(onInvocation ? { onInvocation } : {}),
      });
    };
    this.parts.push(
      await mapping(
        "ingest",
        config.ingestQueueUrl,
        scaled.ingest,
        this.options.concurrency?.ingest ?? 2,
        (e) => handlers.ingest(e),
      ),
      await mapping(
        "compactor",
        config.compactionQueueUrl,
        scaled.compactor,
        this.options.concurrency?.compactor ?? 1,
        (e) => handlers.compactor(e),
      ),
      new ScheduledInvoker({
        name: "sweep",
        ...scaled.sweep,
        invoke: (event) => handlers.sweep(event),
        log,
        ...(onInvocation ? { onInvocation } : {}),
      }),
    );
    for (const part of this.parts) part.start();
    log.info("lambda runtime started", {
      timeScale: timeScale.factor,
      compactorTimeoutMs: scaled.compactor.timeoutMs,
      compactionVisibilitySeconds: scaled.compactor.visibilityTimeoutSeconds,
      sweepEveryMs: scaled.sweep.everyMs,
    });
  }

  /** Stops polling and the schedule; invocations in hand finish; then the containers are closed. */
  async stop(): Promise<void> {
    await Promise.all(this.parts.map((part) => part.stop()));
    await this.options.handlers.close();
  }
}
