import { mkdtemp, rm } from "node:fs/promises";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { LocalStackError, startLocalStack, uniqueResourceNames } from "@compacter/local";
import { describe, expect, it } from "vitest";

/** A stack owned by the test: started, used and stopped in this process. */
function portIsOpen(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((done) => {
    let connected = false;
    const socket = new Socket();
    socket.once("connect", () => {
      connected = true;
      socket.destroy();
    });
    socket.once("error", () => {});
    // 'close' comes once the probe's own handle is released
    socket.once("close", () => done(connected));
    socket.connect(Number(port), hostname);
  });
}

/** Servers and sockets alive, once sockets closed earlier (e.g. port probes) have released their handles. */
async function networkHandles(): Promise<number> {
  await new Promise((resolve) => setImmediate(resolve));
  const names = process.getActiveResourcesInfo();
  return names.filter((name) => name === "TCPServerWrap" || name === "TCPSocketWrap").length;
}

describe("startLocalStack", () => {
  it("serves on loopback, bootstraps its resources, and leaves no server or socket behind after stop()", async () => {
    const before = await networkHandles();
    const stack = await startLocalStack({ resources: uniqueResourceNames("own") });
    expect(stack.endpoints.s3).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stack.config.ingestQueueUrl).toBe(stack.resources.ingestQueueUrl);
    expect(stack.config.rawBucket).toBe(stack.resources.rawBucket);
    await stack.clients.s3.send(
      new PutObjectCommand({ Bucket: stack.resources.rawBucket, Key: "a.txt.gz", Body: "a" }),
    );
    expect(stack.bridge.stats()).toMatchObject({ changes: 1, deliveryFailures: 0 });
    expect(await networkHandles()).toBeGreaterThan(before);

    await stack.stop();
    expect(await networkHandles()).toBe(before);
    await stack.stop(); // idempotent
    expect(await portIsOpen(stack.endpoints.s3)).toBe(false);
    expect(await portIsOpen(stack.endpoints.dynamodb)).toBe(false);
  });

  it("reports a taken port with the flag that changes it, and stops what did start", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as { port: number };
    try {
      const before = await networkHandles();
      const attempt = startLocalStack({ s3Port: port, resources: uniqueResourceNames("taken") });
      await expect(attempt).rejects.toThrow(LocalStackError);
      await expect(attempt).rejects.toThrow(/--s3-port/);
      // DynamoDB, which did start, was stopped again: nothing keeps the process alive
      expect(await networkHandles()).toBe(before);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it("keeps DynamoDB tables in dataDir across restarts", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "compacter-dynalite-"));
    const names = uniqueResourceNames("persist");
    try {
      const first = await startLocalStack({ dataDir, resources: names });
      await first.clients.dynamodb.send(
        new PutItemCommand({
          TableName: names.manifestTable,
          Item: { pk: { S: "P#1" }, sk: { S: "STATE" } },
        }),
      );
      await first.stop();

      const second = await startLocalStack({ dataDir, resources: names });
      try {
        const { Item } = await second.clients.dynamodb.send(
          new GetItemCommand({
            TableName: names.manifestTable,
            Key: { pk: { S: "P#1" }, sk: { S: "STATE" } },
          }),
        );
        expect(Item).toEqual({ pk: { S: "P#1" }, sk: { S: "STATE" } });
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
