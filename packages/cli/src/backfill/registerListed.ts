import {
  fileTiming,
  type IngestDeps,
  listingIsNewer,
  type ManifestStore,
  parseRawKey,
  RAW_SUFFIX,
  type RegistrationOutcome,
  registerObservedVersion,
} from "@compacter/core";
import type { ListedObject } from "./rawListing.js";

/**
 * A listed object has no S3 event and so no sequencer. It is registered with the lowest
 * one there is, "0", through the same idempotent calls as ingest
 * (ManifestStore.registerCreated / registerRejected):
 * - a key the manifest doesn't know becomes pending, exactly as its notification would
 *   have made it (due at its hour's window close, or — arriving late — at arrival +
 *   lateDebounce, with arrival = LastModified);
 * - a key the manifest knows (from a notification or an earlier backfill) is `stale`:
 *   every recorded sequencer is ≥ "0", so nothing is overwritten and a re-run registers
 *   nothing twice;
 * - a real notification for the same object arriving later outranks it (a greater
 *   sequencer with the same eTag only advances the sequencer; a new eTag replaces it);
 * - a key the manifest holds at another version (or as removed) whose listed object was
 *   written after the recorded version arrived is a change whose notification never
 *   reached us: it is registered with the successor of the recorded sequencer
 *   (registerObservedVersion), so the manifest converges to what is in the bucket while
 *   any real notification still outranks it.
 */
export const LISTED_SEQUENCER = "0";

export type ListedOutcome =
  | RegistrationOutcome["result"]
  /** Not a raw file name (`*.txt.gz`): the bucket notification wouldn't fire for it either. */
  | "ignored"
  /** A raw file of a partition day outside `--from`..`--to`, listed because its key-day neighbours the range. */
  | "outOfRange";

export async function registerListedObject(
  object: ListedObject,
  deps: {
    readonly store: ManifestStore;
    readonly config: IngestDeps["config"];
    readonly days?: { readonly from: string; readonly to: string };
    readonly nowIso: string;
  },
): Promise<ListedOutcome> {
  const { store, config, days, nowIso } = deps;
  if (!object.key.startsWith(config.rawPrefix) || !object.key.endsWith(RAW_SUFFIX)) return "ignored";
  const version = {
    key: object.key,
    eTag: object.eTag,
    size: object.size,
    sequencer: LISTED_SEQUENCER,
    arrivedAt: object.lastModified.toISOString(),
  };
  const parsed = parseRawKey(object.key, config);
  if (!parsed.ok) return (await store.registerRejected({ version, reason: parsed.reason, nowIso })).result;
  const file = parsed.value;
  if (days && (file.partition.day < days.from || file.partition.day > days.to)) return "outOfRange";
  const timing = fileTiming(file.hourStartMs, object.lastModified.getTime(), config);
  const outcome = (await store.registerCreated({ file, version, timing, nowIso })).result;
  if (outcome !== "stale") return outcome;
  const recorded = await store.getFile(file.partition, file.key);
  if (!recorded || !listingIsNewer(recorded, object)) return outcome;
  return (
    await registerObservedVersion({
      store,
      windows: config,
      file,
      recorded,
      observed: object,
      nowMs: Date.parse(nowIso),
    })
  ).result;
}
