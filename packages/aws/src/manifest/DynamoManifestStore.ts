import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type {
  ConsumedFile,
  DistrictSchema,
  DueEntry,
  FailingMark,
  FileStatus,
  GenerationRecord,
  ManifestStore,
  MergeSlice,
  PartitionId,
  PartitionSnapshot,
  PartitionState,
  RawFileRecord,
  RegistrationOutcome,
  RejectedFileRecord,
  SlicedMergePlan,
  SlicedMergeState,
  StagedSlice,
  TypeLedger,
} from "@compacter/core";
import { DynamoTable } from "./DynamoTable.js";
import { FileRecords } from "./FileRecords.js";
import { ManifestReads } from "./ManifestReads.js";
import { PartitionCommits } from "./PartitionCommits.js";
import { PartitionMarks } from "./PartitionMarks.js";
import { SchemaLedger } from "./SchemaLedger.js";
import { SliceItems } from "./SliceItems.js";

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
 *
 * The work is split by responsibility (DynamoTable: item I/O; FileRecords: file items;
 * PartitionCommits: lease and commit; ManifestReads: queries; SchemaLedger: schema and
 * type ledger; PartitionMarks: job bookkeeping) so no part outgrows one reading; this
 * class only composes them behind the ManifestStore contract.
 */
export class DynamoManifestStore implements ManifestStore {
  readonly tableName: string;
  private readonly files: FileRecords;
  private readonly partitions: PartitionCommits;
  private readonly reads: ManifestReads;
  private readonly schemas: SchemaLedger;
  private readonly marks: PartitionMarks;
  private readonly slices: SliceItems;

  constructor(options: DynamoManifestStoreOptions) {
    this.tableName = options.tableName;
    const table = new DynamoTable(options.client, options.tableName);
    this.partitions = new PartitionCommits(table);
    this.files = new FileRecords(table, this.partitions);
    this.reads = new ManifestReads(table);
    this.schemas = new SchemaLedger(table);
    this.marks = new PartitionMarks(options.client, options.tableName);
    this.slices = new SliceItems(table);
  }

  // ── Ingest (FileRecords) ──────────────────────────────────────────────────────────

  registerCreated(input: Parameters<FileRecords["registerCreated"]>[0]): Promise<RegistrationOutcome> {
    return this.files.registerCreated(input);
  }

  registerRemoved(input: Parameters<FileRecords["registerRemoved"]>[0]): Promise<RegistrationOutcome> {
    return this.files.registerRemoved(input);
  }

  registerRejected(input: Parameters<FileRecords["registerRejected"]>[0]): Promise<RegistrationOutcome> {
    return this.files.registerRejected(input);
  }

  // ── Reads (ManifestReads) ─────────────────────────────────────────────────────────

  readPartition(partition: PartitionId): Promise<PartitionSnapshot> {
    return this.reads.readPartition(partition);
  }

  listFiles(partition: PartitionId, status?: FileStatus): Promise<RawFileRecord[]> {
    return this.reads.listFiles(partition, status);
  }

  getFile(partition: PartitionId, key: string): Promise<RawFileRecord | undefined> {
    return this.reads.getFile(partition, key);
  }

  getPartition(partition: PartitionId): Promise<PartitionState | undefined> {
    return this.reads.getPartition(partition);
  }

  listPartitionsOfDay(day: string): Promise<PartitionState[]> {
    return this.reads.listPartitionsOfDay(day);
  }

  listPartitionsOfDistrict(district: string, fromDay: string, toDay: string): Promise<PartitionState[]> {
    return this.reads.listPartitionsOfDistrict(district, fromDay, toDay);
  }

  listDue(untilIso?: string): Promise<DueEntry[]> {
    return this.reads.listDue(untilIso);
  }

  listProblems(status?: "quarantined" | "rejected"): Promise<Array<RawFileRecord | RejectedFileRecord>> {
    return this.reads.listProblems(status);
  }

  listHistory(partition: PartitionId): Promise<GenerationRecord[]> {
    return this.reads.listHistory(partition);
  }

  // ── Lease and commit protocol (PartitionCommits) ──────────────────────────────────

  acquireLease(
    partition: PartitionId,
    owner: string,
    expiresAtMs: number,
    nowMs: number,
  ): Promise<PartitionState | undefined> {
    return this.partitions.acquireLease(partition, owner, expiresAtMs, nowMs);
  }

  renewLease(partition: PartitionId, owner: string, expiresAtMs: number): Promise<boolean> {
    return this.partitions.renewLease(partition, owner, expiresAtMs);
  }

  releaseLease(partition: PartitionId, owner: string): Promise<void> {
    return this.partitions.releaseLease(partition, owner);
  }

  putIntent(record: GenerationRecord): Promise<void> {
    return this.partitions.putIntent(record);
  }

  getIntent(partition: PartitionId, attemptId: string): Promise<GenerationRecord | undefined> {
    return this.partitions.getIntent(partition, attemptId);
  }

  deleteIntent(partition: PartitionId, attemptId: string): Promise<void> {
    return this.partitions.deleteIntent(partition, attemptId);
  }

  listIntents(partition: PartitionId): Promise<GenerationRecord[]> {
    return this.partitions.listIntents(partition);
  }

  commitGeneration(input: Parameters<PartitionCommits["commitGeneration"]>[0]): Promise<void> {
    return this.partitions.commitGeneration(input);
  }

  markConsumed(
    partition: PartitionId,
    generation: number,
    files: readonly ConsumedFile[],
    nowIso: string,
  ): Promise<void> {
    return this.files.markConsumed(partition, generation, files, nowIso);
  }

  putHistory(record: GenerationRecord): Promise<void> {
    return this.partitions.putHistory(record);
  }

  finishCommit(partition: PartitionId, attemptId: string, dueAt: string | undefined): Promise<void> {
    return this.partitions.finishCommit(partition, attemptId, dueAt);
  }

  setPartitionDue(partition: PartitionId, dueAt: string | undefined): Promise<void> {
    return this.partitions.setPartitionDue(partition, dueAt);
  }

  // ── Operations ────────────────────────────────────────────────────────────────────

  requeueQuarantined(partition: PartitionId, key: string, dueAt: string, nowIso: string): Promise<boolean> {
    return this.files.requeueQuarantined(partition, key, dueAt, nowIso);
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

  // ── Schema and lake-wide type ledger (SchemaLedger) ───────────────────────────────

  getSchema(district: string): Promise<DistrictSchema | undefined> {
    return this.schemas.getSchema(district);
  }

  putSchema(schema: DistrictSchema): Promise<boolean> {
    return this.schemas.putSchema(schema);
  }

  getLedger(): Promise<TypeLedger | undefined> {
    return this.schemas.getLedger();
  }

  putLedger(ledger: TypeLedger): Promise<boolean> {
    return this.schemas.putLedger(ledger);
  }

  // ── Sliced merges (SliceItems) ────────────────────────────────────────────────────

  putSlicedMerge(plan: SlicedMergePlan, slices: readonly MergeSlice[]): Promise<void> {
    return this.slices.putSlicedMerge(plan, slices);
  }

  listSlicedMerges(partition: PartitionId): Promise<SlicedMergeState[]> {
    return this.slices.listSlicedMerges(partition);
  }

  claimSlice(
    partition: PartitionId,
    attemptId: string,
    index: number,
    owner: string,
    expiresAtMs: number,
    nowMs: number,
  ): Promise<boolean> {
    return this.slices.claimSlice(partition, attemptId, index, owner, expiresAtMs, nowMs);
  }

  stageSlice(
    partition: PartitionId,
    attemptId: string,
    index: number,
    owner: string,
    staged: StagedSlice,
  ): Promise<boolean> {
    return this.slices.stageSlice(partition, attemptId, index, owner, staged);
  }

  deleteSlicedMerge(partition: PartitionId, attemptId: string): Promise<void> {
    return this.slices.deleteSlicedMerge(partition, attemptId);
  }
}
