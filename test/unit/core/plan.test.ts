import {
  type CompactionPlan,
  type PartitionState,
  type PlanSettings,
  parseUtcOffset,
  planCompaction,
  type RawFileRecord,
} from "@compacter/core";
import { describe, expect, it } from "vitest";

const partition = { day: "2025-12-12", district: "BRCB" };
const settings: PlanSettings = {
  closeAfterMs: 60 * 60_000,
  lateDebounceMs: 5 * 60_000,
  partitionTimeZone: parseUtcOffset("+08:00"),
  maxFilesPerPartition: 4,
  maxInputFilesPerCompaction: 100,
};
// 2025-12-12 10:00 at +08:00: the day is open.
const openDayNow = Date.parse("2025-12-12T02:00:00Z");
// 2025-12-13 01:30 at +08:00: the day's window (midnight + 60m) has closed.
const closedDayNow = Date.parse("2025-12-12T17:30:00Z");

function file(key: string, overrides: Partial<RawFileRecord> = {}): RawFileRecord {
  return {
    key,
    partition,
    deviceId: key.split("/")[1] ?? "D",
    hourKey: "2025121201",
    hourStart: "2025-12-11T17:00:00.000Z",
    status: "pending",
    eTag: `etag-${key}`,
    size: 100,
    sequencer: `${"0".repeat(31)}1`,
    arrivedAt: "2025-12-11T18:01:00.000Z",
    late: false,
    dueAt: "2025-12-11T19:00:00.000Z",
    versions: 1,
    updatedAt: "2025-12-11T18:01:00.000Z",
    ...overrides,
  };
}

function state(files: number, overrides: Partial<PartitionState> = {}): PartitionState {
  return {
    partition,
    generation: files,
    files: Array.from({ length: files }, (_, i) => ({ key: `lake/${i}.parquet`, rows: 10, bytes: 100 })),
    rows: 10 * files,
    bytes: 100 * files,
    lastPlan: "append",
    ...overrides,
  };
}

const plan = (input: Partial<Parameters<typeof planCompaction>[0]>): CompactionPlan =>
  planCompaction({ partition, state: undefined, files: [], nowMs: openDayNow, settings, ...input });

describe("planCompaction", () => {
  it("appends the due files of an open day, leaving files not yet due", () => {
    const due = file("BRCB/D1/2025121201/2025121201.txt.gz");
    const notDue = file("BRCB/D1/2025121210/2025121210.txt.gz", { dueAt: "2025-12-12T04:00:00.000Z" });
    const result = plan({ state: state(2), files: [due, notDue] });
    expect(result.kind).toBe("append");
    expect(result.read.map((f) => f.key)).toEqual([due.key]);
    expect(result.sort).toBe(false);
    expect(result.dropSources).toEqual([]);
  });

  it("takes a late file before its debounce ends once a job runs for the partition", () => {
    const late = file("BRCB/D2/2025121201/2025121201.txt.gz", {
      late: true,
      dueAt: "2025-12-12T02:04:00.000Z",
    });
    expect(plan({ state: state(1), files: [late] }).read).toHaveLength(1);
  });

  it("does nothing when nothing is due, and ignores compacted, quarantined and not-due files", () => {
    const files = [
      file("a", { status: "compacted", dueAt: undefined }),
      file("b", { status: "quarantined", dueAt: undefined }),
      file("c", { dueAt: "2025-12-12T05:00:00.000Z" }),
    ];
    const result = plan({ state: state(1), files });
    expect(result.kind).toBe("none");
    expect(result.reason).toBe("nothing due");
  });

  it("merges once the day has closed, sorted, with the late files", () => {
    const late = file("BRCB/D1/2025121223/2025121223.txt.gz", { late: true });
    const result = plan({ state: state(3), files: [late], nowMs: closedDayNow });
    expect(result.kind).toBe("merge");
    expect(result.sort).toBe(true);
    expect(result.reason).toBe("late files in a closed day");
  });

  it("merges a closed day that still holds appended files even with no raw file due", () => {
    expect(plan({ state: state(3), nowMs: closedDayNow })).toMatchObject({
      kind: "merge",
      reason: "day closed",
    });
  });

  it("leaves a closed day alone once it has converged (even split into several files)", () => {
    expect(plan({ state: state(1), nowMs: closedDayNow }).kind).toBe("none");
    expect(plan({ state: state(3, { lastPlan: "merge" }), nowMs: closedDayNow }).kind).toBe("none");
  });

  it("writes a first, sorted file for a closed day that has none yet", () => {
    const result = plan({ files: [file("BRCB/D1/2025121201/2025121201.txt.gz")], nowMs: closedDayNow });
    expect(result).toMatchObject({ kind: "append", sort: true });
  });

  it("merges early when one more file would exceed maxFilesPerPartition", () => {
    const result = plan({ state: state(4), files: [file("BRCB/D1/2025121201/2025121201.txt.gz")] });
    expect(result).toMatchObject({ kind: "merge", reason: "partition would exceed 4 files" });
  });

  it("merges and drops the old rows of an overwritten file", () => {
    const overwritten = file("BRCB/D1/2025121201/2025121201.txt.gz", { eTag: "new", compactedETag: "old" });
    const result = plan({ state: state(2), files: [overwritten] });
    expect(result.kind).toBe("merge");
    expect(result.dropSources).toEqual([overwritten.key]);
    expect(result.read).toEqual([overwritten]);
  });

  it("merges and drops the rows of a removed file; a removed file never compacted only needs marks", () => {
    const removed = file("BRCB/D1/2025121201/2025121201.txt.gz", { status: "removed", compactedETag: "old" });
    const neverCompacted = file("BRCB/D2/2025121201/2025121201.txt.gz", { status: "removed" });
    const result = plan({ state: state(1), files: [removed, neverCompacted] });
    expect(result.kind).toBe("merge");
    expect(result.dropSources).toEqual([removed.key]);
    expect(result.markOnly).toEqual([neverCompacted]);
    expect(plan({ state: state(1), files: [neverCompacted] })).toMatchObject({
      kind: "none",
      reason: "marks only",
    });
  });

  it("marks an exact re-upload of the version already in the lake without reading it", () => {
    const same = file("BRCB/D1/2025121201/2025121201.txt.gz", { eTag: "e1", compactedETag: "e1" });
    const result = plan({ state: state(1), files: [same] });
    expect(result).toMatchObject({ kind: "none", reason: "marks only" });
    expect(result.alreadyInLake).toEqual([same]);
  });

  it("caps the inputs of one job, oldest due first, and keeps appending a closed day until the backlog is done", () => {
    const files = Array.from({ length: 5 }, (_, i) =>
      file(`BRCB/D${i}/2025121201/2025121201.txt.gz`, { dueAt: `2025-12-11T19:0${4 - i}:00.000Z` }),
    );
    const capped = { ...settings, maxInputFilesPerCompaction: 2 };
    const result = plan({ state: state(1), files, nowMs: closedDayNow, settings: capped });
    expect(result.kind).toBe("append");
    expect(result.read.map((f) => f.deviceId)).toEqual(["D4", "D3"]);
    expect(result.deferred).toBe(3);
    const last = plan({ state: state(2), files: files.slice(0, 1), nowMs: closedDayNow, settings: capped });
    expect(last.kind).toBe("merge");
  });

  it("merges on request", () => {
    expect(plan({ state: state(2), forceMerge: true })).toMatchObject({
      kind: "merge",
      reason: "merge requested",
    });
    expect(plan({ forceMerge: true }).kind).toBe("none");
  });
});
