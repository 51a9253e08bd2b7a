import type { ParsedRawKey } from "../layout/rawKeys.js";
import type { RawFileRecord } from "../manifest/model.js";
import { successorSequencer } from "../manifest/sequencer.js";
import type { ManifestStore, RegistrationOutcome } from "../manifest/store.js";
import { fileTiming, type WindowSettings } from "../windows.js";

/**
 * What to do when we SEE a raw object (the compactor's GET, a backfill's listing) that
 * differs from the version the manifest recorded, without an S3 event to tell us its
 * sequencer. Notifications are at-least-once, but one can still be lost to us — parked in
 * the ingest DLQ, or written while no notification was configured — and then the file
 * would keep its stale version for ever.
 *
 * What we see is at least as new as the record if it was written after the record's
 * version (the compactor's case: it read the record before the GET; a listing's case: its
 * LastModified is later than the recorded arrival). It is registered with the smallest
 * sequencer after the recorded one, through the same conditional write as ingest: the
 * real notification of this version or any later one carries a sequencer at least as
 * large, so it outranks ours or matches it; and if another registration lands between our
 * read and our write, our write is the stale one.
 */
export async function registerObservedVersion(input: {
  readonly store: ManifestStore;
  readonly windows: WindowSettings;
  readonly file: ParsedRawKey;
  /** The manifest's record this observation contradicts. */
  readonly recorded: Pick<RawFileRecord, "sequencer">;
  /** The object as seen now, or undefined when it is gone (404). */
  readonly observed:
    | { readonly eTag: string; readonly size: number; readonly lastModified: Date }
    | undefined;
  readonly nowMs: number;
}): Promise<RegistrationOutcome> {
  const { store, file, observed, nowMs } = input;
  const sequencer = successorSequencer(input.recorded.sequencer);
  const nowIso = new Date(nowMs).toISOString();
  const arrivedAtMs = observed?.lastModified.getTime() ?? nowMs;
  const arrivedAt = new Date(arrivedAtMs).toISOString();
  const timing = fileTiming(file.hourStartMs, arrivedAtMs, input.windows);
  if (!observed) return store.registerRemoved({ file, sequencer, arrivedAt, timing, nowIso });
  return store.registerCreated({
    file,
    version: { key: file.key, eTag: observed.eTag, size: observed.size, sequencer, arrivedAt },
    timing,
    nowIso,
  });
}

/** A listed object contradicts the record only if it differs and was written after the recorded version arrived. */
export function listingIsNewer(
  recorded: Pick<RawFileRecord, "eTag" | "status" | "arrivedAt">,
  listed: { readonly eTag: string; readonly lastModified: Date },
): boolean {
  const differs = recorded.status === "removed" || recorded.eTag !== listed.eTag;
  return differs && listed.lastModified.getTime() > Date.parse(recorded.arrivedAt);
}

/** A manifest record as the ParsedRawKey it was registered from. */
export function parsedKeyOf(file: RawFileRecord): ParsedRawKey {
  return {
    key: file.key,
    district: file.partition.district,
    deviceId: file.deviceId,
    hourKey: file.hourKey,
    hourStartMs: Date.parse(file.hourStart),
    partition: file.partition,
  };
}
