import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CompactionHarness,
  createCompactionHarness,
  expectedRows,
  partitionsOf,
} from "../../helpers/compactionHarness.js";
import { useLocalStack } from "../../helpers/localStack.js";
import { hoursAgo, sleep } from "../../helpers/time.js";

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

  it("is recovered by the next process, every row exactly once", async () => {
    const first = await h.simulate({ hours: 1, startHourMs: hoursAgo(3) });
    const [partition] = partitionsOf(first);
    if (!partition) throw new Error("no partition");
    await h.compact(partition);
    const overwrite = await h.simulate({ hours: 1, startHourMs: hoursAgo(3), seed: 42 });
    const expected = expectedRows(overwrite, partition);

    const args = ["compact", "--day", partition.day, "--district", partition.district, "--json"];
    const killed = await runCli(args, { ...h.env, COMPACTER_FAULT_POINT: point });
    expect(killed.signal).toBe("SIGKILL");

    await sleep(2_100);
    const recovered = await runCli(args, h.env);
    expect(recovered).toMatchObject({ code: 0, signal: null });
    const [outcome] = JSON.parse(recovered.stdout) as [{ status: string; rolledForward: boolean }];
    expect(outcome.rolledForward).toBe(point === "afterPublish");

    expect(await h.manifestRows(partition)).toEqual(expected);
    expect(await h.lakeRows(partition)).toEqual(expected);
    expect((await h.runtime.store.getPartition(partition))?.inflight).toBeUndefined();
  });
});

function runCli(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(process.execPath, ["packages/cli/bin/compacter.js", ...args], {
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => {
        stdout += d;
      });
      child.stderr.on("data", (d) => {
        stderr += d;
      });
      child.on("error", reject);
      child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
    },
  );
}
