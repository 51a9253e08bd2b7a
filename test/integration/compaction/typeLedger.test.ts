import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createGzip } from "node:zlib";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import {
  athenaDdl,
  type CompactionJob,
  formatRawKey,
  InjectedFaultError,
  lakeTableInput,
  type PartitionId,
  parseRawKey,
  recordInLedger,
  retryPolicyOf,
  silentLogger,
  sweepTypeRewrites,
  type TypeLedger,
} from "@compacter/core";
import { faultAt } from "@compacter/wiring";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inProcess, json } from "../../helpers/cli.js";
import { type CompactionHarness, createCompactionHarness } from "../../helpers/compactionHarness.js";
import { useLocalStack } from "../../helpers/localStack.js";
import { clockAhead, hoursAgo } from "../../helpers/time.js";

/**
 * One type per column lake-wide (issue #15), on the local stack with a real DuckDB: a field
 * that is an integer on day 1 and fractional on day 2 widens the ledger to DOUBLE; the
 * sweep sends day 1 for a background rewrite; the rewrite crashes after its commit and
 * the next worker rolls it forward; in the end every file of both days holds the field as
 * DOUBLE (each file's own Parquet schema), with exact rows and values. A field new on day 3
 * reaches the ledger and the DDL; a new district extends the projection.
 */
const stack = useLocalStack();

let h: CompactionHarness;
let db: DuckDBInstance;
let scratch: string;
beforeAll(async () => {
  h = await createCompactionHarness(stack, "type-ledger", {
    leaseDurationMs: "2s",
    typeRewritesPerSweep: "1",
  });
  db = await DuckDBInstance.create(":memory:", { threads: "1" });
  scratch = await mkdtemp(join(h.config.tempDir, "schemas-"));
});
afterAll(async () => {
  db.closeSync();
  await rm(scratch, { recursive: true, force: true });
  await h.close();
});

async function putRaw(
  district: string,
  deviceId: string,
  hourStartMs: number,
  rows: object[],
): Promise<string> {
  const key = formatRawKey({ district, deviceId, hourStartMs }, h.config);
  const chunks: Buffer[] = [];
  const lines = rows.map((r) => `${JSON.stringify(r)}\n`);
  for await (const chunk of Readable.from(lines).pipe(createGzip())) chunks.push(chunk as Buffer);
  await stack.clients.s3.send(
    new PutObjectCommand({ Bucket: h.config.rawBucket, Key: key, Body: Buffer.concat(chunks) }),
  );
  await h.ingest();
  return key;
}

function partitionOf(key: string): PartitionId {
  const parsed = parseRawKey(key, h.config);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value.partition;
}

const rowsAt = (hourStartMs: number, loads: number[]) =>
  loads.map((load, i) => ({ heartbeat: hourStartMs / 1000 + i, unitno: "U1", load }));

/** Each current lake file's Parquet type for `column` (DuckDB parquet_schema), plus its rows of `column`. */
async function fileTypes(
  partition: PartitionId,
  column: string,
): Promise<{ types: string[]; values: number[] }> {
  const state = await h.runtime.store.getPartition(partition);
  const connection = await db.connect();
  const types: string[] = [];
  const values: number[] = [];
  try {
    for (const [i, file] of (state?.files ?? []).entries()) {
      const path = join(scratch, `${partition.day}-${partition.district}-${i}.parquet`);
      await h.runtime.objects.download(h.config.lakeBucket, file.key, path);
      const schema = await connection.runAndReadAll(
        "SELECT type, logical_type::VARCHAR AS logical FROM parquet_schema($p) WHERE name = $c",
        { p: path, c: column },
      );
      const [row] = schema.getRowObjectsJson();
      types.push(`${row?.type}${row?.logical && row.logical !== "NULL" ? `/${row.logical}` : ""}`);
      const read = await connection.runAndReadAll(
        `SELECT "${column}" AS v FROM read_parquet($p) ORDER BY event_time`,
        {
          p: path,
        },
      );
      for (const r of read.getRowObjectsJson()) values.push(Number(r.v));
      await rm(path);
    }
  } finally {
    connection.closeSync();
  }
  return { types, values: values.sort((a, b) => a - b) };
}

describe("the lake-wide type ledger", () => {
  let day1: PartitionId;
  let day2: PartitionId;

  it("widens the ledger when day 2 holds fractions of a field that was an integer on day 1", async () => {
    day1 = partitionOf(await putRaw("BRCB", "D1", hoursAgo(48), rowsAt(hoursAgo(48), [1, 2, 3])));
    expect(await h.compact(day1)).toMatchObject({ status: "committed" });
    expect((await h.runtime.store.getLedger())?.columns.find((c) => c.name === "load")?.type).toBe("INTEGER");
    expect((await fileTypes(day1, "load")).types).toEqual(["INT32"]);

    day2 = partitionOf(await putRaw("BRCB", "D1", hoursAgo(24), rowsAt(hoursAgo(24), [4.5, 5.25])));
    expect(day2.day > day1.day).toBe(true);
    expect(await h.compact(day2)).toMatchObject({ status: "committed" });
    const ledger = await h.runtime.store.getLedger();
    const load = ledger?.columns.find((c) => c.name === "load");
    expect(load).toMatchObject({ type: "DOUBLE" });
    expect(load?.lastWidened).toBeDefined();
    expect((await fileTypes(day2, "load")).types).toEqual(["DOUBLE"]);
    // Recorded with day 1's commit: its files hold `load` (and `heartbeat`) as INTEGER.
    expect((await h.runtime.store.getPartition(day1))?.narrowColumns).toEqual({
      heartbeat: "INTEGER",
      load: "INTEGER",
    });
  });

  it("the sweep sends day 1 for a rewrite; a crash after its commit is rolled forward; every file ends DOUBLE", async () => {
    const sent: CompactionJob[] = [];
    const queue = { sendCompactionJobs: async (jobs: readonly CompactionJob[]) => void sent.push(...jobs) };
    const sweep = () =>
      sweepTypeRewrites({
        store: h.runtime.store,
        queue,
        clock: { now: () => Date.now() },
        log: silentLogger,
        config: h.config,
        retry: retryPolicyOf(h.config),
      });
    expect(await sweep()).toEqual({ behind: 1, sent: 1 });
    expect(sent).toEqual([{ partition: day1, rewriteTypes: true }]);
    // Its job is queued: the next sweep does not send it again (still behind, not re-sent).
    expect(await sweep()).toEqual({ behind: 1, sent: 0 });
    expect(sent).toHaveLength(1);

    await expect(
      h.compact(day1, { rewriteTypes: true, faults: faultAt("afterCommit", "throw"), workerId: "doomed" }),
    ).rejects.toThrow(InjectedFaultError);
    // The next job on the partition (a duplicate rewrite job here), once the dead worker's
    // 2 s lease has run out, finishes the commit; the partition is no longer behind, so it
    // does not merge a second time.
    expect(
      await h.compact(day1, { rewriteTypes: true, workerId: "rescuer", clock: clockAhead(2_100) }),
    ).toMatchObject({
      rolledForward: true,
      status: "nothing",
    });

    expect(await fileTypes(day1, "load")).toEqual({ types: ["DOUBLE"], values: [1, 2, 3] });
    expect(await fileTypes(day2, "load")).toEqual({ types: ["DOUBLE"], values: [4.5, 5.25] });
    expect(await h.manifestRows(day1)).toEqual(new Map([[expect.any(String), 3]]));
    expect([...(await h.lakeRows(day2)).values()]).toEqual([2]);
    // `heartbeat` is an integer everywhere, so it stays INTEGER and agrees with the ledger.
    expect((await h.runtime.store.getPartition(day1))?.narrowColumns).toEqual({ heartbeat: "INTEGER" });
    expect(await sweep()).toEqual({ behind: 0, sent: 0 });
  });

  it("a field new on day 3 reaches the ledger and the DDL; a new district extends the projection", async () => {
    const day3Rows = rowsAt(hoursAgo(3), [7]).map((r) => ({ ...r, brake_temp: 81.5 }));
    const day3 = partitionOf(await putRaw("BRCB", "D1", hoursAgo(3), day3Rows));
    expect(await h.compact(day3)).toMatchObject({ status: "committed" });
    const other = partitionOf(await putRaw("KLMN", "D9", hoursAgo(3), rowsAt(hoursAgo(3), [8])));
    expect(await h.compact(other)).toMatchObject({ status: "committed" });

    const ledger = await h.runtime.store.getLedger();
    expect(ledger?.columns.find((c) => c.name === "brake_temp")).toMatchObject({ type: "DOUBLE" });
    expect(ledger?.districts).toEqual(["BRCB", "KLMN"]);
    expect(ledger?.firstDay).toBe(day1.day);
    // KLMN's first file already takes the ledger's DOUBLE for `load` (its own values are integers).
    expect((await fileTypes(other, "load")).types).toEqual(["DOUBLE"]);

    const ddl = athenaDdl(
      lakeTableInput(ledger, {
        tableName: "telemetry",
        location: `s3://${h.config.lakeBucket}/`,
        fallbackFirstDay: day1.day,
      }),
    );
    expect(ddl).toContain("`brake_temp` double");
    expect(ddl).toContain("`load` double");
    expect(ddl).toContain("'projection.district.values' = 'BRCB,KLMN'");
    expect(ddl).toContain(`'projection.hiveperiod.range' = '${day1.day},NOW'`);
  });
  it("shows the ledger, the DDL and the rewrite count through the CLI", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, h.env);
    try {
      const ledger = await json<TypeLedger>("schema", "--json");
      expect(ledger.columns.map((c) => c.name)).toEqual(expect.arrayContaining(["load", "brake_temp"]));
      const ddl = await inProcess("schema", "--athena-ddl", "--catalog-database", "analytics");
      expect(ddl.code, ddl.stderr).toBe(0);
      expect(ddl.stdout).toContain("CREATE EXTERNAL TABLE `analytics`.`telemetry` (");
      expect(ddl.stdout).toContain("`load` double");
      const table = await inProcess("schema");
      expect(table.stdout).toMatch(/load\s+DOUBLE/);
      const status = await json<{ typeLedger: { partitionsToRewrite: number; version: number } }>(
        "status",
        "--json",
      );
      expect(status.typeLedger).toMatchObject({ partitionsToRewrite: 0, version: ledger.version });
      expect((await inProcess("schema", "--json", "--athena-ddl")).code).toBe(2);
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });

  it("two workers widening at once both land: the loser of the conditional write re-reads and merges", async () => {
    const partition = { day: day2.day, district: "BRCB" };
    const deps = { store: h.runtime.store, log: silentLogger };
    const now = new Date().toISOString();
    await Promise.all([
      recordInLedger(deps, partition, { columns: [{ name: "race_a", type: "INTEGER" }] }, now),
      recordInLedger(deps, partition, { columns: [{ name: "race_b", type: "BOOLEAN" }] }, now),
      recordInLedger(deps, partition, { columns: [{ name: "race_a", type: "BIGINT" }] }, now),
    ]);
    const ledger = await h.runtime.store.getLedger();
    expect(ledger?.columns.find((c) => c.name === "race_a")?.type).toBe("BIGINT");
    expect(ledger?.columns.find((c) => c.name === "race_b")?.type).toBe("BOOLEAN");

    // A job that changes nothing still tells the catalog listener the stored ledger, so a
    // Glue update that failed earlier is retried without waiting for the next change.
    const told: number[] = [];
    const listener = async (l: TypeLedger) => void told.push(l.version);
    const failing = async () => {
      throw new Error("glue is down");
    };
    const same = { columns: [{ name: "race_a", type: "INTEGER" as const }] };
    await recordInLedger({ ...deps, onLedgerChanged: failing }, partition, same, now);
    await recordInLedger({ ...deps, onLedgerChanged: listener }, partition, same, now);
    expect(told).toEqual([ledger?.version]);
    expect((await h.runtime.store.getLedger())?.version).toBe(ledger?.version);
  });
});
