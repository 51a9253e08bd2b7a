import { CompacterError } from "../errors.js";
import type { PartitionId } from "../layout/partitions.js";
import type { Logger } from "../log.js";
import type { PartitionState } from "../manifest/model.js";
import type { ManifestStore } from "../manifest/store.js";
import type { FieldColumn } from "../schema/columnNames.js";
import type { ColumnSpec } from "../schema/columns.js";
import { type LedgerChange, partitionsToRewrite, type TypeLedger, widenLedger } from "../schema/ledger.js";

/**
 * Told the ledger as stored after every job's ledger step, changed or not (the Glue table
 * follows it). A listener skips versions it already applied, so an update that failed once
 * (throttling, a permission fixed later) is retried by the next job instead of waiting for
 * the next change. Its failures are logged, never fail the job.
 */
export type LedgerListener = (ledger: TypeLedger, change: LedgerChange) => Promise<void>;

const MAX_ATTEMPTS = 10;

/**
 * Folds a job's columns into the lake-wide ledger before the job commits, so no committed
 * file ever holds a type the ledger has not got. One conditional write when something is
 * new; a writer that lost the race re-reads and merges (the merge is order-independent, so
 * racing workers converge). Returns the ledger as stored after this job.
 */
export async function recordInLedger(
  deps: { readonly store: ManifestStore; readonly log: Logger; readonly onLedgerChanged?: LedgerListener },
  partition: PartitionId,
  written: { readonly columns: readonly ColumnSpec[]; readonly renamedFields?: readonly FieldColumn[] },
  nowIso: string,
): Promise<TypeLedger> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const current = await deps.store.getLedger();
    const change = widenLedger(
      current,
      {
        columns: written.columns,
        ...(written.renamedFields ? { renamedFields: written.renamedFields } : {}),
        district: partition.district,
        day: partition.day,
      },
      nowIso,
    );
    if (!change.changed) {
      if (current) await tellListener(deps, change);
      return change.ledger;
    }
    if (await deps.store.putLedger(change.ledger)) {
      deps.log.info("type ledger updated", {
        version: change.ledger.version,
        added: change.added,
        widened: change.widened,
        ...(change.newDistrict ? { newDistrict: partition.district } : {}),
      });
      await tellListener(deps, change);
      return change.ledger;
    }
  }
  throw new CompacterError(
    "could not update the type ledger: too many concurrent updates; the job will retry",
    {
      retryable: true,
    },
  );
}

async function tellListener(
  deps: { readonly log: Logger; readonly onLedgerChanged?: LedgerListener },
  change: LedgerChange,
): Promise<void> {
  if (!deps.onLedgerChanged) return;
  await deps.onLedgerChanged(change.ledger, change).catch((error: unknown) => {
    deps.log.warn("the catalog table did not follow the ledger; the next compaction retries", { error });
  });
}

/** Whether the partition's files still hold a type narrower than the ledger's (a rewrite job's check). */
export async function behindLedger(
  store: ManifestStore,
  state: PartitionState | undefined,
): Promise<boolean> {
  if (!state) return false;
  return partitionsToRewrite([state], await store.getLedger(), 1).behind > 0;
}
