import type { Logger } from "@compacter/core";
import type { Context } from "aws-lambda";

/**
 * What every log line of one Lambda invocation carries: the request id (to find the
 * invocation's REPORT line, its X-Ray trace, its retries) and whether it was a cold start
 * (a slow first invocation explains itself). The first invocation of a container is cold.
 */
let coldStart = true;

export function invocationLog(log: Logger, context: Context | undefined): Logger {
  const fields = { requestId: context?.awsRequestId, coldStart };
  coldStart = false;
  return log.child(fields);
}

/**
 * The time this invocation has left, read at its start: with one job per invocation, that
 * is the function's timeout, against which a compaction's duration is measured.
 */
export function invocationBudgetMs(context: Context | undefined, fallbackMs: number): number {
  const remaining = context?.getRemainingTimeInMillis?.();
  return typeof remaining === "number" && remaining > 0 ? remaining : fallbackMs;
}
