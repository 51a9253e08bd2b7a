import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { S3ObjectStore } from "@compacter/aws";
import type { LocalResources } from "@compacter/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useLocalStack } from "../../helpers/localStack.js";

const stack = useLocalStack();
let resources: LocalResources;
let dir: string;

beforeAll(async () => {
  resources = await stack.createResources("large-objects");
  dir = await mkdtemp(join(tmpdir(), "compacter-large-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** Bytes that do not compress or repeat, so a truncated or reordered body is caught. */
function noise(bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let x = 0x9e3779b9;
  for (let i = 0; i < bytes; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  return out;
}

describe("objects above fauxqs's 11 MiB request body limit", () => {
  it("takes a 12 MiB single PUT", async () => {
    const body = noise(12 * 2 ** 20);
    await stack.clients.s3.send(
      new PutObjectCommand({ Bucket: resources.lakeBucket, Key: "single", Body: body }),
    );
    const path = join(dir, "single");
    const { bytes } = await new S3ObjectStore(stack.clients.s3).download(
      resources.lakeBucket,
      "single",
      path,
    );
    expect(bytes).toBe(body.length);
    expect(sha(await readFile(path))).toBe(sha(body));
  });

  it("takes the compactor's multipart upload of 16 MiB parts", async () => {
    const body = noise(40 * 2 ** 20);
    const source = join(dir, "out.parquet");
    await writeFile(source, body);
    const objects = new S3ObjectStore(stack.clients.s3);
    await objects.upload(source, resources.lakeBucket, "_staging/out.parquet");
    const back = join(dir, "back.parquet");
    await objects.download(resources.lakeBucket, "_staging/out.parquet", back);
    expect(sha(await readFile(back))).toBe(sha(body));
  });
});
