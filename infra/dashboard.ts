/**
 * One CloudWatch dashboard per stage ("compacter-<stage>"), top to bottom in the order an
 * operator asks: is the lake current (freshness, the alarm line drawn in), is data coming
 * in, is compaction keeping up and healthy, what does the data look like, and the alarms'
 * states. The figures are the ones every runtime publishes (packages/core/src/observability)
 * plus Lambda's and SQS's own; `compacter status` prints the same freshness figure.
 */
import {
  METRICS,
  METRICS_NAMESPACE,
  type MetricSpec,
  STAGE_DIMENSION,
} from "../packages/core/src/observability/metrics.js";
import { allAlarms, thresholds } from "./alarms.js";
import { compactorSubscriber, ingestSubscriber, sweepFunction } from "./functions.js";
import { compactionDlq, compactionQueue, ingestDlq, ingestQueue } from "./queues.js";

const region = aws.getRegionOutput().name;
const stage = $app.stage;
const WIDTH = 12;
const HEIGHT = 6;

type MetricLine = readonly unknown[];

function ours(
  metric: MetricSpec,
  stat: "Sum" | "Maximum" | "Average" | "p50",
  label = metric.name,
): MetricLine {
  return [METRICS_NAMESPACE, metric.name, STAGE_DIMENSION, stage, { stat, label }];
}

function lambda(
  metricName: string,
  functionName: $util.Input<string>,
  label: string,
  stat = "Sum",
): MetricLine {
  return ["AWS/Lambda", metricName, "FunctionName", functionName, { stat, label }];
}

function sqs(metricName: string, queueName: $util.Input<string>, label: string): MetricLine {
  return ["AWS/SQS", metricName, "QueueName", queueName, { stat: "Maximum", label }];
}

function graph(
  title: string,
  metrics: readonly MetricLine[],
  options: {
    readonly line?: { readonly value: number; readonly label: string };
    readonly period?: number;
  } = {},
) {
  return {
    type: "metric",
    width: WIDTH,
    height: HEIGHT,
    properties: {
      title,
      region,
      view: "timeSeries",
      stacked: false,
      period: options.period ?? 300,
      metrics,
      ...(options.line ? { annotations: { horizontal: [options.line] } } : {}),
    },
  };
}

/** Compactions by plan kind and outcome: one line per (Plan, Outcome) seen, whatever they are. */
const compactionsByOutcome = {
  type: "metric",
  width: WIDTH,
  height: HEIGHT,
  properties: {
    title: "Compactions by plan and outcome",
    region,
    view: "timeSeries",
    period: 300,
    metrics: [
      [
        {
          expression: `SEARCH('{${METRICS_NAMESPACE},${STAGE_DIMENSION},Plan,Outcome} MetricName="${METRICS.compactions.name}" ${STAGE_DIMENSION}="${stage}"', 'Sum', 300)`,
          id: "compactions",
          label: "",
        },
      ],
    ],
  },
};

const compactorName = compactorSubscriber.nodes.function.name;

const widgets = [
  graph(
    "Lake freshness (s past due of the oldest raw file not in the lake)",
    [ours(METRICS.lakeFreshness, "Maximum")],
    {
      period: thresholds.sweepSeconds,
      line: { value: thresholds.lakeFreshnessSeconds, label: "LakeFreshnessAlarm" },
    },
  ),
  graph(
    "Overdue raw files and failing partitions",
    [ours(METRICS.overdueFiles, "Maximum"), ours(METRICS.failingPartitions, "Maximum")],
    { period: thresholds.sweepSeconds },
  ),
  graph("Raw files ingested", [
    ours(METRICS.filesIngested, "Sum"),
    ours(METRICS.filesDuplicate, "Sum"),
    ours(METRICS.filesStale, "Sum"),
    ours(METRICS.filesRejected, "Sum"),
    ours(METRICS.filesRemoved, "Sum"),
  ]),
  graph(
    "Ingest queue: age of the oldest notification (s)",
    [sqs("ApproximateAgeOfOldestMessage", ingestQueue.nodes.queue.name, "ingest queue")],
    { line: { value: thresholds.ingestQueueAgeSeconds, label: "IngestQueueAgeAlarm" } },
  ),
  compactionsByOutcome,
  graph("Rows in and out", [ours(METRICS.rowsIn, "Sum"), ours(METRICS.rowsOut, "Sum")]),
  graph("Data quality", [
    ours(METRICS.badLines, "Sum"),
    ours(METRICS.nulledValues, "Sum"),
    ours(METRICS.quarantinedFiles, "Sum"),
  ]),
  graph(
    "Compaction duration (share of the timeout, %)",
    [
      ours(METRICS.compactionTimeoutUsed, "Maximum", "max"),
      ours(METRICS.compactionTimeoutUsed, "p50", "median"),
    ],
    { line: { value: 80, label: "CompactorDurationAlarm" } },
  ),
  graph("Compaction duration (ms) and publish window (ms)", [
    ours(METRICS.compactionDuration, "Maximum"),
    ours(METRICS.publishWindow, "Maximum"),
  ]),
  graph("Lambda errors and throttles", [
    lambda("Errors", ingestSubscriber.nodes.function.name, "ingest errors"),
    lambda("Errors", sweepFunction.name, "sweep errors"),
    lambda("Errors", compactorName, "compactor errors"),
    lambda("Throttles", compactorName, "compactor throttles"),
    ours(METRICS.sweepErrors, "Sum"),
  ]),
  graph("Sweep invocations", [lambda("Invocations", sweepFunction.name, "sweep invocations")], {
    period: thresholds.sweepSeconds,
  }),
  graph("Queues: messages waiting", [
    sqs("ApproximateNumberOfMessagesVisible", ingestQueue.nodes.queue.name, "ingest"),
    sqs("ApproximateNumberOfMessagesVisible", compactionQueue.nodes.queue.name, "compaction"),
    sqs("ApproximateNumberOfMessagesVisible", ingestDlq.nodes.queue.name, "ingest DLQ"),
    sqs("ApproximateNumberOfMessagesVisible", compactionDlq.nodes.queue.name, "compaction DLQ"),
  ]),
  {
    type: "alarm",
    width: 2 * WIDTH,
    height: 4,
    properties: { title: "Alarms", alarms: allAlarms.map((a) => a.arn) },
  },
];

export const dashboard = new aws.cloudwatch.Dashboard("Dashboard", {
  dashboardName: `compacter-${stage}`,
  dashboardBody: $jsonStringify({ widgets }),
});
