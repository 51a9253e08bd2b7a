import { silentLogger } from "@compacter/core";
import { describe, expect, it } from "vitest";
import {
  type ScheduledInvocation,
  ScheduledInvoker,
} from "../../../packages/functions/src/local/ScheduledInvoker.js";

/** EventBridge's asynchronous invocation, as the local runner plays it for the sweep. */
describe("scheduled invocation", () => {
  it("retries a failing event twice, then drops it; a slow run counts as a failure at the timeout", async () => {
    const seen: ScheduledInvocation[] = [];
    let calls = 0;
    const invoker = new ScheduledInvoker({
      name: "sweep",
      everyMs: 60_000, // one event in this test
      timeoutMs: 50,
      retries: 2,
      retryDelayMs: 5,
      invoke: async () => {
        calls += 1;
        if (calls === 2)
          await new Promise((resolve) => setTimeout(resolve, 200)); // past the timeout
        else throw new Error("DynamoDB throttled");
      },
      log: silentLogger,
      onInvocation: (invocation) => seen.push(invocation),
    });
    invoker.start();
    await until(() => seen.some((s) => s.dropped));
    await invoker.stop();
    expect(seen.map((s) => [s.attempt, s.result, s.dropped])).toEqual([
      [0, "error", false],
      [1, "timeout", false],
      [2, "error", true],
    ]);
    expect(new Set(seen.map((s) => s.eventId)).size).toBe(1);
  });

  it("stops retrying once an attempt succeeds", async () => {
    const seen: ScheduledInvocation[] = [];
    let calls = 0;
    const invoker = new ScheduledInvoker({
      name: "sweep",
      everyMs: 60_000,
      timeoutMs: 1000,
      retries: 2,
      retryDelayMs: 5,
      invoke: async () => {
        calls += 1;
        if (calls === 1) throw new Error("once");
        return { partitions: 0 };
      },
      log: silentLogger,
      onInvocation: (invocation) => seen.push(invocation),
    });
    invoker.start();
    await until(() => seen.some((s) => s.result === "ok"));
    await invoker.stop();
    expect(seen.map((s) => s.result)).toEqual(["error", "ok"]);
    expect(seen[1]?.value).toEqual({ partitions: 0 });
  });
});

async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 10));
}
