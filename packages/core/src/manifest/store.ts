import type { PartitionId } from "../layout/partitions.js";
import type { ParsedRawKey } from "../layout/rawKeys.js";
import type { DistrictSchema } from "../schema/columns.js";
import type { NarrowColumns, TypeLedger } from "../schema/ledger.js";
import type { FileTiming } from "../windows.js";
import type {
  ConsumedFile,
  FailingMark,
  FileStatus,
  GenerationRecord,
  InflightCommit,
  LakeFile,
  ObjectVersion,
  PartitionState,
  PlanKind,
  RawFileRecord,
  RejectedFileRecord,
} from "./model.js";
import type { MergeSlice, SlicedMergePlan, SlicedMergeState, StagedSlice } from "./slicedMerge.js";

/**
 * The manifest as the core sees it. The DynamoDB adapter implements it with one table
 * (tableSpec.ts); every method is one request or one paginated Query, and correctness
 * never depends on a multi-item transaction: each write is a single-item conditional
 * write, and the commit protocol (compaction/commit.ts) orders them so that a crash
 * between any two leaves a state the next worker can finish.
 */
export interface ManifestStore {
  // ── Ingest: idempotent per object version ─────────────────────────────────────────

  /**
   * Records an `ObjectCreated` version of a raw file. The rules below are decided by
   * fileVersions.ts (decideCreated); a store only carries out the guarded writes.
   * - no item yet → a pending file (versions = 1);
   * - recorded sequencer ≥ this one → `stale` (a duplicate or an older version arriving late), no write;
   * - newer sequencer, same eTag → `duplicate`: only the sequencer advances (content is identical);
   * - newer sequencer, new eTag → pending again with the new version (`replaced`); `compactedETag`
   *   is kept so the next compaction knows the old rows must go. Clears a quarantine.
   * Pending files carry `dueAt` (the due index) = `timing.dueAtMs`.
   */
  registerCreated(input: {
    readonly file: ParsedRawKey;
    readonly version: ObjectVersion;
    readonly timing: FileTiming;
    readonly nowIso: string;
  }): Promise<RegistrationOutcome>;

  /**
   * Records an `ObjectRemoved` event (sequencer-ordered like creates). The file becomes
   * `removed` and is due, so the next compaction drops its rows (if any reached the
   * lake). With no item yet, a removed tombstone is written so an older create arriving
   * later is ignored.
   */
  registerRemoved(input: {
    readonly file: ParsedRawKey;
    readonly sequencer: string;
    readonly arrivedAt: string;
    readonly timing: FileTiming;
    readonly nowIso: string;
  }): Promise<RegistrationOutcome>;

  /** Records a key that doesn't match the raw layout, with the reason (sequencer-ordered). */
  registerRejected(input: {
    readonly version: ObjectVersion;
    readonly reason: string;
    readonly nowIso: string;
  }): Promise<RegistrationOutcome>;

  // ── Reads (the six access patterns) ───────────────────────────────────────────────

  /** Pattern 1 + 2 in one strongly consistent Query: the partition's state and all its files. */
  readPartition(partition: PartitionId): Promise<PartitionSnapshot>;
  /** Pattern 1, optionally narrowed to one status. */
  listFiles(partition: PartitionId, status?: FileStatus): Promise<RawFileRecord[]>;
  getFile(partition: PartitionId, key: string): Promise<RawFileRecord | undefined>;
  /** Pattern 2. */
  getPartition(partition: PartitionId): Promise<PartitionState | undefined>;
  /** Pattern 3: every district's partition of a day. */
  listPartitionsOfDay(day: string): Promise<PartitionState[]>;
  /** Pattern 3: one district over an inclusive day range. */
  listPartitionsOfDistrict(district: string, fromDay: string, toDay: string): Promise<PartitionState[]>;
  /** Pattern 4: due-index entries with dueAt ≤ `untilIso` (all of them when omitted). */
  listDue(untilIso?: string): Promise<DueEntry[]>;
  /** Pattern 5: quarantined and rejected files, newest first within each status. */
  listProblems(status?: "quarantined" | "rejected"): Promise<Array<RawFileRecord | RejectedFileRecord>>;
  /** Pattern 6: one record per committed generation, oldest first. */
  listHistory(partition: PartitionId): Promise<GenerationRecord[]>;

  // ── Lease: one compactor per partition ────────────────────────────────────────────

  /**
   * Takes the partition's lease if it is free, expired, or already ours; creates the
   * partition item on first use. Returns the state read with it, or undefined if held.
   */
  acquireLease(
    partition: PartitionId,
    owner: string,
    expiresAtMs: number,
    nowMs: number,
  ): Promise<PartitionState | undefined>;
  /** Extends our lease; false if another owner has it now. */
  renewLease(partition: PartitionId, owner: string, expiresAtMs: number): Promise<boolean>;
  /** Gives the lease up if we still hold it. */
  releaseLease(partition: PartitionId, owner: string): Promise<void>;

  // ── Commit protocol (compaction/commit.ts drives these in order) ──────────────────

  /** Writes a commit intent (item C#{attemptId}); written before the commit so a crash after it can be finished. */
  putIntent(record: GenerationRecord): Promise<void>;
  getIntent(partition: PartitionId, attemptId: string): Promise<GenerationRecord | undefined>;
  deleteIntent(partition: PartitionId, attemptId: string): Promise<void>;
  /** Intents of a partition (orphan cleanup). */
  listIntents(partition: PartitionId): Promise<GenerationRecord[]>;

  /**
   * The commit point. One conditional write on the partition item: generation moves
   * from `expectedGeneration` to `expectedGeneration + 1` and the file list becomes
   * `files`, only if the generation is still the expected one, no other commit is in
   * flight, and `owner` holds an unexpired lease at `nowMs`.
   * Throws GenerationConflictError or LeaseLostError (both retryable) otherwise.
   */
  commitGeneration(input: {
    readonly partition: PartitionId;
    readonly expectedGeneration: number;
    readonly owner: string;
    readonly nowMs: number;
    readonly files: readonly LakeFile[];
    readonly rows: number;
    readonly bytes: number;
    readonly plan: PlanKind;
    readonly inflight: InflightCommit;
    readonly committedAt: string;
    /** Keeps the partition in the due index until the commit is finished. */
    readonly dueAt: string;
    /**
     * Integer columns of the files after this commit (schema/ledger.ts), written with the
     * commit itself so "is this partition behind the ledger" is never stale after a crash.
     */
    readonly narrowColumns?: NarrowColumns;
  }): Promise<void>;

  /**
   * Applies a committed generation to its input files, each a conditional single-item
   * update (see ConsumedFile; decided by fileVersions.ts decideMark): only the version the plan read is marked; if a newer
   * version arrived meanwhile, the file keeps its new state but records which version's
   * rows are in the lake now and stays due. Idempotent: a repeat is a no-op.
   */
  markConsumed(
    partition: PartitionId,
    generation: number,
    files: readonly ConsumedFile[],
    nowIso: string,
  ): Promise<void>;

  /** Writes the history item of a generation (deterministic content; a repeat overwrites it with the same). */
  putHistory(record: GenerationRecord): Promise<void>;

  /**
   * Ends a commit: clears `inflight` if it is still `attemptId`'s, and sets or clears the
   * partition's own due time (a merge due at day close). A no-op if already finished.
   */
  finishCommit(partition: PartitionId, attemptId: string, dueAt: string | undefined): Promise<void>;

  /** Sets or clears the partition's own due time (not its files'). */
  setPartitionDue(partition: PartitionId, dueAt: string | undefined): Promise<void>;

  // ── Sliced merges (compaction/slicedMerge.ts): items W#{attemptId} and W#{attemptId}#{index} ──

  /** Writes the slice items, then the plan item (so a plan item means the whole plan is there). */
  putSlicedMerge(plan: SlicedMergePlan, slices: readonly MergeSlice[]): Promise<void>;
  /** The partition's sliced merges with their slices (one strongly consistent Query). */
  listSlicedMerges(partition: PartitionId): Promise<SlicedMergeState[]>;
  /**
   * Claims (or renews) a slice for `owner` until `expiresAtMs`: only if it is not staged
   * and unclaimed, its claim expired at `nowMs`, or it is already `owner`'s. False otherwise.
   */
  claimSlice(
    partition: PartitionId,
    attemptId: string,
    index: number,
    owner: string,
    expiresAtMs: number,
    nowMs: number,
  ): Promise<boolean>;
  /** Records a slice's staged output, only if `owner` still claims it and it is not staged yet. */
  stageSlice(
    partition: PartitionId,
    attemptId: string,
    index: number,
    owner: string,
    staged: StagedSlice,
  ): Promise<boolean>;
  /** Deletes a sliced merge's items (plan item first); a no-op for items already gone. */
  deleteSlicedMerge(partition: PartitionId, attemptId: string): Promise<void>;

  // ── Operations ────────────────────────────────────────────────────────────────────

  /** `compacter retry`: a quarantined file becomes pending and due at `dueAt`; false if it was not quarantined. */
  requeueQuarantined(partition: PartitionId, key: string, dueAt: string, nowIso: string): Promise<boolean>;

  // ── Job bookkeeping: queued and failing partitions (compaction/failures.ts decides) ──

  /**
   * The sweep's queued mark: sets `queuedUntil` only if no job is queued at `nowMs` (absent
   * or expired), so two sweeps racing send one job; false when another already queued it.
   */
  markQueued(partition: PartitionId, untilMs: number, nowMs: number): Promise<boolean>;
  /** Removes the queued mark (the send failed, or the job's message left the queue). */
  clearQueued(partition: PartitionId): Promise<void>;
  /**
   * Writes the failing mark (the partition enters the problems index under `failing#`),
   * removing the queued mark when the job will not come back.
   */
  recordFailure(partition: PartitionId, mark: FailingMark, options: { clearQueued: boolean }): Promise<void>;
  /** A job for the partition ended well: the failing and queued marks go. */
  clearFailure(partition: PartitionId): Promise<void>;
  /** Failing partitions, longest-failing first (one Query of the problems index). */
  listFailing(): Promise<PartitionState[]>;
  /** `compacter retry --failing`: the next retry becomes `nowIso` and the queued mark goes; false if not failing. */
  retryFailingNow(partition: PartitionId, nowIso: string): Promise<boolean>;

  // ── Per-district schema ───────────────────────────────────────────────────────────

  getSchema(district: string): Promise<DistrictSchema | undefined>;
  /** Writes `schema` if the stored version is still `schema.version - 1` (or none for version 1); false on a conflict. */
  putSchema(schema: DistrictSchema): Promise<boolean>;

  // ── Lake-wide type ledger (schema/ledger.ts) ──────────────────────────────────────

  getLedger(): Promise<TypeLedger | undefined>;
  /** Writes `ledger` if the stored version is still `ledger.version - 1` (or none for version 1); false on a conflict. */
  putLedger(ledger: TypeLedger): Promise<boolean>;
}

export type RegistrationOutcome =
  /** A new file, or a new version of a key (its status is now pending/removed). */
  | { readonly result: "registered" | "replaced" | "removed" | "rejected" }
  /** Nothing changed: the same version again, or an older one (lower sequencer). */
  | { readonly result: "duplicate" | "stale" };

export interface PartitionSnapshot {
  /**
   * Undefined before the partition item exists. The DynamoDB adapter creates it (generation
   * 0, no files) when the partition's first raw file is registered, so pattern 3 lists a
   * partition before its first compaction; a generation-0 state means "never committed".
   */
  readonly state: PartitionState | undefined;
  readonly files: readonly RawFileRecord[];
}

export interface DueEntry {
  readonly partition: PartitionId;
  /** "file": a raw file waiting; "partition": the partition itself (merge at close, unfinished commit). */
  readonly kind: "file" | "partition";
  readonly dueAt: string;
  readonly key?: string;
  readonly status?: FileStatus;
  readonly late?: boolean;
  readonly arrivedAt?: string;
}
