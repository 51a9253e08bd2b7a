import { silentLogger } from "@compacter/core";
import { createDuckDbEngine } from "@compacter/duckdb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCompactorHandler } from "../../../packages/functions/src/compactor.js";
import { childProcessLauncher } from "../../../packages/functions/src/taskLauncher.js";
import { eventually } from "../../helpers/cli.js";
import {
  type CompactionHarness,
  createCompactionHarness,
  expectedRows,
  partitionsOf,
} from "../../helpers/compactionHarness.js";
import { useLocalStack } from "../../helpers/localStack.js";
import { sqsEvent } from "../../helpers/sqsEvent.js";
import { hoursAgo } from "../../helpers/time.js";

/**
 * The compactor hands a job that would not fit its limits to the task — here the local
 * stand-in for the Fargate task, `compacter compact` as a child process with the job in
 * COMPACTER_JOB — acknowledges the message, and the task compacts the partition exactly.
 */
const stack = useLocalStack();

describe("hand-over to the compaction task", () => {
  let h: CompactionHarness;
  beforeAll(async () => {
    h = await createCompactionHarness(stack, "hand-over");
    Object.assign(process.env, h.env); // the task inherits the function's environment
  });
  afterAll(() => h.close());

  it("acknowledges a job too big for the function and the task compacts it", async () => {
    const summary = await h.simulate({ devicesPerDistrict: 1, hours: 1, startHourMs: hoursAgo(3) });
    const [partition] = partitionsOf(summary);
    if (!partition) throw new Error("one partition expected");
    const launched: string[] = [];
    const launcher = childProcessLauncher(silentLogger);
    const engine = createDuckDbEngine();
    try {
      // A function with a 1-second timeout: any real job is estimated past half of it.
      const handler = createCompactorHandler(h.runtime, engine, {
        launcher: {
          launch: async (job, reason) => {
            launched.push(reason);
            return launcher.launch(job, reason);
          },
        },
        limits: { timeoutSeconds: 1, memoryMb: 10_240, tmpBytes: 10 * 2 ** 30 },
      });
      const body = JSON.stringify(partition);
      const response = await handler(sqsEvent([{ messageId: "big", body }], { queueArn: "arn:aws:sqs:::c" }));
      expect(response.batchItemFailures).toEqual([]);
      expect(launched).toEqual([
        expect.stringMatching(/^estimated \d+ s for \d+ rows \(append\); the function stops at 1 s$/),
      ]);
      expect(await h.lakeRows(partition)).toEqual(new Map()); // the function did not compact it

      const expected = expectedRows(summary, partition);
      await eventually(
        "the task's compaction",
        async () => ((await h.lakeRows(partition)).size === expected.size ? true : undefined),
        90_000,
      );
      expect(await h.lakeRows(partition)).toEqual(expected);
      const [generation] = await h.runtime.store.listHistory(partition);
      expect(generation?.worker).not.toContain(`/${process.pid}/`);
    } finally {
      await engine.close();
    }
  });
});
