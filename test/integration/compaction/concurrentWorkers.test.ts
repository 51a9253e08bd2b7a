import type { CompactionOutcome, ManifestStore, PartitionId } from "@compacter/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CompactionHarness,
  createCompactionHarness,
  expectedRows,
  partitionsOf,
} from "../../helpers/compactionHarness.js";
import { useLocalStack } from "../../helpers/localStack.js";
import { clockAhead, DAY_CLOSED_CLOCK, hoursAgo } from "../../helpers/time.js";

/**
 * Several workers on the same partitions at once — the lease keeps them apart, the
 * generation check catches any overlap — through appends, an overwrite and the merge at
 * day close. Whatever interleaving happens, every row must be there exactly once.
 */
const stack = useLocalStack();

describe.each([2, 4])("%i workers on the same partitions", (workers) => {
  let h: CompactionHarness;
  beforeAll(async () => {
    h = await createCompactionHarness(stack, `workers-${workers}`, {
      threads: "1",
      memoryLimitBytes: "256MiB",
    });
  });
  afterAll(() => h.close());

  it("never duplicate or lose a row", async () => {
    const expected = new Map<string, number>();
    let partitions: PartitionId[] = [];
    const round = async (summaryPromise: ReturnType<CompactionHarness["simulate"]>, closed = false) => {
      const summary = await summaryPromise;
      partitions = partitionsOf(summary);
      for (const p of partitions) for (const [k, n] of expectedRows(summary, p)) expected.set(k, n);
      const clock = closed ? DAY_CLOSED_CLOCK : undefined;
      const outcomes = await Promise.all(
        Array.from({ length: workers }, (_, w) =>
          (async () => {
            const mine: CompactionOutcome[] = [];
            // Each worker visits the partitions in its own order.
            const order = w % 2 === 0 ? partitions : [...partitions].reverse();
            for (const partition of order) {
              mine.push(await h.compact(partition, { workerId: `w${w}`, ...(clock ? { clock } : {}) }));
            }
            return mine;
          })(),
        ),
      );
      return outcomes.flat();
    };

    const districts = ["BRCB", "KDCB"];
    const r1 = await round(h.simulate({ districts, hours: 1, startHourMs: hoursAgo(4) }));
    expect(r1.filter((o) => o.status === "committed")).toHaveLength(2);
    await round(h.simulate({ districts, hours: 1, startHourMs: hoursAgo(3), seed: 3 }));
    // Overwrites of the first hour's keys: old rows must go, new rows come in.
    await round(h.simulate({ districts, hours: 1, startHourMs: hoursAgo(4), seed: 4 }));
    const closing = await round(
      Promise.resolve(await h.simulate({ districts, hours: 1, startHourMs: hoursAgo(2), seed: 5 })),
      true,
    );
    expect(closing.filter((o) => o.status === "committed" && o.plan === "merge")).toHaveLength(2);

    for (const partition of partitions) {
      const want = new Map([...expected].filter(([k]) => k.startsWith(`${partition.district}/`)));
      expect(await h.manifestRows(partition)).toEqual(want);
      expect(await h.lakeRows(partition)).toEqual(want);
      expect(await h.lakeKeys(partition)).toHaveLength(1);
      const files = await h.runtime.store.listFiles(partition);
      expect(files.every((f) => f.status === "compacted" && f.compactedETag === f.eTag)).toBe(true);
    }
    expect(await h.stagedKeys()).toEqual([]);
  });
});

describe("a worker whose lease expired while it worked", () => {
  let h: CompactionHarness;
  beforeAll(async () => {
    h = await createCompactionHarness(stack, "lost-lease", { leaseDurationMs: "1s" });
  });
  afterAll(() => h.close());

  it("does not commit, and the worker that took over wins", async () => {
    const summary = await h.simulate({ hours: 1, startHourMs: hoursAgo(3) });
    const [partition] = partitionsOf(summary);
    if (!partition) throw new Error("no partition");

    // Worker A stalls after staging its output (think: a long GC pause or a frozen
    // container) and its renewals never reach the table; worker B takes the expired
    // lease, compacts and commits. Then A wakes up and tries to commit its stale plan.
    let resumeA: () => void = () => {};
    let aStaged: () => void = () => {};
    const aReachedStage = new Promise<void>((resolve) => {
      aStaged = resolve;
    });
    const frozenRenewals = (store: ManifestStore): ManifestStore =>
      new Proxy(store, {
        get: (target, property, receiver) =>
          property === "renewLease" ? async () => true : Reflect.get(target, property, receiver).bind(target),
      });
    const a = h.compact(partition, {
      workerId: "A",
      wrapStore: frozenRenewals,
      faults: {
        at: async (point) => {
          if (point !== "afterStage") return;
          aStaged();
          await new Promise<void>((resolve) => {
            resumeA = resolve;
          });
        },
      },
    });
    await aReachedStage;
    // B comes after A's 1 s lease has run out (A's renewals never arrive).
    const b = await h.compact(partition, { workerId: "B", clock: clockAhead(1_100) });
    expect(b).toMatchObject({ status: "committed", generation: 1 });
    resumeA();
    expect(await a).toMatchObject({ status: "conflict" });

    const want = expectedRows(summary, partition);
    expect(await h.manifestRows(partition)).toEqual(want);
    expect(await h.lakeRows(partition)).toEqual(want);
    expect((await h.runtime.store.getPartition(partition))?.generation).toBe(1);
    expect(await h.stagedKeys()).toEqual([]);
    expect(await h.runtime.store.listIntents(partition)).toEqual([]);
  });
});
