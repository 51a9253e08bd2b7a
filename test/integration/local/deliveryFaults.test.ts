import { PutObjectCommand } from "@aws-sdk/client-s3";
import type { LocalResources, S3EventMessage } from "@compacter/local";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { useLocalStack } from "../../helpers/localStack.js";

/** AWS's at-least-once, unordered delivery, switched on per bucket for a test. */
const stack = useLocalStack();
let resources: LocalResources;

beforeAll(async () => {
  resources = await stack.createResources("faults");
  await stack.drainQueue(resources.ingestQueueUrl);
});

afterEach(async () => {
  await stack.setDeliveryFaults(resources.rawBucket, undefined);
  await stack.drainQueue(resources.ingestQueueUrl);
});

const put = (key: string) =>
  stack.clients.s3.send(new PutObjectCommand({ Bucket: resources.rawBucket, Key: key, Body: key }));

async function receivedKeys(): Promise<string[]> {
  const bodies = await stack.drainQueue(resources.ingestQueueUrl);
  return bodies.map((body) => (JSON.parse(body) as S3EventMessage).Records[0]?.s3.object.key ?? "");
}

describe("delivery faults", () => {
  it("delivers every message twice, identical, with duplicateProbability 1", async () => {
    await stack.setDeliveryFaults(resources.rawBucket, { duplicateProbability: 1 });
    await put("dup/1.txt.gz");
    await put("dup/2.txt.gz");
    const bodies = await stack.drainQueue(resources.ingestQueueUrl);
    expect(bodies).toHaveLength(4);
    expect(bodies[0]).toBe(bodies[1]);
    expect(bodies[2]).toBe(bodies[3]);
  });

  it("holds a window of messages and delivers it in another order, each once", async () => {
    // a long hold, so only the window releases them, however slow the machine
    await stack.setDeliveryFaults(resources.rawBucket, { reorderWindow: 6, maxHoldMs: 60_000, seed: 7 });
    const keys = Array.from({ length: 6 }, (_, i) => `reorder/${i}.txt.gz`);
    for (const key of keys.slice(0, 5)) await put(key);
    expect(await receivedKeys()).toEqual([]); // held

    await put(keys[5]!);
    const received = await receivedKeys();
    expect([...received].sort()).toEqual(keys);
    expect(received).not.toEqual(keys);
  });

  it("releases held messages on flush", async () => {
    await stack.setDeliveryFaults(resources.rawBucket, { reorderWindow: 100, maxHoldMs: 60_000 });
    await put("held/a.txt.gz");
    await put("held/b.txt.gz");
    expect(await receivedKeys()).toEqual([]);
    await stack.flushDeliveries();
    expect((await receivedKeys()).sort()).toEqual(["held/a.txt.gz", "held/b.txt.gz"]);
  });

  it("leaves other buckets exact", async () => {
    const other = await stack.createResources("faults-other");
    await stack.drainQueue(other.ingestQueueUrl);
    await stack.setDeliveryFaults(resources.rawBucket, { duplicateProbability: 1 });
    await stack.clients.s3.send(
      new PutObjectCommand({ Bucket: other.rawBucket, Key: "x.txt.gz", Body: "x" }),
    );
    expect(await stack.drainQueue(other.ingestQueueUrl)).toHaveLength(1);
  });
});
