import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  FAULT_POINTS,
  type FaultInjector,
  type FaultPoint,
  InjectedFaultError,
  type ManifestStore,
  type PartitionId,
  removeOrphans,
  silentLogger,
} from "@compacter/core";
import { faultAt } from "@compacter/wiring";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CompactionHarness,
  createCompactionHarness,
  expectedRows,
  partitionsOf,
} from "../../helpers/compactionHarness.js";
import { useLocalStack } from "../../helpers/localStack.js";
import { DAY_CLOSED_CLOCK, hoursAgo, sleep } from "../../helpers/time.js";

/**
 * A merge larger than one job's bound runs as device-range slices (slicedMerge.ts). The
 * bound is shrunk to one byte here, so every device is a slice of its own: four devices,
 * four slices, each its own job, committed together as one generation.
 */
const stack = useLocalStack();
const DEVICES = 4;
const SLICED = { maxSliceInputBytes: "1", leaseDurationMs: "2s", orphanSafetyAgeMs: "0" } as const;

/** Two appends (the second replaces the first hour's sources and adds an hour), then the day-close merge is due. */
async function dayReadyToMerge(h: CompactionHarness) {
  const first = await h.simulate({ hours: 1, startHourMs: hoursAgo(3), devicesPerDistrict: DEVICES });
  const [partition] = partitionsOf(first);
  if (!partition) throw new Error("no partition simulated");
  expect(await h.compact(partition)).toMatchObject({ status: "committed", plan: "append" });
  const overwrite = await h.simulate({
    hours: 1,
    startHourMs: hoursAgo(3),
    seed: 99,
    devicesPerDistrict: DEVICES,
  });
  const newHour = await h.simulate({
    hours: 1,
    startHourMs: hoursAgo(2),
    seed: 5,
    devicesPerDistrict: DEVICES,
  });
  const expected = new Map([...expectedRows(overwrite, partition), ...expectedRows(newHour, partition)]);
  return { partition, expected };
}

/** Per manifest file, in key order: its device range and whether its rows are in device_id, event_time order. */
async function fileRanges(h: CompactionHarness, partition: PartitionId) {
  const state = await h.runtime.store.getPartition(partition);
  const keys = (state?.files ?? []).map((f) => f.key).sort();
  const dir = await mkdtemp(join(tmpdir(), "sliced-ranges-"));
  const db = await DuckDBInstance.create(":memory:");
  const connection = await db.connect();
  try {
    const ranges: { first: string; last: string; sorted: boolean }[] = [];
    for (const [i, key] of keys.entries()) {
      const path = join(dir, `${i}.parquet`);
      await h.runtime.objects.download(h.config.lakeBucket, key, path);
      const reader = await connection.runAndReadAll(
        `SELECT min(device_id) AS first, max(device_id) AS last,
           bool_and(prev IS NULL OR (device_id, event_time) >= prev) AS sorted
         FROM (SELECT device_id, event_time,
                 lag((device_id, event_time)) OVER (ORDER BY file_row_number) AS prev
               FROM read_parquet($path, file_row_number = true))`,
        { path },
      );
      const row = reader.getRowObjectsJson()[0] ?? {};
      ranges.push({ first: String(row.first), last: String(row.last), sorted: row.sorted === true });
    }
    return ranges;
  } finally {
    connection.closeSync();
    db.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}

async function expectMergedOnce(
  h: CompactionHarness,
  partition: PartitionId,
  expected: Map<string, number>,
  generation: number,
) {
  expect(await h.manifestRows(partition)).toEqual(expected);
  expect(await h.lakeRows(partition)).toEqual(expected);
  const state = await h.runtime.store.getPartition(partition);
  expect(state?.inflight).toBeUndefined();
  expect(state?.generation).toBe(generation);
  expect(state?.lastPlan).toBe("merge");
  expect(await h.lakeKeys(partition)).toEqual(state?.files.map((f) => f.key).sort());
  const files = await h.runtime.store.listFiles(partition);
  expect(files.map((f) => [f.status, f.dueAt])).toEqual(files.map(() => ["compacted", undefined]));
  expect(files.every((f) => f.compactedETag === f.eTag)).toBe(true);
  const history = await h.runtime.store.listHistory(partition);
  expect(history.map((g) => [g.generation, g.plan])).toEqual([
    [1, "append"],
    [2, "merge"],
  ]);
  // The merged files: one or more per slice, contiguous and disjoint device ranges, in key order.
  const ranges = await fileRanges(h, partition);
  expect(ranges.length).toBeGreaterThanOrEqual(DEVICES);
  expect(ranges.every((r) => r.sorted)).toBe(true);
  for (let i = 1; i < ranges.length; i++) {
    expect(ranges[i - 1]!.last < ranges[i]!.first).toBe(true);
  }
  expect(await h.runtime.store.listSlicedMerges(partition)).toEqual([]);
  expect(await h.runtime.store.listIntents(partition)).toEqual([]);
}

describe("a merge larger than one job's bound", () => {
  let h: CompactionHarness;
  beforeAll(async () => {
    h = await createCompactionHarness(stack, "sliced-merge", SLICED);
  });
  afterAll(() => h.close());

  it("writes sorted appends, then merges the day exactly once in device-range slices", async () => {
    const { partition, expected } = await dayReadyToMerge(h);
    // The append is already in device_id, event_time order (read order, no sort).
    expect((await fileRanges(h, partition)).every((r) => r.sorted)).toBe(true);

    await stack.drainQueue(h.config.compactionQueueUrl);
    const merge = await h.compact(partition, { clock: DAY_CLOSED_CLOCK });
    expect(merge).toMatchObject({ status: "committed", plan: "merge", generation: 2 });
    expect(merge.history?.outputs.length).toBeGreaterThanOrEqual(DEVICES);
    await expectMergedOnce(h, partition, expected, 2);
    expect(await h.stagedKeys()).toEqual([]);
    // The runtime's wiring asked the compaction queue for one helper job per extra slice,
    // so every worker polling it could share the merge (here it worked them all alone).
    const helperJobs = (await stack.drainQueue(h.config.compactionQueueUrl)).map((body) => JSON.parse(body));
    expect(helperJobs).toHaveLength(DEVICES - 1);
    for (const job of helperJobs) expect(job).toEqual({ day: partition.day, district: partition.district });
  });
});

describe("two workers sharing one merge's slices", () => {
  let h: CompactionHarness;
  beforeAll(async () => {
    h = await createCompactionHarness(stack, "sliced-shared", SLICED);
  });
  afterAll(() => h.close());

  it("each stage slices, one commits them all, every row once", async () => {
    const { partition, expected } = await dayReadyToMerge(h);
    const stagedBy = new Map<string, number>();
    const counting = (worker: string) => (store: ManifestStore) =>
      new Proxy(store, {
        get(target, property, receiver) {
          if (property !== "stageSlice") return Reflect.get(target, property, receiver);
          return async (...args: Parameters<ManifestStore["stageSlice"]>) => {
            const ok = await target.stageSlice(...args);
            if (ok) stagedBy.set(worker, (stagedBy.get(worker) ?? 0) + 1);
            return ok;
          };
        },
      });
    // Worker B starts once A has planned the slices and is inside its first one.
    let second: ReturnType<CompactionHarness["compact"]> | undefined;
    const startSecond: FaultInjector = {
      at: async (point) => {
        if (point !== "afterStage" || second) return;
        second = h.compact(partition, { clock: DAY_CLOSED_CLOCK, workerId: "B", wrapStore: counting("B") });
      },
    };
    const first = await h.compact(partition, {
      clock: DAY_CLOSED_CLOCK,
      workerId: "A",
      faults: startSecond,
      wrapStore: counting("A"),
    });
    if (!second) throw new Error("worker B never started");
    const outcomes = [first, await second];
    expect(outcomes.filter((o) => o.status === "committed")).toHaveLength(1);
    expect(stagedBy.get("A")).toBeGreaterThanOrEqual(1);
    expect(stagedBy.get("B")).toBeGreaterThanOrEqual(1);
    expect((stagedBy.get("A") ?? 0) + (stagedBy.get("B") ?? 0)).toBe(DEVICES);
    await expectMergedOnce(h, partition, expected, 2);
  });
});

describe("the orphan sweep during a sliced merge", () => {
  let h: CompactionHarness;
  beforeAll(async () => {
    h = await createCompactionHarness(stack, "sliced-orphans", SLICED);
  });
  afterAll(() => h.close());

  it("keeps the staged slices of a live merge, however old, so the merge still commits", async () => {
    const { partition, expected } = await dayReadyToMerge(h);
    // The worker dies in its second slice: the first is staged and recorded.
    let reached = 0;
    const dieInSecondSlice: FaultInjector = {
      at: async (point) => {
        if (point === "afterStage" && ++reached === 2) throw new InjectedFaultError(point);
      },
    };
    await expect(
      h.compact(partition, { clock: DAY_CLOSED_CLOCK, faults: dieInSecondSlice, workerId: "doomed" }),
    ).rejects.toThrow(InjectedFaultError);
    const [merge] = await h.runtime.store.listSlicedMerges(partition);
    const recorded = (merge?.slices ?? []).flatMap((s) => s.staged?.outputs.map((o) => o.stagingKey) ?? []);
    expect(recorded.length).toBeGreaterThan(0);

    // Safety age 0: everything staged is old enough, yet the live merge's slices stay.
    const removed = await removeOrphans({ ...h.runtime, clock: DAY_CLOSED_CLOCK, log: silentLogger });
    for (const key of recorded) expect(removed.staged).not.toContain(key);
    const stagedNow = await h.stagedKeys();
    for (const key of recorded) expect(stagedNow).toContain(key);

    await sleep(2_100);
    expect(await h.compact(partition, { clock: DAY_CLOSED_CLOCK, workerId: "rescuer" })).toMatchObject({
      status: "committed",
      plan: "merge",
      generation: 2,
    });
    await expectMergedOnce(h, partition, expected, 2);
    // The dead worker's unrecorded upload of its second slice is an orphan, and goes.
    await removeOrphans({ ...h.runtime, clock: DAY_CLOSED_CLOCK, log: silentLogger });
    expect(await h.stagedKeys()).toEqual([]);
  });
});

const COMMITTED_AT = new Set<FaultPoint>([
  "afterCommit",
  "afterPublish",
  "afterDeleteReplaced",
  "afterMark",
  "afterHistory",
  "afterFinish",
]);

describe.each(FAULT_POINTS)("a sliced merge whose worker is killed %s", (point) => {
  let h: CompactionHarness;
  beforeAll(async () => {
    h = await createCompactionHarness(stack, `sliced-crash-${point}`, SLICED);
  });
  afterAll(() => h.close());

  it("rolls forward to the same result, every row once", async () => {
    const { partition, expected } = await dayReadyToMerge(h);
    await expect(
      h.compact(partition, { clock: DAY_CLOSED_CLOCK, faults: faultAt(point, "throw"), workerId: "doomed" }),
    ).rejects.toThrow(InjectedFaultError);
    expect((await h.runtime.store.getPartition(partition))?.generation).toBe(COMMITTED_AT.has(point) ? 2 : 1);

    // The dead worker's lease and slice claim expire; the next worker finishes the merge.
    await sleep(2_100);
    const recovery = await h.compact(partition, { clock: DAY_CLOSED_CLOCK, workerId: "rescuer" });
    if (COMMITTED_AT.has(point)) {
      expect(recovery).toMatchObject({ rolledForward: point !== "afterFinish", status: "nothing" });
    } else {
      expect(recovery).toMatchObject({ status: "committed", plan: "merge", generation: 2 });
    }
    await expectMergedOnce(h, partition, expected, 2);
    await removeOrphans({ ...h.runtime, clock: DAY_CLOSED_CLOCK, log: silentLogger });
    expect(await h.stagedKeys()).toEqual([]);
  });
});
