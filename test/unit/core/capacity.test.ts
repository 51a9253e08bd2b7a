import {
  COMPACTOR_SHAPE,
  estimateWork,
  handOverDecision,
  lambdaVcpus,
  MEASURED_THROUGHPUT,
  type RawFileRecord,
  workOfLargestJob,
  workOfPlan,
} from "@compacter/core";
import { describe, expect, it } from "vitest";

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const lambda = {
  timeoutSeconds: COMPACTOR_SHAPE.timeoutSeconds,
  memoryMb: COMPACTOR_SHAPE.memoryMb,
  tmpBytes: COMPACTOR_SHAPE.storageMb * MiB,
};
const vcpus = lambdaVcpus(lambda.memoryMb);

describe("compaction estimate", () => {
  it("scales the benchmark's 2-vCPU throughput to the function's vCPUs", () => {
    expect(vcpus).toBe(10_240 / 1769);
    // The benchmark's own data set: 2.88 M rows in 586.1 MiB of gzip, merged.
    const bench = estimateWork(
      { kind: "merge", rawGzipBytes: 586.1 * MiB, lakeRows: 0, lakeBytes: 0 },
      MEASURED_THROUGHPUT.vcpus,
    );
    expect(bench.rows).toBeGreaterThan(2_850_000);
    expect(bench.rows).toBeLessThan(2_910_000);
    expect(bench.seconds).toBeGreaterThan(145); // measured: 152 s median
    expect(bench.seconds).toBeLessThan(160);
    expect(bench.outputBytes / MiB).toBeCloseTo(586.1 * 0.567, 0);
  });

  it("counts a merge's lake rows and bytes and an append's raw files", () => {
    const work = workOfPlan({
      kind: "merge",
      read: [{ size: 1000 }, { size: 2000 }],
      lakeInputs: [{ key: "a", rows: 500, bytes: 700 }],
    });
    expect(work).toEqual({ kind: "merge", rawGzipBytes: 3000, lakeRows: 500, lakeBytes: 700 });
  });
});

describe("the largest job of a plan", () => {
  const file = (deviceId: string, size: number, status: "pending" | "compacted"): RawFileRecord => ({
    key: `BRCB/${deviceId}/2025121201/2025121201.txt.gz`,
    partition: { day: "2025-12-12", district: "BRCB" },
    deviceId,
    hourKey: "2025121201",
    hourStart: "2025-12-11T17:00:00.000Z",
    status,
    eTag: "e",
    ...(status === "compacted" ? { compactedETag: "e" } : {}),
    size,
    sequencer: "1",
    arrivedAt: "2025-12-11T18:01:00.000Z",
    late: false,
    versions: 1,
    updatedAt: "2025-12-11T18:01:00.000Z",
  });
  const files = [file("A", 300, "compacted"), file("B", 100, "compacted"), file("C", 100, "pending")];
  const plan = {
    kind: "merge" as const,
    read: [files[2]!],
    lakeInputs: [{ key: "a", rows: 1000, bytes: 800 }],
  };

  it("is a merge's largest slice when the merge runs in slices: its raw files and its share of the lake", () => {
    expect(workOfLargestJob(plan, files, 300)).toEqual({
      kind: "merge",
      rawGzipBytes: 0,
      lakeRows: 600,
      lakeBytes: 480,
    });
  });

  it("is the whole plan when one job can do it", () => {
    expect(workOfLargestJob(plan, files, 10_000)).toEqual(workOfPlan(plan));
  });
});

describe("hand-over to Fargate", () => {
  const fits = (rawGzipBytes: number, kind: "append" | "merge" = "merge") =>
    handOverDecision({
      estimate: estimateWork({ kind, rawGzipBytes, lakeRows: 0, lakeBytes: 0 }, vcpus),
      limits: lambda,
      receiveCount: 1,
      failing: undefined,
    });

  it("keeps a district-hour and a small day on Lambda", () => {
    expect(fits(300 * 20_000 * 213, "append")).toEqual({ handOver: false }); // 300 devices × an hour
    expect(fits(2 * GiB)).toEqual({ handOver: false }); // ~10 M rows merged: ~190 s
  });

  it("hands a merge over that would not finish in half the timeout", () => {
    // 300 devices × a full day ≈ 26 M rows, ≈ 5.2 GiB of gzip: ≈ 490 s of merge at 5.8 vCPUs.
    const decision = fits(300 * 86_400 * 213);
    expect(decision).toMatchObject({ handOver: true });
    expect(decision.handOver && decision.reason).toMatch(
      /estimated \d+ s for \d+ rows \(merge\); the function stops at 900 s/,
    );
  });

  it("hands over when the local files would not fit /tmp with room to spill", () => {
    const decision = handOverDecision({
      estimate: {
        kind: "append",
        rawGzipBytes: 0,
        lakeRows: 0,
        lakeBytes: 0,
        rows: 1,
        seconds: 1,
        outputBytes: 0,
        tmpBytes: 6 * GiB,
      },
      limits: lambda,
      receiveCount: 1,
      failing: undefined,
    });
    expect(decision.handOver && decision.reason).toMatch(/MiB of local files/);
  });

  it("hands over a redelivered job whose earlier run left no failure (a timeout), not one that failed", () => {
    const estimate = estimateWork({ kind: "append", rawGzipBytes: 1000, lakeRows: 0, lakeBytes: 0 }, vcpus);
    expect(handOverDecision({ estimate, limits: lambda, receiveCount: 2, failing: undefined })).toMatchObject(
      {
        handOver: true,
        reason: expect.stringMatching(/timed out/),
      },
    );
    const failing = {
      since: "t",
      attempts: 1,
      lastError: "SlowDown",
      lastFailedAt: "t",
      nextRetryAt: "t",
      retryable: true,
    };
    expect(handOverDecision({ estimate, limits: lambda, receiveCount: 2, failing })).toEqual({
      handOver: false,
    });
  });
});
