import {
  createLogger,
  handleIngestMessage,
  type IngestDeps,
  InvalidEventError,
  loadConfig,
  type ManifestStore,
} from "@compacter/core";
import { describe, expect, it } from "vitest";

/** Records what ingest asked the manifest to do; the DynamoDB behaviour is tested against dynalite. */
function recordingStore() {
  const calls: { method: string; input: Record<string, unknown> }[] = [];
  const store = {
    registerCreated: async (input: Record<string, unknown>) => {
      calls.push({ method: "registerCreated", input });
      return { result: "registered" as const };
    },
    registerRemoved: async (input: Record<string, unknown>) => {
      calls.push({ method: "registerRemoved", input });
      return { result: "removed" as const };
    },
    registerRejected: async (input: Record<string, unknown>) => {
      calls.push({ method: "registerRejected", input });
      return { result: "rejected" as const };
    },
  } as unknown as ManifestStore;
  return { store, calls };
}

function deps(store: ManifestStore, lines: string[] = []): IngestDeps {
  return {
    store,
    config: loadConfig({ env: { COMPACTER_RAW_BUCKET: "raw", COMPACTER_RAW_PREFIX: "in/" } }),
    log: createLogger({ level: "debug", sink: (line) => lines.push(line) }),
    now: () => Date.parse("2025-12-12T06:00:00.000Z"),
  };
}

function message(eventName: string, key: string, eventTime: string, extra: Record<string, unknown> = {}) {
  const removal = !eventName.startsWith("ObjectCreated");
  return JSON.stringify({
    Records: [
      {
        eventVersion: "2.1",
        eventSource: "aws:s3",
        eventTime,
        eventName,
        s3: {
          bucket: { name: "raw" },
          object: { key, sequencer: "0A", ...(removal ? {} : { size: 5, eTag: "e" }), ...extra },
        },
      },
    ],
  });
}

describe("handleIngestMessage", () => {
  it("registers an on-time file due when its hour's window closes", async () => {
    const { store, calls } = recordingStore();
    // Hour 09:00+08:00 = 01:00Z; its window closes at 03:00Z (hour end + 60m).
    const result = await handleIngestMessage(
      message("ObjectCreated:Put", "in/BRCB/D1/2025121209/2025121209.txt.gz", "2025-12-12T02:05:00.000Z"),
      deps(store),
    );
    expect(result.records).toEqual([
      expect.objectContaining({
        outcome: "registered",
        late: false,
        partition: { day: "2025-12-12", district: "BRCB" },
      }),
    ]);
    expect(calls[0]?.method).toBe("registerCreated");
    expect(calls[0]?.input).toMatchObject({
      version: {
        key: "in/BRCB/D1/2025121209/2025121209.txt.gz",
        eTag: "e",
        size: 5,
        arrivedAt: "2025-12-12T02:05:00.000Z",
      },
      timing: { late: false, dueAtMs: Date.parse("2025-12-12T03:00:00.000Z") },
      nowIso: "2025-12-12T06:00:00.000Z",
    });
  });

  it("flags a file written after its window closed as late, due lateDebounce after it was written", async () => {
    const { store, calls } = recordingStore();
    const lines: string[] = [];
    const result = await handleIngestMessage(
      message("ObjectCreated:Put", "in/BRCB/D1/2025121209/2025121209.txt.gz", "2025-12-12T05:00:00.000Z"),
      deps(store, lines),
      { messageId: "m-1" },
    );
    expect(result.records[0]).toMatchObject({ outcome: "registered", late: true });
    expect(calls[0]?.input).toMatchObject({
      timing: { late: true, dueAtMs: Date.parse("2025-12-12T05:05:00.000Z") },
    });
    const late = lines.map((l) => JSON.parse(l)).find((l) => l.msg.startsWith("late raw file"));
    expect(late).toMatchObject({
      messageId: "m-1",
      partition: "hiveperiod=2025-12-12/district=BRCB",
      late: true,
    });
  });

  it("registers removals and rejects keys outside the layout with parseRawKey's reason", async () => {
    const { store, calls } = recordingStore();
    const removed = await handleIngestMessage(
      message("ObjectRemoved:Delete", "in/BRCB/D1/2025121209/2025121209.txt.gz", "2025-12-12T02:00:00.000Z"),
      deps(store),
    );
    expect(removed.records[0]?.outcome).toBe("removed");
    const rejected = await handleIngestMessage(
      message("ObjectCreated:Put", "in/BRCB/D1/2025121209/2025121210.txt.gz", "2025-12-12T02:00:00.000Z"),
      deps(store),
    );
    expect(rejected.records[0]).toMatchObject({
      outcome: "rejected",
      reason: expect.stringMatching(/does not match/),
    });
    expect(calls.map((c) => c.method)).toEqual(["registerRemoved", "registerRejected"]);
    expect(calls[1]?.input).toMatchObject({ reason: expect.stringMatching(/folder hour 2025121209/) });
  });

  it("skips other buckets, other event kinds and removals of unparseable keys without touching the manifest", async () => {
    const { store, calls } = recordingStore();
    const otherBucket = JSON.parse(
      message("ObjectCreated:Put", "in/BRCB/D1/2025121209/2025121209.txt.gz", "2025-12-12T02:00:00.000Z"),
    );
    otherBucket.Records[0].s3.bucket.name = "someone-else";
    const results = await Promise.all([
      handleIngestMessage(JSON.stringify(otherBucket), deps(store)),
      handleIngestMessage(
        message("ObjectRestore:Completed", "in/x", "2025-12-12T02:00:00.000Z"),
        deps(store),
      ),
      handleIngestMessage(message("ObjectRemoved:Delete", "in/x", "2025-12-12T02:00:00.000Z"), deps(store)),
    ]);
    expect(results.map((r) => r.records[0]?.outcome)).toEqual(["skipped", "skipped", "skipped"]);
    expect(results[0]?.records[0]?.reason).toMatch(/someone-else/);
    expect(calls).toEqual([]);
  });

  it("acknowledges S3's test event and throws InvalidEventError for garbage", async () => {
    const { store, calls } = recordingStore();
    const test = await handleIngestMessage(
      JSON.stringify({ Service: "Amazon S3", Event: "s3:TestEvent", Bucket: "raw" }),
      deps(store),
    );
    expect(test).toEqual({ test: true, records: [] });
    await expect(handleIngestMessage("{garbage", deps(store))).rejects.toBeInstanceOf(InvalidEventError);
    expect(calls).toEqual([]);
  });
});
