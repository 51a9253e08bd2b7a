/**
 * The deployed Lambda shape as plain data: the SST program (infra/sizing.ts re-exports
 * these) builds the functions, event source mappings and queues from it, and the local
 * Lambda runner (`compacter dev --runtime lambda`) polls, invokes and times out from the
 * same numbers — so a test of the runner is a test of what gets deployed. The queues'
 * maxReceiveCount comes from the settings (`compactionMaxReceiveCount`,
 * `ingestMaxReceiveCount`), which both read as well. No SST globals, no I/O.
 */
export interface QueueFunctionShape {
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** Messages per invocation (the event source mapping's batch size). */
  readonly batchSize: number;
  /** How long the mapping gathers a batch before invoking (0: invoke as soon as there is one). */
  readonly batchWindowSeconds: number;
  /** ReportBatchItemFailures: only the messages the handler lists as failed come back. */
  readonly partialResponses: boolean;
  /** The queue's visibility timeout: AWS asks for 6 × the function timeout + the batching window. */
  readonly visibilityTimeoutSeconds: number;
}

/** AWS's rule for a queue a Lambda function drains. */
export function queueVisibilitySeconds(timeoutSeconds: number, batchWindowSeconds: number): number {
  return 6 * timeoutSeconds + batchWindowSeconds;
}

const INGEST_TIMEOUT_SECONDS = 60;
const INGEST_BATCH_WINDOW_SECONDS = 5;

export const INGEST_SHAPE = {
  timeoutSeconds: INGEST_TIMEOUT_SECONDS,
  memoryMb: 512,
  batchSize: 10,
  /** Fewer, fuller invocations during a burst; latency is irrelevant next to `closeAfter`. */
  batchWindowSeconds: INGEST_BATCH_WINDOW_SECONDS,
  partialResponses: true,
  visibilityTimeoutSeconds: queueVisibilitySeconds(INGEST_TIMEOUT_SECONDS, INGEST_BATCH_WINDOW_SECONDS),
} as const satisfies QueueFunctionShape;

/** Lambda's maximum. Partitions that need longer belong on the Fargate task. */
const COMPACTOR_TIMEOUT_SECONDS = 900;

export const COMPACTOR_SHAPE = {
  timeoutSeconds: COMPACTOR_TIMEOUT_SECONDS,
  /** Lambda's maximum; memory also buys vCPUs (6 at 10 GB). The stage may choose less. */
  memoryMb: 10_240,
  /** Lambda's maximum /tmp: downloads, staged Parquet and DuckDB's spill files live there. */
  storageMb: 10_240,
  /** One partition per invocation: a failure retries exactly that partition. */
  batchSize: 1,
  batchWindowSeconds: 0,
  /** Without it Lambda deletes a job whose failure the handler reports: it would never reach the DLQ. */
  partialResponses: true,
  /**
   * Never handed to a second invocation while the first still works on it. A failed or
   * killed run's job comes back after this; the sweep's queued mark (maxReceiveCount × this,
   * compaction/failures.ts) keeps it from sending the partition again meanwhile.
   */
  visibilityTimeoutSeconds: queueVisibilitySeconds(COMPACTOR_TIMEOUT_SECONDS, 0),
  /** Share of the function's memory DuckDB may use before it spills; the rest is Node and buffers. */
  duckdbMemoryShare: 0.75,
} as const satisfies QueueFunctionShape & Record<string, unknown>;

export const SWEEP_SHAPE = {
  timeoutSeconds: 120,
  memoryMb: 512,
  /** EventBridge invokes a scheduled function asynchronously: an error is retried twice, then the event is dropped. */
  asyncRetries: 2,
} as const;

/** EventBridge's finest rate is one minute; a longer sweep interval is honoured in whole minutes. */
export function sweepScheduleMinutes(sweepIntervalMs: number): number {
  return Math.max(1, Math.ceil(sweepIntervalMs / 60_000));
}
