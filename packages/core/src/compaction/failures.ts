import type { CompacterConfig } from "../config/loadConfig.js";
import { isRetryable } from "../errors.js";
import type { FailingMark, PartitionState } from "../manifest/model.js";

/**
 * What happens to a partition whose compaction fails, as pure decisions (the store only
 * writes what these return, with conditions):
 *
 * - The job's message is retried by SQS (it comes back after the queue's visibility
 *   timeout) and lands in the compaction DLQ after `maxReceiveCount` receives — unless the
 *   error can never succeed (`retryable: false`: an invalid job, a configuration error, an
 *   engine invariant), which goes to the DLQ at once.
 * - Every failed attempt marks the partition failing (error, attempts, next retry) and sets
 *   its next retry by exponential back-off, so the sweep sends it again once per back-off
 *   step — a cause that goes away (a bucket policy fixed, a throttled service) heals itself
 *   without anyone, and one that doesn't costs a job every few hours, not every minute.
 * - The sweep sends nothing for a partition that already has a job queued (the queued
 *   mark) or in progress (its lease).
 */
export interface RetryPolicy {
  /** The first back-off; each further failed attempt doubles it. */
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
  /** Receives of one job message before SQS moves it to the DLQ (the queue's redrive policy). */
  readonly maxReceiveCount: number;
  /** The compaction queue's visibility timeout: a failed receive's message comes back after it. */
  readonly visibilityTimeoutMs: number;
}

export function retryPolicyOf(config: CompacterConfig): RetryPolicy {
  return {
    backoffBaseMs: config.failureBackoffBaseMs,
    backoffCapMs: config.failureBackoffCapMs,
    maxReceiveCount: config.compactionMaxReceiveCount,
    visibilityTimeoutMs: config.visibilityTimeoutMs,
  };
}

/** base, 2×base, 4×base, … after the 1st, 2nd, 3rd failed attempt; never more than the cap. */
export function backoffDelayMs(attempts: number, policy: RetryPolicy): number {
  const doublings = Math.max(0, Math.min(attempts - 1, 40));
  return Math.min(policy.backoffCapMs, policy.backoffBaseMs * 2 ** doublings);
}

const MAX_ERROR_CHARS = 1000;

/** The error as an operator reads it in `compacter status`: class name and message, bounded. */
export function describeError(error: unknown): string {
  const text =
    error instanceof Error
      ? `${error.name && error.name !== "Error" ? `${error.name}: ` : ""}${error.message}`
      : String(error);
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS - 1)}…` : text;
}

/** The partition's failing mark after one more failed attempt at `nowMs`. */
export function nextFailingMark(
  previous: FailingMark | undefined,
  failure: { readonly error: unknown; readonly nowMs: number },
  policy: RetryPolicy,
): FailingMark {
  const attempts = (previous?.attempts ?? 0) + 1;
  const now = new Date(failure.nowMs).toISOString();
  return {
    since: previous?.since ?? now,
    attempts,
    lastError: describeError(failure.error),
    lastFailedAt: now,
    nextRetryAt: new Date(failure.nowMs + backoffDelayMs(attempts, policy)).toISOString(),
    retryable: isRetryable(failure.error),
  };
}

/**
 * What a failed job's message does next.
 * - `retry`: reported as failed, so SQS redelivers it after the visibility timeout (and,
 *   past maxReceiveCount, moves it to the DLQ itself).
 * - `deadLetter`: moved to the DLQ now and acknowledged; retrying the same work cannot help.
 * `leavesQueue` is true when no compaction will come of this message again, so the
 * partition's queued mark must go: from now on only the back-off decides its next job.
 */
export function failedJobDisposition(
  error: unknown,
  receiveCount: number,
  policy: RetryPolicy,
): { readonly action: "retry" | "deadLetter"; readonly leavesQueue: boolean } {
  if (!isRetryable(error)) return { action: "deadLetter", leavesQueue: true };
  return { action: "retry", leavesQueue: receiveCount >= policy.maxReceiveCount };
}

/**
 * How long the sweep's queued mark keeps it from sending the same partition again: a job
 * can be received up to maxReceiveCount times, each one visibility timeout apart. A job
 * that ends clears the mark; the expiry only matters when a run dies without a word (a
 * Lambda killed at its timeout), and then the partition is sent again after it.
 */
export function queuedHoldMs(policy: RetryPolicy): number {
  return policy.maxReceiveCount * policy.visibilityTimeoutMs;
}

export type SweepDecision =
  | { readonly send: true }
  | {
      readonly send: false;
      readonly reason: "queued" | "in progress" | "backing off";
      /** When this reason stops holding. */
      readonly untilMs: number;
    };

/** Whether the sweep sends a job for a partition with due work, from the partition's state. */
export function sweepDecision(state: PartitionState | undefined, nowMs: number): SweepDecision {
  if (state?.queuedUntil !== undefined && state.queuedUntil > nowMs) {
    return { send: false, reason: "queued", untilMs: state.queuedUntil };
  }
  if (state?.leaseOwner !== undefined && (state.leaseExpiresAt ?? 0) > nowMs) {
    return { send: false, reason: "in progress", untilMs: state.leaseExpiresAt ?? nowMs };
  }
  const nextRetryMs = state?.failing ? Date.parse(state.failing.nextRetryAt) : Number.NaN;
  if (nextRetryMs > nowMs) return { send: false, reason: "backing off", untilMs: nextRetryMs };
  return { send: true };
}
