import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { CapacityUnits } from "./tasks/types.js";

/**
 * What the clients' request counts (packages/aws clients.ts) do not say: DynamoDB
 * capacity units and idle SQS polls. Both are read with middleware added here, so the
 * adapters stay as they are.
 */
interface Stack {
  add(
    middleware: (
      next: (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>,
      context: { commandName?: string },
    ) => (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>,
    options: { step: "initialize" | "deserialize"; name: string },
  ): void;
}

const DYNAMO_WRITES = new Set(["PutItemCommand", "UpdateItemCommand", "DeleteItemCommand"]);
const DYNAMO_READS = new Set(["GetItemCommand", "QueryCommand"]);

/**
 * Asks DynamoDB for ConsumedCapacity on every item read and write and adds it up. The
 * emulator (dynalite) reports the table's units only; index writes are estimated from the
 * manifest's layout (tableSpec.ts): a raw file's item enters the due index when registered
 * and leaves it when marked (one index write each time it is written), and the partition
 * item is projected whole into byDay and byDistrict (twice its units) plus the due index
 * when a write touches `duePk`. A write whose condition fails still costs one unit on AWS.
 */
export function meterDynamoCapacity(client: DynamoDBClient): () => CapacityUnits {
  const totals = { tableWrite: 0, tableRead: 0, indexWriteEstimate: 0 };
  const stack = (client as unknown as { middlewareStack: Stack }).middlewareStack;
  stack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? "";
      if (DYNAMO_WRITES.has(name) || DYNAMO_READS.has(name)) args.input.ReturnConsumedCapacity = "TOTAL";
      try {
        const result = await next(args);
        const units = Number(
          (result.output.ConsumedCapacity as { CapacityUnits?: number } | undefined)?.CapacityUnits ?? 0,
        );
        if (DYNAMO_READS.has(name)) totals.tableRead += units;
        if (DYNAMO_WRITES.has(name)) {
          totals.tableWrite += units;
          totals.indexWriteEstimate += indexWrites(args.input, units);
        }
        return result;
      } catch (error) {
        if ((error as Error).name === "ConditionalCheckFailedException") totals.tableWrite += 1;
        throw error;
      }
    },
    { step: "initialize", name: "benchCapacityMeter" },
  );
  return () => ({ ...totals });
}

function indexWrites(input: Record<string, unknown>, units: number): number {
  const key = (input.Key ?? input.Item) as Record<string, { S?: string }> | undefined;
  const pk = key?.pk?.S ?? "";
  const sk = key?.sk?.S ?? "";
  if (!pk.startsWith("P#")) return 0;
  if (sk.startsWith("F#")) return 1;
  if (sk !== "STATE") return 0;
  const names = Object.values((input.ExpressionAttributeNames ?? {}) as Record<string, string>);
  return 2 * units + (names.includes("duePk") ? 1 : 0);
}

/** Counts ReceiveMessage calls that brought no message back (idle or cancelled long polls). */
export function meterEmptyReceives(client: SQSClient): () => number {
  let empty = 0;
  const stack = (client as unknown as { middlewareStack: Stack }).middlewareStack;
  stack.add(
    (next, context) => async (args) => {
      if (context.commandName !== "ReceiveMessageCommand") return next(args);
      try {
        const result = await next(args);
        if (((result.output.Messages as unknown[] | undefined) ?? []).length === 0) empty += 1;
        return result;
      } catch (error) {
        empty += 1;
        throw error;
      }
    },
    { step: "initialize", name: "benchEmptyReceiveMeter" },
  );
  return () => empty;
}

/** Per-operation counts that accumulated between two snapshots. */
export function countsSince(
  before: Readonly<Record<string, number>>,
  after: Readonly<Record<string, number>>,
): Record<string, number> {
  const diff: Record<string, number> = {};
  for (const [op, n] of Object.entries(after)) {
    const d = n - (before[op] ?? 0);
    if (d > 0) diff[op] = d;
  }
  return diff;
}

export function addCounts(into: Record<string, number>, more: Readonly<Record<string, number>>): void {
  for (const [op, n] of Object.entries(more)) into[op] = (into[op] ?? 0) + n;
}
