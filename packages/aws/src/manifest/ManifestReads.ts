import {
  type DueEntry,
  type FileStatus,
  type GenerationRecord,
  MANIFEST_INDEX,
  type PartitionId,
  type PartitionSnapshot,
  type PartitionState,
  type RawFileRecord,
  type RejectedFileRecord,
} from "@compacter/core";
import { type DynamoTable, fileKey, stateKey } from "./DynamoTable.js";
import { Expression } from "./expressions.js";
import {
  DUE_PK,
  historyPk,
  ITEM_KIND,
  PROBLEM_PK,
  partitionPk,
  SK,
  toDueEntry,
  toGenerationRecord,
  toPartitionState,
  toRawFileRecord,
  toRejectedFileRecord,
} from "./manifestItems.js";

/**
 * The manifest's read side: a partition's files and state, the index queries (due work,
 * problems, partitions of a day or district) and generation history. Nothing here writes;
 * split out of DynamoManifestStore, which delegates here.
 */
export class ManifestReads {
  constructor(private readonly table: DynamoTable) {}

  async readPartition(partition: PartitionId): Promise<PartitionSnapshot> {
    // F#… files and the STATE item are adjacent in sort order; intents (C#…) sort before
    // and history lives under its own key, so this one Query reads nothing else.
    const e = new Expression();
    const items = await this.table.queryAll({
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
    const items = await this.table.queryAll({
      KeyConditionExpression: `${e.name("pk")} = ${e.value(partitionPk(partition))} AND begins_with(${e.name("sk")}, ${e.value(SK.filePrefix)})`,
      ...(status ? { FilterExpression: `${e.name("status")} = ${e.value(status)}` } : {}),
      ConsistentRead: true,
      ...e.params(),
    });
    return items.map(toRawFileRecord);
  }

  async getFile(partition: PartitionId, key: string): Promise<RawFileRecord | undefined> {
    const item = await this.table.getItem(fileKey(partition, key));
    return item ? toRawFileRecord(item) : undefined;
  }

  async getPartition(partition: PartitionId): Promise<PartitionState | undefined> {
    const item = await this.table.getItem(stateKey(partition));
    return item ? toPartitionState(item) : undefined;
  }

  async listPartitionsOfDay(day: string): Promise<PartitionState[]> {
    const e = new Expression();
    const items = await this.table.queryAll({
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
    const items = await this.table.queryAll({
      IndexName: MANIFEST_INDEX.byDistrict,
      KeyConditionExpression: `${e.name("partitionDistrict")} = ${e.value(district)} AND ${e.name("partitionDay")} BETWEEN ${e.value(fromDay)} AND ${e.value(toDay)}`,
      ...e.params(),
    });
    return items.map(toPartitionState);
  }

  async listDue(untilIso?: string): Promise<DueEntry[]> {
    const e = new Expression();
    const until = untilIso === undefined ? "" : ` AND ${e.name("dueAt")} <= ${e.value(untilIso)}`;
    const items = await this.table.queryAll({
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
    const items = await this.table.queryAll({
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
    const items = await this.table.queryAll({
      KeyConditionExpression: `${e.name("pk")} = ${e.value(historyPk(partition))} AND begins_with(${e.name("sk")}, ${e.value(SK.historyPrefix)})`,
      ConsistentRead: true,
      ...e.params(),
    });
    return items.map(toGenerationRecord);
  }
}
