import {
  type CompacterConfig,
  type CompactionOutcome,
  compactPartition,
  FAULT_POINTS,
  type FaultInjector,
  type FaultPoint,
  fileTiming,
  InjectedFaultError,
  loadConfig,
  type ManifestStore,
  type ObjectStore,
  type PartitionId,
  parseRawKey,
  removeOrphans,
  silentLogger,
} from "@compacter/core";
import { LocalScratchSpace } from "@compacter/wiring";
import { describe, expect, it } from "vitest";
import {
  CrashAtCall,
  InMemoryObjectStore,
  jsonEngine,
  type SourceRows,
  sumRows,
} from "../../helpers/inMemoryLake.js";
import { InMemoryManifestStore } from "../../helpers/inMemoryManifestStore.js";

/**
 * The commit protocol and compaction planning against the in-memory manifest (core's own
 * rules), an in-memory bucket and a JSON engine: the same guarantees the dynalite + DuckDB
 * crash tests prove (test/integration/compaction/crashRecovery.test.ts), here for a crash at
 * every named step AND at every single request a compaction makes, in milliseconds.
 */
const config: CompacterConfig = loadConfig({
  env: { COMPACTER_RAW_BUCKET: "raw", COMPACTER_LAKE_BUCKET: "lake", COMPACTER_LAKE_PREFIX: "lake/" },
});
const layout = {
  rawPrefix: "",
  keyTimeZone: config.keyTimeZone,
  partitionTimeZone: config.partitionTimeZone,
};
const partition: PartitionId = { day: "2025-12-12", district: "BRCB" };
// 2025-12-12 11:30 at +08:00: the day is open; hour 09's window closed at 03:00Z.
const START_MS = Date.parse("2025-12-12T03:30:00.000Z");
// Hour 11 at +08:00 (03:00Z–04:00Z): written on time at 03:50Z, due when its window closes at 05:00Z.
const HOUR_11_WRITTEN = Date.parse("2025-12-12T03:50:00.000Z");
const HOUR_11_DUE = Date.parse("2025-12-12T05:00:00.000Z");
const LEASE_MS = config.leaseDurationMs;

interface World {
  readonly store: InMemoryManifestStore;
  readonly objects: InMemoryObjectStore;
  readonly clock: { nowMs: number; now(): number };
  sequencer: number;
}

function world(): World {
  const clock = {
    nowMs: START_MS,
    now() {
      return this.nowMs;
    },
  };
  return { store: new InMemoryManifestStore(), objects: new InMemoryObjectStore(), clock, sequencer: 0 };
}

/** Uploads a raw file with `rows` rows and registers its notification (arrival = the clock). */
async function upload(w: World, device: string, hour: string, rows: number | "garbage"): Promise<string> {
  const parsed = parseRawKey(`BRCB/${device}/${hour}/${hour}.txt.gz`, layout);
  if (!parsed.ok) throw new Error(parsed.reason);
  const file = parsed.value;
  const eTag = w.objects.put("raw", file.key, rows === "garbage" ? "garbage" : JSON.stringify({ rows }));
  w.sequencer += 1;
  await w.store.registerCreated({
    file,
    version: {
      key: file.key,
      eTag,
      size: 10,
      sequencer: w.sequencer.toString(16),
      arrivedAt: new Date(w.clock.nowMs).toISOString(),
    },
    timing: fileTiming(file.hourStartMs, w.clock.nowMs, config),
    nowIso: new Date(w.clock.nowMs).toISOString(),
  });
  return file.key;
}

function compact(
  w: World,
  options: { workerId?: string; faults?: FaultInjector; store?: ManifestStore; objects?: ObjectStore } = {},
): Promise<CompactionOutcome> {
  return compactPartition(
    {
      store: options.store ?? w.store,
      objects: options.objects ?? w.objects,
      engine: jsonEngine(),
      config,
      clock: w.clock,
      faults: options.faults ?? { at: async () => {} },
      log: silentLogger,
      workerId: options.workerId ?? "worker",
      scratch: new LocalScratchSpace(config.tempDir),
    },
    { partition },
  );
}

function throwAt(point: FaultPoint): FaultInjector {
  return {
    at: async (reached) => {
      if (reached === point) throw new InjectedFaultError(point);
    },
  };
}

/** Rows per source through the manifest's current file list (reading staged copies until published). */
async function manifestRows(w: World): Promise<SourceRows> {
  const state = await w.store.getPartition(partition);
  const staged = new Map(state?.inflight?.staged.map((s) => [s.lakeKey, s.stagingKey]) ?? []);
  return sumRows(
    (state?.files ?? []).map(
      (f) => w.objects.read("lake", f.key) ?? w.objects.read("lake", staged.get(f.key) ?? ""),
    ),
  );
}

/** Rows per source by globbing the partition's lake folder, as any Hive reader does. */
function lakeRows(w: World): SourceRows {
  const prefix = `lake/hiveperiod=${partition.day}/district=${partition.district}/`;
  return sumRows(w.objects.keys("lake", prefix).map((k) => w.objects.read("lake", k)));
}

/**
 * Generation 1 appends hour 09 (two devices); then both files are overwritten and a new
 * hour arrives, so generation 2 is a merge that drops replaced rows: every step of the
 * commit has something to do (stage, intent, commit, publish, delete replaced, mark, history,
 * finish, cleanup).
 */
async function beforeTheMerge(w: World): Promise<SourceRows> {
  const a = await upload(w, "D1", "2025121209", 10);
  const b = await upload(w, "D2", "2025121209", 20);
  expect(await compact(w)).toMatchObject({ status: "committed", plan: "append", generation: 1 });
  w.clock.nowMs += 10 * 60_000;
  await upload(w, "D1", "2025121209", 11);
  await upload(w, "D2", "2025121209", 21);
  w.clock.nowMs = HOUR_11_WRITTEN;
  const c = await upload(w, "D1", "2025121211", 30);
  w.clock.nowMs = HOUR_11_DUE + 1;
  return { [a]: 11, [b]: 21, [c]: 30 };
}

/** What every recovery must leave: exactly the expected rows, whichever way they are read, and a clean manifest. */
async function expectExactlyOnce(w: World, expected: SourceRows): Promise<void> {
  expect(await manifestRows(w)).toEqual(expected);
  expect(lakeRows(w)).toEqual(expected);
  const state = await w.store.getPartition(partition);
  expect(state?.inflight).toBeUndefined();
  expect(state?.generation).toBe(2);
  const lakeKeys = w.objects.keys("lake", `lake/hiveperiod=${partition.day}/`);
  expect(lakeKeys).toEqual(state?.files.map((f) => f.key).sort());
  const files = await w.store.listFiles(partition);
  expect(files.map((f) => [f.status, f.dueAt])).toEqual(files.map(() => ["compacted", undefined]));
  expect(files.every((f) => f.compactedETag === f.eTag)).toBe(true);
  expect((await w.store.listHistory(partition)).map((g) => g.generation)).toEqual([1, 2]);
  // What a crash left outside the manifest is an orphan the sweep removes.
  w.clock.nowMs += 7 * 3_600_000;
  await removeOrphans({ store: w.store, objects: w.objects, config, clock: w.clock, log: silentLogger });
  expect(w.objects.keys("lake", config.stagingPrefix)).toEqual([]);
  expect(await w.store.listIntents(partition)).toEqual([]);
}

const COMMITTED_AT = new Set<FaultPoint>([
  "afterCommit",
  "afterPublish",
  "afterDeleteReplaced",
  "afterMark",
  "afterHistory",
  "afterFinish",
]);

describe.each(FAULT_POINTS)("a worker killed %s", (point) => {
  it("leaves a partition the next worker completes with every row exactly once", async () => {
    const w = world();
    const expected = await beforeTheMerge(w);
    await expect(compact(w, { faults: throwAt(point), workerId: "doomed" })).rejects.toThrow(
      InjectedFaultError,
    );
    expect((await w.store.getPartition(partition))?.generation).toBe(COMMITTED_AT.has(point) ? 2 : 1);
    // The dead worker still holds the lease.
    expect((await compact(w, { workerId: "impatient" })).status).toBe("busy");

    w.clock.nowMs += LEASE_MS + 1;
    const recovery = await compact(w, { workerId: "rescuer" });
    if (COMMITTED_AT.has(point)) {
      expect(recovery).toMatchObject({ rolledForward: point !== "afterFinish", status: "nothing" });
    } else {
      expect(recovery).toMatchObject({ status: "committed", plan: "merge", generation: 2 });
    }
    await expectExactlyOnce(w, expected);
  });
});

describe("a worker killed before any single request of a merge", () => {
  it("is finished or redone by the next worker, whichever request it died at", async () => {
    const crashes: string[] = [];
    for (let n = 1; ; n++) {
      const w = world();
      const expected = await beforeTheMerge(w);
      const crash = new CrashAtCall(n);
      const store = crash.wrap(w.store, MANIFEST_METHODS);
      const objects = crash.wrap(w.objects, ["download", "upload", "copy", "exists", "deleteMany"]);
      const outcome = await compact(w, { store, objects, workerId: "doomed" }).catch(
        (error: unknown) => error,
      );
      if (!(outcome instanceof InjectedFaultError)) {
        // n is past the last request: the merge completed untouched.
        expect(outcome).toMatchObject({ status: "committed", plan: "merge" });
        break;
      }
      crashes.push(outcome.point);
      w.clock.nowMs += LEASE_MS + 1;
      await compact(w, { workerId: "rescuer" });
      await expectExactlyOnce(w, expected);
    }
    // Every step's requests were crashed at, publish's copy and the marks included.
    for (const request of [
      "putIntent",
      "commitGeneration",
      "copy",
      "markConsumed",
      "putHistory",
      "finishCommit",
    ]) {
      expect(crashes.some((c) => c.includes(`(${request})`))).toBe(true);
    }
  });
});

describe("planning and the commit, end to end in memory", () => {
  it("appends closed hours while the day is open and merges once it closes", async () => {
    const w = world();
    const a = await upload(w, "D1", "2025121209", 5);
    expect(await compact(w)).toMatchObject({ status: "committed", plan: "append", generation: 1 });
    w.clock.nowMs = HOUR_11_WRITTEN;
    const b = await upload(w, "D2", "2025121211", 7);
    expect(await compact(w)).toMatchObject({ status: "nothing", reason: "nothing due" });
    w.clock.nowMs = HOUR_11_DUE + 1;
    expect(await compact(w)).toMatchObject({ status: "committed", plan: "append", generation: 2 });
    const open = await w.store.getPartition(partition);
    expect(open?.files).toHaveLength(2);
    // Due at the day's close, so it merges then even with no new raw file.
    expect(open?.dueAt).toBe("2025-12-12T17:00:00.000Z");
    w.clock.nowMs = Date.parse("2025-12-12T17:00:00.000Z") + 1;
    expect(await compact(w)).toMatchObject({ status: "committed", plan: "merge", reason: "day closed" });
    expect(await manifestRows(w)).toEqual({ [a]: 5, [b]: 7 });
    expect(lakeRows(w)).toEqual({ [a]: 5, [b]: 7 });
    expect((await w.store.getPartition(partition))?.dueAt).toBeUndefined();
  });

  it("quarantines an unreadable file, drops a removed file's rows, and lets the loser of a race discard its attempt", async () => {
    const w = world();
    const good = await upload(w, "D1", "2025121209", 5);
    const gone = await upload(w, "D2", "2025121209", 6);
    const bad = await upload(w, "D3", "2025121209", "garbage");
    expect(await compact(w)).toMatchObject({ status: "committed", generation: 1 });
    expect(await w.store.getFile(partition, bad)).toMatchObject({
      status: "quarantined",
      error: "not a raw file",
    });

    const parsed = parseRawKey(gone, layout);
    if (!parsed.ok) throw new Error(parsed.reason);
    await w.objects.deleteMany("raw", [gone]);
    await w.store.registerRemoved({
      file: parsed.value,
      sequencer: "FF",
      arrivedAt: new Date(w.clock.nowMs).toISOString(),
      timing: fileTiming(parsed.value.hourStartMs, w.clock.nowMs, config),
      nowIso: new Date(w.clock.nowMs).toISOString(),
    });
    w.clock.nowMs += config.lateDebounceMs + 1;
    expect(await compact(w)).toMatchObject({ status: "committed", plan: "merge", generation: 2 });
    expect(await manifestRows(w)).toEqual({ [good]: 5 });
    expect(await w.store.getFile(partition, gone)).toMatchObject({ status: "removed" });

    // Two workers, one generation: the one whose commit finds the generation moved discards.
    await upload(w, "D4", "2025121209", 1);
    w.clock.nowMs += config.lateDebounceMs + 1;
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = compact(w, {
      workerId: "slow",
      faults: { at: async (p) => (p === "afterIntent" ? held : undefined) },
    });
    // Let the slow worker reach its intent, then take its lease over as if it had stalled.
    while ((await w.store.listIntents(partition)).length === 0) await new Promise((r) => setImmediate(r));
    w.clock.nowMs += LEASE_MS + 1;
    expect(await compact(w, { workerId: "fast" })).toMatchObject({ status: "committed", generation: 3 });
    release();
    expect(await slow).toMatchObject({ status: "conflict" });
    expect((await w.store.getPartition(partition))?.generation).toBe(3);
    expect(w.objects.keys("lake", config.stagingPrefix)).toEqual([]);
  });
});

const MANIFEST_METHODS: readonly (keyof InMemoryManifestStore)[] = [
  "acquireLease",
  "readPartition",
  "getSchema",
  "getLedger",
  "putLedger",
  "putSchema",
  "registerCreated",
  "registerRemoved",
  "putIntent",
  "commitGeneration",
  "getIntent",
  "markConsumed",
  "putHistory",
  "finishCommit",
  "deleteIntent",
  "releaseLease",
];
