import { FAULT_POINTS, type FaultInjector, type FaultPoint, InjectedFaultError } from "@compacter/core";

/** Test hook, not a setting: the process SIGKILLs itself at this commit step. */
export const FAULT_POINT_ENV = "COMPACTER_FAULT_POINT";
/**
 * Test hook: `stall:<ms>` instead of the kill — the job stops at the point for that long
 * (past a function timeout: the invocation is abandoned, as Lambda abandons it) and then
 * dies there as a crash does (InjectedFaultError: no cleanup, no lease release, renewals
 * stop). Once per process, so the next invocation in the same container recovers. For
 * runtimes that run in the test's own process (the local Lambda runner, the Worker).
 */
export const FAULT_MODE_ENV = "COMPACTER_FAULT_MODE";

/**
 * Fault injection for crash tests. `kill` ends the process the way a crash, an OOM kill
 * or a Lambda timeout does — no finally blocks, no lease release; `throw` raises
 * InjectedFaultError, which the compaction service treats as a crash (nothing released
 * or cleaned up), for tests that run the worker in-process.
 */
export function faultsFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): FaultInjector {
  const point = env[FAULT_POINT_ENV];
  if (!point) return { at: async () => {} };
  const stall = /^stall:(\d+)$/.exec(env[FAULT_MODE_ENV] ?? "");
  if (!stall) return faultAt(parseFaultPoint(point), "kill");
  const parsed = parseFaultPoint(point);
  let fired = false;
  return {
    at: async (reached) => {
      if (reached !== parsed || fired) return;
      fired = true;
      await new Promise((resolve) => setTimeout(resolve, Number(stall[1])));
      throw new InjectedFaultError(parsed);
    },
  };
}

export function faultAt(point: FaultPoint, mode: "kill" | "throw"): FaultInjector {
  return {
    at: async (reached) => {
      if (reached !== point) return;
      if (mode === "throw") throw new InjectedFaultError(point);
      process.stderr.write(
        `${JSON.stringify({ level: "warn", msg: "injected fault: killing this process", point })}\n`,
      );
      process.kill(process.pid, "SIGKILL");
      // SIGKILL is not instant; never run the next step meanwhile.
      await new Promise(() => {});
    },
  };
}

export function parseFaultPoint(point: string): FaultPoint {
  if (!(FAULT_POINTS as readonly string[]).includes(point)) {
    throw new RangeError(`${FAULT_POINT_ENV}='${point}' is not one of ${FAULT_POINTS.join(", ")}`);
  }
  return point as FaultPoint;
}
