import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoManifestStore, S3ObjectStore } from "@compacter/aws";
import type { PartitionId } from "@compacter/core";
import type { SimulationSummary } from "@compacter/simulator";
import { faultAt } from "@compacter/wiring";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LakeCache } from "../../../packages/cli/src/query/lakeCache.js";
import { type ManifestSnapshot, takeSnapshot } from "../../../packages/cli/src/query/manifestSnapshot.js";
import { localSnapshot } from "../../../packages/cli/src/query/snapshotFiles.js";
import { inProcess, json } from "../../helpers/cli.js";
import {
  type CompactionHarness,
  createCompactionHarness,
  expectedRows,
  partitionsOf,
} from "../../helpers/compactionHarness.js";
import { useLocalStack } from "../../helpers/localStack.js";

/**
 * `compacter query` over a real lake: a local cache that makes the second query free,
 * DuckDB's own error messages, bound parameters, and the manifest snapshot — including a
 * commit caught between its manifest write and its publish.
 */
const stack = useLocalStack();
let h: CompactionHarness;
let dir: string;
let first: SimulationSummary;
let partition: PartitionId;

beforeAll(async () => {
  h = await createCompactionHarness(stack, "operate-query");
  dir = await mkdtemp(join(tmpdir(), "compacter-operate-query-"));
  first = await h.simulate({ hours: 1, startHourMs: hoursAgo(3), devicesPerDistrict: 3, rowsPerFile: 200 });
  [partition] = partitionsOf(first) as [PartitionId];
  expect((await h.compact(partition)).status).toBe("committed");
  Object.assign(process.env, h.env, {
    COMPACTER_TEMP_DIR: join(dir, "cli"),
    COMPACTER_CACHE_DIR: join(dir, "cache"),
  });
});
afterAll(async () => {
  await h.close();
  await rm(dir, { recursive: true, force: true });
});

interface Stats {
  readonly files: number;
  readonly cachedFiles: number;
  readonly downloadedFiles: number;
  readonly s3Gets: number;
  readonly snapshots: number;
}

async function queryWithStats(...args: string[]): Promise<{ stdout: string; stats: Stats }> {
  const result = await inProcess("query", ...args, "--stats");
  expect(result.code, result.stderr).toBe(0);
  const line = result.stderr.split("\n").find((l) => l.startsWith("{"));
  return { stdout: result.stdout, stats: JSON.parse(line ?? "{}") as Stats };
}

function total(rows: Map<string, number>): number {
  return [...rows.values()].reduce((a, b) => a + b, 0);
}

describe("compacter query", () => {
  it("downloads each lake file once: a second query reads the cache only", async () => {
    const sql = "SELECT device_id, count(*) AS n FROM telemetry GROUP BY ALL ORDER BY device_id";
    const cold = await queryWithStats(sql, "--day", partition.day, "--format", "csv");
    expect(cold.stats).toMatchObject({ files: 1, downloadedFiles: 1, cachedFiles: 0, s3Gets: 1 });
    const warm = await queryWithStats(sql, "--day", partition.day, "--format", "csv");
    expect(warm.stats).toMatchObject({ files: 1, downloadedFiles: 0, cachedFiles: 1, s3Gets: 0 });
    expect(warm.stdout).toBe(cold.stdout);
    expect(cold.stdout.split("\r\n")[0]).toBe("device_id,n");
  });

  it("binds --param values (as values, never as SQL)", async () => {
    const device = first.files[0]!.deviceId;
    const ofDevice = first.files
      .filter((f) => f.deviceId === device)
      .reduce((n, f) => n + (first.expected.rowsBySourceFile[f.key] ?? 0), 0);
    const count = async (...args: string[]) =>
      (
        await json<{ n: number }[]>(
          "query",
          "SELECT count(*) AS n FROM telemetry WHERE device_id = $device",
          ...args,
          "--json",
        )
      )[0]?.n;
    expect(await count("--param", `device=${device}`)).toBe(ofDevice);
    expect(await count("--param", "device=x' OR '1'='1")).toBe(0);
    // Text cast to the type the SQL expects (TIMESTAMPTZ here).
    const [since] = await json<{ n: number }[]>(
      "query",
      "SELECT count(*) AS n FROM telemetry WHERE event_time >= $since",
      "--param",
      "since=2000-01-01 00:00:00+00",
      "--json",
    );
    expect(since?.n).toBe(total(expectedRows(first, partition)));
    const missing = await inProcess("query", "SELECT count(*) FROM telemetry WHERE device_id = $device");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--param device=VALUE");
  });

  it("shows event_time in partitionTimeZone (the zone of hiveperiod) by default, in UTC with --utc", async () => {
    const sql = "SELECT min(event_time) AS instant, min(event_time)::VARCHAR AS shown FROM telemetry";
    const hours = h.config.partitionTimeZone.minutes / 60;
    const suffix = (n: number) => `${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
    const [local] = await json<{ shown: string }[]>("query", sql, "--json");
    const [utc] = await json<{ shown: string }[]>("query", sql, "--json", "--utc");
    expect(local?.shown.endsWith(suffix(hours))).toBe(true);
    expect(utc?.shown.endsWith("+00")).toBe(true);
    // The same instant, two wall clocks.
    const toMs = (s: string) => Date.parse(`${s.replace(" ", "T")}:00`);
    expect(toMs(local?.shown ?? "")).toBe(toMs(utc?.shown ?? ""));
    const help = await inProcess("query", "--help");
    expect(help.stdout).toMatch(/partitionTimeZone/);
    expect(help.stdout).toMatch(/--utc/);
  });

  it("answers an error in the SQL with DuckDB's message and exit 1, not a stack trace", async () => {
    const binder = await inProcess("query", "SELECT no_such_column FROM telemetry");
    expect(binder.code).toBe(1);
    expect(binder.stderr).toMatch(/^compacter: Binder Error: Referenced column "no_such_column" not found/);
    expect(binder.stderr).not.toMatch(/\n\s+at /);
    const parser = await inProcess("query", "SELEC 1");
    expect(parser.code).toBe(1);
    expect(parser.stderr).toMatch(/^compacter: Parser Error: syntax error at or near "SELEC"/);
    expect(parser.stdout).toBe("");
  });

  it("reads a commit in flight from staging, never a replaced file, and re-snapshots when a file vanishes", async () => {
    const second = await h.simulate({
      hours: 1,
      startHourMs: hoursAgo(2),
      devicesPerDistrict: 3,
      rowsPerFile: 200,
      seed: 9,
    });
    const expected = total(expectedRows(first, partition)) + total(expectedRows(second, partition));
    // A merge that dies right after its commit point: the manifest names the merged file,
    // which is only in staging; the replaced file is still in the lake.
    await expect(
      h.compact(partition, { forceMerge: true, faults: faultAt("afterCommit", "throw") }),
    ).rejects.toThrow();
    const state = await h.runtime.store.getPartition(partition);
    expect(state?.inflight).toBeDefined();
    expect(total(await h.lakeRows(partition))).toBe(total(expectedRows(first, partition))); // a glob's view

    const [viaManifest] = await json<{ n: number }[]>(
      "query",
      "SELECT count(*) AS n FROM telemetry",
      "--json",
    );
    expect(viaManifest?.n).toBe(expected);

    // The snapshot names a staged file; before it is downloaded the commit is finished by
    // another worker, which publishes it and deletes the staged copy: the read 404s, and a
    // fresh snapshot reads the published file.
    const store = new DynamoManifestStore({
      client: stack.clients.dynamodb,
      tableName: h.config.manifestTable,
    });
    const snapshots: ManifestSnapshot[] = [];
    const local = await localSnapshot({
      take: async () => {
        const snapshot = await takeSnapshot(
          { store, dynamodb: stack.clients.dynamodb, tableName: h.config.manifestTable },
          { days: { from: partition.day, to: partition.day } },
        );
        snapshots.push(snapshot);
        if (snapshots.length === 1) {
          const later = { now: () => Date.now() + 60_000 }; // the crashed worker's lease has expired
          expect((await h.compact(partition, { clock: later })).rolledForward).toBe(true);
        }
        return snapshot;
      },
      cache: new LakeCache(join(dir, "fresh-cache"), new S3ObjectStore(stack.clients.s3)),
      bucket: h.config.lakeBucket,
      concurrency: 4,
      root: join(dir, "snapshot"),
    });
    expect(snapshots[0]?.files.map((f) => f.readKey.startsWith(h.config.stagingPrefix))).toEqual([true]);
    expect(local.stats.snapshots).toBe(2);
    expect(local.snapshot.files.map((f) => f.readKey === f.lakeKey)).toEqual([true]);
    expect(local.stats.rows).toBe(expected);
  });
});

function hoursAgo(hours: number): number {
  return Math.floor(Date.now() / 3_600_000) * 3_600_000 - hours * 3_600_000;
}
