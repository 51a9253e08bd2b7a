import type { BenchReport, Target } from "./report.js";
import { round } from "./stats.js";

/**
 * Issue 17: one per raw file for S3's notification, its registration and its download,
 * plus a share of batched receives, deletes and the compaction's own requests.
 */
const MAX_REQUESTS_PER_FILE = 3.2;
/** Issue 14/17: a job may use its memoryLimit plus this (Node, the validator, DuckDB outside its pool). */
const RSS_HEADROOM_MB = (300 * 1e6) / 2 ** 20;

/** Issue 7's targets for this machine, each next to the figure measured in the same run. */
export function evaluateTargets(report: BenchReport): Target[] {
  const v = (name: string) => {
    const found = report.throughput.variants.find((x) => x.name === name);
    if (!found) throw new Error(`no variant ${name}`);
    return found;
  };
  const seed = v("seed");
  const floor = v("floorColumns");
  const oneLiner = v("oneLiner");
  const append = v("oursAppend");
  const sorted = v("oursSorted");
  const vsOneLiner = append.rowsPerSecond / oneLiner.rowsPerSecond;
  const sortedVsAppend = sorted.wallMs / sorted.rows / (append.wallMs / append.rows);
  const targets: Target[] = [
    {
      section: "1",
      name: "rows/s vs the skilled one-liner (ours: unsorted append)",
      target: "≥ 1.0×",
      result: `${round(vsOneLiner, 3)}×`,
      met: vsOneLiner >= 1,
    },
    {
      section: "1",
      name: "sorted ÷ append, wall time per row",
      target: "≤ 1.3",
      result: `${round(sortedVsAppend, 3)}`,
      met: sortedVsAppend <= 1.3,
    },
  ];
  for (const [name, label] of [
    ["oursAppend", "unsorted append"],
    ["oursSorted", "sorted one-shot"],
  ] as const) {
    const ours = v(name);
    const vsSeed = ours.rowsPerSecond / seed.rowsPerSecond;
    const vsFloor = floor.rowsPerSecond / ours.rowsPerSecond;
    targets.push(
      {
        section: "1",
        name: `rows/s vs the seed's query (${label})`,
        target: "≥ 2.5×",
        result: `${round(vsSeed, 3)}×`,
        met: vsSeed >= 2.5,
      },
      {
        section: "1",
        name: `within the read-every-column floor (${label})`,
        target: "floor ÷ ours ≤ 1.5",
        result: `${round(vsFloor, 3)}`,
        met: vsFloor <= 1.5,
      },
    );
  }
  const { incremental, memory, storage, queries, requests } = report;
  // Every job kind at the run's own memory limit: the one-shots in their own processes,
  // and each kind of job of the service day (its peak is reset per job where Linux allows).
  const jobLimitMb = memory.runMemoryLimitMb + RSS_HEADROOM_MB;
  const jobKinds: [string, number][] = [
    ["unsorted append, one-shot", append.maxRssMb],
    ["sorted one-shot", sorted.maxRssMb],
  ];
  for (const plan of new Set(incremental.jobs.map((j) => j.plan))) {
    const peak = Math.max(...incremental.jobs.filter((j) => j.plan === plan).map((j) => j.peakRssMb));
    jobKinds.push([`service day: every ${plan}`, peak]);
  }
  for (const [what, peakMb] of jobKinds) {
    targets.push({
      section: "3",
      name: `peak RSS at memoryLimit ${memory.runMemoryLimitMb} MiB (${what})`,
      target: `≤ ${Math.round(jobLimitMb)} MiB`,
      result: `${Math.round(peakMb)} MiB`,
      met: peakMb <= jobLimitMb,
    });
  }
  targets.push({
    section: "2",
    name: "incremental ÷ one-shot (wall time)",
    target: "≤ 1.5",
    result: `${round(incremental.ratio, 3)}`,
    met: incremental.ratio <= 1.5,
  });
  const rssLimit = memory.memoryLimitMb + 300;
  for (const run of memory.runs) {
    targets.push({
      section: "3",
      name: `peak RSS at memoryLimit ${memory.memoryLimitMb} MiB, completed (${run.what})`,
      target: `≤ ${rssLimit} MiB`,
      result: `${Math.round(run.maxRssMb)} MiB, ${run.completed ? "completed" : "NOT completed"}`,
      met: run.maxRssMb <= rssLimit && run.completed,
    });
  }
  const vsGz = storage.dayBytes / storage.gzBytes;
  const vsSeed = storage.dayBytes / storage.seedBytes;
  targets.push(
    {
      section: "4",
      name: "Parquet ÷ raw gzip bytes (the day's merged file)",
      target: "≤ 0.5",
      result: `${round(vsGz, 3)}`,
      met: vsGz <= 0.5,
    },
    {
      section: "4",
      name: "our Parquet ÷ the seed query's Parquet",
      target: "≤ 0.8",
      result: `${round(vsSeed, 3)}`,
      met: vsSeed <= 0.8,
    },
  );
  const unit = queries.rows.find((q) => q.name === "unitDay");
  if (unit) {
    targets.push({
      section: "5",
      name: "one unit's day, lake vs raw gzip",
      target: "≥ 300× faster",
      result: `${round(unit.speedup, 3)}×`,
      met: unit.speedup >= 300,
    });
  }
  targets.push({
    section: "6",
    name: "billable requests per raw file, end to end (ours)",
    target: `≤ ${MAX_REQUESTS_PER_FILE}`,
    result: `${round(requests.billablePerFile, 3)}`,
    met: requests.billablePerFile <= MAX_REQUESTS_PER_FILE,
  });
  return targets;
}
