import {
  type ConsumedFile,
  FILE_STATUS,
  type FileStatus,
  type FileTiming,
  type GuardedWrite,
  mapLimit,
  markConsumedVersion,
  normaliseSequencer,
  type ObjectVersion,
  type ParsedRawKey,
  type PartitionId,
  type RecordedVersion,
  type RegistrationOutcome,
  registerCreatedVersion,
  registerRejectedVersion,
  registerRemovedVersion,
  requeueQuarantinedVersion,
  type VersionGuard,
  type VersionWriteKind,
} from "@compacter/core";
import { type DynamoTable, fileKey, type Item, type ItemKey } from "./DynamoTable.js";
import { Expression, Update } from "./expressions.js";
import { DUE_PK, fileSk, ITEM_KIND, PROBLEM_PK, problemSk, REJECTED_PK } from "./manifestItems.js";
import type { PartitionCommits } from "./PartitionCommits.js";

/** Files marked in parallel by markConsumed. */
const MARK_CONCURRENCY = 16;
/** A file version's counts: they belong to the version whose rows the lake holds, so they go with it. */
const VERSION_COUNTS = ["rows", "badLines", "badLineReasons", "nullHeartbeats", "absurdHeartbeats"] as const;
/** What a file keeps only while its rows are in the lake and it is due; quarantine and drop both clear it. */
const LAKE_ROWS = ["compactedETag", "dueAt", "duePk", ...VERSION_COUNTS] as const;

/**
 * The file items: registration from object events (created, removed, rejected), the marks
 * a commit leaves on the files it consumed, and the operator's requeue. The rules — which
 * event is stale, a duplicate, an overwrite, a tombstone; which version a mark applies
 * to — are @compacter/core's (manifest/fileVersions.ts): this class only turns each
 * decision's write into an UpdateItem and its guard into the condition expression
 * (`condition` below), so DynamoDB checks the guard atomically with the write. On a failed
 * condition the item the service saw goes back to the rules, which decide again.
 */
export class FileRecords {
  constructor(
    private readonly table: DynamoTable,
    private readonly partitions: PartitionCommits,
  ) {}

  async registerCreated(input: {
    readonly file: ParsedRawKey;
    readonly version: ObjectVersion;
    readonly timing: FileTiming;
    readonly nowIso: string;
  }): Promise<RegistrationOutcome> {
    const { file, version, timing, nowIso } = input;
    const key = fileKey(file.partition, version.key);
    const sequencer = normaliseSequencer(version.sequencer);
    // Before the file: a crash in between then leaves an empty partition item, never a
    // file whose partition `manifest partitions` doesn't list.
    await this.partitions.ensurePartition(file.partition);
    const result = await registerCreatedVersion(
      version,
      this.guardedUpdate(key, (kind) => {
        if (kind === "advanceSequencer")
          return new Update().set("sequencer", sequencer).set("updatedAt", nowIso);
        return (
          fileIdentity(new Update(), file)
            .set("status", FILE_STATUS.pending)
            .set("eTag", version.eTag)
            .set("size", version.size)
            .set("sequencer", sequencer)
            .set("arrivedAt", version.arrivedAt)
            .set("late", timing.late)
            .set("updatedAt", nowIso)
            .set("dueAt", new Date(timing.dueAtMs).toISOString())
            .set("duePk", DUE_PK)
            .add("versions", 1)
            // A new version clears what belonged to the old one (its quarantine, its counts);
            // compactedETag stays: it says which version's rows the lake holds.
            .remove("error", "problemPk", "problemSk", ...VERSION_COUNTS)
        );
      }),
    );
    return { result };
  }

  async registerRemoved(input: {
    readonly file: ParsedRawKey;
    readonly sequencer: string;
    readonly arrivedAt: string;
    readonly timing: FileTiming;
    readonly nowIso: string;
  }): Promise<RegistrationOutcome> {
    const { file, timing, nowIso } = input;
    const key = fileKey(file.partition, file.key);
    const sequencer = normaliseSequencer(input.sequencer);
    const result = await registerRemovedVersion(
      { key: file.key, sequencer },
      this.guardedUpdate(key, (kind) => {
        switch (kind) {
          case "advanceSequencer":
            return new Update().set("sequencer", sequencer).set("updatedAt", nowIso);
          case "tombstone":
            // A removal before its create: the removal's sequencer makes the older create stale.
            return fileIdentity(new Update(), file)
              .set("status", FILE_STATUS.removed)
              .set("size", 0)
              .set("sequencer", sequencer)
              .set("arrivedAt", input.arrivedAt)
              .set("late", timing.late)
              .set("versions", 0)
              .set("updatedAt", nowIso);
          case "markRemoved":
            return (
              new Update()
                .set("status", FILE_STATUS.removed)
                .set("sequencer", sequencer)
                .set("updatedAt", nowIso)
                // Due so the next compaction drops the file's rows (or just clears the mark when
                // none reached the lake).
                .set("dueAt", new Date(timing.dueAtMs).toISOString())
                .set("duePk", DUE_PK)
                .remove("error", "problemPk", "problemSk")
            );
        }
      }),
    );
    return { result };
  }

  async registerRejected(input: {
    readonly version: ObjectVersion;
    readonly reason: string;
    readonly nowIso: string;
  }): Promise<RegistrationOutcome> {
    const { version, reason, nowIso } = input;
    const sequencer = normaliseSequencer(version.sequencer);
    const item = {
      pk: REJECTED_PK,
      sk: fileSk(version.key),
      kind: ITEM_KIND.rejected,
      key: version.key,
      status: FILE_STATUS.rejected,
      reason,
      eTag: version.eTag,
      size: version.size,
      sequencer,
      arrivedAt: version.arrivedAt,
      updatedAt: nowIso,
      problemPk: PROBLEM_PK,
      problemSk: problemSk("rejected", version.arrivedAt, version.key),
    };
    const result = await registerRejectedVersion({ sequencer }, async (write) => {
      const e = new Expression();
      if (await this.table.put(item, condition(write.guard, e), e)) return { ok: true };
      return {
        ok: false,
        current: async () => recordedVersion(await this.table.getItem({ pk: item.pk, sk: item.sk })),
      };
    });
    return { result };
  }

  async markConsumed(
    partition: PartitionId,
    generation: number,
    files: readonly ConsumedFile[],
    nowIso: string,
  ): Promise<void> {
    await mapLimit(files, MARK_CONCURRENCY, (file) => this.markOne(partition, generation, file, nowIso));
  }

  async requeueQuarantined(
    partition: PartitionId,
    key: string,
    dueAt: string,
    nowIso: string,
  ): Promise<boolean> {
    return requeueQuarantinedVersion(
      this.guardedUpdate(fileKey(partition, key), () =>
        new Update()
          .set("status", FILE_STATUS.pending)
          .set("dueAt", dueAt)
          .set("duePk", DUE_PK)
          .set("updatedAt", nowIso)
          .remove("error", "problemPk", "problemSk"),
      ),
    );
  }

  /** ConsumedFile's two branches (core's decideMark): the planned version's mark, or only what the lake holds now. */
  private async markOne(partition: PartitionId, generation: number, file: ConsumedFile, nowIso: string) {
    await markConsumedVersion(
      file,
      generation,
      this.guardedUpdate(fileKey(partition, file.key), (kind) => {
        const u = new Update().set("compactedGeneration", generation).set("updatedAt", nowIso);
        if (kind === "recordLakeVersion") {
          if (file.outcome === "compacted") u.set("compactedETag", file.eTag);
          else u.remove("compactedETag");
          return u.setIfAbsent("dueAt", nowIso).set("duePk", DUE_PK);
        }
        switch (file.outcome) {
          case "compacted":
            return u
              .set("status", FILE_STATUS.compacted)
              .set("compactedETag", file.eTag)
              .set("rows", file.rows)
              .set("badLines", file.badLines)
              .setOrRemove({
                nullHeartbeats: file.nullHeartbeats,
                absurdHeartbeats: file.absurdHeartbeats,
                badLineReasons: file.badLineReasons,
              })
              .remove("dueAt", "duePk", "error", "problemPk", "problemSk");
          case "quarantined":
            return u
              .set("status", FILE_STATUS.quarantined)
              .set("error", file.error ?? "unreadable")
              .set("problemPk", PROBLEM_PK)
              .set("problemSk", problemSk("quarantined", nowIso, file.key))
              .remove(...LAKE_ROWS);
          case "dropped":
            return u.remove(...LAKE_ROWS);
        }
      }),
    );
  }

  /**
   * The store's half of a decision: `build` turns the write into an update, its guard
   * becomes the condition; on a failed condition the item as the service saw it (or as
   * re-read) goes back to the rules.
   */
  private guardedUpdate<K extends VersionWriteKind>(
    key: ItemKey,
    build: (kind: K) => Update,
  ): GuardedWrite<K> {
    return async (write) => {
      const u = build(write.kind);
      const written = await this.table.update(key, u, condition(write.guard, u));
      if (written.ok) return { ok: true };
      return { ok: false, current: async () => recordedVersion(await this.table.currentAfter(written, key)) };
    };
  }
}

/** The attributes that place a file item: its key, partition and hour. */
function fileIdentity(u: Update, file: ParsedRawKey): Update {
  return u
    .set("kind", ITEM_KIND.file)
    .set("key", file.key)
    .set("day", file.partition.day)
    .set("district", file.partition.district)
    .set("deviceId", file.deviceId)
    .set("hourKey", file.hourKey)
    .set("hourStart", new Date(file.hourStartMs).toISOString());
}

/** Core's guard (fileVersions.ts guardHolds) as a condition expression: the same predicate, evaluated by DynamoDB. */
function condition(guard: VersionGuard, e: Expression): string {
  // Named on use: DynamoDB rejects a request that declares a name its expressions do not use.
  const pk = () => e.name("pk");
  const sequencer = () => e.name("sequencer");
  const status = () => e.name("status");
  switch (guard.kind) {
    case "absent":
      return `attribute_not_exists(${pk()})`;
    case "sequencerIs":
      return `${sequencer()} = ${e.value(guard.sequencer)}`;
    case "liveAndOlderThan":
      return (
        `attribute_exists(${pk()}) AND ${sequencer()} < ${e.value(guard.sequencer)} ` +
        `AND ${status()} <> ${e.value(FILE_STATUS.removed)}`
      );
    case "removedAndOlderThan":
      return `${sequencer()} < ${e.value(guard.sequencer)} AND ${status()} = ${e.value(FILE_STATUS.removed)}`;
    case "absentOrOlderThan":
      return `attribute_not_exists(${pk()}) OR ${sequencer()} < ${e.value(guard.sequencer)}`;
    case "asPlanned": {
      const eTag =
        guard.eTag === ""
          ? `attribute_not_exists(${e.name("eTag")})`
          : `${e.name("eTag")} = ${e.value(guard.eTag)}`;
      const sameSequencer =
        guard.sequencer === undefined ? "" : ` AND ${sequencer()} = ${e.value(guard.sequencer)}`;
      const stillDue = guard.stillDue ? ` AND attribute_exists(${e.name("dueAt")})` : "";
      return `${status()} = ${e.value(guard.status)} AND ${eTag}${sameSequencer}${stillDue}`;
    }
    case "compactedGenerationIs":
      return guard.generation === undefined
        ? `attribute_exists(${pk()}) AND attribute_not_exists(${e.name("compactedGeneration")})`
        : `${e.name("compactedGeneration")} = ${e.value(guard.generation)}`;
    case "statusIs":
      return `${status()} = ${e.value(guard.status)}`;
  }
}

/** What the rules read of an item (core's RecordedVersion); undefined when there is none. */
function recordedVersion(item: Item | undefined): RecordedVersion | undefined {
  if (!item) return undefined;
  return {
    status: item.status as FileStatus,
    eTag: item.eTag === undefined ? "" : String(item.eTag),
    sequencer: String(item.sequencer ?? ""),
    ...(item.compactedGeneration === undefined
      ? {}
      : { compactedGeneration: Number(item.compactedGeneration) }),
    ...(item.dueAt === undefined ? {} : { dueAt: String(item.dueAt) }),
  };
}
