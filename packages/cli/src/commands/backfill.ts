import { type Command, InvalidArgumentError, Option } from "commander";
import { addSettingFlags } from "../settingsFlags.js";

export interface BackfillFlags extends Record<string, unknown> {
  readonly district?: string;
  readonly from?: string;
  readonly to?: string;
  readonly concurrency: number;
  readonly checkpoint?: string;
  readonly restart?: boolean;
  readonly json?: boolean;
}

const DEFAULT_CONCURRENCY = 16;

/**
 * `compacter backfill`: register raw files that are already in the bucket (history from
 * before the notification existed). Registration only: the SDK loads when it runs.
 */
export function registerBackfill(program: Command): Command {
  const command = program
    .command("backfill")
    .description(
      "List the raw bucket (narrowed by district, device and day) and register every raw file in the manifest " +
        "through the same idempotent writes as ingest; compaction then runs as usual. Resumable (a checkpoint " +
        "file) and safe to re-run: nothing is registered twice.",
    )
    .option("--district <X>", "only this district")
    .option("--from <YYYY-MM-DD>", "first partition day (hiveperiod) to register")
    .option("--to <YYYY-MM-DD>", "last partition day, inclusive (default: --from)")
    .addOption(
      new Option("--concurrency <n>", "manifest writes and device listings in flight")
        .argParser(positive)
        .default(DEFAULT_CONCURRENCY),
    )
    .option(
      "--checkpoint <file>",
      "resume from / record progress in this file (default: .compacter/backfill-<scope hash>.jsonl)",
    )
    .option("--restart", "ignore an existing checkpoint and list everything again")
    .option("--json", "print the summary as JSON")
    .action(async (flags: BackfillFlags) => {
      const { runBackfill } = await import("../backfill/runBackfill.js");
      await runBackfill(flags);
    });
  return addSettingFlags(command, [
    "rawBucket",
    "rawPrefix",
    "manifestTable",
    "keyTimeZone",
    "partitionTimeZone",
    "closeAfterMs",
    "lateDebounceMs",
  ]);
}

function positive(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1)
    throw new InvalidArgumentError("expected a whole number ≥ 1");
  return Number(value);
}
