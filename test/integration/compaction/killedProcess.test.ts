import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killGroup, spawnCompacter } from "../../helpers/cli.js";
import {
  type CompactionHarness,
  createCompactionHarness,
  expectedRows,
  partitionsOf,
} from "../../helpers/compactionHarness.js";
import { useLocalStack } from "../../helpers/localStack.js";
import { clockAhead, hoursAgo } from "../../helpers/time.js";

/**
 * The in-process crash tests throw at each fault point; this one kills a real
 * `compacter compact` process with SIGKILL there (COMPACTER_FAULT_POINT), so nothing of
 * the dead process — timers, sockets, finally blocks — can help the recovery.
 */
const stack = useLocalStack();

describe.each(["afterIntent", "afterPublish"] as const)("a compacter process SIGKILLed %s", (point) => {
  let h: CompactionHarness;
  beforeAll(async () => {
    h = await createCompactionHarness(stack, `kill-${point}`, { leaseDurationMs: "2s" });
  });
  afterAll(() => h.close());

  it("is recovered by the next worker, every row exactly once", async () => {
    const first = await h.simulate({ hours: 1, startHourMs: hoursAgo(3) });
    const [partition] = partitionsOf(first);
    if (!partition) throw new Error("no partition");
    await h.compact(partition);
    const overwrite = await h.simulate({ hours: 1, startHourMs: hoursAgo(3), seed: 42 });
    const expected = expectedRows(overwrite, partition);

    const killed = spawnCompacter(
      ["compact", "--day", partition.day, "--district", partition.district, "--json"],
      { ...process.env, ...h.env, COMPACTER_FAULT_POINT: point },
    );
    try {
      expect(await killed.exited).toEqual({ code: null, signal: "SIGKILL" });
    } finally {
      killGroup(killed);
    }

    // The next worker comes after the dead process's 2 s lease has run out.
    const recovered = await h.compact(partition, { workerId: "rescuer", clock: clockAhead(2_100) });
    expect(recovered.rolledForward).toBe(point === "afterPublish");

    expect(await h.manifestRows(partition)).toEqual(expected);
    expect(await h.lakeRows(partition)).toEqual(expected);
    expect((await h.runtime.store.getPartition(partition))?.inflight).toBeUndefined();
  });
});
