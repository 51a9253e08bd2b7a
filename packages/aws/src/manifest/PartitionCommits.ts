import {
  commitRefusal,
  GenerationConflictError,
  type GenerationRecord,
  type InflightCommit,
  type LakeFile,
  type NarrowColumns,
  type PartitionId,
  type PartitionState,
  type PlanKind,
  partitionLabel,
} from "@compacter/core";
import { type DynamoTable, stateKey } from "./DynamoTable.js";
import { Expression, Update } from "./expressions.js";
import {
  DUE_PK,
  historyPk,
  historySk,
  ITEM_KIND,
  intentSk,
  partitionPk,
  SK,
  toGenerationRecord,
  toPartitionState,
} from "./manifestItems.js";

/** Partitions this process knows have their partition item (bounded: a long-running worker sees new days forever). */
const MAX_KNOWN_PARTITIONS = 10_000;

/**
 * The partition item and its commit protocol: lease, intents, the generation commit,
 * history and the due mark — plus the partition item's creation on first registration,
 * which FileRecords calls before writing a file. Split out of DynamoManifestStore so
 * each part stays readable; the store delegates here. The rules are @compacter/core's
 * (manifest/partitionRules.ts); each condition below is one of them encoded for DynamoDB,
 * so it is checked atomically with the write.
 */
export class PartitionCommits {
  private readonly knownPartitions = new Set<string>();
  private readonly ensuring = new Map<string, Promise<void>>();

  constructor(private readonly table: DynamoTable) {}

  async acquireLease(
    partition: PartitionId,
    owner: string,
    expiresAtMs: number,
    nowMs: number,
  ): Promise<PartitionState | undefined> {
    const u = partitionBaseline(new Update(), partition)
      .set("leaseOwner", owner)
      .set("leaseExpiresAt", expiresAtMs);
    // canTakeLease
    const condition =
      `attribute_not_exists(${u.name("leaseOwner")}) OR ${u.name("leaseExpiresAt")} <= ${u.value(nowMs)} ` +
      `OR ${u.name("leaseOwner")} = ${u.value(owner)}`;
    const written = await this.table.update(stateKey(partition), u, condition, "ALL_NEW");
    if (!written.ok || !written.attributes) return undefined;
    this.remember(partition);
    return toPartitionState(written.attributes);
  }

  async renewLease(partition: PartitionId, owner: string, expiresAtMs: number): Promise<boolean> {
    const u = new Update().set("leaseExpiresAt", expiresAtMs);
    // holdsLease
    const written = await this.table.update(
      stateKey(partition),
      u,
      `${u.name("leaseOwner")} = ${u.value(owner)}`,
    );
    return written.ok;
  }

  async releaseLease(partition: PartitionId, owner: string): Promise<void> {
    const u = new Update().remove("leaseOwner", "leaseExpiresAt");
    // holdsLease
    await this.table.update(stateKey(partition), u, `${u.name("leaseOwner")} = ${u.value(owner)}`);
  }

  async putIntent(record: GenerationRecord): Promise<void> {
    await this.table.put({
      ...record,
      pk: partitionPk(record.partition),
      sk: intentSk(record.attemptId),
      kind: ITEM_KIND.intent,
    });
  }

  async getIntent(partition: PartitionId, attemptId: string): Promise<GenerationRecord | undefined> {
    const item = await this.table.getItem({ pk: partitionPk(partition), sk: intentSk(attemptId) });
    return item ? toGenerationRecord(item) : undefined;
  }

  async deleteIntent(partition: PartitionId, attemptId: string): Promise<void> {
    await this.table.delete({ pk: partitionPk(partition), sk: intentSk(attemptId) });
  }

  async listIntents(partition: PartitionId): Promise<GenerationRecord[]> {
    const e = new Expression();
    const items = await this.table.queryAll({
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
    // commitRefusal(...) === undefined
    const condition =
      `${u.name("generation")} = ${u.value(input.expectedGeneration)} AND attribute_not_exists(${u.name("inflight")}) ` +
      `AND ${u.name("leaseOwner")} = ${u.value(input.owner)} AND ${u.name("leaseExpiresAt")} > ${u.value(input.nowMs)}`;
    const written = await this.table.update(stateKey(partition), u, condition);
    if (written.ok) return;
    const current = await this.table.currentAfter(written, stateKey(partition));
    // Told apart from the item the failed condition saw; if that item would have allowed
    // the commit, it changed in between (the condition saw another state): plan again.
    throw (
      commitRefusal(partition, current ? toPartitionState(current) : undefined, input) ??
      new GenerationConflictError(`${partitionLabel(partition)} changed during the commit; plan again`)
    );
  }

  async putHistory(record: GenerationRecord): Promise<void> {
    await this.table.put({
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
    // canFinishCommit: only the commit it belongs to may end it; a repeat after it ended does nothing.
    await this.table.update(
      stateKey(partition),
      u,
      `${u.name("inflight.attemptId")} = ${u.value(attemptId)}`,
    );
  }

  async setPartitionDue(partition: PartitionId, dueAt: string | undefined): Promise<void> {
    const u = partitionBaseline(new Update(), partition);
    if (dueAt === undefined) u.remove("dueAt", "duePk");
    else u.set("dueAt", dueAt).set("duePk", DUE_PK);
    await this.table.update(stateKey(partition), u, undefined);
    this.remember(partition);
  }

  /**
   * Creates the partition item (generation 0, no files) the first time a file of the
   * partition is registered, so `manifest partitions` lists a day before its first
   * compaction. Every field is first-writer-wins: this never touches a live partition.
   */
  async ensurePartition(partition: PartitionId): Promise<void> {
    const label = partitionLabel(partition);
    if (this.knownPartitions.has(label)) return;
    // The messages of a batch register concurrently, mostly into one partition: they share
    // one write instead of each writing the (hot) partition item.
    let pending = this.ensuring.get(label);
    if (!pending) {
      pending = this.table
        .update(stateKey(partition), partitionBaseline(new Update(), partition), undefined)
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
