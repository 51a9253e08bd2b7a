import {
  createLogger,
  handleIngestMessage,
  type IngestDeps,
  InvalidEventError,
  loadConfig,
  type ManifestStore,
} from "@compacter/core";
import { describe, expect, it } from "vitest";
import { InMemoryManifestStore } from "../../../helpers/inMemoryManifestStore.js";

/**
 * Records what ingest asked the manifest to do, answered by the in-memory manifest, which
 * decides with core's own version rules (fileVersions.ts); the DynamoDB encoding of those
 * rules is tested against dynalite.
 */
function recordingStore() {
  const calls: { method: string; input: Record<string, unknown> }[] = [];
  const manifest = new InMemoryManifestStore();
  const recorded = new Set<string>(["registerCreated", "registerRemoved", "registerRejected"]);
  const store = new Proxy(manifest, {
    get: (target, property, receiver) => {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      if (!recorded.has(String(property))) return value.bind(target);
      return (input: Record<string, unknown>) => {
        calls.push({ method: String(property), input });
        return value.call(target, input);
      };
    },
  }) as ManifestStore;
  return { store, calls, manifest };
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

  it("answers redeliveries, overwrites and late older versions with the manifest's version rules", async () => {
    const { store, manifest } = recordingStore();
    const key = "in/BRCB/D1/2025121209/2025121209.txt.gz";
    const at = "2025-12-12T02:05:00.000Z";
    const outcome = async (eventName: string, extra: Record<string, unknown>) =>
      (await handleIngestMessage(message(eventName, key, at, extra), deps(store))).records[0]?.outcome;
    expect(await outcome("ObjectCreated:Put", { sequencer: "0B", eTag: "e1" })).toBe("registered");
    expect(await outcome("ObjectCreated:Put", { sequencer: "0B", eTag: "e1" })).toBe("stale");
    expect(await outcome("ObjectCreated:Put", { sequencer: "0C", eTag: "e1" })).toBe("duplicate");
    expect(await outcome("ObjectCreated:Put", { sequencer: "0A", eTag: "old" })).toBe("stale");
    expect(await outcome("ObjectCreated:Put", { sequencer: "0D", eTag: "e2" })).toBe("replaced");
    expect(await outcome("ObjectRemoved:Delete", { sequencer: "0E" })).toBe("removed");
    const partition = { day: "2025-12-12", district: "BRCB" };
    expect(await manifest.getFile(partition, key)).toMatchObject({
      status: "removed",
      eTag: "e2",
      versions: 2,
    });
  });
});
