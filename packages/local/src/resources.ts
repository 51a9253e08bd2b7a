import { randomBytes } from "node:crypto";
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DescribeTableCommandOutput,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";
import {
  CreateBucketCommand,
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  type QueueConfiguration,
  type S3Client,
} from "@aws-sdk/client-s3";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { type CompacterConfig, loadConfig, MANIFEST_TABLE_SPEC, SETTINGS } from "@compacter/core";
import { LocalStackError } from "./errors.js";

/**
 * The resources Compacter runs on, created idempotently on an emulator (or any
 * endpoint): raw and lake buckets, the ingest queue and its DLQ, the compaction queue
 * and its DLQ, the manifest table with its indexes, and the raw bucket's notification
 * configuration (ObjectCreated/ObjectRemoved under the raw prefix, `.txt.gz` only, so
 * the lake never triggers us).
 */
export interface LocalResourceNames {
  readonly rawBucket: string;
  readonly rawPrefix: string;
  readonly lakeBucket: string;
  readonly manifestTable: string;
  readonly ingestQueue: string;
  readonly ingestDlq: string;
  readonly compactionQueue: string;
  readonly compactionDlq: string;
  readonly ingestMaxReceiveCount: number;
  readonly compactionMaxReceiveCount: number;
  readonly visibilityTimeoutSeconds: number;
}

export interface LocalResources {
  readonly names: LocalResourceNames;
  readonly rawBucket: string;
  readonly lakeBucket: string;
  readonly manifestTable: string;
  readonly ingestQueueUrl: string;
  readonly ingestQueueArn: string;
  readonly ingestDlqUrl: string;
  readonly compactionQueueUrl: string;
  readonly compactionDlqUrl: string;
}

/** Queue names have no setting (the settings hold URLs, which only exist once created). */
export const DEFAULT_QUEUE_NAMES = {
  ingestQueue: "compacter-ingest",
  ingestDlq: "compacter-ingest-dlq",
  compactionQueue: "compacter-compaction",
  compactionDlq: "compacter-compaction-dlq",
} as const;

/** Id of the raw bucket's notification configuration that feeds the ingest queue. */
export const INGEST_NOTIFICATION_ID = "compacter-ingest";
export const RAW_KEY_SUFFIX = ".txt.gz";

const DLQ_RETENTION_SECONDS = 14 * 24 * 3600;

/** Names from the settings (defaults: `compacter-raw`, `compacter-lake`, …), overridable. */
export function localResourceNames(
  config: CompacterConfig = loadConfig({ env: process.env }),
  overrides: Partial<LocalResourceNames> = {},
): LocalResourceNames {
  return {
    rawBucket: config.rawBucket,
    rawPrefix: config.rawPrefix,
    lakeBucket: config.lakeBucket,
    manifestTable: config.manifestTable,
    ...DEFAULT_QUEUE_NAMES,
    ingestMaxReceiveCount: config.ingestMaxReceiveCount,
    compactionMaxReceiveCount: config.compactionMaxReceiveCount,
    visibilityTimeoutSeconds: Math.max(1, Math.ceil(config.visibilityTimeoutMs / 1000)),
    ...overrides,
  };
}

/**
 * Names no other test file uses: `{label}-{random}-raw`, `…-lake`, … (bucket-safe:
 * lower case, at most 63 characters).
 */
export function uniqueResourceNames(
  label: string,
  overrides: Partial<LocalResourceNames> = {},
): LocalResourceNames {
  const slug =
    label
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 30) || "t";
  const base = `${slug}-${randomBytes(4).toString("hex")}`;
  return localResourceNames(loadConfig(), {
    rawBucket: `${base}-raw`,
    lakeBucket: `${base}-lake`,
    manifestTable: `${base}-manifest`,
    ingestQueue: `${base}-ingest`,
    ingestDlq: `${base}-ingest-dlq`,
    compactionQueue: `${base}-compaction`,
    compactionDlq: `${base}-compaction-dlq`,
    ...overrides,
  });
}

export interface ResourceClients {
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBClient;
}

export async function ensureLocalResources(
  clients: ResourceClients,
  names: LocalResourceNames,
): Promise<LocalResources> {
  const [ingest, compaction] = await Promise.all([
    ensureQueueWithDlq(clients.sqs, names.ingestQueue, names.ingestDlq, names.ingestMaxReceiveCount, names),
    ensureQueueWithDlq(
      clients.sqs,
      names.compactionQueue,
      names.compactionDlq,
      names.compactionMaxReceiveCount,
      names,
    ),
    ensureBucket(clients.s3, names.rawBucket),
    names.lakeBucket === names.rawBucket ? undefined : ensureBucket(clients.s3, names.lakeBucket),
    ensureManifestTable(clients.dynamodb, names.manifestTable),
  ]);
  await ensureIngestNotification(clients.s3, names, ingest.arn);
  return {
    names,
    rawBucket: names.rawBucket,
    lakeBucket: names.lakeBucket,
    manifestTable: names.manifestTable,
    ingestQueueUrl: ingest.url,
    ingestQueueArn: ingest.arn,
    ingestDlqUrl: ingest.dlqUrl,
    compactionQueueUrl: compaction.url,
    compactionDlqUrl: compaction.dlqUrl,
  };
}

/** The `COMPACTER_*` variables that point a process at these resources. */
export function resourceEnv(resources: LocalResources): Record<string, string> {
  return {
    [SETTINGS.rawBucket.env]: resources.rawBucket,
    [SETTINGS.rawPrefix.env]: resources.names.rawPrefix,
    [SETTINGS.lakeBucket.env]: resources.lakeBucket,
    [SETTINGS.manifestTable.env]: resources.manifestTable,
    [SETTINGS.ingestQueueUrl.env]: resources.ingestQueueUrl,
    [SETTINGS.ingestDlqUrl.env]: resources.ingestDlqUrl,
    [SETTINGS.compactionQueueUrl.env]: resources.compactionQueueUrl,
    [SETTINGS.compactionDlqUrl.env]: resources.compactionDlqUrl,
    [SETTINGS.ingestMaxReceiveCount.env]: String(resources.names.ingestMaxReceiveCount),
    [SETTINGS.compactionMaxReceiveCount.env]: String(resources.names.compactionMaxReceiveCount),
  };
}

/** The raw bucket's configuration that feeds the ingest queue. */
export function ingestNotificationConfiguration(
  names: LocalResourceNames,
  queueArn: string,
): QueueConfiguration {
  return {
    Id: INGEST_NOTIFICATION_ID,
    QueueArn: queueArn,
    Events: ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
    Filter: {
      Key: {
        FilterRules: [
          // S3 refuses an empty filter value: no prefix rule when raw files sit at the root.
          ...(names.rawPrefix ? [{ Name: "prefix" as const, Value: names.rawPrefix }] : []),
          { Name: "suffix" as const, Value: RAW_KEY_SUFFIX },
        ],
      },
    },
  };
}

async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if ((error as Error).name !== "BucketAlreadyOwnedByYou") throw error;
  }
}

interface QueuePair {
  readonly url: string;
  readonly arn: string;
  readonly dlqUrl: string;
}

/**
 * CreateQueue fails when an existing queue has different attributes, so queues are
 * created bare and their attributes set afterwards: a second run with another receive
 * count converges instead of failing.
 */
async function ensureQueueWithDlq(
  sqs: SQSClient,
  name: string,
  dlqName: string,
  maxReceiveCount: number,
  names: LocalResourceNames,
): Promise<QueuePair> {
  const dlq = await ensureQueue(sqs, dlqName, { MessageRetentionPeriod: String(DLQ_RETENTION_SECONDS) });
  const queue = await ensureQueue(sqs, name, {
    VisibilityTimeout: String(names.visibilityTimeoutSeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount }),
  });
  return { url: queue.url, arn: queue.arn, dlqUrl: dlq.url };
}

async function ensureQueue(
  sqs: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<{ url: string; arn: string }> {
  const created = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const url = created.QueueUrl;
  if (!url) throw new LocalStackError(`CreateQueue ${name} returned no QueueUrl`);
  await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributes }));
  const described = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }),
  );
  const arn = described.Attributes?.QueueArn;
  if (!arn) throw new LocalStackError(`queue ${url} has no QueueArn`);
  return { url, arn };
}

async function ensureManifestTable(dynamodb: DynamoDBClient, table: string): Promise<void> {
  let description = await describeTable(dynamodb, table);
  if (!description) {
    try {
      await dynamodb.send(new CreateTableCommand(manifestTableInput(table)));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    description = await waitUntilActive(dynamodb, table);
  }
  checkTableMatchesSpec(table, description);
}

export function manifestTableInput(table: string) {
  const spec = MANIFEST_TABLE_SPEC;
  return {
    TableName: table,
    BillingMode: "PAY_PER_REQUEST" as const,
    AttributeDefinitions: spec.attributes.map((name) => ({
      AttributeName: name,
      AttributeType: "S" as const,
    })),
    KeySchema: [
      { AttributeName: spec.hashKey, KeyType: "HASH" as const },
      { AttributeName: spec.rangeKey, KeyType: "RANGE" as const },
    ],
    GlobalSecondaryIndexes: spec.indexes.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.hashKey, KeyType: "HASH" as const },
        { AttributeName: index.rangeKey, KeyType: "RANGE" as const },
      ],
      Projection:
        index.projection === "all"
          ? { ProjectionType: "ALL" as const }
          : { ProjectionType: "INCLUDE" as const, NonKeyAttributes: [...index.projection] },
    })),
  };
}

async function describeTable(
  dynamodb: DynamoDBClient,
  table: string,
): Promise<DescribeTableCommandOutput["Table"] | undefined> {
  try {
    return (await dynamodb.send(new DescribeTableCommand({ TableName: table }))).Table;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

async function waitUntilActive(
  dynamodb: DynamoDBClient,
  table: string,
): Promise<NonNullable<DescribeTableCommandOutput["Table"]>> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const description = await describeTable(dynamodb, table);
    const active =
      description?.TableStatus === "ACTIVE" &&
      (description.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === "ACTIVE");
    if (description && active) return description;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new LocalStackError(`table ${table} did not become ACTIVE`, { retryable: true });
}

/**
 * A persisted local table (`--data-dir`) may predate a change of the table spec; fail
 * with the fix rather than let the manifest store hit a missing index later.
 */
function checkTableMatchesSpec(table: string, description: DescribeTableCommandOutput["Table"]): void {
  const wanted = manifestTableInput(table);
  const keys = (schema: readonly { AttributeName?: string; KeyType?: string }[] | undefined) =>
    (schema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(",");
  const indexes = (
    list: readonly { IndexName?: string; KeySchema?: { AttributeName?: string; KeyType?: string }[] }[],
  ) =>
    list
      .map((index) => `${index.IndexName}(${keys(index.KeySchema)})`)
      .sort()
      .join(" ");
  const same =
    keys(description?.KeySchema) === keys(wanted.KeySchema) &&
    indexes(description?.GlobalSecondaryIndexes ?? []) === indexes(wanted.GlobalSecondaryIndexes);
  if (!same) {
    throw new LocalStackError(
      `table ${table} exists with other keys or indexes than the manifest needs; delete it ` +
        `(aws dynamodb delete-table --table-name ${table}) or use another --manifest-table`,
    );
  }
}

async function ensureIngestNotification(
  s3: S3Client,
  names: LocalResourceNames,
  queueArn: string,
): Promise<void> {
  const wanted = ingestNotificationConfiguration(names, queueArn);
  const current = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: names.rawBucket }));
  const others = (current.QueueConfigurations ?? []).filter((config) => config.Id !== INGEST_NOTIFICATION_ID);
  const existing = (current.QueueConfigurations ?? []).find((config) => config.Id === INGEST_NOTIFICATION_ID);
  // Setting a configuration sends an s3:TestEvent; skip it when nothing would change.
  if (existing && sameQueueConfiguration(existing, wanted)) return;
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: names.rawBucket,
      NotificationConfiguration: {
        QueueConfigurations: [...others, wanted],
        ...(current.TopicConfigurations?.length ? { TopicConfigurations: current.TopicConfigurations } : {}),
        ...(current.LambdaFunctionConfigurations?.length
          ? { LambdaFunctionConfigurations: current.LambdaFunctionConfigurations }
          : {}),
      },
    }),
  );
}

function sameQueueConfiguration(a: QueueConfiguration, b: QueueConfiguration): boolean {
  const rules = (c: QueueConfiguration) =>
    (c.Filter?.Key?.FilterRules ?? [])
      .map((rule) => `${String(rule.Name).toLowerCase()}=${rule.Value}`)
      .sort()
      .join("&");
  return (
    a.QueueArn === b.QueueArn &&
    [...(a.Events ?? [])].sort().join() === [...(b.Events ?? [])].sort().join() &&
    rules(a) === rules(b)
  );
}
