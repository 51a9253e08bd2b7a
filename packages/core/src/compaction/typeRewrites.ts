import type { CompacterConfig } from "../config/loadConfig.js";
import type { Logger } from "../log.js";
import type { PartitionState } from "../manifest/model.js";
import type { ManifestStore } from "../manifest/store.js";
import { partitionsToRewrite } from "../schema/ledger.js";
import { queuedHoldMs, type RetryPolicy, sweepDecision } from "./failures.js";
import type { Clock, JobQueue } from "./ports.js";

/** Every partition listed through the ledger's districts from its first day on. */
export async function listLedgerPartitions(store: ManifestStore): Promise<{
  readonly partitions: PartitionState[];
  readonly ledger: Awaited<ReturnType<ManifestStore["getLedger"]>>;
}> {
  const ledger = await store.getLedger();
  if (!ledger?.firstDay) return { partitions: [], ledger };
  const firstDay = ledger.firstDay;
  const lists = await Promise.all(
    ledger.districts.map((district) => store.listPartitionsOfDistrict(district, firstDay, "9999-12-31")),
  );
  return { partitions: lists.flat(), ledger };
}

/**
 * The sweep's second half: partitions whose files hold a type narrower than the ledger
 * are merged again (a merge writes every column with the ledger's type), newest day first,
 * at most `typeRewritesPerSweep` per sweep so a widening never floods the compactors. A
 * rewrite is an ordinary merge job: same lease, same commit protocol, same roll-forward.
 * A partition is sent only when the due-work sweep would send it (core's sweepDecision): not
 * while its job is queued or running, not while it is failing and backing off — so a rewrite
 * that keeps failing follows the same back-off as any job instead of being re-sent every
 * sweep. The job re-checks before merging, so a duplicate costs one read.
 */
export async function sweepTypeRewrites(deps: {
  readonly store: ManifestStore;
  readonly queue: JobQueue;
  readonly clock: Clock;
  readonly log: Logger;
  readonly config: Pick<CompacterConfig, "typeRewritesPerSweep">;
  readonly retry: RetryPolicy;
}): Promise<{ readonly behind: number; readonly sent: number }> {
  const limit = deps.config.typeRewritesPerSweep;
  if (limit <= 0) return { behind: 0, sent: 0 };
  const { partitions, ledger } = await listLedgerPartitions(deps.store);
  const now = deps.clock.now();
  const free = partitions.filter((p) => !p.inflight && sweepDecision(p, now).send);
  const { next: candidates } = partitionsToRewrite(free, ledger, limit);
  const { behind } = partitionsToRewrite(partitions, ledger, 0);
  // Conditional: of two sweeps racing, one marks and sends.
  const next: PartitionState[] = [];
  for (const p of candidates) {
    if (await deps.store.markQueued(p.partition, now + queuedHoldMs(deps.retry), now)) next.push(p);
  }
  if (next.length > 0) {
    await deps.queue.sendCompactionJobs(next.map((p) => ({ partition: p.partition, rewriteTypes: true })));
    deps.log.info("sent type rewrites", {
      behind,
      sent: next.map((p) => `${p.partition.day}/${p.partition.district}`),
      ledgerVersion: ledger?.version,
    });
  }
  return { behind, sent: next.length };
}
