/**
 * Runs sst.config.ts against a recording stand-in for SST's globals and checks what it would
 * deploy: least-privilege links, queue timings, notification filters, the table's indexes,
 * the alarms, and how deploy settings change the program. No AWS, no `sst install`.
 */
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { COMPACTOR, INGEST } from "../../infra/sizing.js";
import { loadConfig } from "../../packages/core/src/config/loadConfig.js";
import { MANIFEST_TABLE_SPEC } from "../../packages/core/src/manifest/tableSpec.js";
import {
  type Call,
  describeValue,
  type FakePlatform,
  installFakePlatform,
  removeFakePlatform,
} from "./fakePlatform.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

interface SstConfig {
  app(input: { stage: string }): Record<string, unknown>;
  run(): Promise<Record<string, unknown>>;
}

const savedEnv = new Map<string, string | undefined>();

/** Only the variables a test sets: COMPACTER_* from the developer's shell must not leak in. */
function setDeployEnv(env: Readonly<Record<string, string>>): void {
  for (const name of Object.keys(process.env).filter((n) => n.startsWith("COMPACTER_"))) {
    savedEnv.set(name, process.env[name]);
    delete process.env[name];
  }
  for (const [name, value] of Object.entries(env)) {
    if (!savedEnv.has(name)) savedEnv.set(name, process.env[name]);
    process.env[name] = value;
  }
}

async function synthesize(stage: string, env: Readonly<Record<string, string>> = {}) {
  vi.resetModules();
  setDeployEnv(env);
  const platform = installFakePlatform(stage);
  const module = (await import(pathToFileURL(join(ROOT, "sst.config.ts")).href)) as { default: SstConfig };
  const app = module.default.app({ stage });
  const outputs = describeValue(await module.default.run()) as Record<string, string>;
  return { platform, app, outputs };
}

afterEach(() => {
  removeFakePlatform();
  for (const [name, value] of savedEnv) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  savedEnv.clear();
});

/** Arguments of a `queue.subscribe(function, subscription)` call, references printed. */
function subscription(call: Call) {
  const [fn, options] = describeValue(call.args) as [Record<string, unknown>, Record<string, unknown>];
  return { fn, options };
}

interface QueueArgs {
  readonly visibilityTimeout: string;
  readonly dlq: { readonly queue: string; readonly retry: number };
}

function queueArgs(platform: FakePlatform, name: string): QueueArgs {
  return describeValue(platform.declared("sst.aws.Queue", name).args) as QueueArgs;
}

describe("sst.config.ts app()", () => {
  it("retains data and protects the stage in prod only", async () => {
    const prod = await synthesize("prod");
    expect(prod.app).toMatchObject({ name: "compacter", home: "aws", removal: "retain", protect: true });
    const dev = await synthesize("dev");
    expect(dev.app).toMatchObject({ removal: "remove", protect: false });
  });
});

describe("sst.config.ts run() with default settings", () => {
  it("links each function to only what it touches", async () => {
    const { platform } = await synthesize("prod");
    const ingest = subscription(platform.call("IngestQueue.subscribe"));
    const compactor = subscription(platform.call("CompactionQueue.subscribe"));
    const sweep = describeValue(platform.declared("sst.aws.Function", "Sweep").args) as Record<
      string,
      unknown
    >;

    expect(ingest.fn.handler).toBe("packages/functions/src/ingest.handler");
    expect(ingest.fn.link).toEqual(["ManifestTable", "IngestDlq"]);
    expect(sweep.handler).toBe("packages/functions/src/sweep.handler");
    expect(sweep.link).toEqual(["ManifestTable", "CompactionQueue", "LakeBucket"]);
    expect(compactor.fn.handler).toBe("packages/functions/src/compactor.handler");
    expect(compactor.fn.link).toEqual([
      "ManifestTable",
      "RawBucket",
      "LakeBucket",
      "CompactionDlq",
      "LakeCatalog",
    ]);
  });

  it("gives the compactor read-only access to raw data and full object access to the lake", async () => {
    const { platform } = await synthesize("prod");
    const raw = describeValue(platform.declared("sst.Linkable", "RawBucket").args) as {
      include: { actions: string[]; resources: string[] }[];
    };
    const lake = describeValue(platform.declared("sst.Linkable", "LakeBucket").args) as typeof raw;
    const rawActions = raw.include.flatMap((p) => p.actions);
    expect(rawActions.every((a) => /^s3:(Get|List)/.test(a))).toBe(true);
    expect(raw.include[0]?.resources).toEqual(["Raw.arn", "Raw.arn/*"]);
    expect(lake.include.flatMap((p) => p.actions)).toEqual(
      expect.arrayContaining(["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"]),
    );
    expect(lake.include[0]?.resources).toEqual(["Lake.arn", "Lake.arn/*"]);
  });

  it("drains the ingest queue in batches with partial failures and a visibility of 6× the timeout", async () => {
    const { platform } = await synthesize("prod");
    const ingest = subscription(platform.call("IngestQueue.subscribe"));
    expect(ingest.options.batch).toEqual({ size: 10, window: "5 seconds", partialResponses: true });
    expect(ingest.options.transform).toEqual({
      eventSourceMapping: { scalingConfig: { maximumConcurrency: 10 } },
    });

    const queue = queueArgs(platform, "IngestQueue");
    const visibility = Number.parseInt(queue.visibilityTimeout, 10);
    expect(visibility).toBeGreaterThanOrEqual(6 * INGEST.timeoutSeconds);
    expect(ingest.fn.timeout).toBe(`${INGEST.timeoutSeconds} seconds`);
    expect(queue.dlq).toEqual({ queue: "IngestDlq.arn", retry: 5 });
  });

  it("sizes the compactor to Lambda's limits, one job per invocation, DuckDB installed", async () => {
    const { platform } = await synthesize("prod");
    const compactor = subscription(platform.call("CompactionQueue.subscribe"));
    expect(compactor.fn).toMatchObject({
      memory: "10240 MB",
      timeout: "900 seconds",
      storage: "10240 MB",
      runtime: "nodejs22.x",
      architecture: "x86_64",
    });
    expect(Object.keys((compactor.fn.nodejs as { install: object }).install)).toContain("@duckdb/node-api");
    // The choice pinned here: batch size 1 AND partial batch responses. Without
    // ReportBatchItemFailures Lambda deletes a job whose failure the handler reports.
    expect(compactor.options.batch).toEqual({ size: 1, partialResponses: true });
    expect(compactor.options.transform).toEqual({
      eventSourceMapping: { scalingConfig: { maximumConcurrency: 10 } },
    });
    const env = compactor.fn.environment as Record<string, string>;
    expect(env.COMPACTER_TEMP_DIR).toBe("/tmp");
    expect(env.COMPACTER_MEMORY_LIMIT).toBe(`${Math.floor(10_240 * COMPACTOR.duckdbMemoryShare)}MiB`);

    const queue = queueArgs(platform, "CompactionQueue");
    const visibility = Number.parseInt(queue.visibilityTimeout, 10);
    expect(visibility).toBeGreaterThanOrEqual(6 * COMPACTOR.timeoutSeconds);
    expect(queue.dlq).toEqual({ queue: "CompactionDlq.arn", retry: 3 });
  });

  it("tells the sweep and compactor the compaction queue's timing and redrive as deployed", async () => {
    const { platform } = await synthesize("prod");
    const compactor = subscription(platform.call("CompactionQueue.subscribe"));
    const sweep = describeValue(platform.declared("sst.aws.Function", "Sweep").args) as {
      environment: Record<string, string>;
    };
    const queue = queueArgs(platform, "CompactionQueue");
    // What the functions load is what the queue does: the failed-job bookkeeping
    // (compaction/failures.ts) reads the visibility and maxReceiveCount from the config.
    for (const env of [compactor.fn.environment as Record<string, string>, sweep.environment]) {
      const config = loadConfig({ env });
      expect(config.visibilityTimeoutMs).toBe(Number.parseInt(queue.visibilityTimeout, 10) * 1000);
      expect(config.compactionMaxReceiveCount).toBe(queue.dlq.retry);
    }
  });

  it("encrypts every queue with SQS-managed keys, never KMS", async () => {
    const { platform } = await synthesize("prod");
    const queues = platform.ofType("sst.aws.Queue");
    expect(queues.map((q) => q.name).sort()).toEqual([
      "CompactionDlq",
      "CompactionQueue",
      "IngestDlq",
      "IngestQueue",
    ]);
    for (const queue of queues) {
      const transform = (queue.args.transform as { queue: Record<string, unknown> }).queue;
      expect(transform.sqsManagedSseEnabled).toBe(true);
      expect(transform).not.toHaveProperty("kmsMasterKeyId");
    }
  });

  it("notifies the ingest queue of raw files only, from our bucket only", async () => {
    const { platform } = await synthesize("prod");
    const notification = platform.declared("aws.s3.BucketNotification", "RawNotification");
    const args = describeValue(notification.args) as { bucket: string; queues: Record<string, unknown>[] };
    expect(args.bucket).toBe("Raw.name");
    expect(args.queues).toEqual([
      {
        id: "compacter-ingest",
        queueArn: "IngestQueue.arn",
        events: ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
        filterPrefix: undefined,
        filterSuffix: ".txt.gz",
      },
    ]);
    expect(describeValue(notification.opts?.dependsOn)).toEqual(["IngestQueueS3Policy"]);

    const policy = describeValue(platform.call("aws.iam.getPolicyDocumentOutput").args[0]) as {
      statements: { conditions: { variable: string; values: string[] }[] }[];
    };
    expect(policy.statements[0]?.conditions).toEqual([
      { test: "ArnEquals", variable: "aws:SourceArn", values: ["Raw.arn"] },
      {
        test: "StringEquals",
        variable: "aws:SourceAccount",
        values: ["aws.getCallerIdentityOutput().accountId"],
      },
    ]);
  });

  it("expires staged outputs and aborts stale multipart uploads in the lake", async () => {
    const { platform } = await synthesize("prod");
    const lifecycle = platform.declared("aws.s3.BucketLifecycleConfiguration", "LakeLifecycle").args as {
      rules: Record<string, unknown>[];
    };
    expect(lifecycle.rules).toEqual([
      expect.objectContaining({ abortIncompleteMultipartUpload: { daysAfterInitiation: 1 }, filter: {} }),
      expect.objectContaining({ filter: { prefix: "_staging/" }, expiration: { days: 3 } }),
    ]);
    expect(
      describeValue(
        platform.declared("aws.s3.BucketServerSideEncryptionConfiguration", "LakeEncryption").args,
      ),
    ).toEqual({
      bucket: "Lake.name",
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
    });
    // Public access blocked and HTTPS enforced are the component's defaults: nothing may turn them off.
    expect(platform.declared("sst.aws.Bucket", "Lake").args).toEqual({});
  });

  it("builds the manifest table from the core's spec", async () => {
    const { platform } = await synthesize("prod");
    const table = platform.declared("sst.aws.Dynamo", "ManifestTable").args as {
      fields: Record<string, string>;
      primaryIndex: unknown;
      globalIndexes: Record<string, { projection: unknown }>;
      deletionProtection: unknown;
    };
    expect(Object.keys(table.fields).sort()).toEqual([...MANIFEST_TABLE_SPEC.attributes].sort());
    expect(table.primaryIndex).toEqual({ hashKey: "pk", rangeKey: "sk" });
    expect(Object.keys(table.globalIndexes).sort()).toEqual(["byDay", "byDistrict", "due", "problems"]);
    expect(table.globalIndexes.due).toEqual({
      hashKey: "duePk",
      rangeKey: "dueAt",
      projection: ["kind", "status", "key", "late", "arrivedAt", "eTag"],
    });
    expect(table.globalIndexes.problems?.projection).toBe("all");
    expect(table.deletionProtection).toBe(true);
  });

  it("runs the sweep every minute and alarms on both DLQs", async () => {
    const { platform } = await synthesize("prod");
    expect(describeValue(platform.declared("sst.aws.Cron", "SweepSchedule").args)).toEqual({
      schedule: "rate(1 minute)",
      function: "Sweep",
    });
    // The other alarms and the dashboard: monitoring.test.ts.
    const alarms = platform
      .ofType("aws.cloudwatch.MetricAlarm")
      .filter((a) => a.name.endsWith("DlqAlarm"))
      .map((a) => describeValue(a.args)) as Record<string, unknown>[];
    expect(alarms.map((a) => a.dimensions)).toEqual([
      { QueueName: "IngestDlq.nodes.queue.name" },
      { QueueName: "CompactionDlq.nodes.queue.name" },
    ]);
    for (const alarm of alarms) {
      expect(alarm).toMatchObject({
        namespace: "AWS/SQS",
        metricName: "ApproximateNumberOfMessagesVisible",
        threshold: 0,
        comparisonOperator: "GreaterThanThreshold",
        alarmActions: ["Alarms.arn"],
      });
    }
    expect(platform.ofType("aws.sns.TopicSubscription")).toEqual([]);
    expect(platform.ofType("sst.aws.Task")).toEqual([]);
  });

  it("outputs the COMPACTER_* variables a CLI needs for this stage", async () => {
    const { outputs } = await synthesize("prod");
    expect(outputs).toEqual({
      COMPACTER_RAW_BUCKET: "Raw.name",
      COMPACTER_LAKE_BUCKET: "Lake.name",
      COMPACTER_MANIFEST_TABLE: "ManifestTable.name",
      COMPACTER_INGEST_QUEUE_URL: "IngestQueue.url",
      COMPACTER_INGEST_DLQ_URL: "IngestDlq.url",
      COMPACTER_COMPACTION_QUEUE_URL: "CompactionQueue.url",
      COMPACTER_COMPACTION_DLQ_URL: "CompactionDlq.url",
      COMPACTER_CATALOG_DATABASE: "LakeDatabase.name",
      COMPACTER_CATALOG_TABLE: "LakeTable.name",
    });
  });
});

describe("sst.config.ts run() with deploy settings", () => {
  it("references an existing raw bucket: no bucket, lifecycle or encryption of ours, the notification only", async () => {
    const { platform, outputs } = await synthesize("prod", {
      COMPACTER_EXISTING_RAW_BUCKET: "seed-telemetry",
      COMPACTER_RAW_PREFIX: "raw/",
    });
    expect(platform.call("sst.aws.Bucket.get").args).toEqual(["Raw", "seed-telemetry"]);
    expect(platform.ofType("sst.aws.Bucket").map((b) => b.name)).toEqual(["Lake"]);
    expect(
      platform.declarations.filter((d) => d.name.startsWith("Raw") && d.type.startsWith("aws.s3.")),
    ).toEqual([expect.objectContaining({ name: "RawNotification" })]);
    const notification = describeValue(
      platform.declared("aws.s3.BucketNotification", "RawNotification").args,
    ) as {
      queues: Record<string, unknown>[];
    };
    expect(notification.queues[0]).toMatchObject({ filterPrefix: "raw/", filterSuffix: ".txt.gz" });
    expect(outputs.COMPACTER_RAW_PREFIX).toBe("raw/");
  });

  it("passes explicit worker settings through, but never a resource name from the deploying shell", async () => {
    const { platform } = await synthesize("prod", {
      COMPACTER_CLOSE_AFTER: "90m",
      COMPACTER_INGEST_MAX_RECEIVE_COUNT: "7",
      COMPACTER_RAW_BUCKET: "local-raw-from-the-dev-stack",
      COMPACTER_MEMORY_LIMIT: "4GiB",
    });
    const compactor = subscription(platform.call("CompactionQueue.subscribe"));
    const env = compactor.fn.environment as Record<string, string>;
    expect(env.COMPACTER_CLOSE_AFTER).toBe("90m");
    expect(env.COMPACTER_RAW_BUCKET).toBe("Raw.name");
    expect(env.COMPACTER_MEMORY_LIMIT).toBe("4GiB");
    const queue = queueArgs(platform, "IngestQueue");
    expect(queue.dlq.retry).toBe(7);
  });

  it("adds the Fargate compactor and links the compactor function to it when asked", async () => {
    const { platform, outputs } = await synthesize("prod", { COMPACTER_FARGATE_COMPACTOR: "true" });
    // What `aws ecs run-task` needs, as stage outputs.
    expect(outputs).toMatchObject({
      CompactorTaskCluster: "CompactorTask.cluster",
      CompactorTaskDefinition: "CompactorTask.taskDefinition",
      CompactorTaskSubnets: "CompactorTask.subnets",
      CompactorTaskSecurityGroups: "CompactorTask.securityGroups",
    });
    const task = describeValue(platform.declared("sst.aws.Task", "CompactorTask").args) as {
      environment: Record<string, string>;
    };
    expect(task).toMatchObject({
      cluster: "Cluster",
      command: ["compact"],
      image: { context: ".", dockerfile: "infra/compactor.Dockerfile" },
      link: ["ManifestTable", "RawBucket", "LakeBucket", "LakeCatalog"],
    });
    expect(task.environment.COMPACTER_MANIFEST_TABLE).toBe("ManifestTable.name");
    const compactor = subscription(platform.call("CompactionQueue.subscribe"));
    expect(compactor.fn.link).toEqual([
      "ManifestTable",
      "RawBucket",
      "LakeBucket",
      "CompactionDlq",
      "LakeCatalog",
      "CompactorTask",
    ]);
  });

  it("subscribes the alarm address when one is given", async () => {
    const { platform } = await synthesize("prod", { COMPACTER_ALARM_EMAIL: "oncall@example.com" });
    expect(describeValue(platform.declared("aws.sns.TopicSubscription", "AlarmEmail").args)).toEqual({
      topic: "Alarms.arn",
      protocol: "email",
      endpoint: "oncall@example.com",
    });
  });

  it("refuses invalid deploy settings", async () => {
    await expect(synthesize("prod", { COMPACTER_COMPACTOR_MAX_CONCURRENCY: "1" })).rejects.toThrow(
      /COMPACTER_COMPACTOR_MAX_CONCURRENCY: must be at least 2/,
    );
    await expect(synthesize("prod", { COMPACTER_CLOSE_AFTER: "soon" })).rejects.toThrow(/closeAfterMs/);
    await expect(
      synthesize("prod", { COMPACTER_STAGING_PREFIX: "lake/", COMPACTER_LAKE_PREFIX: "lake/" }),
    ).rejects.toThrow(/must be non-empty and outside COMPACTER_LAKE_PREFIX/);
  });
});
