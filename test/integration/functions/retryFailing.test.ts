import { CreateBucketCommand, DeleteBucketCommand } from "@aws-sdk/client-s3";
import { partitionLabel } from "@compacter/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, json } from "../../helpers/cli.js";
import {
  type CompactionHarness,
  createCompactionHarness,
  expectedRows,
  partitionsOf,
} from "../../helpers/compactionHarness.js";
import { useLocalStack } from "../../helpers/localStack.js";
import { type RunningShape, SHAPE_SETTINGS, startShape } from "../../helpers/runtimeShapes.js";
import { hoursAgo } from "../../helpers/time.js";

/**
 * `compacter retry --failing` in the deployed Lambda shape: with an hour of back-off ahead,
 * an operator who fixed the cause (the lake bucket is back) gets the partition compacted
 * at once, to exactly the expected rows, and the failing mark goes.
 */
const stack = useLocalStack();

describe("compacter retry --failing", () => {
  let h: CompactionHarness;
  let running: RunningShape;
  beforeAll(async () => {
    h = await createCompactionHarness(stack, "retry-failing", {
      ...SHAPE_SETTINGS,
      failureBackoffBaseMs: "1h",
    });
    running = await startShape("lambda", stack, h);
  });
  afterAll(async () => {
    await running?.stop();
    await h?.close();
  });

  it("sends a failing partition now instead of at its next back-off", async () => {
    await stack.clients.s3.send(new DeleteBucketCommand({ Bucket: h.config.lakeBucket }));
    const summary = await h.upload({
      districts: ["KDCB"],
      devicesPerDistrict: 1,
      hours: 1,
      startHourMs: hoursAgo(2),
    });
    const [partition] = partitionsOf(summary);
    if (!partition) throw new Error("one partition expected");
    const failing = await eventually("the partition failing", async () => {
      const [state] = await h.runtime.store.listFailing();
      return state?.failing;
    });
    expect(Date.parse(failing.nextRetryAt) - Date.now()).toBeGreaterThan(50 * 60_000);

    await stack.clients.s3.send(new CreateBucketCommand({ Bucket: h.config.lakeBucket }));
    const retried = await json<{ partition: string; sent: boolean }[]>("retry", "--failing", "--json");
    expect(retried).toEqual([expect.objectContaining({ partition: partitionLabel(partition), sent: true })]);
    const expected = expectedRows(summary, partition);
    await eventually(
      "the partition compacted",
      async () => ((await h.lakeRows(partition)).size === expected.size ? true : undefined),
      60_000,
    );
    expect(await h.lakeRows(partition)).toEqual(expected);
    await eventually("the failing mark cleared", async () =>
      (await h.runtime.store.listFailing()).length === 0 ? true : undefined,
    );
  });
});
