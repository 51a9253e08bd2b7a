import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { getQueueDepth } from "@compacter/aws";
import { type CompacterConfig, flagName, SETTINGS, type SettingName } from "@compacter/core";
// Loaded by the action only: the emulators (fastify, dynalite, LevelDB) would otherwise
// slow down every other command's start.
import type { LocalStack } from "@compacter/local";
import { type Command, InvalidArgumentError } from "commander";
import { addSettingFlags, configFromFlags } from "../settingsFlags.js";

/**
 * `compacter dev`: the local AWS stack in one process, its endpoints in an env file,
 * and a live count of the notifications waiting on the ingest queue. The worker and the
 * demo fleet join this command later; they start from {@link startDevStack}.
 */
export interface DevStackOptions {
  readonly config: CompacterConfig;
  /** 0 or undefined: a free port. */
  readonly s3Port?: number;
  readonly dynamodbPort?: number;
  readonly dataDir?: string;
  /** Raw `COMPACTER_*` values given to this process (flags or environment) to pass on to others. */
  readonly settingsEnv?: Readonly<Record<string, string>>;
}

export interface DevStack {
  readonly stack: LocalStack;
  /** What the env file holds: the stack's endpoints and resources plus the settings given. */
  readonly env: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

export async function startDevStack(options: DevStackOptions): Promise<DevStack> {
  const { localResourceNames, startLocalStack } = await import("@compacter/local");
  const stack = await startLocalStack({
    ...(options.s3Port ? { s3Port: options.s3Port } : {}),
    ...(options.dynamodbPort ? { dynamodbPort: options.dynamodbPort } : {}),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    resources: localResourceNames(options.config),
  });
  return { stack, env: { ...options.settingsEnv, ...stack.env }, stop: () => stack.stop() };
}

interface DevFlags extends Record<string, unknown> {
  readonly envFile?: string;
  readonly writeEnv?: string;
  readonly s3Port?: number;
  readonly dynamodbPort?: number;
  readonly dataDir?: string;
  readonly demo: boolean;
}

const WATCH_INTERVAL_MS = 2_000;

export function registerDev(program: Command): Command {
  const command = program
    .command("dev")
    .description(
      "Run the local AWS stack (S3 + SQS with S3 event notifications, DynamoDB) with Compacter's " +
        "buckets, queues and manifest table; print its endpoints as KEY=value lines and watch the ingest queue. " +
        "Stops cleanly on Ctrl-C / SIGTERM.",
    )
    .option("--env-file <file>", "also write the KEY=value lines here (load with: set -a; . FILE; set +a)")
    .option(
      "--write-env <file>",
      "same as --env-file; use it through npx/npm on Node 20, whose node takes any --env-file argument " +
        "as its own and exits when the file is missing (nodejs/node#54232)",
    )
    .option("--s3-port <n>", "port of the S3 + SQS endpoint (default: a free port)", parsePort)
    .option("--dynamodb-port <n>", "port of the DynamoDB endpoint (default: a free port)", parsePort)
    .option(
      "--data-dir <dir>",
      "keep the DynamoDB tables in this directory across restarts (default: memory)",
    )
    .option("--no-demo", "don't run the demo (device simulator and worker) next to the stack")
    .action(async (flags: DevFlags) => {
      await runDev(flags);
    });
  return addSettingFlags(command);
}

async function runDev(flags: DevFlags): Promise<void> {
  const { formatEnvFile, writeEnvFile } = await import("@compacter/local");
  const envFile = flags.envFile ?? flags.writeEnv;
  if (envFile) await forgetPreloadedEnvFile(resolve(envFile));
  const config = configFromFlags(flags);
  const shutdown = shutdownSignal();
  try {
    const dev = await startDevStack({
      config,
      ...(flags.s3Port ? { s3Port: flags.s3Port } : {}),
      ...(flags.dynamodbPort ? { dynamodbPort: flags.dynamodbPort } : {}),
      ...(flags.dataDir ? { dataDir: resolve(flags.dataDir) } : {}),
      settingsEnv: givenSettingsEnv(flags),
    });
    try {
      const header = [
        `Local stack of \`compacter dev\` (pid ${process.pid}), started ${new Date().toISOString()}.`,
        "Load with: set -a; . FILE; set +a",
      ].join("\n");
      if (envFile) await writeEnvFile(resolve(envFile), dev.env, header);
      process.stdout.write(formatEnvFile(dev.env, header));
      const { emulators, resources } = dev.stack.startupMs;
      note(
        `local stack ready in ${Math.round(resources)} ms (emulators ${Math.round(emulators)} ms)` +
          (envFile ? `; env written to ${resolve(envFile)}` : "") +
          "; Ctrl-C stops it",
      );
      // The demo (simulator + worker) is not part of the stack yet; --no-demo is accepted so
      // scripts written today keep working when it arrives.
      await watchIngestQueue(dev.stack, shutdown.signal);
    } finally {
      note("stopping the local stack");
      await dev.stop();
    }
  } finally {
    shutdown.dispose();
  }
}

/**
 * Node 20 loads a script argument `--env-file FILE` into the environment itself when
 * FILE exists (nodejs/node#54232), and npx/npm pass that environment on: the previous
 * run's endpoints and settings would then look like the user's. Drop every variable
 * whose value is exactly what the old file says.
 */
async function forgetPreloadedEnvFile(path: string): Promise<void> {
  const { parseEnvFile } = await import("@compacter/local");
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
async function watchIngestQueue(stack: LocalStack, signal: AbortSignal): Promise<void> {
  let last = "";
  let delivered = stack.bridge.stats().messagesDelivered;
  while (!signal.aborted) {
    const [queue, dlq] = await Promise.all([
      getQueueDepth(stack.clients.sqs, stack.resources.ingestQueueUrl),
      getQueueDepth(stack.clients.sqs, stack.resources.ingestDlqUrl),
    ]);
    const stats = stack.bridge.stats();
    const line = `ingest queue: ${queue.visible} waiting, ${queue.inFlight} in flight; DLQ: ${dlq.visible}`;
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
 * First Ctrl-C / SIGTERM: stop cleanly. A second one while stopping: exit at once, so a
 * stuck shutdown never needs kill -9.
 */
function shutdownSignal(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(name === "SIGINT" ? 130 : 143);
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolveSleep) => {
    if (signal.aborted) return resolveSleep();
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolveSleep();
    }
  });
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

/** commander's property for a setting's flag: "--close-after" → "closeAfter". */
function optionKey(name: SettingName): string {
  return flagName(name)
    .slice(2)
    .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535)
    throw new InvalidArgumentError("expected a port number (0–65535)");
  return port;
}

function note(text: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}
