import {
  type AttributeValue,
  type DynamoDBClient,
  QueryCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { type FailingMark, MANIFEST_INDEX, type PartitionId, type PartitionState } from "@compacter/core";
import { Expression, Update } from "./expressions.js";
import { ITEM_KIND, PROBLEM_PK, partitionPk, SK, toPartitionState } from "./manifestItems.js";

/**
 * The partition item's job bookkeeping: the sweep's queued mark and the failing mark
 * (decided in @compacter/core compaction/failures.ts; this only writes, with conditions).
 * A failing partition carries `problemPk`/`problemSk = "failing#{since}#{day}#{district}"`,
 * so the problems index lists failing partitions next to quarantined and rejected files —
 * one Query, or a COUNT for an alarm (docs/manifest.md).
 */
export const FAILING_PROBLEM_PREFIX = "failing#";

export class PartitionMarks {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async markQueued(partition: PartitionId, untilMs: number, nowMs: number): Promise<boolean> {
    const u = new Update().set("queuedUntil", untilMs);
    // core's canMarkQueued. Only an existing partition item: the sweep learns of a partition from its due files,
    // whose registration created it; a mark must never create a half item.
    const condition =
      `attribute_exists(${u.name("pk")}) AND ` +
      `(attribute_not_exists(${u.name("queuedUntil")}) OR ${u.name("queuedUntil")} <= ${u.value(nowMs)})`;
    return this.update(partition, u, condition);
  }

  async clearQueued(partition: PartitionId): Promise<void> {
    const u = new Update().remove("queuedUntil");
    await this.update(partition, u, `attribute_exists(${u.name("queuedUntil")})`);
  }

  async recordFailure(
    partition: PartitionId,
    mark: FailingMark,
    options: { clearQueued: boolean },
  ): Promise<void> {
    const u = new Update()
      .set("failing", mark)
      .set("problemPk", PROBLEM_PK)
      .set("problemSk", `${FAILING_PROBLEM_PREFIX}${mark.since}#${partition.day}#${partition.district}`);
    if (options.clearQueued) u.remove("queuedUntil");
    await this.update(partition, u, `attribute_exists(${u.name("pk")})`);
  }

  async clearFailure(partition: PartitionId): Promise<void> {
    const u = new Update().remove("failing", "queuedUntil", "problemPk", "problemSk");
    // A conditional no-op for the common case (nothing to clear) rather than a rewrite of the item.
    await this.update(
      partition,
      u,
      `attribute_exists(${u.name("failing")}) OR attribute_exists(${u.name("queuedUntil")})`,
    );
  }

  async listFailing(): Promise<PartitionState[]> {
    const e = new Expression();
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: MANIFEST_INDEX.problems,
          KeyConditionExpression: `${e.name("problemPk")} = ${e.value(PROBLEM_PK)} AND begins_with(${e.name("problemSk")}, ${e.value(FAILING_PROBLEM_PREFIX)})`,
          ...e.params(),
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) items.push(unmarshall(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items.filter((item) => item.kind === ITEM_KIND.partition).map(toPartitionState);
  }

  async retryFailingNow(partition: PartitionId, nowIso: string): Promise<boolean> {
    const u = new Update().set("failing.nextRetryAt", nowIso).remove("queuedUntil");
    return this.update(partition, u, `attribute_exists(${u.name("failing")})`);
  }

  /** One conditional UpdateItem on the partition item; false when the condition failed. */
  private async update(partition: PartitionId, u: Update, condition: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: partitionPk(partition), sk: SK.state }),
          UpdateExpression: u.expression(),
          ConditionExpression: condition,
          ...u.params(),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === "ConditionalCheckFailedException") return false;
      throw error;
    }
  }
}
