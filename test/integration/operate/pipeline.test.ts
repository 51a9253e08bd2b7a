import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LocalResources } from "@compacter/local";
import type { SimulationSummary } from "@compacter/simulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, eventually, groupGone, json, killGroup, spawnCompacter } from "../../helpers/cli.js";
import { useLocalStack } from "../../helpers/localStack.js";

/**
 * The whole pipeline through the CLI, as an operator runs it: `compacter run` in its own
 * process, `compacter simulate` uploading through S3 (notifications → ingest → sweep →
 * compaction), `compacter query` reading the lake through the manifest.
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

      worker.child.kill("SIGTERM");
      expect(await worker.exited).toEqual({ code: 0, signal: null });
      expect(await groupGone(worker)).toBe(true);
      expect(worker.stderr()).not.toMatch(/"level":"error"/);
    } finally {
      killGroup(worker);
    }
  });
});
