import { readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { S3ObjectStore } from "@compacter/aws";
import { ObjectNotFoundError } from "@compacter/core";
import type { LocalResources } from "@compacter/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useLocalStack } from "../../helpers/localStack.js";

const stack = useLocalStack();
let resources: LocalResources;
let dir: string;

beforeAll(async () => {
  resources = await stack.createResources("download-ranges");
  dir = await mkdtemp(join(tmpdir(), "compacter-download-ranges-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// A sliced merge fetches only parts of a lake file (the footer, its row groups) into a
// sparse local file at their own offsets; the rest must stay holes, not bytes on disk.
describe("S3ObjectStore.downloadRanges", () => {
  it("writes each range at its offset in a file of the object's size, over several calls", async () => {
    const body = Buffer.alloc(4 * 2 ** 20);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7 + 3) % 251;
    await stack.clients.s3.send(
      new PutObjectCommand({ Bucket: resources.lakeBucket, Key: "big", Body: body }),
    );
    const objects = new S3ObjectStore(stack.clients.s3);
    const local = join(dir, "big.parquet");
    const tail = { start: body.length - 100, end: body.length };
    await objects.downloadRanges(resources.lakeBucket, "big", local, body.length, [
      { start: 0, end: 4 },
      tail,
    ]);
    const middle = { start: 2 ** 20, end: 2 ** 20 + 5000 };
    await objects.downloadRanges(resources.lakeBucket, "big", local, body.length, [middle]);

    const written = readFileSync(local);
    expect(written.length).toBe(body.length);
    for (const r of [{ start: 0, end: 4 }, tail, middle]) {
      expect(written.subarray(r.start, r.end).equals(body.subarray(r.start, r.end))).toBe(true);
    }
    expect(written.subarray(10_000, 20_000).every((b) => b === 0)).toBe(true);
    expect(statSync(local).blocks * 512).toBeLessThan(body.length / 4);
  });

  it("a missing object is ObjectNotFoundError", async () => {
    await expect(
      new S3ObjectStore(stack.clients.s3).downloadRanges(resources.lakeBucket, "nope", join(dir, "n"), 10, [
        { start: 0, end: 4 },
      ]),
    ).rejects.toBeInstanceOf(ObjectNotFoundError);
  });
});
