import { FAULT_POINTS, type FaultInjector, type FaultPoint, InjectedFaultError } from "@compacter/core";

/** Test hook, not a setting: the process SIGKILLs itself at this commit step. */
export const FAULT_POINT_ENV = "COMPACTER_FAULT_POINT";

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
  return faultAt(parseFaultPoint(point), "kill");
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
