import {
  FAULT_POINTS,
  type FaultPoint,
  InjectedFaultError,
  removeOrphans,
  silentLogger,
} from "@compacter/core";
import { faultAt } from "@compacter/wiring";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CompactionHarness,
  createCompactionHarness,
  expectedRows,
  partitionsOf,
} from "../../helpers/compactionHarness.js";
import { useLocalStack } from "../../helpers/localStack.js";
import { clockAhead, hoursAgo } from "../../helpers/time.js";

/**
 * Exactly-once under crashes: the worker dies at each step of the commit protocol (no
 * finally blocks run, the lease is not released), and the next worker to touch the
 * partition finishes or redoes the work. The compaction that crashes is a merge that
 * replaces an overwritten source's rows, so every step — stage, intent, commit, publish,
 * delete replaced, mark, history, finish — has something to do.
 */
const stack = useLocalStack();
const COMMITTED_AT = new Set<FaultPoint>([
  "afterCommit",
  "afterPublish",
  "afterDeleteReplaced",
  "afterMark",
  "afterHistory",
  "afterFinish",
]);

describe.each(FAULT_POINTS)("a worker killed %s", (point) => {
  let h: CompactionHarness;
  beforeAll(async () => {
    h = await createCompactionHarness(stack, `crash-${point}`, {
      leaseDurationMs: "2s",
      orphanSafetyAgeMs: "0",
    });
  });
  afterAll(() => h.close());

  it("leaves a partition the next worker completes with every row exactly once", async () => {
    const first = await h.simulate({ hours: 1, startHourMs: hoursAgo(3) });
    const [partition] = partitionsOf(first);
    if (!partition) throw new Error("no partition");
    expect(await h.compact(partition)).toMatchObject({ status: "committed", plan: "append" });

    // Same keys, new content: an overwrite of both files of the hour, plus a new hour.
    const overwrite = await h.simulate({ hours: 1, startHourMs: hoursAgo(3), seed: 99 });
    const newHour = await h.simulate({ hours: 1, startHourMs: hoursAgo(2), seed: 5 });
    const expected = new Map([...expectedRows(overwrite, partition), ...expectedRows(newHour, partition)]);

    await expect(
      h.compact(partition, { faults: faultAt(point, "throw"), workerId: "doomed" }),
    ).rejects.toThrow(InjectedFaultError);
    const afterCrash = await h.runtime.store.getPartition(partition);
    expect(afterCrash?.generation).toBe(COMMITTED_AT.has(point) ? 2 : 1);
    // The dead worker still holds the lease: a new worker must wait it out.
    expect((await h.compact(partition, { workerId: "impatient" })).status).toBe("busy");

    // The rescuer comes after the dead worker's 2 s lease has run out.
    const recovery = await h.compact(partition, { workerId: "rescuer", clock: clockAhead(2_100) });
    if (COMMITTED_AT.has(point)) {
      // Rolled forward: the crashed generation is finished, nothing is left to do.
      expect(recovery).toMatchObject({ rolledForward: point !== "afterFinish", status: "nothing" });
    } else {
      expect(recovery).toMatchObject({ status: "committed", plan: "merge", generation: 2 });
    }

    expect(await h.manifestRows(partition)).toEqual(expected);
    expect(await h.lakeRows(partition)).toEqual(expected);
    const state = await h.runtime.store.getPartition(partition);
    expect(state?.inflight).toBeUndefined();
    expect(state?.generation).toBe(2);
    expect((await h.lakeKeys(partition)).sort()).toEqual(state?.files.map((f) => f.key).sort());
    const files = await h.runtime.store.listFiles(partition);
    expect(files.map((f) => [f.status, f.dueAt])).toEqual(files.map(() => ["compacted", undefined]));
    expect(files.every((f) => f.compactedETag === f.eTag)).toBe(true);
    expect((await h.runtime.store.listHistory(partition)).map((g) => g.generation)).toEqual([1, 2]);

    // What the crash left behind outside the manifest (a staged upload, an intent) is an
    // orphan: the sweep removes it once it is older than the safety age (0 here).
    await removeOrphans({ ...h.runtime, clock: { now: () => Date.now() }, log: silentLogger });
    expect(await h.stagedKeys()).toEqual([]);
    expect(await h.runtime.store.listIntents(partition)).toEqual([]);
  });
});
