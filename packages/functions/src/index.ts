export type { SqsInvocation } from "./local/EventSourceMapping.js";
export {
  AS_DEPLOYED,
  type DeployedHandlers,
  functionEnvironment,
  LambdaRunner,
  type LambdaRunnerOptions,
  loadDeployedHandlers,
  scaledShape,
  type TimeScale,
} from "./local/LambdaRunner.js";
export type { ScheduledInvocation } from "./local/ScheduledInvoker.js";
