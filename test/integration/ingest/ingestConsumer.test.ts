import { DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import {
  DEAD_LETTER_ATTRIBUTE,
  DeadLetters,
  DynamoManifestStore,
  getQueueDepth,
  IngestConsumer,
  type IngestConsumerStats,
} from "@compacter/aws";
import {
  type CompacterConfig,
  CompacterError,
  createLogger,
  type ManifestStore,
  parseRawKey,
} from "@compacter/core";
import type { LocalResources } from "@compacter/local";
import { describe, expect, it } from "vitest";
import { useLocalStack } from "../../helpers/localStack.js";

const stack = useLocalStack();

interface Fixture {
  readonly resources: LocalResources;
  readonly config: CompacterConfig;
  readonly store: DynamoManifestStore;
  readonly logs: Record<string, unknown>[];
}

async function fixture(label: string, settings: Record<string, string> = {}): Promise<Fixture> {
  const resources = await stack.createResources(label);
  const config = stack.config(resources, {
    pollWaitMs: "1s",
    visibilityTimeoutMs: "10s",
    ingestConcurrency: "2",
    ...settings,
  });
  const store = new DynamoManifestStore({
    client: stack.clients.dynamodb,
    tableName: resources.manifestTable,
  });
  return { resources, config, store, logs: [] };
}

function consumer(f: Fixture, store: ManifestStore = f.store): IngestConsumer {
  const log = createLogger({ level: "debug", sink: (line) => f.logs.push(JSON.parse(line)) });
  return new IngestConsumer({
    sqs: stack.clients.sqs,
    queueUrl: f.resources.ingestQueueUrl,
    ingest: { store, config: f.config, log },
    // No DLQ URL given: found from the queue's redrive policy, as in a deployment without the setting.
    deadLetters: new DeadLetters(stack.clients.sqs, { queueUrl: f.resources.ingestQueueUrl }, log),
  });
}

/** Runs a consumer until `done(stats)` holds, then drains it. */
async function consumeUntil(
  c: IngestConsumer,
  done: (stats: IngestConsumerStats) => boolean,
): Promise<IngestConsumerStats> {
  c.start();
  await waitFor(
    () => done(c.stats()),
    () => JSON.stringify(c.stats()),
  );
  await c.stop();
  return c.stats();
}

async function waitFor(condition: () => boolean, describe: () => string = () => ""): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${describe()}`);
    await sleep(25);
  }
}

/** Takes the bridge's notifications off the queue (so a test can redeliver them as it likes). */
async function takeNotifications(f: Fixture, count: number): Promise<string[]> {
  const bodies: string[] = [];
  while (bodies.length < count) {
    const { Messages = [] } = await stack.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: f.resources.ingestQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
      }),
    );
    for (const m of Messages) {
      await stack.clients.sqs.send(
        new DeleteMessageCommand({ QueueUrl: f.resources.ingestQueueUrl, ReceiptHandle: m.ReceiptHandle }),
      );
      // The notification configuration's s3:TestEvent is tested on its own.
      if (!m.Body?.includes("s3:TestEvent")) bodies.push(m.Body ?? "");
    }
  }
  return bodies;
}

async function deliver(f: Fixture, bodies: readonly string[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += 10) {
    await stack.clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: f.resources.ingestQueueUrl,
        Entries: bodies.slice(i, i + 10).map((body, j) => ({ Id: String(j), MessageBody: body })),
      }),
    );
  }
}

async function put(f: Fixture, key: string, body: string): Promise<void> {
  await stack.clients.s3.send(new PutObjectCommand({ Bucket: f.resources.rawBucket, Key: key, Body: body }));
}

function partitionOf(f: Fixture, key: string) {
  const parsed = parseRawKey(key, f.config);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value.partition;
}

const KEY = "BRCB/SLS30I001/2025121209/2025121209.txt.gz";

describe("ingest through the SQS consumer", () => {
  it("registers the same notification delivered 5× once", async () => {
    const f = await fixture("ingest-5x");
    await put(f, KEY, "v1");
    const [body = ""] = await takeNotifications(f, 1);
    await deliver(f, [body, body, body, body, body]);
    const stats = await consumeUntil(consumer(f), (s) => s.done >= 5);
    expect(stats.records).toEqual({ registered: 1, stale: 4 });
    const files = await f.store.listFiles(partitionOf(f, KEY));
    expect(files).toHaveLength(1);
    expect(await f.store.listFiles(partitionOf(f, KEY), "pending")).toHaveLength(1);
    expect((await f.store.listDue()).filter((d) => d.status === "pending")).toHaveLength(1);
    expect(files[0]).toMatchObject({ key: KEY, versions: 1, size: 2 });
  });

  it("orders versions by sequencer: overwrite → pending again, older → ignored, same content → duplicate, remove beats an older create", async () => {
    const f = await fixture("ingest-order");
    const partition = partitionOf(f, KEY);
    const other = "BRCB/SLS30I002/2025121209/2025121209.txt.gz";
    await put(f, KEY, "version one");
    await put(f, KEY, "version two");
    await put(f, KEY, "version two"); // the same content again: same eTag, newer sequencer
    await put(f, other, "x");
    await stack.clients.s3.send(new DeleteObjectCommand({ Bucket: f.resources.rawBucket, Key: other }));
    const [v1 = "", v2 = "", v2again = "", create = "", remove = ""] = await takeNotifications(f, 5);

    const c = consumer(f);
    c.start();
    const step = async (bodies: string[]) => {
      const before = c.stats();
      await deliver(f, bodies);
      await waitFor(() => c.stats().done >= before.done + bodies.length);
      const after = c.stats().records;
      const delta: Record<string, number> = {};
      for (const [outcome, n] of Object.entries(after)) {
        const d = (n ?? 0) - (before.records[outcome as keyof typeof after] ?? 0);
        if (d > 0) delta[outcome] = d;
      }
      return delta;
    };

    expect(await step([v1])).toEqual({ registered: 1 });
    const first = await f.store.getFile(partition, KEY);
    await f.store.markConsumed(
      partition,
      1,
      [
        {
          key: KEY,
          eTag: first?.eTag ?? "",
          sequencer: first?.sequencer ?? "",
          plannedStatus: "pending",
          outcome: "compacted",
          rows: 1,
          badLines: 0,
          late: false,
        },
      ],
      new Date().toISOString(),
    );

    // The overwrite, then the first version redelivered late, then the identical re-upload.
    expect(await step([v2])).toEqual({ replaced: 1 });
    const second = await f.store.getFile(partition, KEY);
    expect(second).toMatchObject({ status: "pending", compactedETag: first?.eTag, versions: 2 });
    expect(second?.eTag).not.toBe(first?.eTag);

    expect(await step([v1])).toEqual({ stale: 1 });
    expect((await f.store.getFile(partition, KEY))?.eTag).toBe(second?.eTag);

    expect(await step([v2again])).toEqual({ duplicate: 1 });

    // A removal delivered before the create it follows.
    expect(await step([remove])).toEqual({ removed: 1 });
    expect(await step([create])).toEqual({ stale: 1 });
    expect(await f.store.getFile(partition, other)).toMatchObject({ status: "removed" });
    await c.stop();
  });

  it("acknowledges s3:TestEvent, sends garbage straight to the DLQ, records a bad key as rejected", async () => {
    const f = await fixture("ingest-bad");
    const badKey = "BRCB/SLS30I001/2025121209/2025121210.txt.gz";
    await put(f, badKey, "x");
    const test = JSON.stringify({
      Service: "Amazon S3",
      Event: "s3:TestEvent",
      Time: "2025-12-12T00:00:00.000Z",
      Bucket: f.resources.rawBucket,
      RequestId: "r",
      HostId: "h",
    });
    const garbage = await stack.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: f.resources.ingestQueueUrl,
        MessageBody: "this is not an S3 event",
      }),
    );
    await deliver(f, [test, JSON.stringify({ Records: [] })]);

    // The queue also holds the test event S3 sent when the notification was configured.
    const stats = await consumeUntil(consumer(f), (s) => s.done + s.deadLettered >= 5);
    expect(stats).toMatchObject({ messages: 5, done: 3, deadLettered: 2, retried: 0 });
    expect(stats.records).toEqual({ test: 2, rejected: 1 });

    const depth = await getQueueDepth(stack.clients.sqs, f.resources.ingestQueueUrl);
    expect(depth).toMatchObject({ visible: 0, inFlight: 0 });
    const { Messages = [] } = await stack.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: f.resources.ingestDlqUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ["All"],
        MessageSystemAttributeNames: ["ApproximateReceiveCount"],
      }),
    );
    const dead = Messages.map((m) => ({
      body: m.Body,
      reason: m.MessageAttributes?.[DEAD_LETTER_ATTRIBUTE.reason]?.StringValue,
      source: m.MessageAttributes?.[DEAD_LETTER_ATTRIBUTE.sourceMessageId]?.StringValue,
    }));
    expect(dead).toHaveLength(2);
    expect(dead).toContainEqual({
      body: "this is not an S3 event",
      reason: expect.stringMatching(/not JSON/),
      source: garbage.MessageId,
    });
    expect(dead).toContainEqual(
      expect.objectContaining({ body: '{"Records":[]}', reason: expect.stringMatching(/empty/) }),
    );

    const line = f.logs.find(
      (l) => l.messageId === garbage.MessageId && String(l.msg).includes("dead-letter"),
    );
    expect(line).toMatchObject({ level: "error", reason: expect.stringMatching(/not JSON/) });

    const [rejected] = await f.store.listProblems("rejected");
    expect(rejected).toMatchObject({
      key: badKey,
      status: "rejected",
      reason: "folder hour 2025121209 does not match file hour '2025121210'",
    });
  });

  it("retries a message whose registration failed, after a short backoff", async () => {
    const f = await fixture("ingest-retry");
    let failures = 1;
    const flaky = new Proxy(f.store, {
      get(target, property, receiver) {
        if (property === "registerCreated") {
          return async (input: Parameters<ManifestStore["registerCreated"]>[0]) => {
            if (failures-- > 0) throw new CompacterError("throttled (injected)", { retryable: true });
            return target.registerCreated(input);
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as ManifestStore;
    await put(f, KEY, "x");
    const stats = await consumeUntil(consumer(f, flaky), (s) => (s.records.registered ?? 0) >= 1);
    expect(stats).toMatchObject({ retried: 1, deadLettered: 0 });
    expect(await f.store.getFile(partitionOf(f, KEY), KEY)).toMatchObject({ status: "pending" });
    expect(f.logs.some((l) => l.msg === "ingest message failed; it will be retried")).toBe(true);
  });

  it("drains on SIGTERM: the batch in hand finishes and is deleted", async () => {
    const f = await fixture("ingest-drain", { pollWaitMs: "20s" });
    let release: () => void = () => {};
    let entered: () => void = () => {};
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = new Proxy(f.store, {
      get(target, property, receiver) {
        if (property === "registerCreated") {
          return async (input: Parameters<ManifestStore["registerCreated"]>[0]) => {
            entered();
            await gate;
            return target.registerCreated(input);
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as ManifestStore;
    const c = consumer(f, slow);
    const removeHandlers = c.stopOnSignals(["SIGTERM"]);
    c.start();
    await put(f, KEY, "x");
    await inside;
    process.emit("SIGTERM", "SIGTERM");
    // The signal starts the drain, and the drain waits for the batch in hand: 300 ms on,
    // the consumer has not stopped, and the message is still in flight (not deleted, not
    // handed back to the queue).
    expect(f.logs.some((l) => l.msg === "draining the ingest consumer" && l.signal === "SIGTERM")).toBe(true);
    const stoppedEarly = await Promise.race([c.whenStopped().then(() => true), sleep(300).then(() => false)]);
    expect(stoppedEarly).toBe(false);
    expect(await getQueueDepth(stack.clients.sqs, f.resources.ingestQueueUrl)).toMatchObject({
      visible: 0,
      inFlight: 1,
    });
    release();
    await c.whenStopped();
    removeHandlers();
    expect(c.stats().records.registered).toBe(1);
    expect(await getQueueDepth(stack.clients.sqs, f.resources.ingestQueueUrl)).toMatchObject({
      visible: 0,
      inFlight: 0,
    });
  });

  it("keeps a slow batch invisible with a heartbeat, so no other loop takes it", async () => {
    const f = await fixture("ingest-heartbeat", { visibilityTimeoutMs: "3s", ingestConcurrency: "3" });
    let calls = 0;
    const slow = new Proxy(f.store, {
      get(target, property, receiver) {
        if (property === "registerCreated") {
          return async (input: Parameters<ManifestStore["registerCreated"]>[0]) => {
            calls += 1;
            await sleep(4_500); // longer than the visibility timeout
            return target.registerCreated(input);
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as ManifestStore;
    await put(f, KEY, "x");
    const stats = await consumeUntil(consumer(f, slow), (s) => (s.records.registered ?? 0) >= 1);
    expect(calls).toBe(1);
    expect(stats.records).toMatchObject({ registered: 1 });
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
