import {
  COMMIT_STEPS,
  type CommitStep,
  FAULT_POINTS,
  failureAction,
  faultPointAfter,
  GenerationConflictError,
  InjectedFaultError,
  isCommitted,
  LeaseLostError,
  nextCommitStep,
  type PartitionState,
  resumeStep,
  runCommitSteps,
} from "@compacter/core";
import { describe, expect, it } from "vitest";

describe("the commit protocol's state machine", () => {
  it("runs its named steps in DESIGN.md's order, one after another, then ends", () => {
    const order: CommitStep[] = [];
    for (let step = nextCommitStep("none"); step; step = nextCommitStep(step)) order.push(step);
    expect(order).toEqual([
      "stage",
      "intent",
      "commit",
      "publish",
      "deleteReplaced",
      "mark",
      "history",
      "finish",
      "cleanup",
    ]);
    expect(order).toEqual([...COMMIT_STEPS]);
  });

  it("is committed from the commit step on, never before", () => {
    expect(["none", ...COMMIT_STEPS].filter((s) => isCommitted(s as CommitStep | "none"))).toEqual(
      COMMIT_STEPS.slice(COMMIT_STEPS.indexOf("commit")),
    );
  });

  it("resumes someone else's commit from publish when one is in flight, and nothing otherwise", () => {
    const state: PartitionState = {
      partition: { day: "2025-12-12", district: "X" },
      generation: 1,
      files: [],
      rows: 0,
      bytes: 0,
    };
    expect(resumeStep(undefined)).toBeUndefined();
    expect(resumeStep(state)).toBeUndefined();
    expect(resumeStep({ ...state, inflight: { attemptId: "a", generation: 1, staged: [] } })).toBe("publish");
  });

  it("names a crash point after every step but the last, the ones tests and COMPACTER_FAULT_POINT use", () => {
    expect(COMMIT_STEPS.map(faultPointAfter).filter(Boolean)).toEqual([...FAULT_POINTS]);
  });

  it("decides what a failure means from how far the commit got", () => {
    const conflict = new GenerationConflictError("moved");
    expect(failureAction("intent", new InjectedFaultError("afterIntent"))).toBe("crashed");
    expect(failureAction("mark", new InjectedFaultError("afterMark"))).toBe("crashed");
    expect(failureAction("intent", conflict)).toBe("conflict");
    expect(failureAction("stage", new LeaseLostError("gone"))).toBe("conflict");
    expect(failureAction("none", new Error("disk full"))).toBe("discard");
    expect(failureAction("commit", conflict)).toBe("rollForwardLater");
    expect(failureAction("history", new Error("throttled"))).toBe("rollForwardLater");
  });

  it("drives the steps it is given in order, firing each crash point and tracking progress", async () => {
    const events: string[] = [];
    const progress: { done: CommitStep | "none" } = { done: "none" };
    const action = (step: CommitStep) => async () => {
      events.push(step);
    };
    await runCommitSteps({
      from: "stage",
      through: "commit",
      actions: { stage: action("stage"), intent: action("intent"), commit: action("commit") },
      faults: { at: async (point) => void events.push(point) },
      progress,
    });
    expect(events).toEqual(["stage", "afterStage", "intent", "afterIntent", "commit", "afterCommit"]);
    expect(progress.done).toBe("commit");

    const crashed = { done: "commit" as CommitStep | "none" };
    const run = runCommitSteps({
      from: "publish",
      through: "cleanup",
      actions: Object.fromEntries(COMMIT_STEPS.slice(3).map((s) => [s, async () => {}])) as Record<
        "publish" | "deleteReplaced" | "mark" | "history" | "finish" | "cleanup",
        () => Promise<void>
      >,
      faults: {
        at: async (point) => {
          if (point === "afterMark") throw new InjectedFaultError(point);
        },
      },
      progress: crashed,
    });
    await expect(run).rejects.toBeInstanceOf(InjectedFaultError);
    // The step completed before the crash: a roll forward redoes it, which is why every step after commit is idempotent.
    expect(crashed.done).toBe("mark");
  });
});
