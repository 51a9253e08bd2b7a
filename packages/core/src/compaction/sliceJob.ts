/**
 * One slice of a sliced merge (slicedMerge.ts): its devices' raw files and its device
 * range of every lake file of the base generation, merged into sorted files of at most
 * maxFileSizeBytes, uploaded under the staging prefix and recorded as staged. Memory and
 * time follow the slice's size, not the partition's.
 */

import { join } from "node:path";
import { InjectedFaultError } from "../errors.js";
import { PLAN_KIND } from "../manifest/model.js";
import type { MergeSlice, SlicedMergePlan, StagedSlice } from "../manifest/slicedMerge.js";
import { ledgerTypes } from "../schema/ledger.js";
import { newAttemptId } from "../util/ids.js";
import type { CompactionDeps } from "./compactPartition.js";
import { consumedFiles } from "./consumedFiles.js";
import { downloadRaw } from "./downloadInputs.js";
import { engineLimits, type LakeInput } from "./engine.js";
import { recordWrittenSchema } from "./schemaUpdate.js";
import { discardAttempt, stageOutputs } from "./staging.js";

/** Runs a slice this worker claimed; true once it is recorded as staged (false: the claim was lost). */
export async function runSlice(
  deps: CompactionDeps,
  plan: SlicedMergePlan,
  slice: MergeSlice,
  owner: string,
): Promise<boolean> {
  const { store, config, clock, engine } = deps;
  const { partition } = plan;
  const startedAt = clock.now();
  // Unique per run, so a slow worker whose claim expired never overwrites (or deletes)
  // the objects of the worker that redid the slice. Sorts by slice, then run.
  const runId = `${plan.attemptId}-s${String(slice.index).padStart(5, "0")}-${newAttemptId(startedAt)}`;
  const log = deps.log.child({ attemptId: plan.attemptId, slice: slice.index, runId });
  const claim = keepClaim(deps, plan, slice.index, owner);
  const workspace = await deps.scratch.create(runId);
  const stagedKeys: string[] = [];
  let recorded = false;
  let crashed = false;
  try {
    log.info("merging slice", {
      fromDevice: slice.fromDevice,
      toDevice: slice.toDevice,
      read: slice.read.length,
    });
    const byDeviceHour = [...slice.read].sort(
      (a, b) => a.deviceId.localeCompare(b.deviceId) || a.hourKey.localeCompare(b.hourKey),
    );
    const { raw, skipped } = await downloadRaw(deps, byDeviceHour, workspace.rawDir);
    // Lake files are fetched by the engine, part by part: only the footer and the row
    // groups of this slice's devices reach the disk (appends are sorted, so that is about
    // this slice's share of each file).
    let lakeBytesFetched = 0;
    const lake: LakeInput[] = plan.lakeInputs.map((file, i) => {
      const localPath = join(workspace.lakeDir, `${i}.parquet`);
      return {
        lakeKey: file.key,
        localPath,
        fetch: {
          sizeBytes: file.bytes,
          ranges: async (ranges) => {
            await deps.objects.downloadRanges(config.lakeBucket, file.key, localPath, file.bytes, ranges);
            lakeBytesFetched += ranges.reduce((n, r) => n + r.end - r.start, 0);
          },
        },
      };
    });
    const schema = await store.getSchema(partition.district);
    const ledger = await store.getLedger();
    const result = await engine.compact({
      partition,
      raw,
      lake,
      deviceRange: slice,
      dropSources: slice.dropSources,
      schema: schema?.columns ?? [],
      ledgerTypes: ledgerTypes(ledger),
      sort: true,
      outputDir: workspace.outDir,
      maxFileBytes: config.maxFileSizeBytes,
      limits: engineLimits(config, workspace.duckDbTempDir, config.mergeZstdLevel),
      signal: claim.signal,
    });
    await recordWrittenSchema(deps, partition, result);
    const outputs = await stageOutputs(
      deps,
      partition,
      plan.baseGeneration + 1,
      runId,
      result.outputs,
      stagedKeys,
    );
    await deps.faults.at("afterStage");
    const slicePlan = {
      partition,
      kind: PLAN_KIND.merge,
      reason: plan.reason,
      read: slice.read,
      alreadyInLake: slice.alreadyInLake,
      removals: slice.removals,
      markOnly: slice.markOnly,
      dropSources: slice.dropSources,
      deferred: 0,
      sort: true,
    };
    const consumed = consumedFiles(slicePlan, raw, result, skipped);
    const staged: StagedSlice = {
      worker: owner,
      stagedAt: new Date(clock.now()).toISOString(),
      durationMs: clock.now() - startedAt,
      outputs: outputs.map((o) => ({ ...o.file, stagingKey: o.stagingKey })),
      consumed,
      rowsIn: result.files.reduce((n, f) => n + (f.outcome === "read" ? f.rows : 0), 0) + result.rowsFromLake,
      rowsDropped: result.rowsDropped,
      rowsOut: result.rowsOut,
      bytesIn:
        raw.reduce((n, r) => n + (slice.read.find((f) => f.key === r.key)?.size ?? 0), 0) + lakeBytesFetched,
      nulledValues: result.nulledValues,
      addedColumns: result.addedColumns,
      unstoredFields: result.conflictingFields ?? [],
      renamedFields: result.renamedFields ?? [],
      schema: result.schema,
    };
    claim.stop();
    recorded = await store.stageSlice(partition, plan.attemptId, slice.index, owner, staged);
    if (!recorded) log.warn("slice claim lost before it was recorded; another worker redoes it");
    else log.info("slice staged", { outputs: outputs.length, rowsOut: result.rowsOut });
    return recorded;
  } catch (error) {
    crashed = error instanceof InjectedFaultError;
    if (!crashed && claim.signal.aborted) {
      log.warn("slice claim lost; another worker redoes it", { error });
      return false;
    }
    throw error;
  } finally {
    claim.stop();
    if (!recorded && !crashed) await discardAttempt(deps, partition, runId, stagedKeys, false);
    await deps.scratch.remove(workspace);
  }
}

/** Renews a slice claim every third of the lease period; aborts `signal` once it is lost. */
function keepClaim(deps: CompactionDeps, plan: SlicedMergePlan, index: number, owner: string) {
  const controller = new AbortController();
  const { store, clock, config } = deps;
  const timer = setInterval(
    () => {
      const now = clock.now();
      store
        .claimSlice(plan.partition, plan.attemptId, index, owner, now + config.leaseDurationMs, now)
        .then((held) => {
          if (!held) controller.abort(new Error("slice claim lost"));
        })
        .catch(() => {
          // Retried at the next tick; the claim outlives one failed renewal.
        });
    },
    Math.max(50, Math.floor(config.leaseDurationMs / 3)),
  );
  timer.unref();
  return { signal: controller.signal, stop: () => clearInterval(timer) };
}
