/**
 * Alarms: everything that means "the lake stops being current, and nobody is told" gets one,
 * published to one topic. Thresholds come from infra/monitoring.ts (derived from the deploy's
 * settings); each alarm's description names its runbook section in docs/deploy.md.
 *
 *   LakeFreshnessAlarm      the headline: raw files overdue longer than any healthy path explains
 *   SweepMissingAlarm       no sweep invocation for 3 intervals (a disabled or deleted schedule)
 *   SweepErrorsAlarm        the sweep failed in 3 intervals in a row (EventBridge drops a failed run after two retries)
 *   CompactorErrorsAlarm    a compaction invocation failed (retried by SQS; the DLQ alarm follows if it keeps failing)
 *   CompactorThrottlesAlarm Lambda refused compactor invocations (account concurrency)
 *   CompactorDurationAlarm  a compaction used over 80% of the function's timeout
 *   IngestQueueAgeAlarm     the ingest queue's oldest notification is old: ingest stuck or failing
 *   FailingPartitionsAlarm  a partition's compactions kept failing past its first back-off
 *   IngestDlqAlarm / CompactionDlqAlarm  messages in a dead-letter queue
 */
import { METRICS, METRICS_NAMESPACE, STAGE_DIMENSION } from "../packages/core/src/observability/metrics.js";
import { stage, workerConfig } from "./deployConfig.js";
import { compactorSubscriber, sweepFunction } from "./functions.js";
import { alarmThresholds } from "./monitoring.js";
import { compactionDlq, ingestDlq, ingestQueue } from "./queues.js";

export const alarmTopic = new sst.aws.SnsTopic("Alarms");

if (stage.alarmEmail !== "") {
  new aws.sns.TopicSubscription("AlarmEmail", {
    topic: alarmTopic.arn,
    protocol: "email",
    endpoint: stage.alarmEmail,
  });
}

export const thresholds = alarmThresholds(workerConfig);

interface AlarmSpec {
  /** What it means, in one line; the runbook section says what to do. */
  readonly what: string;
  /** Heading of its section in docs/deploy.md. */
  readonly runbook: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Record<string, $util.Input<string>>;
  readonly statistic: "Maximum" | "Minimum" | "Sum";
  readonly period: number;
  readonly evaluationPeriods: number;
  readonly threshold: number;
  readonly comparisonOperator: "GreaterThanThreshold" | "LessThanThreshold";
  readonly treatMissingData: "notBreaching" | "breaching" | "missing";
}

function alarm(name: string, spec: AlarmSpec) {
  const { what, runbook, ...metric } = spec;
  return new aws.cloudwatch.MetricAlarm(name, {
    alarmDescription: `${what}. Runbook: docs/deploy.md, "When an alarm fires" → "${runbook}".`,
    ...metric,
    alarmActions: [alarmTopic.arn],
    okActions: [alarmTopic.arn],
  });
}

const stageDimension = { [STAGE_DIMENSION]: $app.stage };
const compactorName = compactorSubscriber.nodes.function.name;

export const lakeFreshnessAlarm = alarm("LakeFreshnessAlarm", {
  what: `Raw files are more than ${thresholds.lakeFreshnessSeconds} s past due and still not in the lake`,
  runbook: "LakeFreshnessAlarm",
  namespace: METRICS_NAMESPACE,
  metricName: METRICS.lakeFreshness.name,
  dimensions: stageDimension,
  statistic: "Maximum",
  period: thresholds.sweepSeconds,
  evaluationPeriods: 1,
  threshold: thresholds.lakeFreshnessSeconds,
  comparisonOperator: "GreaterThanThreshold",
  // No figure means no sweep: SweepMissingAlarm says so; this one keeps its state.
  treatMissingData: "missing",
});

export const sweepMissingAlarm = alarm("SweepMissingAlarm", {
  what: `The sweep has not run for ${thresholds.sweepIntervals} intervals: nothing is being compacted`,
  runbook: "SweepMissingAlarm",
  namespace: "AWS/Lambda",
  metricName: "Invocations",
  dimensions: { FunctionName: sweepFunction.name },
  statistic: "Sum",
  period: thresholds.sweepSeconds,
  evaluationPeriods: thresholds.sweepIntervals,
  threshold: 1,
  comparisonOperator: "LessThanThreshold",
  // Lambda reports no datapoint for a minute without invocations: that silence is the problem.
  treatMissingData: "breaching",
});

export const sweepErrorsAlarm = alarm("SweepErrorsAlarm", {
  what: `The sweep failed in ${thresholds.sweepIntervals} intervals in a row`,
  runbook: "SweepErrorsAlarm",
  namespace: "AWS/Lambda",
  metricName: "Errors",
  dimensions: { FunctionName: sweepFunction.name },
  statistic: "Sum",
  period: thresholds.sweepSeconds,
  evaluationPeriods: thresholds.sweepIntervals,
  threshold: 0,
  comparisonOperator: "GreaterThanThreshold",
  treatMissingData: "notBreaching",
});

export const compactorErrorsAlarm = alarm("CompactorErrorsAlarm", {
  what: "A compaction invocation failed (SQS retries it; the compaction DLQ alarm follows if it keeps failing)",
  runbook: "CompactorErrorsAlarm",
  namespace: "AWS/Lambda",
  metricName: "Errors",
  dimensions: { FunctionName: compactorName },
  statistic: "Sum",
  period: thresholds.periodSeconds,
  evaluationPeriods: 1,
  threshold: 0,
  comparisonOperator: "GreaterThanThreshold",
  treatMissingData: "notBreaching",
});

export const compactorThrottlesAlarm = alarm("CompactorThrottlesAlarm", {
  what: "Lambda throttled compactor invocations",
  runbook: "CompactorThrottlesAlarm",
  namespace: "AWS/Lambda",
  metricName: "Throttles",
  dimensions: { FunctionName: compactorName },
  statistic: "Sum",
  period: thresholds.periodSeconds,
  evaluationPeriods: 1,
  threshold: 0,
  comparisonOperator: "GreaterThanThreshold",
  treatMissingData: "notBreaching",
});

export const compactorDurationAlarm = alarm("CompactorDurationAlarm", {
  what: "A compaction used more than 80% of the compactor's timeout",
  runbook: "CompactorDurationAlarm",
  namespace: "AWS/Lambda",
  metricName: "Duration",
  dimensions: { FunctionName: compactorName },
  statistic: "Maximum",
  period: thresholds.periodSeconds,
  evaluationPeriods: 1,
  threshold: thresholds.compactorDurationMs,
  comparisonOperator: "GreaterThanThreshold",
  treatMissingData: "notBreaching",
});

export const ingestQueueAgeAlarm = alarm("IngestQueueAgeAlarm", {
  what: `The oldest S3 notification in the ingest queue is over ${thresholds.ingestQueueAgeSeconds} s old`,
  runbook: "IngestQueueAgeAlarm",
  namespace: "AWS/SQS",
  metricName: "ApproximateAgeOfOldestMessage",
  dimensions: { QueueName: ingestQueue.nodes.queue.name },
  statistic: "Maximum",
  period: thresholds.periodSeconds,
  evaluationPeriods: 1,
  threshold: thresholds.ingestQueueAgeSeconds,
  comparisonOperator: "GreaterThanThreshold",
  treatMissingData: "notBreaching",
});

export const failingPartitionsAlarm = alarm("FailingPartitionsAlarm", {
  what: `A partition's compactions have kept failing for ${thresholds.failingForSeconds} s (past its first back-off)`,
  runbook: "FailingPartitionsAlarm",
  namespace: METRICS_NAMESPACE,
  metricName: METRICS.failingPartitions.name,
  dimensions: stageDimension,
  statistic: "Minimum",
  period: thresholds.periodSeconds,
  evaluationPeriods: thresholds.failingForSeconds / thresholds.periodSeconds,
  threshold: 0,
  comparisonOperator: "GreaterThanThreshold",
  // Published by every sweep: silence is SweepMissingAlarm's business.
  treatMissingData: "missing",
});

function dlqDepthAlarm(name: string, dlq: sst.aws.Queue, what: string) {
  return alarm(name, {
    what: `${what} are in the dead-letter queue`,
    runbook: name,
    namespace: "AWS/SQS",
    metricName: "ApproximateNumberOfMessagesVisible",
    dimensions: { QueueName: dlq.nodes.queue.name },
    statistic: "Maximum",
    period: thresholds.periodSeconds,
    evaluationPeriods: 1,
    threshold: 0,
    comparisonOperator: "GreaterThanThreshold",
    // An empty queue stops reporting after a while; silence is not a problem.
    treatMissingData: "notBreaching",
  });
}

export const ingestDlqAlarm = dlqDepthAlarm(
  "IngestDlqAlarm",
  ingestDlq,
  "S3 notifications that ingest cannot handle",
);
export const compactionDlqAlarm = dlqDepthAlarm(
  "CompactionDlqAlarm",
  compactionDlq,
  "Compaction jobs that failed on every attempt",
);

/** Every alarm, for the dashboard's alarm status widget. */
export const allAlarms = [
  lakeFreshnessAlarm,
  sweepMissingAlarm,
  sweepErrorsAlarm,
  compactorErrorsAlarm,
  compactorThrottlesAlarm,
  compactorDurationAlarm,
  ingestQueueAgeAlarm,
  failingPartitionsAlarm,
  ingestDlqAlarm,
  compactionDlqAlarm,
];
