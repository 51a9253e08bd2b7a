/**
 * The rules on the partition item that the commit protocol leans on: who may take the
 * lease, when a generation may be committed (and, when not, why — the error the protocol
 * branches on), who may end a commit, and the compare-and-set of versioned items. Each is
 * a predicate on the item as stored; the DynamoDB store encodes the same predicate as the
 * write's condition expression (PartitionCommits.ts, PartitionMarks.ts, SchemaLedger.ts),
 * so it is checked atomically with the write, and the in-memory test store evaluates it
 * directly. One place to read "what makes a commit safe".
 */
import { type CompacterError, GenerationConflictError, LeaseLostError } from "../errors.js";
import { type PartitionId, partitionLabel } from "../layout/partitions.js";
import type { PartitionState } from "./model.js";

/** The lease may be taken when free, expired, or already ours (a repeat of our own acquire). */
export function canTakeLease(state: PartitionState | undefined, owner: string, nowMs: number): boolean {
  return (
    state?.leaseOwner === undefined || (state.leaseExpiresAt ?? 0) <= nowMs || state.leaseOwner === owner
  );
}

/** Renewing and releasing: only the holder. */
export function holdsLease(state: PartitionState | undefined, owner: string): boolean {
  return state?.leaseOwner === owner;
}

export interface CommitAttempt {
  readonly expectedGeneration: number;
  readonly owner: string;
  readonly nowMs: number;
}

/**
 * Why generation `expectedGeneration + 1` may not be committed now, or undefined when it
 * may: the generation is still the expected one, no other commit is in flight, and
 * `owner` holds an unexpired lease. Both refusals are retryable; a lost lease and a moved
 * generation both mean "another worker got there first" to the protocol.
 */
export function commitRefusal(
  partition: PartitionId,
  state: PartitionState | undefined,
  attempt: CommitAttempt,
): CompacterError | undefined {
  const label = partitionLabel(partition);
  if (!state)
    return new LeaseLostError(`${label} has no partition item, so no lease is held; nothing was committed`);
  if (state.leaseOwner !== attempt.owner) {
    const holder = state.leaseOwner === undefined ? "nobody" : `'${state.leaseOwner}'`;
    return new LeaseLostError(
      `${label}: the lease is held by ${holder}, not '${attempt.owner}'; nothing was committed`,
    );
  }
  if ((state.leaseExpiresAt ?? 0) <= attempt.nowMs) {
    return new LeaseLostError(
      `${label}: the lease expired at ${new Date(state.leaseExpiresAt ?? 0).toISOString()}; nothing was committed`,
    );
  }
  if (state.generation !== attempt.expectedGeneration) {
    return new GenerationConflictError(
      `${label} is at generation ${state.generation}, not ${attempt.expectedGeneration}: another worker committed first`,
    );
  }
  if (state.inflight) {
    return new GenerationConflictError(
      `${label} has commit ${state.inflight.attemptId} in flight; it must be finished before another commit`,
    );
  }
  return undefined;
}

/** Only the commit `inflight` belongs to may end it; a repeat after it ended does nothing. */
export function canFinishCommit(state: PartitionState | undefined, attemptId: string): boolean {
  return state?.inflight?.attemptId === attemptId;
}

/**
 * The sweep's queued mark: only on an existing partition (a mark must never create a half
 * item) with no job queued at `nowMs`, so two sweeps racing send one job.
 */
export function canMarkQueued(state: PartitionState | undefined, nowMs: number): boolean {
  return state !== undefined && (state.queuedUntil === undefined || state.queuedUntil <= nowMs);
}

/**
 * Versioned single items (a district's schema, the type ledger): version 1 creates the
 * item, any later version replaces exactly the one before, so a writer that raced another
 * re-reads and merges.
 */
export function isNextVersion(stored: { readonly version: number } | undefined, version: number): boolean {
  return version <= 1 ? stored === undefined : stored?.version === version - 1;
}
