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
import type { Clock, FaultInjector, ObjectStore } from "./ports.js";

/**
 * The commit protocol (DESIGN.md "Commit"). A generation is made visible in this order:
 *
 *   1. stage      outputs uploaded under the staging prefix (outside the lake's Hive tree)
 *   2. intent     the generation's full record written as C#{attemptId}
 *   3. commit     ONE conditional write on the partition item: generation g → g+1, new
 *                 file list, `inflight` = this attempt — only if the generation is still
 *                 g, nothing else is in flight and our lease holds. This is the point of
 *                 no return: before it nothing is visible, after it the commit must finish.
 *   4. publish    staged files copied to their lake keys
 *   5. delete     replaced lake files deleted
 *   6. mark       consumed raw versions marked (conditional per file)
 *   7. history    the generation's history item written
 *   8. finish     `inflight` cleared, partition due time set (a merge at day close)
 *   9. cleanup    intent and staged copies deleted
 *
 * Steps 4–9 are idempotent and run by `finishCommit` below, which is also what any later
 * worker runs when it finds `inflight` set (a crash between 3 and 8): the commit rolls
 * forward, never back. A crash before 3 leaves only staged objects and an intent that
 * no generation references; the orphan sweep removes them.
 *
 * Publish window: between 4 and 5 a reader that globs the lake can see both the new
 * and the replaced files of a merge. Readers that use the manifest never do: from step 3
 * on, the file list names the new files, which are read from staging until published.
 */
export interface CommitDeps {
  readonly store: ManifestStore;
  readonly objects: ObjectStore;
  readonly config: CompacterConfig;
  readonly clock: Clock;
  readonly faults: FaultInjector;
  readonly log: Logger;
}

/** Steps 4–9 for a committed generation; safe to run any number of times, by anyone holding the lease. */
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

  const publishStarted = deps.clock.now();
  await mapLimit(inflight.staged, config.downloadConcurrency, async ({ stagingKey, lakeKey }) => {
    if (await objects.exists(bucket, lakeKey)) return;
    await objects.copy({ bucket, key: stagingKey }, { bucket, key: lakeKey });
  });
  await faults.at("afterPublish");

  await objects.deleteMany(
    bucket,
    intent.replaced.map((f) => f.key),
  );
  const publishWindowMs = deps.clock.now() - publishStarted;
  await faults.at("afterDeleteReplaced");

  await store.markConsumed(
    partition,
    intent.generation,
    intent.inputs,
    new Date(deps.clock.now()).toISOString(),
  );
  await faults.at("afterMark");

  const history: GenerationRecord = {
    ...intent,
    committedAt: intent.committedAt ?? new Date(deps.clock.now()).toISOString(),
    publishWindowMs,
  };
  await store.putHistory(history);
  await faults.at("afterHistory");

  await store.finishCommit(
    partition,
    inflight.attemptId,
    partitionDueAt(deps, partition, filesAfter, intent.plan),
  );
  await faults.at("afterFinish");

  // Intent before staged objects: if we die in between, the orphan sweep still finds the
  // staged objects by listing, while a lone intent would only be found by a Query.
  await store.deleteIntent(partition, inflight.attemptId);
  await objects.deleteMany(
    bucket,
    inflight.staged.map((s) => s.stagingKey),
  );
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
