import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseEnvFile } from "@compacter/local";
import type { SimulationSummary } from "@compacter/simulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cleanEnv,
  eventually,
  groupGone,
  json,
  killGroup,
  type Running,
  spawnCompacter,
} from "../../helpers/cli.js";
import { parseEmf, sum, valuesOf } from "../../helpers/emf.js";

/**
 * `compacter dev` as a newcomer runs it (`npm start`): the stack, the worker and the demo
 * come up, a query answer appears, and Ctrl-C (SIGINT to the whole process group, as a
 * terminal sends it) leaves no process, port or temp dir behind.
 */
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "compacter-operate-dev-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A dev process whose OS temp dir is a directory of the test's own, so leftovers can be seen. */
async function startDev(
  name: string,
  args: readonly string[],
): Promise<{ dev: Running; envFile: string; tmp: string }> {
  const tmp = join(dir, `${name}-tmp`);
  await mkdir(tmp, { recursive: true });
  const envFile = join(dir, `${name}.env`);
  const dev = spawnCompacter(["dev", "--write-env", envFile, ...args], cleanEnv({ TMPDIR: tmp }));
  return { dev, envFile, tmp };
}

async function envOf(envFile: string, dev: Running): Promise<Record<string, string>> {
  return eventually(`the env file ${envFile}`, async () => {
    if (dev.child.exitCode !== null) throw new Error(`compacter dev exited early:\n${dev.stderr()}`);
    return existsSync(envFile) ? parseEnvFile(await readFile(envFile, "utf8")) : undefined;
  });
}

function portIsOpen(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((done) => {
    let connected = false;
    const socket = new Socket();
    socket.once("connect", () => {
      connected = true;
      socket.destroy();
    });
    socket.once("error", () => {});
    socket.once("close", () => done(connected));
    socket.connect(Number(port), hostname);
  });
}

/** Ctrl-C: SIGINT to the foreground process group. */
async function ctrlC(dev: Running, env: Record<string, string>, tmp: string): Promise<void> {
  process.kill(-dev.child.pid!, "SIGINT");
  expect(await dev.exited).toEqual({ code: 0, signal: null });
  expect(await groupGone(dev)).toBe(true);
  expect(await portIsOpen(env.AWS_ENDPOINT_URL!)).toBe(false);
  expect(await portIsOpen(env.AWS_ENDPOINT_URL_DYNAMODB!)).toBe(false);
  // tsx keeps its compile cache in the OS temp dir on purpose (reused by the next run).
  expect((await readdir(tmp)).filter((entry) => !entry.startsWith("tsx-"))).toEqual([]);
}

describe("compacter dev", () => {
  it("--no-demo runs the stack and the worker with the settings given, until Ctrl-C", async () => {
    const { dev, envFile, tmp } = await startDev("no-demo", [
      "--no-demo",
      "--close-after",
      "1s",
      "--late-debounce",
      "0",
      "--sweep-interval",
      "500ms",
    ]);
    try {
      const env = await envOf(envFile, dev);
      expect(env).toMatchObject({ COMPACTER_CLOSE_AFTER: "1s", COMPACTER_SWEEP_INTERVAL: "500ms" });
      await eventually("the worker", async () =>
        dev.stderr().includes("worker running") ? true : undefined,
      );

      // Another terminal: load the env file, upload, query.
      Object.assign(process.env, env, { COMPACTER_TEMP_DIR: join(dir, "cli"), COMPACTER_LOG_LEVEL: "warn" });
      const summary = await json<SimulationSummary>(
        "simulate",
        "--devices",
        "2",
        "--hours",
        "1",
        "--rows-per-file",
        "100",
        "--json",
      );
      await eventually("the worker to compact the upload", async () => {
        const [row] = await json<{ n: number }[]>("query", "SELECT count(*) AS n FROM telemetry", "--json");
        return row?.n === summary.expected.rows ? true : undefined;
      });
      expect(dev.stderr()).toContain("compacted hiveperiod=");
      expect(dev.stdout()).not.toContain("Sample answer");
      expect(dev.stderr()).toMatch(/ops console: http:\/\/127\.0\.0\.1:\d+\//);
      // The live line carries lake freshness; the metrics are EMF lines beside the env file.
      await eventually("the live line to show the lake caught up", async () =>
        dev.stderr().includes("lake freshness: 0 s (nothing overdue)") ? true : undefined,
      );
      const metricsFile = join(dirname(envFile), "metrics.emf.jsonl");
      const metrics = await eventually("the ingest metrics in the metrics file", async () => {
        const complete = (await readFile(metricsFile, "utf8")).split("\n").slice(0, -1);
        const data = parseEmf(complete);
        return sum(valuesOf(data, "FilesIngested")) === summary.totals.uploads ? data : undefined;
      });
      // At least: a day that closed meanwhile is merged, which reads and writes its rows again.
      expect(sum(valuesOf(metrics, "RowsOut", { Stage: "local" }))).toBeGreaterThanOrEqual(
        summary.expected.rows,
      );

      await ctrlC(dev, env, tmp);
      expect(dev.stderr()).toContain("stopping the local stack");
    } finally {
      killGroup(dev);
    }
  });

  // The same demo, the same answer, in both runtime shapes: the long-running worker, and the
  // deployed Lambda handlers behind event source mappings and the sweep schedule.
  it.each(["worker", "lambda"])(
    "runs the demo with --runtime %s: raw files become Parquet and a query answer is printed; Ctrl-C stops it all",
    async (runtime) => {
      const { dev, envFile, tmp } = await startDev(`demo-${runtime}`, [
        "--demo-devices",
        "2",
        "--demo-hours",
        "1",
        "--runtime",
        runtime,
      ]);
      try {
        const env = await envOf(envFile, dev);
        // The demo's windows are in the env file, so other processes agree with the worker.
        expect(env).toMatchObject({
          COMPACTER_CLOSE_AFTER: "10s",
          COMPACTER_LATE_DEBOUNCE: "3s",
          COMPACTER_SWEEP_INTERVAL: "2s",
        });
        const answer = await eventually(
          "the demo's answer",
          async () => {
            if (dev.child.exitCode !== null) throw new Error(`compacter dev exited:\n${dev.stderr()}`);
            return dev.stdout().includes("aws s3 ls") ? dev.stdout() : undefined;
          },
          120_000,
        );
        // 2 devices × 1 hour × 3600 rows per district.
        expect(answer).toMatch(/^BRCB\s+7200\s+2\s/m);
        expect(answer).toMatch(/^KDCB\s+7200\s+2\s/m);
        expect(answer).toContain(`SET s3_endpoint = '${new URL(env.AWS_ENDPOINT_URL!).host}'`);
        expect(answer).toContain("set -a; . ");
        expect(dev.stderr()).toContain("demo windows: --close-after 10s");
        expect(dev.stderr()).toContain(runtime === "lambda" ? "Lambda shape running" : "worker running");

        // The ops console runs inside dev, its URL next to the CLI instructions.
        const consoleUrl = /Ops console[^\n]*\n\s+(http:\/\/127\.0\.0\.1:\d+\/)\n/.exec(answer)?.[1];
        expect(consoleUrl).toBeDefined();
        const home = await fetch(consoleUrl!);
        expect(home.status).toBe(200);
        expect(await home.text()).toContain("<title>Compacter console</title>");
        const overview = (await (await fetch(`${consoleUrl}api/overview`)).json()) as {
          grid: { cells: { district: string; state: string; rows: number }[] };
        };
        expect(overview.grid.cells.map((c) => [c.district, c.rows]).sort()).toEqual([
          ["BRCB", 7200],
          ["KDCB", 7200],
        ]);
        // Every row is in; just after midnight (+08:00) the closed day's merge may be due.
        for (const cell of overview.grid.cells) expect(["compacted", "due"]).toContain(cell.state);

        await ctrlC(dev, env, tmp);
        expect(await portIsOpen(consoleUrl!)).toBe(false);
      } finally {
        killGroup(dev);
      }
    },
  );
});
