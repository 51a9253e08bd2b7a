import { GlueClient } from "@aws-sdk/client-glue";
import type { CompacterConfig, LedgerListener, Logger } from "@compacter/core";
import { GlueLakeTable } from "./GlueLakeTable.js";

/**
 * The compactor's hook that keeps the Glue table in step with the ledger, or undefined when
 * no catalog database is configured (local stack, users with their own catalog). The Glue
 * client is built only then, from the SDK's usual region/credential chain.
 */
export function catalogFollower(
  config: Pick<CompacterConfig, "catalogDatabase" | "catalogTable" | "lakeBucket" | "lakePrefix">,
  log: Logger,
  client: GlueClient | undefined = undefined,
): LedgerListener | undefined {
  if (!config.catalogDatabase) return undefined;
  const table = new GlueLakeTable({
    client: client ?? new GlueClient({ maxAttempts: 5 }),
    databaseName: config.catalogDatabase,
    tableName: config.catalogTable,
    location: `s3://${config.lakeBucket}/${config.lakePrefix}`,
  });
  // The newest version this process put in the table (or found there): a job whose ledger
  // is not newer sends nothing, so only the first job after a start or a change asks Glue.
  let applied = 0;
  return async (ledger) => {
    if (ledger.version <= applied) return;
    const outcome = await table.follow(ledger);
    applied = Math.max(applied, ledger.version);
    if (outcome === "unchanged") return;
    log.info("catalog table follows the type ledger", {
      table: `${config.catalogDatabase}.${config.catalogTable}`,
      ledgerVersion: ledger.version,
      outcome,
    });
  };
}
