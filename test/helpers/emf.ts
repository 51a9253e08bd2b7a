/**
 * Reads CloudWatch Embedded Metric Format lines back into values, the way CloudWatch
 * does: each line with an `_aws` header declares its metrics (name, unit) and ONE
 * dimension set per directive; the values are the root members of the same names. Lines
 * that are not EMF (log lines, blanks) are skipped, so a process's whole output can be fed in.
 */
export interface EmfDatum {
  readonly namespace: string;
  readonly name: string;
  readonly unit: string;
  /** Dimension names of the set, in order. */
  readonly dimensions: readonly string[];
  /** Values of those dimensions on this line. */
  readonly dimensionValues: Readonly<Record<string, string>>;
  readonly values: readonly number[];
  readonly timestamp: number;
}

interface EmfLine {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string; readonly Unit: string }[];
    }[];
  };
  readonly [member: string]: unknown;
}

export function parseEmf(output: string | readonly string[]): EmfDatum[] {
  const lines = typeof output === "string" ? output.split("\n") : output;
  const data: EmfDatum[] = [];
  for (const line of lines) {
    if (!line.includes('"_aws"')) continue;
    const parsed = JSON.parse(line) as EmfLine;
    for (const directive of parsed._aws.CloudWatchMetrics) {
      if (directive.Dimensions.length !== 1) throw new Error(`expected one dimension set per line: ${line}`);
      const dimensions = directive.Dimensions[0] ?? [];
      const dimensionValues = Object.fromEntries(dimensions.map((d) => [d, String(parsed[d])]));
      for (const metric of directive.Metrics) {
        const value = parsed[metric.Name];
        data.push({
          namespace: directive.Namespace,
          name: metric.Name,
          unit: metric.Unit,
          dimensions,
          dimensionValues,
          values: (Array.isArray(value) ? value : [value]).map(Number),
          timestamp: parsed._aws.Timestamp,
        });
      }
    }
  }
  return data;
}

/** Every value of one metric, in order, optionally only where its dimensions match. */
export function valuesOf(
  data: readonly EmfDatum[],
  name: string,
  where: Readonly<Record<string, string>> = {},
): number[] {
  return data
    .filter((d) => d.name === name && Object.entries(where).every(([k, v]) => d.dimensionValues[k] === v))
    .flatMap((d) => d.values);
}

export function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
