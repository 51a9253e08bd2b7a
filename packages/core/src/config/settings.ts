/**
 * Every setting Compacter reads, named once. Each has a `COMPACTER_*` environment
 * variable and a `--flag`; precedence is flag > environment > default. The README's
 * settings table and the CLI's flags are generated from this list, so a setting cannot
 * exist in one place and not the other.
 */
export type SettingKind = "string" | "duration" | "bytes" | "integer" | "offset" | "boolean";

export interface SettingSpec {
  readonly kind: SettingKind;
  /** Environment variable. */
  readonly env: string;
  /** Default as a user would write it ("60m", "512MiB"); "" for unset. */
  readonly default: string;
  readonly description: string;
  /** Smallest accepted value for integer/duration/bytes settings. */
  readonly min?: number;
  /** Largest accepted value for integer/duration/bytes settings. */
  readonly max?: number;
  readonly group: "resources" | "layout" | "windows" | "compaction" | "worker" | "query";
}

export const SETTINGS = {
  rawBucket: {
    kind: "string",
    env: "COMPACTER_RAW_BUCKET",
    default: "compacter-raw",
    description: "Bucket the devices upload gzip'd NDJSON to.",
    group: "resources",
  },
  rawPrefix: {
    kind: "string",
    env: "COMPACTER_RAW_PREFIX",
    default: "",
    description: "Key prefix of raw files inside the raw bucket (e.g. `raw/`).",
    group: "resources",
  },
  lakeBucket: {
    kind: "string",
    env: "COMPACTER_LAKE_BUCKET",
    default: "compacter-lake",
    description: "Bucket the Parquet lake is written to (may equal the raw bucket).",
    group: "resources",
  },
  lakePrefix: {
    kind: "string",
    env: "COMPACTER_LAKE_PREFIX",
    default: "",
    description: "Key prefix of the lake (`hiveperiod=…/district=…/` follows it).",
    group: "resources",
  },
  stagingPrefix: {
    kind: "string",
    env: "COMPACTER_STAGING_PREFIX",
    default: "_staging/",
    description: "Where outputs are written before they are committed; outside the lake's Hive tree.",
    group: "resources",
  },
  manifestTable: {
    kind: "string",
    env: "COMPACTER_MANIFEST_TABLE",
    default: "compacter-manifest",
    description: "DynamoDB table holding the manifest.",
    group: "resources",
  },
  ingestQueueUrl: {
    kind: "string",
    env: "COMPACTER_INGEST_QUEUE_URL",
    default: "",
    description: "SQS queue receiving the raw bucket's S3 event notifications.",
    group: "resources",
  },
  ingestDlqUrl: {
    kind: "string",
    env: "COMPACTER_INGEST_DLQ_URL",
    default: "",
    description: "Dead-letter queue of the ingest queue (found from its redrive policy when unset).",
    group: "resources",
  },
  compactionQueueUrl: {
    kind: "string",
    env: "COMPACTER_COMPACTION_QUEUE_URL",
    default: "",
    description: "SQS queue of compaction jobs (one message per partition).",
    group: "resources",
  },
  compactionDlqUrl: {
    kind: "string",
    env: "COMPACTER_COMPACTION_DLQ_URL",
    default: "",
    description: "Dead-letter queue of the compaction queue (found from its redrive policy when unset).",
    group: "resources",
  },
  catalogDatabase: {
    kind: "string",
    env: "COMPACTER_CATALOG_DATABASE",
    default: "",
    description:
      "Glue database of the lake table; when set, the compactor keeps the table's columns and district projection in step with the type ledger.",
    group: "resources",
  },
  catalogTable: {
    kind: "string",
    env: "COMPACTER_CATALOG_TABLE",
    default: "telemetry",
    description:
      "Name of the lake's Glue/Athena table (also the name `compacter schema --athena-ddl` prints).",
    group: "resources",
  },
  keyTimeZone: {
    kind: "offset",
    env: "COMPACTER_KEY_TIME_ZONE",
    default: "+08:00",
    description: "UTC offset of the hour written in raw keys.",
    group: "layout",
  },
  partitionTimeZone: {
    kind: "offset",
    env: "COMPACTER_PARTITION_TIME_ZONE",
    default: "+08:00",
    description: "UTC offset that decides a file's `hiveperiod` day.",
    group: "layout",
  },
  closeAfterMs: {
    kind: "duration",
    env: "COMPACTER_CLOSE_AFTER",
    default: "60m",
    description: "How long after an hour ends its files are due (waits for stragglers).",
    group: "windows",
  },
  lateDebounceMs: {
    kind: "duration",
    env: "COMPACTER_LATE_DEBOUNCE",
    default: "5m",
    description: "A file arriving after its window closed is due this long after arrival.",
    group: "windows",
  },
  maxFilesPerPartition: {
    kind: "integer",
    env: "COMPACTER_MAX_FILES_PER_PARTITION",
    default: "32",
    min: 1,
    description: "An open day merges early once its partition would hold more Parquet files than this.",
    group: "compaction",
  },
  maxFileSizeBytes: {
    kind: "bytes",
    env: "COMPACTER_MAX_FILE_SIZE",
    default: "512MiB",
    min: 1,
    description: "A merged partition is split into files of about this size, never smaller.",
    group: "compaction",
  },
  maxSliceInputBytes: {
    kind: "bytes",
    env: "COMPACTER_MAX_SLICE_INPUT",
    default: "512MiB",
    min: 1,
    description:
      "A merge whose input (the day's raw gzip bytes) exceeds this runs as device-range slices of about this much each, on any number of workers, committed together.",
    group: "compaction",
  },
  maxInputFilesPerCompaction: {
    kind: "integer",
    env: "COMPACTER_MAX_INPUT_FILES_PER_COMPACTION",
    default: "1000",
    min: 1,
    description: "Raw files one compaction takes at most; the rest stay due for the next job.",
    group: "compaction",
  },
  memoryLimitBytes: {
    kind: "bytes",
    env: "COMPACTER_MEMORY_LIMIT",
    default: "2GiB",
    min: 64 * 2 ** 20,
    description: "DuckDB memory limit; above it DuckDB spills to the temp dir.",
    group: "compaction",
  },
  threads: {
    kind: "integer",
    env: "COMPACTER_THREADS",
    default: "0",
    min: 0,
    description: "DuckDB threads; 0 means one per available core.",
    group: "compaction",
  },
  tempDir: {
    kind: "string",
    env: "COMPACTER_TEMP_DIR",
    default: "",
    description: "Local scratch space for downloads, outputs and DuckDB spilling (default: OS temp dir).",
    group: "compaction",
  },
  downloadConcurrency: {
    kind: "integer",
    env: "COMPACTER_DOWNLOAD_CONCURRENCY",
    default: "16",
    min: 1,
    description: "Parallel S3 transfers per compaction.",
    group: "compaction",
  },
  zstdLevel: {
    kind: "integer",
    env: "COMPACTER_ZSTD_LEVEL",
    default: "3",
    min: 1,
    // ZSTD's highest level: the engine refuses more, which would fail every compaction, not the start.
    max: 22,
    description: "ZSTD compression level of hourly appends (replaced when their day closes).",
    group: "compaction",
  },
  mergeZstdLevel: {
    kind: "integer",
    env: "COMPACTER_MERGE_ZSTD_LEVEL",
    default: "9",
    min: 1,
    // ZSTD's highest level: the engine refuses more, which would fail every compaction, not the start.
    max: 22,
    description: "ZSTD compression level of a closed day's sorted files (kept for good).",
    group: "compaction",
  },
  maxLineBytes: {
    kind: "bytes",
    env: "COMPACTER_MAX_LINE",
    default: "4MiB",
    min: 1024,
    // DuckDB's read is told the same bound (maximum_object_size): each reader thread may
    // buffer a line this long, so it must stay well under memoryLimitBytes.
    description: "A longer raw line is skipped and counted as a bad line, never held whole in memory.",
    group: "compaction",
  },
  maxInflatedBytes: {
    kind: "bytes",
    env: "COMPACTER_MAX_INFLATED",
    default: "1GiB",
    min: 1024,
    description: "A raw file inflating past this is quarantined as a likely gzip bomb (inflation stops).",
    group: "compaction",
  },
  plainCopyBudgetBytes: {
    kind: "bytes",
    env: "COMPACTER_PLAIN_COPY_BUDGET",
    default: "0",
    min: 0,
    description:
      "Temp disk a job may fill with plain copies of the text it validated, so DuckDB need not inflate it again (~19× gzip bytes; ~10% less CPU).",
    group: "compaction",
  },
  leaseDurationMs: {
    kind: "duration",
    env: "COMPACTER_LEASE_DURATION",
    default: "5m",
    min: 1000,
    description: "A partition lease expires this long after its last renewal (renewed every third of it).",
    group: "worker",
  },
  sweepIntervalMs: {
    kind: "duration",
    env: "COMPACTER_SWEEP_INTERVAL",
    default: "60s",
    min: 100,
    description: "How often `compacter run` looks for due partitions.",
    group: "worker",
  },
  orphanSafetyAgeMs: {
    kind: "duration",
    env: "COMPACTER_ORPHAN_SAFETY_AGE",
    default: "6h",
    description: "Staged or lake objects that no generation references are deleted once older than this.",
    group: "worker",
  },
  ingestConcurrency: {
    kind: "integer",
    env: "COMPACTER_INGEST_CONCURRENCY",
    default: "4",
    min: 1,
    description: "SQS receive loops the ingest consumer runs in parallel (10 messages each).",
    group: "worker",
  },
  typeRewritesPerSweep: {
    kind: "integer",
    env: "COMPACTER_TYPE_REWRITES_PER_SWEEP",
    // 2 per minute-long sweep: a widening of a year-old lake (730 partitions of 2
    // districts) is rewritten in about 6 hours without crowding out fresh compactions.
    default: "2",
    min: 0,
    description:
      "Partitions behind the type ledger one sweep sends to be merged again (newest day first); 0 stops rewrites.",
    group: "worker",
  },
  compactionConcurrency: {
    kind: "integer",
    env: "COMPACTER_COMPACTION_CONCURRENCY",
    // 2: one slow or failing partition must not hold up every other one on the worker.
    default: "2",
    min: 1,
    description: "Partitions one process compacts at once, each with an equal share of the memory limit.",
    group: "worker",
  },
  pollWaitMs: {
    kind: "duration",
    env: "COMPACTER_POLL_WAIT",
    default: "20s",
    description: "SQS long-poll wait.",
    group: "worker",
  },
  ingestMaxReceiveCount: {
    kind: "integer",
    env: "COMPACTER_INGEST_MAX_RECEIVE_COUNT",
    default: "5",
    min: 1,
    description: "Receives before an ingest message moves to its DLQ (queue redrive policy).",
    group: "worker",
  },
  compactionMaxReceiveCount: {
    kind: "integer",
    env: "COMPACTER_COMPACTION_MAX_RECEIVE_COUNT",
    default: "3",
    min: 1,
    description: "Receives before a compaction job moves to its DLQ (queue redrive policy).",
    group: "worker",
  },
  failureBackoffBaseMs: {
    kind: "duration",
    env: "COMPACTER_FAILURE_BACKOFF_BASE",
    default: "15m",
    min: 1,
    description:
      "A partition whose compaction fails is sent again after this, doubling with each failed attempt.",
    group: "worker",
  },
  failureBackoffCapMs: {
    kind: "duration",
    env: "COMPACTER_FAILURE_BACKOFF_CAP",
    default: "6h",
    min: 1,
    description: "Longest wait between attempts at a failing partition.",
    group: "worker",
  },
  visibilityTimeoutMs: {
    kind: "duration",
    env: "COMPACTER_VISIBILITY_TIMEOUT",
    default: "60s",
    min: 1000,
    description: "Visibility timeout the consumers ask for; a heartbeat extends it for slow work.",
    group: "worker",
  },
  cacheDir: {
    kind: "string",
    env: "COMPACTER_CACHE_DIR",
    default: "",
    description:
      "Local cache of lake files for `compacter query` (lake keys are immutable; default: <tempDir>/cache).",
    group: "query",
  },
  logLevel: {
    kind: "string",
    env: "COMPACTER_LOG_LEVEL",
    default: "info",
    description:
      "debug | info | warn | error | silent. Logs are JSON lines on stderr (made readable on a terminal).",
    group: "worker",
  },
  compactionBudgetMs: {
    kind: "duration",
    env: "COMPACTER_COMPACTION_BUDGET",
    default: "15m",
    min: 1000,
    description:
      "Time one compaction should take at most (Lambda's timeout); the CompactionTimeoutUsed metric is a job's share of it.",
    group: "worker",
  },
  metricsFile: {
    kind: "string",
    env: "COMPACTER_METRICS_FILE",
    default: "",
    description:
      "File the EMF metric lines are appended to; unset: stdout (Lambda, containers). `compacter dev` uses .compacter/metrics.emf.jsonl.",
    group: "worker",
  },
  stage: {
    kind: "string",
    env: "COMPACTER_STAGE",
    default: "local",
    description: "Value of the `Stage` dimension on every metric (the deploy sets its SST stage).",
    group: "worker",
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;

type ValueOf<K extends SettingKind> = K extends "string"
  ? string
  : K extends "boolean"
    ? boolean
    : K extends "offset"
      ? import("../time/zones.js").UtcOffset
      : number;

export type Settings = { -readonly [N in SettingName]: ValueOf<(typeof SETTINGS)[N]["kind"]> };
