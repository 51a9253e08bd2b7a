/**
 * The raw bucket's event notifications → the ingest queue.
 *
 * Built from the plain resources rather than `Bucket.notify`: the queue policy SST writes
 * for a notification lets s3, sns and events send from ANY source, and this one admits only
 * our raw bucket in our account. The event names are still checked against SST's own list.
 */
import { workerConfig } from "./deployConfig.js";
import { ingestQueue } from "./queues.js";
import { rawBucket } from "./storage.js";

type SstNotification = $util.Unwrap<sst.aws.BucketNotificationsArgs["notifications"]>[number];
type S3NotificationEvent = NonNullable<SstNotification["events"]>[number];

/** New versions (incl. overwrites and multipart completions) and deletions: both change a partition. */
export const RAW_EVENTS = [
  "s3:ObjectCreated:*",
  "s3:ObjectRemoved:*",
] as const satisfies readonly S3NotificationEvent[];

/** Only raw files match: our own outputs (Parquet, staged files) can never trigger ingest. */
export const RAW_SUFFIX = ".txt.gz";

const account = aws.getCallerIdentityOutput();

const ingestQueuePolicy = new aws.sqs.QueuePolicy("IngestQueueS3Policy", {
  queueUrl: ingestQueue.url,
  policy: aws.iam.getPolicyDocumentOutput({
    statements: [
      {
        sid: "RawBucketNotifications",
        principals: [{ type: "Service", identifiers: ["s3.amazonaws.com"] }],
        actions: ["sqs:SendMessage"],
        resources: [ingestQueue.arn],
        conditions: [
          { test: "ArnEquals", variable: "aws:SourceArn", values: [rawBucket.arn] },
          { test: "StringEquals", variable: "aws:SourceAccount", values: [account.accountId] },
        ],
      },
    ],
  }).json,
});

/**
 * A bucket has ONE notification configuration: on an existing bucket this replaces whatever
 * was configured before (see docs/deploy.md). S3 sends a test event to the queue when it is
 * saved, which ingest acknowledges and ignores.
 */
export const rawNotification = new aws.s3.BucketNotification(
  "RawNotification",
  {
    bucket: rawBucket.name,
    queues: [
      {
        id: "compacter-ingest",
        queueArn: ingestQueue.arn,
        events: [...RAW_EVENTS],
        filterPrefix: workerConfig.rawPrefix === "" ? undefined : workerConfig.rawPrefix,
        filterSuffix: RAW_SUFFIX,
      },
    ],
  },
  // S3 checks that it may send to the queue when the configuration is saved.
  { dependsOn: [ingestQueuePolicy] },
);
