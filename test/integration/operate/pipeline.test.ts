import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { METRICS, METRICS_NAMESPACE } from "@compacter/core";
import type { LocalResources } from "@compacter/local";
import type { SimulationSummary } from "@compacter/simulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, eventually, groupGone, json, killGroup, spawnCompacter } from "../../helpers/cli.js";
import { parseEmf, sum, valuesOf } from "../../helpers/emf.js";
import { useLocalStack } from "../../helpers/localStack.js";

/**
 * The whole pipeline through the CLI, as an operator runs it: `compacter run` in its own
 * process, `compacter simulate` uploading through S3 (notifications → ingest → sweep →
 * compaction), `compacter query` reading the lake through the manifest — and the metrics
 * the worker writes on stdout (EMF), read back as CloudWatch would.
 */
const stack = useLocalStack();
let resources: LocalResources;
let dir: string;

/** Windows short enough that simulated (closed, hence late) hours are due within a second. */
const SHORT_WINDOWS = {
  COMPACTER_CLOSE_AFTER: "1s",
  COMPACTER_LATE_DEBOUNCE: "1s",
  COMPACTER_SWEEP_INTERVAL: "500ms",
  COMPACTER_POLL_WAIT: "1s",
  COMPACTER_LOG_LEVEL: "warn",
};

beforeAll(async () => {
  resources = await stack.createResources("operate-pipeline");
  dir = await mkdtemp(join(tmpdir(), "compacter-operate-pipeline-"));
  // In-process commands read the same environment the spawned worker gets.
  Object.assign(process.env, stack.env(resources), SHORT_WINDOWS, {
    COMPACTER_TEMP_DIR: join(dir, "cli"),
  });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Count {
  readonly day: string;
  readonly district: string;
  readonly source_file: string;
  readonly n: number;
}

describe("simulate → run → query", () => {
  it("puts exactly the simulated rows in the lake, and the worker stops cleanly on SIGTERM", async () => {
    const worker = spawnCompacter(
      ["run"],
      cleanEnv({ ...stack.env(resources), ...SHORT_WINDOWS, COMPACTER_TEMP_DIR: join(dir, "worker") }),
    );
    try {
      const summary = await json<SimulationSummary>(
        "simulate",
        "--devices",
        "3",
        "--hours",
        "2",
        "--rows-per-file",
        "300",
        "--bad-lines",
        "0.01",
        "--odd-keys",
        "0.34",
        "--json",
      );
      expect(summary.expected.rows).toBeGreaterThan(0);
      // One key outside the layout (rejected) and one identical re-upload (a duplicate).
      await stack.clients.s3.send(
        new PutObjectCommand({ Bucket: resources.rawBucket, Key: "BRCB/not-a-device.txt.gz", Body: "x" }),
      );
      const first = summary.files[0]?.key ?? "";
      const body = await (
        await stack.clients.s3.send(new GetObjectCommand({ Bucket: resources.rawBucket, Key: first }))
      ).Body?.transformToByteArray();
      await stack.clients.s3.send(
        new PutObjectCommand({ Bucket: resources.rawBucket, Key: first, Body: body }),
      );

      // Until the first compaction `telemetry` has only its Hive columns: count rows first.
      await eventually("the lake to hold every simulated row", async () => {
        const [row] = await json<{ n: number }[]>("query", "SELECT count(*) AS n FROM telemetry", "--json");
        return (row?.n ?? 0) >= summary.expected.rows ? true : undefined;
      });
      const counts = await json<Count[]>(
        "query",
        "SELECT hiveperiod::VARCHAR AS day, district, source_file, count(*) AS n FROM telemetry GROUP BY ALL",
        "--json",
      );

      const bySource = Object.fromEntries(counts.map((r) => [r.source_file, r.n]));
      const expectedBySource = Object.fromEntries(
        Object.entries(summary.expected.rowsBySourceFile).filter(([, n]) => n > 0),
      );
      expect(bySource).toEqual(expectedBySource);
      const byPartition: Record<string, number> = {};
      for (const r of counts) {
        const label = `hiveperiod=${r.day}/district=${r.district}`;
        byPartition[label] = (byPartition[label] ?? 0) + r.n;
      }
      expect(byPartition).toEqual(summary.expected.rowsByPartition);

      // The files are marked compacted just after the rows become visible: wait for a sweep
      // that saw that (complete lines only: the last one may still be being written).
      await eventually("a sweep to find the lake caught up", async () => {
        const complete = worker.stdout().split("\n").slice(0, -1);
        return valuesOf(parseEmf(complete), METRICS.lakeFreshness.name).at(-1) === 0 ? true : undefined;
      });
      worker.child.kill("SIGTERM");
      expect(await worker.exited).toEqual({ code: 0, signal: null });
      expect(await groupGone(worker)).toBe(true);
      expect(worker.stderr()).not.toMatch(/"level":"error"/);

      // stdout holds only EMF lines; every metric of the catalogue is there (sweep errors
      // only when a sweep fails), named, unit'd and dimensioned as the dashboard and alarms expect.
      const stdout = worker.stdout().trim().split("\n");
      expect(stdout.every((line) => line.startsWith('{"_aws":'))).toBe(true);
      const data = parseEmf(stdout);
      for (const metric of Object.values(METRICS)) {
        if (metric === METRICS.sweepErrors) continue;
        const emitted = data.filter((d) => d.name === metric.name);
        expect(emitted.length, metric.name).toBeGreaterThan(0);
        for (const datum of emitted) {
          expect(datum, metric.name).toMatchObject({
            namespace: METRICS_NAMESPACE,
            unit: metric.unit,
            dimensions: ["Stage", ...metric.dimensions],
            dimensionValues: expect.objectContaining({ Stage: "local" }),
          });
        }
      }
      expect(sum(valuesOf(data, METRICS.filesIngested.name))).toBe(summary.totals.uploads);
      expect(sum(valuesOf(data, METRICS.filesRejected.name))).toBe(1);
      expect(sum(valuesOf(data, METRICS.filesDuplicate.name))).toBe(1);
      expect(sum(valuesOf(data, METRICS.rowsOut.name))).toBeGreaterThanOrEqual(summary.expected.rows);
      expect(sum(valuesOf(data, METRICS.badLines.name))).toBeGreaterThanOrEqual(summary.expected.badLines);
      expect(valuesOf(data, METRICS.compactions.name, { Outcome: "committed" }).length).toBeGreaterThan(0);
      // The last sweep before the worker stopped found the lake caught up.
      expect(valuesOf(data, METRICS.lakeFreshness.name).at(-1)).toBe(0);
    } finally {
      killGroup(worker);
    }
  });
});
