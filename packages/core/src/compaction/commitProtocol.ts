/**
 * The commit protocol (DESIGN.md "Commit") as a state machine: its named steps, pure
 * functions that say which step comes next, where a crashed commit resumes and what a
 * failure means, and a small driver that runs the I/O of each step in that order. The
 * steps' I/O lives with their callers (compactPartition.ts: stage, intent, commit;
 * commit.ts finishCommit: the rest); the order and the recovery rules live here.
 *
 *   stage           outputs uploaded under the staging prefix (outside the lake's Hive tree)
 *   intent          the generation's full record written as C#{attemptId}
 *   commit          ONE conditional write on the partition item: generation g → g+1, new
 *                   file list, `inflight` = this attempt — only if the generation is still
 *                   g, nothing else is in flight and our lease holds (partitionRules.ts
 *                   commitRefusal). The point of no return: before it nothing is visible,
 *                   after it the commit must finish.
 *   publish         staged files copied to their lake keys
 *   deleteReplaced  replaced lake files deleted
 *   mark            consumed raw versions marked (conditional per file, fileVersions.ts)
 *   history         the generation's history item written
 *   finish          `inflight` cleared, partition due time set (a merge at day close)
 *   cleanup         intent and staged copies deleted
 *
 * Every step from publish on is idempotent: a worker that finds `inflight` set (a crash
 * anywhere between commit and finish) runs them all again from publish, so the commit
 * rolls forward, never back. A crash before commit leaves only staged objects and an
 * intent no generation references; the orphan sweep removes them.
 */
import { CompacterError, GenerationConflictError, InjectedFaultError, LeaseLostError } from "../errors.js";
import type { PartitionState } from "../manifest/model.js";
import type { FaultInjector, FaultPoint } from "./ports.js";

export const COMMIT_STEPS = [
  "stage",
  "intent",
  "commit",
  "publish",
  "deleteReplaced",
  "mark",
  "history",
  "finish",
  "cleanup",
] as const;

export type CommitStep = (typeof COMMIT_STEPS)[number];

/** The steps before the point of no return: an attempt's own, undone by discarding it. */
export type AttemptStep = "stage" | "intent" | "commit";
/** The steps after it: idempotent, run by whoever finds the commit in flight. */
export type RollForwardStep = Exclude<CommitStep, AttemptStep>;

/** Where a commit stands: "none" before its first step completed, else the last step that did. */
export type CommitProgress = CommitStep | "none";

/** The step after `done`, or undefined when the commit is complete. */
export function nextCommitStep(done: CommitProgress): CommitStep | undefined {
  return COMMIT_STEPS[done === "none" ? 0 : COMMIT_STEPS.indexOf(done) + 1];
}

/** Whether the generation is committed (visible in the manifest) once `done` completed. */
export function isCommitted(done: CommitProgress): boolean {
  return done !== "none" && COMMIT_STEPS.indexOf(done) >= COMMIT_STEPS.indexOf("commit");
}

/**
 * Where a worker that finds the partition in `state` resumes someone else's commit: from
 * publish when a commit is in flight (what exactly the crashed worker finished after it
 * is unknown, and every later step is idempotent); nowhere otherwise.
 */
export function resumeStep(state: PartitionState | undefined): RollForwardStep | undefined {
  return state?.inflight ? "publish" : undefined;
}

/** The named crash points a test can kill a worker at (FAULT_POINTS): right after each step. */
const FAULT_AFTER: Readonly<Record<CommitStep, FaultPoint | undefined>> = {
  stage: "afterStage",
  intent: "afterIntent",
  commit: "afterCommit",
  publish: "afterPublish",
  deleteReplaced: "afterDeleteReplaced",
  mark: "afterMark",
  history: "afterHistory",
  finish: "afterFinish",
  // After cleanup the commit is complete: a crash there is no crash of the commit.
  cleanup: undefined,
};

export function faultPointAfter(step: CommitStep): FaultPoint | undefined {
  return FAULT_AFTER[step];
}

/**
 * What an attempt does when a step throws, given how far it got:
 * - crashed: an injected crash — behave like a dead process, touch nothing;
 * - rollForwardLater: committed already — the next worker finishes it; undo nothing;
 * - conflict: another worker got there first (generation moved, lease lost) — discard our
 *   staged output and intent, report a conflict;
 * - discard: any other failure before the commit — discard, then fail the job.
 */
export type FailureAction = "crashed" | "rollForwardLater" | "conflict" | "discard";

export function failureAction(done: CommitProgress, error: unknown): FailureAction {
  if (error instanceof InjectedFaultError) return "crashed";
  if (isCommitted(done)) return "rollForwardLater";
  if (error instanceof GenerationConflictError || error instanceof LeaseLostError) return "conflict";
  return "discard";
}

/** The I/O of each step, supplied by the caller. */
export type CommitActions<S extends CommitStep> = Readonly<Record<S, () => Promise<void>>>;

/**
 * The driver: runs the steps of `actions` in protocol order from `from` through `through`,
 * firing the crash point after each, and keeps `progress.done` current so the caller's
 * failure handling (failureAction) knows how far the commit got.
 */
export async function runCommitSteps<S extends CommitStep>(input: {
  readonly from: NoInfer<S>;
  readonly through: NoInfer<S>;
  readonly actions: CommitActions<S>;
  readonly faults: FaultInjector;
  readonly progress: { done: CommitProgress };
}): Promise<void> {
  const { actions, faults, progress } = input;
  let step: CommitStep | undefined = input.from;
  while (step !== undefined) {
    const action = (actions as Partial<Record<CommitStep, () => Promise<void>>>)[step];
    if (!action) throw new CompacterError(`commit step '${step}' has no action`);
    await action();
    progress.done = step;
    const point = faultPointAfter(step);
    if (point) await faults.at(point);
    if (step === input.through) return;
    step = nextCommitStep(step);
  }
}
