import { DeleteObjectCommand } from "@aws-sdk/client-s3";
import type { GenerationRecord, PartitionId } from "@compacter/core";
import { runSimulation, s3Sink } from "@compacter/simulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CompactionHarness,
  createCompactionHarness,
  expectedRows,
  partitionsOf,
} from "../../helpers/compactionHarness.js";
import { useLocalStack } from "../../helpers/localStack.js";
import { clockAhead, DAY_CLOSED_CLOCK, hoursAgo } from "../../helpers/time.js";

const stack = useLocalStack();

describe("late, overwritten and removed raw files", () => {
  let h: CompactionHarness;
  let partition: PartitionId;
  const expected = new Map<string, number>();
  beforeAll(async () => {
    h = await createCompactionHarness(stack, "late-data");
    for (const hour of [4, 3]) {
      const appended = await h.simulate({
        devicesPerDistrict: 3,
        hours: 1,
        startHourMs: hoursAgo(hour),
        seed: hour,
      });
      [partition] = partitionsOf(appended) as [PartitionId];
      for (const [k, n] of expectedRows(appended, partition)) expected.set(k, n);
      expect(await h.compact(partition)).toMatchObject({ plan: "append" });
    }
    expect(await h.compact(partition, { clock: DAY_CLOSED_CLOCK })).toMatchObject({
      plan: "merge",
      reason: "day closed",
    });
  });
  afterAll(() => h.close());

  it("lands a late file in the same partition, which converges back to one file", async () => {
    // A fourth device's upload of the same hours, long after the day closed.
    const late = await h.simulate({ devicesPerDistrict: 4, hours: 1, startHourMs: hoursAgo(4), seed: 11 });
    const lateKey = [...expectedRows(late, partition).keys()].find((k) => !expected.has(k));
    if (!lateKey) throw new Error("no new device in the late upload");
    // Devices 1–3 were re-uploaded too (same keys, new content): overwrites.
    for (const [k, n] of expectedRows(late, partition)) expected.set(k, n);
    const lateFile = await h.runtime.store.getFile(partition, lateKey);
    expect(lateFile).toMatchObject({ late: true, status: "pending" });

    const outcome = await h.compact(partition, { clock: DAY_CLOSED_CLOCK });
    expect(outcome).toMatchObject({ status: "committed", plan: "merge" });
    expect(await h.lakeKeys(partition)).toHaveLength(1);
    expect(await h.lakeRows(partition)).toEqual(expected);
    expect(await h.manifestRows(partition)).toEqual(expected);
    expect(outcome.history?.lateFiles).toBeGreaterThanOrEqual(1);
    expect(outcome.history?.rowsDropped).toBeGreaterThan(0);
  });

  it("drops a removed file's rows at the next compaction", async () => {
    const [removedKey] = [...expected.keys()];
    if (!removedKey) throw new Error("nothing to remove");
    await stack.clients.s3.send(new DeleteObjectCommand({ Bucket: h.config.rawBucket, Key: removedKey }));
    await h.ingest();
    expect(await h.runtime.store.getFile(partition, removedKey)).toMatchObject({ status: "removed" });
    expected.delete(removedKey);

    const outcome = await h.compact(partition, { clock: DAY_CLOSED_CLOCK });
    expect(outcome).toMatchObject({ status: "committed", plan: "merge" });
    expect(await h.lakeRows(partition)).toEqual(expected);
    const removed = await h.runtime.store.getFile(partition, removedKey);
    expect([removed?.status, removed?.compactedETag, removed?.dueAt]).toEqual([
      "removed",
      undefined,
      undefined,
    ]);
    expect(await h.lakeKeys(partition)).toHaveLength(1);
  });
});

describe("a change whose notification was lost", () => {
  let h: CompactionHarness;
  beforeAll(async () => {
    h = await createCompactionHarness(stack, "lost-event");
  });
  afterAll(() => h.close());

  it("is registered from what the compactor finds, and the lake converges to it", async () => {
    const first = await h.simulate({ devicesPerDistrict: 2, hours: 1, startHourMs: hoursAgo(3) });
    const [partition] = partitionsOf(first) as [PartitionId];
    const [overwritten, deleted] = [...expectedRows(first, partition).keys()] as [string, string];

    // Both files change in S3 before their first compaction, and neither event reaches
    // the manifest: one is overwritten, the other deleted.
    const second = await runSimulation(
      {
        layout: h.config,
        seed: 77,
        districts: ["BRCB"],
        devicesPerDistrict: 1,
        hours: 1,
        rowsPerFile: 120,
        startHourMs: hoursAgo(3),
      },
      s3Sink(stack.clients.s3, h.config.rawBucket),
    );
    await stack.clients.s3.send(new DeleteObjectCommand({ Bucket: h.config.rawBucket, Key: deleted }));
    expect(await stack.drainQueue(h.config.ingestQueueUrl)).toHaveLength(2);

    // The compactor sees both changes, reads neither stale version, and records what it saw.
    const noticed = await h.compact(partition);
    expect(noticed.status).toBe("nothing");
    expect(await h.runtime.store.getFile(partition, overwritten)).toMatchObject({
      status: "pending",
      eTag: second.files[0]?.versions[0]?.eTag?.replaceAll('"', ""),
    });
    expect(await h.runtime.store.getFile(partition, deleted)).toMatchObject({ status: "removed" });

    // Past the 1 s late debounce of what was registered.
    expect(await h.compact(partition, { clock: clockAhead(1_100) })).toMatchObject({
      status: "committed",
      plan: "append",
    });
    expect(await h.lakeRows(partition)).toEqual(expectedRows(second, partition));
    const gone = await h.runtime.store.getFile(partition, deleted);
    expect([gone?.status, gone?.dueAt]).toEqual(["removed", undefined]);
  });
});

describe("bad input", () => {
  let h: CompactionHarness;
  beforeAll(async () => {
    h = await createCompactionHarness(stack, "bad-input");
  });
  afterAll(() => h.close());

  it("quarantines unreadable files with their error, keeps every valid line, and counts the damage", async () => {
    const summary = await h.simulate({
      devicesPerDistrict: 12,
      hours: 2,
      rowsPerFile: 200,
      startHourMs: hoursAgo(4),
      knobs: {
        badLines: 0.02,
        strayStrings: 0.05,
        truncatedGzip: 0.1,
        badTrailer: 0.05,
        emptyObjects: 0.05,
        notJson: 0.05,
        drift: 0.25,
        msHeartbeat: 0.25,
        oddKeys: 0.2,
      },
    });
    const [partition] = partitionsOf(summary) as [PartitionId];
    const outcome = await h.compact(partition);
    expect(outcome.status).toBe("committed");
    const history = outcome.history as GenerationRecord;

    // Every readable file's valid lines, nothing else, exactly once.
    expect(await h.lakeRows(partition)).toEqual(expectedRows(summary, partition));

    // Unreadable files: quarantined with a reason, listed as problems, out of the due index.
    const unreadable = new Set(summary.expected.unreadable.map((u) => u.key));
    expect(unreadable.size).toBeGreaterThanOrEqual(4);
    const files = await h.runtime.store.listFiles(partition);
    for (const file of files) {
      if (unreadable.has(file.key)) {
        expect([file.status, file.dueAt]).toEqual(["quarantined", undefined]);
        expect(file.error).toMatch(/gzip|empty|JSON|0 bytes|truncated|trailer|CRC/i);
      } else {
        expect(file).toMatchObject({ status: "compacted" });
      }
    }
    const problems = await h.runtime.store.listProblems("quarantined");
    expect(new Set(problems.map((p) => p.key))).toEqual(unreadable);

    // The history item carries the counts.
    expect(
      history.inputs
        .filter((i) => i.outcome === "quarantined")
        .map((i) => i.key)
        .sort(),
    ).toEqual([...unreadable].sort());
    expect(history.badLines).toBe(summary.expected.badLines);
    expect(Object.values(history.nulledValues).reduce((a, b) => a + b, 0)).toBe(
      summary.expected.nulledValues,
    );
    expect(history.addedColumns.length).toBeGreaterThan(0);

    // A numeric field with stray strings stays numeric; drifted fields became columns.
    const schema = await h.runtime.store.getSchema(partition.district);
    const types = new Map(schema?.columns.map((c) => [c.name, c.type]));
    for (const field of Object.keys(history.nulledValues))
      expect(["INTEGER", "BIGINT", "DOUBLE"]).toContain(types.get(field));
    for (const field of ["drive_mode", "cab_co2_ppm", "eng_oil_pressure_kpa"])
      expect(types.has(field)).toBe(true);

    // Heartbeats in milliseconds land on the same timeline as seconds.
    const [times] = await h.queryManifestFiles<{ outside: number; nulls: number }>(
      partition,
      `SELECT count(*) FILTER (WHERE event_time < to_timestamp(${Math.floor(hoursAgo(4) / 1000)})
                                 OR event_time >= to_timestamp(${Math.floor(hoursAgo(2) / 1000)}))::INTEGER AS outside,
              count(*) FILTER (WHERE event_time IS NULL)::INTEGER AS nulls FROM t`,
    );
    expect(times).toEqual({ outside: 0, nulls: 0 });

    // `compacter retry` re-queues them; they are quarantined again with the same error.
    const quarantined = files.filter((f) => f.status === "quarantined");
    for (const f of quarantined) {
      expect(
        await h.runtime.store.requeueQuarantined(
          partition,
          f.key,
          new Date().toISOString(),
          new Date().toISOString(),
        ),
      ).toBe(true);
    }
    const retried = await h.compact(partition);
    expect(retried.history?.inputs.every((i) => i.outcome === "quarantined")).toBe(true);
    expect(await h.lakeRows(partition)).toEqual(expectedRows(summary, partition));
  });
});
