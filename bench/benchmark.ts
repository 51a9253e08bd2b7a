import { link, mkdir, rm } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { S3ObjectStore } from "@compacter/aws";
import { parseBytes, type SettingName } from "@compacter/core";
import type { LocalResources } from "@compacter/local";
import { runInChild } from "./childProcess.js";
import { CACHE_ROOT, type Dataset, type DatasetFile, loadDataset } from "./dataset.js";
import { serviceDaySteps, type Timeline, timelineOf } from "./dayPlan.js";
import { gunzipFloor } from "./gunzipFloor.js";
import { type BenchStack, startBenchStack } from "./localLake.js";
import { currentLoad, describeMachine } from "./machine.js";
import type { BenchReport, JobFigures, VariantFigures } from "./report.js";
import { requestFigures } from "./requests.js";
import { DAY, DISTRICT, SIZES, type SizeName } from "./sizes.js";
import { median, sum } from "./stats.js";
import { evaluateTargets } from "./targets.js";
import type {
  CompactResult,
  DayResult,
  DayStepResult,
  DuckDbResult,
  DuckDbVariant,
  Measure,
  QuerySpec,
} from "./tasks/types.js";

export interface BenchOptions {
  readonly size: SizeName;
  /** Runs of each side-by-side measurement. @defaultvalue the size's */
  readonly runs?: number;
  /** Progress lines (stderr in the CLI). */
  readonly log?: (line: string) => void;
  /** Where generated data is cached. @defaultvalue bench/.cache */
  readonly cacheRoot?: string;
  /** The command line, for the report. */
  readonly command?: string;
}

const MEMORY_LIMIT = "2GiB";
const SMALL_MEMORY_LIMIT = "1GiB";
const LAKE_QUERY_RUNS = 5;
const WEEK_DAYS = 7;

/** Everything `npm run bench` measures, in one run, on one data set. */
export async function runBenchmark(options: BenchOptions): Promise<BenchReport> {
  const log = options.log ?? (() => {});
  const size = SIZES[options.size];
  const runs = options.runs ?? size.runs;
  const startedAt = new Date();
  const started = performance.now();
  const machine = await describeMachine();
  log(`machine: ${machine.cpu}, ${machine.cores} cores, load ${machine.loadAtStart.join(" ")}`);
  const dataset = await loadDataset(size, log, options.cacheRoot ?? CACHE_ROOT);
  const work = join(options.cacheRoot ?? CACHE_ROOT, `work-${size.name}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const stack = await startBenchStack(dataset, log);
  try {
    const bench = new Bench(dataset, stack, work, log);
    return await bench.run(runs, {
      date: startedAt.toISOString(),
      command: options.command ?? `npm run bench -- --size ${size.name}`,
      started,
      machine,
    });
  } finally {
    await stack.close();
    await rm(work, { recursive: true, force: true });
  }
}

class Bench {
  private readonly timeline: Timeline;
  private readonly settings: Partial<Record<SettingName, string>>;
  private readonly loads: number[] = [];
  private schemaColumns: { field: string; type: string }[] = [];

  constructor(
    private readonly dataset: Dataset,
    private readonly stack: BenchStack,
    private readonly work: string,
    private readonly log: (line: string) => void,
  ) {
    this.timeline = timelineOf(dataset);
    this.settings = {
      memoryLimitBytes: MEMORY_LIMIT,
      threads: "0",
      logLevel: "error",
      // A one-shot conversion is one job by definition, however many files the size has.
      maxInputFilesPerCompaction: String(Math.max(1000, dataset.files.length)),
    };
  }

  async run(
    runs: number,
    meta: { date: string; command: string; started: number; machine: BenchReport["meta"]["machine"] },
  ): Promise<BenchReport> {
    const { dataset } = this;
    // While the day is open an hour's files append; an hour whose window closes with the day merges.
    const appendHours = this.timeline.hours.filter((h) => h.clockMs <= this.timeline.dayClosesMs);
    const appendFiles = appendHours.flatMap((h) => h.files);
    const appendClock = Math.max(...appendHours.map((h) => h.clockMs));
    const sortedClock = this.timeline.dayClosesMs + 1000;
    const seedFiles = this.seedFiles();
    const measures = {
      append: [] as CompactResult[],
      sorted: [] as CompactResult[],
      seed: [] as DuckDbResult[],
      oneLiner: [] as DuckDbResult[],
      floorColumns: [] as DuckDbResult[],
      floorCount: [] as DuckDbResult[],
      gunzip: [] as Measure[],
      day: [] as DayResult[],
    };
    let textBytes = 0;
    const rowChecks: { what: string; expected: number; actual: number }[] = [];
    const check = (what: string, expected: number, actual: number) => {
      rowChecks.push({ what, expected, actual });
      if (expected !== actual) throw new Error(`${what}: expected ${expected} rows, got ${actual}`);
    };
    const appendRows = sum(appendFiles.map((f) => f.rows));

    // Our append first: the floor reads with the column list our pipeline decided.
    const steps: [string, () => Promise<void>][] = [
      [
        "ours: unsorted append",
        async () => {
          const result = await this.compact("append", appendFiles, appendClock, MEMORY_LIMIT);
          check("ours, unsorted append", appendRows, result.rowsOut);
          measures.append.push(result);
        },
      ],
      [
        "ours: sorted one-shot",
        async () => {
          const result = await this.compact("sorted", dataset.files, sortedClock, MEMORY_LIMIT);
          check("ours, sorted one-shot", dataset.rows, result.rowsOut);
          measures.sorted.push(result);
        },
      ],
      [
        "seed query",
        async () => {
          const result = await this.duckdb("seed", seedFiles);
          check("seed query", sum(seedFiles.map((f) => f.rows)), result.rows);
          measures.seed.push(result);
        },
      ],
      [
        "skilled one-liner",
        async () => {
          const result = await this.duckdb("oneLiner", dataset.files);
          check("skilled one-liner", dataset.rows, result.rows);
          measures.oneLiner.push(result);
        },
      ],
      [
        "floor: DuckDB every column",
        async () => {
          const result = await this.duckdb("floorColumns", dataset.files);
          check("floor, every column", dataset.rows, result.rows);
          measures.floorColumns.push(result);
        },
      ],
      [
        "floor: DuckDB count(*)",
        async () => {
          const result = await this.duckdb("floorCount", dataset.files);
          check("floor, count(*)", dataset.rows, result.rows);
          measures.floorCount.push(result);
        },
      ],
      [
        "floor: gzip -dc",
        async () => {
          const result = await gunzipFloor(
            dataset.files.map((f) => f.path),
            dataset.files.map((f) => f.bytesGz),
            availableParallelism(),
          );
          textBytes = result.textBytes;
          measures.gunzip.push({ wallMs: result.wallMs, cpuMs: Number.NaN, maxRssMb: Number.NaN });
        },
      ],
      [
        "ours: service day (hourly appends + merge)",
        async () => {
          const result = await this.day();
          const merged = result.lake.reduce((n, f) => n + f.rows, 0);
          check("ours, service day", dataset.rows, merged);
          measures.day.push(result);
        },
      ],
    ];
    for (let round = 0; round < runs; round++) {
      // Each round starts one step later, so a burst of load on the shared machine does not
      // always land on the same variant.
      for (let i = 0; i < steps.length; i++) {
        const [name, step] = steps[(i + round) % steps.length]!;
        this.loads.push(currentLoad()[0] ?? 0);
        this.log(`run ${round + 1}/${runs}: ${name} (load ${currentLoad()[0]})`);
        await step();
      }
    }

    this.log("merge with 2 concurrent workers: a service day whose merge slices run on both");
    const twoWorkerDay = await this.day(MEMORY_LIMIT, false, 2);

    this.log("memory: sorted one-shot with memoryLimit 1 GiB");
    const memoryOneShot = await this.compact("memory", dataset.files, sortedClock, SMALL_MEMORY_LIMIT);
    this.log("memory: a service day with memoryLimit 1 GiB");
    const memoryDay = await this.day(SMALL_MEMORY_LIMIT, false);
    this.log("ingest: notifications through the IngestConsumer");
    const ingest = await this.ingestRate();
    const lastDay = measures.day.at(-1)!;
    this.log("queries: lake vs raw gzip");
    const queries = await this.queries(lastDay);

    const variant = (
      name: string,
      label: string,
      rows: number,
      list: readonly Measure[],
      note?: string,
    ): VariantFigures => {
      const wallMs = median(list.map((m) => m.wallMs));
      const cpu = list.map((m) => m.cpuMs).filter((c) => Number.isFinite(c));
      const cpuMs = cpu.length > 0 ? median(cpu) : Number.NaN;
      const rss = list.map((m) => m.maxRssMb).filter((r) => Number.isFinite(r));
      return {
        name,
        label,
        rows,
        runs: list,
        wallMs,
        cpuMs,
        maxRssMb: rss.length > 0 ? Math.max(...rss) : Number.NaN,
        rowsPerSecond: rows / (wallMs / 1000),
        rowsPerCpuSecond: rows / (cpuMs / 1000),
        ...(note ? { note } : {}),
      };
    };
    const seedRows = sum(seedFiles.map((f) => f.rows));
    const variants = [
      variant(
        "oursAppend",
        "ours: unsorted append (compactPartition via the local stack)",
        appendRows,
        measures.append.map((m) => m.measure),
        appendFiles.length < dataset.files.length
          ? `the last hour's window closes with the day, so it merges: ${appendFiles.length} of ${dataset.files.length} files`
          : undefined,
      ),
      variant(
        "oursSorted",
        "ours: sorted one-shot (compactPartition via the local stack)",
        dataset.rows,
        measures.sorted.map((m) => m.measure),
      ),
      variant(
        "seed",
        "seed: one read_json_auto query → COPY … PARTITION_BY (local files)",
        seedRows,
        measures.seed.map((m) => m.measure),
        seedFiles.length < dataset.files.length
          ? `${seedFiles.length} of ${dataset.files.length} files: its schema inference holds ~12 MB per file in memory`
          : undefined,
      ),
      variant(
        "oneLiner",
        "skilled one-liner: one read_ndjson(columns = …) → COPY … ZSTD, our memory limit and threads (local files)",
        dataset.rows,
        measures.oneLiner.map((m) => m.measure),
      ),
      variant(
        "floorColumns",
        "floor: DuckDB reads every column, discards it (local files)",
        dataset.rows,
        measures.floorColumns.map((m) => m.measure),
      ),
      variant(
        "floorCount",
        "floor: DuckDB count(*) (local files)",
        dataset.rows,
        measures.floorCount.map((m) => m.measure),
      ),
      variant(
        "gunzip",
        `floor: gzip -dc, ${availableParallelism()} processes (local files)`,
        dataset.rows,
        measures.gunzip,
      ),
    ];

    const stepCount = lastDay.steps.length;
    const incrementalSteps = lastDay.steps.map((step, i) => ({
      label: step.label,
      plan: step.plan ?? step.status,
      files: step.messages,
      rowsOut: step.rowsOut,
      wallMs: median(measures.day.map((d) => d.steps[i]?.compactMs ?? Number.NaN)),
      cpuMs: median(measures.day.map((d) => d.steps[i]?.compactCpuMs ?? Number.NaN)),
    }));
    const jobs = lastDay.steps.map(jobFigures);
    const mergeOf = (day: DayResult, workers: number) => {
      const merge = day.steps.findLast((step) => step.plan === "merge");
      return merge ? [{ ...jobFigures(merge), workers }] : [];
    };
    const mergeByWorkers = [...mergeOf(lastDay, 1), ...mergeOf(twoWorkerDay, 2)];
    const dayTotals = measures.day.map((d) => ({
      wall: sum(d.steps.map((s) => s.compactMs)),
      cpu: sum(d.steps.map((s) => s.compactCpuMs)),
    }));
    const oursSorted = variants[1]!;
    const totalWallMs = median(dayTotals.map((t) => t.wall));
    const totalCpuMs = median(dayTotals.map((t) => t.cpu));

    const report: BenchReport = {
      meta: {
        date: meta.date,
        command: meta.command,
        size: this.dataset.size.name,
        runs,
        seconds: (performance.now() - meta.started) / 1000,
        machine: meta.machine,
        loadAtEnd: currentLoad(),
        loadDuring: { min: Math.min(...this.loads), max: Math.max(...this.loads) },
        dataset: {
          devices: dataset.size.devices,
          hours: dataset.size.hours,
          files: dataset.files.length,
          rows: dataset.rows,
          gzBytes: dataset.bytesGz,
          textBytes,
          knobs: { ...dataset.size.knobs } as Record<string, number>,
          strayStrings: dataset.strayStrings,
          generatedSeconds: dataset.generatedSeconds,
          cached: dataset.cached,
          uploadSeconds: this.stack.uploadSeconds,
        },
        settings: {
          ...this.settings,
          partitionTimeZone: "+08:00",
          closeAfter: "60m",
          zstdLevel: "3",
          mergeZstdLevel: "9",
        } as Record<string, string>,
      },
      throughput: {
        variants,
        profile: {
          oursAppend: medianStages(measures.append),
          oursSorted: medianStages(measures.sorted),
        },
        seedFiles: seedFiles.length,
      },
      incremental: {
        runs: measures.day.length,
        steps: incrementalSteps,
        totalWallMs,
        totalCpuMs,
        jobs,
        mergeByWorkers,
        oneShotWallMs: oursSorted.wallMs,
        oneShotCpuMs: oursSorted.cpuMs,
        ratio: totalWallMs / oursSorted.wallMs,
        cpuRatio: totalCpuMs / oursSorted.cpuMs,
      },
      memory: {
        memoryLimitMb: parseBytes(SMALL_MEMORY_LIMIT) / 2 ** 20,
        runMemoryLimitMb: parseBytes(MEMORY_LIMIT) / 2 ** 20,
        gzMb: dataset.bytesGz / 2 ** 20,
        textMb: textBytes / 2 ** 20,
        runs: [
          {
            what: "sorted one-shot",
            maxRssMb: memoryOneShot.measure.maxRssMb,
            completed: memoryOneShot.status === "committed" && memoryOneShot.rowsOut === dataset.rows,
            rowsOut: memoryOneShot.rowsOut,
            wallMs: memoryOneShot.measure.wallMs,
          },
          {
            what: "service day: hourly appends + merge, one process",
            maxRssMb: memoryDay.measure.maxRssMb,
            completed: sum(memoryDay.lake.map((f) => f.rows)) === dataset.rows,
            rowsOut: sum(memoryDay.lake.map((f) => f.rows)),
            wallMs: memoryDay.measure.wallMs,
          },
        ],
      },
      storage: {
        gzBytes: dataset.bytesGz,
        sortedBytes: median(measures.sorted.map((m) => sum(m.outputs.map((o) => o.bytes)))),
        dayBytes: sum(lastDay.lake.map((f) => f.bytes)),
        appendBytes: median(measures.append.map((m) => sum(m.outputs.map((o) => o.bytes)))),
        seedBytes:
          median(measures.seed.map((m) => m.outBytes)) *
          (dataset.bytesGz / sum(seedFiles.map((f) => f.bytesGz))),
        seedFiles: seedFiles.length,
        oneLinerBytes: median(measures.oneLiner.map((m) => m.outBytes)),
      },
      queries,
      requests: requestFigures(lastDay, dataset.files.length, stepCount),
      ingest: {
        messages: ingest.messages,
        wallMs: ingest.measure.wallMs,
        perSecond: ingest.messages / (ingest.measure.wallMs / 1000),
        loops: ingest.loops,
      },
      rowChecks,
      targets: [],
    };
    return { ...report, targets: evaluateTargets(report) };
  }

  /** The seed's query infers every file's schema in memory: above `seedMaxFiles`, the first hours' files. */
  private seedFiles(): readonly DatasetFile[] {
    const { files, size } = this.dataset;
    if (files.length <= size.seedMaxFiles) return files;
    const chosen: DatasetFile[] = [];
    for (const hour of this.timeline.hours) {
      if (chosen.length + hour.files.length > size.seedMaxFiles) break;
      chosen.push(...hour.files);
    }
    return chosen;
  }

  private async freshRun(label: string, files: readonly DatasetFile[]): Promise<LocalResources> {
    const resources = await this.stack.freshResources(`bench-${label}`);
    await this.stack.register(
      resources,
      files.map((f) => f.key),
    );
    return resources;
  }

  private async compact(
    label: string,
    files: readonly DatasetFile[],
    clockMs: number,
    memoryLimit: string,
  ): Promise<CompactResult> {
    const resources = await this.freshRun(label, files);
    const tempDir = join(this.work, `tmp-${label}`);
    const result = await runInChild(
      { kind: "compact", partition: this.timeline.partition, clockMs },
      this.stack.env(resources, { ...this.settings, memoryLimitBytes: memoryLimit, tempDir }),
    );
    await rm(tempDir, { recursive: true, force: true });
    if (result.status !== "committed")
      throw new Error(`${label}: compaction ended ${result.status}: ${result.reason}`);
    if (this.schemaColumns.length === 0) {
      const schema = await this.stack.store(resources).getSchema(DISTRICT);
      this.schemaColumns = (schema?.columns ?? []).map((c) => ({
        // The synthetic fleet's keys are all plain names: each is its own column.
        field: c.name,
        type: c.type,
      }));
    }
    return result;
  }

  private async duckdb(variant: DuckDbVariant, files: readonly DatasetFile[]): Promise<DuckDbResult> {
    const outDir = join(this.work, `duckdb-${variant}`);
    try {
      return await runInChild({
        kind: "duckdb",
        variant,
        files: files.map((f) => f.path),
        rawRoot: this.dataset.rawDir,
        outDir,
        columns: this.schemaColumns,
        ...(variant === "oneLiner" ? { memoryLimit: MEMORY_LIMIT, threads: availableParallelism() } : {}),
      });
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  }

  private async day(memoryLimit = MEMORY_LIMIT, keep = true, workers = 1): Promise<DayResult> {
    const resources = await this.stack.freshResources("bench-day");
    const tempDir = join(this.work, "tmp-day");
    try {
      const result = await runInChild(
        {
          kind: "day",
          partition: this.timeline.partition,
          steps: serviceDaySteps(this.timeline, this.stack.notifications),
          workers,
        },
        this.stack.env(resources, { ...this.settings, memoryLimitBytes: memoryLimit, tempDir }),
      );
      if (keep) this.lastDayResources = resources;
      return result;
    } finally {
      await rm(tempDir, { recursive: true, force: true });
    }
  }

  private lastDayResources: LocalResources | undefined;

  private async ingestRate() {
    const resources = await this.stack.freshResources("bench-ingest");
    const bodies = this.dataset.files.map((f) => this.stack.notifications.get(f.key) ?? "");
    const sqs = this.stack.emulators.clients.sqs;
    for (let i = 0; i < bodies.length; i += 10) {
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: resources.ingestQueueUrl,
          Entries: bodies.slice(i, i + 10).map((body, j) => ({ Id: String(j), MessageBody: body })),
        }),
      );
    }
    // Setting the raw bucket's notification sent S3's test event to this queue too.
    return runInChild(
      { kind: "ingest", expected: bodies.length + 1 },
      this.stack.env(resources, this.settings),
    );
  }

  private async queries(day: DayResult): Promise<BenchReport["queries"]> {
    const resources = this.lastDayResources;
    if (!resources) throw new Error("no service day ran");
    const config = this.stack.config(resources, {});
    const objects = new S3ObjectStore(this.stack.emulators.clients.s3);
    const lakeRoot = join(this.work, "lake");
    // The day's files, then the same files under six more days: a week of identical days.
    const first = await Promise.all(
      day.lake.map(async (file) => {
        const path = join(lakeRoot, file.key);
        await mkdir(dirname(path), { recursive: true });
        await objects.download(config.lakeBucket, file.key, path);
        return path;
      }),
    );
    for (let d = 1; d < WEEK_DAYS; d++) {
      const other = nextDay(DAY, d);
      for (const path of first) {
        const copy = path.replace(`hiveperiod=${DAY}`, `hiveperiod=${other}`);
        await mkdir(dirname(copy), { recursive: true });
        await link(path, copy);
      }
    }
    const unitno = this.dataset.files[0]?.unitno ?? "";
    const lakeGlob = join(lakeRoot, "**", "*.parquet");
    const lake = `read_parquet($lake, hive_partitioning = true)`;
    const lastDay = nextDay(DAY, WEEK_DAYS - 1);
    const lakeQueries: QuerySpec[] = [
      {
        name: "unitDay",
        sql: `SELECT * FROM ${lake} WHERE hiveperiod = '${DAY}' AND unitno = $unit`,
        params: { lake: lakeGlob, unit: unitno },
      },
      {
        name: "dayAggregate",
        sql: `SELECT unitno, max(speed_kmh) AS max_speed FROM ${lake} WHERE hiveperiod = '${DAY}' GROUP BY unitno`,
        params: { lake: lakeGlob },
      },
      {
        name: "weekCount",
        sql: `SELECT count(*) AS n FROM ${lake} WHERE hiveperiod BETWEEN '${DAY}' AND '${lastDay}'`,
        params: { lake: lakeGlob },
      },
    ];
    const raw = "read_json_auto($raw, union_by_name = true)";
    const rawFiles = this.dataset.files.map((f) => f.path);
    const rawQueries: QuerySpec[] = [
      {
        name: "unitDay",
        sql: `SELECT * FROM ${raw} WHERE unitno = $unit`,
        params: { raw: rawFiles, unit: unitno },
      },
      {
        name: "dayAggregate",
        sql: `SELECT unitno, max(speed_kmh) AS max_speed FROM ${raw} GROUP BY unitno`,
        params: { raw: rawFiles },
      },
      { name: "dayCount", sql: `SELECT count(*) AS n FROM ${raw}`, params: { raw: rawFiles } },
    ];
    const lakeResult = await runInChild({ kind: "query", runs: LAKE_QUERY_RUNS, queries: lakeQueries });
    const rawResult = await runInChild({ kind: "query", runs: 1, queries: rawQueries });
    const lakeOf = (name: string) => lakeResult.queries.find((q) => q.name === name);
    const rawOf = (name: string) => rawResult.queries.find((q) => q.name === name);
    const row = (name: string, rawName: string, rawScale: number, note?: string) => {
      const l = lakeOf(name);
      const r = rawOf(rawName);
      if (!l || !r) throw new Error(`query ${name} did not run`);
      const lakeMs = median(l.ms);
      const rawMs = median(r.ms) * rawScale;
      return { name, lakeMs, rawMs, speedup: rawMs / lakeMs, answerRows: l.rows, ...(note ? { note } : {}) };
    };
    const unitRows = lakeOf("unitDay")?.rows ?? 0;
    const expectedUnitRows = sum(this.dataset.files.filter((f) => f.unitno === unitno).map((f) => f.rows));
    if (unitRows !== expectedUnitRows || rawOf("unitDay")?.rows !== expectedUnitRows) {
      throw new Error(
        `unit ${unitno}: lake ${unitRows}, raw ${rawOf("unitDay")?.rows}, expected ${expectedUnitRows}`,
      );
    }
    return {
      unitno,
      lakeRuns: LAKE_QUERY_RUNS,
      rows: [
        row("unitDay", "unitDay", 1),
        row("dayAggregate", "dayAggregate", 1),
        row(
          "weekCount",
          "dayCount",
          WEEK_DAYS,
          `lake: the day's Parquet under ${WEEK_DAYS} hiveperiod folders (hard links), measured; raw: one day's count(*) measured × ${WEEK_DAYS} (a scan is linear in files)`,
        ),
      ],
    };
  }
}

function medianStages(results: readonly CompactResult[]): Record<string, number> {
  const stages = new Set(results.flatMap((r) => Object.keys(r.stageMs)));
  const out: Record<string, number> = {};
  for (const stage of stages) out[stage] = median(results.map((r) => r.stageMs[stage] ?? 0));
  out.totalMs = median(results.map((r) => r.measure.wallMs));
  return out;
}

function nextDay(day: string, days: number): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

export function jobFigures(step: DayStepResult): JobFigures {
  return {
    label: step.label,
    plan: step.plan ?? step.status,
    wallMs: step.compactMs,
    cpuMs: step.compactCpuMs,
    peakRssMb: step.peakRssMb,
    peakRssPerJob: step.peakRssPerJob,
    peakTempBytes: step.peakTempBytes,
    peakWorkingBytes: step.peakWorkingBytes,
    inputBytes: step.inputBytes,
    outputBytes: step.outputBytes,
    outputs: step.outputs.length,
    ...(step.slices ? { slices: step.slices } : {}),
  };
}
