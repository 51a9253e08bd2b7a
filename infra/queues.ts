/**
 * The ingest queue (S3 event notifications) and the compaction queue (one job per due
 * partition), each with a dead-letter queue.
 *
 * Encryption is SQS-managed (SSE-SQS), not KMS: S3 cannot deliver notifications to a queue
 * encrypted with the AWS-managed KMS key, and a customer key would need a key policy for S3.
 */
import { workerConfig } from "./deployConfig.js";
import {
  COMPACTION_QUEUE_VISIBILITY_SECONDS,
  DLQ_RETENTION_SECONDS,
  INGEST_QUEUE_VISIBILITY_SECONDS,
  QUEUE_RETENTION_SECONDS,
} from "./sizing.js";

export const ingestDlq = new sst.aws.Queue("IngestDlq", {
  transform: {
    queue: { sqsManagedSseEnabled: true, messageRetentionSeconds: DLQ_RETENTION_SECONDS },
  },
});

export const ingestQueue = new sst.aws.Queue("IngestQueue", {
  visibilityTimeout: `${INGEST_QUEUE_VISIBILITY_SECONDS} seconds`,
  dlq: { queue: ingestDlq.arn, retry: workerConfig.ingestMaxReceiveCount },
  transform: {
    queue: { sqsManagedSseEnabled: true, messageRetentionSeconds: QUEUE_RETENTION_SECONDS },
  },
});

export const compactionDlq = new sst.aws.Queue("CompactionDlq", {
  transform: {
    queue: { sqsManagedSseEnabled: true, messageRetentionSeconds: DLQ_RETENTION_SECONDS },
  },
});

export const compactionQueue = new sst.aws.Queue("CompactionQueue", {
  visibilityTimeout: `${COMPACTION_QUEUE_VISIBILITY_SECONDS} seconds`,
  dlq: { queue: compactionDlq.arn, retry: workerConfig.compactionMaxReceiveCount },
  transform: {
    queue: { sqsManagedSseEnabled: true, messageRetentionSeconds: QUEUE_RETENTION_SECONDS },
  },
});
