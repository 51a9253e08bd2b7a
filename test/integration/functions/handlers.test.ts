import { DeleteObjectCommand } from "@aws-sdk/client-s3";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { type DynamoManifestStore, EmfMetrics } from "@compacter/aws";
import { type Clock, createLogger, METRICS, SETTINGS, type SettingName, systemClock } from "@compacter/core";
import { createDuckDbEngine } from "@compacter/duckdb";
import { createRuntime } from "@compacter/wiring";
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  type CompactionHarness,
  createCompactionHarness,
  expectedRows,
  partitionsOf,
} from "../../helpers/compactionHarness.js";
import { parseEmf, valuesOf } from "../../helpers/emf.js";
import { useLocalStack } from "../../helpers/localStack.js";
import { sqsEvent } from "../../helpers/sqsEvent.js";
import { hoursAgo } from "../../helpers/time.js";

/**
 * The sweep and compactor Lambda entry points, run offline the way Lambda runs them:
 * resources come from SST's `Resource` (the `SST_RESOURCE_<Name>` variables SST sets on
 * a deployed function), not from COMPACTER_* variables, and the SDK points at the local
 * stack through AWS_ENDPOINT_URL*.
 */
const stack = useLocalStack();
const COMPACTION_QUEUE = { queueArn: "arn:aws:sqs:us-east-1:000000000000:compaction" };
/** Files just registered late are due 1 s (the harness's lateDebounce) after their arrival. */
const PAST_LATE_DEBOUNCE = { now: () => Date.now() + 1_100 };

describe("the sweep and compactor handlers", () => {
  let h: CompactionHarness;
  let handlers: {
    sweep: typeof import("../../../packages/functions/src/sweep.js");
    compactor: typeof import("../../../packages/functions/src/compactor.js");
  };
  beforeAll(async () => {
    h = await createCompactionHarness(stack, "lambda");
    // What a deployed function sees: SST links for resources, COMPACTER_* only for settings.
    const resourceSettings = new Set<SettingName>([
      "rawBucket",
      "lakeBucket",
      "manifestTable",
      "ingestQueueUrl",
      "ingestDlqUrl",
      "compactionQueueUrl",
      "compactionDlqUrl",
    ]);
    for (const [name, spec] of Object.entries(SETTINGS)) {
      if (resourceSettings.has(name as SettingName)) delete process.env[spec.env];
    }
    for (const [key, value] of Object.entries(h.env)) {
      const resourceVar = [...resourceSettings].some((n) => SETTINGS[n].env === key);
      if (!resourceVar) process.env[key] = value;
    }
    Object.assign(process.env, {
      SST_RESOURCE_App: JSON.stringify({ name: "compacter", stage: "test" }),
      SST_RESOURCE_ManifestTable: JSON.stringify({ name: h.config.manifestTable }),
      SST_RESOURCE_RawBucket: JSON.stringify({ name: h.config.rawBucket }),
      SST_RESOURCE_LakeBucket: JSON.stringify({ name: h.config.lakeBucket }),
      SST_RESOURCE_CompactionQueue: JSON.stringify({ url: h.config.compactionQueueUrl }),
    });
    handlers = {
      sweep: await import("../../../packages/functions/src/sweep.js"),
      compactor: await import("../../../packages/functions/src/compactor.js"),
    };
  });
  afterAll(() => h.close());

  const expected = new Map<string, number>();
  it("sweep queues one job per due partition; the compactor compacts it", async () => {
    const summary = await h.simulate({ districts: ["BRCB", "KDCB"], hours: 1, startHourMs: hoursAgo(3) });
    // The containers the deployed handlers build, with a clock past the 1 s late debounce.
    const sweep = handlers.sweep.sweepContainer({ clock: PAST_LATE_DEBOUNCE });
    const compactor = handlers.compactor.compactorContainer({ clock: PAST_LATE_DEBOUNCE });
    try {
      const swept = await sweep.handle(undefined);
      expect(swept).toMatchObject({ partitions: 2 });

      const jobs = await receiveAll(h.config.compactionQueueUrl);
      expect(jobs.map((j) => JSON.parse(j.body).district).sort()).toEqual(["BRCB", "KDCB"]);
      const response = await compactor.handle(sqsEvent(jobs, COMPACTION_QUEUE));
      expect(response.batchItemFailures).toEqual([]);
    } finally {
      await Promise.all([sweep.close(), compactor.close()]);
    }
    for (const partition of partitionsOf(summary)) {
      for (const [k, n] of expectedRows(summary, partition)) expected.set(k, n);
      expect(await h.lakeRows(partition)).toEqual(expectedRows(summary, partition));
    }
  });

  it("dead-letters a job retrying cannot fix and an invalid one at once, and marks the partition failing", async () => {
    const summary = await h.simulate({
      districts: ["BRCB", "KDCB"],
      hours: 1,
      startHourMs: hoursAgo(2),
      seed: 9,
    });
    const [brcb, kdcb] = partitionsOf(summary).sort((a, b) => a.district.localeCompare(b.district));
    if (!brcb || !kdcb) throw new Error("two partitions expected");
    // Break BRCB behind the manifest's back: its current Parquet file disappears, so a
    // merge (which must read it) fails — never committed half-done. A missing object is
    // not retryable (ObjectNotFoundError): SQS retries could not bring it back, so the job
    // goes to the DLQ at once and the partition is left to the failing back-off.
    const broken = await h.runtime.store.getPartition(brcb);
    for (const f of broken?.files ?? []) {
      await stack.clients.s3.send(new DeleteObjectCommand({ Bucket: h.config.lakeBucket, Key: f.key }));
    }
    const event = sqsEvent(
      [
        {
          messageId: "broken",
          body: JSON.stringify({ day: brcb.day, district: brcb.district, forceMerge: true }),
        },
        { messageId: "fine", body: JSON.stringify({ day: kdcb.day, district: kdcb.district }) },
        { messageId: "garbage", body: "{not a job" },
      ],
      COMPACTION_QUEUE,
    );
    const response = await handlers.compactor.handler(event);
    expect(response.batchItemFailures).toEqual([]);

    for (const [k, n] of expectedRows(summary, kdcb)) expected.set(k, n);
    const kdcbExpected = new Map([...expected].filter(([k]) => k.startsWith("KDCB/")));
    expect(await h.lakeRows(kdcb)).toEqual(kdcbExpected);
    expect((await h.runtime.store.getPartition(brcb))?.generation).toBe(broken?.generation);
    const dlq = await receiveAll(h.resources.compactionDlqUrl);
    expect(dlq.map((m) => m.body).sort()).toEqual(
      [JSON.stringify({ day: brcb.day, district: brcb.district, forceMerge: true }), "{not a job"].sort(),
    );
    const failing = await h.runtime.store.listFailing();
    expect(failing.map((p) => p.partition)).toEqual([brcb]);
    expect(failing[0]?.failing).toMatchObject({ attempts: 1, retryable: false });
    expect(failing[0]?.failing?.lastError).toMatch(/ObjectNotFoundError: s3:\/\/.* does not exist/);
    expect((await h.runtime.store.getPartition(kdcb))?.failing).toBeUndefined();
  });
});

describe("what one invocation writes", () => {
  let h: CompactionHarness;
  beforeAll(async () => {
    h = await createCompactionHarness(stack, "lambda-observe");
  });
  afterAll(() => h.close());

  function lambdaContext(awsRequestId: string, remainingMs: number): Context {
    return { awsRequestId, getRemainingTimeInMillis: () => remainingMs } as Context;
  }

  function observedRuntime(
    clock: Clock = systemClock,
    wrapStore: (store: DynamoManifestStore) => DynamoManifestStore = (s) => s,
  ) {
    const logs: Record<string, unknown>[] = [];
    const emf: string[] = [];
    const runtime = createRuntime(h.config, {
      clients: stack.clients,
      clock,
      log: createLogger({ level: "debug", sink: (line) => logs.push(JSON.parse(line)) }),
      metrics: new EmfMetrics({ stage: "test", write: (line) => emf.push(line) }),
    });
    return { runtime: { ...runtime, store: wrapStore(runtime.store) }, logs, emf };
  }

  it("puts the request id and cold start on every log line, and times the job against the invocation", async () => {
    // A fresh module graph: this container has not been invoked yet.
    vi.resetModules();
    const { createCompactorHandler } = await import("../../../packages/functions/src/compactor.js");
    const summary = await h.simulate({ districts: ["BRCB"], hours: 1, startHourMs: hoursAgo(3) });
    const [partition] = partitionsOf(summary);
    if (!partition) throw new Error("one partition expected");
    const { runtime, logs, emf } = observedRuntime(PAST_LATE_DEBOUNCE);
    const engine = createDuckDbEngine();
    try {
      const handle = createCompactorHandler(runtime, engine);
      const job = { messageId: "j1", body: JSON.stringify(partition) };
      await handle(sqsEvent([job], COMPACTION_QUEUE), lambdaContext("req-cold", 120_000));
      const coldLines = logs.length;
      await handle(
        sqsEvent([{ ...job, messageId: "j2" }], COMPACTION_QUEUE),
        lambdaContext("req-warm", 60_000),
      );

      expect(coldLines).toBeGreaterThan(0);
      expect(logs.slice(0, coldLines).every((l) => l.requestId === "req-cold" && l.coldStart === true)).toBe(
        true,
      );
      expect(logs.slice(coldLines).every((l) => l.requestId === "req-warm" && l.coldStart === false)).toBe(
        true,
      );
      expect(logs.some((l) => l.msg === "generation committed" && l.partition && l.generation === 1)).toBe(
        true,
      );
    } finally {
      await engine.close();
    }
    const data = parseEmf(emf);
    expect(valuesOf(data, METRICS.compactions.name, { Plan: "append", Outcome: "committed" })).toEqual([1]);
    expect(valuesOf(data, METRICS.compactions.name, { Plan: "none", Outcome: "nothing" })).toEqual([1]);
    const [first, second] = valuesOf(data, METRICS.compactionDuration.name);
    expect(valuesOf(data, METRICS.compactionTimeoutUsed.name)).toEqual([
      Math.round((10_000 * (first ?? 0)) / 120_000) / 100,
      Math.round((10_000 * (second ?? 0)) / 60_000) / 100,
    ]);
  });

  it("a sweep publishes lake freshness, and a failed sweep publishes SweepErrors and fails the invocation", async () => {
    const { createSweepHandler } = await import("../../../packages/functions/src/sweep.js");
    const healthy = observedRuntime();
    const result = await createSweepHandler(healthy.runtime, -1)(undefined, lambdaContext("s1", 60_000));
    expect(valuesOf(parseEmf(healthy.emf), METRICS.lakeFreshness.name)).toEqual([
      result.lakeFreshnessSeconds,
    ]);
    expect(healthy.logs.every((l) => l.requestId === "s1")).toBe(true);

    const broken = observedRuntime(systemClock, (store) =>
      Object.assign(Object.create(store) as DynamoManifestStore, {
        listDue: () => Promise.reject(new Error("ProvisionedThroughputExceededException")),
      }),
    );
    await expect(
      createSweepHandler(broken.runtime, -1)(undefined, lambdaContext("s2", 60_000)),
    ).rejects.toThrow(/ProvisionedThroughput/);
    expect(valuesOf(parseEmf(broken.emf), METRICS.sweepErrors.name)).toEqual([1]);
  });
});

async function receiveAll(queueUrl: string): Promise<{ messageId: string; body: string }[]> {
  const out: { messageId: string; body: string }[] = [];
  for (;;) {
    const { Messages = [] } = await stack.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) return out;
    out.push(...Messages.map((m) => ({ messageId: m.MessageId ?? "", body: m.Body ?? "" })));
  }
}
