/**
 * What a generation does to each raw version it planned: compacted, quarantined, already
 * in the lake, or dropped. These are the marks written on the raw records, so one module
 * states them for both paths that write marks (a commit and a marks-only job).
 */
import { CompacterError } from "../errors.js";
import type { ConsumedFile, PartitionState, RawFileRecord } from "../manifest/model.js";
import type { CommitDeps } from "./commit.js";
import type { EngineResult, RawInput } from "./engine.js";
import type { CompactionPlan } from "./plan.js";

export function consumedFiles(
  plan: CompactionPlan,
  raw: readonly RawInput[],
  result: EngineResult,
  skipped: ReadonlySet<string>,
): ConsumedFile[] {
  const byKey = new Map(result.files.map((f) => [f.key, f]));
  const consumed: ConsumedFile[] = [];
  for (const file of plan.read) {
    if (skipped.has(file.key)) continue;
    const outcome = byKey.get(file.key);
    if (!outcome) throw new CompacterError(`engine returned no outcome for ${file.key}`);
    const base = {
      key: file.key,
      eTag: file.eTag,
      sequencer: file.sequencer,
      plannedStatus: "pending",
      late: file.late,
    } as const;
    consumed.push(
      outcome.outcome === "read"
        ? {
            ...base,
            outcome: "compacted",
            rows: outcome.rows,
            badLines: outcome.badLines,
            ...(outcome.badLineSamples?.length
              ? {
                  badLineReasons: outcome.badLineSamples.map((b) => `line ${b.line}: ${b.reason}`).join("; "),
                }
              : {}),
            nullHeartbeats: outcome.nullHeartbeats,
            absurdHeartbeats: outcome.absurdHeartbeats,
          }
        : { ...base, outcome: "quarantined", rows: 0, badLines: 0, error: outcome.error },
    );
  }
  for (const file of plan.alreadyInLake) consumed.push(alreadyInLake(file));
  for (const file of [...plan.removals, ...plan.markOnly]) consumed.push(dropped(file));
  if (raw.length !== result.files.length) {
    throw new CompacterError(`engine returned ${result.files.length} outcomes for ${raw.length} raw inputs`);
  }
  return consumed;
}

export function countQuarantined(consumed: readonly ConsumedFile[]): number {
  return consumed.filter((f) => f.outcome === "quarantined").length;
}

/** The marks of a plan that writes nothing: exact re-uploads already in the lake, removed files that never reached it. */
export function marksOnly(plan: CompactionPlan): ConsumedFile[] {
  return [...plan.alreadyInLake.map(alreadyInLake), ...plan.markOnly.map(dropped)];
}

/** Writes marksOnly(plan) against the partition's current generation (no new generation is made). */
export async function applyMarksOnly(
  deps: Pick<CommitDeps, "store" | "clock">,
  plan: CompactionPlan,
  state: PartitionState | undefined,
) {
  const marks = marksOnly(plan);
  if (marks.length === 0) return;
  await deps.store.markConsumed(
    plan.partition,
    state?.generation ?? 0,
    marks,
    new Date(deps.clock.now()).toISOString(),
  );
}

function alreadyInLake(file: RawFileRecord): ConsumedFile {
  return {
    key: file.key,
    eTag: file.eTag,
    sequencer: file.sequencer,
    plannedStatus: "pending",
    outcome: "compacted",
    rows: file.rows ?? 0,
    badLines: file.badLines ?? 0,
    late: file.late,
  };
}

function dropped(file: RawFileRecord): ConsumedFile {
  return {
    key: file.key,
    eTag: file.eTag,
    sequencer: file.sequencer,
    plannedStatus: "removed",
    outcome: "dropped",
    rows: 0,
    badLines: 0,
    late: file.late,
  };
}
