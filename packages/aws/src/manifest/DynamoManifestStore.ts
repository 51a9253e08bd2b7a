import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  type ReturnValue,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import {
  CompacterError,
  type ConsumedFile,
  type DistrictSchema,
  type DueEntry,
  type FailingMark,
  FILE_STATUS,
  type FileStatus,
  type FileTiming,
  GenerationConflictError,
  type GenerationRecord,
  type InflightCommit,
  type LakeFile,
  LeaseLostError,
  MANIFEST_INDEX,
  type ManifestStore,
  mapLimit,
  type NarrowColumns,
  normaliseSequencer,
  type ObjectVersion,
  type ParsedRawKey,
  type PartitionId,
  type PartitionSnapshot,
  type PartitionState,
  type PlanKind,
  partitionLabel,
  type RawFileRecord,
  type RegistrationOutcome,
  type RejectedFileRecord,
  type TypeLedger,
} from "@compacter/core";
import { Expression, Update } from "./expressions.js";
import {
  DUE_PK,
  fileSk,
  historyPk,
  historySk,
  ITEM_KIND,
  intentSk,
  LEDGER_PK,
  PROBLEM_PK,
  partitionPk,
  problemSk,
  REJECTED_PK,
  SK,
  schemaPk,
  toDueEntry,
  toGenerationRecord,
  toPartitionState,
  toRawFileRecord,
  toRejectedFileRecord,
  toTypeLedger,
} from "./manifestItems.js";
import { PartitionMarks } from "./PartitionMarks.js";

type Item = Record<string, unknown>;
interface ItemKey {
  readonly pk: string;
  readonly sk: string;
}
type WriteResult =
  | { readonly ok: true; readonly attributes?: Item }
  /** `current` is the item as the failed condition saw it, where the service returns it. */
  | { readonly ok: false; readonly current?: Item };

/**
 * A registration races only with other events for the same key; each lost race is one
 * more event that is now recorded, so a handful of rounds always settles.
 */
const MAX_RACE_ROUNDS = 8;
/** Files marked in parallel by markConsumed. */
const MARK_CONCURRENCY = 16;
/** Partitions this process knows have their partition item (bounded: a long-running worker sees new days forever). */
const MAX_KNOWN_PARTITIONS = 10_000;

export interface DynamoManifestStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
}

/**
 * The manifest on one DynamoDB table (layout: @compacter/core tableSpec.ts; contract:
 * ManifestStore). Every write is a single-item conditional write — no transactions, which
 * the local emulator lacks and which could not carry a partition's files anyway. Reads the
 * compactor decides on are strongly consistent; index reads (due work, problems, partitions
 * of a day) are eventually consistent by DynamoDB's nature and only ever lead to a job that
 * re-reads the base table.
 *
 * A failed condition is told apart (stale vs duplicate, lease lost vs generation moved)
 * from the item the service returns with the failure (`ReturnValuesOnConditionCheckFailure`,
 * one request on AWS) or, where it doesn't (dynalite), from a strongly consistent re-read.
 */
export class DynamoManifestStore implements ManifestStore {
  private readonly client: DynamoDBClient;
  readonly tableName: string;
  private readonly knownPartitions = new Set<string>();
  private readonly ensuring = new Map<string, Promise<void>>();

  private readonly marks: PartitionMarks;

  constructor(options: DynamoManifestStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.marks = new PartitionMarks(options.client, options.tableName);
  }

  // ── Ingest ────────────────────────────────────────────────────────────────────────

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
    await this.ensurePartition(file.partition);
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
        .remove(
          "error",
          "problemPk",
          "problemSk",
          "rows",
          "badLines",
          "badLineReasons",
          "nullHeartbeats",
          "absurdHeartbeats",
        );

    // A new key, the common case: one write.
    const create = newVersion();
    const created = await this.update(key, create, `attribute_not_exists(${create.name("pk")})`);
    if (created.ok) return { result: "registered" };
    let current = await this.currentAfter(created, key);
    for (let round = 0; round < MAX_RACE_ROUNDS; round++) {
      if (!current) {
        const again = newVersion();
        const written = await this.update(key, again, `attribute_not_exists(${again.name("pk")})`);
        if (written.ok) return { result: "registered" };
        current = await this.currentAfter(written, key);
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
      const written = await this.update(key, u, `${u.name("sequencer")} = ${u.value(recorded)}`);
      if (written.ok) return { result: sameContent ? "duplicate" : "replaced" };
      current = await this.currentAfter(written, key);
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
      const written = await this.update(key, u, condition);
      if (written.ok) return { result: "removed" };
      const current = await this.currentAfter(written, key);
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
        if ((await this.update(key, d, stillRemoved)).ok) return { result: "duplicate" };
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
    const written = await this.put(item, condition, e);
    return { result: written ? "rejected" : "stale" };
  }

  // ── Reads ─────────────────────────────────────────────────────────────────────────

  async readPartition(partition: PartitionId): Promise<PartitionSnapshot> {
    // F#… files and the STATE item are adjacent in sort order; intents (C#…) sort before
    // and history lives under its own key, so this one Query reads nothing else.
    const e = new Expression();
    const items = await this.queryAll({
      KeyConditionExpression: `${e.name("pk")} = ${e.value(partitionPk(partition))} AND ${e.name("sk")} BETWEEN ${e.value(SK.filePrefix)} AND ${e.value(SK.state)}`,
      ConsistentRead: true,
      ...e.params(),
    });
    let state: PartitionState | undefined;
    const files: RawFileRecord[] = [];
    for (const item of items) {
      if (item.sk === SK.state) state = toPartitionState(item);
      else if (String(item.sk).startsWith(SK.filePrefix)) files.push(toRawFileRecord(item));
    }
    return { state, files };
  }

  async listFiles(partition: PartitionId, status?: FileStatus): Promise<RawFileRecord[]> {
    const e = new Expression();
    const items = await this.queryAll({
      KeyConditionExpression: `${e.name("pk")} = ${e.value(partitionPk(partition))} AND begins_with(${e.name("sk")}, ${e.value(SK.filePrefix)})`,
      ...(status ? { FilterExpression: `${e.name("status")} = ${e.value(status)}` } : {}),
      ConsistentRead: true,
      ...e.params(),
    });
    return items.map(toRawFileRecord);
  }

  async getFile(partition: PartitionId, key: string): Promise<RawFileRecord | undefined> {
    const item = await this.getItem(fileKey(partition, key));
    return item ? toRawFileRecord(item) : undefined;
  }

  async getPartition(partition: PartitionId): Promise<PartitionState | undefined> {
    const item = await this.getItem(stateKey(partition));
    return item ? toPartitionState(item) : undefined;
  }

  async listPartitionsOfDay(day: string): Promise<PartitionState[]> {
    const e = new Expression();
    const items = await this.queryAll({
      IndexName: MANIFEST_INDEX.byDay,
      KeyConditionExpression: `${e.name("partitionDay")} = ${e.value(day)}`,
      ...e.params(),
    });
    return items.map(toPartitionState);
  }

  async listPartitionsOfDistrict(
    district: string,
    fromDay: string,
    toDay: string,
  ): Promise<PartitionState[]> {
    const e = new Expression();
    const items = await this.queryAll({
      IndexName: MANIFEST_INDEX.byDistrict,
      KeyConditionExpression: `${e.name("partitionDistrict")} = ${e.value(district)} AND ${e.name("partitionDay")} BETWEEN ${e.value(fromDay)} AND ${e.value(toDay)}`,
      ...e.params(),
    });
    return items.map(toPartitionState);
  }

  async listDue(untilIso?: string): Promise<DueEntry[]> {
    const e = new Expression();
    const until = untilIso === undefined ? "" : ` AND ${e.name("dueAt")} <= ${e.value(untilIso)}`;
    const items = await this.queryAll({
      IndexName: MANIFEST_INDEX.due,
      KeyConditionExpression: `${e.name("duePk")} = ${e.value(DUE_PK)}${until}`,
      ...e.params(),
    });
    return items.map(toDueEntry);
  }

  async listProblems(
    status?: "quarantined" | "rejected",
  ): Promise<Array<RawFileRecord | RejectedFileRecord>> {
    const e = new Expression();
    const narrow = status ? ` AND begins_with(${e.name("problemSk")}, ${e.value(`${status}#`)})` : "";
    const items = await this.queryAll({
      IndexName: MANIFEST_INDEX.problems,
      KeyConditionExpression: `${e.name("problemPk")} = ${e.value(PROBLEM_PK)}${narrow}`,
      ScanIndexForward: false,
      ...e.params(),
    });
    // Failing partitions share the index (PartitionMarks); they are listed by listFailing.
    return items
      .filter((item) => item.kind !== ITEM_KIND.partition)
      .map((item) => (item.kind === ITEM_KIND.rejected ? toRejectedFileRecord(item) : toRawFileRecord(item)));
  }

  async listHistory(partition: PartitionId): Promise<GenerationRecord[]> {
    const e = new Expression();
    const items = await this.queryAll({
      KeyConditionExpression: `${e.name("pk")} = ${e.value(historyPk(partition))} AND begins_with(${e.name("sk")}, ${e.value(SK.historyPrefix)})`,
      ConsistentRead: true,
      ...e.params(),
    });
    return items.map(toGenerationRecord);
  }

  // ── Lease ─────────────────────────────────────────────────────────────────────────

  async acquireLease(
    partition: PartitionId,
    owner: string,
    expiresAtMs: number,
    nowMs: number,
  ): Promise<PartitionState | undefined> {
    const u = partitionBaseline(new Update(), partition)
      .set("leaseOwner", owner)
      .set("leaseExpiresAt", expiresAtMs);
    const condition =
      `attribute_not_exists(${u.name("leaseOwner")}) OR ${u.name("leaseExpiresAt")} <= ${u.value(nowMs)} ` +
      `OR ${u.name("leaseOwner")} = ${u.value(owner)}`;
    const written = await this.update(stateKey(partition), u, condition, "ALL_NEW");
    if (!written.ok || !written.attributes) return undefined;
    this.remember(partition);
    return toPartitionState(written.attributes);
  }

  async renewLease(partition: PartitionId, owner: string, expiresAtMs: number): Promise<boolean> {
    const u = new Update().set("leaseExpiresAt", expiresAtMs);
    const written = await this.update(stateKey(partition), u, `${u.name("leaseOwner")} = ${u.value(owner)}`);
    return written.ok;
  }

  async releaseLease(partition: PartitionId, owner: string): Promise<void> {
    const u = new Update().remove("leaseOwner", "leaseExpiresAt");
    await this.update(stateKey(partition), u, `${u.name("leaseOwner")} = ${u.value(owner)}`);
  }

  // ── Commit protocol ───────────────────────────────────────────────────────────────

  async putIntent(record: GenerationRecord): Promise<void> {
    await this.put({
      ...record,
      pk: partitionPk(record.partition),
      sk: intentSk(record.attemptId),
      kind: ITEM_KIND.intent,
    });
  }

  async getIntent(partition: PartitionId, attemptId: string): Promise<GenerationRecord | undefined> {
    const item = await this.getItem({ pk: partitionPk(partition), sk: intentSk(attemptId) });
    return item ? toGenerationRecord(item) : undefined;
  }

  async deleteIntent(partition: PartitionId, attemptId: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({
        TableName: this.tableName,
        Key: marshall({ pk: partitionPk(partition), sk: intentSk(attemptId) }),
      }),
    );
  }

  async listIntents(partition: PartitionId): Promise<GenerationRecord[]> {
    const e = new Expression();
    const items = await this.queryAll({
      KeyConditionExpression: `${e.name("pk")} = ${e.value(partitionPk(partition))} AND begins_with(${e.name("sk")}, ${e.value(SK.intentPrefix)})`,
      ConsistentRead: true,
      ...e.params(),
    });
    return items.map(toGenerationRecord);
  }

  async commitGeneration(input: {
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
    readonly dueAt: string;
    readonly narrowColumns?: NarrowColumns;
  }): Promise<void> {
    const { partition } = input;
    const u = new Update()
      .set("generation", input.expectedGeneration + 1)
      .set("files", input.files)
      .set("rows", input.rows)
      .set("bytes", input.bytes)
      .set("lastPlan", input.plan)
      .set("lastCompactedAt", input.committedAt)
      .set("inflight", input.inflight)
      .set("dueAt", input.dueAt)
      .set("duePk", DUE_PK);
    if (input.narrowColumns !== undefined) u.set("narrowColumns", input.narrowColumns);
    const condition =
      `${u.name("generation")} = ${u.value(input.expectedGeneration)} AND attribute_not_exists(${u.name("inflight")}) ` +
      `AND ${u.name("leaseOwner")} = ${u.value(input.owner)} AND ${u.name("leaseExpiresAt")} > ${u.value(input.nowMs)}`;
    const written = await this.update(stateKey(partition), u, condition);
    if (written.ok) return;
    const current = await this.currentAfter(written, stateKey(partition));
    throw commitFailure(partition, input, current);
  }

  async markConsumed(
    partition: PartitionId,
    generation: number,
    files: readonly ConsumedFile[],
    nowIso: string,
  ): Promise<void> {
    await mapLimit(files, MARK_CONCURRENCY, (file) => this.markOne(partition, generation, file, nowIso));
  }

  async putHistory(record: GenerationRecord): Promise<void> {
    await this.put({
      ...record,
      pk: historyPk(record.partition),
      sk: historySk(record.generation),
      kind: ITEM_KIND.history,
    });
  }

  async finishCommit(partition: PartitionId, attemptId: string, dueAt: string | undefined): Promise<void> {
    const u = new Update().remove("inflight");
    if (dueAt === undefined) u.remove("dueAt", "duePk");
    else u.set("dueAt", dueAt).set("duePk", DUE_PK);
    // Only the commit it belongs to may end it; a repeat after it ended does nothing.
    await this.update(stateKey(partition), u, `${u.name("inflight.attemptId")} = ${u.value(attemptId)}`);
  }

  async setPartitionDue(partition: PartitionId, dueAt: string | undefined): Promise<void> {
    const u = partitionBaseline(new Update(), partition);
    if (dueAt === undefined) u.remove("dueAt", "duePk");
    else u.set("dueAt", dueAt).set("duePk", DUE_PK);
    await this.update(stateKey(partition), u, undefined);
    this.remember(partition);
  }

  // ── Operations ────────────────────────────────────────────────────────────────────

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
    const written = await this.update(
      fileKey(partition, key),
      u,
      `${u.name("status")} = ${u.value(FILE_STATUS.quarantined)}`,
    );
    return written.ok;
  }

  // ── Job bookkeeping (PartitionMarks) ──────────────────────────────────────────────

  markQueued(partition: PartitionId, untilMs: number, nowMs: number): Promise<boolean> {
    return this.marks.markQueued(partition, untilMs, nowMs);
  }

  clearQueued(partition: PartitionId): Promise<void> {
    return this.marks.clearQueued(partition);
  }

  recordFailure(partition: PartitionId, mark: FailingMark, options: { clearQueued: boolean }): Promise<void> {
    return this.marks.recordFailure(partition, mark, options);
  }

  clearFailure(partition: PartitionId): Promise<void> {
    return this.marks.clearFailure(partition);
  }

  listFailing(): Promise<PartitionState[]> {
    return this.marks.listFailing();
  }

  retryFailingNow(partition: PartitionId, nowIso: string): Promise<boolean> {
    return this.marks.retryFailingNow(partition, nowIso);
  }

  // ── Schema ────────────────────────────────────────────────────────────────────────

  async getSchema(district: string): Promise<DistrictSchema | undefined> {
    const item = await this.getItem({ pk: schemaPk(district), sk: SK.schema });
    if (!item) return undefined;
    return {
      district: String(item.district),
      version: Number(item.version),
      columns: item.columns as DistrictSchema["columns"],
    };
  }

  async putSchema(schema: DistrictSchema): Promise<boolean> {
    const e = new Expression();
    const condition =
      schema.version <= 1
        ? `attribute_not_exists(${e.name("pk")})`
        : `${e.name("version")} = ${e.value(schema.version - 1)}`;
    return this.put(
      {
        pk: schemaPk(schema.district),
        sk: SK.schema,
        kind: ITEM_KIND.schema,
        district: schema.district,
        version: schema.version,
        columns: schema.columns,
      },
      condition,
      e,
    );
  }

  // ── Lake-wide type ledger ─────────────────────────────────────────────────────────

  async getLedger(): Promise<TypeLedger | undefined> {
    const item = await this.getItem({ pk: LEDGER_PK, sk: SK.schema });
    return item ? toTypeLedger(item) : undefined;
  }

  async putLedger(ledger: TypeLedger): Promise<boolean> {
    const e = new Expression();
    // The one conditional write of a widening: a writer that raced us re-reads and merges.
    const condition =
      ledger.version <= 1
        ? `attribute_not_exists(${e.name("pk")})`
        : `${e.name("version")} = ${e.value(ledger.version - 1)}`;
    return this.put({ ...ledger, pk: LEDGER_PK, sk: SK.schema, kind: ITEM_KIND.ledger }, condition, e);
  }

  // ── Internals ─────────────────────────────────────────────────────────────────────

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
          .remove(
            "compactedETag",
            "dueAt",
            "duePk",
            "rows",
            "badLines",
            "badLineReasons",
            "nullHeartbeats",
            "absurdHeartbeats",
          );
        break;
      case "dropped":
        u.remove(
          "compactedETag",
          "dueAt",
          "duePk",
          "rows",
          "badLines",
          "badLineReasons",
          "nullHeartbeats",
          "absurdHeartbeats",
        );
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
    const marked = await this.update(key, u, planned);
    if (marked.ok) return;

    // A newer version arrived while the generation was built (or this is a repeat).
    let current = await this.currentAfter(marked, key);
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
      const written = await this.update(key, n, unchanged);
      if (written.ok) return;
      current = await this.currentAfter(written, key);
    }
  }

  /**
   * Creates the partition item (generation 0, no files) the first time a file of the
   * partition is registered, so `manifest partitions` lists a day before its first
   * compaction. Every field is first-writer-wins: this never touches a live partition.
   */
  private async ensurePartition(partition: PartitionId): Promise<void> {
    const label = partitionLabel(partition);
    if (this.knownPartitions.has(label)) return;
    // The messages of a batch register concurrently, mostly into one partition: they share
    // one write instead of each writing the (hot) partition item.
    let pending = this.ensuring.get(label);
    if (!pending) {
      pending = this.update(stateKey(partition), partitionBaseline(new Update(), partition), undefined)
        .then(() => this.remember(partition))
        .finally(() => this.ensuring.delete(label));
      this.ensuring.set(label, pending);
    }
    await pending;
  }

  private remember(partition: PartitionId): void {
    if (this.knownPartitions.size >= MAX_KNOWN_PARTITIONS) this.knownPartitions.clear();
    this.knownPartitions.add(partitionLabel(partition));
  }

  private async update(
    key: ItemKey,
    update: Update,
    condition: string | undefined,
    returnValues?: ReturnValue,
  ): Promise<WriteResult> {
    try {
      const output = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall(key),
          UpdateExpression: update.expression(),
          ...(condition
            ? { ConditionExpression: condition, ReturnValuesOnConditionCheckFailure: "ALL_OLD" }
            : {}),
          ...(returnValues ? { ReturnValues: returnValues } : {}),
          ...update.params(),
        }),
      );
      return { ok: true, ...(output.Attributes ? { attributes: unmarshall(output.Attributes) } : {}) };
    } catch (error) {
      return conditionFailure(error);
    }
  }

  /** Writes a whole item; false when `condition` failed. */
  private async put(item: Item, condition?: string, expression?: Expression): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall(item, { removeUndefinedValues: true, convertClassInstanceToMap: true }),
          ...(condition ? { ConditionExpression: condition } : {}),
          ...(expression ? expression.params() : {}),
        }),
      );
      return true;
    } catch (error) {
      conditionFailure(error);
      return false;
    }
  }

  private async putIfAbsent(item: Item & ItemKey): Promise<boolean> {
    const e = new Expression();
    return this.put(item, `attribute_not_exists(${e.name("pk")})`, e);
  }

  private async getItem(key: ItemKey): Promise<Item | undefined> {
    const output = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall(key), ConsistentRead: true }),
    );
    return output.Item ? unmarshall(output.Item) : undefined;
  }

  /** The item a failed condition saw: returned with the failure on AWS, re-read elsewhere. */
  private async currentAfter(failure: WriteResult, key: ItemKey): Promise<Item | undefined> {
    if (!failure.ok && failure.current) return failure.current;
    return this.getItem(key);
  }

  private async queryAll(input: Omit<QueryCommandInput, "TableName">): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          ...input,
          TableName: this.tableName,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) items.push(unmarshall(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }
}

function fileKey(partition: PartitionId, key: string): ItemKey {
  return { pk: partitionPk(partition), sk: fileSk(key) };
}

function stateKey(partition: PartitionId): ItemKey {
  return { pk: partitionPk(partition), sk: SK.state };
}

/** The attributes every partition item has; set only where absent, so any write may create the item. */
function partitionBaseline(u: Update, partition: PartitionId): Update {
  return u
    .set("kind", ITEM_KIND.partition)
    .set("partitionDay", partition.day)
    .set("partitionDistrict", partition.district)
    .setIfAbsent("generation", 0)
    .setIfAbsent("files", [])
    .setIfAbsent("rows", 0)
    .setIfAbsent("bytes", 0);
}

function isConditionFailure(error: unknown): error is { Item?: Record<string, AttributeValue> } {
  return error instanceof Error && error.name === "ConditionalCheckFailedException";
}

function conditionFailure(error: unknown): WriteResult {
  if (!isConditionFailure(error)) throw error;
  return { ok: false, ...(error.Item ? { current: unmarshall(error.Item) } : {}) };
}

function raceError(key: string): CompacterError {
  return new CompacterError(
    `'${key}' kept changing while it was being registered; the message will be retried`,
    {
      retryable: true,
    },
  );
}

/** Why a commit's condition failed, in the terms the commit protocol branches on. */
function commitFailure(
  partition: PartitionId,
  input: { readonly expectedGeneration: number; readonly owner: string; readonly nowMs: number },
  current: Item | undefined,
): CompacterError {
  const label = partitionLabel(partition);
  if (!current)
    return new LeaseLostError(`${label} has no partition item, so no lease is held; nothing was committed`);
  if (current.leaseOwner !== input.owner) {
    const holder = current.leaseOwner === undefined ? "nobody" : `'${String(current.leaseOwner)}'`;
    return new LeaseLostError(
      `${label}: the lease is held by ${holder}, not '${input.owner}'; nothing was committed`,
    );
  }
  if (Number(current.leaseExpiresAt) <= input.nowMs) {
    return new LeaseLostError(
      `${label}: the lease expired at ${new Date(Number(current.leaseExpiresAt)).toISOString()}; nothing was committed`,
    );
  }
  if (Number(current.generation) !== input.expectedGeneration) {
    return new GenerationConflictError(
      `${label} is at generation ${String(current.generation)}, not ${input.expectedGeneration}: another worker committed first`,
    );
  }
  const inflight = current.inflight as { attemptId?: string } | undefined;
  if (inflight) {
    return new GenerationConflictError(
      `${label} has commit ${String(inflight.attemptId)} in flight; it must be finished before another commit`,
    );
  }
  return new GenerationConflictError(`${label} changed during the commit; plan again`);
}
