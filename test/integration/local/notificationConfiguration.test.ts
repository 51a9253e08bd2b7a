import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  type QueueConfiguration,
} from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import type { S3EventMessage, S3TestEvent } from "@compacter/local";
import { beforeAll, describe, expect, it } from "vitest";
import { useLocalStack } from "../../helpers/localStack.js";

/**
 * The standard notification API (PutBucketNotificationConfiguration /
 * GetBucketNotificationConfiguration) configures the bridge: filters, event types,
 * test events and the errors S3 gives.
 */
const stack = useLocalStack();
const { s3, sqs } = stack.clients;
let counter = 0;

interface Queue {
  readonly url: string;
  readonly arn: string;
}

async function newQueue(): Promise<Queue> {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: `cfg-${process.pid}-${counter++}` }),
  );
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }),
  );
  return { url: QueueUrl!, arn: Attributes!.QueueArn! };
}

async function newBucket(): Promise<string> {
  const bucket = `cfg-${process.pid}-${counter++}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

async function configure(bucket: string, configs: QueueConfiguration[]) {
  return s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: { QueueConfigurations: configs },
    }),
  );
}

const put = (bucket: string, key: string, body = "x") =>
  s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));

async function eventKeys(queue: Queue): Promise<string[]> {
  const bodies = await stack.drainQueue(queue.url);
  return bodies.map((body) => {
    const message = JSON.parse(body) as S3EventMessage;
    return `${message.Records[0]?.eventName} ${message.Records[0]?.s3.object.key}`;
  });
}

describe("PutBucketNotificationConfiguration", () => {
  let bucket: string;
  let queue: Queue;
  let putResponse: Awaited<ReturnType<typeof configure>>;
  const config = (arn: string): QueueConfiguration => ({
    Id: "raw-files",
    QueueArn: arn,
    Events: ["s3:ObjectCreated:*", "s3:ObjectRemoved:Delete"],
    Filter: {
      Key: {
        FilterRules: [
          { Name: "prefix", Value: "raw/" },
          { Name: "suffix", Value: ".txt.gz" },
        ],
      },
    },
  });

  beforeAll(async () => {
    [bucket, queue] = await Promise.all([newBucket(), newQueue()]);
    putResponse = await configure(bucket, [config(queue.arn)]);
  });

  it("sends one s3:TestEvent to the queue, with the request's id", async () => {
    const bodies = await stack.drainQueue(queue.url);
    expect(bodies).toHaveLength(1);
    const event = JSON.parse(bodies[0]!) as S3TestEvent;
    expect(event).toEqual({
      Service: "Amazon S3",
      Event: "s3:TestEvent",
      Time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      Bucket: bucket,
      RequestId: putResponse.$metadata.requestId,
      HostId: expect.any(String),
    });
  });

  it("is returned by GetBucketNotificationConfiguration", async () => {
    const current = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    expect(current.QueueConfigurations).toEqual([
      {
        Id: "raw-files",
        QueueArn: queue.arn,
        Events: ["s3:ObjectCreated:*", "s3:ObjectRemoved:Delete"],
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
    expect(current.TopicConfigurations ?? []).toEqual([]);
  });

  it("delivers only keys that match both the prefix and the suffix", async () => {
    await put(bucket, "raw/a.txt.gz");
    await put(bucket, "raw/b.parquet");
    await put(bucket, "lake/c.txt.gz");
    await put(bucket, "raw.txt.gz");
    await put(bucket, "raw/sub dir/d.txt.gz");
    expect(await eventKeys(queue)).toEqual([
      "ObjectCreated:Put raw/a.txt.gz",
      "ObjectCreated:Put raw/sub+dir/d.txt.gz",
    ]);
  });

  it("replaces the whole configuration, and an empty one switches notifications off", async () => {
    const other = await newQueue();
    await configure(bucket, [{ ...config(other.arn), Id: "moved" }]);
    await put(bucket, "raw/e.txt.gz");
    expect(await eventKeys(queue)).toEqual([]);
    expect(await stack.drainQueue(other.url)).toHaveLength(2); // test event + the put

    await s3.send(
      new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: {} }),
    );
    await put(bucket, "raw/f.txt.gz");
    expect(await stack.drainQueue(other.url)).toEqual([]);
    const current = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    expect(current.QueueConfigurations ?? []).toEqual([]);
  });
});

describe("event types", () => {
  it("delivers only the subscribed ones", async () => {
    const [bucket, source, created, removed] = await Promise.all([
      newBucket(),
      newBucket(),
      newQueue(),
      newQueue(),
    ]);
    await configure(bucket, [
      { Id: "puts", QueueArn: created.arn, Events: ["s3:ObjectCreated:Put"] },
      { Id: "deletes", QueueArn: removed.arn, Events: ["s3:ObjectRemoved:*"] },
    ]);
    await Promise.all([stack.drainQueue(created.url), stack.drainQueue(removed.url)]);

    await put(source, "src");
    await put(bucket, "put");
    await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: "copy", CopySource: `${source}/src` }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "put" }));

    expect(await eventKeys(created)).toEqual(["ObjectCreated:Put put"]);
    expect(await eventKeys(removed)).toEqual(["ObjectRemoved:Delete put"]);
  });

  it("routes disjoint prefixes of one bucket to different queues", async () => {
    const [bucket, a, b] = await Promise.all([newBucket(), newQueue(), newQueue()]);
    await configure(bucket, [
      {
        Id: "a",
        QueueArn: a.arn,
        Events: ["s3:ObjectCreated:*"],
        Filter: { Key: { FilterRules: [{ Name: "prefix", Value: "a/" }] } },
      },
      {
        Id: "b",
        QueueArn: b.arn,
        Events: ["s3:ObjectCreated:*"],
        Filter: { Key: { FilterRules: [{ Name: "prefix", Value: "b/" }] } },
      },
    ]);
    await Promise.all([stack.drainQueue(a.url), stack.drainQueue(b.url)]);
    await put(bucket, "a/1");
    await put(bucket, "b/2");
    expect(await eventKeys(a)).toEqual(["ObjectCreated:Put a/1"]);
    expect(await eventKeys(b)).toEqual(["ObjectCreated:Put b/2"]);
  });

  it("matches percent-encoded filter values against the plain key, as AWS asks them written", async () => {
    const [bucket, queue] = await Promise.all([newBucket(), newQueue()]);
    await configure(bucket, [
      {
        QueueArn: queue.arn,
        Events: ["s3:ObjectCreated:*"],
        Filter: { Key: { FilterRules: [{ Name: "prefix", Value: "my%20dir/" }] } },
      },
    ]);
    await stack.drainQueue(queue.url);
    await put(bucket, "my dir/x");
    await put(bucket, "my%20dir/y");
    expect(await eventKeys(queue)).toEqual(["ObjectCreated:Put my+dir/x"]);
  });

  it("gives a configuration without an Id a generated one, used as configurationId", async () => {
    const [bucket, queue] = await Promise.all([newBucket(), newQueue()]);
    await configure(bucket, [{ QueueArn: queue.arn, Events: ["s3:ObjectCreated:*"] }]);
    const { QueueConfigurations } = await s3.send(
      new GetBucketNotificationConfigurationCommand({ Bucket: bucket }),
    );
    const id = QueueConfigurations?.[0]?.Id;
    expect(id).toMatch(/^\S{8,}$/);
    await stack.drainQueue(queue.url);
    await put(bucket, "k");
    const [body] = await stack.drainQueue(queue.url);
    expect((JSON.parse(body!) as S3EventMessage).Records[0]?.s3.configurationId).toBe(id);
  });
});

describe("errors S3 gives", () => {
  let bucket: string;
  let queue: Queue;
  beforeAll(async () => {
    [bucket, queue] = await Promise.all([newBucket(), newQueue()]);
  });

  const rejection = async (configs: QueueConfiguration[], target = bucket) => {
    try {
      await configure(target, configs);
    } catch (error) {
      return { name: (error as Error).name, message: (error as Error).message };
    }
    throw new Error("the configuration was accepted");
  };

  it.each([
    [
      "a queue that does not exist",
      { QueueArn: "arn:aws:sqs:us-east-1:000000000000:nope", Events: ["s3:ObjectCreated:*"] },
      /Unable to validate the following destination configurations/,
    ],
    ["an event S3 does not know", { Events: ["s3:ObjectCreated:Pot"] }, /event is not supported/],
    [
      "an ARN that is not a queue's",
      { QueueArn: "arn:aws:sns:us-east-1:000000000000:t", Events: ["s3:ObjectCreated:*"] },
      /ARN could not be parsed/,
    ],
    [
      "an empty filter value",
      {
        Events: ["s3:ObjectCreated:*"],
        Filter: { Key: { FilterRules: [{ Name: "prefix" as const, Value: "" }] } },
      },
      /filter value cannot be empty/,
    ],
  ])("refuses %s with InvalidArgument", async (_, partial, message) => {
    const error = await rejection([{ QueueArn: queue.arn, ...partial } as QueueConfiguration]);
    expect(error.name).toBe("InvalidArgument");
    expect(error.message).toMatch(message);
  });

  it("refuses overlapping configurations", async () => {
    const error = await rejection([
      { Id: "one", QueueArn: queue.arn, Events: ["s3:ObjectCreated:*"] },
      {
        Id: "two",
        QueueArn: queue.arn,
        Events: ["s3:ObjectCreated:Put"],
        Filter: { Key: { FilterRules: [{ Name: "suffix", Value: ".gz" }] } },
      },
    ]);
    expect(error).toEqual({ name: "InvalidArgument", message: expect.stringMatching(/overlap/) });
  });

  it("refuses topic destinations, which the local stack cannot deliver to", async () => {
    await expect(
      s3.send(
        new PutBucketNotificationConfigurationCommand({
          Bucket: bucket,
          NotificationConfiguration: {
            TopicConfigurations: [
              { TopicArn: "arn:aws:sns:us-east-1:000000000000:t", Events: ["s3:ObjectCreated:*"] },
            ],
          },
        }),
      ),
    ).rejects.toThrow(/SQS queues only/);
  });

  it("answers NoSuchBucket for a bucket that does not exist", async () => {
    const error = await rejection(
      [{ QueueArn: queue.arn, Events: ["s3:ObjectCreated:*"] }],
      "no-such-bucket-here",
    );
    expect(error.name).toBe("NoSuchBucket");
  });

  it("leaves a refused configuration unapplied", async () => {
    const { QueueConfigurations } = await s3.send(
      new GetBucketNotificationConfigurationCommand({ Bucket: bucket }),
    );
    expect(QueueConfigurations ?? []).toEqual([]);
    expect(await stack.drainQueue(queue.url)).toEqual([]); // and no test event either
  });

  it("forgets the configuration of a deleted bucket", async () => {
    const [doomed, target] = await Promise.all([newBucket(), newQueue()]);
    await configure(doomed, [{ QueueArn: target.arn, Events: ["s3:ObjectCreated:*"] }]);
    await s3.send(new DeleteBucketCommand({ Bucket: doomed }));
    await s3.send(new CreateBucketCommand({ Bucket: doomed }));
    const { QueueConfigurations } = await s3.send(
      new GetBucketNotificationConfigurationCommand({ Bucket: doomed }),
    );
    expect(QueueConfigurations ?? []).toEqual([]);
  });
});
