/**
 * The shapes of the Lambda functions and the queue timings that depend on them, as plain
 * data: the SST modules build resources from these numbers, and test/infra checks the
 * relations between them without the SST runtime. The function and queue numbers live in
 * @compacter/core's deploy/lambdaShape.ts, which the local Lambda runner reads too.
 */
import { COMPACTOR_SHAPE, INGEST_SHAPE, SWEEP_SHAPE } from "../packages/core/src/deploy/lambdaShape.js";
import duckdbPackage from "../packages/duckdb/package.json" with { type: "json" };

/**
 * Lambda deprecates nodejs20.x in 2026 (no new functions, then no updates); 22 is the oldest
 * runtime that stays deployable, and the code runs unchanged on it.
 */
export const LAMBDA_RUNTIME = "nodejs22.x";

/** The DuckDB binding the compactor ships is the linux-x64 glibc one (Lambda is Amazon Linux). */
export const LAMBDA_ARCHITECTURE = "x86_64";

export const INGEST = INGEST_SHAPE;

/** AWS's rule for a queue drained by Lambda: at least six times the function timeout plus the batching window. */
export const INGEST_QUEUE_VISIBILITY_SECONDS = INGEST_SHAPE.visibilityTimeoutSeconds;

export const COMPACTOR = {
  ...COMPACTOR_SHAPE,
  /** Lambda's maximum; the stage may choose less (COMPACTER_COMPACTOR_MEMORY_MB). */
  defaultMemoryMb: COMPACTOR_SHAPE.memoryMb,
} as const;

/** Six times the compactor's timeout (see COMPACTOR_SHAPE in @compacter/core). */
export const COMPACTION_QUEUE_VISIBILITY_SECONDS = COMPACTOR_SHAPE.visibilityTimeoutSeconds;

export const SWEEP = SWEEP_SHAPE;

/** Main queues keep messages a week, DLQs the SQS maximum, so a DLQ message outlives its source's clock. */
export const QUEUE_RETENTION_SECONDS = 7 * 86_400;
export const DLQ_RETENTION_SECONDS = 14 * 86_400;

/** Staged outputs older than this are garbage: every commit publishes or abandons them within minutes. */
export const STAGING_EXPIRY_DAYS = 3;
export const ABORT_MULTIPART_AFTER_DAYS = 1;

const duckdbVersion = duckdbPackage.dependencies["@duckdb/node-api"];

/**
 * Packages SST installs next to the compactor's bundle instead of bundling (native code).
 * Versions are pinned to what @compacter/duckdb is tested with: SST's array form installs
 * `*`, i.e. whatever is newest on the day of the deploy. The platform binding is listed
 * explicitly because npm treats it as an optional dependency and, when the deploying machine
 * is not Linux (a Mac), cannot tell which libc the target has and silently skips it; a
 * direct dependency is installed because SST runs `npm install --force`.
 */
export const COMPACTOR_NODEJS_INSTALL = {
  "@duckdb/node-api": duckdbVersion,
  "@duckdb/node-bindings-linux-x64": duckdbVersion,
} as const;

/**
 * The Fargate compactor, for partitions Lambda cannot finish in 15 minutes or 10 GB of disk:
 * 8 vCPU / 32 GB (≈ $0.47 an hour in us-east-1, billed per second while a task runs) and
 * Fargate's largest ephemeral disk.
 */
export const FARGATE_COMPACTOR = {
  cpu: "8 vCPU",
  memoryGb: 32,
  storageGb: 200,
} as const;
