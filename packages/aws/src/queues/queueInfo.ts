import { GetQueueAttributesCommand, GetQueueUrlCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { CompacterError, ConfigError } from "@compacter/core";

/** Approximate counts, as SQS reports them (eventually consistent, for operators). */
export interface QueueDepth {
  readonly queueUrl: string;
  /** Waiting to be received. */
  readonly visible: number;
  /** Received, not yet deleted (being worked on, or waiting out a visibility timeout). */
  readonly inFlight: number;
  readonly delayed: number;
}

export async function getQueueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
      ],
    }),
  );
  return {
    queueUrl,
    visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

/**
 * The dead-letter queue a queue's RedrivePolicy names, as a URL; undefined when the queue
 * has no redrive policy. The policy holds an ARN (`arn:aws:sqs:{region}:{account}:{name}`),
 * which GetQueueUrl turns into the URL the other SQS calls need.
 */
export async function findDeadLetterQueueUrl(sqs: SQSClient, queueUrl: string): Promise<string | undefined> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["RedrivePolicy"] }),
  );
  if (!Attributes.RedrivePolicy) return undefined;
  const policy = JSON.parse(Attributes.RedrivePolicy) as { deadLetterTargetArn?: string };
  if (!policy.deadLetterTargetArn) return undefined;
  return queueUrlOfArn(sqs, policy.deadLetterTargetArn);
}

export async function queueUrlOfArn(sqs: SQSClient, queueArn: string): Promise<string> {
  const parts = queueArn.split(":");
  const name = parts[5];
  const account = parts[4];
  if (parts.length !== 6 || parts[2] !== "sqs" || !name)
    throw new ConfigError(`'${queueArn}' is not an SQS queue ARN (arn:aws:sqs:<region>:<account>:<name>)`);
  const { QueueUrl } = await sqs.send(
    new GetQueueUrlCommand({ QueueName: name, ...(account ? { QueueOwnerAWSAccountId: account } : {}) }),
  );
  // GetQueueUrl answered without a URL: an emulator's or a transient fault, worth another try.
  if (!QueueUrl) throw new CompacterError(`no URL for queue ${queueArn}`, { retryable: true });
  return QueueUrl;
}
