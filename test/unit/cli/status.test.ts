import type { DueEntry } from "@compacter/core";
import { describe, expect, it } from "vitest";
import { buildReport } from "../../../packages/cli/src/commands/status.js";

const NOW_MS = Date.parse("2025-12-14T00:00:00Z");
const EARLIER = "2025-12-13T23:00:00.000Z";
const QUEUE = { visible: 0, inFlight: 0 } as never;

function report(due: readonly DueEntry[]) {
  return buildReport({
    nowMs: NOW_MS,
    queues: { ingest: QUEUE, ingestDlq: QUEUE, compaction: QUEUE, compactionDlq: QUEUE } as never,
    due,
    quarantined: 0,
    rejected: 0,
    failing: [],
  });
}

describe("compacter status: partitions with due work", () => {
  it("says a partition due with 0 pending files is due for its day-close merge", () => {
    const [partition] = report([
      { partition: { day: "2025-12-13", district: "BRCB" }, kind: "partition", dueAt: EARLIER },
    ]).partitions;
    expect(partition).toMatchObject({ pending: 0, dueNow: true });
    expect(partition?.work).toMatch(/^day-close merge: the day's Parquet files become one sorted file/);
  });

  it("names pending and removed files, and the merge when it comes with them", () => {
    const day = { day: "2025-12-13", district: "KDCB" };
    const [partition] = report([
      { partition: day, kind: "file", dueAt: EARLIER, key: "a", status: "pending", late: false },
      { partition: day, kind: "file", dueAt: EARLIER, key: "b", status: "removed" },
      { partition: day, kind: "partition", dueAt: EARLIER },
    ]).partitions;
    expect(partition?.work).toBe(
      "compact 1 pending file(s); drop the rows of 1 removed file(s); with the day-close merge",
    );
  });
});
