import { type AttributeValue, type DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import {
  daysBetween,
  MANIFEST_INDEX,
  type ManifestStore,
  mapLimit,
  type PartitionId,
  type PartitionState,
  samePartition,
} from "@compacter/core";
import type { QueryScope } from "./scope.js";

/**
 * The lake files a query reads: the manifest's current file list of each partition in
 * scope (PartitionState.files, exact at every moment — DESIGN.md "Guarantees"), never a
 * listing of the lake, which can hold both sides of a merge for a moment (the publish window).
 */
export interface SnapshotFile {
  readonly partition: PartitionId;
  /** Where the file lives once published; names it in the cache and the query's Hive tree. */
  readonly lakeKey: string;
  /**
   * Where to read it now: the lake key, or — while its commit is in flight and not yet
   * published (`state.inflight`) — its staging key.
   */
  readonly readKey: string;
  readonly rows: number;
  readonly bytes: number;
}

export interface ManifestSnapshot {
  readonly partitions: readonly PartitionState[];
  readonly files: readonly SnapshotFile[];
}

export interface SnapshotDeps {
  readonly store: ManifestStore;
  /** For the unscoped case only: the byDay index is scanned to find every partition. */
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
}

const READ_CONCURRENCY = 8;

/**
 * Partitions are found through the indexes (eventually consistent), then each state is
 * read again with a strongly consistent GetItem: that read is the snapshot.
 */
export async function takeSnapshot(deps: SnapshotDeps, scope: QueryScope): Promise<ManifestSnapshot> {
  const ids = await findPartitions(deps, scope);
  const states = await mapLimit(ids, READ_CONCURRENCY, (id) => deps.store.getPartition(id));
  const partitions = states
    .filter((s): s is PartitionState => s !== undefined)
    .sort(
      (a, b) =>
        a.partition.day.localeCompare(b.partition.day) ||
        a.partition.district.localeCompare(b.partition.district),
    );
  return { partitions, files: partitions.flatMap(filesOf) };
}

function filesOf(state: PartitionState): SnapshotFile[] {
  // From the commit point on, the file list names the new files; until `finishCommit`
  // clears `inflight` they may still be only in staging. Reading staging is safe either
  // way: it is deleted only after `inflight` is cleared, and a 404 means "take a fresh
  // snapshot" to the caller.
  const staged = new Map(state.inflight?.staged.map((s) => [s.lakeKey, s.stagingKey]) ?? []);
  return state.files.map((file) => ({
    partition: state.partition,
    lakeKey: file.key,
    readKey: staged.get(file.key) ?? file.key,
    rows: file.rows,
    bytes: file.bytes,
  }));
}

async function findPartitions(deps: SnapshotDeps, scope: QueryScope): Promise<PartitionId[]> {
  const { store } = deps;
  const { days, district } = scope;
  if (days && district !== undefined) {
    if (days.from === days.to) return [{ day: days.from, district }];
    return ids(await store.listPartitionsOfDistrict(district, days.from, days.to));
  }
  if (days) {
    const perDay = await mapLimit(daysBetween(days.from, days.to), READ_CONCURRENCY, (day) =>
      store.listPartitionsOfDay(day),
    );
    return ids(perDay.flat());
  }
  if (district !== undefined)
    return ids(await store.listPartitionsOfDistrict(district, "0000-01-01", "9999-12-31"));
  return scanAllPartitions(deps);
}

function ids(states: readonly PartitionState[]): PartitionId[] {
  const unique: PartitionId[] = [];
  for (const { partition } of states)
    if (!unique.some((p) => samePartition(p, partition))) unique.push(partition);
  return unique;
}

/**
 * Every partition, from a Scan of the sparse byDay index: it holds one small item per
 * partition state and nothing else, so this reads no raw-file items.
 */
async function scanAllPartitions(deps: SnapshotDeps): Promise<PartitionId[]> {
  const found: PartitionId[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await deps.dynamodb.send(
      new ScanCommand({
        TableName: deps.tableName,
        IndexName: MANIFEST_INDEX.byDay,
        ProjectionExpression: "#day, #district",
        ExpressionAttributeNames: { "#day": "partitionDay", "#district": "partitionDistrict" },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      const day = item.partitionDay?.S;
      const district = item.partitionDistrict?.S;
      if (day !== undefined && district !== undefined) found.push({ day, district });
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return found;
}
