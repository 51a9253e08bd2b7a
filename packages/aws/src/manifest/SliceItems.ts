import type {
  MergeSlice,
  PartitionId,
  SlicedMergePlan,
  SlicedMergeState,
  StagedSlice,
} from "@compacter/core";
import type { DynamoTable, Item } from "./DynamoTable.js";
import { Expression, Update } from "./expressions.js";
import { partitionPk } from "./manifestItems.js";

/**
 * The items of sliced merges (core: manifest/slicedMerge.ts), in the partition's item
 * collection: `W#{attemptId}` is the plan, `W#{attemptId}#{index}` a slice. "W#" sorts
 * after "STATE", so the partition read (F#… to STATE) never reads them.
 */
const SLICE_PREFIX = "W#";

function planSk(attemptId: string): string {
  return `${SLICE_PREFIX}${attemptId}`;
}

function sliceSk(attemptId: string, index: number): string {
  return `${SLICE_PREFIX}${attemptId}#${String(index).padStart(5, "0")}`;
}

export class SliceItems {
  constructor(private readonly table: DynamoTable) {}

  async putSlicedMerge(plan: SlicedMergePlan, slices: readonly MergeSlice[]): Promise<void> {
    const pk = partitionPk(plan.partition);
    for (const slice of slices) {
      await this.table.put({ ...slice, pk, sk: sliceSk(plan.attemptId, slice.index), kind: "slice" });
    }
    await this.table.put({ ...plan, pk, sk: planSk(plan.attemptId), kind: "slicedMerge" });
  }

  async listSlicedMerges(partition: PartitionId): Promise<SlicedMergeState[]> {
    const e = new Expression();
    const items = await this.table.queryAll({
      KeyConditionExpression: `${e.name("pk")} = ${e.value(partitionPk(partition))} AND begins_with(${e.name("sk")}, ${e.value(SLICE_PREFIX)})`,
      ConsistentRead: true,
      ...e.params(),
    });
    const merges = new Map<string, { plan?: SlicedMergePlan; slices: MergeSlice[] }>();
    for (const item of items) {
      const [attemptId = "", index] = String(item.sk).slice(SLICE_PREFIX.length).split("#");
      let merge = merges.get(attemptId);
      if (!merge) {
        merge = { slices: [] };
        merges.set(attemptId, merge);
      }
      if (index === undefined) merge.plan = withoutKeys(item) as unknown as SlicedMergePlan;
      else merge.slices.push(withoutKeys(item) as unknown as MergeSlice);
    }
    return [...merges].map(([attemptId, m]) => ({
      attemptId,
      ...(m.plan ? { plan: m.plan } : {}),
      slices: m.slices.sort((a, b) => a.index - b.index),
    }));
  }

  /** Encodes core's maySliceBeClaimed (manifest/slicedMerge.ts) as the write's condition. */
  async claimSlice(
    partition: PartitionId,
    attemptId: string,
    index: number,
    owner: string,
    expiresAtMs: number,
    nowMs: number,
  ): Promise<boolean> {
    const u = new Update().set("claimedBy", owner).set("claimExpiresAt", expiresAtMs);
    const condition = `attribute_exists(${u.name("sk")}) AND attribute_not_exists(${u.name("staged")}) AND (attribute_not_exists(${u.name("claimedBy")}) OR ${u.name("claimExpiresAt")} < ${u.value(nowMs)} OR ${u.name("claimedBy")} = ${u.value(owner)})`;
    const written = await this.table.update(
      { pk: partitionPk(partition), sk: sliceSk(attemptId, index) },
      u,
      condition,
    );
    return written.ok;
  }

  /** Encodes core's maySliceBeStaged as the write's condition. */
  async stageSlice(
    partition: PartitionId,
    attemptId: string,
    index: number,
    owner: string,
    staged: StagedSlice,
  ): Promise<boolean> {
    const u = new Update().set("staged", staged).remove("claimExpiresAt");
    const condition = `attribute_not_exists(${u.name("staged")}) AND ${u.name("claimedBy")} = ${u.value(owner)}`;
    const written = await this.table.update(
      { pk: partitionPk(partition), sk: sliceSk(attemptId, index) },
      u,
      condition,
    );
    return written.ok;
  }

  async deleteSlicedMerge(partition: PartitionId, attemptId: string): Promise<void> {
    const pk = partitionPk(partition);
    await this.table.delete({ pk, sk: planSk(attemptId) });
    const merge = (await this.listSlicedMerges(partition)).find((m) => m.attemptId === attemptId);
    for (const slice of merge?.slices ?? [])
      await this.table.delete({ pk, sk: sliceSk(attemptId, slice.index) });
  }
}

function withoutKeys(item: Item): Item {
  const { pk: _pk, sk: _sk, kind: _kind, ...rest } = item;
  return rest;
}
