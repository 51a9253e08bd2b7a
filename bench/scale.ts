import { mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { S3ObjectStore } from "@compacter/aws";
import { parseBytes, SETTINGS, type SettingName } from "@compacter/core";
import type { LocalResources } from "@compacter/local";
import { jobFigures } from "./benchmark.js";
import { runInChild } from "./childProcess.js";
import { CACHE_ROOT, loadDataset } from "./dataset.js";
import { serviceDaySteps, timelineOf } from "./dayPlan.js";
import { type BenchStack, startBenchStack } from "./localLake.js";
import { currentLoad, describeMachine, type MachineInfo } from "./machine.js";
import type { JobFigures } from "./report.js";
import { DAY, SIZES, type SizeName } from "./sizes.js";
import { sum } from "./stats.js";
import type { LakeOutput } from "./tasks/types.js";

/**
 * The real volume (#14): a full district-day through the service path, once with one
 * compaction worker and once with two, and nothing else. The side-by-side throughput
 * figures of the default size would take hours here and say nothing new, so they are cut:
 * this run is about whether every job stays within its bounds when the partition is big.
 */
export interface ScaleReport {
  readonly meta: {
    readonly date: string;
    readonly command: string;
    readonly size: SizeName;
    readonly seconds: number;
    readonly machine: MachineInfo;
    readonly loadAtEnd: readonly number[];
    readonly dataset: {
      readonly devices: number;
      readonly hours: number;
      readonly files: number;
      readonly rows: number;
      readonly gzBytes: number;
      readonly uploadSeconds: number;
    };
    readonly settings: Readonly<Record<string, string>>;
  };
  readonly bounds: ScaleBounds;
  readonly days: readonly {
    readonly workers: number;
    /** From the first hour's notifications to the merge's commit (ingest included). */
    readonly wallMs: number;
    readonly maxRssMb: number;
    readonly jobs: readonly JobFigures[];
    readonly lake: readonly LakeOutput[];
  }[];
  /** One unit's day on the merged lake (1-worker day): the analyst's query at real size. */
  readonly unitQuery: { readonly unitno: string; readonly ms: readonly number[]; readonly rows: number };
}

/** The bounds #14 sets on every job, in the units the report uses. */
export interface ScaleBounds {
  readonly memoryLimitBytes: number;
  /** Peak RSS may exceed memoryLimit by this much (Node, the validator's threads, DuckDB outside its pool). */
  readonly rssHeadroomBytes: number;
  /** Working temp disk (beyond a job's own downloads and output) per byte of output. */
  readonly workingPerOutput: number;
  readonly maxJobMs: number;
}

const MEMORY_LIMIT = "2GiB";

export async function runScaleBenchmark(options: {
  readonly size: SizeName;
  readonly log: (line: string) => void;
  readonly command: string;
  /** Where generated data is cached. @defaultvalue bench/.cache */
  readonly cacheRoot?: string;
}): Promise<ScaleReport> {
  const { log } = options;
  const size = SIZES[options.size];
  const started = performance.now();
  const date = new Date().toISOString();
  const machine = await describeMachine();
  log(`machine: ${machine.cpu}, ${machine.cores} cores, load ${machine.loadAtStart.join(" ")}`);
  const cacheRoot = options.cacheRoot ?? CACHE_ROOT;
  const dataset = await loadDataset(size, log, cacheRoot);
  const work = join(cacheRoot, `work-${size.name}-scale`); // apart from the default run's
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const stack = await startBenchStack(dataset, log);
  // The service's own defaults, but for the memory limit every run of the benchmark uses.
  const settings: Partial<Record<SettingName, string>> = {
    memoryLimitBytes: MEMORY_LIMIT,
    threads: "0",
    logLevel: "error",
  };
  try {
    const timeline = timelineOf(dataset);
    const steps = serviceDaySteps(timeline, stack.notifications);
    const days: ScaleReport["days"][number][] = [];
    let firstDay: LocalResources | undefined;
    for (const workers of [1, 2]) {
      log(`service day with ${workers} compaction worker${workers === 1 ? "" : "s"}: ${steps.length} jobs`);
      const resources = await stack.freshResources(`scale-${workers}`);
      const tempDir = join(work, `tmp-day-${workers}`);
      const result = await runInChild(
        { kind: "day", partition: timeline.partition, steps, workers },
        stack.env(resources, { ...settings, tempDir }),
      );
      await rm(tempDir, { recursive: true, force: true });
      const rows = sum(result.lake.map((f) => f.rows));
      if (rows !== dataset.rows)
        throw new Error(`${workers} workers: ${rows} rows in the lake, expected ${dataset.rows}`);
      days.push({
        workers,
        wallMs: result.measure.wallMs,
        maxRssMb: result.measure.maxRssMb,
        jobs: result.steps.map(jobFigures),
        lake: result.lake,
      });
      firstDay ??= resources;
      log(`  done in ${(result.measure.wallMs / 1000).toFixed(0)} s, ${result.lake.length} lake files`);
    }
    log("query: one unit's day on the merged lake");
    const unitQuery = await queryOneUnit(
      stack,
      firstDay!,
      days[0]!.lake,
      dataset.files[0]?.unitno ?? "",
      work,
    );
    const expectedUnitRows = sum(
      dataset.files.filter((f) => f.unitno === unitQuery.unitno).map((f) => f.rows),
    );
    if (unitQuery.rows !== expectedUnitRows) {
      throw new Error(`unit ${unitQuery.unitno}: ${unitQuery.rows} rows, expected ${expectedUnitRows}`);
    }
    return {
      meta: {
        date,
        command: options.command,
        size: size.name,
        seconds: (performance.now() - started) / 1000,
        machine,
        loadAtEnd: currentLoad(),
        dataset: {
          devices: size.devices,
          hours: size.hours,
          files: dataset.files.length,
          rows: dataset.rows,
          gzBytes: dataset.bytesGz,
          uploadSeconds: stack.uploadSeconds,
        },
        settings: {
          ...settings,
          ...effective(["maxSliceInputBytes", "maxFileSizeBytes", "plainCopyBudgetBytes"]),
        },
      },
      bounds: {
        memoryLimitBytes: parseBytes(MEMORY_LIMIT),
        rssHeadroomBytes: 300 * 1e6,
        workingPerOutput: 2,
        maxJobMs: 300_000,
      },
      days,
      unitQuery,
    };
  } finally {
    await stack.close();
    await rm(work, { recursive: true, force: true });
  }
}

/** The settings the run's children see: the environment's (the child inherits it) or the defaults. */
function effective(names: readonly SettingName[]): Record<string, string> {
  return Object.fromEntries(
    names.map((name) => [name, process.env[SETTINGS[name].env] ?? SETTINGS[name].default ?? ""]),
  );
}

async function queryOneUnit(
  stack: BenchStack,
  resources: LocalResources,
  lake: readonly LakeOutput[],
  unitno: string,
  work: string,
): Promise<ScaleReport["unitQuery"]> {
  const config = stack.config(resources, {});
  const objects = new S3ObjectStore(stack.emulators.clients.s3);
  const lakeRoot = join(work, "lake");
  for (const file of lake) {
    const path = join(lakeRoot, file.key);
    await mkdir(dirname(path), { recursive: true });
    await objects.download(config.lakeBucket, file.key, path);
  }
  const result = await runInChild({
    kind: "query",
    runs: 5,
    queries: [
      {
        name: "unitDay",
        sql: `SELECT * FROM read_parquet($lake, hive_partitioning = true) WHERE hiveperiod = '${DAY}' AND unitno = $unit`,
        params: { lake: join(lakeRoot, "**", "*.parquet"), unit: unitno },
      },
    ],
  });
  const query = result.queries[0]!;
  return { unitno, ms: query.ms, rows: query.rows };
}

/**
 * Every job of a day with the slices of its merge as jobs of their own, each checked
 * against the bounds. `workers` compaction workers share one process in the benchmark, so
 * its peak RSS is theirs together: it is held to `workers` times one job's bound.
 */
export function boundedJobs(bounds: ScaleBounds, jobs: readonly JobFigures[], workers = 1) {
  const rssLimitMb = (workers * (bounds.memoryLimitBytes + bounds.rssHeadroomBytes)) / 2 ** 20;
  return jobs.flatMap((job) => {
    const whole = {
      label: job.label,
      plan: job.plan,
      wallMs: job.wallMs,
      peakRssMb: job.peakRssMb,
      peakWorkingBytes: job.peakWorkingBytes,
      peakTempBytes: job.peakTempBytes,
      inputBytes: job.inputBytes,
      outputBytes: job.outputBytes,
    };
    // A sliced merge is judged by its slices (each is a job any worker takes); one worker
    // runs them one after another, so the merge's peak RSS bounds each slice's.
    const parts = job.slices?.length
      ? job.slices.map((s) => ({
          ...whole,
          label: `${job.label}, slice ${s.index}`,
          plan: "slice",
          wallMs: s.wallMs,
          peakWorkingBytes: s.peakWorkingBytes,
          peakTempBytes: s.peakTempBytes,
          inputBytes: s.inputBytes,
          outputBytes: s.outputBytes,
        }))
      : [whole];
    return parts.map((part) => ({
      ...part,
      rssOk: part.peakRssMb <= rssLimitMb,
      tempOk: part.peakWorkingBytes <= bounds.workingPerOutput * part.outputBytes,
      wallOk: part.wallMs <= bounds.maxJobMs,
    }));
  });
}
