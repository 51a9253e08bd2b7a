import { type MergeSlice, maySliceBeClaimed, maySliceBeStaged, type StagedSlice } from "@compacter/core";
import { describe, expect, it } from "vitest";

const slice: MergeSlice = {
  index: 0,
  toDevice: "m",
  inputBytes: 10,
  read: [],
  alreadyInLake: [],
  removals: [],
  markOnly: [],
  dropSources: [],
} as unknown as MergeSlice;
const staged = { worker: "w1" } as unknown as StagedSlice;

describe("slice claims (the rule SliceItems encodes as its condition)", () => {
  it("lets anyone claim an unclaimed slice, the owner renew, and others take it only once the claim expired", () => {
    expect(maySliceBeClaimed(slice, "w1", 100)).toBe(true);
    const claimed = { ...slice, claimedBy: "w1", claimExpiresAt: 200 };
    expect(maySliceBeClaimed(claimed, "w1", 150)).toBe(true);
    expect(maySliceBeClaimed(claimed, "w2", 150)).toBe(false);
    expect(maySliceBeClaimed(claimed, "w2", 200)).toBe(false);
    expect(maySliceBeClaimed(claimed, "w2", 201)).toBe(true);
  });

  it("never hands out a staged slice again, and stages only for the worker that holds the claim", () => {
    const done = { ...slice, claimedBy: "w1", staged };
    expect(maySliceBeClaimed(done, "w1", 0)).toBe(false);
    expect(maySliceBeClaimed(done, "w2", Number.MAX_SAFE_INTEGER)).toBe(false);
    expect(maySliceBeStaged(done, "w1")).toBe(false);
    expect(maySliceBeStaged({ ...slice, claimedBy: "w1" }, "w1")).toBe(true);
    expect(maySliceBeStaged({ ...slice, claimedBy: "w1" }, "w2")).toBe(false);
    expect(maySliceBeStaged(slice, "w1")).toBe(false);
  });
});
