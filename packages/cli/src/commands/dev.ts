import { type Command, InvalidArgumentError, Option } from "commander";
import { DEFAULT_ENV_FILE, DEV_LOG_LEVEL, type DevFlags } from "../dev/devStack.js";
import { UsageError } from "../errors.js";
import { addSettingFlags } from "../settingsFlags.js";

/**
 * `compacter dev` (what `npm start` runs): the local AWS stack in one process, its
 * endpoints in an env file, the worker (ingest, sweep, compaction with DuckDB), and a
 * demo fleet whose raw files become Parquet and a query answer within a minute.
 * What it starts lives in ../dev/: this file only declares the command, so `--help` stays cheap.
 */
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
      "--write-env <file>",
      `write the endpoints as KEY=value lines here (default: ${DEFAULT_ENV_FILE}; load with: set -a; . FILE; set +a)`,
    )
    // Retired: Node 20 takes any `--env-file` argument as its own (nodejs/node#54232) and,
    // run through npx/npm, exits before the CLI starts when the file does not exist yet.
    .addOption(new Option("--env-file <file>").hideHelp())
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
    .action(async (flags: DevFlags & { envFile?: string }) => {
      if (flags.envFile !== undefined) {
        throw new UsageError(`--env-file is now --write-env (compacter dev --write-env ${flags.envFile})`);
      }
      const { runDev } = await import("../dev/runDev.js");
      await runDev(flags);
    });
  // Quiet by default inside dev: the progress line and notes say what happens (runDev).
  return addSettingFlags(command, undefined, { logLevel: DEV_LOG_LEVEL });
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
