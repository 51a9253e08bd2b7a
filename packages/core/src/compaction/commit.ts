import type { CompacterConfig } from "../config/loadConfig.js";
import type { PartitionId } from "../layout/partitions.js";
import type { Logger } from "../log.js";
import {
  type GenerationRecord,
  type InflightCommit,
  type LakeFile,
  PLAN_KIND,
  type PlanKind,
} from "../manifest/model.js";
import type { ManifestStore } from "../manifest/store.js";
import { mapLimit } from "../util/mapLimit.js";
import { dayWindowClosesAt } from "../windows.js";
import { type CommitActions, type RollForwardStep, runCommitSteps } from "./commitProtocol.js";
import type { Clock, FaultInjector, ObjectStore } from "./ports.js";

/**
 * The commit protocol's roll-forward half (its steps, order and recovery rules are in
 * commitProtocol.ts). Publish window: between publish and deleteReplaced a reader that
 * globs the lake can see both the new and the replaced files of a merge. Readers that use
 * the manifest never do: from the commit on, the file list names the new files, which are
 * read from staging until published.
 */
export interface CommitDeps {
  readonly store: ManifestStore;
  readonly objects: ObjectStore;
  readonly config: CompacterConfig;
  readonly clock: Clock;
  readonly faults: FaultInjector;
  readonly log: Logger;
}

/** publish … cleanup for a committed generation; safe to run any number of times, by anyone holding the lease. */
export async function finishCommit(
  deps: CommitDeps,
  partition: PartitionId,
  inflight: InflightCommit,
  filesAfter: readonly LakeFile[],
  record?: GenerationRecord,
): Promise<GenerationRecord> {
  const { store, objects, config, faults } = deps;
  const bucket = config.lakeBucket;
  const intent = record ?? (await store.getIntent(partition, inflight.attemptId));
  if (!intent) {
    // The intent is deleted only after `inflight` is cleared, so this means someone
    // edited the manifest by hand; refuse to guess what the commit contained.
    throw new Error(
      `partition ${partition.day}/${partition.district} has commit ${inflight.attemptId} in flight but its intent item is missing`,
    );
  }
  const log = deps.log.child({ generation: intent.generation, attemptId: intent.attemptId });

  let publishStarted = 0;
  let publishWindowMs = 0;
  let history: GenerationRecord = intent;
  const actions: CommitActions<RollForwardStep> = {
    publish: async () => {
      publishStarted = deps.clock.now();
      await mapLimit(inflight.staged, config.downloadConcurrency, async ({ stagingKey, lakeKey }) => {
        if (await objects.exists(bucket, lakeKey)) return;
        await objects.copy({ bucket, key: stagingKey }, { bucket, key: lakeKey });
      });
    },
    deleteReplaced: async () => {
      await objects.deleteMany(
        bucket,
        intent.replaced.map((f) => f.key),
      );
      publishWindowMs = deps.clock.now() - publishStarted;
    },
    mark: () =>
      store.markConsumed(
        partition,
        intent.generation,
        intent.inputs,
        new Date(deps.clock.now()).toISOString(),
      ),
    history: async () => {
      history = {
        ...intent,
        committedAt: intent.committedAt ?? new Date(deps.clock.now()).toISOString(),
        publishWindowMs,
      };
      await store.putHistory(history);
    },
    finish: () =>
      store.finishCommit(
        partition,
        inflight.attemptId,
        partitionDueAt(deps, partition, filesAfter, intent.plan),
      ),
    cleanup: async () => {
      // Intent before staged objects: if we die in between, the orphan sweep still finds the
      // staged objects by listing, while a lone intent would only be found by a Query.
      await store.deleteIntent(partition, inflight.attemptId);
      await objects.deleteMany(
        bucket,
        inflight.staged.map((s) => s.stagingKey),
      );
    },
  };
  await runCommitSteps({
    from: "publish",
    through: "cleanup",
    actions,
    faults,
    progress: { done: "commit" },
  });
  log.info("generation published", {
    outputs: intent.outputs.length,
    replaced: intent.replaced.length,
    publishWindowMs,
  });
  return history;
}

/**
 * A partition holding several appended files is itself due at its day's close, so it
 * merges then even if no raw file arrives for the last hour.
 */
export function partitionDueAt(
  deps: Pick<CommitDeps, "config" | "clock">,
  partition: PartitionId,
  filesAfter: readonly LakeFile[],
  lastPlan: PlanKind,
): string | undefined {
  if (filesAfter.length <= 1 || lastPlan === PLAN_KIND.merge) return undefined;
  const closesAt = dayWindowClosesAt(partition.day, deps.config.partitionTimeZone, deps.config);
  return new Date(Math.max(closesAt, deps.clock.now())).toISOString();
}
