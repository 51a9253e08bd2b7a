import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../helpers/cli.js";
import {
  type CompactionHarness,
  createCompactionHarness,
  expectedRows,
  partitionsOf,
} from "../../helpers/compactionHarness.js";
import { useLocalStack } from "../../helpers/localStack.js";
import {
  RUNTIME_SHAPES,
  type RunningShape,
  SHAPE_SETTINGS,
  startShape,
} from "../../helpers/runtimeShapes.js";
import { hoursAgo } from "../../helpers/time.js";

/**
 * The fault matrix in each runtime shape, end to end through the runtime's own queues and
 * schedule (the per-step crash, concurrency and bad-input tests in test/integration/compaction
 * drive compactPartition directly and hold for any runtime):
 * - a compactor that stalls past its timeout in the middle of a commit (after the manifest
 *   commit, before publishing) and dies there is rolled forward by the next invocation;
 * - duplicated and reordered notifications, an overwrite of every file and a corrupt one
 *   converge to exactly the newest rows, the corrupt file quarantined.
 */
const stack = useLocalStack();

/** Past the Lambda shape's (scaled) compactor timeout of 2.5 s. */
const STALL_MS = 4_000;

describe.each(RUNTIME_SHAPES)("runtime %s under faults", (shape) => {
  let h: CompactionHarness;
  let running: RunningShape;
  beforeAll(async () => {
    h = await createCompactionHarness(stack, `faults-${shape}`, SHAPE_SETTINGS);
    Object.assign(h.env, { COMPACTER_FAULT_POINT: "afterCommit", COMPACTER_FAULT_MODE: `stall:${STALL_MS}` });
    running = await startShape(shape, stack, h);
  });
  afterAll(async () => {
    await running?.stop();
    await h?.close();
  });

  it("rolls a compactor killed at its timeout mid-commit forward, every row once", async () => {
    const summary = await h.upload({ devicesPerDistrict: 2, hours: 1, startHourMs: hoursAgo(3) });
    const [partition] = partitionsOf(summary);
    if (!partition) throw new Error("one partition expected");
    const expected = expectedRows(summary, partition);
    await eventually(
      "the partition in the lake",
      async () => ((await h.lakeRows(partition)).size === expected.size ? true : undefined),
      120_000,
    );
    expect(await h.lakeRows(partition)).toEqual(expected);
    expect(await h.manifestRows(partition)).toEqual(expected);
    const history = await h.runtime.store.listHistory(partition);
    expect(history.map((g) => g.generation)).toEqual([1]);
    expect((await h.runtime.store.getPartition(partition))?.inflight).toBeUndefined();
    // In the Lambda shape the first invocation was abandoned at its timeout, not failed.
    const results = running.compactorResults();
    if (results) expect(results[0]).toBe("timeout");
  });

  it("converges duplicated, reordered and overwritten notifications and a corrupt file to exactly the newest rows", async () => {
    await stack.setDeliveryFaults(h.config.rawBucket, {
      duplicateProbability: 0.5,
      reorderWindow: 4,
      maxHoldMs: 500,
      seed: 3,
    });
    try {
      const startHourMs = hoursAgo(4);
      await h.upload({ districts: ["KDCB"], devicesPerDistrict: 2, hours: 1, startHourMs, seed: 1 });
      const newest = await h.upload({
        districts: ["KDCB"],
        devicesPerDistrict: 2,
        hours: 1,
        startHourMs,
        seed: 2,
      });
      const [partition] = partitionsOf(newest);
      if (!partition) throw new Error("one partition expected");
      const corrupt = newest.files[0]?.key.replace(/\/[^/]+\/(\d{10})\//, "/CORRUPT01/$1/");
      if (!corrupt) throw new Error("a raw key expected");
      await stack.clients.s3.send(
        new PutObjectCommand({ Bucket: h.config.rawBucket, Key: corrupt, Body: "not gzip at all" }),
      );
      await stack.flushDeliveries();
      const expected = expectedRows(newest, partition);
      await eventually(
        "exactly the newest rows",
        async () => {
          const rows = await h.lakeRows(partition);
          const quarantined = await h.runtime.store.listProblems("quarantined");
          return [...expected].every(([k, n]) => rows.get(k) === n) &&
            rows.size === expected.size &&
            quarantined.some((f) => f.key === corrupt)
            ? true
            : undefined;
        },
        120_000,
      );
      expect(await h.manifestRows(partition)).toEqual(expected);
    } finally {
      await stack.setDeliveryFaults(h.config.rawBucket, undefined);
    }
  });
});
