import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AwsClients, DynamoManifestStore, S3ObjectStore } from "@compacter/aws";
import type { CompacterConfig } from "@compacter/core";
import { LakeCache } from "./lakeCache.js";
import { takeSnapshot } from "./manifestSnapshot.js";
import { runSql, type SqlRequest } from "./runSql.js";
import type { QueryScope } from "./scope.js";
import { localSnapshot, type SnapshotStats } from "./snapshotFiles.js";

/**
 * `compacter query` as a function: manifest snapshot → local cache → Hive tree of links →
 * DuckDB. Also what `compacter dev` runs for its sample answer.
 */
export interface QueryLakeOptions {
  readonly config: CompacterConfig;
  /** S3 for the lake, DynamoDB for the manifest; not destroyed here. */
  readonly clients: AwsClients;
  readonly scope: QueryScope;
  readonly request: SqlRequest;
  readonly signal?: AbortSignal;
  /** Show TIMESTAMPTZ values (event_time) in this DuckDB TimeZone; UTC when absent. */
  readonly timeZone?: string;
}

export interface QueryLakeResult {
  readonly rows: number;
  readonly columns: readonly string[];
  readonly unusedParams: readonly string[];
  readonly snapshot: SnapshotStats;
  /** S3 GetObject requests this query sent (0 when every file was cached). */
  readonly s3Gets: number;
  readonly cacheDir: string;
  readonly seconds: number;
}

export async function queryLake(options: QueryLakeOptions): Promise<QueryLakeResult> {
  const { config, clients } = options;
  const started = performance.now();
  const baseDir = config.tempDir || join(tmpdir(), "compacter");
  const cacheDir = config.cacheDir || join(baseDir, "cache");
  await mkdir(baseDir, { recursive: true });
  const scratchDir = await mkdtemp(join(baseDir, "query-"));
  const getsBefore = clients.requestCounts()["s3:GetObject"] ?? 0;
  try {
    const store = new DynamoManifestStore({ client: clients.dynamodb, tableName: config.manifestTable });
    const local = await localSnapshot({
      take: () =>
        takeSnapshot({ store, dynamodb: clients.dynamodb, tableName: config.manifestTable }, options.scope),
      cache: new LakeCache(cacheDir, new S3ObjectStore(clients.s3)),
      bucket: config.lakeBucket,
      concurrency: config.downloadConcurrency,
      root: join(scratchDir, "lake"),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const s3Gets = (clients.requestCounts()["s3:GetObject"] ?? 0) - getsBefore;
    const result = await runSql(options.request, {
      lakeRoot: local.snapshot.files.length > 0 ? local.root : undefined,
      scratchDir: join(scratchDir, "duckdb"),
      memoryLimitBytes: config.memoryLimitBytes,
      threads: config.threads,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.timeZone ? { timeZone: options.timeZone } : {}),
    });
    return {
      ...result,
      snapshot: local.stats,
      s3Gets,
      cacheDir,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await rm(scratchDir, { recursive: true, force: true });
  }
}
