/**
 * A message in a dead-letter queue means a notification or a compaction job that could not be
 * handled: someone has to look. One alarm per DLQ, published to one topic.
 */
import { stage } from "./deployConfig.js";
import { compactionDlq, ingestDlq } from "./queues.js";

export const alarmTopic = new sst.aws.SnsTopic("Alarms");

if (stage.alarmEmail !== "") {
  new aws.sns.TopicSubscription("AlarmEmail", {
    topic: alarmTopic.arn,
    protocol: "email",
    endpoint: stage.alarmEmail,
  });
}

function dlqDepthAlarm(name: string, dlq: sst.aws.Queue, what: string) {
  return new aws.cloudwatch.MetricAlarm(name, {
    alarmDescription: `${what} are in the dead-letter queue; see docs/deploy.md ("When an alarm fires").`,
    namespace: "AWS/SQS",
    metricName: "ApproximateNumberOfMessagesVisible",
    dimensions: { QueueName: dlq.nodes.queue.name },
    statistic: "Maximum",
    period: 300,
    evaluationPeriods: 1,
    threshold: 0,
    comparisonOperator: "GreaterThanThreshold",
    // An empty queue stops reporting after a while; silence is not a problem.
    treatMissingData: "notBreaching",
    alarmActions: [alarmTopic.arn],
    okActions: [alarmTopic.arn],
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
