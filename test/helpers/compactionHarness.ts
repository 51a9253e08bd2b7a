/**
 * A compaction test bench on the shared local stack: one isolated resource set, the real
 * ingest path (S3 PUT → bridge → SQS → manifest), the real DuckDB engine, and readers
 * that count the lake's rows per `source_file` both through the manifest and by globbing
 * the bucket — the two views the guarantees talk about.
 *
 * Time: a test picks a UTC offset (`middayZone()`) under which "now" is around noon, so
 * the hours it simulates are closed while their day is still open; a compactor given a
 * clock half a day ahead sees the day closed. Everything else uses the real clock.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { processIngestMessages } from "@compacter/aws";
import {
  type Clock,
  type CompacterConfig,
  type CompactionOutcome,
  compactPartition,
  type FaultInjector,
  formatOffset,
  type ManifestStore,
  type PartitionId,
  parseLakeFileKey,
  partitionLabel,
  SETTINGS,
  type SettingName,
  silentLogger,
  systemClock,
} from "@compacter/core";
import { createDuckDbEngine } from "@compacter/duckdb";
import type { LocalResources } from "@compacter/local";
import { runSimulation, type SimulationOptions, type SimulationSummary, s3Sink } from "@compacter/simulator";
import { createRuntime, type Runtime } from "@compacter/wiring";
import { DuckDBInstance, LIST, listValue, VARCHAR } from "@duckdb/node-api";
import type { TestLocalStack } from "./localStack.js";

export interface CompactionHarness {
  readonly resources: LocalResources;
  readonly config: CompacterConfig;
  readonly runtime: Runtime;
  /** Environment for a spawned `compacter` process: the stack, these resources and the harness's settings. */
  readonly env: Record<string, string>;
  /** Uploads simulated raw files through S3 (notifications fire) and ingests them. */
  simulate(options: Partial<SimulationOptions>): Promise<SimulationSummary>;
  /** Uploads simulated raw files through S3 only: whatever drains the ingest queue (a runtime under test) ingests them. */
  upload(options: Partial<SimulationOptions>): Promise<SimulationSummary>;
  /** Drains the ingest queue through the real ingest path; returns messages handled. */
  ingest(): Promise<number>;
  /** One compaction, like one worker's job; a new engine each call unless shared. */
  compact(
    partition: PartitionId,
    options?: {
      faults?: FaultInjector;
      clock?: Clock;
      forceMerge?: boolean;
      /** A background type rewrite's job (typeRewrites.ts). */
      rewriteTypes?: boolean;
      workerId?: string;
      /** Wraps the manifest store this worker sees (e.g. to freeze its lease renewals). */
      wrapStore?: (store: ManifestStore) => ManifestStore;
    },
  ): Promise<CompactionOutcome>;
  /** Rows per source_file over the manifest's current files of a partition. */
  manifestRows(partition: PartitionId): Promise<Map<string, number>>;
  /** Rows per source_file over every Parquet file a glob of the partition's lake folder finds. */
  lakeRows(partition: PartitionId): Promise<Map<string, number>>;
  /** Keys under the partition's lake folder. */
  lakeKeys(partition: PartitionId): Promise<string[]>;
  /** Keys under the staging prefix. */
  stagedKeys(): Promise<string[]>;
  /** Runs SQL over the manifest's current files of a partition (view `t`). */
  queryManifestFiles<T = Record<string, unknown>>(partition: PartitionId, sql: string): Promise<T[]>;
  close(): Promise<void>;
}

/** An offset (whole hours) under which the current time is between 11:00 and 13:00. */
export function middayZone(nowMs = Date.now()): string {
  const utcHour = new Date(nowMs).getUTCHours() + new Date(nowMs).getUTCMinutes() / 60;
  let offset = Math.round(12 - utcHour);
  if (offset < -12) offset += 24;
  if (offset > 14) offset -= 24;
  return formatOffset(offset * 60);
}

export async function createCompactionHarness(
  stack: TestLocalStack,
  label: string,
  settings: Partial<Record<SettingName, string>> = {},
): Promise<CompactionHarness> {
  const resources = await stack.createResources(label);
  const tempDir = await mkdtemp(join(tmpdir(), `compacter-${label}-`));
  const zone = middayZone();
  const applied: Partial<Record<SettingName, string>> = {
    keyTimeZone: zone,
    partitionTimeZone: zone,
    closeAfterMs: "1s",
    lateDebounceMs: "1s",
    leaseDurationMs: "3s",
    memoryLimitBytes: "512MiB",
    threads: "2",
    tempDir,
    logLevel: "silent",
    // Handlers run in-process write their EMF lines here, not into stdout (which in-process CLI calls capture).
    metricsFile: join(tempDir, "metrics.emf.jsonl"),
    ...settings,
  };
  const config = stack.config(resources, applied);
  const env: Record<string, string> = { ...stack.env(resources) };
  for (const [name, value] of Object.entries(applied)) {
    if (value !== undefined) env[SETTINGS[name as SettingName].env] = value;
  }
  const runtime = createRuntime(config, {
    clients: stack.clients,
    log: silentLogger,
    faults: { at: async () => {} },
  });
  const db = await DuckDBInstance.create(":memory:", { threads: "2" });
  const connection = await db.connect();

  const download = async (keys: readonly string[], dir: string) => {
    const paths: string[] = [];
    for (const [i, key] of keys.entries()) {
      const path = join(dir, `${i}.parquet`);
      await runtime.objects.download(config.lakeBucket, key, path);
      paths.push(path);
    }
    return paths;
  };
  const rowsBySource = async (paths: readonly string[]) => {
    const counts = new Map<string, number>();
    if (paths.length === 0) return counts;
    const reader = await connection.runAndReadAll(
      "SELECT source_file, count(*)::BIGINT AS n FROM read_parquet($files, union_by_name = true) GROUP BY ALL",
      { files: listValue([...paths]) },
      { files: LIST(VARCHAR) },
    );
    for (const row of reader.getRowObjects()) counts.set(String(row.source_file), Number(row.n));
    return counts;
  };
  const withDownloads = async <T>(keys: readonly string[], use: (paths: string[]) => Promise<T>) => {
    const dir = await mkdtemp(join(tempDir, "read-"));
    try {
      return await use(await download(keys, dir));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  const lakeKeys = async (partition: PartitionId) => {
    const keys: string[] = [];
    for await (const o of runtime.objects.list(
      config.lakeBucket,
      `${config.lakePrefix}${partitionLabel(partition)}/`,
    )) {
      if (parseLakeFileKey(config.lakePrefix, o.key)) keys.push(o.key);
    }
    return keys.sort();
  };

  const ingest = async () => {
    let handled = 0;
    for (;;) {
      const bodies = await stack.drainQueue(config.ingestQueueUrl);
      if (bodies.length === 0) return handled;
      const dispositions = await processIngestMessages(
        bodies.map((body, i) => ({ messageId: `m${handled + i}`, body })),
        { store: runtime.store, config, log: silentLogger, deadLetters: runtime.ingestDeadLetters },
      );
      const failed = dispositions.filter((d) => d.status !== "done");
      if (failed.length > 0) throw new Error(`ingest failed: ${JSON.stringify(failed)}`);
      handled += bodies.length;
    }
  };

  const upload = (options: Partial<SimulationOptions>) =>
    runSimulation(
      {
        layout: config,
        seed: 7,
        districts: ["BRCB"],
        devicesPerDistrict: 2,
        hours: 2,
        rowsPerFile: 120,
        ...options,
      },
      s3Sink(stack.clients.s3, config.rawBucket),
    );

  return {
    resources,
    config,
    runtime,
    env,
    async simulate(options) {
      const summary = await upload(options);
      await ingest();
      return summary;
    },
    upload,
    ingest,
    async compact(partition, options = {}) {
      const engine = createDuckDbEngine();
      try {
        return await compactPartition(
          {
            ...runtime.compactionDeps(engine),
            store: options.wrapStore ? options.wrapStore(runtime.store) : runtime.store,
            clock: options.clock ?? systemClock,
            faults: options.faults ?? { at: async () => {} },
            workerId: options.workerId ?? "test-worker",
          },
          {
            partition,
            ...(options.forceMerge ? { forceMerge: true } : {}),
            ...(options.rewriteTypes ? { rewriteTypes: true } : {}),
          },
        );
      } finally {
        await engine.close();
      }
    },
    async manifestRows(partition) {
      const state = await runtime.store.getPartition(partition);
      const keys = (state?.files ?? []).map((f) => f.key);
      return withDownloads(keys, rowsBySource);
    },
    async lakeRows(partition) {
      return withDownloads(await lakeKeys(partition), rowsBySource);
    },
    lakeKeys,
    async stagedKeys() {
      const keys: string[] = [];
      for await (const o of runtime.objects.list(config.lakeBucket, config.stagingPrefix)) keys.push(o.key);
      return keys;
    },
    async queryManifestFiles(partition, sql) {
      const state = await runtime.store.getPartition(partition);
      return withDownloads(
        (state?.files ?? []).map((f) => f.key),
        async (paths) => {
          if (paths.length === 0) return [];
          await connection.run("DROP VIEW IF EXISTS t");
          const list = paths.map((p) => `'${p.replaceAll("'", "''")}'`).join(", ");
          await connection.run(
            `CREATE VIEW t AS SELECT * FROM read_parquet([${list}], union_by_name = true)`,
          );
          return (await connection.runAndReadAll(sql)).getRowObjectsJson() as never;
        },
      );
    },
    async close() {
      connection.closeSync();
      db.closeSync();
      await rm(tempDir, { recursive: true, force: true });
    },
  };
}

/** Expected rows per source_file of one partition, from a simulation summary (0-row files omitted). */
export function expectedRows(summary: SimulationSummary, partition?: PartitionId): Map<string, number> {
  const label = partition ? partitionLabel(partition) : undefined;
  const byKey = new Map<string, number>();
  for (const file of summary.files) {
    if (label && file.partition !== label) continue;
    const rows = summary.expected.rowsBySourceFile[file.key];
    if (rows) byKey.set(file.key, rows);
  }
  return byKey;
}

export function partitionsOf(summary: SimulationSummary): PartitionId[] {
  const seen = new Map<string, PartitionId>();
  for (const file of summary.files) {
    const match = /^hiveperiod=([^/]+)\/district=(.+)$/.exec(file.partition);
    if (match?.[1] && match[2]) seen.set(file.partition, { day: match[1], district: match[2] });
  }
  return [...seen.values()];
}
