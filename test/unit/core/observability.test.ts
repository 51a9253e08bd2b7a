import {
  compactionMetrics,
  type DueEntry,
  type IngestRecordResult,
  ingestMetrics,
  lakeFreshness,
  METRICS,
} from "@compacter/core";
import { describe, expect, it } from "vitest";

const partition = { day: "2025-12-12", district: "BRCB" };
const NOW = Date.parse("2025-12-12T10:00:00.000Z");

function due(kind: DueEntry["kind"], dueAt: string): DueEntry {
  return { partition, kind, dueAt };
}

describe("lakeFreshness", () => {
  it("is the age past due of the oldest overdue raw file", () => {
    const entries = [
      due("file", "2025-12-12T09:58:00.000Z"),
      due("file", "2025-12-12T09:30:00.000Z"),
      // Not a raw file: a merge at day close or a commit to finish is not data missing from the lake.
      due("partition", "2025-12-12T08:00:00.000Z"),
      // Not due yet.
      due("file", "2025-12-12T10:05:00.000Z"),
    ];
    expect(lakeFreshness(entries, NOW)).toEqual({
      ageMs: 30 * 60_000,
      oldestDueAt: "2025-12-12T09:30:00.000Z",
      overdueFiles: 2,
    });
  });

  it("is 0 when nothing is overdue", () => {
    expect(lakeFreshness([due("file", "2025-12-12T10:00:00.001Z")], NOW)).toEqual({
      ageMs: 0,
      oldestDueAt: null,
      overdueFiles: 0,
    });
  });
});

describe("metric points", () => {
  it("counts ingest outcomes, new versions as ingested, zeros included", () => {
    const outcomes: IngestRecordResult["outcome"][] = [
      "registered",
      "replaced",
      "duplicate",
      "stale",
      "stale",
      "rejected",
      "skipped",
    ];
    const records = outcomes.map((outcome) => ({ outcome, eventName: "", bucket: "", key: "" }));
    expect(ingestMetrics(records).map((p) => [p.metric.name, p.value])).toEqual([
      [METRICS.filesIngested.name, 2],
      [METRICS.filesDuplicate.name, 1],
      [METRICS.filesStale.name, 2],
      [METRICS.filesRejected.name, 1],
      [METRICS.filesRemoved.name, 0],
    ]);
  });

  it("publishes a failed or idle compaction by outcome, with its share of the budget", () => {
    const timing = { durationMs: 720_000, budgetMs: 900_000 };
    expect(compactionMetrics({ status: "failed" }, timing)).toEqual([
      { metric: METRICS.compactions, value: 1, dimensions: { Plan: "unknown", Outcome: "failed" } },
      { metric: METRICS.compactionDuration, value: 720_000 },
      { metric: METRICS.compactionTimeoutUsed, value: 80 },
    ]);
    const busy = compactionMetrics({ partition, status: "busy", rolledForward: false }, timing);
    expect(busy[0]?.dimensions).toEqual({ Plan: "none", Outcome: "busy" });
    expect(busy).toHaveLength(3);
  });

  it("names every metric once, in CloudWatch's units", () => {
    const names = Object.values(METRICS).map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const metric of Object.values(METRICS)) {
      expect(["Count", "Milliseconds", "Seconds", "Percent"]).toContain(metric.unit);
    }
  });
});
