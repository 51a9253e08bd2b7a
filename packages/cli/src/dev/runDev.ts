import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { emfMetricsFor, getQueueDepth, type MessageDisposition } from "@compacter/aws";
import {
  type CompactionOutcome,
  createLogger,
  flagName,
  formatBytes,
  type LakeFreshness,
  lakeFreshness,
  loadConfig,
  partitionLabel,
  SETTINGS,
  type SettingName,
} from "@compacter/core";
import { createDuckDbEngine } from "@compacter/duckdb";
import { formatEnvFile, type LocalStack, parseEnvFile, writeEnvFile } from "@compacter/local";
import { createRuntime, Worker } from "@compacter/wiring";
import { readableLogSink } from "../readableLogs.js";
import { configFromFlags } from "../settingsFlags.js";
import { connectionHelp } from "./connectionHelp.js";
import { DEMO_SIZE, printSampleAnswer, runDemo, type WorkerCounters } from "./demo.js";
import { startDevConsole } from "./devConsole.js";
import { DEFAULT_ENV_FILE, DEV_LOG_LEVEL, type DevFlags, startDevStack } from "./devStack.js";
import { note, shutdownSignal, sleep } from "./shutdown.js";

/**
 * Windows short enough that the demo's files are due at once (its hours closed minutes
 * ago, so every file is late: due `lateDebounce` after upload). Used only with the demo,
 * only for settings the user didn't give, and written to the env file so that other
 * processes agree.
 */
export const DEMO_WINDOWS = {
  closeAfterMs: "10s",
  lateDebounceMs: "3s",
  sweepIntervalMs: "2s",
} as const satisfies Partial<Record<SettingName, string>>;

const WATCH_INTERVAL_MS = 2_000;

/** Beside the env file (default .compacter/), unless COMPACTER_METRICS_FILE says otherwise. */
export const METRICS_FILE = "metrics.emf.jsonl";

export async function runDev(flags: DevFlags): Promise<void> {
  const envFile = resolve(flags.writeEnv ?? DEFAULT_ENV_FILE);
  await forgetPreloadedEnvFile(envFile);
  const config = configFromFlags(flags);
  const given = givenSettingsEnv(flags);
  const withWorker = flags.worker;
  const withDemo = withWorker && flags.demo;
  const demoWindows = withDemo ? demoWindowsNotGiven(given) : {};
  const shutdown = shutdownSignal();
  const tempDir = config.tempDir ? undefined : await mkdtemp(join(tmpdir(), "compacter-dev-"));
  try {
    const dev = await startDevStack({
      config,
      ...(flags.s3Port ? { s3Port: flags.s3Port } : {}),
      ...(flags.dynamodbPort ? { dynamodbPort: flags.dynamodbPort } : {}),
      ...(flags.dataDir ? { dataDir: resolve(flags.dataDir) } : {}),
      settingsEnv: { ...given, ...demoWindows },
    });
    // Stopped in this order: the worker drains before the stack it talks to goes away.
    const stopping: { readonly what: string; readonly stop: () => Promise<void> }[] = [
      { what: "the local stack", stop: () => dev.stop() },
    ];
    try {
      const header = [
        `Local stack of \`compacter dev\` (pid ${process.pid}), started ${new Date().toISOString()}.`,
        "Load with: set -a; . FILE; set +a",
      ].join("\n");
      await mkdir(dirname(envFile), { recursive: true });
      await writeEnvFile(envFile, dev.env, header);
      process.stdout.write(formatEnvFile(dev.env, header));
      const { emulators, resources } = dev.stack.startupMs;
      note(
        `local stack ready in ${Math.round(resources)} ms (emulators ${Math.round(emulators)} ms); ` +
          `env written to ${shown(envFile)} — in another terminal: set -a; . ${shown(envFile)}; set +a`,
      );
      if (Object.keys(demoWindows).length > 0) {
        note(
          `demo windows: ${Object.entries(DEMO_WINDOWS)
            .filter(([name]) => SETTINGS[name as SettingName].env in demoWindows)
            .map(
              ([name, value]) =>
                `${flagName(name as SettingName)} ${value} (default ${SETTINGS[name as SettingName].default})`,
            )
            .join(", ")} so the demo's files are due at once; pass your own to change them, or --no-demo`,
        );
      }

      const devConsole = flags.ui
        ? await startDevConsole({
            config: loadConfig({ env: dev.env, overrides: tempDir ? { tempDir } : {} }),
            clients: dev.stack.clients,
            ...(flags.uiPort !== undefined ? { port: flags.uiPort } : {}),
          })
        : undefined;
      if (devConsole) {
        stopping.unshift({ what: "the console", stop: () => devConsole.close() });
        note(`ops console: ${devConsole.url} (loopback only; --no-ui to skip it)`);
      }

      if (!withWorker) {
        note(
          "no worker (--no-worker): start one with `compacter run` after loading the env file; Ctrl-C stops the stack",
        );
        await watchIngestQueue(dev.stack, shutdown.signal);
        return;
      }
      const workerConfig = loadConfig({
        env: dev.env,
        overrides: tempDir ? { tempDir } : {},
      });
      const tty = process.stderr.isTTY === true;
      const log = createLogger({
        level: dev.env[SETTINGS.logLevel.env] ?? DEV_LOG_LEVEL,
        fields: { role: "worker", worker: `dev/${process.pid}` },
        // On a terminal: readable lines, each clearing the live status line first.
        ...(tty ? { sink: readableLogSink((text) => process.stderr.write(`\r\x1b[2K${text}`)) } : {}),
      });
      // The metrics every runtime publishes, as the EMF lines CloudWatch would ingest, in a
      // file beside the env file: stdout and the terminal stay readable, tests and jq can read them.
      const metricsFile = workerConfig.metricsFile || join(dirname(envFile), METRICS_FILE);
      const metrics = emfMetricsFor({ ...workerConfig, metricsFile }, log);
      const runtime = createRuntime(workerConfig, { clients: dev.stack.clients, log, metrics });
      const counters: WorkerCounters = {
        filesIngested: 0,
        compactionRuns: 0,
        partitionsCompacted: new Set(),
      };
      let demoRunning = withDemo;
      if (flags.runtime === "lambda") {
        const { startLambdaShape } = await import("./startLambdaShape.js");
        const lambda = await startLambdaShape({
          stack: dev.stack,
          // The handlers write their EMF lines where the worker would.
          env: { ...dev.env, [SETTINGS.metricsFile.env]: metricsFile },
          config: workerConfig,
          log,
          counters,
          onCompacted: (partitions) => {
            if (!demoRunning || !tty) note(`compactor invocation done: ${partitions.join(", ")}`);
          },
        });
        stopping.unshift({
          what: "the Lambda functions (invocations in hand finish)",
          stop: async () => {
            await lambda.stop();
            runtime.close();
          },
        });
        note(
          "Lambda shape running: the deployed ingest, sweep and compactor handlers behind event source mappings and a schedule",
        );
      } else {
        const engine = createDuckDbEngine({ slots: workerConfig.compactionConcurrency });
        const worker = new Worker(runtime, engine, {
          onIngestBatch: (dispositions) => {
            counters.filesIngested += filesRegistered(dispositions);
          },
          onOutcome: (outcome) => {
            if (outcome.status !== "committed") return;
            counters.compactionRuns += 1;
            counters.partitionsCompacted.add(partitionLabel(outcome.partition));
            if (!demoRunning || !tty) note(describeOutcome(outcome));
          },
        });
        worker.start();
        stopping.unshift({
          what: "the worker (work in hand finishes)",
          stop: async () => {
            await worker.stop();
            await engine.close();
            runtime.close();
          },
        });
        note("worker running: ingest, sweep and compaction (DuckDB)");
      }
      note(`metrics (EMF lines, as CloudWatch receives them) go to ${shown(metricsFile)}`);

      if (withDemo) {
        const demo = {
          stack: dev.stack,
          config: workerConfig,
          store: runtime.store,
          counters,
          size: {
            devicesPerDistrict: flags.demoDevices ?? DEMO_SIZE.devicesPerDistrict,
            hours: flags.demoHours ?? DEMO_SIZE.hours,
          },
          signal: shutdown.signal,
        };
        const result = await runDemo(demo);
        demoRunning = false;
        if (result) {
          await printSampleAnswer(demo, result);
          process.stdout.write(
            connectionHelp({
              stack: dev.stack,
              envFile: shown(envFile),
              day: result.partitions[0]?.day ?? "",
              lakePrefix: workerConfig.lakePrefix,
              ...(devConsole ? { consoleUrl: devConsole.url } : {}),
            }),
          );
        }
      }
      if (!shutdown.signal.aborted) note("running; Ctrl-C stops everything");
      // Lake freshness on the live line, computed as the sweep and `compacter status` compute it.
      await watchIngestQueue(dev.stack, shutdown.signal, async () =>
        lakeFreshness(await runtime.store.listDue(), Date.now()),
      );
    } finally {
      for (const { what, stop } of stopping) {
        note(`stopping ${what}`);
        await stop();
      }
    }
  } finally {
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
    shutdown.dispose();
  }
}

function filesRegistered(dispositions: readonly MessageDisposition[]): number {
  let n = 0;
  for (const d of dispositions) {
    if (d.status !== "done") continue;
    for (const record of d.result.records) {
      if (record.outcome === "registered" || record.outcome === "replaced") n += 1;
    }
  }
  return n;
}

function describeOutcome(outcome: CompactionOutcome): string {
  const h = outcome.history;
  return (
    `compacted ${partitionLabel(outcome.partition)}: generation ${outcome.generation} (${outcome.plan}` +
    `${outcome.reason ? `, ${outcome.reason}` : ""}): ${h?.inputs.length ?? 0} raw file(s) → ` +
    `${h?.outputs.length ?? 0} Parquet file(s), ${h?.rowsOut ?? 0} rows, ${formatBytes(h?.bytesOut ?? 0)}`
  );
}

/** The headline figure, as the dashboard shows it (LakeFreshness), rounded to whole seconds. */
export function describeFreshness(lake: LakeFreshness): string {
  if (lake.overdueFiles === 0) return "lake freshness: 0 s (nothing overdue)";
  return `lake freshness: ${Math.floor(lake.ageMs / 1000)} s behind (${lake.overdueFiles} file(s) overdue)`;
}

/** A path as the user would type it: relative when under the working directory. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== "" && !rel.startsWith("..") ? rel : path;
}

/**
 * A shell that sourced the env file for an earlier run has its variables (so did Node 20
 * when an older `dev` took `--env-file FILE`, nodejs/node#54232). The previous run's
 * endpoints and settings would look like the user's: drop every variable whose value is
 * exactly what the old file says.
 */
async function forgetPreloadedEnvFile(path: string): Promise<void> {
  let previous: Record<string, string>;
  try {
    previous = parseEnvFile(await readFile(path, "utf8"));
  } catch {
    return;
  }
  for (const [key, value] of Object.entries(previous)) {
    if (process.env[key] === value) delete process.env[key];
  }
}

/**
 * Counts, not receives: a receive would hide messages from the worker for a visibility
 * timeout, so the queue is only observed through its attributes.
 */
async function watchIngestQueue(
  stack: LocalStack,
  signal: AbortSignal,
  freshness: () => Promise<LakeFreshness | undefined> = async () => undefined,
): Promise<void> {
  let last = "";
  let delivered = stack.bridge.stats().messagesDelivered;
  while (!signal.aborted) {
    const [queue, dlq] = await Promise.all([
      getQueueDepth(stack.clients.sqs, stack.resources.ingestQueueUrl),
      getQueueDepth(stack.clients.sqs, stack.resources.ingestDlqUrl),
    ]);
    const stats = stack.bridge.stats();
    const lake = await freshness().catch(() => undefined);
    const line =
      `ingest queue: ${queue.visible} waiting, ${queue.inFlight} in flight; DLQ: ${dlq.visible}` +
      (lake ? `; ${describeFreshness(lake)}` : "");
    if (line !== last || stats.messagesDelivered !== delivered) {
      const fresh = stats.messagesDelivered - delivered;
      note(`${line}${fresh > 0 ? ` (+${fresh} notification${fresh === 1 ? "" : "s"})` : ""}`);
      last = line;
      delivered = stats.messagesDelivered;
    }
    await sleep(WATCH_INTERVAL_MS, signal);
  }
}

/**
 * Settings given to `dev` (flag, else environment), except the resources the stack
 * names itself, so a second process that sources the env file runs with the same
 * windows and limits.
 */
function givenSettingsEnv(flags: Record<string, unknown>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const spec = SETTINGS[name];
    if (spec.group === "resources") continue;
    const fromFlag = flags[optionKey(name)];
    const raw = typeof fromFlag === "string" ? fromFlag : process.env[spec.env];
    if (raw !== undefined && raw !== "") env[spec.env] = raw;
  }
  return env;
}

function demoWindowsNotGiven(given: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(DEMO_WINDOWS)) {
    const variable = SETTINGS[name as SettingName].env;
    if (given[variable] === undefined) env[variable] = value;
  }
  return env;
}

/** commander's property for a setting's flag: "--close-after" → "closeAfter". */
function optionKey(name: SettingName): string {
  return flagName(name)
    .slice(2)
    .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
