/**
 * The metrics every runtime publishes (Lambda handlers, `compacter run`, `compacter dev`),
 * by one name each: the dashboard, the alarms (infra/) and the tests read this catalogue,
 * so a renamed metric breaks them instead of silently flat-lining a graph.
 *
 * The core only decides WHAT to publish (pure functions from results to points); the
 * `Metrics` port says where, and its adapter (EMF, in @compacter/aws) writes the lines
 * CloudWatch turns into metrics. Every point also carries the `Stage` dimension, added
 * by the adapter.
 */
export const METRIC_UNIT = {
  count: "Count",
  milliseconds: "Milliseconds",
  seconds: "Seconds",
  percent: "Percent",
} as const;

export type MetricUnit = (typeof METRIC_UNIT)[keyof typeof METRIC_UNIT];

export interface MetricSpec {
  readonly name: string;
  readonly unit: MetricUnit;
  /** Dimensions beyond `Stage`, always all of them, in this order. */
  readonly dimensions: readonly string[];
  readonly description: string;
}

/** The CloudWatch namespace of every metric; stages are told apart by the `Stage` dimension. */
export const METRICS_NAMESPACE = "Compacter";
export const STAGE_DIMENSION = "Stage";

const count = (name: string, description: string, dimensions: readonly string[] = []): MetricSpec => ({
  name,
  unit: METRIC_UNIT.count,
  dimensions,
  description,
});

export const METRICS = {
  filesIngested: count("FilesIngested", "raw file versions registered as pending (new keys and overwrites)"),
  filesDuplicate: count("FilesDuplicate", "notifications of content already registered (same eTag)"),
  filesStale: count("FilesStale", "notifications already seen or older than the version registered"),
  filesRejected: count("FilesRejected", "raw keys that do not fit the layout (recorded with the reason)"),
  filesRemoved: count("FilesRemoved", "raw files deleted from the bucket (their rows leave the lake)"),
  compactions: count("Compactions", "compaction jobs, by plan kind and outcome", ["Plan", "Outcome"]),
  rowsIn: count("RowsIn", "rows read by committed compactions (raw and, for a merge, lake)"),
  rowsOut: count("RowsOut", "rows written by committed compactions"),
  badLines: count("BadLines", "unreadable lines skipped inside readable raw files"),
  nulledValues: count("NulledValues", "values that did not fit their column's type and became NULL"),
  quarantinedFiles: count(
    "QuarantinedFiles",
    "raw files that could not be read at all (corrupt gzip, not JSON)",
  ),
  compactionDuration: {
    name: "CompactionDuration",
    unit: METRIC_UNIT.milliseconds,
    dimensions: [],
    description: "wall-clock time of one compaction job, lease to release",
  },
  compactionTimeoutUsed: {
    name: "CompactionTimeoutUsed",
    unit: METRIC_UNIT.percent,
    dimensions: [],
    description: "a compaction's duration as a share of its time limit (the compactor function's timeout)",
  },
  publishWindow: {
    name: "PublishWindow",
    unit: METRIC_UNIT.milliseconds,
    dimensions: [],
    description: "time a lake glob can see both new and replaced files of a commit",
  },
  lakeFreshness: {
    name: "LakeFreshness",
    unit: METRIC_UNIT.seconds,
    dimensions: [],
    description: "age past its due time of the oldest raw file not yet in the lake (0: nothing overdue)",
  },
  overdueFiles: count("OverdueFiles", "raw files past their due time and not yet in the lake"),
  failingPartitions: count(
    "FailingPartitions",
    "partitions with due work whose compactions keep failing (retried with back-off; `compacter status` lists them)",
  ),
  sweepErrors: count("SweepErrors", "sweeps that failed (they run again at the next interval)"),
} as const satisfies Record<string, MetricSpec>;

export type MetricName = keyof typeof METRICS;

export interface MetricPoint {
  readonly metric: MetricSpec;
  readonly value: number;
  /** Values for the metric's own dimensions (every one of `metric.dimensions`). */
  readonly dimensions?: Readonly<Record<string, string>>;
}

/** Where points go. Publishing never throws: a metric must not fail the work it measures. */
export interface Metrics {
  publish(points: readonly MetricPoint[]): void;
}

export const noMetrics: Metrics = { publish: () => {} };

export function point(
  metric: MetricSpec,
  value: number,
  dimensions?: Readonly<Record<string, string>>,
): MetricPoint {
  return dimensions ? { metric, value, dimensions } : { metric, value };
}
