import { DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import {
  GetBucketNotificationConfigurationCommand,
  ListBucketsCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
} from "@aws-sdk/client-sqs";
import { MANIFEST_TABLE_SPEC } from "@compacter/core";
import { ensureLocalResources, type LocalResources, uniqueResourceNames } from "@compacter/local";
import { beforeAll, describe, expect, it } from "vitest";
import { useLocalStack } from "../../helpers/localStack.js";

const stack = useLocalStack();
const { s3, sqs, dynamodb } = stack.clients;

describe("ensureLocalResources", () => {
  const names = uniqueResourceNames("resources", { rawPrefix: "raw/", ingestMaxReceiveCount: 2 });
  let first: LocalResources;

  beforeAll(async () => {
    first = await ensureLocalResources(stack.clients, names);
  });

  it("creates the buckets, the queues with their DLQs and the manifest table with its indexes", async () => {
    const { Buckets = [] } = await s3.send(new ListBucketsCommand({}));
    expect(Buckets.map((b) => b.Name)).toEqual(expect.arrayContaining([names.rawBucket, names.lakeBucket]));

    const ingest = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: first.ingestQueueUrl,
        AttributeNames: ["RedrivePolicy", "VisibilityTimeout"],
      }),
    );
    const dlqArn = (
      await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: first.ingestDlqUrl, AttributeNames: ["QueueArn"] }),
      )
    ).Attributes?.QueueArn;
    expect(JSON.parse(ingest.Attributes?.RedrivePolicy ?? "{}")).toEqual({
      deadLetterTargetArn: dlqArn,
      maxReceiveCount: 2,
    });
    expect(ingest.Attributes?.VisibilityTimeout).toBe("60");
    const compaction = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: first.compactionQueueUrl,
        AttributeNames: ["RedrivePolicy"],
      }),
    );
    expect(JSON.parse(compaction.Attributes?.RedrivePolicy ?? "{}")).toMatchObject({ maxReceiveCount: 3 });

    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: names.manifestTable }));
    expect(Table?.BillingModeSummary?.BillingMode).toBe("PAY_PER_REQUEST");
    expect(Table?.KeySchema).toEqual([
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ]);
    const indexes = Object.fromEntries((Table?.GlobalSecondaryIndexes ?? []).map((i) => [i.IndexName, i]));
    for (const spec of MANIFEST_TABLE_SPEC.indexes) {
      expect(indexes[spec.name]?.KeySchema).toEqual([
        { AttributeName: spec.hashKey, KeyType: "HASH" },
        { AttributeName: spec.rangeKey, KeyType: "RANGE" },
      ]);
      expect(indexes[spec.name]?.Projection).toEqual(
        spec.projection === "all"
          ? { ProjectionType: "ALL" }
          : { ProjectionType: "INCLUDE", NonKeyAttributes: [...spec.projection] },
      );
    }
  });

  it("points the raw bucket's notifications at the ingest queue for raw files only", async () => {
    const { QueueConfigurations } = await s3.send(
      new GetBucketNotificationConfigurationCommand({ Bucket: names.rawBucket }),
    );
    expect(QueueConfigurations).toEqual([
      {
        Id: "compacter-ingest",
        QueueArn: first.ingestQueueArn,
        Events: ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
        Filter: {
          Key: {
            FilterRules: [
              { Name: "Prefix", Value: "raw/" },
              { Name: "Suffix", Value: ".txt.gz" },
            ],
          },
        },
      },
    ]);
    await stack.drainQueue(first.ingestQueueUrl);
    await s3.send(new PutObjectCommand({ Bucket: names.lakeBucket, Key: "raw/lake.txt.gz", Body: "x" }));
    await s3.send(new PutObjectCommand({ Bucket: names.rawBucket, Key: "raw/out.parquet", Body: "x" }));
    await s3.send(new PutObjectCommand({ Bucket: names.rawBucket, Key: "_staging/x.txt.gz", Body: "x" }));
    expect(await stack.drainQueue(first.ingestQueueUrl)).toEqual([]);
    await s3.send(new PutObjectCommand({ Bucket: names.rawBucket, Key: "raw/in.txt.gz", Body: "x" }));
    expect(await stack.drainQueue(first.ingestQueueUrl)).toHaveLength(1);
  });

  it("is idempotent: a second run returns the same resources and changes nothing", async () => {
    await stack.drainQueue(first.ingestQueueUrl);
    const { QueueUrls: before = [] } = await sqs.send(
      new ListQueuesCommand({ QueueNamePrefix: names.ingestQueue.slice(0, -7) }),
    );
    const second = await ensureLocalResources(stack.clients, names);
    expect(second).toEqual(first);
    const { QueueUrls: after = [] } = await sqs.send(
      new ListQueuesCommand({ QueueNamePrefix: names.ingestQueue.slice(0, -7) }),
    );
    expect(after.sort()).toEqual(before.sort());
    // an unchanged notification configuration is not set again, so no new s3:TestEvent
    expect(await stack.drainQueue(first.ingestQueueUrl)).toEqual([]);
  });

  it("converges a changed receive count instead of failing", async () => {
    const changed = await ensureLocalResources(stack.clients, { ...names, ingestMaxReceiveCount: 4 });
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: changed.ingestQueueUrl, AttributeNames: ["RedrivePolicy"] }),
    );
    expect(JSON.parse(Attributes?.RedrivePolicy ?? "{}").maxReceiveCount).toBe(4);
    await ensureLocalResources(stack.clients, names);
  });
});

describe("the ingest dead-letter queue", () => {
  it("receives a message once it was received ingestMaxReceiveCount times", async () => {
    const resources = await stack.createResources("dlq", { ingestMaxReceiveCount: 2 });
    await stack.drainQueue(resources.ingestQueueUrl);
    await s3.send(new PutObjectCommand({ Bucket: resources.rawBucket, Key: "poison.txt.gz", Body: "x" }));

    const receiveAndFail = async () => {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: resources.ingestQueueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
        }),
      );
      // a consumer that fails makes the message visible again at once
      for (const message of Messages) {
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: resources.ingestQueueUrl,
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 0,
          }),
        );
      }
      return Messages.length;
    };
    expect(await receiveAndFail()).toBe(1);
    expect(await stack.drainQueue(resources.ingestDlqUrl)).toEqual([]);
    expect(await receiveAndFail()).toBe(1);
    expect(await receiveAndFail()).toBe(0); // the third receive moves it instead

    const dead = await stack.drainQueue(resources.ingestDlqUrl);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toContain('"key":"poison.txt.gz"');
  });
});
