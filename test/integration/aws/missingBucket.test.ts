import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { S3ObjectStore } from "@compacter/aws";
import { BucketNotFoundError, ObjectNotFoundError } from "@compacter/core";
import type { LocalResources } from "@compacter/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useLocalStack } from "../../helpers/localStack.js";

const stack = useLocalStack();
let resources: LocalResources;
let dir: string;

beforeAll(async () => {
  resources = await stack.createResources("missing-bucket");
  dir = await mkdtemp(join(tmpdir(), "compacter-missing-bucket-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// The compactor reads ObjectNotFoundError as "the raw file was removed" and drops its rows
// from the lake. A bucket that is gone (deleted, renamed, a wrong setting) must not look
// like that, or every planned file of a partition would be marked removed.
describe("S3ObjectStore tells a missing object from a missing bucket", () => {
  const objects = () => new S3ObjectStore(stack.clients.s3);

  it("a missing key in an existing bucket is ObjectNotFoundError", async () => {
    await expect(
      objects().download(resources.rawBucket, "BRCB/NOPE/2026120101/2026120101.txt.gz", join(dir, "a")),
    ).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it("a missing bucket is an error of its own, not ObjectNotFoundError", async () => {
    await stack.clients.s3.send(
      new PutObjectCommand({ Bucket: resources.lakeBucket, Key: "present", Body: "x" }),
    );
    const missing = `${resources.rawBucket}-gone`;
    const download = objects().download(missing, "present", join(dir, "b"));
    await expect(download).rejects.toBeInstanceOf(BucketNotFoundError);
    await expect(download).rejects.toThrow(`bucket ${missing} does not exist`);
    const copy = objects().copy(
      { bucket: missing, key: "present" },
      { bucket: resources.lakeBucket, key: "c" },
    );
    await expect(copy).rejects.toBeInstanceOf(BucketNotFoundError);
  });
});
