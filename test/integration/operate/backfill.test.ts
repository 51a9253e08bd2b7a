import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { PutBucketNotificationConfigurationCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { DynamoManifestStore } from "@compacter/aws";
import type { LocalResources } from "@compacter/local";
import type { SimulationSummary } from "@compacter/simulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BackfillSummary } from "../../../packages/cli/src/backfill/runBackfill.js";
import { cleanEnv, inProcess, json, spawnCompacter } from "../../helpers/cli.js";
import { useLocalStack } from "../../helpers/localStack.js";

/**
 * A bucket full of history written before any notification existed: `compacter backfill`
 * registers it (resuming after a crash, registering nothing twice), `compacter compact
 * --due` turns it into Parquet, `compacter query` counts it.
 */
const stack = useLocalStack();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "compacter-operate-backfill-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Late files (arrival = LastModified = now) are due at once; the CLI's scratch stays in the test's dir. */
const SETTINGS = {
  COMPACTER_CLOSE_AFTER: "1s",
  COMPACTER_LATE_DEBOUNCE: "0",
  COMPACTER_LOG_LEVEL: "warn",
};

async function historyBucket(label: string, settings: Record<string, string> = {}): Promise<LocalResources> {
  const resources = await stack.createResources(label);
  // No notification: what the seed's bucket looked like before Compacter was deployed.
  await stack.clients.s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: resources.rawBucket,
      NotificationConfiguration: {},
    }),
  );
  await stack.drainQueue(resources.ingestQueueUrl); // the s3:TestEvent sent when it was configured
  Object.assign(process.env, stack.env(resources), SETTINGS, settings, {
    COMPACTER_TEMP_DIR: join(dir, label),
  });
  return resources;
}

describe("compacter backfill", () => {
  it("registers history no notification announced, resumes after a crash, and registers nothing twice", async () => {
    const resources = await historyBucket("operate-backfill");
    const simulated = await json<SimulationSummary>(
      "simulate",
      "--devices",
      "3",
      "--hours",
      "2",
      "--rows-per-file",
      "200",
      "--odd-keys",
      "0.34",
      "--json",
    );
    // A key inside a device folder that doesn't fit the layout, and an object that isn't a raw file.
    const misfit = "BRCB/stray device/2025121201/not-the-hour.txt.gz";
    await stack.clients.s3.send(
      new PutObjectCommand({ Bucket: resources.rawBucket, Key: misfit, Body: "x" }),
    );
    await stack.clients.s3.send(
      new PutObjectCommand({ Bucket: resources.rawBucket, Key: "BRCB/README.md", Body: "notes" }),
    );
    expect(await stack.drainQueue(resources.ingestQueueUrl)).toEqual([]);
    const devicePrefixes = new Set(simulated.files.map((f) => `${f.district}/${f.deviceId}/`)).size + 1;

    // A backfill killed (SIGKILL) after two device prefixes…
    const checkpoint = join(dir, "backfill.jsonl");
    const crashed = spawnCompacter(
      ["backfill", "--concurrency", "1", "--checkpoint", checkpoint, "--json"],
      cleanEnv({
        ...stack.env(resources),
        ...SETTINGS,
        COMPACTER_BACKFILL_CRASH_AFTER: "2",
      }),
    );
    expect(await crashed.exited).toEqual({ code: null, signal: "SIGKILL" });
    const recorded = (await readFile(checkpoint, "utf8")).trim().split("\n");
    expect(recorded).toHaveLength(1 + 2); // header + two finished prefixes

    // …resumes where it stopped.
    const resumed = await json<BackfillSummary>("backfill", "--checkpoint", checkpoint, "--json");
    expect(resumed.devicePrefixes).toEqual({ total: devicePrefixes, done: devicePrefixes, resumed: 2 });
    expect(resumed.interrupted).toBe(false);
    expect(resumed.checkpoint).toBeNull();
    expect(existsSync(checkpoint)).toBe(false);
    expect(resumed.outcomes.ignored).toBe(1); // README.md

    const store = new DynamoManifestStore({
      client: stack.clients.dynamodb,
      tableName: resources.manifestTable,
    });
    const partitions = [...new Set(simulated.files.map((f) => f.partition))].map((label) => {
      const [, day = "", district = ""] = /^hiveperiod=(.+)\/district=(.+)$/.exec(label) ?? [];
      return { day, district };
    });
    const registered = (await Promise.all(partitions.map((p) => store.listFiles(p)))).flat();
    expect(registered.map((f) => f.key).sort()).toEqual(simulated.files.map((f) => f.key).sort());
    expect(registered.every((f) => f.status === "pending" && f.sequencer === "0".repeat(32))).toBe(true);
    const problems = await store.listProblems("rejected");
    expect(problems.map((p) => p.key)).toEqual([misfit]);

    // Compaction as usual.
    const compacted = await json<{ status: string }[]>("compact", "--due", "--json");
    expect(compacted.map((c) => c.status)).toEqual(partitions.map(() => "committed"));
    const [count] = await json<{ n: number }[]>("query", "SELECT count(*) AS n FROM telemetry", "--json");
    expect(count?.n).toBe(simulated.expected.rows);

    // A second full run lists everything again and registers nothing.
    const again = await json<BackfillSummary>("backfill", "--checkpoint", checkpoint, "--json");
    expect(again.new).toBe(0);
    expect(again.outcomes.registered).toBe(0);
    expect(again.outcomes.rejected).toBe(0);
    expect(again.outcomes.stale).toBe(simulated.files.length + 1);
    expect(again.devicePrefixes.resumed).toBe(0);
    const files = (await Promise.all(partitions.map((p) => store.listFiles(p)))).flat();
    expect(files.every((f) => f.status === "compacted" && f.versions === 1)).toBe(true);

    // Two objects are overwritten while no notification flows. The listing shows versions
    // written after the recorded ones arrived, so a re-run registers them and compaction
    // replaces their rows.
    const overwritten = simulated.files.slice(0, 2);
    for (const file of overwritten) {
      const lines = Array.from({ length: 5 }, (_, i) =>
        JSON.stringify({ heartbeat: file.hourStartMs / 1000 + i, unitno: "X" }),
      );
      await stack.clients.s3.send(
        new PutObjectCommand({
          Bucket: resources.rawBucket,
          Key: file.key,
          Body: gzipSync(`${lines.join("\n")}\n`),
        }),
      );
    }
    const refreshed = await json<BackfillSummary>("backfill", "--checkpoint", checkpoint, "--json");
    expect(refreshed.outcomes.replaced).toBe(2);
    await json("compact", "--due", "--json");
    const [after] = await json<{ n: number }[]>("query", "SELECT count(*) AS n FROM telemetry", "--json");
    const removedRows = overwritten.reduce(
      (n, f) => n + (simulated.expected.rowsBySourceFile[f.key] ?? 0),
      0,
    );
    expect(after?.n).toBe(simulated.expected.rows - removedRows + 10);
  });

  it("lists only the key-days a date range needs, across time zones, and registers only that range", async () => {
    // Keys in +08:00, partitions in UTC: partition day 2025-12-13 holds key hours
    // 2025121308 … 2025121407, so two key-day folders are listed.
    await historyBucket("operate-backfill-range", {
      COMPACTER_KEY_TIME_ZONE: "+08:00",
      COMPACTER_PARTITION_TIME_ZONE: "+00:00",
    });
    const simulated = await json<SimulationSummary>(
      "simulate",
      "--start",
      "2025121406",
      "--hours",
      "3",
      "--devices",
      "2",
      "--rows-per-file",
      "10",
      "--json",
    );
    const inRange = simulated.files.filter((f) => f.partition.startsWith("hiveperiod=2025-12-13/"));
    const outside = simulated.files.length - inRange.length;
    expect(inRange.length).toBeGreaterThan(0);
    expect(outside).toBeGreaterThan(0);

    const result = await inProcess(
      "backfill",
      "--district",
      "BRCB",
      "--from",
      "2025-12-13",
      "--checkpoint",
      join(dir, "range.jsonl"),
      "--json",
    );
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as BackfillSummary;
    const brcbInRange = inRange.filter((f) => f.district === "BRCB").length;
    expect(summary.outcomes.registered).toBe(brcbInRange);
    expect(summary.keys).toBe(brcbInRange);
    expect(summary.outcomes.outOfRange).toBe(
      simulated.files.filter((f) => f.district === "BRCB").length - brcbInRange,
    );
    // One listing for the district's devices, then two key-days per device: never the whole bucket.
    expect(summary.requests["s3:ListObjectsV2"]).toBe(1 + 2 * 2);
  });
});
