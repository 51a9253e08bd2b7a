import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { Logger } from "@compacter/core";
import { findDeadLetterQueueUrl, queueUrlOfArn } from "../queues/queueInfo.js";

/**
 * Sends a message that can never succeed straight to the dead-letter queue, so it doesn't
 * go round `maxReceiveCount` times first. The DLQ is the configured one, else the one the
 * source queue's RedrivePolicy names (looked up once).
 */
export interface DeadLetterSource {
  /** `ingestDlqUrl`; wins when set. */
  readonly dlqUrl?: string;
  /** The queue the message came from (its RedrivePolicy names the DLQ). */
  readonly queueUrl?: string;
  /** Same, as an ARN: a Lambda event names its queue only by ARN. */
  readonly queueArn?: string;
}

export interface PoisonMessage {
  readonly messageId: string;
  readonly body: string;
  readonly reason: string;
}

/** Message attributes a DLQ message carries so an operator sees why it is there. */
export const DEAD_LETTER_ATTRIBUTE = {
  reason: "compacter-reason",
  sourceMessageId: "compacter-source-message-id",
} as const;

const MAX_REASON_CHARS = 1000;

export class DeadLetters {
  private resolved: Promise<string | undefined> | undefined;

  constructor(
    private readonly sqs: SQSClient,
    private readonly source: DeadLetterSource,
    private readonly log: Logger,
  ) {}

  /** The DLQ's URL, or undefined when none is configured or named by a redrive policy. */
  url(): Promise<string | undefined> {
    this.resolved ??= this.resolve().catch((error: unknown) => {
      // Not cached: a transient failure must not disable dead-lettering for the process.
      this.resolved = undefined;
      throw error;
    });
    return this.resolved;
  }

  /**
   * Moves the message to the DLQ; the caller deletes the original afterwards. Returns
   * false when there is no DLQ or sending failed: the message is then left to the
   * queue's redrive policy.
   */
  async send(message: PoisonMessage): Promise<boolean> {
    let url: string | undefined;
    try {
      url = await this.url();
    } catch (error) {
      this.log.error("could not find the dead-letter queue; leaving the message to the redrive policy", {
        messageId: message.messageId,
        error,
      });
      return false;
    }
    if (!url) {
      this.log.error("no dead-letter queue configured or in the queue's redrive policy", {
        messageId: message.messageId,
        reason: message.reason,
      });
      return false;
    }
    try {
      await this.sqs.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: message.body === "" ? "(empty body)" : message.body,
          MessageAttributes: {
            [DEAD_LETTER_ATTRIBUTE.reason]: {
              DataType: "String",
              StringValue: message.reason.slice(0, MAX_REASON_CHARS),
            },
            [DEAD_LETTER_ATTRIBUTE.sourceMessageId]: { DataType: "String", StringValue: message.messageId },
          },
        }),
      );
      return true;
    } catch (error) {
      this.log.error("could not send the message to the dead-letter queue", {
        messageId: message.messageId,
        error,
      });
      return false;
    }
  }

  private async resolve(): Promise<string | undefined> {
    if (this.source.dlqUrl) return this.source.dlqUrl;
    const queueUrl =
      this.source.queueUrl ??
      (this.source.queueArn ? await queueUrlOfArn(this.sqs, this.source.queueArn) : undefined);
    return queueUrl ? findDeadLetterQueueUrl(this.sqs, queueUrl) : undefined;
  }
}
