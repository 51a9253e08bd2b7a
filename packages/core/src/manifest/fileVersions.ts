/**
 * The exactly-once rules for raw object versions: what an `ObjectCreated`, an
 * `ObjectRemoved`, a rejected key and a commit's mark do to a raw file's record. This is
 * the one place that says what happens when a duplicate, an overwrite, a late (older)
 * version or a removal arrives; the stores only carry the decisions out.
 *
 * The shape (why it keeps exactly-once under races). A decision is taken from the record
 * as last read, and every write it asks for carries a guard: the part of that record the
 * decision depended on. The store applies the write only if the guard still holds, in
 * one atomic step — DynamoDB as the write's condition expression (FileRecords.ts encodes
 * each guard), the in-memory test store under JavaScript's single thread. When a guard
 * fails, someone else changed the record in between: the store hands back the record as
 * it is now and `settleVersion` asks the rules again. Every write a registration makes
 * moves the sequencer, so a lost race means one more event is recorded, and a handful of
 * rounds always settles. No decision is ever applied to a record it was not taken from.
 *
 * The first write is attempted without a read (the common case costs one request): it is
 * the decision for the state the event most likely finds — no record yet for a create, a
 * live older version for a removal, the planned version for a mark — and its guard makes
 * it safe when that guess is wrong.
 */
import { CompacterError } from "../errors.js";
import { type ConsumedFile, FILE_STATUS, type FileStatus } from "./model.js";
import { isNewerSequencer, normaliseSequencer } from "./sequencer.js";

/** What the rules read of a stored raw-file record (a RawFileRecord, or a rejected key's record). */
export interface RecordedVersion {
  readonly status: FileStatus;
  /** "" for a tombstone (a removal recorded before any create), which has no content. */
  readonly eTag: string;
  /** Normalised (normaliseSequencer). */
  readonly sequencer: string;
  readonly compactedGeneration?: number;
  readonly dueAt?: string;
}

/** The state a write depends on; the store applies the write only while it holds. */
export type VersionGuard =
  /** No record for the key yet. */
  | { readonly kind: "absent" }
  /** No other event registered since the record was read (every registration moves the sequencer). */
  | { readonly kind: "sequencerIs"; readonly sequencer: string }
  /** A record exists, older than `sequencer`, and not removed. */
  | { readonly kind: "liveAndOlderThan"; readonly sequencer: string }
  /** A record exists, older than `sequencer`, and removed. */
  | { readonly kind: "removedAndOlderThan"; readonly sequencer: string }
  /** No record, or one older than `sequencer` (a rejected key). */
  | { readonly kind: "absentOrOlderThan"; readonly sequencer: string }
  /** The record is still the version a generation planned (see plannedGuard). */
  | {
      readonly kind: "asPlanned";
      readonly status: ConsumedFile["plannedStatus"];
      /** "" matches a record without content (a tombstone). */
      readonly eTag: string;
      /** Checked for a planned removal: a newer removal is another version. */
      readonly sequencer?: string;
      /** Checked for a drop: the status stays removed, so only the due mark tells a repeat. */
      readonly stillDue: boolean;
    }
  /** No other generation recorded its mark since the record was read (undefined: none ever did). */
  | { readonly kind: "compactedGenerationIs"; readonly generation: number | undefined }
  | { readonly kind: "statusIs"; readonly status: FileStatus };

/**
 * What a write does to the record (the store's doc, store.ts, lists the fields):
 * - newVersion: pending with the event's version and due time; versions + 1; the old
 *   version's quarantine and counts go; compactedETag stays (it names the rows in the lake).
 * - advanceSequencer: only the sequencer (and updatedAt) move.
 * - markRemoved: status removed, due, quarantine cleared.
 * - tombstone: a removed record without content (versions 0, not due).
 * - rejected: the rejected key's record.
 * - markPlanned: the ConsumedFile mark (compacted / quarantined / dropped).
 * - recordLakeVersion: a newer version arrived: only which rows the lake holds now, and due.
 * - requeue: a quarantined file becomes pending and due again.
 */
export type VersionWriteKind =
  | "newVersion"
  | "advanceSequencer"
  | "markRemoved"
  | "tombstone"
  | "rejected"
  | "markPlanned"
  | "recordLakeVersion"
  | "requeue";

export interface VersionWrite<K extends VersionWriteKind = VersionWriteKind> {
  readonly kind: K;
  readonly guard: VersionGuard;
}

export interface VersionDecision<O extends string, K extends VersionWriteKind = VersionWriteKind> {
  readonly outcome: O;
  /** Absent: nothing to write (stale, a repeat). */
  readonly write?: VersionWrite<K>;
  /**
   * What a failed guard alone proves, so the store need not read the record again (only a
   * newer record fails `absentOrOlderThan`: the event is stale).
   */
  readonly ifGuardFails?: O;
}

/** Whether `guard` holds on `current` (undefined: no record). The in-memory store's condition check. */
export function guardHolds(guard: VersionGuard, current: RecordedVersion | undefined): boolean {
  switch (guard.kind) {
    case "absent":
      return current === undefined;
    case "sequencerIs":
      return current !== undefined && current.sequencer === guard.sequencer;
    case "liveAndOlderThan":
      return (
        current !== undefined &&
        isNewerSequencer(guard.sequencer, current.sequencer) &&
        current.status !== FILE_STATUS.removed
      );
    case "removedAndOlderThan":
      return (
        current !== undefined &&
        isNewerSequencer(guard.sequencer, current.sequencer) &&
        current.status === FILE_STATUS.removed
      );
    case "absentOrOlderThan":
      return current === undefined || isNewerSequencer(guard.sequencer, current.sequencer);
    case "asPlanned":
      return (
        current !== undefined &&
        current.status === guard.status &&
        current.eTag === guard.eTag &&
        (guard.sequencer === undefined || current.sequencer === guard.sequencer) &&
        (!guard.stillDue || current.dueAt !== undefined)
      );
    case "compactedGenerationIs":
      return current !== undefined && current.compactedGeneration === guard.generation;
    case "statusIs":
      return current !== undefined && current.status === guard.status;
  }
}

// ── ObjectCreated ───────────────────────────────────────────────────────────────────

export type CreatedOutcome = "registered" | "replaced" | "duplicate" | "stale";

/**
 * - no record → a new pending file (`registered`);
 * - recorded sequencer ≥ the event's → `stale` (a redelivery, or an older version arriving late);
 * - newer, same eTag, not removed → `duplicate`: identical content, only the sequencer advances,
 *   so an older event arriving later is still recognised as older;
 * - newer, new eTag (or a removed file uploaded again) → `replaced`: pending again, and the
 *   next compaction replaces the old rows.
 */
export function decideCreated(
  current: RecordedVersion | undefined,
  event: { readonly eTag: string; readonly sequencer: string },
): VersionDecision<CreatedOutcome, "newVersion" | "advanceSequencer"> {
  if (!current) return { outcome: "registered", write: { kind: "newVersion", guard: { kind: "absent" } } };
  if (!isNewerSequencer(event.sequencer, current.sequencer)) return { outcome: "stale" };
  // Compare-and-set on the sequencer decided from: every registration moves it, so a race
  // with another event for the key goes round again, while compaction's marks (which
  // leave it alone) may interleave — both orders end in the same state.
  const guard: VersionGuard = { kind: "sequencerIs", sequencer: current.sequencer };
  const sameContent = current.eTag === event.eTag && current.status !== FILE_STATUS.removed;
  return sameContent
    ? { outcome: "duplicate", write: { kind: "advanceSequencer", guard } }
    : { outcome: "replaced", write: { kind: "newVersion", guard } };
}

// ── ObjectRemoved ───────────────────────────────────────────────────────────────────

export type RemovedOutcome = "removed" | "duplicate" | "stale";

/**
 * - no record → a tombstone with the removal's sequencer, so the older create arriving
 *   later (events are not ordered across messages) is stale;
 * - recorded sequencer ≥ the event's → `stale`;
 * - already removed → `duplicate` (S3 reports a DELETE of a missing key too): only the sequencer advances;
 * - otherwise → `removed`, and due, so the next compaction drops the rows (if any reached the lake).
 */
export function decideRemoved(
  current: RecordedVersion | undefined,
  sequencer: string,
): VersionDecision<RemovedOutcome, "markRemoved" | "tombstone" | "advanceSequencer"> {
  if (!current) return { outcome: "removed", write: { kind: "tombstone", guard: { kind: "absent" } } };
  if (!isNewerSequencer(sequencer, current.sequencer)) return { outcome: "stale" };
  if (current.status === FILE_STATUS.removed) {
    return {
      outcome: "duplicate",
      write: { kind: "advanceSequencer", guard: { kind: "removedAndOlderThan", sequencer } },
    };
  }
  return removalOfLiveVersion(sequencer);
}

/** decideRemoved's answer for a live, older record: the removal's first try, made without a read. */
export function removalOfLiveVersion(sequencer: string): VersionDecision<RemovedOutcome, "markRemoved"> {
  return {
    outcome: "removed",
    write: { kind: "markRemoved", guard: { kind: "liveAndOlderThan", sequencer } },
  };
}

// ── Rejected keys ───────────────────────────────────────────────────────────────────

export type RejectedOutcome = "rejected" | "stale";

/** A key outside the layout is recorded with its reason, sequencer-ordered like any other event. */
export function decideRejected(
  current: RecordedVersion | undefined,
  sequencer: string,
): VersionDecision<RejectedOutcome, "rejected"> {
  if (current && !isNewerSequencer(sequencer, current.sequencer)) return { outcome: "stale" };
  return {
    outcome: "rejected",
    write: { kind: "rejected", guard: { kind: "absentOrOlderThan", sequencer } },
    ifGuardFails: "stale",
  };
}

// ── A generation's marks (ConsumedFile) ─────────────────────────────────────────────

export type MarkOutcome =
  /** The planned version is marked with the generation's outcome. */
  | "marked"
  /** A newer version arrived meanwhile: only which rows the lake holds now is recorded; it stays due. */
  | "newerVersion"
  /** This generation (or a later one) already left its mark: a repeat. */
  | "repeat"
  /** The record is gone (never in practice: records are not deleted). */
  | "gone"
  /** Too many concurrent marks; left for the next compaction, which reconciles the file. */
  | "unsettled";

/** The record is still exactly the version the plan read. */
export function plannedGuard(file: ConsumedFile): VersionGuard {
  return {
    kind: "asPlanned",
    status: file.plannedStatus,
    eTag: file.eTag,
    ...(file.plannedStatus === FILE_STATUS.removed ? { sequencer: normaliseSequencer(file.sequencer) } : {}),
    stillDue: file.outcome === "dropped",
  };
}

/** decideMark's answer while the plan still holds: the mark's first try, made without a read. */
export function markAsPlanned(file: ConsumedFile): VersionDecision<MarkOutcome, "markPlanned"> {
  return { outcome: "marked", write: { kind: "markPlanned", guard: plannedGuard(file) } };
}

/**
 * ConsumedFile's rule (model.ts): mark exactly the version the plan read; if a newer one
 * arrived meanwhile, only record which version's rows the lake holds now and keep the file
 * due, so the next compaction reconciles it. A repeat (compactedGeneration ≥ this one)
 * changes nothing.
 */
export function decideMark(
  current: RecordedVersion | undefined,
  file: ConsumedFile,
  generation: number,
): VersionDecision<MarkOutcome, "markPlanned" | "recordLakeVersion"> {
  if (guardHolds(plannedGuard(file), current)) return markAsPlanned(file);
  if (!current) return { outcome: "gone" };
  const recorded = current.compactedGeneration;
  if (recorded !== undefined && recorded >= generation) return { outcome: "repeat" };
  return {
    outcome: "newerVersion",
    write: { kind: "recordLakeVersion", guard: { kind: "compactedGenerationIs", generation: recorded } },
  };
}

// ── Operations ──────────────────────────────────────────────────────────────────────

/** `compacter retry`: only a quarantined file is re-queued; false otherwise. */
export function requeueDecision(): VersionDecision<"requeued" | "notQuarantined", "requeue"> {
  return {
    outcome: "requeued",
    write: { kind: "requeue", guard: { kind: "statusIs", status: FILE_STATUS.quarantined } },
    ifGuardFails: "notQuarantined",
  };
}

// ── Carrying decisions out ──────────────────────────────────────────────────────────

/**
 * What a store does for the rules: one guarded, atomic write of one record. When the guard
 * failed, `current` gives the record as it is now (DynamoDB returns it with the failure on
 * AWS; elsewhere it is a strongly consistent re-read, made only if the rules need it).
 */
export type GuardedWrite<K extends VersionWriteKind> = (
  write: VersionWrite<K>,
) => Promise<
  { readonly ok: true } | { readonly ok: false; readonly current: () => Promise<RecordedVersion | undefined> }
>;

/**
 * A registration races only with other events for the same key; each lost race is one
 * more event that is now recorded, so a handful of rounds always settles.
 */
export const MAX_RACE_ROUNDS = 8;

/**
 * Applies `first`, and after every failed guard asks `decide` again on the record as it
 * is now, until a decision needs no write or its write lands. `exhausted` answers when the
 * rounds run out (a registration throws, so the message is retried).
 */
export async function settleVersion<O extends string, K extends VersionWriteKind>(input: {
  readonly first: VersionDecision<O, K>;
  readonly decide: (current: RecordedVersion | undefined) => VersionDecision<O, K>;
  readonly write: GuardedWrite<K>;
  readonly exhausted: () => O;
}): Promise<O> {
  let decision = input.first;
  for (let round = 0; round <= MAX_RACE_ROUNDS; round++) {
    if (!decision.write) return decision.outcome;
    const written = await input.write(decision.write);
    if (written.ok) return decision.outcome;
    if (decision.ifGuardFails !== undefined) return decision.ifGuardFails;
    decision = input.decide(await written.current());
  }
  return input.exhausted();
}

/** The error a registration throws when its key kept changing (retryable: the message comes back). */
export function registrationRaceError(key: string): CompacterError {
  return new CompacterError(
    `'${key}' kept changing while it was being registered; the message will be retried`,
    { retryable: true },
  );
}

/** The three registrations, each from its no-read first try (see the module's doc). */
export function registerCreatedVersion(
  event: { readonly key: string; readonly eTag: string; readonly sequencer: string },
  write: GuardedWrite<"newVersion" | "advanceSequencer">,
): Promise<CreatedOutcome> {
  const sequencer = normaliseSequencer(event.sequencer);
  return settleVersion({
    first: decideCreated(undefined, { eTag: event.eTag, sequencer }),
    decide: (current) => decideCreated(current, { eTag: event.eTag, sequencer }),
    write,
    exhausted: () => {
      throw registrationRaceError(event.key);
    },
  });
}

export function registerRemovedVersion(
  event: { readonly key: string; readonly sequencer: string },
  write: GuardedWrite<"markRemoved" | "tombstone" | "advanceSequencer">,
): Promise<RemovedOutcome> {
  const sequencer = normaliseSequencer(event.sequencer);
  return settleVersion<RemovedOutcome, "markRemoved" | "tombstone" | "advanceSequencer">({
    first: removalOfLiveVersion(sequencer),
    decide: (current) => decideRemoved(current, sequencer),
    write,
    exhausted: () => {
      throw registrationRaceError(event.key);
    },
  });
}

export function registerRejectedVersion(
  event: { readonly sequencer: string },
  write: GuardedWrite<"rejected">,
): Promise<RejectedOutcome> {
  const sequencer = normaliseSequencer(event.sequencer);
  return settleVersion({
    first: decideRejected(undefined, sequencer),
    decide: (current) => decideRejected(current, sequencer),
    write,
    exhausted: () => "stale",
  });
}

export function markConsumedVersion(
  file: ConsumedFile,
  generation: number,
  write: GuardedWrite<"markPlanned" | "recordLakeVersion">,
): Promise<MarkOutcome> {
  return settleVersion<MarkOutcome, "markPlanned" | "recordLakeVersion">({
    first: markAsPlanned(file),
    decide: (current) => decideMark(current, file, generation),
    write,
    exhausted: () => "unsettled",
  });
}

/** `compacter retry` of one file: true when it was quarantined and is now pending again. */
export async function requeueQuarantinedVersion(write: GuardedWrite<"requeue">): Promise<boolean> {
  const decision = requeueDecision();
  const outcome = await settleVersion({
    first: decision,
    decide: () => decision,
    write,
    exhausted: () => "notQuarantined",
  });
  return outcome === "requeued";
}
