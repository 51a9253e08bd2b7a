import type { CompacterConfig, Logger } from "@compacter/core";
import { SETTINGS } from "@compacter/core";
import type { TimeScale } from "@compacter/functions";
import type { LocalStack } from "@compacter/local";
import type { WorkerCounters } from "./demo.js";

/**
 * `compacter dev --runtime lambda`: instead of the long-running worker, the three deployed
 * handlers run as AWS runs them (packages/functions/src/local): an event source mapping
 * per queue, the sweep on its schedule, function timeouts, the queues' visibility as
 * deployed. Durations are the deployed ones ×1/20 (the compactor's 15 min becomes 45 s,
 * the one-minute schedule 3 s), never under 3 s, so the demo finishes in about a minute.
 */
export const DEV_LAMBDA_TIME_SCALE: TimeScale = { factor: 1 / 20, floorMs: 3_000 };

export async function startLambdaShape(input: {
  readonly stack: LocalStack;
  /** The dev stack's environment: endpoints, resources and the settings given. */
  readonly env: Readonly<Record<string, string>>;
  readonly config: CompacterConfig;
  readonly log: Logger;
  readonly counters: WorkerCounters;
  readonly onCompacted?: (partitions: readonly string[]) => void;
}): Promise<{ stop(): Promise<void> }> {
  const { functionEnvironment, LambdaRunner, loadDeployedHandlers, scaledShape } = await import(
    "@compacter/functions"
  );
  const { config, counters, log } = input;
  const settingsEnv = {
    ...input.env,
    [SETTINGS.tempDir.env]: config.tempDir,
    [SETTINGS.logLevel.env]: input.env[SETTINGS.logLevel.env] ?? "warn",
  };
  const handlers = await loadDeployedHandlers(
    functionEnvironment(config, settingsEnv, DEV_LAMBDA_TIME_SCALE),
  );
  const runner = new LambdaRunner({
    sqs: input.stack.clients.sqs,
    config,
    handlers,
    timeScale: DEV_LAMBDA_TIME_SCALE,
    log,
    onInvocation: (invocation) => {
      if (!("messageIds" in invocation) || invocation.result !== "ok") return;
      if (invocation.function === "ingest") counters.filesIngested += invocation.deleted.length;
      if (invocation.function === "compactor" && invocation.deleted.length > 0) {
        // One job message is one compactor run for one partition.
        counters.compactionRuns += invocation.deleted.length;
        const partitions = invocation.bodies.map((body) => {
          const job = JSON.parse(body) as { day?: string; district?: string };
          return `hiveperiod=${job.day}/district=${job.district}`;
        });
        for (const p of partitions) counters.partitionsCompacted.add(p);
        input.onCompacted?.(partitions);
      }
    },
  });
  await runner.start();
  const shape = scaledShape(config, DEV_LAMBDA_TIME_SCALE);
  log.info("lambda shape running", {
    compactorTimeoutMs: shape.compactor.timeoutMs,
    sweepEveryMs: shape.sweep.everyMs,
  });
  return { stop: () => runner.stop() };
}
