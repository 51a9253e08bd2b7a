import { createHash } from "node:crypto";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import {
  decodeEventKey,
  type LocalResources,
  type S3EventMessage,
  type S3EventRecord,
} from "@compacter/local";
import { beforeAll, describe, expect, it } from "vitest";
import { useLocalStack } from "../../helpers/localStack.js";

/**
 * The bridge's records against AWS's documented "Event message structure" (v2.1),
 * field by field, for every operation the bridge reports.
 */
const stack = useLocalStack();
let resources: LocalResources;

beforeAll(async () => {
  resources = await stack.createResources("records");
  await stack.drainQueue(resources.ingestQueueUrl); // the s3:TestEvent of the configuration
});

const md5 = (body: string | Buffer) => createHash("md5").update(body).digest("hex");

async function records(): Promise<S3EventRecord[]> {
  const bodies = await stack.drainQueue(resources.ingestQueueUrl);
  return bodies.map((body) => {
    const message = JSON.parse(body) as S3EventMessage;
    expect(message.Records).toHaveLength(1); // AWS sends one record per message
    return message.Records[0] as S3EventRecord;
  });
}

function expectedRecord(input: {
  eventName: string;
  key: string;
  object: Record<string, unknown>;
  requestId?: string;
}) {
  return {
    eventVersion: "2.1",
    eventSource: "aws:s3",
    awsRegion: stack.region,
    eventTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    eventName: input.eventName,
    userIdentity: { principalId: "AWS:test" },
    requestParameters: { sourceIPAddress: "127.0.0.1" },
    responseElements: {
      "x-amz-request-id": input.requestId ?? expect.stringMatching(/^[0-9A-F]{16}$/),
      "x-amz-id-2": expect.any(String),
    },
    s3: {
      s3SchemaVersion: "1.0",
      configurationId: "compacter-ingest",
      bucket: {
        name: resources.rawBucket,
        ownerIdentity: { principalId: expect.any(String) },
        arn: `arn:aws:s3:::${resources.rawBucket}`,
      },
      object: { key: input.key, sequencer: expect.stringMatching(/^[0-9A-F]{18}$/), ...input.object },
    },
  };
}

describe("ObjectCreated:Put", () => {
  it.each([
    ["plain", "BRCB/SLS30I001/2025121201/2025121201.txt.gz", "BRCB/SLS30I001/2025121201/2025121201.txt.gz"],
    ["space, plus and umlaut", "a b+ä.txt.gz", "a+b%2B%C3%A4.txt.gz"],
    ["quotes", `it's "quoted".txt.gz`, "it%27s+%22quoted%22.txt.gz"],
    ["reserved characters", "d=1/k:v&x;y,z@(1)!*~.txt.gz", "d%3D1/k%3Av%26x%3By%2Cz%40%281%29%21%2A~.txt.gz"],
    ["CJK and emoji", "北京/设备 1/🚚.txt.gz", "%E5%8C%97%E4%BA%AC/%E8%AE%BE%E5%A4%87+1/%F0%9F%9A%9A.txt.gz"],
  ])("matches AWS's record for a key with %s", async (_, key, encoded) => {
    const body = `{"heartbeat":1}\n${key}`;
    const put = await stack.clients.s3.send(
      new PutObjectCommand({ Bucket: resources.rawBucket, Key: key, Body: body }),
    );

    const [record, ...more] = await records();
    expect(more).toEqual([]);
    expect(record).toEqual(
      expectedRecord({
        eventName: "ObjectCreated:Put",
        key: encoded,
        object: { size: Buffer.byteLength(body), eTag: md5(body) },
        ...(put.$metadata.requestId ? { requestId: put.$metadata.requestId } : {}),
      }),
    );
    expect(Object.keys(record?.s3.object ?? {})).toEqual(["key", "size", "eTag", "sequencer"]);
    expect(decodeEventKey(record?.s3.object.key ?? "")).toBe(key);
    expect(`"${record?.s3.object.eTag}"`).toBe(put.ETag);
  });

  it("fires for a write by a plain HTTP client that is not ours (unsigned fetch)", async () => {
    const key = "raw http/2025121201.txt.gz";
    const response = await fetch(`${stack.endpoints.s3}/${resources.rawBucket}/${encodeURI(key)}`, {
      method: "PUT",
      body: "from fetch",
    });
    expect(response.status).toBe(200);

    const [record, ...more] = await records();
    expect(more).toEqual([]);
    expect(record).toMatchObject({
      eventName: "ObjectCreated:Put",
      userIdentity: { principalId: "Anonymous" },
      responseElements: { "x-amz-request-id": response.headers.get("x-amz-request-id") },
      s3: { object: { key: "raw+http/2025121201.txt.gz", size: 10, eTag: md5("from fetch") } },
    });
  });

  it("reports an empty object with size 0", async () => {
    await stack.clients.s3.send(
      new PutObjectCommand({ Bucket: resources.rawBucket, Key: "empty.txt.gz", Body: new Uint8Array(0) }),
    );
    const [record] = await records();
    expect(record?.s3.object).toMatchObject({ key: "empty.txt.gz", size: 0, eTag: md5("") });
  });
});

describe("ObjectCreated:CompleteMultipartUpload", () => {
  it("carries the multipart eTag (-N) and the full size", async () => {
    const key = "multi part/2025121201.txt.gz";
    const parts = [Buffer.alloc(5 * 2 ** 20, 1), Buffer.from("tail")];
    const { UploadId } = await stack.clients.s3.send(
      new CreateMultipartUploadCommand({ Bucket: resources.rawBucket, Key: key }),
    );
    const uploaded = [];
    for (const [i, part] of parts.entries()) {
      const { ETag } = await stack.clients.s3.send(
        new UploadPartCommand({
          Bucket: resources.rawBucket,
          Key: key,
          UploadId,
          PartNumber: i + 1,
          Body: part,
        }),
      );
      uploaded.push({ ETag, PartNumber: i + 1 });
    }
    expect(await records()).toEqual([]); // parts alone are not objects yet

    const completed = await stack.clients.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: resources.rawBucket,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: uploaded },
      }),
    );

    const [record, ...more] = await records();
    expect(more).toEqual([]);
    const digests = Buffer.concat(parts.map((part) => createHash("md5").update(part).digest()));
    expect(record).toEqual(
      expectedRecord({
        eventName: "ObjectCreated:CompleteMultipartUpload",
        key: "multi+part/2025121201.txt.gz",
        object: { size: parts[0]!.length + parts[1]!.length, eTag: `${md5(digests)}-2` },
      }),
    );
    expect(`"${record?.s3.object.eTag}"`).toBe(completed.ETag);
  });
});

describe("ObjectCreated:Copy", () => {
  it("reports the copy's key, size and eTag", async () => {
    await stack.clients.s3.send(
      new PutObjectCommand({ Bucket: resources.lakeBucket, Key: "source.txt.gz", Body: "copied bytes" }),
    );
    await stack.clients.s3.send(
      new CopyObjectCommand({
        Bucket: resources.rawBucket,
        Key: "copies/target ä.txt.gz",
        CopySource: `${resources.lakeBucket}/source.txt.gz`,
      }),
    );

    const [record, ...more] = await records();
    expect(more).toEqual([]);
    expect(record).toEqual(
      expectedRecord({
        eventName: "ObjectCreated:Copy",
        key: "copies/target+%C3%A4.txt.gz",
        object: { size: 12, eTag: md5("copied bytes") },
      }),
    );
  });
});

describe("ObjectRemoved:Delete", () => {
  it("carries key and sequencer but no size or eTag, for DeleteObject", async () => {
    const key = "gone soon+1.txt.gz";
    await stack.clients.s3.send(new PutObjectCommand({ Bucket: resources.rawBucket, Key: key, Body: "x" }));
    const [created] = await records();

    await stack.clients.s3.send(new DeleteObjectCommand({ Bucket: resources.rawBucket, Key: key }));
    const [removed, ...more] = await records();
    expect(more).toEqual([]);
    expect(removed).toEqual(
      expectedRecord({ eventName: "ObjectRemoved:Delete", key: "gone+soon%2B1.txt.gz", object: {} }),
    );
    expect(Object.keys(removed?.s3.object ?? {})).toEqual(["key", "sequencer"]);
    expect(BigInt(`0x${removed?.s3.object.sequencer}`)).toBeGreaterThan(
      BigInt(`0x${created?.s3.object.sequencer}`),
    );
  });

  it("sends one message per deleted key for DeleteObjects", async () => {
    const keys = ["batch/a.txt.gz", "batch/b c.txt.gz", "batch/ü.txt.gz"];
    for (const key of keys) {
      await stack.clients.s3.send(new PutObjectCommand({ Bucket: resources.rawBucket, Key: key, Body: key }));
    }
    await records();

    await stack.clients.s3.send(
      new DeleteObjectsCommand({
        Bucket: resources.rawBucket,
        Delete: { Objects: [...keys, "batch/never-existed.txt.gz"].map((Key) => ({ Key })) },
      }),
    );

    const removed = await records();
    expect(removed.map((r) => [r.eventName, r.s3.object.key, "size" in r.s3.object])).toEqual([
      ["ObjectRemoved:Delete", "batch/a.txt.gz", false],
      ["ObjectRemoved:Delete", "batch/b+c.txt.gz", false],
      ["ObjectRemoved:Delete", "batch/%C3%BC.txt.gz", false],
    ]);
  });

  it("sends nothing for a key that did not exist", async () => {
    await stack.clients.s3.send(
      new DeleteObjectCommand({ Bucket: resources.rawBucket, Key: "nothing-here.txt.gz" }),
    );
    expect(await records()).toEqual([]);
  });
});

describe("sequencer", () => {
  it("increases for every event on one key, as a left-padded hex comparison", async () => {
    const key = "sequenced/2025121201.txt.gz";
    for (let i = 0; i < 15; i++) {
      await stack.clients.s3.send(
        i % 5 === 4
          ? new DeleteObjectCommand({ Bucket: resources.rawBucket, Key: key })
          : new PutObjectCommand({ Bucket: resources.rawBucket, Key: key, Body: `v${i}` }),
      );
    }
    const sequencers = (await records()).map((r) => r.s3.object.sequencer);
    expect(sequencers).toHaveLength(15);
    const padded = sequencers.map((s) => s.padStart(32, "0"));
    expect(padded).toEqual([...padded].sort());
    expect(new Set(padded).size).toBe(15);
  });

  it("orders concurrent overwrites as the store applied them: the latest event describes the stored object", async () => {
    const keys = Array.from({ length: 10 }, (_, i) => `concurrent/${i}.txt.gz`);
    const writes = keys.flatMap((key) =>
      Array.from({ length: 20 }, (_, version) => ({
        key,
        body: `${key} v${version} ${"x".repeat(version)}`,
      })),
    );
    await Promise.all(
      writes.map((w) =>
        stack.clients.s3.send(
          new PutObjectCommand({ Bucket: resources.rawBucket, Key: w.key, Body: w.body }),
        ),
      ),
    );

    const received = await records();
    expect(received).toHaveLength(writes.length);
    for (const key of keys) {
      const forKey = received.filter((r) => r.s3.object.key === key);
      const written = new Map(
        writes.filter((w) => w.key === key).map((w) => [md5(w.body), Buffer.byteLength(w.body)]),
      );
      // every event describes one write exactly (eTag and size belong together) …
      for (const r of forKey) expect(written.get(r.s3.object.eTag ?? "")).toBe(r.s3.object.size);
      expect(new Set(forKey.map((r) => r.s3.object.eTag)).size).toBe(20);
      // … and the greatest sequencer is the version S3 holds now.
      const latest = forKey.reduce((a, b) => (a.s3.object.sequencer > b.s3.object.sequencer ? a : b));
      const head = await stack.clients.s3.send(
        new HeadObjectCommand({ Bucket: resources.rawBucket, Key: key }),
      );
      expect(`"${latest.s3.object.eTag}"`).toBe(head.ETag);
    }
  });
});
