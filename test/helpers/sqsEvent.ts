import type { SQSEvent, SQSRecord } from "aws-lambda";

/** An SQS event as Lambda's event source mapping delivers it, for calling handlers directly. */
export function sqsEvent(
  messages: readonly { messageId: string; body: string }[],
  source: { queueArn: string; region?: string },
): SQSEvent {
  return {
    Records: messages.map(
      ({ messageId, body }): SQSRecord => ({
        messageId,
        receiptHandle: `rh-${messageId}`,
        body,
        attributes: {
          ApproximateReceiveCount: "1",
          SentTimestamp: "0",
          SenderId: "s",
          ApproximateFirstReceiveTimestamp: "0",
        },
        messageAttributes: {},
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: source.queueArn,
        awsRegion: source.region ?? "us-east-1",
      }),
    ),
  };
}
