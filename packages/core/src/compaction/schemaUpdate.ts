/**
 * Recording what a generation wrote in the two shared, concurrently written schema items
 * (the district schema and the lake-wide type ledger). Both are retried merges, kept out
 * of the job's flow so the retry loops read on their own.
 */
import { CompacterError } from "../errors.js";
import type { PartitionId } from "../layout/partitions.js";
import { mergeSchemas } from "../schema/mergeSchemas.js";
import type { CommitDeps } from "./commit.js";
import type { EngineResult } from "./engine.js";
import { type LedgerListener, recordInLedger } from "./ledgerUpdate.js";

/**
 * Runs before the commit: the ledger widens before the commit publishes anything of the
 * wider type; a file narrower than the ledger (a worker that raced a widening) is left
 * for a rewrite.
 */
export async function recordWrittenSchema(
  deps: Pick<CommitDeps, "store" | "log" | "clock"> & { readonly onLedgerChanged?: LedgerListener },
  partition: PartitionId,
  result: EngineResult,
): Promise<void> {
  await saveSchema(deps, partition.district, result);
  await recordInLedger(
    deps,
    partition,
    { columns: result.schema, ...(result.renamedFields ? { renamedFields: result.renamedFields } : {}) },
    new Date(deps.clock.now()).toISOString(),
  );
}

/** The schema only grows (union, widening), so concurrent writers converge by retrying a merge. */
async function saveSchema(
  deps: Pick<CommitDeps, "store" | "log">,
  district: string,
  result: EngineResult,
): Promise<void> {
  if (result.addedColumns.length === 0 && result.widenedColumns.length === 0) return;
  for (let attempt = 0; attempt < 10; attempt++) {
    const current = await deps.store.getSchema(district);
    const columns = mergeSchemas(current?.columns ?? [], result.schema);
    if (
      current &&
      columns.length === current.columns.length &&
      columns.every((c, i) => c.type === current.columns[i]?.type)
    ) {
      return;
    }
    if (await deps.store.putSchema({ district, version: (current?.version ?? 0) + 1, columns })) {
      deps.log.info("district schema updated", {
        district,
        added: result.addedColumns,
        widened: result.widenedColumns,
      });
      return;
    }
  }
  throw new CompacterError(
    `could not update the schema of district ${district}: too many concurrent updates`,
    {
      retryable: true,
    },
  );
}
