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
import type { PartitionId } from "@compacter/core";
import type { Expression, Update } from "./expressions.js";
import { fileSk, partitionPk, SK } from "./manifestItems.js";

export type Item = Record<string, unknown>;
export interface ItemKey {
  readonly pk: string;
  readonly sk: string;
}
export type WriteResult =
  | { readonly ok: true; readonly attributes?: Item }
  /** `current` is the item as the failed condition saw it, where the service returns it. */
  | { readonly ok: false; readonly current?: Item };

/**
 * Item I/O on the manifest table, shared by the store's parts (FileRecords, PartitionCommits,
 * ManifestReads, SchemaLedger) so each speaks in conditions and items, not SDK commands.
 * A failed condition is a result, never an exception: callers branch on it.
 */
export class DynamoTable {
  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
  ) {}

  async update(
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
  async put(item: Item, condition?: string, expression?: Expression): Promise<boolean> {
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

  async delete(key: ItemKey): Promise<void> {
    await this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: marshall(key) }));
  }

  async getItem(key: ItemKey): Promise<Item | undefined> {
    const output = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall(key), ConsistentRead: true }),
    );
    return output.Item ? unmarshall(output.Item) : undefined;
  }

  /** The item a failed condition saw: returned with the failure on AWS, re-read elsewhere. */
  async currentAfter(failure: WriteResult, key: ItemKey): Promise<Item | undefined> {
    if (!failure.ok && failure.current) return failure.current;
    return this.getItem(key);
  }

  async queryAll(input: Omit<QueryCommandInput, "TableName">): Promise<Item[]> {
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

export function fileKey(partition: PartitionId, key: string): ItemKey {
  return { pk: partitionPk(partition), sk: fileSk(key) };
}

export function stateKey(partition: PartitionId): ItemKey {
  return { pk: partitionPk(partition), sk: SK.state };
}

function isConditionFailure(error: unknown): error is { Item?: Record<string, AttributeValue> } {
  return error instanceof Error && error.name === "ConditionalCheckFailedException";
}

function conditionFailure(error: unknown): WriteResult {
  if (!isConditionFailure(error)) throw error;
  return { ok: false, ...(error.Item ? { current: unmarshall(error.Item) } : {}) };
}
