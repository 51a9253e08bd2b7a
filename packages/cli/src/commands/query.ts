import { type Command, InvalidArgumentError, Option } from "commander";
import { OUTPUT_FORMATS, type OutputFormat } from "../query/resultWriters.js";
import { addSettingFlags } from "../settingsFlags.js";

export interface QueryFlags extends Record<string, unknown> {
  readonly day?: string;
  readonly from?: string;
  readonly to?: string;
  readonly district?: string;
  readonly format: OutputFormat;
  readonly json?: boolean;
  readonly param?: readonly (readonly [string, string])[];
  readonly stats?: boolean;
  readonly utc?: boolean;
}

/**
 * `compacter query "SQL"`: DuckDB SQL over the manifest's current files (a consistent
 * snapshot, never a glob of the lake), cached locally so the next query downloads nothing.
 * Registration only: DuckDB, the AWS SDK and the rest load when the command runs.
 */
export function registerQuery(program: Command): Command {
  const command = program
    .command("query")
    .description(
      "Run DuckDB SQL over the lake's current Parquet files as the view `telemetry` (Hive columns " +
        "`hiveperiod` DATE and `district`), narrowed to partitions by --day / --from --to / --district. " +
        "Files come from the manifest (a consistent snapshot) through a local cache. TIMESTAMPTZ values " +
        "(event_time) print in partitionTimeZone — the zone hiveperiod days are in — unless --utc.",
    )
    .argument("<sql>", "DuckDB SQL; several statements may be given, the last one's result is printed")
    .option("--day <YYYY-MM-DD>", "one day (hiveperiod)")
    .option("--from <YYYY-MM-DD>", "first day of a range (inclusive)")
    .option("--to <YYYY-MM-DD>", "last day of the range (inclusive; default: --from)")
    .option("--district <X>", "one district")
    .addOption(new Option("--format <format>", "output format").choices(OUTPUT_FORMATS).default("table"))
    .option("--json", "same as --format json")
    .option(
      "--param <name=value>",
      "bind $name to value (repeatable); values are text that DuckDB casts to the type the SQL expects " +
        "(write $name::TYPE where it can't tell)",
      collectParam,
    )
    .option("--stats", "print files, cache hits, downloads and S3 GETs to stderr as one JSON line")
    .option(
      "--utc",
      "show event_time (and every TIMESTAMPTZ) in UTC instead of partitionTimeZone (DuckDB TimeZone)",
    )
    .action(async (sql: string, flags: QueryFlags) => {
      const { runQueryCommand } = await import("../query/queryCommand.js");
      await runQueryCommand(sql, flags);
    });
  return addSettingFlags(command, [
    "partitionTimeZone",
    "manifestTable",
    "lakeBucket",
    "tempDir",
    "cacheDir",
    "memoryLimitBytes",
    "threads",
    "downloadConcurrency",
  ]);
}

const PARAM_NAME = /^(?:[A-Za-z_][A-Za-z0-9_]*|\d+)$/;

function collectParam(value: string, previous: readonly (readonly [string, string])[] = []) {
  const at = value.indexOf("=");
  const name = at < 0 ? "" : value.slice(0, at);
  if (!PARAM_NAME.test(name)) {
    throw new InvalidArgumentError("expected name=value, where name is a SQL identifier or a number");
  }
  if (previous.some(([n]) => n === name)) throw new InvalidArgumentError(`$${name} is given twice`);
  return [...previous, [name, value.slice(at + 1)] as const];
}
