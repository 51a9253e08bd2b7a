import {
  buildGenerationRecord,
  type CompactionPlan,
  consumedFiles,
  countQuarantined,
  type EngineResult,
  marksOnly,
  type RawFileRecord,
} from "@compacter/core";
import { describe, expect, it } from "vitest";

const partition = { day: "2025-12-12", district: "BRCB" };

function file(key: string, overrides: Partial<RawFileRecord> = {}): RawFileRecord {
  return {
    key,
    partition,
    deviceId: "D",
    hourKey: "2025121209",
    hourStart: "2025-12-12T01:00:00.000Z",
    status: "pending",
    eTag: `e-${key}`,
    size: 100,
    sequencer: "1",
    arrivedAt: "2025-12-12T01:10:00.000Z",
    late: false,
    versions: 1,
    updatedAt: "2025-12-12T01:10:00.000Z",
    ...overrides,
  };
}

const read = file("read", { late: true });
const unreadable = file("bad");
const changed = file("changed");
const inLake = file("in-lake", { compactedETag: "e-in-lake", rows: 7, badLines: 1 });
const removal = file("removal", { status: "removed", compactedETag: "old" });
const neverInLake = file("never", { status: "removed" });

const plan: CompactionPlan = {
  partition,
  kind: "merge",
  reason: "1 source(s) replaced or removed",
  read: [read, unreadable, changed],
  alreadyInLake: [inLake],
  removals: [removal],
  markOnly: [neverInLake],
  dropSources: ["removal"],
  deferred: 0,
  sort: true,
};

const result: EngineResult = {
  outputs: [{ localPath: "/tmp/x", rows: 40, bytes: 400 }],
  files: [
    {
      key: "read",
      eTag: "e-read",
      outcome: "read",
      rows: 10,
      badLines: 2,
      badLineSamples: [{ line: 3, reason: "truncated" }],
      nullHeartbeats: 1,
      absurdHeartbeats: 0,
    },
    { key: "bad", eTag: "e-bad", outcome: "unreadable", error: "gzip stream is truncated" },
  ],
  schema: [{ name: "speed", type: "DOUBLE" }],
  addedColumns: ["speed"],
  widenedColumns: [],
  nulledValues: { speed: 2 },
  rowsFromLake: 35,
  rowsDropped: 5,
  rowsOut: 40,
};
const raw = [
  { key: "read", eTag: "e-read", deviceId: "D", localPath: "/a" },
  { key: "bad", eTag: "e-bad", deviceId: "D", localPath: "/b" },
];

describe("what a generation consumed", () => {
  it("states each planned version's outcome; a version that changed under the job is left to its newer event", () => {
    const consumed = consumedFiles(plan, raw, result, new Set(["changed"]));
    expect(consumed.map((c) => [c.key, c.plannedStatus, c.outcome])).toEqual([
      ["read", "pending", "compacted"],
      ["bad", "pending", "quarantined"],
      ["in-lake", "pending", "compacted"],
      ["removal", "removed", "dropped"],
      ["never", "removed", "dropped"],
    ]);
    expect(consumed[0]).toMatchObject({
      rows: 10,
      badLines: 2,
      nullHeartbeats: 1,
      badLineReasons: "line 3: truncated",
    });
    expect(consumed[1]).toMatchObject({ rows: 0, error: "gzip stream is truncated" });
    expect(consumed[2]).toMatchObject({ rows: 7, badLines: 1 });
    expect(countQuarantined(consumed)).toBe(1);
  });

  it("refuses an engine result that does not account for every raw input", () => {
    expect(() =>
      consumedFiles(plan, raw, { ...result, files: result.files.slice(0, 1) }, new Set(["changed"])),
    ).toThrow(/no outcome for bad/);
  });

  it("marks exact re-uploads and never-compacted removals without a generation", () => {
    expect(marksOnly(plan).map((c) => [c.key, c.outcome])).toEqual([
      ["in-lake", "compacted"],
      ["never", "dropped"],
    ]);
  });
});

describe("the generation record", () => {
  it("adds up what went in and out, and replaces the lake files a merge read", () => {
    const consumed = consumedFiles(plan, raw, result, new Set(["changed"]));
    const lakeInputs = [{ key: "lake/old.parquet", rows: 35, bytes: 350 }];
    const outputs = [{ key: "lake/new.parquet", rows: 40, bytes: 400 }];
    const record = buildGenerationRecord({
      partition,
      generation: 3,
      attemptId: "a3",
      plan: { ...plan, kind: "merge" },
      owner: "host/1",
      startedAtMs: Date.parse("2025-12-12T05:00:00.000Z"),
      committedAt: "2025-12-12T05:01:00.000Z",
      durationMs: 60_000,
      consumed,
      lakeInputs,
      outputs,
      staged: [{ stagingKey: "_staging/x", lakeKey: "lake/new.parquet" }],
      result,
    });
    expect(record).toMatchObject({
      generation: 3,
      plan: "merge",
      worker: "host/1",
      startedAt: "2025-12-12T05:00:00.000Z",
      inputs: consumed,
      replaced: lakeInputs,
      rowsIn: 10 + 35,
      rowsOut: 40,
      rowsDropped: 5,
      bytesIn: 300 + 350,
      bytesOut: 400,
      lateFiles: 1,
      badLines: 3,
      nulledValues: { speed: 2 },
      addedColumns: ["speed"],
      schemaColumns: 1,
    });
  });
});
