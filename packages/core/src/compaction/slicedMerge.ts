/**
 * A merge too large for one job, worked as device-range slices (DESIGN.md "Compaction":
 * no job's memory, temp disk or time grows with the partition).
 *
 *   plan     under the partition's lease: the merge's inputs are cut into slices
 *            (slicePlan.ts) and written as one plan item and one item per slice
 *   slices   any worker claims a slice (a claim expires like a lease, so a worker that
 *            dies mid-slice only delays it), merges the slice's devices — its raw files
 *            and its device range of every lake file — into files ≤ maxFileSizeBytes,
 *            uploads them under the staging prefix, and records the slice as staged
 *   commit   once every slice is staged, one worker takes the lease and commits ALL
 *            slices' outputs as one generation through the ordinary protocol (commit.ts):
 *            intent → one conditional commit write → publish/delete/mark/history/finish
 *            → cleanup, rolled forward by anyone after a crash. The plan's items go last.
 *
 * A plan whose base generation is no longer current (another generation committed) is
 * stale: its staged objects and items are discarded. Nothing of a plan is visible to a
 * reader before the commit write.
 */
import { InjectedFaultError, LeaseLostError } from "../errors.js";
import type { PartitionId } from "../layout/partitions.js";
import type { GenerationRecord, InflightCommit, PartitionState, RawFileRecord } from "../manifest/model.js";
import { PLAN_KIND } from "../manifest/model.js";
import type { MergeSlice, SlicedMergePlan, SlicedMergeState, StagedSlice } from "../manifest/slicedMerge.js";
import { narrowColumnsAfter } from "../schema/ledger.js";
import { newAttemptId } from "../util/ids.js";
import { finishCommit } from "./commit.js";
import type { CompactionDeps, CompactionOutcome } from "./compactPartition.js";
import type { CompactionPlan } from "./plan.js";
import { runSlice } from "./sliceJob.js";
import { deviceInputBytes, inDeviceRange, planSlices } from "./slicePlan.js";

/**
 * Under the lease, for a merge plan: writes a sliced plan and returns it when the merge's
 * input exceeds maxSliceInputBytes; undefined when one job can do it (the ordinary path).
 */
export async function startSlicedMerge(
  deps: CompactionDeps,
  plan: CompactionPlan,
  state: PartitionState | undefined,
  files: readonly RawFileRecord[],
  owner: string,
): Promise<SlicedMergeState | undefined> {
  const planned = planSlices(deviceInputBytes(files), deps.config.maxSliceInputBytes);
  if (planned.length <= 1) return undefined;
  const attemptId = newAttemptId(deps.clock.now());
  const mergePlan: SlicedMergePlan = {
    partition: plan.partition,
    attemptId,
    baseGeneration: state?.generation ?? 0,
    reason: plan.reason,
    lakeInputs: state?.files ?? [],
    sliceCount: planned.length,
    owner,
    createdAt: new Date(deps.clock.now()).toISOString(),
  };
  const ofSlice = (range: (typeof planned)[number], records: readonly RawFileRecord[]) =>
    records.filter((f) => inDeviceRange(f.deviceId, range));
  const slices: MergeSlice[] = planned.map((range) => {
    const read = ofSlice(range, plan.read);
    const removals = ofSlice(range, plan.removals);
    const keys = new Set([...read, ...removals].map((f) => f.key));
    return {
      index: range.index,
      ...(range.fromDevice !== undefined ? { fromDevice: range.fromDevice } : {}),
      ...(range.toDevice !== undefined ? { toDevice: range.toDevice } : {}),
      inputBytes: range.inputBytes,
      read,
      alreadyInLake: ofSlice(range, plan.alreadyInLake),
      removals,
      markOnly: ofSlice(range, plan.markOnly),
      dropSources: plan.dropSources.filter((k) => keys.has(k)),
    };
  });
  await deps.store.putSlicedMerge(mergePlan, slices);
  if (deps.jobs) {
    // Best effort: a helper that never comes only means this worker does more slices.
    const helpers = Array.from({ length: slices.length - 1 }, () => ({ partition: plan.partition }));
    await deps.jobs.sendCompactionJobs(helpers).catch((error: unknown) => {
      deps.log.warn("could not ask for helpers; slicing alone", { error });
    });
  }
  deps.log.info("merge planned in slices", {
    attemptId,
    slices: slices.length,
    inputBytes: slices.map((s) => s.inputBytes),
  });
  return { attemptId, plan: mergePlan, slices };
}

/**
 * The live sliced merge of a partition, if any; stale and half-written ones are discarded
 * on the way (`discard` is false without the lease: only the lease holder discards).
 */
export async function liveSlicedMerge(
  deps: CompactionDeps,
  partition: PartitionId,
  generation: number,
  discard: boolean,
): Promise<SlicedMergeState | undefined> {
  let live: SlicedMergeState | undefined;
  for (const merge of await deps.store.listSlicedMerges(partition)) {
    const current = merge.plan?.baseGeneration === generation && live === undefined;
    if (current) live = merge;
    else if (discard) await discardSlicedMerge(deps, partition, merge);
  }
  return live;
}

/** Works slices until none is left to claim; returns how many this worker staged. */
export async function workSlices(
  deps: CompactionDeps,
  merge: SlicedMergeState,
  owner: string,
): Promise<number> {
  const { store, clock, config } = deps;
  const plan = merge.plan;
  if (!plan) return 0;
  let staged = 0;
  for (;;) {
    const current = (await store.listSlicedMerges(plan.partition)).find(
      (m) => m.attemptId === merge.attemptId,
    );
    if (!current?.plan) return staged;
    const now = clock.now();
    const open = current.slices.filter(
      (s) => s.staged === undefined && (s.claimedBy === undefined || (s.claimExpiresAt ?? 0) < now),
    );
    let claimed: MergeSlice | undefined;
    for (const slice of open) {
      if (
        await store.claimSlice(
          plan.partition,
          plan.attemptId,
          slice.index,
          owner,
          now + config.leaseDurationMs,
          now,
        )
      ) {
        claimed = slice;
        break;
      }
    }
    if (!claimed) return staged;
    if (await runSlice(deps, plan, claimed, owner)) staged++;
  }
}

/**
 * Commits a sliced merge whose slices are all staged. The caller holds the partition's
 * lease as `owner` and has finished any commit left in flight.
 */
export async function commitSlicedMerge(
  deps: CompactionDeps,
  partition: PartitionId,
  attemptId: string,
  owner: string,
  rolledForward: boolean,
): Promise<CompactionOutcome> {
  const { store, clock, config } = deps;
  const merge = (await store.listSlicedMerges(partition)).find((m) => m.attemptId === attemptId);
  const plan = merge?.plan;
  const stagedSlices = merge?.slices.flatMap((s) => (s.staged ? [s.staged] : [])) ?? [];
  if (!merge || !plan || stagedSlices.length < plan.sliceCount) {
    return { partition, status: "busy", reason: "slices of the merge are still running", rolledForward };
  }
  const state = await store.getPartition(partition);
  if ((state?.generation ?? 0) !== plan.baseGeneration) {
    await discardSlicedMerge(deps, partition, merge);
    return { partition, status: "conflict", reason: "another generation committed first", rolledForward };
  }
  const generation = plan.baseGeneration + 1;
  const log = deps.log.child({ generation, attemptId, plan: PLAN_KIND.merge, slices: plan.sliceCount });
  const outputs = stagedSlices.flatMap((s) => s.outputs);
  const files = outputs.map(({ key, rows, bytes }) => ({ key, rows, bytes }));
  const inflight: InflightCommit = {
    attemptId,
    generation,
    staged: outputs.map((o) => ({ stagingKey: o.stagingKey, lakeKey: o.key })),
  };
  const committedAt = new Date(clock.now()).toISOString();
  const consumed = stagedSlices.flatMap((s) => s.consumed);
  const sum = (pick: (s: StagedSlice) => number) => stagedSlices.reduce((n, s) => n + pick(s), 0);
  const nulledValues: Record<string, number> = {};
  for (const s of stagedSlices) {
    for (const [column, n] of Object.entries(s.nulledValues))
      nulledValues[column] = (nulledValues[column] ?? 0) + n;
  }
  const distinct = <T>(values: readonly T[]) => [...new Set(values)];
  const record: GenerationRecord = {
    partition,
    generation,
    attemptId,
    plan: PLAN_KIND.merge,
    reason: plan.reason,
    worker: owner,
    startedAt: plan.createdAt,
    committedAt,
    durationMs: clock.now() - Date.parse(plan.createdAt),
    inputs: consumed,
    lakeInputs: plan.lakeInputs,
    outputs: files,
    replaced: plan.lakeInputs,
    staged: inflight.staged,
    rowsIn: sum((s) => s.rowsIn),
    rowsOut: sum((s) => s.rowsOut),
    rowsDropped: sum((s) => s.rowsDropped),
    // As a one-job merge counts it: the raw files read and the lake files replaced.
    bytesIn:
      merge.slices.flatMap((s) => s.read).reduce((n, f) => n + f.size, 0) +
      plan.lakeInputs.reduce((n, f) => n + f.bytes, 0),
    bytesOut: files.reduce((n, f) => n + f.bytes, 0),
    lateFiles: consumed.filter((f) => f.late && f.plannedStatus === "pending").length,
    badLines: consumed.reduce((n, f) => n + f.badLines, 0),
    nulledValues,
    addedColumns: distinct(stagedSlices.flatMap((s) => s.addedColumns)),
    unstoredFields: distinct(stagedSlices.flatMap((s) => s.unstoredFields)),
    renamedFields: stagedSlices.flatMap((s) => s.renamedFields),
    schemaColumns: Math.max(...stagedSlices.map((s) => s.schema.length)),
    slices: stagedSlices.map((s, index) => ({
      index,
      worker: s.worker,
      durationMs: s.durationMs,
      bytesIn: s.bytesIn,
      bytesOut: s.outputs.reduce((n, o) => n + o.bytes, 0),
      rowsOut: s.rowsOut,
      outputs: s.outputs.length,
    })),
  };
  await store.putIntent(record);
  await deps.faults.at("afterIntent");
  // Each slice's columns count: the narrowest integer type of any slice is what a reader meets.
  let narrow = narrowColumnsAfter(state?.narrowColumns, stagedSlices[0]?.schema ?? [], true);
  for (const s of stagedSlices.slice(1)) narrow = narrowColumnsAfter(narrow, s.schema, false);
  await store.commitGeneration({
    partition,
    expectedGeneration: plan.baseGeneration,
    owner,
    nowMs: clock.now(),
    files,
    rows: files.reduce((n, f) => n + f.rows, 0),
    bytes: files.reduce((n, f) => n + f.bytes, 0),
    plan: PLAN_KIND.merge,
    inflight,
    committedAt,
    dueAt: new Date(clock.now() + config.leaseDurationMs).toISOString(),
    narrowColumns: narrow,
  });
  log.info("sliced merge committed", { outputs: files.length, rowsOut: record.rowsOut });
  await deps.faults.at("afterCommit");
  const history = await finishCommit({ ...deps, log }, partition, inflight, files, record);
  // After the generation is finished: a crash before this leaves a plan whose base
  // generation is gone, which the next lease holder discards as stale.
  await store.deleteSlicedMerge(partition, attemptId);
  return {
    partition,
    status: "committed",
    plan: PLAN_KIND.merge,
    reason: plan.reason,
    generation,
    rolledForward,
    history,
  };
}

/**
 * Works a live sliced merge and commits it if this worker ends up with all slices staged.
 * Without the lease (`leased` false) the commit waits for the lease up to one lease period:
 * a lease holder that saw a slice still running lets it go at once.
 */
export async function workAndCommit(
  deps: CompactionDeps,
  merge: SlicedMergeState,
  owner: string,
  leased: boolean,
  rolledForward: boolean,
): Promise<CompactionOutcome> {
  const { store, clock, config } = deps;
  const partition = merge.plan?.partition ?? { day: "", district: "" };
  const staged = await workSlices(deps, merge, owner);
  deps.log.info("slices worked", { attemptId: merge.attemptId, staged });
  if (leased) return commitSlicedMerge(deps, partition, merge.attemptId, owner, rolledForward);
  const giveUpAt = clock.now() + config.leaseDurationMs;
  // The holder usually lets go within moments; if it died, its lease runs out only after
  // a lease period. Back off (200 ms doubling, at most 5 s) so that wait costs a few dozen
  // manifest reads, not one pair every 200 ms.
  let pauseMs = 200;
  for (;;) {
    const current = (await store.listSlicedMerges(partition)).find((m) => m.attemptId === merge.attemptId);
    if (!current?.plan || current.slices.some((s) => s.staged === undefined)) {
      return { partition, status: "busy", reason: "slices of the merge are still running", rolledForward };
    }
    const now = clock.now();
    if (await store.acquireLease(partition, owner, now + config.leaseDurationMs, now)) break;
    if (now >= giveUpAt) {
      return { partition, status: "busy", reason: "the lease holder commits the merge", rolledForward };
    }
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    pauseMs = Math.min(pauseMs * 2, 5_000);
  }
  let crashed = false;
  try {
    const state = await store.getPartition(partition);
    if (state?.inflight) {
      await finishCommit(deps, partition, state.inflight, state.files);
      rolledForward = true;
    }
    return await commitSlicedMerge(deps, partition, merge.attemptId, owner, rolledForward);
  } catch (error) {
    crashed = error instanceof InjectedFaultError;
    if (error instanceof LeaseLostError) {
      return { partition, status: "busy", reason: error.message, rolledForward };
    }
    throw error;
  } finally {
    if (!crashed) await store.releaseLease(partition, owner).catch(() => {});
  }
}

/** Removes a sliced merge that will never commit: its staged objects, then its items. */
async function discardSlicedMerge(deps: CompactionDeps, partition: PartitionId, merge: SlicedMergeState) {
  const keys = merge.slices.flatMap((s) => s.staged?.outputs.map((o) => o.stagingKey) ?? []);
  await deps.objects.deleteMany(deps.config.lakeBucket, keys);
  // Called only with no commit in flight, so an intent of this merge (its commit crashed
  // before the commit write, or after it but before cleanup) is no longer needed.
  await deps.store.deleteIntent(partition, merge.attemptId);
  await deps.store.deleteSlicedMerge(partition, merge.attemptId);
  deps.log.info("discarded a stale sliced merge", { attemptId: merge.attemptId });
}
