import type { CompacterConfig, TypeLedger } from "@compacter/core";
import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { printJson, printTable } from "../output.js";
import { addSettingFlags } from "../settingsFlags.js";
import { withManifest } from "./manifest.js";

/**
 * `compacter schema`: the lake-wide type ledger (one type per column, the table's schema),
 * or the table as Athena DDL for users who manage their own catalog. A deployed stack
 * keeps its Glue table current by itself; this is the same table, printed.
 */
export function registerSchema(program: Command): Command {
  return addSettingFlags(
    program
      .command("schema")
      .description(
        "The lake's type ledger: every column with its type, when it was first seen and last widened, and the " +
          "raw key of a renamed column; --athena-ddl prints the CREATE EXTERNAL TABLE (partition projection) for it",
      )
      .option("--json", "print the ledger as JSON")
      .option("--athena-ddl", "print the Athena CREATE EXTERNAL TABLE for the ledger"),
    ["manifestTable", "lakeBucket", "lakePrefix", "catalogDatabase", "catalogTable"],
  ).action(async (flags: { json?: boolean; athenaDdl?: boolean } & Record<string, unknown>) => {
    if (flags.json && flags.athenaDdl) throw new UsageError("use either --json or --athena-ddl");
    const { ledger, config } = await withManifest(flags, async ({ store, config }) => ({
      ledger: await store.getLedger(),
      config,
    }));
    if (flags.athenaDdl) {
      process.stdout.write(`${await ddlOf(ledger, config)}\n`);
      return;
    }
    if (flags.json) return printJson(ledger ?? null);
    if (!ledger) {
      process.stdout.write("No type ledger yet: it starts with the first compaction.\n");
      return;
    }
    process.stdout.write(
      `Type ledger v${ledger.version}: ${ledger.columns.length} columns, districts ${ledger.districts.join(", ")}, ` +
        `first day ${ledger.firstDay ?? "-"}\n`,
    );
    printTable(
      ledger.columns.map((c) => ({
        column: c.name,
        type: c.type,
        "first seen": c.firstSeen,
        "last widened": c.lastWidened ?? "",
        "raw key": c.field ?? "",
      })),
    );
  });
}

/** The DDL of the table the ledger describes (core's lakeTableInput → athenaDdl). */
export async function ddlOf(ledger: TypeLedger | undefined, config: CompacterConfig): Promise<string> {
  const { athenaDdl, lakeTableInput } = await import("@compacter/core");
  const input = lakeTableInput(ledger, {
    tableName: config.catalogTable,
    location: `s3://${config.lakeBucket}/${config.lakePrefix}`,
    fallbackFirstDay: new Date().toISOString().slice(0, 10),
  });
  return athenaDdl(input, config.catalogDatabase || undefined);
}
