import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { parseUtcOffset } from "@compacter/core";
import type { LocalResources, S3EventMessage } from "@compacter/local";
import { memorySink, runSimulation, type SimulationOptions, s3Sink } from "@compacter/simulator";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../../packages/cli/src/main.js";
import { useLocalStack } from "../../helpers/localStack.js";

const stack = useLocalStack();
let resources: LocalResources;

beforeAll(async () => {
  resources = await stack.createResources("simulator");
  await stack.drainQueue(resources.ingestQueueUrl);
});

afterEach(async () => {
  vi.restoreAllMocks();
  await stack.drainQueue(resources.ingestQueueUrl);
});

const layout = {
  rawPrefix: "",
  keyTimeZone: parseUtcOffset("+08:00"),
  partitionTimeZone: parseUtcOffset("+08:00"),
};

/** S3 event keys are form-URL-encoded: "+" is a space, "%2B" a plus. */
const decodeKey = (key: string) => decodeURIComponent(key.replace(/\+/g, " "));

async function eventRecords(): Promise<{ key: string; eTag?: string; size?: number }[]> {
  const bodies = await stack.drainQueue(resources.ingestQueueUrl);
  return bodies.flatMap((body) => {
    const message = JSON.parse(body) as S3EventMessage | { Event?: string };
    if (!("Records" in message)) return [];
    return message.Records.map((r) => ({
      key: decodeKey(r.s3.object.key),
      eTag: r.s3.object.eTag,
      size: r.s3.object.size,
    }));
  });
}

async function objectBytes(key: string): Promise<Buffer> {
  const response = await stack.clients.s3.send(
    new GetObjectCommand({ Bucket: resources.rawBucket, Key: key }),
  );
  return Buffer.from(await response.Body!.transformToByteArray());
}

describe("simulator → S3", () => {
  it("puts through the S3 API: every upload fires a notification, bytes equal the in-memory run", async () => {
    const options: SimulationOptions = {
      layout,
      startHourMs: Date.UTC(2025, 11, 11, 16),
      devicesPerDistrict: 2,
      hours: 2,
      rowsPerFile: 30,
      concurrency: 4,
      knobs: { oddKeys: 0.5, reupload: 0.25, emptyObjects: 0.125 },
    };
    const summary = await runSimulation(options, s3Sink(stack.clients.s3, resources.rawBucket));
    const reference = memorySink();
    await runSimulation(options, reference);

    expect(summary.totals.uploads).toBe(10);
    expect(summary.files.filter((f) => f.oddKey)).toHaveLength(4);
    const uploads = summary.files.flatMap((f) =>
      f.versions.map((v) => ({ key: f.key, eTag: v.eTag, size: v.bytesGz })),
    );
    const records = await eventRecords();
    const sortKey = (r: { key: string; size?: number }) => `${r.key}#${r.size}`;
    expect(
      records
        .map((r) => ({ ...r, eTag: `"${r.eTag}"` }))
        .sort((a, b) => sortKey(a).localeCompare(sortKey(b))),
    ).toEqual(uploads.sort((a, b) => sortKey(a).localeCompare(sortKey(b))));

    for (const file of summary.files) {
      expect((await objectBytes(file.key)).equals(reference.objects.get(file.key)!), file.key).toBe(true);
    }
    const listed = await stack.clients.s3.send(new ListObjectsV2Command({ Bucket: resources.rawBucket }));
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(summary.files.map((f) => f.key).sort());
  });

  it("`compacter simulate` uploads to the configured raw bucket", async () => {
    Object.assign(process.env, stack.env(resources));
    let stdout = "";
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      stdout += String(chunk);
      return true;
    });
    const code = await main([
      "simulate",
      "--devices",
      "1",
      "--hours",
      "1",
      "--rows-per-file",
      "10",
      "--start",
      "2025121300",
      "--districts",
      "BRCB",
      "--json",
    ]);
    vi.restoreAllMocks();
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as {
      files: { key: string; bytesGz: number }[];
      settings: { sink: string };
    };
    expect(summary.settings.sink).toBe(`s3://${resources.rawBucket}`);
    expect(summary.files).toHaveLength(1);
    const key = summary.files[0]!.key;
    expect((await objectBytes(key)).length).toBe(summary.files[0]!.bytesGz);
    expect((await eventRecords()).map((r) => r.key)).toEqual([key]);
  });

  it("says how to fix a missing bucket", async () => {
    Object.assign(process.env, stack.env(resources));
    let stderr = "";
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
      stderr += String(chunk);
      return true;
    });
    const code = await main([
      "simulate",
      "--devices",
      "1",
      "--hours",
      "1",
      "--rows-per-file",
      "5",
      "--raw-bucket",
      "no-such-bucket-here",
    ]);
    vi.restoreAllMocks();
    expect(code).toBe(1);
    expect(stderr).toMatch(/bucket 'no-such-bucket-here' does not exist/);
  });
});
