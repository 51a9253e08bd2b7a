import { createAwsClients, IngestConsumer } from "@compacter/aws";
import { loadConfig, noFaults } from "@compacter/core";
import { createRuntime } from "@compacter/wiring";
import { startMeasure } from "./measure.js";
import type { IngestResult, IngestTask } from "./types.js";

/** The IngestConsumer draining a full ingest queue: notifications per second against the local stack. */
export async function runIngestTask(task: IngestTask): Promise<IngestResult> {
  const config = loadConfig({ env: process.env });
  const clients = createAwsClients();
  const runtime = createRuntime(config, { clients, faults: noFaults });
  let messages = 0;
  let registered = 0;
  let done: () => void = () => {};
  let fail: (error: Error) => void = () => {};
  const finished = new Promise<void>((resolve, reject) => {
    done = resolve;
    fail = reject;
  });
  const consumer = new IngestConsumer({
    sqs: clients.sqs,
    queueUrl: config.ingestQueueUrl,
    ingest: { store: runtime.store, config, log: runtime.log },
    deadLetters: runtime.ingestDeadLetters,
    onBatch: (dispositions) => {
      for (const d of dispositions) {
        if (d.status !== "done") fail(new Error(`ingest failed: ${JSON.stringify(d)}`));
        else registered += d.result.records.filter((r) => r.outcome === "registered").length;
      }
      messages += dispositions.length;
      if (messages >= task.expected) done();
    },
  });
  try {
    const measure = startMeasure();
    consumer.start();
    await finished;
    const measured = measure.stop();
    return { measure: measured, messages, registered, loops: config.ingestConcurrency };
  } finally {
    await consumer.stop();
    runtime.close();
    clients.destroy();
  }
}
