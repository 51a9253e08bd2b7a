import {
  canFinishCommit,
  canMarkQueued,
  canTakeLease,
  commitRefusal,
  GenerationConflictError,
  holdsLease,
  isNextVersion,
  LeaseLostError,
  type PartitionState,
} from "@compacter/core";
import { describe, expect, it } from "vitest";

const partition = { day: "2025-12-12", district: "BRCB" };
const state: PartitionState = {
  partition,
  generation: 2,
  files: [],
  rows: 0,
  bytes: 0,
  leaseOwner: "w1",
  leaseExpiresAt: 10_000,
};

describe("the partition item's rules", () => {
  it("lets a lease be taken when free, expired or already ours, and renewed or released only by its holder", () => {
    expect(canTakeLease(undefined, "w2", 5_000)).toBe(true);
    expect(canTakeLease({ ...state, leaseOwner: undefined }, "w2", 5_000)).toBe(true);
    expect(canTakeLease(state, "w2", 5_000)).toBe(false);
    expect(canTakeLease(state, "w2", 10_000)).toBe(true);
    expect(canTakeLease(state, "w1", 5_000)).toBe(true);
    expect(holdsLease(state, "w1")).toBe(true);
    expect(holdsLease(state, "w2")).toBe(false);
  });

  it("commits only over the expected generation, with nothing in flight, under our unexpired lease", () => {
    const attempt = { expectedGeneration: 2, owner: "w1", nowMs: 5_000 };
    expect(commitRefusal(partition, state, attempt)).toBeUndefined();
    expect(commitRefusal(partition, undefined, attempt)).toBeInstanceOf(LeaseLostError);
    expect(commitRefusal(partition, state, { ...attempt, owner: "w2" })?.message).toMatch(
      /held by 'w1', not 'w2'/,
    );
    expect(commitRefusal(partition, state, { ...attempt, nowMs: 10_000 })).toBeInstanceOf(LeaseLostError);
    const moved = commitRefusal(partition, state, { ...attempt, expectedGeneration: 1 });
    expect(moved).toBeInstanceOf(GenerationConflictError);
    expect(moved?.retryable).toBe(true);
    const inflight = { ...state, inflight: { attemptId: "a2", generation: 2, staged: [] } };
    expect(commitRefusal(partition, inflight, attempt)?.message).toMatch(/commit a2 in flight/);
    expect(canFinishCommit(inflight, "a2")).toBe(true);
    expect(canFinishCommit(inflight, "a1")).toBe(false);
    expect(canFinishCommit(state, "a2")).toBe(false);
  });

  it("queues one job at a time on an existing partition", () => {
    expect(canMarkQueued(undefined, 0)).toBe(false);
    expect(canMarkQueued(state, 0)).toBe(true);
    expect(canMarkQueued({ ...state, queuedUntil: 100 }, 99)).toBe(false);
    expect(canMarkQueued({ ...state, queuedUntil: 100 }, 100)).toBe(true);
  });

  it("writes a versioned item only over the version before it", () => {
    expect(isNextVersion(undefined, 1)).toBe(true);
    expect(isNextVersion({ version: 1 }, 1)).toBe(false);
    expect(isNextVersion({ version: 1 }, 2)).toBe(true);
    expect(isNextVersion({ version: 1 }, 3)).toBe(false);
    expect(isNextVersion(undefined, 2)).toBe(false);
  });
});
