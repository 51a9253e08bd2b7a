import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CompactionHarness,
  createCompactionHarness,
  expectedRows,
  partitionsOf,
} from "../../helpers/compactionHarness.js";
import { useLocalStack } from "../../helpers/localStack.js";
import { DAY_CLOSED_CLOCK, hoursAgo } from "../../helpers/time.js";

const stack = useLocalStack();

describe("a partition's life: hourly appends, the merge at day close, late data", () => {
  let h: CompactionHarness;
  beforeAll(async () => {
    h = await createCompactionHarness(stack, "lifecycle");
  });
  afterAll(() => h.close());

  it("appends closed hours while the day is open, then merges the day into one sorted file", async () => {
    const first = await h.simulate({ hours: 1, startHourMs: hoursAgo(3) });
    const [partition] = partitionsOf(first);
    if (!partition) throw new Error("no partition simulated");

    const append1 = await h.compact(partition);
    expect(append1).toMatchObject({ status: "committed", plan: "append", generation: 1 });

    const second = await h.simulate({ hours: 1, startHourMs: hoursAgo(2), seed: 8 });
    const append2 = await h.compact(partition);
    expect(append2).toMatchObject({ status: "committed", plan: "append", generation: 2 });
    const expected = new Map([...expectedRows(first, partition), ...expectedRows(second, partition)]);
    expect(await h.manifestRows(partition)).toEqual(expected);
    expect(await h.lakeRows(partition)).toEqual(expected);
    expect(await h.lakeKeys(partition)).toHaveLength(2);

    // Nothing is due until the day closes.
    expect((await h.compact(partition)).status).toBe("nothing");

    const merge = await h.compact(partition, { clock: DAY_CLOSED_CLOCK });
    expect(merge).toMatchObject({ status: "committed", plan: "merge", reason: "day closed", generation: 3 });
    expect(await h.lakeKeys(partition)).toHaveLength(1);
    expect(await h.manifestRows(partition)).toEqual(expected);
    expect(await h.lakeRows(partition)).toEqual(expected);
    const [order] = await h.queryManifestFiles<{ sorted: boolean }>(
      partition,
      `SELECT bool_and(ok) AS sorted FROM (
         SELECT (device_id, event_time) >= lag((device_id, event_time)) OVER () OR lag(device_id) OVER () IS NULL AS ok
         FROM t)`,
    );
    expect(order?.sorted).toBe(true);

    const files = await h.runtime.store.listFiles(partition);
    expect(files.every((f) => f.status === "compacted" && f.dueAt === undefined)).toBe(true);
    const history = await h.runtime.store.listHistory(partition);
    expect(history.map((g) => [g.generation, g.plan])).toEqual([
      [1, "append"],
      [2, "append"],
      [3, "merge"],
    ]);
    expect(await h.stagedKeys()).toEqual([]);
    expect((await h.runtime.store.getPartition(partition))?.dueAt).toBeUndefined();
  });
});
