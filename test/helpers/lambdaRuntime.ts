import { silentLogger } from "@compacter/core";
import {
  functionEnvironment,
  LambdaRunner,
  loadDeployedHandlers,
  type ScheduledInvocation,
  type SqsInvocation,
  scaledShape,
  type TimeScale,
} from "@compacter/functions";
import type { CompactionHarness } from "./compactionHarness.js";
import type { TestLocalStack } from "./localStack.js";

/**
 * The deployed Lambda shape on a harness's resources, as `compacter dev --runtime lambda`
 * runs it (packages/functions/src/local): the real handler modules with SST_RESOURCE_*
 * links, event source mappings, the scheduled sweep, function timeouts. Handler modules
 * keep their cold-start state per process, so one test file starts one of these.
 */
export interface TestLambdaRuntime {
  readonly runner: LambdaRunner;
  readonly invocations: (SqsInvocation | ScheduledInvocation)[];
  readonly shape: ReturnType<typeof scaledShape>;
  /** Invocations of one function. */
  of(name: "ingest" | "compactor"): SqsInvocation[];
  sweeps(): ScheduledInvocation[];
  stop(): Promise<void>;
}

/** Seconds where AWS has minutes: timeouts 2.5 s, so a compaction job's visibility is 15 s. */
export const TEST_TIME_SCALE: TimeScale = { factor: 1 / 1000, floorMs: 2500 };

export async function startLambdaRuntime(
  stack: TestLocalStack,
  h: CompactionHarness,
  scale: TimeScale = TEST_TIME_SCALE,
): Promise<TestLambdaRuntime> {
  const handlers = await loadDeployedHandlers(functionEnvironment(h.config, h.env, scale));
  const invocations: (SqsInvocation | ScheduledInvocation)[] = [];
  const runner = new LambdaRunner({
    sqs: stack.clients.sqs,
    config: h.config,
    handlers,
    timeScale: scale,
    log: silentLogger,
    onInvocation: (invocation) => invocations.push(invocation),
  });
  await runner.start();
  return {
    runner,
    invocations,
    shape: scaledShape(h.config, scale),
    of: (name) => invocations.filter((i): i is SqsInvocation => i.function === name && "messageIds" in i),
    sweeps: () => invocations.filter((i): i is ScheduledInvocation => i.function === "sweep"),
    stop: () => runner.stop(),
  };
}
