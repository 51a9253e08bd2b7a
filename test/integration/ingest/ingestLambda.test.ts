import { PutObjectCommand } from "@aws-sdk/client-s3";
import { DeleteMessageCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { DEAD_LETTER_ATTRIBUTE, DeadLetters, DynamoManifestStore } from "@compacter/aws";
import { CompacterError, createLogger, type ManifestStore } from "@compacter/core";
import type { LocalResources } from "@compacter/local";
import type { SQSEvent } from "aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { createIngestHandler, handler } from "../../../packages/functions/src/ingest.js";
import { useLocalStack } from "../../helpers/localStack.js";
import { sqsEvent } from "../../helpers/sqsEvent.js";

const stack = useLocalStack();
let resources: LocalResources;
let store: DynamoManifestStore;

const KEY = "BRCB/SLS30I001/2025121209/2025121209.txt.gz";

beforeAll(async () => {
  resources = await stack.createResources("ingest-lambda");
  store = new DynamoManifestStore({ client: stack.clients.dynamodb, tableName: resources.manifestTable });
});

/** The bridge's real notification for a put, taken off the queue to hand to the function. */
async function notificationFor(key: string): Promise<string> {
  await stack.clients.s3.send(new PutObjectCommand({ Bucket: resources.rawBucket, Key: key, Body: key }));
  for (;;) {
    const { Messages = [] } = await stack.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: resources.ingestQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
      }),
    );
    for (const m of Messages) {
      await stack.clients.sqs.send(
        new DeleteMessageCommand({ QueueUrl: resources.ingestQueueUrl, ReceiptHandle: m.ReceiptHandle }),
      );
      if (m.Body?.includes(encodeURIComponent(key.split("/")[1] ?? ""))) return m.Body;
    }
  }
}

/** The ingest queue's event for these message bodies (messageId → body). */
function ingestEvent(bodies: Record<string, string>): SQSEvent {
  return sqsEvent(
    Object.entries(bodies).map(([messageId, body]) => ({ messageId, body })),
    { queueArn: resources.ingestQueueArn, region: stack.region },
  );
}

describe("the ingest Lambda handler", () => {
  it("registers good messages and moves garbage to the DLQ without reporting it as a failure", async () => {
    const good = await notificationFor(KEY);
    // The deployed entry point: configuration from the environment, the DLQ from the
    // event source queue's redrive policy (no COMPACTER_INGEST_DLQ_URL).
    Object.assign(process.env, stack.env(resources), { COMPACTER_LOG_LEVEL: "silent" });
    delete process.env.COMPACTER_INGEST_DLQ_URL;
    delete process.env.COMPACTER_INGEST_QUEUE_URL;

    const response = await handler(ingestEvent({ "m-good": good, "m-garbage": "<xml>not an event</xml>" }));
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await store.getFile({ day: "2025-12-12", district: "BRCB" }, KEY)).toMatchObject({
      status: "pending",
    });

    const { Messages = [] } = await stack.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: resources.ingestDlqUrl,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ["All"],
      }),
    );
    expect(
      Messages.map((m) => [
        m.Body,
        m.MessageAttributes?.[DEAD_LETTER_ATTRIBUTE.sourceMessageId]?.StringValue,
      ]),
    ).toEqual([["<xml>not an event</xml>", "m-garbage"]]);
  });

  it("reports only retryable failures in batchItemFailures", async () => {
    const good = await notificationFor("BRCB/SLS30I002/2025121209/2025121209.txt.gz");
    const failing = await notificationFor("BRCB/SLS30I003/2025121209/2025121209.txt.gz");
    const flaky = new Proxy(store, {
      get(target, property, receiver) {
        if (property === "registerCreated") {
          return async (input: Parameters<ManifestStore["registerCreated"]>[0]) => {
            if (input.file.deviceId === "SLS30I003") {
              throw new CompacterError("ProvisionedThroughputExceeded (injected)", { retryable: true });
            }
            return target.registerCreated(input);
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as ManifestStore;
    const log = createLogger({ level: "silent" });
    const config = stack.config(resources);
    const handle = createIngestHandler({
      store: flaky,
      config,
      log,
      deadLetters: new DeadLetters(stack.clients.sqs, { dlqUrl: resources.ingestDlqUrl }, log),
    });
    const response = await handle(ingestEvent({ a: good, b: failing, c: '{"Records":"nope"}' }));
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: "b" }] });
  });

  it("dead-letters a message whose error says retrying cannot help (retryable: false), whatever its class", async () => {
    const doomed = await notificationFor("BRCB/SLS30I004/2025121209/2025121209.txt.gz");
    const refusing = new Proxy(store, {
      get(target, property, receiver) {
        if (property === "registerCreated") {
          return async () => {
            throw new CompacterError("AccessDeniedException (injected)", { retryable: false });
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as ManifestStore;
    const log = createLogger({ level: "silent" });
    const handle = createIngestHandler({
      store: refusing,
      config: stack.config(resources),
      log,
      deadLetters: new DeadLetters(stack.clients.sqs, { dlqUrl: resources.ingestDlqUrl }, log),
    });
    const response = await handle(ingestEvent({ "m-doomed": doomed }));
    // Not reported for a retry: SQS would only bring it back to fail maxReceiveCount times.
    expect(response).toEqual({ batchItemFailures: [] });
    const deadLettered: string[] = [];
    for (let attempt = 0; attempt < 5 && !deadLettered.includes("m-doomed"); attempt++) {
      const { Messages = [] } = await stack.clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: resources.ingestDlqUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ["All"],
        }),
      );
      for (const m of Messages) {
        const source = m.MessageAttributes?.[DEAD_LETTER_ATTRIBUTE.sourceMessageId]?.StringValue;
        if (source) deadLettered.push(source);
      }
    }
    expect(deadLettered).toContain("m-doomed");
  });
});
