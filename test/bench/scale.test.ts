/**
 * The real-volume run (`npm run bench -- --size large`) at the smallest size, so it cannot
 * rot: both service days convert every row, the merge runs in slices, each job is checked
 * against the bounds, and the section replaces itself in BENCHMARKS.md without touching
 * the rest. Nothing here looks at a time's value.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { boundedJobs, runScaleBenchmark, type ScaleReport } from "../../bench/scale.js";
import { renderScaleSection, scaleSectionOf, spliceScaleSection } from "../../bench/scaleMarkdown.js";

let report: ScaleReport;
// Its own cache: the default-size harness test may be generating the same data at the same time.
const cacheRoot = mkdtempSync(join(tmpdir(), "compacter-scale-"));
const previousSliceInput = process.env.COMPACTER_MAX_SLICE_INPUT;

beforeAll(async () => {
  // Small enough that the small size's day-close merge runs in several slices (the
  // children the benchmark starts inherit the environment).
  process.env.COMPACTER_MAX_SLICE_INPUT = "5MiB";
  report = await runScaleBenchmark({ size: "small", log: () => {}, command: "test", cacheRoot });
}, 600_000);

afterAll(() => {
  rmSync(cacheRoot, { recursive: true, force: true });
  if (previousSliceInput === undefined) delete process.env.COMPACTER_MAX_SLICE_INPUT;
  else process.env.COMPACTER_MAX_SLICE_INPUT = previousSliceInput;
});

describe("npm run bench -- --size large, run at the small size", () => {
  it("runs the service day with 1 and 2 workers, the merge in slices, every job measured", () => {
    expect(report.days.map((d) => d.workers)).toEqual([1, 2]);
    expect(report.meta.settings.maxSliceInputBytes).toBe("5MiB");
    for (const day of report.days) {
      const rows = day.lake.reduce((n, f) => n + f.rows, 0);
      expect(rows).toBe(report.meta.dataset.rows);
      const merge = day.jobs.findLast((j) => j.plan === "merge");
      expect(merge?.slices?.length ?? 0).toBeGreaterThan(1);
      const jobs = boundedJobs(report.bounds, day.jobs);
      expect(jobs.filter((j) => j.plan === "slice")).toHaveLength(merge?.slices?.length ?? -1);
      for (const job of jobs) {
        expect(job.wallMs, job.label).toBeGreaterThan(0);
        expect(job.outputBytes, job.label).toBeGreaterThan(0);
        expect(job.peakTempBytes, job.label).toBeGreaterThanOrEqual(job.peakWorkingBytes);
      }
    }
    expect(report.unitQuery.rows).toBeGreaterThan(0);
  });

  it("judges each job against the bounds", () => {
    const [job] = boundedJobs(report.bounds, report.days[0]!.jobs);
    const over = boundedJobs(report.bounds, [
      {
        ...report.days[0]!.jobs[0]!,
        peakRssMb: 10_000,
        peakWorkingBytes: 3 * (job?.outputBytes ?? 1),
        wallMs: report.bounds.maxJobMs + 1,
      },
    ])[0]!;
    expect(over).toMatchObject({ rssOk: false, tempOk: false, wallOk: false });
  });

  it("replaces its own section of BENCHMARKS.md and keeps the rest", () => {
    const section = renderScaleSection(report);
    const original = "# Benchmarks\n\nThe default size's figures.\n";
    const once = spliceScaleSection(original, section);
    expect(once.startsWith(original.trimEnd())).toBe(true);
    expect(scaleSectionOf(once)?.trim()).toBe(section.trim());
    const twice = spliceScaleSection(once, section.replace("one full district-day", "again"));
    expect(twice.match(/scale:start/g)).toHaveLength(1);
    expect(twice).toContain("again");
    expect(twice).toContain("The default size's figures.");
  });
});
