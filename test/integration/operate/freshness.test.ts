import { EmfMetrics } from "@compacter/aws";
import { METRICS } from "@compacter/core";
import { createDuckDbEngine } from "@compacter/duckdb";
import { type Runtime, Worker } from "@compacter/wiring";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../helpers/cli.js";
import { type CompactionHarness, createCompactionHarness } from "../../helpers/compactionHarness.js";
import { parseEmf, sum, valuesOf } from "../../helpers/emf.js";
import { useLocalStack } from "../../helpers/localStack.js";
import { hoursAgo } from "../../helpers/time.js";

/**
 * Lake freshness, the figure the freshness alarm watches, from a real run on the local
 * stack: the sweep (with a clock the test moves instead of sleeping) publishes it as EMF
 * every run; while no compactor runs it grows with the clock, and once a compactor has
 * worked through the queued jobs it is 0. The same run checks what the compactor publishes.
 */
const stack = useLocalStack();
let h: CompactionHarness;

beforeAll(async () => {
  h = await createCompactionHarness(stack, "freshness");
});
afterAll(async () => {
  await h.close();
});

describe("lake freshness", () => {
  it("rises while the compactor is stopped and falls to 0 once it has caught up", async () => {
    const lines: string[] = [];
    const runtime: Runtime = {
      ...h.runtime,
      metrics: new EmfMetrics({ stage: "test", write: (line) => lines.push(line) }),
    };
    let nowMs = Date.now();
    const engine = createDuckDbEngine();
    const sweeper = new Worker({ ...runtime, clock: { now: () => nowMs } }, engine, {
      roles: { ingest: false, sweep: true, compaction: false },
    });
    const freshness = () => valuesOf(parseEmf(lines), METRICS.lakeFreshness.name);
    const overdue = () => valuesOf(parseEmf(lines), METRICS.overdueFiles.name);

    await sweeper.sweepOnce();
    expect(freshness()).toEqual([0]);

    const summary = await h.simulate({
      hours: 2,
      startHourMs: hoursAgo(3),
      devicesPerDistrict: 2,
      rowsPerFile: 120,
      knobs: { badLines: 0.05, strayStrings: 0.05, notJson: 0.25 },
    });
    expect(summary.expected.unreadable.length).toBeGreaterThan(0);
    expect(summary.expected.badLines).toBeGreaterThan(0);
    expect(summary.expected.nulledValues).toBeGreaterThan(0);

    // No compactor: each sweep queues jobs nobody takes, and the lake falls behind with the clock.
    nowMs = Date.now() + 60_000;
    await sweeper.sweepOnce();
    nowMs += 10 * 60_000;
    await sweeper.sweepOnce();
    nowMs += 10 * 60_000;
    await sweeper.sweepOnce();
    const behind = freshness().slice(1);
    // The files were late (their hours closed long ago): due 1 s (lateDebounce) after upload.
    expect(behind[0]).toBeGreaterThanOrEqual(50);
    expect(behind[1]).toBeCloseTo((behind[0] ?? 0) + 600, 6);
    expect(behind[2]).toBeCloseTo((behind[0] ?? 0) + 1200, 6);
    expect(overdue().slice(1)).toEqual(Array(3).fill(summary.totals.files));

    // The compactor starts and works through the queued jobs.
    const compactor = new Worker(runtime, engine, {
      roles: { ingest: false, sweep: false, compaction: true },
    });
    compactor.start();
    try {
      await eventually(
        "the compactor to catch up",
        async () => ((await h.runtime.store.listDue()).some((e) => e.kind === "file") ? undefined : true),
        120_000,
      );
    } finally {
      await compactor.stop();
      await engine.close();
    }
    await sweeper.sweepOnce();
    expect(freshness().at(-1)).toBe(0);
    expect(overdue().at(-1)).toBe(0);

    // What the compactor published on the way, as CloudWatch will read it.
    const data = parseEmf(lines);
    const committed = { Stage: "test", Plan: "append", Outcome: "committed" };
    expect(sum(valuesOf(data, METRICS.compactions.name, committed))).toBe(summary.settings.districts.length);
    expect(sum(valuesOf(data, METRICS.rowsOut.name))).toBe(summary.expected.rows);
    expect(sum(valuesOf(data, METRICS.rowsIn.name))).toBe(summary.expected.rows);
    expect(sum(valuesOf(data, METRICS.badLines.name))).toBe(summary.expected.badLines);
    expect(sum(valuesOf(data, METRICS.nulledValues.name))).toBe(summary.expected.nulledValues);
    expect(sum(valuesOf(data, METRICS.quarantinedFiles.name))).toBe(summary.expected.unreadable.length);
    const durations = valuesOf(data, METRICS.compactionDuration.name);
    expect(durations.length).toBeGreaterThanOrEqual(summary.settings.districts.length);
    const used = valuesOf(data, METRICS.compactionTimeoutUsed.name);
    // 15 min budget (the default): a share in percent of the same durations.
    expect(used).toEqual(durations.map((ms) => Math.round((10_000 * ms) / 900_000) / 100));
    expect(valuesOf(data, METRICS.publishWindow.name)).toHaveLength(summary.settings.districts.length);
  }, 180_000);
});
