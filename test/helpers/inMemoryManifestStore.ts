/**
 * The manifest in memory, for fast unit tests of the commit protocol, compaction planning
 * and ingest. It takes every decision with the same rules the DynamoDB store encodes as
 * condition expressions — core's fileVersions.ts (object versions, marks) and
 * partitionRules.ts (lease, commit, versioned items) — so a test here exercises the real
 * rules, not a stub. What it implements itself is only what each decided write does to a
 * record (the effects the ManifestStore contract documents), mirroring the DynamoDB
 * updates in packages/aws/src/manifest.
 *
 * Atomicity: each guarded write checks its guard and applies its effect in one
 * synchronous block, as DynamoDB evaluates a condition with its write; every method yields
 * to the event loop first, so concurrent callers interleave between requests as they do
 * against a real table.
 */
import {
  type ConsumedFile,
  canFinishCommit,
  canMarkQueued,
  canTakeLease,
  commitRefusal,
  type DistrictSchema,
  type DueEntry,
  type FailingMark,
  FILE_STATUS,
  type FileStatus,
  type GenerationRecord,
  type GuardedWrite,
  guardHolds,
  holdsLease,
  isNextVersion,
  type ManifestStore,
  type MergeSlice,
  markConsumedVersion,
  maySliceBeClaimed,
  maySliceBeStaged,
  normaliseSequencer,
  type ParsedRawKey,
  type PartitionId,
  type PartitionSnapshot,
  type PartitionState,
  partitionLabel,
  type RawFileRecord,
  type RegistrationOutcome,
  type RejectedFileRecord,
  registerCreatedVersion,
  registerRejectedVersion,
  registerRemovedVersion,
  requeueQuarantinedVersion,
  type SlicedMergePlan,
  type SlicedMergeState,
  type StagedSlice,
  type TypeLedger,
  type VersionWriteKind,
} from "@compacter/core";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Writable<T> = Mutable<T> & Partial<Record<string, unknown>>;
/** A file record plus what the DynamoDB item holds beyond RawFileRecord (heartbeat counts, problem order). */
type StoredFile = Mutable<RawFileRecord> & {
  nullHeartbeats?: number;
  absurdHeartbeats?: number;
  quarantinedAt?: string;
};
type Call = Parameters<ManifestStore["registerCreated"]>[0];
type Removal = Parameters<ManifestStore["registerRemoved"]>[0];
type Commit = Parameters<ManifestStore["commitGeneration"]>[0];

const VERSION_COUNTS = ["rows", "badLines", "badLineReasons", "nullHeartbeats", "absurdHeartbeats"] as const;
const LAKE_ROWS = ["compactedETag", "dueAt", ...VERSION_COUNTS] as const;

/** Yields once, so concurrent calls interleave at request boundaries. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

export class InMemoryManifestStore implements ManifestStore {
  private readonly files = new Map<string, Map<string, StoredFile>>();
  private readonly rejected = new Map<string, RejectedFileRecord>();
  private readonly partitions = new Map<string, Mutable<PartitionState>>();
  private readonly intents = new Map<string, Map<string, GenerationRecord>>();
  private readonly history = new Map<string, Map<number, GenerationRecord>>();
  private readonly schemas = new Map<string, DistrictSchema>();
  private ledger: TypeLedger | undefined;
  /** Sliced merges by partition, then attempt id: the plan (absent after a partial write) and its slices by index. */
  private readonly slicedMerges = new Map<
    string,
    Map<string, { plan?: SlicedMergePlan; slices: Map<number, MergeSlice> }>
  >();

  // ── Ingest ────────────────────────────────────────────────────────────────────────

  async registerCreated(input: Call): Promise<RegistrationOutcome> {
    const { file, version, timing, nowIso } = input;
    await tick();
    this.baseline(file.partition);
    const sequencer = normaliseSequencer(version.sequencer);
    const result = await registerCreatedVersion(
      version,
      this.guardedFile(file.partition, file.key, (kind, current) => {
        if (kind === "advanceSequencer") return { ...need(current), sequencer, updatedAt: nowIso };
        const next: StoredFile = {
          ...identity(file),
          status: FILE_STATUS.pending,
          eTag: version.eTag,
          size: version.size,
          sequencer,
          arrivedAt: version.arrivedAt,
          late: timing.late,
          updatedAt: nowIso,
          dueAt: new Date(timing.dueAtMs).toISOString(),
          versions: (current?.versions ?? 0) + 1,
        };
        // compactedETag stays: it says which version's rows the lake holds.
        if (current?.compactedETag !== undefined) next.compactedETag = current.compactedETag;
        if (current?.compactedGeneration !== undefined)
          next.compactedGeneration = current.compactedGeneration;
        return next;
      }),
    );
    return { result };
  }

  async registerRemoved(input: Removal): Promise<RegistrationOutcome> {
    const { file, timing, nowIso } = input;
    await tick();
    const sequencer = normaliseSequencer(input.sequencer);
    const result = await registerRemovedVersion(
      { key: file.key, sequencer },
      this.guardedFile(file.partition, file.key, (kind, current) => {
        switch (kind) {
          case "advanceSequencer":
            return { ...need(current), sequencer, updatedAt: nowIso };
          case "tombstone":
            return {
              ...identity(file),
              status: FILE_STATUS.removed,
              eTag: "",
              size: 0,
              sequencer,
              arrivedAt: input.arrivedAt,
              late: timing.late,
              versions: 0,
              updatedAt: nowIso,
            };
          case "markRemoved": {
            const next: StoredFile = {
              ...need(current),
              status: FILE_STATUS.removed,
              sequencer,
              updatedAt: nowIso,
              dueAt: new Date(timing.dueAtMs).toISOString(),
            };
            delete next.error;
            delete next.quarantinedAt;
            return next;
          }
        }
      }),
    );
    return { result };
  }

  async registerRejected(
    input: Parameters<ManifestStore["registerRejected"]>[0],
  ): Promise<RegistrationOutcome> {
    const { version, reason, nowIso } = input;
    await tick();
    const sequencer = normaliseSequencer(version.sequencer);
    const result = await registerRejectedVersion({ sequencer }, async (write) => {
      await tick();
      if (!guardHolds(write.guard, this.rejected.get(version.key))) {
        return { ok: false, current: async () => this.rejected.get(version.key) };
      }
      const { key, eTag, size, arrivedAt } = version;
      this.rejected.set(key, {
        key,
        status: FILE_STATUS.rejected,
        reason,
        eTag,
        size,
        sequencer,
        arrivedAt,
        updatedAt: nowIso,
      });
      return { ok: true };
    });
    return { result };
  }

  // ── Reads ─────────────────────────────────────────────────────────────────────────

  async readPartition(partition: PartitionId): Promise<PartitionSnapshot> {
    await tick();
    return { state: this.stateOf(partition), files: this.filesOf(partition) };
  }

  async listFiles(partition: PartitionId, status?: FileStatus): Promise<RawFileRecord[]> {
    await tick();
    return this.filesOf(partition).filter((f) => status === undefined || f.status === status);
  }

  async getFile(partition: PartitionId, key: string): Promise<RawFileRecord | undefined> {
    await tick();
    const file = this.fileMap(partition).get(key);
    return file ? asRecord(file) : undefined;
  }

  async getPartition(partition: PartitionId): Promise<PartitionState | undefined> {
    await tick();
    return this.stateOf(partition);
  }

  async listPartitionsOfDay(day: string): Promise<PartitionState[]> {
    await tick();
    return this.allStates()
      .filter((s) => s.partition.day === day)
      .sort((a, b) => a.partition.district.localeCompare(b.partition.district));
  }

  async listPartitionsOfDistrict(
    district: string,
    fromDay: string,
    toDay: string,
  ): Promise<PartitionState[]> {
    await tick();
    return this.allStates()
      .filter(
        (s) => s.partition.district === district && s.partition.day >= fromDay && s.partition.day <= toDay,
      )
      .sort((a, b) => a.partition.day.localeCompare(b.partition.day));
  }

  async listDue(untilIso?: string): Promise<DueEntry[]> {
    await tick();
    const entries: DueEntry[] = [];
    for (const state of this.allStates()) {
      if (state.dueAt !== undefined)
        entries.push({ partition: state.partition, kind: "partition", dueAt: state.dueAt });
    }
    for (const files of this.files.values()) {
      for (const f of files.values()) {
        if (f.dueAt === undefined) continue;
        entries.push({
          partition: f.partition,
          kind: "file",
          dueAt: f.dueAt,
          key: f.key,
          status: f.status,
          late: f.late,
          arrivedAt: f.arrivedAt,
        });
      }
    }
    return entries
      .filter((e) => untilIso === undefined || e.dueAt <= untilIso)
      .sort((a, b) => a.dueAt.localeCompare(b.dueAt));
  }

  async listProblems(
    status?: "quarantined" | "rejected",
  ): Promise<Array<RawFileRecord | RejectedFileRecord>> {
    await tick();
    const quarantined = [...this.files.values()]
      .flatMap((m) => [...m.values()])
      .filter((f) => f.status === FILE_STATUS.quarantined)
      .sort((a, b) => (b.quarantinedAt ?? "").localeCompare(a.quarantinedAt ?? ""))
      .map(asRecord);
    const rejected = [...this.rejected.values()].sort((a, b) => b.arrivedAt.localeCompare(a.arrivedAt));
    // The problems index sorts "rejected#…" after "quarantined#…" and is read newest first.
    if (status === "quarantined") return quarantined;
    if (status === "rejected") return structuredClone(rejected);
    return [...structuredClone(rejected), ...quarantined];
  }

  async listHistory(partition: PartitionId): Promise<GenerationRecord[]> {
    await tick();
    const records = [...(this.history.get(partitionLabel(partition))?.values() ?? [])];
    return structuredClone(records.sort((a, b) => a.generation - b.generation));
  }

  // ── Lease ─────────────────────────────────────────────────────────────────────────

  async acquireLease(partition: PartitionId, owner: string, expiresAtMs: number, nowMs: number) {
    await tick();
    if (!canTakeLease(this.partitions.get(partitionLabel(partition)), owner, nowMs)) return undefined;
    const state = this.baseline(partition);
    state.leaseOwner = owner;
    state.leaseExpiresAt = expiresAtMs;
    return structuredClone(state);
  }

  async renewLease(partition: PartitionId, owner: string, expiresAtMs: number): Promise<boolean> {
    await tick();
    const state = this.partitions.get(partitionLabel(partition));
    if (!state || !holdsLease(state, owner)) return false;
    state.leaseExpiresAt = expiresAtMs;
    return true;
  }

  async releaseLease(partition: PartitionId, owner: string): Promise<void> {
    await tick();
    const state = this.partitions.get(partitionLabel(partition));
    if (!state || !holdsLease(state, owner)) return;
    delete state.leaseOwner;
    delete state.leaseExpiresAt;
  }

  // ── Commit protocol ───────────────────────────────────────────────────────────────

  async putIntent(record: GenerationRecord): Promise<void> {
    await tick();
    this.mapOf(this.intents, record.partition).set(record.attemptId, structuredClone(record));
  }

  async getIntent(partition: PartitionId, attemptId: string): Promise<GenerationRecord | undefined> {
    await tick();
    const record = this.intents.get(partitionLabel(partition))?.get(attemptId);
    return record ? structuredClone(record) : undefined;
  }

  async deleteIntent(partition: PartitionId, attemptId: string): Promise<void> {
    await tick();
    this.intents.get(partitionLabel(partition))?.delete(attemptId);
  }

  async listIntents(partition: PartitionId): Promise<GenerationRecord[]> {
    await tick();
    const records = [...(this.intents.get(partitionLabel(partition))?.values() ?? [])];
    return structuredClone(records.sort((a, b) => a.attemptId.localeCompare(b.attemptId)));
  }

  async commitGeneration(input: Commit): Promise<void> {
    await tick();
    const state = this.partitions.get(partitionLabel(input.partition));
    const refusal = commitRefusal(input.partition, state, input);
    if (refusal || !state) throw refusal;
    Object.assign(state, {
      generation: input.expectedGeneration + 1,
      files: structuredClone(input.files),
      rows: input.rows,
      bytes: input.bytes,
      lastPlan: input.plan,
      lastCompactedAt: input.committedAt,
      inflight: structuredClone(input.inflight),
      dueAt: input.dueAt,
      ...(input.narrowColumns !== undefined ? { narrowColumns: structuredClone(input.narrowColumns) } : {}),
    });
  }

  async markConsumed(
    partition: PartitionId,
    generation: number,
    files: readonly ConsumedFile[],
    nowIso: string,
  ): Promise<void> {
    await Promise.all(
      files.map((file) =>
        markConsumedVersion(
          file,
          generation,
          this.guardedFile(partition, file.key, (kind, current) =>
            markEffect(kind, need(current), file, generation, nowIso),
          ),
        ),
      ),
    );
  }

  async putHistory(record: GenerationRecord): Promise<void> {
    await tick();
    this.historyOf(record.partition).set(record.generation, structuredClone(record));
  }

  async finishCommit(partition: PartitionId, attemptId: string, dueAt: string | undefined): Promise<void> {
    await tick();
    const state = this.partitions.get(partitionLabel(partition));
    if (!state || !canFinishCommit(state, attemptId)) return;
    delete state.inflight;
    setOrDelete(state, "dueAt", dueAt);
  }

  async setPartitionDue(partition: PartitionId, dueAt: string | undefined): Promise<void> {
    await tick();
    setOrDelete(this.baseline(partition), "dueAt", dueAt);
  }

  // ── Operations and job bookkeeping ────────────────────────────────────────────────

  async requeueQuarantined(
    partition: PartitionId,
    key: string,
    dueAt: string,
    nowIso: string,
  ): Promise<boolean> {
    return requeueQuarantinedVersion(
      this.guardedFile(partition, key, (_kind, current) => {
        const next: StoredFile = { ...need(current), status: FILE_STATUS.pending, dueAt, updatedAt: nowIso };
        delete next.error;
        delete next.quarantinedAt;
        return next;
      }),
    );
  }

  async markQueued(partition: PartitionId, untilMs: number, nowMs: number): Promise<boolean> {
    await tick();
    const state = this.partitions.get(partitionLabel(partition));
    if (!state || !canMarkQueued(state, nowMs)) return false;
    state.queuedUntil = untilMs;
    return true;
  }

  async clearQueued(partition: PartitionId): Promise<void> {
    await tick();
    const state = this.partitions.get(partitionLabel(partition));
    if (state) delete state.queuedUntil;
  }

  async recordFailure(partition: PartitionId, mark: FailingMark, options: { clearQueued: boolean }) {
    await tick();
    const state = this.partitions.get(partitionLabel(partition));
    if (!state) return;
    state.failing = structuredClone(mark);
    if (options.clearQueued) delete state.queuedUntil;
  }

  async clearFailure(partition: PartitionId): Promise<void> {
    await tick();
    const state = this.partitions.get(partitionLabel(partition));
    if (!state) return;
    delete state.failing;
    delete state.queuedUntil;
  }

  async listFailing(): Promise<PartitionState[]> {
    await tick();
    return this.allStates()
      .filter((s) => s.failing !== undefined)
      .sort((a, b) => (a.failing?.since ?? "").localeCompare(b.failing?.since ?? ""));
  }

  async retryFailingNow(partition: PartitionId, nowIso: string): Promise<boolean> {
    await tick();
    const state = this.partitions.get(partitionLabel(partition));
    if (!state?.failing) return false;
    state.failing = { ...state.failing, nextRetryAt: nowIso };
    delete state.queuedUntil;
    return true;
  }

  // ── Schema and type ledger ────────────────────────────────────────────────────────

  async getSchema(district: string): Promise<DistrictSchema | undefined> {
    await tick();
    const schema = this.schemas.get(district);
    return schema ? structuredClone(schema) : undefined;
  }

  async putSchema(schema: DistrictSchema): Promise<boolean> {
    await tick();
    if (!isNextVersion(this.schemas.get(schema.district), schema.version)) return false;
    this.schemas.set(schema.district, structuredClone(schema));
    return true;
  }

  async getLedger(): Promise<TypeLedger | undefined> {
    await tick();
    return this.ledger ? structuredClone(this.ledger) : undefined;
  }

  async putLedger(ledger: TypeLedger): Promise<boolean> {
    await tick();
    if (!isNextVersion(this.ledger, ledger.version)) return false;
    this.ledger = structuredClone(ledger);
    return true;
  }

  // ── Internals ─────────────────────────────────────────────────────────────────────

  /**
   * One guarded write of a file record: the guard (core's guardHolds) and the effect in one
   * synchronous step, like a DynamoDB condition and its update.
   */
  private guardedFile<K extends VersionWriteKind>(
    partition: PartitionId,
    key: string,
    effect: (kind: K, current: StoredFile | undefined) => StoredFile,
  ): GuardedWrite<K> {
    return async (write) => {
      await tick();
      const files = this.fileMap(partition);
      if (!guardHolds(write.guard, files.get(key))) {
        return { ok: false, current: async () => files.get(key) };
      }
      files.set(key, effect(write.kind, files.get(key)));
      return { ok: true };
    };
  }

  /** The partition item, created (generation 0, no files) on first use, as DynamoDB's baseline update does. */
  private baseline(partition: PartitionId): Mutable<PartitionState> {
    const label = partitionLabel(partition);
    let state = this.partitions.get(label);
    if (!state) {
      state = { partition: { ...partition }, generation: 0, files: [], rows: 0, bytes: 0 };
      this.partitions.set(label, state);
    }
    return state;
  }

  private stateOf(partition: PartitionId): PartitionState | undefined {
    const state = this.partitions.get(partitionLabel(partition));
    return state ? structuredClone(state) : undefined;
  }

  private allStates(): PartitionState[] {
    return [...this.partitions.values()].map((s) => structuredClone(s));
  }

  // Sliced merges: the claim and stage rules are core's (manifest/slicedMerge.ts), as in SliceItems.

  async putSlicedMerge(plan: SlicedMergePlan, slices: readonly MergeSlice[]): Promise<void> {
    const merge = { slices: new Map(slices.map((s) => [s.index, structuredClone(s)])) };
    this.mapOf(this.slicedMerges, plan.partition).set(plan.attemptId, {
      ...merge,
      plan: structuredClone(plan),
    });
  }

  async listSlicedMerges(partition: PartitionId): Promise<SlicedMergeState[]> {
    return [...this.mapOf(this.slicedMerges, partition)]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([attemptId, m]) => ({
        attemptId,
        ...(m.plan ? { plan: structuredClone(m.plan) } : {}),
        slices: [...m.slices.values()].sort((a, b) => a.index - b.index).map((s) => structuredClone(s)),
      }));
  }

  async claimSlice(
    partition: PartitionId,
    attemptId: string,
    index: number,
    owner: string,
    expiresAtMs: number,
    nowMs: number,
  ): Promise<boolean> {
    const merge = this.mapOf(this.slicedMerges, partition).get(attemptId);
    const slice = merge?.slices.get(index);
    if (!merge || !slice || !maySliceBeClaimed(slice, owner, nowMs)) return false;
    merge.slices.set(index, { ...slice, claimedBy: owner, claimExpiresAt: expiresAtMs });
    return true;
  }

  async stageSlice(
    partition: PartitionId,
    attemptId: string,
    index: number,
    owner: string,
    staged: StagedSlice,
  ): Promise<boolean> {
    const merge = this.mapOf(this.slicedMerges, partition).get(attemptId);
    const slice = merge?.slices.get(index);
    if (!merge || !slice || !maySliceBeStaged(slice, owner)) return false;
    const { claimExpiresAt: _expired, ...claimed } = slice;
    merge.slices.set(index, { ...claimed, staged: structuredClone(staged) });
    return true;
  }

  async deleteSlicedMerge(partition: PartitionId, attemptId: string): Promise<void> {
    this.mapOf(this.slicedMerges, partition).delete(attemptId);
  }

  private fileMap(partition: PartitionId): Map<string, StoredFile> {
    return this.mapOf(this.files, partition);
  }

  private filesOf(partition: PartitionId): RawFileRecord[] {
    return [...this.fileMap(partition).values()].sort((a, b) => (a.key < b.key ? -1 : 1)).map(asRecord);
  }

  private historyOf(partition: PartitionId): Map<number, GenerationRecord> {
    return this.mapOf(this.history, partition);
  }

  private mapOf<K, V>(maps: Map<string, Map<K, V>>, partition: PartitionId): Map<K, V> {
    const label = partitionLabel(partition);
    let map = maps.get(label);
    if (!map) {
      map = new Map();
      maps.set(label, map);
    }
    return map;
  }
}

/** What each mark does (ConsumedFile's doc), as FileRecords.markOne's updates do it. */
function markEffect(
  kind: "markPlanned" | "recordLakeVersion",
  current: StoredFile,
  file: ConsumedFile,
  generation: number,
  nowIso: string,
): StoredFile {
  const next: Writable<StoredFile> = { ...current, compactedGeneration: generation, updatedAt: nowIso };
  if (kind === "recordLakeVersion") {
    if (file.outcome === "compacted") next.compactedETag = file.eTag;
    else delete next.compactedETag;
    next.dueAt ??= nowIso;
    return next;
  }
  switch (file.outcome) {
    case "compacted":
      Object.assign(next, {
        status: FILE_STATUS.compacted,
        compactedETag: file.eTag,
        rows: file.rows,
        badLines: file.badLines,
      });
      setOrDelete(next, "nullHeartbeats", file.nullHeartbeats);
      setOrDelete(next, "absurdHeartbeats", file.absurdHeartbeats);
      setOrDelete(next, "badLineReasons", file.badLineReasons);
      delete next.dueAt;
      delete next.error;
      delete next.quarantinedAt;
      return next;
    case "quarantined":
      for (const field of LAKE_ROWS) delete next[field];
      return {
        ...next,
        status: FILE_STATUS.quarantined,
        error: file.error ?? "unreadable",
        quarantinedAt: nowIso,
      };
    case "dropped":
      for (const field of LAKE_ROWS) delete next[field];
      return next;
  }
}

function identity(file: ParsedRawKey) {
  return {
    key: file.key,
    partition: { ...file.partition },
    deviceId: file.deviceId,
    hourKey: file.hourKey,
    hourStart: new Date(file.hourStartMs).toISOString(),
  };
}

/** The record as the DynamoDB store reads it back (toRawFileRecord): without the item-only fields. */
function asRecord(file: StoredFile): RawFileRecord {
  const { nullHeartbeats: _n, absurdHeartbeats: _a, quarantinedAt: _q, ...record } = file;
  return structuredClone(record);
}

function need(current: StoredFile | undefined): StoredFile {
  if (!current) throw new Error("a guard that requires a record passed without one");
  return current;
}

function setOrDelete<T extends object>(target: T, field: string, value: unknown): void {
  const writable = target as Record<string, unknown>;
  if (value === undefined) delete writable[field];
  else writable[field] = value;
}
