import { describe, expect, it } from "vitest";
import { demoProgressLine } from "../../../packages/cli/src/dev/demo.js";

describe("the demo's live line", () => {
  it("counts compaction runs and partitions apart (an append and a merge are two runs of one partition)", () => {
    const line = demoProgressLine(
      { uploaded: 48, uploads: 48, due: 0, lakeRows: 1000, expected: 1000, lagMs: 0, freshnessMs: 0 },
      { filesIngested: 48, compactionRuns: 3, partitionsCompacted: new Set(["a", "b"]) },
    );
    expect(line).toContain("· 3 compaction runs (2 partitions) ·");
    expect(line).not.toMatch(/\d+ compacted/);
  });
});
