import { emfMetricsFor } from "@compacter/aws";
import { silentLogger } from "@compacter/core";
import { createDuckDbEngine } from "@compacter/duckdb";
import { createRuntime, Worker } from "@compacter/wiring";
import type { CompactionHarness } from "./compactionHarness.js";
import { startLambdaRuntime } from "./lambdaRuntime.js";
import type { TestLocalStack } from "./localStack.js";

/**
 * The two runtime shapes a test can run the service in, behind one face, so a guarantee
 * is written once and proven in both (`describe.each(RUNTIME_SHAPES)`):
 * - "worker": `compacter run`'s Worker in-process (sqs-consumer loops, its own sweep timer);
 * - "lambda": the deployed handlers under the local Lambda runner (test/helpers/lambdaRuntime.ts).
 */
export type RuntimeShapeName = "worker" | "lambda";
export const RUNTIME_SHAPES: readonly RuntimeShapeName[] = ["lambda", "worker"];

export interface RunningShape {
  /** Sweep runs so far. */
  sweeps(): number;
  /** Jobs the sweep sent for a partition ("day/district") so far. */
  sweepSends(partitionLabel: string): number;
  /** ApproximateReceiveCount of each receive of the first job for a district, where the shape can see it. */
  receivesOfFirstJob(district: string): number[] | undefined;
  /** How each compactor invocation ended ("ok", "error", "timeout"), where the shape can see it. */
  compactorResults(): string[] | undefined;
  stop(): Promise<void>;
}

/**
 * Settings a shape needs from the harness: the worker asks for a short visibility and a
 * quick sweep itself; the Lambda shape takes both from the deployed shape (time-scaled).
 */
export const SHAPE_SETTINGS = { visibilityTimeoutMs: "5s", sweepIntervalMs: "1s", pollWaitMs: "1s" } as const;

export async function startShape(
  name: RuntimeShapeName,
  stack: TestLocalStack,
  h: CompactionHarness,
): Promise<RunningShape> {
  if (name === "lambda") {
    const rt = await startLambdaRuntime(stack, h);
    const sent = (value: unknown) => (value as { sent?: string[] } | undefined)?.sent ?? [];
    return {
      sweeps: () => rt.sweeps().length,
      sweepSends: (label) => rt.sweeps().filter((s) => sent(s.value).includes(label)).length,
      receivesOfFirstJob: (district) => {
        const jobs = rt.of("compactor").filter((i) => i.bodies.some((b) => b.includes(`"${district}"`)));
        const first = jobs[0]?.messageIds[0];
        return jobs.filter((i) => i.messageIds[0] === first).map((i) => i.receiveCounts[0] ?? 0);
      },
      compactorResults: () => rt.of("compactor").map((i) => i.result),
      stop: () => rt.stop(),
    };
  }
  Object.assign(process.env, h.env); // for in-process CLI calls (status, retry)
  // Metrics where the Lambda shape's handlers write them: COMPACTER_METRICS_FILE, if the test set one.
  const runtime = createRuntime(h.config, {
    clients: stack.clients,
    log: silentLogger,
    ...(h.config.metricsFile ? { metrics: emfMetricsFor(h.config) } : {}),
  });
  const engine = createDuckDbEngine();
  const sweeps: (readonly string[])[] = [];
  const worker = new Worker(runtime, engine, { onSweep: (result) => sweeps.push(result.sent) });
  worker.start();
  return {
    sweeps: () => sweeps.length,
    sweepSends: (label) => sweeps.filter((sent) => sent.includes(label)).length,
    receivesOfFirstJob: () => undefined,
    compactorResults: () => undefined,
    stop: async () => {
      await worker.stop();
      await engine.close();
      runtime.close();
    },
  };
}
