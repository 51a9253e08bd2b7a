import type { CompacterConfig } from "@compacter/core";
// Types only: the emulators (fastify, dynalite, LevelDB), the worker and DuckDB load when
// the command runs, not when any other command starts.
import type { LocalStack } from "@compacter/local";
import { type Command, InvalidArgumentError, Option } from "commander";
import { addSettingFlags } from "../settingsFlags.js";

/**
 * `compacter dev` (what `npm start` runs): the local AWS stack in one process, its
 * endpoints in an env file, the worker (ingest, sweep, compaction with DuckDB), and a
 * demo fleet whose raw files become Parquet and a query answer within a minute.
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

export interface DevFlags extends Record<string, unknown> {
  readonly envFile?: string;
  readonly writeEnv?: string;
  readonly s3Port?: number;
  readonly dynamodbPort?: number;
  readonly dataDir?: string;
  readonly demo: boolean;
  readonly worker: boolean;
  readonly demoDevices?: number;
  readonly demoHours?: number;
  readonly ui: boolean;
  readonly uiPort?: number;
  readonly runtime: "worker" | "lambda";
}

export const DEFAULT_ENV_FILE = ".compacter/local.env";

export function registerDev(program: Command): Command {
  const command = program
    .command("dev")
    .description(
      "Run everything on this machine: the local AWS stack (S3 + SQS with S3 event notifications, DynamoDB) with " +
        "Compacter's buckets, queues and manifest table, the worker (ingest, sweep, compaction), and a demo fleet " +
        "whose raw files become Parquet and a sample query answer. Writes the stack's endpoints to an env file " +
        "for other terminals. Runs until Ctrl-C / SIGTERM, then stops cleanly (a second Ctrl-C forces exit).",
    )
    .option(
      "--env-file <file>",
      `write the endpoints as KEY=value lines here (default: ${DEFAULT_ENV_FILE}; load with: set -a; . FILE; set +a)`,
    )
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
    .option("--no-demo", "run just the stack and the worker: no simulated fleet, default windows")
    .option(
      "--no-worker",
      "run just the stack (no worker, no demo), e.g. to run `compacter run` in another terminal",
    )
    .option("--no-ui", "don't start the ops console (`compacter ui`) inside dev")
    .option(
      "--ui-port <n>",
      "port of the ops console on 127.0.0.1 (default: 4180, else a free port)",
      parsePort,
    )
    .addOption(
      new Option("--demo-devices <n>", "demo devices per district (default: 8)").argParser(positiveInteger),
    )
    .addOption(
      new Option("--demo-hours <n>", "demo hours per device (default: 3)").argParser(positiveInteger),
    )
    .addOption(
      new Option(
        "--runtime <shape>",
        "worker: the long-running worker (`compacter run`); lambda: the deployed Lambda handlers behind " +
          "event source mappings and the sweep schedule, with the deployed batch sizes, timeouts and " +
          "visibility timeouts (durations ×1/20)",
      )
        .choices(["worker", "lambda"])
        .default("worker"),
    )
    .action(async (flags: DevFlags) => {
      const { runDev } = await import("../dev/runDev.js");
      await runDev(flags);
    });
  return addSettingFlags(command);
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535)
    throw new InvalidArgumentError("expected a port number (0–65535)");
  return port;
}

function positiveInteger(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1)
    throw new InvalidArgumentError("expected a whole number ≥ 1");
  return Number(value);
}
