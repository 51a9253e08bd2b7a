import { readFile } from "node:fs/promises";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { DynamoManifestStore, processIngestMessages } from "@compacter/aws";
import {
  type CompacterConfig,
  HOUR_MS,
  loadConfig,
  mapLimit,
  parseHourKey,
  SETTINGS,
  type SettingName,
  silentLogger,
} from "@compacter/core";
import {
  type LocalEmulators,
  type LocalResources,
  resourceEnv,
  startLocalEmulators,
  uniqueResourceNames,
} from "@compacter/local";
import { createRuntime } from "@compacter/wiring";
import type { Dataset } from "./dataset.js";

/** S3 notifications are replayed with this upload time: a device uploading its hour shortly after it ends. */
const UPLOAD_DELAY_MS = 2 * 60_000;

/**
 * The local stack the benchmark runs against, in this process: the raw files are uploaded
 * once (each PUT fires a notification through the bridge), and the notifications are
 * kept. Each measured run gets fresh resources (its own manifest table, queues and lake
 * bucket) over the same raw bucket, and registers the kept notifications again, so every
 * run starts from the same empty partition without uploading gigabytes again.
 */
export interface BenchStack {
  readonly emulators: LocalEmulators;
  readonly rawBucket: string;
  readonly uploadSeconds: number;
  /** Per raw key, its ObjectCreated notification (SQS body) with an on-time upload time. */
  readonly notifications: ReadonlyMap<string, string>;
  freshResources(label: string): Promise<LocalResources>;
  /** The environment a child process needs: the stack, `resources`, the shared raw bucket and `settings`. */
  env(resources: LocalResources, settings: Partial<Record<SettingName, string>>): Record<string, string>;
  config(resources: LocalResources, settings: Partial<Record<SettingName, string>>): CompacterConfig;
  store(resources: LocalResources): DynamoManifestStore;
  /** Registers raw files in the manifest of `resources` through the ingest code (not measured). */
  register(resources: LocalResources, keys: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export async function startBenchStack(dataset: Dataset, log: (line: string) => void): Promise<BenchStack> {
  const emulators = await startLocalEmulators();
  try {
    const source = await emulators.ensureResources(uniqueResourceNames("bench-raw"));
    const started = performance.now();
    log(`stack: uploading ${dataset.files.length} raw files to the local S3`);
    await mapLimit(dataset.files, 16, async (file) => {
      await emulators.clients.s3.send(
        new PutObjectCommand({ Bucket: source.rawBucket, Key: file.key, Body: await readFile(file.path) }),
      );
    });
    const uploadSeconds = (performance.now() - started) / 1000;
    const notifications = await captureNotifications(emulators, source.ingestQueueUrl, dataset);
    if (notifications.size !== dataset.files.length) {
      throw new Error(
        `expected ${dataset.files.length} notifications, the bridge sent ${notifications.size}`,
      );
    }
    log(`stack: ${notifications.size} notifications captured (upload ${uploadSeconds.toFixed(1)} s)`);
    const settingsEnv = (resources: LocalResources, settings: Partial<Record<SettingName, string>>) => {
      const env: Record<string, string> = {
        ...emulators.awsEnv,
        ...resourceEnv(resources),
        [SETTINGS.rawBucket.env]: source.rawBucket,
      };
      for (const [name, value] of Object.entries(settings)) {
        if (value !== undefined) env[SETTINGS[name as SettingName].env] = value;
      }
      return env;
    };
    return {
      emulators,
      rawBucket: source.rawBucket,
      uploadSeconds,
      notifications,
      freshResources: (label) => emulators.ensureResources(uniqueResourceNames(label)),
      env: settingsEnv,
      config: (resources, settings) => loadConfig({ env: settingsEnv(resources, settings) }),
      store: (resources) =>
        new DynamoManifestStore({ client: emulators.clients.dynamodb, tableName: resources.manifestTable }),
      async register(resources, keys) {
        const config = loadConfig({ env: settingsEnv(resources, {}) });
        const runtime = createRuntime(config, { clients: emulators.clients, log: silentLogger });
        const batches: string[][] = [];
        for (let i = 0; i < keys.length; i += 10) {
          batches.push(keys.slice(i, i + 10).map((key) => notifications.get(key) ?? ""));
        }
        await mapLimit(batches, 8, async (bodies, b) => {
          const dispositions = await processIngestMessages(
            bodies.map((body, i) => ({ messageId: `bench-${b}-${i}`, body })),
            { store: runtime.store, config, log: silentLogger, deadLetters: runtime.ingestDeadLetters },
          );
          const failed = dispositions.filter((d) => d.status !== "done");
          if (failed.length > 0) throw new Error(`registration failed: ${JSON.stringify(failed[0])}`);
        });
      },
      close: () => emulators.stop(),
    };
  } catch (error) {
    await emulators.stop();
    throw error;
  }
}

/** Drains the raw bucket's notifications and sets each one's upload time to just after its hour. */
async function captureNotifications(
  emulators: LocalEmulators,
  queueUrl: string,
  dataset: Dataset,
): Promise<Map<string, string>> {
  const layout = loadConfig();
  const hourOf = new Map(dataset.files.map((f) => [f.key, f.hour]));
  const bodies = new Map<string, string>();
  for (;;) {
    const { Messages = [] } = await emulators.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) return bodies;
    for (const message of Messages) {
      const body = JSON.parse(message.Body ?? "{}") as {
        Records?: { eventTime: string; s3: { object: { key: string } } }[];
      };
      for (const record of body.Records ?? []) {
        const key = decodeURIComponent(record.s3.object.key.replace(/\+/g, " "));
        const hour = hourOf.get(key);
        const hourStart = hour === undefined ? undefined : parseHourKey(hour, layout.keyTimeZone);
        if (hourStart === undefined) throw new Error(`notification for an unknown key: ${key}`);
        record.eventTime = new Date(hourStart + HOUR_MS + UPLOAD_DELAY_MS).toISOString();
        bodies.set(key, JSON.stringify(body));
      }
    }
    await emulators.clients.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
}
