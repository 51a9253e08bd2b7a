import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { type CompactionJob, encodeCompactionJob, type JobQueue } from "@compacter/core";
import { PartialBatchError } from "../errors.js";

/** The compaction queue: one message per partition, sent in batches of 10. */
export class SqsJobQueue implements JobQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async sendCompactionJobs(jobs: readonly CompactionJob[]): Promise<void> {
    for (let i = 0; i < jobs.length; i += 10) {
      const batch = jobs.slice(i, i + 10);
      const result = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((job, index) => ({ Id: String(index), MessageBody: encodeCompactionJob(job) })),
        }),
      );
      if (result.Failed && result.Failed.length > 0) {
        const first = result.Failed[0];
        throw new PartialBatchError(
          `could not queue ${result.Failed.length} compaction job(s): ${first?.Code ?? ""} ${first?.Message ?? ""}`,
          { callerAtFault: result.Failed.every((entry) => entry.SenderFault === true) },
        );
      }
    }
  }
}
