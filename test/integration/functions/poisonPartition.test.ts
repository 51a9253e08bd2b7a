import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, DeleteBucketCommand } from "@aws-sdk/client-s3";
import { getQueueDepth } from "@compacter/aws";
import { partitionLabel } from "@compacter/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, json } from "../../helpers/cli.js";
import {
  type CompactionHarness,
  createCompactionHarness,
  expectedRows,
  partitionsOf,
} from "../../helpers/compactionHarness.js";
import { parseEmf, valuesOf } from "../../helpers/emf.js";
import { useLocalStack } from "../../helpers/localStack.js";
import {
  RUNTIME_SHAPES,
  type RunningShape,
  SHAPE_SETTINGS,
  startShape,
} from "../../helpers/runtimeShapes.js";
import { hoursAgo } from "../../helpers/time.js";

/**
 * A partition that cannot compact because of something a user did — the lake bucket was
 * deleted — in both runtime shapes: the deployed Lambda shape (event source mapping with
 * partial batch responses, the scheduled sweep, the queue's visibility and redrive as
 * deployed, time scaled) and the long-running worker. Its job is received exactly
 * maxReceiveCount times and lands in the DLQ, the sweep sends it again only once per
 * back-off step, status shows it failing, and once the bucket is back it converges to
 * exactly the simulated rows at the next back-off, with no one acting. Meanwhile the
 * sweep's metrics (the EMF lines either shape writes) show the partition failing and the
 * lake falling behind — what FailingPartitionsAlarm and LakeFreshnessAlarm watch — then
 * both back at 0.
 */
const stack = useLocalStack();

interface StatusFailing {
  readonly failing: { day: string; district: string; attempts: number; lastError: string }[];
}

describe.each(RUNTIME_SHAPES)("a poison partition, runtime %s", (shape) => {
  let h: CompactionHarness;
  let running: RunningShape;
  const metricsFile = join(tmpdir(), `compacter-poison-${shape}-${process.pid}.emf.jsonl`);
  const sweepFigure = (name: string) => valuesOf(parseEmf(readFileSync(metricsFile, "utf8")), name);
  beforeAll(async () => {
    h = await createCompactionHarness(stack, `poison-${shape}`, {
      ...SHAPE_SETTINGS,
      failureBackoffBaseMs: "3s",
      failureBackoffCapMs: "6s",
      metricsFile,
    });
    running = await startShape(shape, stack, h);
  });
  afterAll(async () => {
    await running?.stop();
    await h?.close();
    rmSync(metricsFile, { force: true });
  });

  it("reaches the DLQ after maxReceiveCount receives, is not stormed, and heals at the next back-off", async () => {
    const { config } = h;
    await stack.clients.s3.send(new DeleteBucketCommand({ Bucket: config.lakeBucket }));
    const summary = await h.upload({
      districts: ["BRCB"],
      devicesPerDistrict: 1,
      hours: 1,
      startHourMs: hoursAgo(2),
    });
    const [partition] = partitionsOf(summary);
    if (!partition) throw new Error("one partition expected");
    const label = partitionLabel(partition);
    const failStarted = Date.now();

    await eventually(
      "the poison job in the compaction DLQ",
      async () =>
        (await getQueueDepth(stack.clients.sqs, config.compactionDlqUrl)).visible >= 1 ? true : undefined,
      180_000,
    );
    const dlqAt = Date.now();
    const sendsDuringFailure = running.sweepSends(label);
    const sweepsDuringFailure = running.sweeps();
    const dlqDepth = (await getQueueDepth(stack.clients.sqs, config.compactionDlqUrl)).visible;
    const failing = (await h.runtime.store.getPartition(partition))?.failing;

    expect(dlqDepth).toBe(1);
    // Every receive of the first job failed and was counted: maxReceiveCount of them
    // (a second job is only sent after the first left the queue).
    expect(failing?.attempts).toBeGreaterThanOrEqual(config.compactionMaxReceiveCount);
    const receives = running.receivesOfFirstJob(partition.district);
    if (receives) expect(receives).toEqual([1, 2, 3]);
    // The sweep ran every few seconds but sent the partition once per job lifetime (the
    // queued mark), then once per back-off step — never once per sweep.
    expect(sweepsDuringFailure).toBeGreaterThan(3 * sendsDuringFailure);
    expect(sendsDuringFailure).toBeLessThanOrEqual(2);

    const status = await json<StatusFailing>("status", "--json");
    expect(status.failing).toHaveLength(1);
    expect(status.failing[0]).toMatchObject({ day: partition.day, district: partition.district });
    expect(status.failing[0]?.lastError).toMatch(/bucket/i);
    expect(Math.max(...sweepFigure("FailingPartitions"))).toBe(1);
    expect(Math.max(...sweepFigure("LakeFreshness"))).toBeGreaterThan(0);

    // The user puts the bucket back; nobody retries anything.
    await stack.clients.s3.send(new CreateBucketCommand({ Bucket: config.lakeBucket }));
    const fixedAt = Date.now();
    const expected = expectedRows(summary, partition);
    await eventually(
      "the partition healed",
      async () => ((await h.lakeRows(partition)).size === expected.size ? true : undefined),
      120_000,
    );
    const recoveredMs = Date.now() - fixedAt;
    expect(await h.lakeRows(partition)).toEqual(expected);
    expect(await h.manifestRows(partition)).toEqual(expected);
    await eventually("the failing mark cleared", async () =>
      (await h.runtime.store.listFailing()).length === 0 ? true : undefined,
    );
    expect((await json<StatusFailing>("status", "--json")).failing).toEqual([]);
    await eventually("a sweep to publish the recovery", async () =>
      sweepFigure("FailingPartitions").at(-1) === 0 && sweepFigure("LakeFreshness").at(-1) === 0
        ? true
        : undefined,
    );

    process.stderr.write(
      `poison partition (${shape}): ${JSON.stringify({
        receivesOfThePoisonJob: receives?.length ?? failing?.attempts,
        failedAttemptsAtDlq: failing?.attempts,
        dlqDepth,
        sweepsDuringFailure,
        sweepSendsDuringFailure: sendsDuringFailure,
        secondsToDlq: Math.round((dlqAt - failStarted) / 100) / 10,
        secondsToRecoverAfterFix: Math.round(recoveredMs / 100) / 10,
        maxReceiveCount: config.compactionMaxReceiveCount,
      })}\n`,
    );
  });
});
