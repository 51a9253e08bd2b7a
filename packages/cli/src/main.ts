import { CompacterError, ConfigError } from "@compacter/core";
import { Command, CommanderError } from "commander";
import cliPackage from "../package.json" with { type: "json" };
import { explainAwsError } from "./awsErrors.js";
import { COMMANDS } from "./commands/index.js";
import { UsageError } from "./errors.js";

/** Exit codes: 0 ok, 1 failure, 2 usage. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export function buildProgram(): Command {
  const program = new Command("compacter")
    .description("Raw IoT telemetry (gzip'd NDJSON on S3) → a Hive-partitioned Parquet lake")
    .version(cliPackage.version, "-V, --version", "print the version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  for (const register of COMMANDS) {
    const command = register(program);
    command.exitOverride();
  }
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: "user" });
    return EXIT.ok;
  } catch (thrown) {
    // The SDK's "nothing is configured here" errors become the one line that says what to do.
    const error = explainAwsError(thrown);
    if (error instanceof CommanderError) {
      // --help and --version come through here with exit code 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`compacter: ${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof CompacterError) {
      process.stderr.write(`compacter: ${error.message}\n`);
      return EXIT.failure;
    }
    process.stderr.write(
      `compacter: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return EXIT.failure;
  }
}
