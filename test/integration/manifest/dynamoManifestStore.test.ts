import { DynamoManifestStore } from "@compacter/aws";
import {
  type ConsumedFile,
  FILE_STATUS,
  fileTiming,
  GenerationConflictError,
  type GenerationRecord,
  type InflightCommit,
  LeaseLostError,
  type ParsedRawKey,
  type PartitionId,
  parseRawKey,
  parseUtcOffset,
} from "@compacter/core";
import type { LocalResources } from "@compacter/local";
import { beforeAll, describe, expect, it } from "vitest";
import { useLocalStack } from "../../helpers/localStack.js";

const stack = useLocalStack();
let resources: LocalResources;
let store: DynamoManifestStore;

const layout = {
  rawPrefix: "",
  keyTimeZone: parseUtcOffset("+08:00"),
  partitionTimeZone: parseUtcOffset("+08:00"),
};
const windows = { closeAfterMs: 3_600_000, lateDebounceMs: 300_000 };
const NOW = "2025-12-12T03:00:00.000Z";
let districtCounter = 0;

beforeAll(async () => {
  resources = await stack.createResources("manifest-store");
  store = new DynamoManifestStore({ client: stack.clients.dynamodb, tableName: resources.manifestTable });
});

/** Each test gets its own district, so partitions never overlap between tests. */
function freshDistrict(): string {
  districtCounter += 1;
  return `D${districtCounter}`;
}

function rawFile(district: string, device = "DEV1", hour = "2025121209"): ParsedRawKey {
  const parsed = parseRawKey(`${district}/${device}/${hour}/${hour}.txt.gz`, layout);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value;
}

function created(
  file: ParsedRawKey,
  eTag: string,
  sequencer: string,
  arrivedAt = "2025-12-12T01:10:00.000Z",
) {
  return store.registerCreated({
    file,
    version: { key: file.key, eTag, size: 100, sequencer, arrivedAt },
    timing: fileTiming(file.hourStartMs, Date.parse(arrivedAt), windows),
    nowIso: NOW,
  });
}

function removed(file: ParsedRawKey, sequencer: string, arrivedAt = "2025-12-12T01:20:00.000Z") {
  return store.registerRemoved({
    file,
    sequencer,
    arrivedAt,
    timing: fileTiming(file.hourStartMs, Date.parse(arrivedAt), windows),
    nowIso: NOW,
  });
}

function consumed(
  file: ParsedRawKey,
  eTag: string,
  sequencer: string,
  outcome: ConsumedFile["outcome"],
  extra: Partial<ConsumedFile> = {},
): ConsumedFile {
  return {
    key: file.key,
    eTag,
    sequencer,
    plannedStatus: outcome === "dropped" ? "removed" : "pending",
    outcome,
    rows: outcome === "compacted" ? 3600 : 0,
    badLines: 0,
    late: false,
    ...extra,
  };
}

describe("registration is idempotent per object version", () => {
  it("records the same notification delivered 5× once, with one pending file", async () => {
    const file = rawFile(freshDistrict());
    const results = [];
    for (let i = 0; i < 5; i++) results.push((await created(file, "e1", "0055AED6DCD90281E5")).result);
    expect(results).toEqual(["registered", "stale", "stale", "stale", "stale"]);
    const files = await store.listFiles(file.partition);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({
      key: file.key,
      status: "pending",
      eTag: "e1",
      versions: 1,
      deviceId: "DEV1",
      hourKey: "2025121209",
      hourStart: "2025-12-12T01:00:00.000Z",
      sequencer: "0000000000000055AED6DCD90281E5".padStart(32, "0"),
      late: false,
      dueAt: "2025-12-12T03:00:00.000Z",
    });
    expect(await store.listFiles(file.partition, "pending")).toHaveLength(1);
    const due = (await store.listDue()).filter((d) => d.partition.district === file.partition.district);
    expect(due).toEqual([
      expect.objectContaining({ kind: "file", key: file.key, status: "pending", late: false }),
    ]);
  });

  it("makes an overwrite pending again and keeps the compacted eTag", async () => {
    const file = rawFile(freshDistrict());
    await created(file, "e1", "10");
    await store.markConsumed(file.partition, 1, [consumed(file, "e1", "10", "compacted")], NOW);
    expect(await store.getFile(file.partition, file.key)).toMatchObject({
      status: "compacted",
      compactedETag: "e1",
    });
    expect((await store.listDue()).some((d) => d.key === file.key)).toBe(false);

    expect((await created(file, "e2", "20")).result).toBe("replaced");
    expect(await store.getFile(file.partition, file.key)).toMatchObject({
      status: "pending",
      eTag: "e2",
      compactedETag: "e1",
      compactedGeneration: 1,
      versions: 2,
    });
    expect((await store.getFile(file.partition, file.key))?.rows).toBeUndefined();
    expect((await store.listDue()).some((d) => d.key === file.key)).toBe(true);
  });

  it("ignores an older sequencer arriving after a newer one", async () => {
    const file = rawFile(freshDistrict());
    expect((await created(file, "new", "0F")).result).toBe("registered");
    expect((await created(file, "old", "0E")).result).toBe("stale");
    // Shorter sequencers compare after left-padding: "F" is newer than "0E", older than "010".
    expect((await created(file, "older", "E")).result).toBe("stale");
    expect(await store.getFile(file.partition, file.key)).toMatchObject({ eTag: "new", versions: 1 });
    expect((await created(file, "newest", "010")).result).toBe("replaced");
  });

  it("treats the same eTag under a newer sequencer as a duplicate that only advances the sequencer", async () => {
    const file = rawFile(freshDistrict());
    await created(file, "same", "100");
    await store.markConsumed(file.partition, 1, [consumed(file, "same", "100", "compacted")], NOW);
    expect((await created(file, "same", "200")).result).toBe("duplicate");
    const record = await store.getFile(file.partition, file.key);
    expect(record).toMatchObject({ status: "compacted", versions: 1 });
    expect(record?.sequencer.endsWith("200")).toBe(true);
    // The old sequencer is now stale.
    expect((await created(file, "other", "150")).result).toBe("stale");
  });

  it("keeps a file removed when an older create arrives after the removal", async () => {
    const file = rawFile(freshDistrict());
    expect((await removed(file, "50")).result).toBe("removed");
    expect((await created(file, "e1", "40")).result).toBe("stale");
    const tombstone = await store.getFile(file.partition, file.key);
    expect(tombstone).toMatchObject({ status: "removed", versions: 0 });
    expect(tombstone?.dueAt).toBeUndefined();
    // A later re-upload is a new version.
    expect((await created(file, "e2", "60")).result).toBe("replaced");
    expect(await store.getFile(file.partition, file.key)).toMatchObject({ status: "pending", eTag: "e2" });
  });

  it("makes a removed file due, ignores an older removal and counts a second removal as a duplicate", async () => {
    const file = rawFile(freshDistrict());
    await created(file, "e1", "10");
    expect((await removed(file, "09")).result).toBe("stale");
    expect((await removed(file, "11")).result).toBe("removed");
    const record = await store.getFile(file.partition, file.key);
    expect(record).toMatchObject({ status: "removed", eTag: "e1" });
    expect(record?.dueAt).toBeDefined();
    expect((await removed(file, "12")).result).toBe("duplicate");
    expect((await removed(file, "12")).result).toBe("stale");
    // A re-upload of the very same content after a removal is a new version: it must come back.
    expect((await created(file, "e1", "13")).result).toBe("replaced");
    expect(await store.getFile(file.partition, file.key)).toMatchObject({ status: "pending" });
  });

  it("records a rejected key with its reason in the problems index", async () => {
    const key = `bad-${freshDistrict()}/nope.txt`;
    const version = { key, eTag: "e", size: 1, sequencer: "01", arrivedAt: "2025-12-12T01:00:00.000Z" };
    expect((await store.registerRejected({ version, reason: "wrong depth", nowIso: NOW })).result).toBe(
      "rejected",
    );
    expect((await store.registerRejected({ version, reason: "wrong depth", nowIso: NOW })).result).toBe(
      "stale",
    );
    const problems = await store.listProblems("rejected");
    expect(problems.filter((p) => p.key === key)).toEqual([
      expect.objectContaining({ key, status: "rejected", reason: "wrong depth", eTag: "e" }),
    ]);
  });

  it("creates the partition item at the first registration, listed by day and by district", async () => {
    const district = freshDistrict();
    await created(rawFile(district, "A", "2025121209"), "e", "1");
    await created(rawFile(district, "A", "2025121309"), "e", "1");
    const state = await store.getPartition({ day: "2025-12-12", district });
    expect(state).toMatchObject({ generation: 0, files: [], rows: 0, bytes: 0 });
    const ofDay = await store.listPartitionsOfDay("2025-12-12");
    expect(ofDay.filter((p) => p.partition.district === district)).toHaveLength(1);
    const range = await store.listPartitionsOfDistrict(district, "2025-12-12", "2025-12-13");
    expect(range.map((p) => p.partition.day)).toEqual(["2025-12-12", "2025-12-13"]);
    expect(await store.listPartitionsOfDistrict(district, "2025-12-13", "2025-12-20")).toHaveLength(1);
  });

  it("lists due work up to a time", async () => {
    const district = freshDistrict();
    const early = rawFile(district, "A", "2025121101");
    const late = rawFile(district, "B", "2025121109");
    await created(early, "e", "1", "2025-12-10T17:30:00.000Z");
    await created(late, "e", "1", "2025-12-12T05:00:00.000Z");
    const mine = (entries: Awaited<ReturnType<typeof store.listDue>>) =>
      entries.filter((d) => d.partition.district === district).map((d) => d.key);
    expect(mine(await store.listDue("2025-12-10T19:00:00.000Z"))).toEqual([early.key]);
    expect(mine(await store.listDue()).sort()).toEqual([early.key, late.key].sort());
    const lateEntry = (await store.listDue()).find((d) => d.key === late.key);
    expect(lateEntry).toMatchObject({ late: true, dueAt: "2025-12-12T05:05:00.000Z" });
  });
});

describe("lease", () => {
  it("is taken when free, refused while held, taken over when expired, renewed and released by its owner", async () => {
    const partition = { day: "2025-12-12", district: freshDistrict() };
    const first = await store.acquireLease(partition, "w1", 10_000, 1_000);
    expect(first).toMatchObject({ generation: 0, leaseOwner: "w1", leaseExpiresAt: 10_000, files: [] });
    expect(await store.acquireLease(partition, "w2", 12_000, 5_000)).toBeUndefined();
    expect(await store.acquireLease(partition, "w1", 15_000, 5_000)).toMatchObject({
      leaseExpiresAt: 15_000,
    });
    expect(await store.renewLease(partition, "w1", 20_000)).toBe(true);
    expect(await store.renewLease(partition, "w2", 20_000)).toBe(false);
    expect(await store.acquireLease(partition, "w2", 30_000, 20_000)).toMatchObject({ leaseOwner: "w2" });
    expect(await store.renewLease(partition, "w1", 40_000)).toBe(false);
    await store.releaseLease(partition, "w1");
    expect((await store.getPartition(partition))?.leaseOwner).toBe("w2");
    await store.releaseLease(partition, "w2");
    expect((await store.getPartition(partition))?.leaseOwner).toBeUndefined();
    expect(await store.acquireLease(partition, "w3", 50_000, 21_000)).toMatchObject({ leaseOwner: "w3" });
  });
});

describe("commit protocol", () => {
  const lakeFile = { key: "hiveperiod=2025-12-12/district=X/data_1.parquet", rows: 10, bytes: 100 };

  function commitInput(partition: PartitionId, expectedGeneration: number, owner: string, nowMs: number) {
    const inflight: InflightCommit = {
      attemptId: `a${expectedGeneration + 1}`,
      generation: expectedGeneration + 1,
      staged: [{ stagingKey: "_staging/x", lakeKey: lakeFile.key }],
    };
    return {
      partition,
      expectedGeneration,
      owner,
      nowMs,
      files: [lakeFile],
      rows: 10,
      bytes: 100,
      plan: "append" as const,
      inflight,
      committedAt: NOW,
      dueAt: "2025-12-12T04:00:00.000Z",
    };
  }

  it("commits once; a stale generation, a foreign or expired lease, and a commit in flight are refused", async () => {
    const partition = { day: "2025-12-12", district: freshDistrict() };
    await store.acquireLease(partition, "w1", 100_000, 1_000);

    await expect(store.commitGeneration(commitInput(partition, 0, "w2", 2_000))).rejects.toBeInstanceOf(
      LeaseLostError,
    );
    await expect(store.commitGeneration(commitInput(partition, 0, "w1", 100_000))).rejects.toBeInstanceOf(
      LeaseLostError,
    );
    await expect(store.commitGeneration(commitInput(partition, 3, "w1", 2_000))).rejects.toBeInstanceOf(
      GenerationConflictError,
    );

    await store.commitGeneration(commitInput(partition, 0, "w1", 2_000));
    const state = await store.getPartition(partition);
    expect(state).toMatchObject({
      generation: 1,
      files: [lakeFile],
      rows: 10,
      bytes: 100,
      lastPlan: "append",
      lastCompactedAt: NOW,
      inflight: { attemptId: "a1", generation: 1 },
      dueAt: "2025-12-12T04:00:00.000Z",
    });
    // The same commit again: the generation moved.
    await expect(store.commitGeneration(commitInput(partition, 0, "w1", 2_000))).rejects.toBeInstanceOf(
      GenerationConflictError,
    );
    // The next generation while this one is still in flight.
    const inFlight = store.commitGeneration(commitInput(partition, 1, "w1", 2_000));
    await expect(inFlight).rejects.toBeInstanceOf(GenerationConflictError);
    await expect(inFlight).rejects.toThrow(/in flight/);
    expect((await store.listDue()).filter((d) => d.partition.district === partition.district)).toEqual([
      expect.objectContaining({ kind: "partition", dueAt: "2025-12-12T04:00:00.000Z" }),
    ]);

    // finishCommit: another attempt's id changes nothing; ours clears inflight and sets the due time.
    await store.finishCommit(partition, "someone-else", undefined);
    expect((await store.getPartition(partition))?.inflight).toBeDefined();
    await store.finishCommit(partition, "a1", "2025-12-12T17:00:00.000Z");
    const finished = await store.getPartition(partition);
    expect(finished?.inflight).toBeUndefined();
    expect(finished?.dueAt).toBe("2025-12-12T17:00:00.000Z");
    // A repeat is a no-op (it must not clear the due time set by the first).
    await store.finishCommit(partition, "a1", undefined);
    expect((await store.getPartition(partition))?.dueAt).toBe("2025-12-12T17:00:00.000Z");

    await store.commitGeneration(commitInput(partition, 1, "w1", 2_000));
    expect((await store.getPartition(partition))?.generation).toBe(2);
    await store.finishCommit(partition, "a2", undefined);
    const cleared = await store.getPartition(partition);
    expect(cleared?.dueAt).toBeUndefined();
    expect((await store.listDue()).some((d) => d.partition.district === partition.district)).toBe(false);
  });

  it("marks each outcome, falls back when a newer version arrived, and repeats as a no-op", async () => {
    const district = freshDistrict();
    const ok = rawFile(district, "OK");
    const bad = rawFile(district, "BAD");
    const gone = rawFile(district, "GONE");
    const raced = rawFile(district, "RACED");
    const partition = ok.partition;
    await created(ok, "ok1", "10");
    await created(bad, "bad1", "10");
    await created(gone, "gone1", "10");
    await store.markConsumed(partition, 1, [consumed(gone, "gone1", "10", "compacted")], NOW);
    await removed(gone, "11");
    await created(raced, "r1", "10");

    // While generation 2 compacts, a new version of RACED arrives.
    await created(raced, "r2", "20");
    const marks = [
      consumed(ok, "ok1", "10", "compacted", { rows: 42, badLines: 2, nullHeartbeats: 1 }),
      consumed(bad, "bad1", "10", "quarantined", { error: "gzip stream is truncated" }),
      consumed(gone, "gone1", normalised("11"), "dropped"),
      consumed(raced, "r1", "10", "compacted"),
    ];
    await store.markConsumed(partition, 2, marks, "2025-12-12T03:30:00.000Z");

    const byKey = async (file: ParsedRawKey) => store.getFile(partition, file.key);
    const okRecord = await byKey(ok);
    expect(okRecord).toMatchObject({
      status: "compacted",
      compactedETag: "ok1",
      compactedGeneration: 2,
      rows: 42,
      badLines: 2,
    });
    expect(okRecord?.dueAt).toBeUndefined();

    const badRecord = await byKey(bad);
    expect(badRecord).toMatchObject({
      status: "quarantined",
      error: "gzip stream is truncated",
      compactedGeneration: 2,
    });
    expect(badRecord?.dueAt).toBeUndefined();
    expect(badRecord?.compactedETag).toBeUndefined();
    const problems = await store.listProblems("quarantined");
    expect(problems.filter((p) => p.key === bad.key)).toEqual([
      expect.objectContaining({ status: "quarantined", error: "gzip stream is truncated" }),
    ]);

    const goneRecord = await byKey(gone);
    expect(goneRecord).toMatchObject({ status: "removed", compactedGeneration: 2 });
    expect(goneRecord?.compactedETag).toBeUndefined();
    expect(goneRecord?.dueAt).toBeUndefined();

    // Newer version: keeps its pending state, records that r1's rows are in the lake, stays due.
    const racedRecord = await byKey(raced);
    expect(racedRecord).toMatchObject({
      status: "pending",
      eTag: "r2",
      compactedETag: "r1",
      compactedGeneration: 2,
    });
    expect(racedRecord?.dueAt).toBeDefined();

    // A repeat (a worker finishing the same commit again) changes nothing.
    const before = await store.listFiles(partition);
    await store.markConsumed(partition, 2, marks, "2025-12-12T09:00:00.000Z");
    expect(await store.listFiles(partition)).toEqual(before);
  });

  it("keeps intents and history apart from the partition's files", async () => {
    const district = freshDistrict();
    const file = rawFile(district);
    await created(file, "e1", "10");
    const record: GenerationRecord = {
      partition: file.partition,
      generation: 1,
      attemptId: "att1",
      plan: "append",
      reason: "1 file(s) over 1 hour(s)",
      worker: "host/1",
      startedAt: NOW,
      committedAt: NOW,
      durationMs: 1234,
      inputs: [consumed(file, "e1", "10", "compacted")],
      lakeInputs: [],
      outputs: [lakeFile],
      replaced: [],
      staged: [{ stagingKey: "_staging/x", lakeKey: lakeFile.key }],
      rowsIn: 10,
      rowsOut: 10,
      rowsDropped: 0,
      bytesIn: 100,
      bytesOut: 100,
      lateFiles: 0,
      badLines: 0,
      nulledValues: { speed: 3 },
      addedColumns: ["speed"],
      unstoredFields: [],
      schemaColumns: 1,
    };
    await store.putIntent(record);
    expect(await store.getIntent(file.partition, "att1")).toEqual(record);
    expect(await store.listIntents(file.partition)).toEqual([record]);
    await store.putHistory(record);
    await store.putHistory({ ...record, generation: 2, attemptId: "att2" });
    expect((await store.listHistory(file.partition)).map((h) => h.generation)).toEqual([1, 2]);
    expect(await store.listHistory(file.partition)).toContainEqual(record);

    const snapshot = await store.readPartition(file.partition);
    expect(snapshot.state).toMatchObject({ generation: 0 });
    expect(snapshot.files.map((f) => f.key)).toEqual([file.key]);

    await store.deleteIntent(file.partition, "att1");
    expect(await store.getIntent(file.partition, "att1")).toBeUndefined();
    expect(await store.listIntents(file.partition)).toEqual([]);
  });
});

describe("operations", () => {
  it("re-queues a quarantined file and nothing else", async () => {
    const file = rawFile(freshDistrict());
    await created(file, "e1", "10");
    expect(await store.requeueQuarantined(file.partition, file.key, NOW, NOW)).toBe(false);
    await store.markConsumed(
      file.partition,
      1,
      [consumed(file, "e1", "10", "quarantined", { error: "bad" })],
      NOW,
    );
    expect(await store.requeueQuarantined(file.partition, file.key, "2025-12-12T05:00:00.000Z", NOW)).toBe(
      true,
    );
    const record = await store.getFile(file.partition, file.key);
    expect(record).toMatchObject({ status: FILE_STATUS.pending, dueAt: "2025-12-12T05:00:00.000Z" });
    expect(record?.error).toBeUndefined();
    expect((await store.listProblems("quarantined")).some((p) => p.key === file.key)).toBe(false);
    expect(await store.requeueQuarantined(file.partition, file.key, NOW, NOW)).toBe(false);
  });

  it("sets and clears a partition's own due time", async () => {
    const partition = { day: "2025-12-12", district: freshDistrict() };
    await store.setPartitionDue(partition, "2025-12-12T17:00:00.000Z");
    expect(await store.getPartition(partition)).toMatchObject({
      generation: 0,
      dueAt: "2025-12-12T17:00:00.000Z",
    });
    await store.setPartitionDue(partition, undefined);
    expect((await store.getPartition(partition))?.dueAt).toBeUndefined();
  });

  it("writes a district schema only over the version it was derived from", async () => {
    const district = freshDistrict();
    const columns = [{ name: "speed", type: "DOUBLE" as const }];
    expect(await store.getSchema(district)).toBeUndefined();
    expect(await store.putSchema({ district, version: 1, columns })).toBe(true);
    expect(await store.putSchema({ district, version: 1, columns })).toBe(false);
    expect(await store.putSchema({ district, version: 3, columns })).toBe(false);
    const wider = [...columns, { name: "rpm", type: "INTEGER" as const }];
    expect(await store.putSchema({ district, version: 2, columns: wider })).toBe(true);
    expect(await store.putSchema({ district, version: 2, columns })).toBe(false);
    expect(await store.getSchema(district)).toEqual({ district, version: 2, columns: wider });
  });
});

function normalised(sequencer: string): string {
  return sequencer.toUpperCase().padStart(32, "0");
}
