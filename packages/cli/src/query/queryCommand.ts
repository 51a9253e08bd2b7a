import { createAwsClients } from "@compacter/aws";
import { CompacterError, duckDbTimeZone } from "@compacter/core";
import { explainAwsError } from "../awsErrors.js";
import type { QueryFlags } from "../commands/query.js";
import { configFromFlags } from "../settingsFlags.js";
import { queryLake } from "./queryLake.js";
import { describeScope, scopeFromFlags } from "./scope.js";

/** The action of `compacter query` (loaded only when the command runs). */
export async function runQueryCommand(sql: string, flags: QueryFlags): Promise<void> {
  const scope = scopeFromFlags(flags);
  const config = configFromFlags(flags);
  const format = flags.json ? "json" : flags.format;
  const clients = createAwsClients();
  const aborter = new AbortController();
  const interrupt = () => aborter.abort();
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  const timeZone = flags.utc ? "UTC" : duckDbTimeZone(config.partitionTimeZone);
  if (timeZone === undefined) {
    process.stderr.write(
      `compacter: no DuckDB time zone has the fixed offset ${config.partitionTimeZone.text}; event_time is shown in UTC\n`,
    );
  }
  try {
    const result = await queryLake({
      config,
      clients,
      scope,
      ...(timeZone ? { timeZone } : {}),
      request: { sql, params: Object.fromEntries(flags.param ?? []), format, out: process.stdout },
      signal: aborter.signal,
    }).catch((error: unknown) => {
      if (aborter.signal.aborted && !(error instanceof CompacterError)) {
        throw new CompacterError("interrupted", { cause: error });
      }
      throw explainAwsError(error);
    });
    if (result.snapshot.files === 0) {
      process.stderr.write(
        `compacter: no Parquet files in scope (${describeScope(scope)}; ${result.snapshot.partitions} partition(s)): ` +
          "`telemetry` is empty\n",
      );
    }
    if (result.unusedParams.length > 0) {
      process.stderr.write(`compacter: --param ${result.unusedParams.join(", ")} not used by the SQL\n`);
    }
    if (format === "table") {
      process.stderr.write(`(${result.rows} row${result.rows === 1 ? "" : "s"})\n`);
    }
    if (flags.stats) {
      process.stderr.write(
        `${JSON.stringify({
          scope: describeScope(scope),
          ...result.snapshot,
          s3Gets: result.s3Gets,
          rowsOut: result.rows,
          cacheDir: result.cacheDir,
          seconds: Math.round(result.seconds * 1000) / 1000,
        })}\n`,
      );
    }
  } finally {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
    clients.destroy();
  }
}
