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
import { startLambdaRuntime, type TestLambdaRuntime } from "../../helpers/lambdaRuntime.js";
import { useLocalStack } from "../../helpers/localStack.js";
import { hoursAgo } from "../../helpers/time.js";

/**
 * A partition that cannot compact because of something a user did — the lake bucket was
 * deleted — in the deployed Lambda shape (event source mapping with partial batch
 * responses, the scheduled sweep, the queue's visibility and redrive as deployed, time
 * scaled): its job is received exactly maxReceiveCount times and lands in the DLQ, the
 * sweep sends it again only once per back-off step, status shows it failing, and once the
 * bucket is back it converges to exactly the simulated rows at the next back-off, with no
 * one acting.
 */
const stack = useLocalStack();

describe("a poison partition in the Lambda shape", () => {
  let h: CompactionHarness;
  let rt: TestLambdaRuntime;
  beforeAll(async () => {
    h = await createCompactionHarness(stack, "poison", {
      failureBackoffBaseMs: "3s",
      failureBackoffCapMs: "6s",
    });
    rt = await startLambdaRuntime(stack, h);
  });
  afterAll(async () => {
    await rt?.stop();
    await h?.close();
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
    const jobsOf = () =>
      rt.of("compactor").filter((i) => i.bodies.some((b) => b.includes(partition.district)));
    const firstJob = jobsOf()[0]?.messageIds[0];
    const receives = jobsOf().filter((i) => i.messageIds.includes(firstJob ?? ""));
    const sends = () =>
      rt.sweeps().filter((s) => ((s.value as { sent?: string[] } | undefined)?.sent ?? []).includes(label))
        .length;
    const sendsDuringFailure = sends();
    const sweepsDuringFailure = rt.sweeps().length;
    const dlqDepth = (await getQueueDepth(stack.clients.sqs, config.compactionDlqUrl)).visible;

    // Exactly maxReceiveCount receives of the job, each a failure reported to the mapping.
    expect(receives.map((r) => r.receiveCounts[0])).toEqual([1, 2, 3]);
    expect(receives.every((r) => r.deleted.length === 0)).toBe(true);
    expect(dlqDepth).toBe(1);
    // The sweep ran every few seconds, but sent the partition once per job lifetime (the
    // queued mark) and then once per back-off step — never once per sweep.
    expect(sweepsDuringFailure).toBeGreaterThan(3 * sendsDuringFailure);
    expect(sendsDuringFailure).toBeLessThanOrEqual(2);

    const status = await json<{
      failing: { day: string; district: string; attempts: number; lastError: string }[];
    }>("status", "--json");
    expect(status.failing).toHaveLength(1);
    expect(status.failing[0]).toMatchObject({ day: partition.day, district: partition.district });
    expect(status.failing[0]?.attempts).toBeGreaterThanOrEqual(3);
    expect(status.failing[0]?.lastError).toMatch(/bucket/i);

    // The user puts the bucket back; nobody retries anything.
    await stack.clients.s3.send(new CreateBucketCommand({ Bucket: config.lakeBucket }));
    const fixedAt = Date.now();
    const expected = expectedRows(summary, partition);
    await eventually(
      "the partition healed",
      async () => {
        const rows = await h.lakeRows(partition);
        return rows.size === expected.size ? rows : undefined;
      },
      120_000,
    );
    const recoveredMs = Date.now() - fixedAt;
    expect(await h.lakeRows(partition)).toEqual(expected);
    expect(await h.manifestRows(partition)).toEqual(expected);
    await eventually("the failing mark cleared", async () =>
      (await h.runtime.store.listFailing()).length === 0 ? true : undefined,
    );
    const after = await json<{ failing: unknown[] }>("status", "--json");
    expect(after.failing).toEqual([]);

    const report = {
      receivesOfThePoisonJob: receives.length,
      dlqDepth,
      sweepsDuringFailure,
      sweepSendsDuringFailure: sendsDuringFailure,
      secondsToDlq: Math.round((dlqAt - failStarted) / 100) / 10,
      secondsToRecoverAfterFix: Math.round(recoveredMs / 100) / 10,
      compactionVisibilitySeconds: rt.shape.compactor.visibilityTimeoutSeconds,
      maxReceiveCount: config.compactionMaxReceiveCount,
    };
    process.stderr.write(`poison partition (lambda shape): ${JSON.stringify(report)}\n`);
  });
});
