import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import {
  GetObjectCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import {
  type CompacterConfig,
  formatRawKey,
  HOUR_MS,
  type PartitionId,
  parseRawKey,
  type RawFileRecord,
} from "@compacter/core";
import { createDuckDbEngine } from "@compacter/duckdb";
import type { LocalResources } from "@compacter/local";
import { runSimulation, type SimulationSummary, s3Sink } from "@compacter/simulator";
import { createRuntime, type Runtime, Worker } from "@compacter/wiring";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningConsole, startConsole } from "../../packages/cli/src/ui/consoleServer.js";
import { launchBrowser, SCREENSHOT_DIR } from "../helpers/browser.js";
import { eventually, inProcess, json } from "../helpers/cli.js";
import { useLocalStack } from "../helpers/localStack.js";

/**
 * The ops console in a real headless Chromium against the local stack: a simulated run
 * (with an unreadable file), a worker in this process, and the console's server over the
 * same manifest and lake. Each step leaves a screenshot in test-output/screenshots/.
 */
const stack = useLocalStack();
let resources: LocalResources;
let config: CompacterConfig;
let dir: string;
let summary: SimulationSummary;
let running: { runtime: Runtime; worker: Worker } | undefined;
let ui: RunningConsole;
let browser: Browser;
let page: Page;

/** Windows short enough that closed hours are due within a second of arriving. */
const SHORT_WINDOWS = {
  closeAfterMs: "1s",
  lateDebounceMs: "1s",
  sweepIntervalMs: "300ms",
  pollWaitMs: "1s",
  logLevel: "error",
} as const;

/** The whole worker, or (compaction: false) one that only registers files: nothing compacts. */
function startWorker(roles: { compaction: boolean } = { compaction: true }): void {
  const runtime = createRuntime(config, { clients: stack.clients });
  const worker = new Worker(runtime, createDuckDbEngine(), {
    roles: { ingest: true, sweep: roles.compaction, compaction: roles.compaction },
  });
  worker.start();
  running = { runtime, worker };
}

async function stopWorker(): Promise<void> {
  await running?.worker.stop();
  running?.runtime.close();
  running = undefined;
}

/** A small readable raw file: `rows` seconds of one unit. */
function rawBody(unitno: string, hourStartMs: number, rows: number): Buffer {
  const lines = Array.from({ length: rows }, (_, i) =>
    JSON.stringify({
      heartbeat: Math.floor(hourStartMs / 1000) + i,
      unitno,
      gps_lat: -23.2 + i * 1e-4,
      gps_lon: 116.9 + i * 1e-4,
      speed_kmh: i % 40,
    }),
  );
  return gzipSync(`${lines.join("\n")}\n`);
}

async function put(key: string, body: Buffer): Promise<void> {
  await stack.clients.s3.send(new PutObjectCommand({ Bucket: resources.rawBucket, Key: key, Body: body }));
}

function cellOf(partition: PartitionId) {
  return page.locator(`td.cell[data-day="${partition.day}"][data-district="${partition.district}"]`);
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  resources = await stack.createResources("ui-browser");
  dir = await mkdtemp(join(tmpdir(), "compacter-ui-browser-"));
  config = stack.config(resources, { ...SHORT_WINDOWS, tempDir: join(dir, "worker") });
  // The CLI commands this test runs in-process (for expected answers) read the same stack.
  Object.assign(process.env, stack.env(resources), { COMPACTER_TEMP_DIR: join(dir, "cli") });
  startWorker();
  summary = await runSimulation(
    {
      layout: config,
      districts: ["BRCB", "KDCB"],
      devicesPerDistrict: 2,
      hours: 2,
      rowsPerFile: 300,
      knobs: { notJson: 0.1 },
    },
    s3Sink(stack.clients.s3, config.rawBucket),
  );
  const store = running!.runtime.store;
  await eventually("the simulated run to be compacted (and its unreadable file quarantined)", async () => {
    const [due, quarantined] = await Promise.all([store.listDue(), store.listProblems("quarantined")]);
    return due.length === 0 && quarantined.length === summary.expected.unreadable.length ? true : undefined;
  });
  ui = await startConsole({
    config: stack.config(resources, { tempDir: join(dir, "ui") }),
    clients: stack.clients,
    port: 0,
  });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on("pageerror", (error) => {
    throw error;
  });
});

afterAll(async () => {
  await browser?.close();
  await ui?.close();
  await stopWorker();
  await rm(dir, { recursive: true, force: true });
});

function partitionOf(key: string): PartitionId {
  const parsed = parseRawKey(key, config);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value.partition;
}

/** Polls the page (the grid refreshes itself every 5 s; a click on Refresh is sooner). */
async function untilGrid<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  return eventually(what, async () => {
    const value = await probe();
    if (value === undefined) await page.click("#grid-refresh");
    return value;
  });
}

describe("the ops console in a browser", () => {
  let quarantined: RawFileRecord;
  let lateKey: string;
  let pendingKey: string;

  it("colours the grid by state, with the quarantined file and the late file marked", async () => {
    expect(summary.expected.unreadable).toHaveLength(1);
    const [problem] = await running!.runtime.store.listProblems("quarantined");
    quarantined = problem as RawFileRecord;
    // With nothing compacting, a late file (an hour long closed) stays due and a file of
    // the current hour stays pending (its window is open) while the page is looked at.
    await stopWorker();
    startWorker({ compaction: false });
    const closedHour = summary.settings.startHourMs;
    // In the other district, so the quarantined file's partition stays compacted.
    const lateDistrict = quarantined.partition.district === "BRCB" ? "KDCB" : "BRCB";
    lateKey = formatRawKey({ district: lateDistrict, deviceId: "LATE0001", hourStartMs: closedHour }, config);
    await put(lateKey, rawBody("HT9001", closedHour, 60));
    // The running hour (the next one in its last minute, so it can't close mid-test).
    const openHour = Math.floor((Date.now() + 60_000) / HOUR_MS) * HOUR_MS;
    pendingKey = formatRawKey({ district: "KLTA", deviceId: "NEW0001", hourStartMs: openHour }, config);
    await put(pendingKey, rawBody("HT9002", openHour, 60));
    const store = running!.runtime.store;
    await eventually("both new files to be registered", async () => {
      const [a, b] = await Promise.all([
        store.getFile(partitionOf(lateKey), lateKey),
        store.getFile(partitionOf(pendingKey), pendingKey),
      ]);
      return a && b ? true : undefined;
    });

    await page.goto(ui.url);
    const withQuarantine = cellOf(quarantined.partition);
    const late = cellOf(partitionOf(lateKey));
    const pending = cellOf(partitionOf(pendingKey));
    await untilGrid("the late file's partition to be due", async () =>
      (await late.count()) > 0 && (await late.getAttribute("data-state")) === "due" ? true : undefined,
    );
    expect(await withQuarantine.getAttribute("data-state")).toBe("compacted");
    expect(await withQuarantine.getAttribute("data-quarantined")).toBe("1");
    await expect(withQuarantine.locator(".badge.q").textContent()).resolves.toBe("Q 1");
    expect(await late.getAttribute("data-late")).toBe("1");
    await expect(late.locator(".badge.late").textContent()).resolves.toBe("L 1");
    expect(await pending.getAttribute("data-state")).toBe("pending");
    // Every simulated partition is on the grid.
    for (const label of Object.keys(summary.expected.rowsByPartition)) {
      const [, day, district] = /^hiveperiod=(.+)\/district=(.+)$/.exec(label) ?? [];
      expect(await cellOf({ day: day!, district: district! }).count()).toBe(1);
    }
    await expect(page.locator("#stat-queue-ingestDlq b").textContent()).resolves.toBe("0");
    await expect(page.locator("#problem-list").textContent()).resolves.toContain(quarantined.key);
    await shot("1-health-grid");
  });

  it("opens a partition's raw files, current Parquet files and history on a click", async () => {
    const partition = quarantined.partition;
    await cellOf(partition).click();
    await page.waitForSelector(
      `.detail[data-day="${partition.day}"][data-district="${partition.district}"] #history`,
    );
    const store = createRuntime(config, { clients: stack.clients }).store;
    const [history, files, state] = await Promise.all([
      store.listHistory(partition),
      store.listFiles(partition),
      store.getPartition(partition),
    ]);
    expect(history.length).toBeGreaterThan(0);
    expect(await page.locator("#history tbody tr").count()).toBe(history.length);
    expect(await page.locator("#raw-files tbody tr").count()).toBe(files.length);
    expect(await page.locator("#lake-files tbody tr").count()).toBe(state!.files.length);
    const quarantinedRow = page.locator("#raw-files tbody tr", { hasText: quarantined.key });
    await expect(quarantinedRow.textContent()).resolves.toContain("quarantined");
    await expect(quarantinedRow.textContent()).resolves.toContain(quarantined.error!.slice(0, 30));
    await shot("2-partition-history");
  });

  it("retries a quarantined file from the problems list; the grid changes once it compacts", async () => {
    // The device re-uploaded a readable file but its notification was lost (notifications
    // are switched off here): only a retry makes the worker read the key again.
    await stack.clients.s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: resources.rawBucket,
        NotificationConfiguration: {},
      }),
    );
    const good = summary.files.find((f) => f.district === quarantined.partition.district && f.kind === "ok");
    const body = await stack.clients.s3.send(
      new GetObjectCommand({ Bucket: resources.rawBucket, Key: good!.key }),
    );
    await put(quarantined.key, Buffer.from(await body.Body!.transformToByteArray()));
    await stopWorker();
    startWorker();

    const before = Number(await cellOf(quarantined.partition).getAttribute("data-generation"));
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/api/retry")),
      page.click(`#problem-list button.retry[data-key="${quarantined.key}"]`),
    ]);
    expect(await answer.json()).toEqual([
      expect.objectContaining({ key: quarantined.key, requeued: true, was: "quarantined" }),
    ]);
    const cell = cellOf(quarantined.partition);
    await untilGrid("the retried file to be compacted", async () =>
      (await cell.getAttribute("data-quarantined")) === "0" &&
      Number(await cell.getAttribute("data-generation")) > before
        ? true
        : undefined,
    );
    expect(await cell.getAttribute("data-state")).toBe("compacted");
    const file = await running!.runtime.store.getFile(quarantined.partition, quarantined.key);
    expect(file?.status).toBe("compacted");
    await page.waitForSelector("#problems >> text=None.");
    await shot("3-after-retry");
  });

  it("draws a unit's day: the track on the map and a chart point per row", async () => {
    const { day, district } = partitionOf(summary.files.find((f) => f.kind === "ok")!.key);
    await page.click('nav a[data-tab="unit"]');
    await page.fill("#unit-day", day);
    await page.fill("#unit-district", district);
    await page.click("#units-load");
    const first = page.locator(`#units[data-day="${day}"][data-district="${district}"] button`).first();
    await first.waitFor();
    const unit = (await first.getAttribute("data-unit"))!;
    const [expected] = await json<{ n: number }[]>(
      "query",
      "SELECT count(*) AS n FROM telemetry WHERE unitno = $u AND event_time IS NOT NULL",
      "--day",
      day,
      "--district",
      district,
      "--param",
      `u=${unit}`,
      "--json",
    );
    expect(expected!.n).toBeGreaterThan(0);

    await first.click();
    await page.waitForSelector(`#unit-status[data-unit="${unit}"]`);
    expect(Number(await page.getAttribute("#map", "data-points"))).toBe(expected!.n);
    expect(await page.locator("#map path.track").count()).toBe(
      Number(await page.getAttribute("#map", "data-lines")),
    );
    expect(await page.locator("#map path.track").count()).toBeGreaterThan(0);
    const charts = page.locator("#charts .chart");
    expect(await charts.count()).toBeGreaterThan(1);
    for (const chart of await charts.all()) {
      expect(Number(await chart.getAttribute("data-points"))).toBe(expected!.n);
      expect(await chart.locator("canvas").count()).toBe(1);
    }

    // Brushing: a drag across one chart narrows every chart, the table and the track.
    const over = charts.first().locator(".u-over");
    const area = (await over.boundingBox())!;
    await page.mouse.move(area.x + area.width * 0.25, area.y + area.height / 2);
    await page.mouse.down();
    await page.mouse.move(area.x + area.width * 0.5, area.y + area.height / 2, { steps: 5 });
    await page.mouse.up();
    const inRange = Number(await page.getAttribute("#unit-rows", "data-in-range"));
    expect(inRange).toBeGreaterThan(0);
    expect(inRange).toBeLessThan(expected!.n * 0.4);
    const timeAxis = (chart: Locator) => chart.locator(".u-axis").first().textContent();
    expect(await timeAxis(charts.last())).toBe(await timeAxis(charts.first()));
    console.info(
      `time to chart (${unit}, ${expected!.n} rows): ${await page.getAttribute("#unit-status", "data-ms")} ms`,
    );
    await shot("4-unit-day");
  });

  it("shows DuckDB's own message for a SQL error, and answers a good query", async () => {
    const { day } = quarantined.partition;
    await page.click('nav a[data-tab="sql"]');
    await page.fill("#sql-day", day);
    await page.fill("#sql-text", "SELECT no_such_column FROM telemetry");
    await page.click("#sql-run");
    await page.waitForSelector("#sql-error:not([hidden])");
    const shown = (await page.textContent("#sql-error"))!;
    const cli = await inProcess("query", "SELECT no_such_column FROM telemetry", "--day", day);
    expect(cli.code).toBe(1);
    expect(shown).toContain('Referenced column "no_such_column" not found');
    expect(`compacter: ${shown}\n`).toBe(cli.stderr);
    await shot("5-sql-error");

    await page.fill("#sql-text", "SELECT count(*) AS n FROM telemetry");
    await page.click("#sql-run");
    await page.waitForSelector("#sql-table");
    const [count] = await json<{ n: number }[]>(
      "query",
      "SELECT count(*) AS n FROM telemetry",
      "--day",
      day,
      "--json",
    );
    await expect(page.locator("#sql-table tbody td").first().textContent()).resolves.toBe(String(count!.n));
    await shot("6-sql-result");
  });
});
