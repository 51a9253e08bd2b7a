/**
 * The alarms and the dashboard sst.config.ts declares, run against the recording stand-in
 * for SST's globals (fakePlatform.ts): every alarm exists, watches the right metric of the
 * right resource, and has the threshold derived from the deploy's settings; its runbook
 * section exists in docs/deploy.md; the dashboard shows every metric the runtimes publish.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { alarmThresholds } from "../../infra/monitoring.js";
import { COMPACTOR, INGEST_QUEUE_VISIBILITY_SECONDS } from "../../infra/sizing.js";
import { loadConfig } from "../../packages/core/src/config/loadConfig.js";
import { METRICS } from "../../packages/core/src/observability/metrics.js";
import { describeValue, installFakePlatform, removeFakePlatform } from "./fakePlatform.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const saved = new Map<string, string | undefined>();

async function synthesize(stage: string, env: Readonly<Record<string, string>> = {}) {
  vi.resetModules();
  for (const name of Object.keys(process.env).filter((n) => n.startsWith("COMPACTER_"))) {
    saved.set(name, process.env[name]);
    delete process.env[name];
  }
  for (const [name, value] of Object.entries(env)) {
    if (!saved.has(name)) saved.set(name, process.env[name]);
    process.env[name] = value;
  }
  const platform = installFakePlatform(stage);
  const module = (await import(pathToFileURL(join(ROOT, "sst.config.ts")).href)) as {
    default: { run(): Promise<unknown> };
  };
  await module.default.run();
  return platform;
}

afterEach(() => {
  removeFakePlatform();
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  saved.clear();
});

type Alarm = Record<string, unknown> & { alarmDescription: string };

async function alarmsOf(stage: string, env: Readonly<Record<string, string>> = {}) {
  const platform = await synthesize(stage, env);
  const alarms = new Map<string, Alarm>();
  for (const declared of platform.ofType("aws.cloudwatch.MetricAlarm")) {
    alarms.set(declared.name, describeValue(declared.args) as Alarm);
  }
  return { platform, alarms };
}

const COMPACTOR_FN = "CompactionQueue.subscribe().nodes.function.name";

describe("alarms", () => {
  it("watches every way the lake can stop being current, each with its threshold", async () => {
    const { alarms } = await alarmsOf("prod");
    // Defaults: closeAfter 60 min, sweep every minute, the compactor's 900 s timeout.
    const expected: Record<string, Record<string, unknown>> = {
      LakeFreshnessAlarm: {
        namespace: "Compacter",
        metricName: METRICS.lakeFreshness.name,
        dimensions: { Stage: "prod" },
        statistic: "Maximum",
        period: 60,
        threshold: 3600 + 60 + 900,
        comparisonOperator: "GreaterThanThreshold",
      },
      SweepMissingAlarm: {
        namespace: "AWS/Lambda",
        metricName: "Invocations",
        dimensions: { FunctionName: "Sweep.name" },
        period: 60,
        evaluationPeriods: 3,
        threshold: 1,
        comparisonOperator: "LessThanThreshold",
        treatMissingData: "breaching",
      },
      SweepErrorsAlarm: {
        namespace: "AWS/Lambda",
        metricName: "Errors",
        dimensions: { FunctionName: "Sweep.name" },
        period: 60,
        evaluationPeriods: 3,
        threshold: 0,
      },
      CompactorErrorsAlarm: {
        metricName: "Errors",
        dimensions: { FunctionName: COMPACTOR_FN },
        threshold: 0,
      },
      CompactorThrottlesAlarm: {
        metricName: "Throttles",
        dimensions: { FunctionName: COMPACTOR_FN },
        threshold: 0,
      },
      CompactorDurationAlarm: {
        metricName: "Duration",
        dimensions: { FunctionName: COMPACTOR_FN },
        statistic: "Maximum",
        threshold: 0.8 * COMPACTOR.timeoutSeconds * 1000,
      },
      IngestQueueAgeAlarm: {
        namespace: "AWS/SQS",
        metricName: "ApproximateAgeOfOldestMessage",
        dimensions: { QueueName: "IngestQueue.nodes.queue.name" },
        threshold: 2 * INGEST_QUEUE_VISIBILITY_SECONDS,
      },
      // Failing for longer than the first back-off (15 min) and a sweep: 5 periods of 5 minutes.
      FailingPartitionsAlarm: {
        namespace: "Compacter",
        metricName: METRICS.failingPartitions.name,
        dimensions: { Stage: "prod" },
        statistic: "Minimum",
        period: 300,
        evaluationPeriods: 5,
        threshold: 0,
        comparisonOperator: "GreaterThanThreshold",
      },
      IngestDlqAlarm: { dimensions: { QueueName: "IngestDlq.nodes.queue.name" }, threshold: 0 },
      CompactionDlqAlarm: { dimensions: { QueueName: "CompactionDlq.nodes.queue.name" }, threshold: 0 },
    };
    expect([...alarms.keys()].sort()).toEqual(Object.keys(expected).sort());
    for (const [name, fields] of Object.entries(expected)) {
      expect(alarms.get(name), name).toMatchObject({
        ...fields,
        alarmActions: ["Alarms.arn"],
        okActions: ["Alarms.arn"],
      });
    }
  });

  it("derives the freshness and sweep thresholds from the deploy's settings", async () => {
    const { alarms } = await alarmsOf("staging", {
      COMPACTER_CLOSE_AFTER: "90m",
      COMPACTER_SWEEP_INTERVAL: "150s",
      COMPACTER_FAILURE_BACKOFF_BASE: "30m",
    });
    // EventBridge runs the sweep every whole minute: 150 s becomes 3 minutes.
    expect(alarmThresholds(loadConfig({ env: { COMPACTER_SWEEP_INTERVAL: "150s" } })).sweepSeconds).toBe(180);
    expect(alarms.get("LakeFreshnessAlarm")).toMatchObject({
      dimensions: { Stage: "staging" },
      period: 180,
      threshold: 5400 + 180 + 900,
    });
    expect(alarms.get("SweepMissingAlarm")).toMatchObject({ period: 180, evaluationPeriods: 3 });
    // (1800 + 180) s is 6.6 periods of 5 minutes: 7, and one more.
    expect(alarms.get("FailingPartitionsAlarm")).toMatchObject({ period: 300, evaluationPeriods: 8 });
  });

  it("has a runbook section in docs/deploy.md for every alarm it names", async () => {
    const { alarms } = await alarmsOf("prod");
    const deploy = await readFile(join(ROOT, "docs", "deploy.md"), "utf8");
    const readme = await readFile(join(ROOT, "README.md"), "utf8");
    for (const [name, alarm] of alarms) {
      expect(alarm.alarmDescription, name).toContain(`"${name}"`);
      expect(deploy, name).toMatch(new RegExp(`^### ${name}\\b`, "m"));
    }
    expect(readme).toContain("docs/deploy.md#when-an-alarm-fires");
  });
});

describe("the dashboard", () => {
  it("shows every published metric for its stage, the alarm lines and the alarms' states", async () => {
    const platform = await synthesize("prod");
    const dashboard = platform.declared("aws.cloudwatch.Dashboard", "Dashboard").args as {
      dashboardName: string;
      dashboardBody: string;
    };
    expect(dashboard.dashboardName).toBe("compacter-prod");
    const body = JSON.parse(dashboard.dashboardBody) as {
      widgets: { type: string; properties: Record<string, unknown> }[];
    };
    const lines = body.widgets.flatMap((w) => (w.properties.metrics as unknown[][] | undefined) ?? []);
    const ours = lines.filter((l) => l[0] === "Compacter");
    for (const metric of Object.values(METRICS)) {
      if (metric === METRICS.compactions) continue; // by SEARCH, below
      expect(
        ours.some((l) => l[1] === metric.name && l[2] === "Stage" && l[3] === "prod"),
        metric.name,
      ).toBe(true);
    }
    const search = JSON.stringify(lines);
    expect(search).toContain("{Compacter,Stage,Plan,Outcome}");
    expect(search).toContain('MetricName=\\"Compactions\\" Stage=\\"prod\\"');

    const annotated = body.widgets.flatMap(
      (w) =>
        (w.properties.annotations as { horizontal: { value: number; label: string }[] } | undefined)
          ?.horizontal ?? [],
    );
    expect(annotated).toContainEqual({ value: 3600 + 60 + 900, label: "LakeFreshnessAlarm" });
    expect(annotated).toContainEqual({ value: 80, label: "CompactorDurationAlarm" });

    const alarmWidget = body.widgets.find((w) => w.type === "alarm");
    expect(alarmWidget?.properties.alarms).toEqual(
      platform.ofType("aws.cloudwatch.MetricAlarm").map((a) => `${a.name}.arn`),
    );
  });
});
