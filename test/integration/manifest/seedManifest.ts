import type { DynamoManifestStore } from "@compacter/aws";
import { type CompacterConfig, fileTiming, type GenerationRecord, parseRawKey } from "@compacter/core";

/**
 * A manifest in the state docs/manifest.md's examples talk about: partition
 * 2025-12-12/BRCB with one generation committed (one file compacted, one quarantined), a
 * pending and a late file still due, a merge due at day close; BRCB partitions on the two
 * days before; a KLTA partition the same day, failing; one rejected key.
 */
export const SEED = {
  partition: { day: "2025-12-12", district: "BRCB" },
  compacted: "BRCB/SLS30I001/2025121209/2025121209.txt.gz",
  quarantined: "BRCB/SLS30I002/2025121209/2025121209.txt.gz",
  pending: "BRCB/SLS30I001/2025121210/2025121210.txt.gz",
  late: "BRCB/SLS30I003/2025121208/2025121208.txt.gz",
  otherDays: ["BRCB/SLS30I001/2025121009/2025121009.txt.gz", "BRCB/SLS30I001/2025121109/2025121109.txt.gz"],
  otherDistrict: "KLTA/SLS31I001/2025121209/2025121209.txt.gz",
  rejected: "BRCB/SLS30I001/notes.txt.gz",
  lakeFile: "hiveperiod=2025-12-12/district=BRCB/data_000001_a_0.parquet",
  failing: { day: "2025-12-12", district: "KLTA" },
} as const;

export async function seedManifest(store: DynamoManifestStore, config: CompacterConfig): Promise<void> {
  const register = async (key: string, arrivedAt: string, sequencer = "0A", eTag = `etag-${key.length}`) => {
    const parsed = parseRawKey(key, config);
    if (!parsed.ok) throw new Error(parsed.reason);
    await store.registerCreated({
      file: parsed.value,
      version: { key, eTag, size: 2048, sequencer, arrivedAt },
      timing: fileTiming(parsed.value.hourStartMs, Date.parse(arrivedAt), config),
      nowIso: arrivedAt,
    });
    return parsed.value;
  };
  // Hour 09:00 +08:00 is 01:00Z; its window closes at 03:00Z.
  await register(SEED.compacted, "2025-12-12T01:58:00.000Z", "0A", "c0ffee");
  await register(SEED.quarantined, "2025-12-12T01:59:00.000Z", "0B", "badbad");
  await register(SEED.pending, "2025-12-12T02:58:00.000Z");
  await register(SEED.late, "2025-12-12T05:00:00.000Z");
  for (const key of SEED.otherDays) await register(key, "2025-12-11T02:00:00.000Z");
  await register(SEED.otherDistrict, "2025-12-12T01:50:00.000Z");
  await store.registerRejected({
    version: {
      key: SEED.rejected,
      eTag: "e",
      size: 12,
      sequencer: "01",
      arrivedAt: "2025-12-12T02:00:00.000Z",
    },
    reason:
      "expected {district}/{deviceId}/{YYYYMMDDHH}/{YYYYMMDDHH}.txt.gz after the prefix, got 3 path segment(s)",
    nowIso: "2025-12-12T02:00:00.000Z",
  });

  const partition = SEED.partition;
  const owner = "seed-worker/1";
  await store.acquireLease(
    partition,
    owner,
    Date.parse("2025-12-12T03:10:00.000Z"),
    Date.parse("2025-12-12T03:01:00.000Z"),
  );
  const lakeFile = { key: SEED.lakeFile, rows: 3600, bytes: 150_000 };
  const record: GenerationRecord = {
    partition,
    generation: 1,
    attemptId: "a",
    plan: "append",
    reason: "2 file(s) over 1 hour(s)",
    worker: owner,
    startedAt: "2025-12-12T03:01:00.000Z",
    committedAt: "2025-12-12T03:01:05.000Z",
    durationMs: 5000,
    inputs: [
      {
        key: SEED.compacted,
        eTag: "c0ffee",
        sequencer: "0A",
        plannedStatus: "pending",
        outcome: "compacted",
        rows: 3600,
        badLines: 2,
        late: false,
      },
      {
        key: SEED.quarantined,
        eTag: "badbad",
        sequencer: "0B",
        plannedStatus: "pending",
        outcome: "quarantined",
        rows: 0,
        badLines: 0,
        late: false,
        error: "gzip stream is truncated (unexpected end of file)",
      },
    ],
    lakeInputs: [],
    outputs: [lakeFile],
    replaced: [],
    staged: [{ stagingKey: `_staging/${SEED.lakeFile}`, lakeKey: SEED.lakeFile }],
    rowsIn: 3600,
    rowsOut: 3600,
    rowsDropped: 0,
    bytesIn: 4096,
    bytesOut: 150_000,
    lateFiles: 0,
    badLines: 2,
    nulledValues: { speed: 4 },
    addedColumns: ["speed"],
    unstoredFields: [],
    schemaColumns: 179,
  };
  await store.putIntent(record);
  await store.commitGeneration({
    partition,
    expectedGeneration: 0,
    owner,
    nowMs: Date.parse("2025-12-12T03:01:05.000Z"),
    files: [lakeFile],
    rows: 3600,
    bytes: 150_000,
    plan: "append",
    inflight: { attemptId: "a", generation: 1, staged: record.staged },
    committedAt: "2025-12-12T03:01:05.000Z",
    dueAt: "2025-12-12T03:06:05.000Z",
    narrowColumns: { rpm: "INTEGER" },
  });
  await store.markConsumed(partition, 1, record.inputs, "2025-12-12T03:01:06.000Z");
  await store.putHistory(record);
  await store.finishCommit(partition, "a", "2025-12-12T17:00:00.000Z");
  await store.deleteIntent(partition, "a");
  await store.releaseLease(partition, owner);

  // The KLTA partition's compactions keep failing (its lake writes are refused).
  await store.recordFailure(
    SEED.failing,
    {
      since: "2025-12-12T04:00:00.000Z",
      attempts: 3,
      lastError: "AccessDenied: Access Denied",
      lastFailedAt: "2025-12-12T05:00:00.000Z",
      nextRetryAt: "2025-12-12T06:00:00.000Z",
      retryable: true,
    },
    { clearQueued: true },
  );

  // The type ledger, as the compaction above left it and a later day widened it.
  const ledger = {
    version: 1,
    columns: [
      { name: "speed", type: "DOUBLE", firstSeen: "2025-12-12T03:01:05.000Z" },
      { name: "rpm", type: "INTEGER", firstSeen: "2025-12-12T03:01:05.000Z" },
    ],
    districts: ["BRCB"],
    firstDay: "2025-12-12",
    updatedAt: "2025-12-12T03:01:05.000Z",
  } as const;
  if (!(await store.putLedger(ledger))) throw new Error("ledger v1 not written");
  const widened = {
    ...ledger,
    version: 2,
    columns: [
      ledger.columns[0],
      { ...ledger.columns[1], type: "DOUBLE", lastWidened: "2025-12-13T02:00:00.000Z" },
    ],
    updatedAt: "2025-12-13T02:00:00.000Z",
  } as const;
  if (await store.putLedger({ ...widened, version: 1 }))
    throw new Error("a stale ledger version was written");
  if (!(await store.putLedger(widened))) throw new Error("ledger v2 not written");
}
