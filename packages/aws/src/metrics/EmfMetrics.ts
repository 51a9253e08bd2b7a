import { appendFileSync } from "node:fs";
import { Metrics as PowertoolsMetrics } from "@aws-lambda-powertools/metrics";
import {
  type CompacterConfig,
  type Logger,
  METRICS_NAMESPACE,
  type MetricPoint,
  type Metrics,
  type MetricUnit,
  STAGE_DIMENSION,
} from "@compacter/core";

/**
 * The `Metrics` port as CloudWatch Embedded Metric Format: one JSON line per dimension
 * set per publish, serialised by Powertools' Metrics (the library AWS keeps for EMF),
 * written wherever the runtime wants it. On Lambda that is stdout, which CloudWatch Logs
 * turns into metrics with no API calls; `compacter run` writes to stdout too, `compacter
 * dev` to a file, a test to an array — the line is the same in each.
 */
export interface EmfMetricsOptions {
  /** Value of the `Stage` dimension on every metric. */
  readonly stage: string;
  /** Receives each EMF line (no trailing newline). @defaultvalue a line on stdout */
  readonly write?: (line: string) => void;
  /** Where a publish that fails is reported (a metric never fails the work it measures). */
  readonly log?: Logger;
}

export class EmfMetrics implements Metrics {
  private readonly write: (line: string) => void;
  /** One Powertools instance per dimension set: a blob carries exactly one set. */
  private readonly byDimensions = new Map<string, PowertoolsMetrics>();

  constructor(private readonly options: EmfMetricsOptions) {
    this.write = options.write ?? ((line) => process.stdout.write(`${line}\n`));
  }

  publish(points: readonly MetricPoint[]): void {
    try {
      const groups = new Map<string, { dimensions: Record<string, string>; points: MetricPoint[] }>();
      for (const p of points) {
        const dimensions = { [STAGE_DIMENSION]: this.options.stage, ...p.dimensions };
        const key = JSON.stringify(dimensions);
        const group = groups.get(key) ?? { dimensions, points: [] as MetricPoint[] };
        group.points.push(p);
        groups.set(key, group);
      }
      for (const [key, group] of groups) {
        const emf = this.instance(key);
        emf.addDimensions(group.dimensions);
        for (const p of group.points) emf.addMetric(p.metric.name, p.metric.unit as PowertoolsUnit, p.value);
        const line = JSON.stringify(emf.serializeMetrics());
        emf.clearMetrics();
        emf.clearDimensions();
        this.write(line);
      }
    } catch (error) {
      this.options.log?.warn("could not publish metrics", { error });
    }
  }

  private instance(key: string): PowertoolsMetrics {
    let emf = this.byDimensions.get(key);
    if (!emf) {
      emf = new PowertoolsMetrics({ namespace: METRICS_NAMESPACE, logger: quietLogger(this.options.log) });
      // Powertools adds a `service` dimension by default; ours are Stage plus each metric's own.
      emf.clearDefaultDimensions();
      this.byDimensions.set(key, emf);
    }
    return emf;
  }
}

/**
 * The runtimes' metrics: EMF lines on stdout, or appended to `metricsFile` when it is set
 * (`compacter dev`, the local Lambda runner, tests: stdout there is a terminal or a
 * command's own output).
 */
export function emfMetricsFor(
  config: Pick<CompacterConfig, "stage" | "metricsFile">,
  log?: Logger,
): EmfMetrics {
  const file = config.metricsFile;
  return new EmfMetrics({
    stage: config.stage,
    ...(log ? { log } : {}),
    // Synchronous: a few lines per job, and none lost when a Lambda freezes or a process dies.
    ...(file ? { write: (line: string) => appendFileSync(file, `${line}\n`) } : {}),
  });
}

/** Our units are CloudWatch's names, which are also Powertools' values. */
type PowertoolsUnit = Parameters<PowertoolsMetrics["addMetric"]>[1] & MetricUnit;

function quietLogger(log: Logger | undefined) {
  const warn = (...content: unknown[]) => log?.warn(String(content[0]));
  return { debug: () => {}, info: () => {}, warn, error: warn };
}
