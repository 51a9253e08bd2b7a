/**
 * The three Lambda roles. Each links only what it touches:
 *   ingest     manifest table, ingest DLQ (a message that can never be valid is moved there)
 *   sweep      manifest table, compaction queue, lake bucket (orphan cleanup)
 *   compactor  manifest table, raw bucket (read only), lake bucket, compaction DLQ (an invalid job is
 *              moved there) (+ the Fargate task, if any)
 * Receiving from and deleting on a subscribed queue is granted by the subscription itself.
 *
 * Concurrency is capped on the event source mappings (`maximumConcurrency`), not with
 * reserved concurrency: reserved concurrency throttles invocations the poller already took
 * off the queue (they come back as extra receives, then land in the DLQ), and it cannot be
 * set at all in accounts that still have the default limit of 10.
 */
import { SETTINGS } from "../packages/core/src/config/settings.js";
import { catalogLink } from "./catalog.js";
import { stage } from "./deployConfig.js";
import { workerEnvironment } from "./environment.js";
import { compactorTask } from "./fargate.js";
import { manifestTable } from "./manifest.js";
import { compactionDlq, compactionQueue, ingestDlq, ingestQueue } from "./queues.js";
import {
  COMPACTION_QUEUE_VISIBILITY_SECONDS,
  COMPACTOR,
  COMPACTOR_NODEJS_INSTALL,
  INGEST,
  LAMBDA_ARCHITECTURE,
  LAMBDA_RUNTIME,
  SWEEP,
} from "./sizing.js";
import { lakeBucketLink, rawBucketLink } from "./storage.js";

/** Lambda's only writable directory. */
const LAMBDA_TEMP_DIR = "/tmp";

/**
 * The compaction queue's visibility as the sweep and the compactor must know it: a failed
 * job comes back after it, and the sweep's queued mark lasts maxReceiveCount times it.
 */
const compactionQueueTiming = {
  [SETTINGS.visibilityTimeoutMs.env]: `${COMPACTION_QUEUE_VISIBILITY_SECONDS}s`,
};

export const ingestSubscriber = ingestQueue.subscribe(
  {
    handler: "packages/functions/src/ingest.handler",
    runtime: LAMBDA_RUNTIME,
    architecture: LAMBDA_ARCHITECTURE,
    timeout: `${INGEST.timeoutSeconds} seconds`,
    memory: `${INGEST.memoryMb} MB`,
    link: [manifestTable, ingestDlq],
    environment: workerEnvironment({ [SETTINGS.tempDir.env]: LAMBDA_TEMP_DIR }),
  },
  {
    batch: {
      size: INGEST.batchSize,
      window: `${INGEST.batchWindowSeconds} seconds`,
      partialResponses: INGEST.partialResponses,
    },
    transform: {
      eventSourceMapping: { scalingConfig: { maximumConcurrency: stage.ingestMaxConcurrency } },
    },
  },
);

export const sweepFunction = new sst.aws.Function("Sweep", {
  handler: "packages/functions/src/sweep.handler",
  runtime: LAMBDA_RUNTIME,
  architecture: LAMBDA_ARCHITECTURE,
  timeout: `${SWEEP.timeoutSeconds} seconds`,
  memory: `${SWEEP.memoryMb} MB`,
  link: [manifestTable, compactionQueue, lakeBucketLink],
  environment: workerEnvironment({ [SETTINGS.tempDir.env]: LAMBDA_TEMP_DIR, ...compactionQueueTiming }),
});

const duckdbMemoryMiB = Math.floor(stage.compactorMemoryMb * COMPACTOR.duckdbMemoryShare);

export const compactorSubscriber = compactionQueue.subscribe(
  {
    handler: "packages/functions/src/compactor.handler",
    runtime: LAMBDA_RUNTIME,
    architecture: LAMBDA_ARCHITECTURE,
    timeout: `${COMPACTOR.timeoutSeconds} seconds`,
    memory: `${stage.compactorMemoryMb} MB`,
    storage: `${COMPACTOR.storageMb} MB`,
    nodejs: { install: { ...COMPACTOR_NODEJS_INSTALL } },
    link: [
      manifestTable,
      rawBucketLink,
      lakeBucketLink,
      compactionDlq,
      catalogLink,
      ...(compactorTask ? [compactorTask] : []),
    ],
    environment: workerEnvironment({
      [SETTINGS.tempDir.env]: LAMBDA_TEMP_DIR,
      [SETTINGS.memoryLimitBytes.env]: `${duckdbMemoryMiB}MiB`,
      ...compactionQueueTiming,
    }),
  },
  {
    // partialResponses: without ReportBatchItemFailures Lambda treats the returned
    // batchItemFailures as success and deletes a failed job, so it never reaches the DLQ.
    batch: { size: COMPACTOR.batchSize, partialResponses: COMPACTOR.partialResponses },
    transform: {
      eventSourceMapping: { scalingConfig: { maximumConcurrency: stage.compactorMaxConcurrency } },
    },
  },
);
