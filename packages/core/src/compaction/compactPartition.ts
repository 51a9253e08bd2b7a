import { mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CompacterConfig } from "../config/loadConfig.js";
import {
  CompacterError,
  GenerationConflictError,
  InjectedFaultError,
  LeaseLostError,
  ObjectNotFoundError,
} from "../errors.js";
import { parsedKeyOf, registerObservedVersion } from "../ingest/observedVersions.js";
import { lakeFileKey, type PartitionId, partitionLabel } from "../layout/partitions.js";
import type { Logger } from "../log.js";
import {
  type ConsumedFile,
  type GenerationRecord,
  type InflightCommit,
  type LakeFile,
  type PartitionState,
  PLAN_KIND,
  type PlanKind,
  type RawFileRecord,
} from "../manifest/model.js";
import type { ManifestStore } from "../manifest/store.js";
import { ledgerTypes, narrowColumnsAfter } from "../schema/ledger.js";
import { mergeSchemas } from "../schema/mergeSchemas.js";
import { newAttemptId } from "../util/ids.js";
import { mapLimit } from "../util/mapLimit.js";
import { finishCommit } from "./commit.js";
import type { CompactionEngine, EngineResult, RawInput } from "./engine.js";
import { keepLease } from "./leaseKeeper.js";
import { behindLedger, type LedgerListener, recordInLedger } from "./ledgerUpdate.js";
import { type CompactionPlan, planCompaction } from "./plan.js";
import type { Clock, CompactionJob, FaultInjector, ObjectStore } from "./ports.js";

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
    if (snapshot.state?.inflight) {
      log.warn("finishing a commit an earlier worker left in flight", {
        attemptId: snapshot.state.inflight.attemptId,
      });
      await finishCommit({ ...deps, log }, partition, snapshot.state.inflight, snapshot.state.files);
      rolledForward = true;
      snapshot = await store.readPartition(partition);
    }
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
  const { store, objects, config, clock, engine } = deps;
  const { partition } = plan;
  const startedAt = clock.now();
  const attemptId = newAttemptId(startedAt);
  const generation = (state?.generation ?? 0) + 1;
  const log = deps.log.child({ generation, attemptId, plan: plan.kind });
  const baseDir = config.tempDir || join(tmpdir(), "compacter");
  const workDir = join(baseDir, `compact-${attemptId}`);
  const rawDir = join(workDir, "raw");
  const lakeDir = join(workDir, "lake");
  const outDir = join(workDir, "out");
  await Promise.all([
    mkdir(rawDir, { recursive: true }),
    mkdir(lakeDir, { recursive: true }),
    mkdir(outDir, { recursive: true }),
  ]);
  const stagedKeys: string[] = [];
  let intentWritten = false;
  let committed = false;
  let crashed = false;
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
    const { raw, skipped } = await downloadRaw(deps, byDeviceHour, rawDir);
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
    const lake = await mapLimit(lakeInputs, config.downloadConcurrency, async (file, i) => {
      const localPath = join(lakeDir, `${i}.parquet`);
      await objects.download(config.lakeBucket, file.key, localPath);
      return { lakeKey: file.key, localPath };
    });
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
      sort: plan.sort,
      outputDir: outDir,
      maxFileBytes: config.maxFileSizeBytes,
      limits: {
        memoryLimitBytes: config.memoryLimitBytes,
        threads: config.threads,
        // Stable across jobs, so the engine keeps one DuckDB instance for the process.
        tempDir: join(baseDir, "duckdb"),
        // A closed day's sorted files are kept for good and read often: worth the slower,
        // smaller ZSTD level (level 12: 0.87× the bytes of level 3 on telemetry, ~2× the
        // encoding CPU; a one-unit query read it faster, having fewer bytes to read).
        zstdLevel: plan.sort ? config.mergeZstdLevel : config.zstdLevel,
        maxLineBytes: config.maxLineBytes,
        maxInflatedBytes: config.maxInflatedBytes,
      },
      signal,
      onStage: (engineStage) => {
        stage = engineStage;
      },
    });
    stage = "commit";
    await saveSchema(deps, partition.district, result);
    // The ledger widens before the commit publishes anything of the wider type; a file
    // narrower than the ledger (a worker that raced a widening) is left for a rewrite.
    await recordInLedger(
      deps,
      partition,
      { columns: result.schema, ...(result.renamedFields ? { renamedFields: result.renamedFields } : {}) },
      new Date(clock.now()).toISOString(),
    );

    const outputs = result.outputs
      .filter((o) => o.rows > 0)
      .map((o, i) => {
        const uid = `${String(generation).padStart(6, "0")}_${attemptId}_${i}`;
        return {
          local: o.localPath,
          file: {
            key: lakeFileKey(config.lakePrefix, partition, uid),
            rows: o.rows,
            bytes: o.bytes,
          } satisfies LakeFile,
          stagingKey: `${config.stagingPrefix}${partition.day}/${partition.district}/${attemptId}/data_${uid}.parquet`,
        };
      });
    await mapLimit(outputs, config.downloadConcurrency, async (o) => {
      stagedKeys.push(o.stagingKey);
      await objects.upload(o.local, config.lakeBucket, o.stagingKey);
    });
    await deps.faults.at("afterStage");

    const inflight: InflightCommit = {
      attemptId,
      generation,
      staged: outputs.map((o) => ({ stagingKey: o.stagingKey, lakeKey: o.file.key })),
    };
    const newFiles = outputs.map((o) => o.file);
    const filesAfter = plan.kind === PLAN_KIND.merge ? newFiles : [...(state?.files ?? []), ...newFiles];
    const consumed = consumedFiles(plan, raw, result, skipped);
    const committedAt = new Date(clock.now()).toISOString();
    const record: GenerationRecord = {
      partition,
      generation,
      attemptId,
      plan: plan.kind,
      reason: plan.reason,
      worker: owner,
      startedAt: new Date(startedAt).toISOString(),
      committedAt,
      durationMs: clock.now() - startedAt,
      inputs: consumed,
      lakeInputs,
      outputs: newFiles,
      replaced: lakeInputs,
      staged: inflight.staged,
      rowsIn: result.files.reduce((n, f) => n + (f.outcome === "read" ? f.rows : 0), 0) + result.rowsFromLake,
      rowsOut: result.rowsOut,
      rowsDropped: result.rowsDropped,
      bytesIn: plan.read.reduce((n, f) => n + f.size, 0) + lakeInputs.reduce((n, f) => n + f.bytes, 0),
      bytesOut: newFiles.reduce((n, f) => n + f.bytes, 0),
      lateFiles: plan.read.filter((f) => f.late).length,
      badLines: consumed.reduce((n, f) => n + f.badLines, 0),
      nulledValues: result.nulledValues,
      addedColumns: result.addedColumns,
      unstoredFields: result.conflictingFields ?? [],
      renamedFields: result.renamedFields ?? [],
      schemaColumns: result.schema.length,
    };
    if (record.unstoredFields.length > 0) {
      log.warn("raw fields whose names clash with existing columns except for case were not stored", {
        fields: record.unstoredFields,
      });
    }
    await store.putIntent(record);
    intentWritten = true;
    await deps.faults.at("afterIntent");

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
      inflight,
      committedAt,
      dueAt: new Date(clock.now() + config.leaseDurationMs).toISOString(),
      narrowColumns: narrowColumnsAfter(state?.narrowColumns, result.schema, plan.kind === PLAN_KIND.merge),
    });
    committed = true;
    log.info("generation committed", {
      rowsOut: result.rowsOut,
      outputs: newFiles.length,
      quarantined: countQuarantined(consumed),
    });
    await deps.faults.at("afterCommit");

    const history = await finishCommit({ ...deps, log }, partition, inflight, filesAfter, record);
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
    crashed = error instanceof InjectedFaultError;
    if (
      !committed &&
      !crashed &&
      (error instanceof GenerationConflictError || error instanceof LeaseLostError)
    ) {
      log.warn("another worker got there first; discarding this attempt", { error });
      await discardAttempt(deps, partition, attemptId, stagedKeys, intentWritten);
      return { partition, status: "conflict", plan: plan.kind, reason: error.message, rolledForward };
    }
    if (!committed && !crashed) await discardAttempt(deps, partition, attemptId, stagedKeys, intentWritten);
    throw error;
  } finally {
    clearInterval(slowLog);
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * Downloads the planned raw versions. A file whose object changed or vanished since it
 * was registered is left out of this generation, and what we observed is registered
 * right away with the smallest sequencer after the known one (see successorSequencer):
 * if the notification of that change was lost (e.g. parked in the ingest DLQ), the file
 * still converges instead of being skipped at every job; if it arrives, it wins.
 */
async function downloadRaw(
  deps: CompactionDeps,
  files: readonly RawFileRecord[],
  dir: string,
): Promise<{ raw: RawInput[]; skipped: Set<string> }> {
  const skipped = new Set<string>();
  const downloaded = await mapLimit(files, deps.config.downloadConcurrency, async (file, i) => {
    const localPath = join(dir, `${i}.txt.gz`);
    try {
      const observed = await deps.objects.download(deps.config.rawBucket, file.key, localPath);
      if (observed.eTag === file.eTag) {
        return { key: file.key, eTag: file.eTag, deviceId: file.deviceId, localPath } satisfies RawInput;
      }
      skipped.add(file.key);
      await registerObserved(deps, file, {
        eTag: observed.eTag,
        size: observed.bytes,
        lastModified: observed.lastModified,
      });
    } catch (error) {
      if (!(error instanceof ObjectNotFoundError)) throw error;
      skipped.add(file.key);
      await registerObserved(deps, file, undefined);
    }
    return undefined;
  });
  return { raw: downloaded.filter((r): r is RawInput => r !== undefined), skipped };
}

async function registerObserved(
  deps: CompactionDeps,
  file: RawFileRecord,
  observed: { eTag: string; size: number; lastModified: Date } | undefined,
): Promise<void> {
  const outcome = await registerObservedVersion({
    store: deps.store,
    windows: deps.config,
    file: parsedKeyOf(file),
    recorded: file,
    observed,
    nowMs: deps.clock.now(),
  });
  deps.log.info(
    observed
      ? "raw object changed since it was registered; registered the version found"
      : "raw object is gone; registered its removal",
    { key: file.key, registered: file.eTag, found: observed?.eTag, result: outcome.result },
  );
}

function consumedFiles(
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

function countQuarantined(consumed: readonly ConsumedFile[]): number {
  return consumed.filter((f) => f.outcome === "quarantined").length;
}

/** Marks that need no new generation (removed files that never reached the lake, exact re-uploads). */
async function applyMarksOnly(deps: CompactionDeps, plan: CompactionPlan, state: PartitionState | undefined) {
  const marks = [...plan.alreadyInLake.map(alreadyInLake), ...plan.markOnly.map(dropped)];
  if (marks.length === 0) return;
  await deps.store.markConsumed(
    plan.partition,
    state?.generation ?? 0,
    marks,
    new Date(deps.clock.now()).toISOString(),
  );
}

/** The schema only grows (union, widening), so concurrent writers converge by retrying a merge. */
async function saveSchema(deps: CompactionDeps, district: string, result: EngineResult): Promise<void> {
  if (result.addedColumns.length === 0 && result.widenedColumns.length === 0) return;
  for (let attempt = 0; attempt < 10; attempt++) {
    const current = await deps.store.getSchema(district);
    const columns = mergeSchemas(current?.columns ?? [], result.schema);
    if (
      current &&
      columns.length === current.columns.length &&
      columns.every((c, i) => c.type === current.columns[i]?.type)
    ) {
      return;
    }
    if (await deps.store.putSchema({ district, version: (current?.version ?? 0) + 1, columns })) {
      deps.log.info("district schema updated", {
        district,
        added: result.addedColumns,
        widened: result.widenedColumns,
      });
      return;
    }
  }
  throw new CompacterError(
    `could not update the schema of district ${district}: too many concurrent updates`,
    {
      retryable: true,
    },
  );
}

async function discardAttempt(
  deps: CompactionDeps,
  partition: PartitionId,
  attemptId: string,
  stagedKeys: readonly string[],
  intentWritten: boolean,
): Promise<void> {
  try {
    if (intentWritten) await deps.store.deleteIntent(partition, attemptId);
    await deps.objects.deleteMany(deps.config.lakeBucket, stagedKeys);
  } catch (error) {
    deps.log.warn("could not discard staged output; the orphan sweep will", { error });
  }
}
