/**
 * Integration tests and the local stack.
 *
 * `test/helpers/globalSetup.ts` starts ONE stack for the whole vitest run (fauxqs for
 * S3 + SQS with our S3 → SQS notification bridge, dynalite for DynamoDB, loopback,
 * ephemeral ports). A test file calls `useLocalStack()` once at its top level and gets
 * SDK clients bound to it; it creates its own buckets, queues and manifest table with
 * `createResources()` (unique names), so test files running in parallel never see each
 * other's objects, messages or items. Nothing is deleted afterwards: the stack lives in
 * memory and ends with the run.
 *
 *   import { useLocalStack } from "../../helpers/localStack.js";
 *
 *   const stack = useLocalStack();
 *   let resources: LocalResources;
 *   beforeAll(async () => {
 *     resources = await stack.createResources("ingest", { ingestMaxReceiveCount: 2 });
 *   });
 *
 *   it("…", async () => {
 *     await stack.clients.s3.send(new PutObjectCommand({ Bucket: resources.rawBucket, … }));
 *     // the notification is on resources.ingestQueueUrl when send() resolves
 *     const config = stack.config(resources, { closeAfterMs: "2s" }); // settings for code under test
 *   });
 *
 * Every resource set comes with the raw bucket → ingest queue notification (suffix
 * `.txt.gz`, raw prefix), exactly as `compacter dev` configures it. Notifications are
 * delivered once and in order before the S3 response returns; `setDeliveryFaults()`
 * makes one bucket's deliveries duplicated and/or reordered like AWS's at-least-once
 * delivery (call `flushDeliveries()` to release held ones). `stack.env(resources)` gives
 * the variables a spawned `compacter` process needs; `stack.clients.requestCounts()`
 * counts this file's requests per service and operation.
 *
 * A test that must own a stack (to stop it, or to change ports) calls
 * `startLocalStack()` from @compacter/local itself.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { type AwsClients, createAwsClients } from "@compacter/aws";
import { type CompacterConfig, loadConfig, type SettingName } from "@compacter/core";
import {
  awsEnv,
  type DeliveryFaults,
  ensureLocalResources,
  type LocalEndpoints,
  type LocalResourceNames,
  type LocalResources,
  resourceEnv,
  uniqueResourceNames,
} from "@compacter/local";
import { afterAll, inject } from "vitest";

export interface TestLocalStack {
  readonly endpoints: LocalEndpoints;
  readonly region: string;
  /** Bound to the shared stack; destroyed after the file's tests. */
  readonly clients: AwsClients;
  /** Buckets, queues (with DLQs), manifest table and raw-bucket notification, uniquely named. */
  createResources(label?: string, overrides?: Partial<LocalResourceNames>): Promise<LocalResources>;
  /** `AWS_*` for the stack plus `COMPACTER_*` for `resources`: a spawned process's environment. */
  env(resources?: LocalResources): Record<string, string>;
  /** The config code under test would load from `env(resources)` plus these settings (as typed). */
  config(resources: LocalResources, overrides?: Partial<Record<SettingName, string>>): CompacterConfig;
  /** Duplicate/reorder deliveries for one bucket ("*": all — avoid, files run in parallel); `undefined` resets. */
  setDeliveryFaults(bucket: string, faults: DeliveryFaults | undefined): Promise<void>;
  /** Delivers notifications held back by a reorder fault. */
  flushDeliveries(): Promise<void>;
  /** Receives and deletes every message visible on a queue now; their bodies, in receive order. */
  drainQueue(queueUrl: string): Promise<string[]>;
}

export function useLocalStack(): TestLocalStack {
  const provided = inject("localStack");
  const clients = createAwsClients({
    region: provided.region,
    credentials: provided.credentials,
    endpoints: provided.endpoints,
    forcePathStyle: true,
  });
  afterAll(() => clients.destroy());
  const stackEnv = awsEnv(provided.endpoints, provided.region, provided.credentials);
  const control = async (path: string, body: unknown) => {
    const response = await fetch(`${provided.endpoints.s3}/_compacter/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!response.ok)
      throw new Error(`local stack control ${path}: ${response.status} ${await response.text()}`);
  };
  return {
    endpoints: provided.endpoints,
    region: provided.region,
    clients,
    createResources: (label = "test", overrides = {}) =>
      ensureLocalResources(clients, uniqueResourceNames(label, overrides)),
    env: (resources) => ({ ...stackEnv, ...(resources ? resourceEnv(resources) : {}) }),
    config: (resources, overrides = {}) =>
      loadConfig({ env: { ...stackEnv, ...resourceEnv(resources) }, overrides }),
    setDeliveryFaults: (bucket, faults) => control("faults", { bucket, faults: faults ?? null }),
    flushDeliveries: () => control("flush", {}),
    drainQueue: async (queueUrl) => {
      const bodies: string[] = [];
      for (;;) {
        const { Messages = [] } = await clients.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
        );
        if (Messages.length === 0) return bodies;
        bodies.push(...Messages.map((message) => message.Body ?? ""));
        await clients.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: Messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })),
          }),
        );
      }
    },
  };
}
