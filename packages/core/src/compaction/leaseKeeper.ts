import type { PartitionId } from "../layout/partitions.js";
import type { Logger } from "../log.js";
import type { ManifestStore } from "../manifest/store.js";
import type { Clock } from "./ports.js";

/**
 * Keeps a partition lease alive while a compaction runs: renews every third of the
 * lease duration, and aborts `signal` the moment the lease is lost (or can't be renewed
 * before it would expire), so the engine stops and the commit — which checks the lease
 * itself — is never attempted on a stale plan.
 */
export interface LeaseKeeper {
  readonly signal: AbortSignal;
  stop(): void;
}

export function keepLease(input: {
  readonly store: ManifestStore;
  readonly partition: PartitionId;
  readonly owner: string;
  readonly leaseDurationMs: number;
  readonly clock: Clock;
  readonly log: Logger;
  /** Expiry granted by the acquire call. */
  readonly expiresAtMs: number;
}): LeaseKeeper {
  const controller = new AbortController();
  let expiresAtMs = input.expiresAtMs;
  let renewing = false;
  const renew = async () => {
    if (renewing || controller.signal.aborted) return;
    renewing = true;
    const nextExpiry = input.clock.now() + input.leaseDurationMs;
    try {
      if (await input.store.renewLease(input.partition, input.owner, nextExpiry)) {
        expiresAtMs = nextExpiry;
      } else {
        input.log.warn("lease taken over by another worker; abandoning this compaction");
        controller.abort(new Error("lease lost"));
      }
    } catch (error) {
      // A failed renewal is retried at the next tick; give up only once the lease we
      // still hold would expire before that tick comes.
      if (input.clock.now() + input.leaseDurationMs / 3 >= expiresAtMs) {
        input.log.warn("could not renew lease before it expires; abandoning this compaction", { error });
        controller.abort(new Error("lease could not be renewed"));
      }
    } finally {
      renewing = false;
    }
  };
  const timer = setInterval(() => void renew(), Math.max(50, Math.floor(input.leaseDurationMs / 3)));
  timer.unref();
  return {
    signal: controller.signal,
    stop: () => clearInterval(timer),
  };
}
