/**
 * Runs the benchmark harness at its smallest size, so it cannot rot: every section must be
 * there with finite, positive figures, and every pipeline must have converted exactly the
 * rows the simulator wrote. Nothing here looks at a time's value.
 */

import { beforeAll, describe, expect, it } from "vitest";
import { runBenchmark } from "../../bench/benchmark.js";
import { renderMarkdown } from "../../bench/markdown.js";
import type { BenchReport } from "../../bench/report.js";

let report: BenchReport;

beforeAll(async () => {
  report = await runBenchmark({ size: "small", runs: 1 });
}, 600_000);

const positive = (value: number) => {
  expect(Number.isFinite(value)).toBe(true);
  expect(value).toBeGreaterThan(0);
};

describe("npm run bench -- --size small", () => {
  it("converts exactly the simulated rows in every pipeline", () => {
    const { rows } = report.meta.dataset;
    positive(rows);
    expect(report.rowChecks.map((c) => c.what)).toEqual(
      expect.arrayContaining([
        "ours, unsorted append",
        "ours, sorted one-shot",
        "ours, service day",
        "seed query",
        "skilled one-liner",
        "floor, every column",
      ]),
    );
    for (const check of report.rowChecks) expect(check.actual, check.what).toBe(check.expected);
    expect(report.incremental.steps.at(-1)?.rowsOut).toBe(rows);
    expect(report.memory.runs).toHaveLength(2);
    for (const run of report.memory.runs) {
      expect(run.rowsOut, run.what).toBe(rows);
      expect(run.completed, run.what).toBe(true);
    }
  });

  it("reports every throughput variant with finite positive figures", () => {
    expect(report.throughput.variants.map((v) => v.name)).toEqual([
      "oursAppend",
      "oursSorted",
      "seed",
      "oneLiner",
      "floorColumns",
      "floorCount",
      "gunzip",
    ]);
    for (const v of report.throughput.variants) {
      positive(v.rows);
      positive(v.wallMs);
      positive(v.rowsPerSecond);
      if (v.name !== "gunzip") {
        positive(v.cpuMs);
        positive(v.maxRssMb);
      }
    }
    for (const stages of Object.values(report.throughput.profile)) positive(stages.totalMs ?? 0);
  });

  it("reports the incremental day, memory, storage, queries, requests and ingest", () => {
    const { incremental, memory, storage, queries, requests, ingest } = report;
    expect(incremental.steps.map((s) => s.plan)).toEqual(["append", "append", "merge"]);
    for (const value of [incremental.totalWallMs, incremental.oneShotWallMs, incremental.ratio])
      positive(value);
    for (const run of memory.runs) positive(run.maxRssMb);
    for (const value of [
      storage.gzBytes,
      storage.dayBytes,
      storage.sortedBytes,
      storage.seedBytes,
      storage.oneLinerBytes,
    ])
      positive(value);
    expect(queries.rows.map((q) => q.name)).toEqual(["unitDay", "dayAggregate", "weekCount"]);
    for (const q of queries.rows) {
      positive(q.lakeMs);
      positive(q.rawMs);
      positive(q.answerRows);
    }
    positive(requests.billablePerFile);
    positive(requests.costPerDeviceDay);
    // Every raw file is downloaded once; the merge also downloads the day's appended files.
    const gets = requests.lines.find((l) => l.operation === "s3:GetObject" && l.role === "compaction");
    expect(gets?.count).toBe(report.meta.dataset.files + incremental.steps.length - 1);
    positive(ingest.perSecond);
  });

  it("sets every target next to a result and renders BENCHMARKS.md", () => {
    expect(report.targets.length).toBeGreaterThanOrEqual(10);
    const markdown = renderMarkdown(report);
    for (const heading of ["## Targets", "## 1.", "## 2.", "## 3.", "## 4.", "## 5.", "## 6.", "## 7."]) {
      expect(markdown).toContain(heading);
    }
  });
});
