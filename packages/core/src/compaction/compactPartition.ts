import type { CompacterConfig } from "../config/loadConfig.js";
import { CompacterError, InjectedFaultError, LeaseLostError } from "../errors.js";
import { type PartitionId, partitionLabel } from "../layout/partitions.js";
import type { Logger } from "../log.js";
import {
  type ConsumedFile,
  type GenerationRecord,
  type InflightCommit,
  type LakeFile,
  type PartitionState,
  PLAN_KIND,
  type PlanKind,
} from "../manifest/model.js";
import type { ManifestStore } from "../manifest/store.js";
import { ledgerTypes, narrowColumnsAfter } from "../schema/ledger.js";
import { newAttemptId } from "../util/ids.js";
import { finishCommit } from "./commit.js";
import {
  type AttemptStep,
  type CommitActions,
  type CommitProgress,
  failureAction,
  resumeStep,
  runCommitSteps,
} from "./commitProtocol.js";
import { applyMarksOnly, consumedFiles, countQuarantined } from "./consumedFiles.js";
import { downloadLake, downloadRaw } from "./downloadInputs.js";
import { type CompactionEngine, engineLimits } from "./engine.js";
import { buildGenerationRecord } from "./generationRecord.js";
import { keepLease } from "./leaseKeeper.js";
import { behindLedger, type LedgerListener } from "./ledgerUpdate.js";
import { type CompactionPlan, planCompaction } from "./plan.js";
import type { Clock, CompactionJob, FaultInjector, JobQueue, ObjectStore } from "./ports.js";
import { recordWrittenSchema } from "./schemaUpdate.js";
import { liveSlicedMerge, startSlicedMerge, workAndCommit } from "./slicedMerge.js";
import { discardAttempt, stageOutputs } from "./staging.js";
import type { ScratchSpace } from "./workspace.js";

export interface CompactionDeps {
  readonly store: ManifestStore;
  readonly objects: ObjectStore;
  readonly engine: CompactionEngine;
  readonly config: CompacterConfig;
  readonly clock: Clock;
  readonly faults: FaultInjector;
  readonly log: Logger;
  /** Names this process in leases and history ("host/pid"). */
  readonly workerId: string;
  /** Local disk for each attempt's downloads and outputs (the only disk core asks for). */
  readonly scratch: ScratchSpace;
  /**
   * Where a sliced merge asks for helpers: one more job per slice beyond the first, so
   * idle workers claim slices in parallel (slicedMerge.ts). Absent: the slices still get
   * done, by this worker and by whatever jobs arrive for the partition.
   */
  readonly jobs?: JobQueue;
  /** Told when this worker changed the type ledger (the Glue table follows it). */
  readonly onLedgerChanged?: LedgerListener;
}

export interface CompactionOutcome {
  readonly partition: PartitionId;
  /**
   * committed: a new generation is published; nothing: no work was due (marks may have
   * been applied); busy: another worker holds the lease; conflict: another worker
   * committed first (our staged output was discarded).
   */
  readonly status: "committed" | "nothing" | "busy" | "conflict";
  readonly plan?: CompactionPlan["kind"];
  readonly reason?: string;
  readonly generation?: number;
  /** A half-done commit of an earlier worker was finished first. */
  readonly rolledForward: boolean;
  readonly history?: GenerationRecord;
}

/**
 * One compaction of one partition, start to finish: lease → finish any commit left in
 * flight → plan → download → DuckDB → stage → commit → publish. Safe to call for the
 * same partition from any number of workers at once: the lease keeps them apart, the
 * generation check makes sure at most one of any overlapping attempts commits.
 */
export async function compactPartition(deps: CompactionDeps, job: CompactionJob): Promise<CompactionOutcome> {
  const { store, config, clock } = deps;
  const { partition } = job;
  const owner = `${deps.workerId}/${newAttemptId(clock.now())}`;
  const log = deps.log.child({ partition: partitionLabel(partition), owner });
  const acquiredAt = clock.now();
  const leased = await store.acquireLease(partition, owner, acquiredAt + config.leaseDurationMs, acquiredAt);
  if (!leased) {
    // The lease holder may be working a sliced merge: its slices are open to any worker.
    const generation = (await store.getPartition(partition))?.generation ?? 0;
    const sliced = await liveSlicedMerge({ ...deps, log }, partition, generation, false);
    if (sliced) return workAndCommit({ ...deps, log }, sliced, owner, false, false);
    log.info("partition is leased by another worker; leaving it to them");
    return { partition, status: "busy", rolledForward: false };
  }
  const lease = keepLease({
    store,
    partition,
    owner,
    leaseDurationMs: config.leaseDurationMs,
    clock,
    log,
    expiresAtMs: acquiredAt + config.leaseDurationMs,
  });
  let crashed = false;
  try {
    let snapshot = await store.readPartition(partition);
    let rolledForward = false;
    if (resumeStep(snapshot.state) && snapshot.state?.inflight) {
      log.warn("finishing a commit an earlier worker left in flight", {
        attemptId: snapshot.state.inflight.attemptId,
      });
      await finishCommit({ ...deps, log }, partition, snapshot.state.inflight, snapshot.state.files);
      rolledForward = true;
      snapshot = await store.readPartition(partition);
    }
    const sliced = await liveSlicedMerge({ ...deps, log }, partition, snapshot.state?.generation ?? 0, true);
    if (sliced) return await workAndCommit({ ...deps, log }, sliced, owner, true, rolledForward);
    const plan = planCompaction({
      partition,
      state: snapshot.state,
      files: snapshot.files,
      nowMs: clock.now(),
      settings: config,
      forceMerge:
        job.forceMerge || (job.rewriteTypes === true && (await behindLedger(store, snapshot.state))),
    });
    const { kind } = plan;
    if (kind === "none") {
      await applyMarksOnly(deps, plan, snapshot.state);
      log.info("nothing to compact", {
        reason: plan.reason,
        marked: plan.markOnly.length + plan.alreadyInLake.length,
      });
      return { partition, status: "nothing", reason: plan.reason, rolledForward };
    }
    if (kind === PLAN_KIND.merge) {
      const started = await startSlicedMerge({ ...deps, log }, plan, snapshot.state, snapshot.files, owner);
      if (started) return await workAndCommit({ ...deps, log }, started, owner, true, rolledForward);
    }
    return await runGeneration(
      { ...deps, log },
      { ...plan, kind },
      snapshot.state,
      owner,
      lease.signal,
      rolledForward,
    );
  } catch (error) {
    crashed = error instanceof InjectedFaultError;
    throw error;
  } finally {
    lease.stop();
    // A crashed worker releases nothing: the next one must wait out the lease, as after
    // a real crash. Only a live worker hands the partition back early.
    if (!crashed) {
      await store.releaseLease(partition, owner).catch((error: unknown) => {
        log.warn("could not release lease; it will expire", { error });
      });
    }
  }
}

async function runGeneration(
  deps: CompactionDeps,
  plan: CompactionPlan & { readonly kind: PlanKind },
  state: PartitionState | undefined,
  owner: string,
  signal: AbortSignal,
  rolledForward: boolean,
): Promise<CompactionOutcome> {
  const { store, config, clock, engine } = deps;
  const { partition } = plan;
  const startedAt = clock.now();
  const attemptId = newAttemptId(startedAt);
  const generation = (state?.generation ?? 0) + 1;
  const log = deps.log.child({ generation, attemptId, plan: plan.kind });
  const workspace = await deps.scratch.create(attemptId);
  const stagedKeys: string[] = [];
  let intentWritten = false;
  const progress: { done: CommitProgress } = { done: "none" };
  // A job that outlives a lease period says so, with the partition and the stage it is in:
  // the operator's answer to "which partition is slow, and doing what".
  let stage = "download";
  const slowLog = setInterval(() => {
    log.warn("compaction still running", { stage, runningMs: clock.now() - startedAt });
  }, config.leaseDurationMs);
  slowLog.unref();
  try {
    log.info("compacting", { reason: plan.reason, read: plan.read.length, deferred: plan.deferred });
    // Read in device-then-hour order: an unsorted append then comes out clustered by
    // device (each DuckDB thread fills its row groups from consecutive files), so a
    // one-unit query skips most row groups even before the day's sorted merge.
    const byDeviceHour = [...plan.read].sort(
      (a, b) => a.deviceId.localeCompare(b.deviceId) || a.hourKey.localeCompare(b.hourKey),
    );
    const { raw, skipped } = await downloadRaw(deps, byDeviceHour, workspace.rawDir);
    if (raw.length === 0 && plan.kind === PLAN_KIND.append) {
      // Every planned file changed under us: their newer events decide; nothing to write.
      await applyMarksOnly(deps, plan, state);
      return {
        partition,
        status: "nothing",
        reason: "every planned raw file changed since registration",
        rolledForward,
      };
    }
    const lakeInputs = plan.kind === PLAN_KIND.merge ? (state?.files ?? []) : [];
    const lake = await downloadLake(deps, lakeInputs, workspace.lakeDir);
    if (signal.aborted) throw new LeaseLostError("lease lost while downloading inputs");

    const schema = await store.getSchema(partition.district);
    const ledger = await store.getLedger();
    const result = await engine.compact({
      partition,
      raw,
      lake,
      dropSources: plan.dropSources,
      schema: schema?.columns ?? [],
      ledgerTypes: ledgerTypes(ledger),
      // Every file is written in device_id, event_time order, appends too: an append's raw
      // files read in device-then-hour order already are (writeOutputs checks, and sorts
      // only if not), and sorted files let a sliced merge read just its devices' row groups.
      sort: true,
      outputDir: workspace.outDir,
      maxFileBytes: config.maxFileSizeBytes,
      // A closed day's sorted files are kept for good and read often: worth the slower,
      // smaller ZSTD level (level 9: 0.93× the bytes of level 3 on sorted telemetry; level
      // 12 saves 0.3% more for 1.4× the encoding time of level 9, so 9 is the default).
      limits: engineLimits(
        config,
        workspace.duckDbTempDir,
        plan.sort ? config.mergeZstdLevel : config.zstdLevel,
      ),
      signal,
      onStage: (engineStage) => {
        stage = engineStage;
      },
    });
    stage = "commit";
    // Before staging: the ledger must widen before the commit publishes anything of the wider type.
    await recordWrittenSchema(deps, partition, result);

    // The attempt's own steps (commitProtocol.ts); each builds what the next one writes.
    let inflight: InflightCommit | undefined;
    let newFiles: LakeFile[] = [];
    let filesAfter: LakeFile[] = [];
    let record: GenerationRecord | undefined;
    let consumed: ConsumedFile[] = [];
    const actions: CommitActions<AttemptStep> = {
      stage: async () => {
        const outputs = await stageOutputs(
          deps,
          partition,
          generation,
          attemptId,
          result.outputs,
          stagedKeys,
        );
        inflight = {
          attemptId,
          generation,
          staged: outputs.map((o) => ({ stagingKey: o.stagingKey, lakeKey: o.file.key })),
        };
        newFiles = outputs.map((o) => o.file);
        filesAfter = plan.kind === PLAN_KIND.merge ? newFiles : [...(state?.files ?? []), ...newFiles];
        consumed = consumedFiles(plan, raw, result, skipped);
        record = buildGenerationRecord({
          partition,
          generation,
          attemptId,
          plan,
          owner,
          startedAtMs: startedAt,
          committedAt: new Date(clock.now()).toISOString(),
          durationMs: clock.now() - startedAt,
          consumed,
          lakeInputs,
          outputs: newFiles,
          staged: inflight.staged,
          result,
        });
        if (record.unstoredFields.length > 0) {
          log.warn("raw fields whose names clash with existing columns except for case were not stored", {
            fields: record.unstoredFields,
          });
        }
      },
      intent: async () => {
        await store.putIntent(definite(record));
        intentWritten = true;
      },
      commit: async () => {
        if (signal.aborted) throw new LeaseLostError("lease lost before commit");
        await store.commitGeneration({
          partition,
          expectedGeneration: generation - 1,
          owner,
          nowMs: clock.now(),
          files: filesAfter,
          rows: filesAfter.reduce((n, f) => n + f.rows, 0),
          bytes: filesAfter.reduce((n, f) => n + f.bytes, 0),
          plan: plan.kind,
          inflight: definite(inflight),
          committedAt: definite(record).committedAt ?? new Date(clock.now()).toISOString(),
          dueAt: new Date(clock.now() + config.leaseDurationMs).toISOString(),
          narrowColumns: narrowColumnsAfter(
            state?.narrowColumns,
            result.schema,
            plan.kind === PLAN_KIND.merge,
          ),
        });
        log.info("generation committed", {
          rowsOut: result.rowsOut,
          outputs: newFiles.length,
          quarantined: countQuarantined(consumed),
        });
      },
    };
    await runCommitSteps({ from: "stage", through: "commit", actions, faults: deps.faults, progress });

    const history = await finishCommit({ ...deps, log }, partition, definite(inflight), filesAfter, record);
    return {
      partition,
      status: "committed",
      plan: plan.kind,
      reason: plan.reason,
      generation,
      rolledForward,
      history,
    };
  } catch (error) {
    const action = failureAction(progress.done, error);
    if (action === "conflict") {
      log.warn("another worker got there first; discarding this attempt", { error });
      await discardAttempt(deps, partition, attemptId, stagedKeys, intentWritten);
      return {
        partition,
        status: "conflict",
        plan: plan.kind,
        reason: (error as Error).message,
        rolledForward,
      };
    }
    if (action === "discard") await discardAttempt(deps, partition, attemptId, stagedKeys, intentWritten);
    throw error;
  } finally {
    clearInterval(slowLog);
    await deps.scratch.remove(workspace);
  }
}

/** A value an earlier commit step assigned; its absence is a bug in the step order. */
function definite<T>(value: T | undefined): T {
  if (value === undefined) throw new CompacterError("a commit step ran before the step that prepares it");
  return value;
}
