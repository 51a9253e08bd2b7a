import type { CompacterConfig } from "../config/loadConfig.js";
import { type PartitionId, parseLakeFileKey } from "../layout/partitions.js";
import type { Logger } from "../log.js";
import type { PartitionState } from "../manifest/model.js";
import type { ManifestStore } from "../manifest/store.js";
import type { Clock, ObjectStore } from "./ports.js";

/**
 * Removes objects no generation references, once they are older than
 * `orphanSafetyAgeMs` (so an attempt still uploading or committing is never touched):
 * - staged outputs of attempts that crashed before their commit or lost the race
 *   (and their intent items), except a live sliced merge's;
 * - lake files that the partition's current generation does not list.
 * Listing is paginated; partition states are read once each.
 */
export async function removeOrphans(deps: {
  readonly store: ManifestStore;
  readonly objects: ObjectStore;
  readonly config: CompacterConfig;
  readonly clock: Clock;
  readonly log: Logger;
}): Promise<{ staged: string[]; lake: string[] }> {
  const { store, objects, config, log } = deps;
  const cutoff = deps.clock.now() - config.orphanSafetyAgeMs;
  const states = new Map<string, Promise<PartitionState | undefined>>();
  const stateOf = (p: PartitionId) => {
    const id = `${p.day}/${p.district}`;
    let state = states.get(id);
    if (!state) {
      state = store.getPartition(p);
      states.set(id, state);
    }
    return state;
  };

  // A sliced merge's staged slices wait for its other slices, however long they take.
  const merges = new Map<string, Promise<string[]>>();
  const slicingOf = (p: PartitionId) => {
    const id = `${p.day}/${p.district}`;
    let attempts = merges.get(id);
    if (!attempts) {
      attempts = store.listSlicedMerges(p).then((all) => all.filter((m) => m.plan).map((m) => m.attemptId));
      merges.set(id, attempts);
    }
    return attempts;
  };

  const staged: string[] = [];
  const abandoned = new Map<string, { partition: PartitionId; attemptId: string }>();
  for await (const object of objects.list(config.lakeBucket, config.stagingPrefix)) {
    if (object.lastModified.getTime() >= cutoff) continue;
    const [day = "", district = "", attemptId = ""] = object.key
      .slice(config.stagingPrefix.length)
      .split("/");
    const partition = { day, district };
    const state = await stateOf(partition);
    if (state?.inflight?.attemptId === attemptId) continue;
    if ((await slicingOf(partition)).some((merge) => attemptId.startsWith(`${merge}-s`))) continue;
    staged.push(object.key);
    abandoned.set(`${day}/${district}/${attemptId}`, { partition, attemptId });
  }
  await objects.deleteMany(config.lakeBucket, staged);
  for (const { partition, attemptId } of abandoned.values()) await store.deleteIntent(partition, attemptId);

  const lake: string[] = [];
  for await (const object of objects.list(config.lakeBucket, config.lakePrefix)) {
    if (object.lastModified.getTime() >= cutoff || object.key.startsWith(config.stagingPrefix)) continue;
    const parsed = parseLakeFileKey(config.lakePrefix, object.key);
    if (!parsed) continue;
    const state = await stateOf(parsed);
    const referenced =
      state?.files.some((f) => f.key === object.key) ||
      state?.inflight?.staged.some((s) => s.lakeKey === object.key);
    if (!referenced) lake.push(object.key);
  }
  await objects.deleteMany(config.lakeBucket, lake);
  if (staged.length + lake.length > 0)
    log.info("removed orphans", { staged: staged.length, lake: lake.length });
  return { staged, lake };
}
