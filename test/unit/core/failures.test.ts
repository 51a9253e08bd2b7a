import {
  backoffDelayMs,
  CompacterError,
  ConfigError,
  failedJobDisposition,
  GenerationConflictError,
  InvalidEventError,
  isRetryable,
  loadConfig,
  nextFailingMark,
  type PartitionState,
  queuedHoldMs,
  type RetryPolicy,
  retryPolicyOf,
  sweepDecision,
} from "@compacter/core";
import { describe, expect, it } from "vitest";

const MIN = 60_000;
const policy: RetryPolicy = {
  backoffBaseMs: 15 * MIN,
  backoffCapMs: 6 * 60 * MIN,
  maxReceiveCount: 3,
  visibilityTimeoutMs: 5400_000,
};
const partition = { day: "2025-12-12", district: "BRCB" };
const now = Date.parse("2025-12-12T10:00:00Z");

function state(overrides: Partial<PartitionState> = {}): PartitionState {
  return { partition, generation: 1, files: [], rows: 0, bytes: 0, ...overrides };
}

describe("back-off", () => {
  it("starts at the base, doubles per failed attempt and stops at the cap", () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 50].map((n) => backoffDelayMs(n, policy) / MIN);
    expect(delays).toEqual([15, 30, 60, 120, 240, 360, 360, 360]);
  });

  it("takes base and cap from the settings, defaults 15 min and 6 h", () => {
    const config = loadConfig({ env: {} });
    expect(retryPolicyOf(config)).toMatchObject({ backoffBaseMs: 15 * MIN, backoffCapMs: 360 * MIN });
    const small = loadConfig({
      env: { COMPACTER_FAILURE_BACKOFF_BASE: "2s", COMPACTER_FAILURE_BACKOFF_CAP: "10s" },
    });
    expect(backoffDelayMs(1, retryPolicyOf(small))).toBe(2000);
    expect(backoffDelayMs(9, retryPolicyOf(small))).toBe(10_000);
  });
});

describe("failing mark", () => {
  it("counts attempts, keeps the streak's start and schedules the next retry", () => {
    const first = nextFailingMark(undefined, { error: new Error("Access Denied"), nowMs: now }, policy);
    expect(first).toEqual({
      since: "2025-12-12T10:00:00.000Z",
      attempts: 1,
      lastError: "Access Denied",
      lastFailedAt: "2025-12-12T10:00:00.000Z",
      nextRetryAt: "2025-12-12T10:15:00.000Z",
      retryable: true,
    });
    const later = now + 90 * MIN;
    const second = nextFailingMark(first, { error: new ConfigError("bad"), nowMs: later }, policy);
    expect(second).toMatchObject({
      since: first.since,
      attempts: 2,
      lastError: "ConfigError: bad",
      nextRetryAt: new Date(later + 30 * MIN).toISOString(),
      retryable: false,
    });
  });

  it("bounds a huge error message", () => {
    const mark = nextFailingMark(undefined, { error: new Error("x".repeat(5000)), nowMs: now }, policy);
    expect(mark.lastError.length).toBe(1000);
  });
});

describe("retryable", () => {
  it("honours the error hierarchy and treats foreign errors as transient", () => {
    expect(isRetryable(new GenerationConflictError("moved"))).toBe(true);
    expect(isRetryable(new CompacterError("invariant"))).toBe(false);
    expect(isRetryable(new InvalidEventError("garbage"))).toBe(false);
    expect(isRetryable(new ConfigError("bad setting"))).toBe(false);
    const sdk = Object.assign(new Error("The specified bucket does not exist"), { name: "NoSuchBucket" });
    expect(isRetryable(sdk)).toBe(true);
  });

  it("retries through SQS until the last receive; never-succeeding errors go to the DLQ at once", () => {
    const transient = new Error("SlowDown");
    expect(failedJobDisposition(transient, 1, policy)).toEqual({ action: "retry", leavesQueue: false });
    expect(failedJobDisposition(transient, 2, policy)).toEqual({ action: "retry", leavesQueue: false });
    expect(failedJobDisposition(transient, 3, policy)).toEqual({ action: "retry", leavesQueue: true });
    expect(failedJobDisposition(new CompacterError("invariant"), 1, policy)).toEqual({
      action: "deadLetter",
      leavesQueue: true,
    });
  });
});

describe("sweep decision", () => {
  it("sends a partition with nothing queued, running or backing off", () => {
    expect(sweepDecision(undefined, now)).toEqual({ send: true });
    expect(sweepDecision(state(), now)).toEqual({ send: true });
    expect(sweepDecision(state({ queuedUntil: now, leaseOwner: "w", leaseExpiresAt: now }), now)).toEqual({
      send: true,
    });
  });

  it("holds a partition whose job is queued, until the hold ends", () => {
    expect(sweepDecision(state({ queuedUntil: now + 1 }), now)).toEqual({
      send: false,
      reason: "queued",
      untilMs: now + 1,
    });
    expect(queuedHoldMs(policy)).toBe(3 * 5400_000);
  });

  it("holds a partition whose job is in progress (lease unexpired)", () => {
    expect(sweepDecision(state({ leaseOwner: "w", leaseExpiresAt: now + 5 }), now)).toMatchObject({
      send: false,
      reason: "in progress",
    });
  });

  it("holds a failing partition until its next retry, then sends it once", () => {
    const failing = nextFailingMark(undefined, { error: new Error("denied"), nowMs: now }, policy);
    expect(sweepDecision(state({ failing }), now + 14 * MIN)).toMatchObject({
      send: false,
      reason: "backing off",
      untilMs: now + 15 * MIN,
    });
    expect(sweepDecision(state({ failing }), now + 15 * MIN)).toEqual({ send: true });
  });
});
