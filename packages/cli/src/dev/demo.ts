import { type CompacterConfig, lakeFreshness, type ManifestStore, type PartitionId } from "@compacter/core";
import type { LocalStack } from "@compacter/local";
import { runSimulation, type SimulationSummary, s3Sink } from "@compacter/simulator";
import { endProgress, progressLine } from "../output.js";
import { thousands } from "../progressBar.js";
import { queryLake } from "../query/queryLake.js";
import { note, sleep } from "./shutdown.js";

/**
 * The demo `compacter dev` runs next to the stack and the worker: the last few closed
 * hours of a small fleet in two districts, uploaded through S3 (so the notification →
 * ingest → sweep → compaction path does the rest), live progress until every row is in
 * the lake, then a sample query answer.
 */
export interface DemoSize {
  readonly devicesPerDistrict: number;
  readonly hours: number;
}

/**
 * 2 districts × 8 devices × 3 hours × 3600 rows (1 Hz) = 172,800 rows: ~7 s to simulate
 * at gzip level 6 and a few seconds to compact on 2 cores, so the answer appears well
 * within a minute of `npm start`.
 */
export const DEMO_SIZE: DemoSize = { devicesPerDistrict: 8, hours: 3 };
export const DEMO_DISTRICTS = ["BRCB", "KDCB"] as const;

/** What the worker's callbacks count (runDev feeds them). */
export interface WorkerCounters {
  filesIngested: number;
  /**
   * Compaction runs: each commits one generation of one partition, so a partition that got
   * an hourly append and then its day-close merge counts twice (partitionsCompacted once).
   */
  compactionRuns: number;
  readonly partitionsCompacted: Set<string>;
}

/** The demo's live line. Runs and partitions are named apart: a partition can take several runs. */
export function demoProgressLine(
  live: {
    readonly uploaded: number;
    readonly uploads: number;
    readonly due: number;
    readonly lakeRows: number;
    readonly expected: number;
    readonly lagMs: number;
    readonly freshnessMs: number;
  },
  counters: WorkerCounters,
): string {
  const runs = counters.compactionRuns;
  const partitions = counters.partitionsCompacted.size;
  return (
    `demo: ${live.uploaded}/${live.uploads || "?"} files uploaded · ${counters.filesIngested} ingested · ` +
    `${live.due} partition${live.due === 1 ? "" : "s"} due · ` +
    `${runs} compaction run${runs === 1 ? "" : "s"} (${partitions} partition${partitions === 1 ? "" : "s"}) · ` +
    `${thousands(live.lakeRows)}/${live.expected ? thousands(live.expected) : "?"} rows in the lake · ` +
    `lag ${Math.round(live.lagMs / 1000)}s · lake freshness ${Math.floor(live.freshnessMs / 1000)}s`
  );
}

export interface DemoContext {
  readonly stack: LocalStack;
  /** The worker's settings (windows, layout, resources). */
  readonly config: CompacterConfig;
  readonly store: ManifestStore;
  readonly counters: WorkerCounters;
  readonly size: DemoSize;
  readonly signal: AbortSignal;
}

export interface DemoResult {
  readonly summary: SimulationSummary;
  readonly partitions: readonly PartitionId[];
  readonly seconds: number;
}

/** Give up waiting (the stack keeps running) if the lake isn't complete by then. */
const DEMO_PATIENCE_MS = 5 * 60_000;
const TICK_MS = 250;
const POLL_MS = 1000;
const PLAIN_LINE_EVERY_MS = 5000;

export async function runDemo(ctx: DemoContext): Promise<DemoResult | undefined> {
  const { stack, config, size, signal } = ctx;
  const started = performance.now();
  const tty = process.stderr.isTTY === true;
  const live = { uploaded: 0, uploads: 0, lakeRows: 0, due: 0, lagMs: 0, freshnessMs: 0, expected: 0 };
  const line = () => demoProgressLine(live, ctx.counters);
  let lastPlain = "";
  let lastPlainAt = 0;
  const show = () => {
    if (tty) return progressLine(line());
    const text = line();
    if (text !== lastPlain && performance.now() - lastPlainAt >= PLAIN_LINE_EVERY_MS) {
      note(text);
      lastPlain = text;
      lastPlainAt = performance.now();
    }
  };
  const ticker = setInterval(show, TICK_MS);
  try {
    note(
      `demo: simulating the last ${size.hours} closed hours of ${size.devicesPerDistrict} devices in each of ` +
        `${DEMO_DISTRICTS.join(" and ")} (1 row per device-second) into s3://${config.rawBucket}`,
    );
    const summary = await runSimulation(
      {
        layout: config,
        districts: DEMO_DISTRICTS,
        devicesPerDistrict: size.devicesPerDistrict,
        hours: size.hours,
      },
      s3Sink(stack.clients.s3, config.rawBucket),
      {
        signal,
        onProgress: (p) => {
          live.uploaded = p.uploadsDone;
          live.uploads = p.uploadsTotal;
        },
      },
    ).catch((error: unknown) => {
      // Ctrl-C while uploading: stop quietly, the caller shuts everything down.
      if (signal.aborted) return undefined;
      throw error;
    });
    if (!summary) return undefined;
    live.expected = summary.expected.rows;
    const partitions = Object.keys(summary.expected.rowsByPartition).map(parsePartitionLabel);
    if (!tty) {
      note(
        `demo: uploaded ${summary.totals.files} files, ${thousands(summary.totals.rowsWritten)} rows in ` +
          `${summary.totals.seconds.toFixed(1)} s; waiting for them to reach the lake`,
      );
    }
    const deadline = performance.now() + DEMO_PATIENCE_MS;
    while (!signal.aborted) {
      await poll(ctx, partitions, live);
      if (live.lakeRows >= live.expected && live.due === 0 && live.lagMs === 0) break;
      if (performance.now() > deadline) {
        endProgress();
        note(
          `demo: not every row reached the lake in ${DEMO_PATIENCE_MS / 60_000} minutes; see \`compacter status\``,
        );
        return undefined;
      }
      await sleep(POLL_MS, signal);
    }
    if (signal.aborted) return undefined;
    clearInterval(ticker);
    endProgress();
    const seconds = (performance.now() - started) / 1000;
    note(
      `demo: ${summary.totals.files} raw files → ${thousands(live.lakeRows)} rows in ${partitions.length} Parquet ` +
        `partition(s) after ${seconds.toFixed(1)} s (${ctx.counters.compactionRuns} compaction run(s))`,
    );
    return { summary, partitions, seconds };
  } finally {
    clearInterval(ticker);
    endProgress();
  }
}

/** The sample answer, printed to stdout through the same code as `compacter query`. */
export async function printSampleAnswer(ctx: DemoContext, result: DemoResult): Promise<void> {
  const days = result.partitions.map((p) => p.day).sort();
  const from = days[0] ?? "";
  const to = days[days.length - 1] ?? from;
  const sql =
    "SELECT district, count(*) AS rows, count(DISTINCT unitno) AS units, min(event_time) AS first_event, " +
    "max(event_time) AS last_event, round(avg(speed_kmh), 1) AS avg_speed_kmh FROM telemetry GROUP BY district ORDER BY district";
  process.stdout.write(
    `\nSample answer — npx compacter query "${sql}" ${from === to ? `--day ${from}` : `--from ${from} --to ${to}`}\n\n`,
  );
  await queryLake({
    config: ctx.config,
    clients: ctx.stack.clients,
    scope: { days: { from, to } },
    request: { sql, params: {}, format: "table", out: process.stdout },
    signal: ctx.signal,
  });
}

async function poll(
  ctx: DemoContext,
  partitions: readonly PartitionId[],
  live: { lakeRows: number; due: number; lagMs: number; freshnessMs: number },
): Promise<void> {
  const nowMs = Date.now();
  const [due, states] = await Promise.all([
    ctx.store.listDue(),
    Promise.all(partitions.map((p) => ctx.store.getPartition(p))),
  ]);
  const dueNow = new Set(
    due.filter((d) => Date.parse(d.dueAt) <= nowMs).map((d) => `${d.partition.day}/${d.partition.district}`),
  );
  const arrivals = due
    .filter((d) => d.kind === "file" && d.arrivedAt !== undefined)
    .map((d) => Date.parse(d.arrivedAt ?? ""));
  live.due = dueNow.size;
  live.lagMs = arrivals.length > 0 ? Math.max(0, nowMs - Math.min(...arrivals)) : 0;
  // The dashboard's headline figure: how long past due the oldest file not in the lake is.
  live.freshnessMs = lakeFreshness(due, nowMs).ageMs;
  live.lakeRows = states.reduce((n, s) => n + (s?.rows ?? 0), 0);
}

const PARTITION_LABEL = /^hiveperiod=(\d{4}-\d{2}-\d{2})\/district=(.+)$/;

function parsePartitionLabel(label: string): PartitionId {
  const match = PARTITION_LABEL.exec(label);
  if (!match?.[1] || !match[2]) throw new Error(`unexpected partition label '${label}'`);
  return { day: match[1], district: match[2] };
}
