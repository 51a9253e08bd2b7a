import {
  CompacterError,
  type ConsumedFile,
  FILE_STATUS,
  type FileTiming,
  mapLimit,
  normaliseSequencer,
  type ObjectVersion,
  type ParsedRawKey,
  type PartitionId,
  type RegistrationOutcome,
} from "@compacter/core";
import { type DynamoTable, fileKey, type Item, type ItemKey } from "./DynamoTable.js";
import { Expression, Update } from "./expressions.js";
import { DUE_PK, fileSk, ITEM_KIND, PROBLEM_PK, problemSk, REJECTED_PK } from "./manifestItems.js";
import type { PartitionCommits } from "./PartitionCommits.js";

/**
 * A registration races only with other events for the same key; each lost race is one
 * more event that is now recorded, so a handful of rounds always settles.
 */
const MAX_RACE_ROUNDS = 8;
/** Files marked in parallel by markConsumed. */
const MARK_CONCURRENCY = 16;
/** A file version's counts: they belong to the version whose rows the lake holds, so they go with it. */
const VERSION_COUNTS = ["rows", "badLines", "badLineReasons", "nullHeartbeats", "absurdHeartbeats"] as const;
/** What a file keeps only while its rows are in the lake and it is due; quarantine and drop both clear it. */
const LAKE_ROWS = ["compactedETag", "dueAt", "duePk", ...VERSION_COUNTS] as const;

/**
 * The file items: registration from object events (created, removed, rejected), the marks
 * a commit leaves on the files it consumed, and the operator's requeue. Split out of
 * DynamoManifestStore; the partition item is created through PartitionCommits first.
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
    const newVersion = () =>
      new Update()
        .set("kind", ITEM_KIND.file)
        .set("key", version.key)
        .set("day", file.partition.day)
        .set("district", file.partition.district)
        .set("deviceId", file.deviceId)
        .set("hourKey", file.hourKey)
        .set("hourStart", new Date(file.hourStartMs).toISOString())
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
        .remove("error", "problemPk", "problemSk", ...VERSION_COUNTS);

    // A new key, the common case: one write.
    const create = newVersion();
    const created = await this.table.update(key, create, `attribute_not_exists(${create.name("pk")})`);
    if (created.ok) return { result: "registered" };
    let current = await this.table.currentAfter(created, key);
    for (let round = 0; round < MAX_RACE_ROUNDS; round++) {
      if (!current) {
        const again = newVersion();
        const written = await this.table.update(key, again, `attribute_not_exists(${again.name("pk")})`);
        if (written.ok) return { result: "registered" };
        current = await this.table.currentAfter(written, key);
        continue;
      }
      const recorded = String(current.sequencer);
      if (recorded >= sequencer) return { result: "stale" };
      // The same content again under a newer event only advances the sequencer, so an
      // older event arriving later is still recognised as older. A removed file comes back.
      const sameContent = current.eTag === version.eTag && current.status !== FILE_STATUS.removed;
      const u = sameContent
        ? new Update().set("sequencer", sequencer).set("updatedAt", nowIso)
        : newVersion();
      // Compare-and-set on the sequencer we decided from: every registration moves it, so
      // a race with another event for this key goes round again, while compaction's marks
      // (which leave it alone) may interleave — both orders end in the same state.
      const written = await this.table.update(key, u, `${u.name("sequencer")} = ${u.value(recorded)}`);
      if (written.ok) return { result: sameContent ? "duplicate" : "replaced" };
      current = await this.table.currentAfter(written, key);
    }
    throw raceError(version.key);
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
    for (let round = 0; round < MAX_RACE_ROUNDS; round++) {
      const u = new Update()
        .set("status", FILE_STATUS.removed)
        .set("sequencer", sequencer)
        .set("updatedAt", nowIso)
        // Due so the next compaction drops the file's rows (or just clears the mark when
        // none reached the lake).
        .set("dueAt", new Date(timing.dueAtMs).toISOString())
        .set("duePk", DUE_PK)
        .remove("error", "problemPk", "problemSk");
      const condition =
        `attribute_exists(${u.name("pk")}) AND ${u.name("sequencer")} < ${u.value(sequencer)} ` +
        `AND ${u.name("status")} <> ${u.value(FILE_STATUS.removed)}`;
      const written = await this.table.update(key, u, condition);
      if (written.ok) return { result: "removed" };
      const current = await this.table.currentAfter(written, key);
      if (!current) {
        // Removal before its create (events are not ordered across messages): a tombstone
        // with the removal's sequencer makes the older create stale when it comes.
        const tombstone = {
          ...key,
          kind: ITEM_KIND.file,
          key: file.key,
          day: file.partition.day,
          district: file.partition.district,
          deviceId: file.deviceId,
          hourKey: file.hourKey,
          hourStart: new Date(file.hourStartMs).toISOString(),
          status: FILE_STATUS.removed,
          size: 0,
          sequencer,
          arrivedAt: input.arrivedAt,
          late: timing.late,
          versions: 0,
          updatedAt: nowIso,
        };
        if (await this.putIfAbsent(tombstone)) return { result: "removed" };
        continue;
      }
      if (String(current.sequencer) >= sequencer) return { result: "stale" };
      if (current.status === FILE_STATUS.removed) {
        // Removed twice (S3 reports a DELETE of a missing key too): nothing new to drop.
        const d = new Update().set("sequencer", sequencer).set("updatedAt", nowIso);
        const stillRemoved = `${d.name("sequencer")} < ${d.value(sequencer)} AND ${d.name("status")} = ${d.value(FILE_STATUS.removed)}`;
        if ((await this.table.update(key, d, stillRemoved)).ok) return { result: "duplicate" };
      }
    }
    throw raceError(file.key);
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
    const e = new Expression();
    const condition = `attribute_not_exists(${e.name("pk")}) OR ${e.name("sequencer")} < ${e.value(sequencer)}`;
    const written = await this.table.put(item, condition, e);
    return { result: written ? "rejected" : "stale" };
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
    const u = new Update()
      .set("status", FILE_STATUS.pending)
      .set("dueAt", dueAt)
      .set("duePk", DUE_PK)
      .set("updatedAt", nowIso)
      .remove("error", "problemPk", "problemSk");
    const written = await this.table.update(
      fileKey(partition, key),
      u,
      `${u.name("status")} = ${u.value(FILE_STATUS.quarantined)}`,
    );
    return written.ok;
  }

  /**
   * ConsumedFile's two branches (see its doc in @compacter/core model.ts): mark exactly the
   * version the plan read; if a newer one arrived meanwhile, only record which rows the
   * lake holds now and keep the file due.
   */
  private async markOne(partition: PartitionId, generation: number, file: ConsumedFile, nowIso: string) {
    const key = fileKey(partition, file.key);
    const u = new Update().set("compactedGeneration", generation).set("updatedAt", nowIso);
    switch (file.outcome) {
      case "compacted":
        u.set("status", FILE_STATUS.compacted)
          .set("compactedETag", file.eTag)
          .set("rows", file.rows)
          .set("badLines", file.badLines)
          .setOrRemove({
            nullHeartbeats: file.nullHeartbeats,
            absurdHeartbeats: file.absurdHeartbeats,
            badLineReasons: file.badLineReasons,
          })
          .remove("dueAt", "duePk", "error", "problemPk", "problemSk");
        break;
      case "quarantined":
        u.set("status", FILE_STATUS.quarantined)
          .set("error", file.error ?? "unreadable")
          .set("problemPk", PROBLEM_PK)
          .set("problemSk", problemSk("quarantined", nowIso, file.key))
          .remove(...LAKE_ROWS);
        break;
      case "dropped":
        u.remove(...LAKE_ROWS);
        break;
    }
    const sameETag =
      file.eTag === ""
        ? `attribute_not_exists(${u.name("eTag")})`
        : `${u.name("eTag")} = ${u.value(file.eTag)}`;
    const sameSequencer =
      file.plannedStatus === FILE_STATUS.removed
        ? ` AND ${u.name("sequencer")} = ${u.value(normaliseSequencer(file.sequencer))}`
        : "";
    // A dropped file keeps its status, so only its due mark tells a repeat from the first mark.
    const stillDue = file.outcome === "dropped" ? ` AND attribute_exists(${u.name("dueAt")})` : "";
    const planned = `${u.name("status")} = ${u.value(file.plannedStatus)} AND ${sameETag}${sameSequencer}${stillDue}`;
    const marked = await this.table.update(key, u, planned);
    if (marked.ok) return;

    // A newer version arrived while the generation was built (or this is a repeat).
    let current = await this.table.currentAfter(marked, key);
    for (let round = 0; round < MAX_RACE_ROUNDS && current; round++) {
      const recorded =
        current.compactedGeneration === undefined ? undefined : Number(current.compactedGeneration);
      if (recorded !== undefined && recorded >= generation) return; // already recorded: a repeat
      const n = new Update().set("compactedGeneration", generation).set("updatedAt", nowIso);
      if (file.outcome === "compacted") n.set("compactedETag", file.eTag);
      else n.remove("compactedETag");
      n.setIfAbsent("dueAt", nowIso).set("duePk", DUE_PK);
      const unchanged =
        recorded === undefined
          ? `attribute_exists(${n.name("pk")}) AND attribute_not_exists(${n.name("compactedGeneration")})`
          : `${n.name("compactedGeneration")} = ${n.value(recorded)}`;
      const written = await this.table.update(key, n, unchanged);
      if (written.ok) return;
      current = await this.table.currentAfter(written, key);
    }
  }

  private async putIfAbsent(item: Item & ItemKey): Promise<boolean> {
    const e = new Expression();
    return this.table.put(item, `attribute_not_exists(${e.name("pk")})`, e);
  }
}

function raceError(key: string): CompacterError {
  return new CompacterError(
    `'${key}' kept changing while it was being registered; the message will be retried`,
    {
      retryable: true,
    },
  );
}
