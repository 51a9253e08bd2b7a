import { Readable } from "node:stream";
import { createGzip } from "node:zlib";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import {
  type CompactionOutcome,
  columnNameForField,
  createLogger,
  type FaultPoint,
  formatRawKey,
  type Logger,
  type PartitionId,
  parseRawKey,
  partitionLabel,
  silentLogger,
} from "@compacter/core";
import { createDuckDbEngine } from "@compacter/duckdb";
import { createRuntime, Worker } from "@compacter/wiring";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../helpers/cli.js";
import { type CompactionHarness, createCompactionHarness } from "../../helpers/compactionHarness.js";
import { useLocalStack } from "../../helpers/localStack.js";
import { hoursAgo } from "../../helpers/time.js";

/**
 * The three hostile uploads of issue #19, through the public path (S3 PUT → notification →
 * ingest → sweep → compaction on a long-running worker): keys that differ only by case, an
 * empty key, and a file that is one enormous line. Each used to lose values or stall the
 * partition (and the worker); now every value is in the lake and the other files compact.
 * The enormous line is 64 MiB against a 1 MiB `maxLineBytes` (the real case, 2 GiB against
 * 4 MiB, was measured by hand; see the report of #19).
 */
const stack = useLocalStack();
const MiB = 2 ** 20;

let h: CompactionHarness;
beforeAll(async () => {
  h = await createCompactionHarness(stack, "hostile-inputs", {
    maxLineBytes: "1MiB",
    compactionConcurrency: "2",
    sweepIntervalMs: "300ms",
    pollWaitMs: "1s",
    visibilityTimeoutMs: "30s",
  });
});
afterAll(() => h.close());

async function put(key: string, parts: Iterable<string>): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of Readable.from(parts).pipe(createGzip({ level: 1 }))) chunks.push(chunk as Buffer);
  await stack.clients.s3.send(
    new PutObjectCommand({ Bucket: h.config.rawBucket, Key: key, Body: Buffer.concat(chunks) }),
  );
}

function* repeated(text: string, times: number): Generator<string> {
  for (let i = 0; i < times; i++) yield text;
}

function keyOf(district: string, deviceId: string, hourStartMs: number): string {
  return formatRawKey({ district, deviceId, hourStartMs }, h.config);
}

function partitionOfKey(key: string): PartitionId {
  const parsed = parseRawKey(key, h.config);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value.partition;
}

function row(heartbeat: number, extra: Record<string, unknown>): string {
  return `${JSON.stringify({ heartbeat, unitno: "U1", speed: 10.5, ...extra })}\n`;
}

/** A worker as `compacter run` builds it, with a hook at the compaction fault points. */
function startWorker(
  faults: { at(point: FaultPoint): Promise<void> },
  onOutcome: (o: CompactionOutcome) => void,
  log: Logger = silentLogger,
) {
  const runtime = createRuntime(h.config, { clients: stack.clients, log, faults });
  const worker = new Worker(runtime, createDuckDbEngine({ slots: h.config.compactionConcurrency }), {
    onOutcome,
  });
  worker.start();
  return worker;
}

describe("hostile raw files on a long-running worker", () => {
  it("stores case twins and an empty key with every value, and quarantines or trims a huge line, while other partitions compact", async () => {
    const hour = Math.floor(hoursAgo(3) / 3_600_000) * 3_600_000;
    const hb = Math.floor(hour / 1000);
    const keys = {
      twins: keyOf("BRCB", "TWIN01", hour),
      emptyKey: keyOf("BRCB", "EMPTY01", hour),
      hugeLine: keyOf("BRCB", "HUGE01", hour),
      onlyHuge: keyOf("BRCB", "HUGE02", hour),
      good: keyOf("BRCB", "GOOD01", hour),
      otherPartition: keyOf("SLTR", "GOOD02", hour),
    };
    const partition = partitionOfKey(keys.good);
    const other = partitionOfKey(keys.otherPartition);

    const outcomes: CompactionOutcome[] = [];
    const worker = startWorker({ at: async () => {} }, (o) => outcomes.push(o));
    try {
      await put(keys.twins, [row(hb, { Speed: 1, SPEED: 2 }), row(hb + 1, { Speed: 3 })]);
      await put(keys.emptyKey, [row(hb, { "": "e1" }), row(hb + 1, { "": "e2", " ": "s" })]);
      await put(keys.hugeLine, [row(hb, {}), ...repeated(" ".repeat(MiB), 64), "\n", row(hb + 2, {})]);
      await put(keys.onlyHuge, repeated(" ".repeat(MiB), 64));
      await put(keys.good, [row(hb, { fuel: 1 }), row(hb + 1, { fuel: 2 })]);
      await put(keys.otherPartition, [row(hb, {})]);

      await eventually("both partitions to be compacted with every file handled", async () => {
        const files = [
          ...(await h.runtime.store.readPartition(partition)).files,
          ...(await h.runtime.store.readPartition(other)).files,
        ];
        const settled = files.filter((f) => f.status === "compacted" || f.status === "quarantined");
        return settled.length === Object.keys(keys).length ? files : undefined;
      });
    } finally {
      await worker.stop();
    }

    const { files } = await h.runtime.store.readPartition(partition);
    const byKey = new Map(files.map((f) => [f.key, f]));
    expect(byKey.get(keys.twins)).toMatchObject({ status: "compacted", rows: 2, badLines: 0 });
    expect(byKey.get(keys.emptyKey)).toMatchObject({ status: "compacted", rows: 2, badLines: 0 });
    expect(byKey.get(keys.good)).toMatchObject({ status: "compacted", rows: 2 });
    expect(byKey.get(keys.hugeLine)).toMatchObject({
      status: "compacted",
      rows: 2,
      badLines: 1,
      badLineReasons: expect.stringMatching(
        /^line 2: longer than the line limit \(67108864 bytes > maxLineBytes 1048576\)/,
      ),
    });
    expect(byKey.get(keys.onlyHuge)).toMatchObject({
      status: "quarantined",
      error: expect.stringMatching(/longer than the line limit/),
    });
    expect((await h.runtime.store.readPartition(other)).files).toMatchObject([
      { key: keys.otherPartition, status: "compacted", rows: 1 },
    ]);

    // Every value is in the lake, each key in its own column.
    const speed = columnNameForField("Speed");
    const upper = columnNameForField("SPEED");
    const empty = columnNameForField("");
    const space = columnNameForField(" ");
    expect(new Set([speed, upper, empty, space, "speed"]).size).toBe(5);
    const twins = await h.queryManifestFiles(
      partition,
      `SELECT heartbeat, speed, "${speed}" AS s, "${upper}" AS u FROM t WHERE source_file = '${keys.twins}' ORDER BY 1`,
    );
    expect(twins).toEqual([
      { heartbeat: hb, speed: 10.5, s: 1, u: 2 },
      { heartbeat: hb + 1, speed: 10.5, s: 3, u: null },
    ]);
    const empties = await h.queryManifestFiles(
      partition,
      `SELECT "${empty}" AS e, "${space}" AS sp FROM t WHERE source_file = '${keys.emptyKey}' ORDER BY 1`,
    );
    expect(empties).toEqual([
      { e: "e1", sp: null },
      { e: "e2", sp: "s" },
    ]);
    // The key → column mapping is queryable from the generation history.
    const histories = outcomes
      .filter((o) => o.status === "committed" && partitionLabel(o.partition) === partitionLabel(partition))
      .map((o) => o.history);
    expect(histories.flatMap((g) => g?.renamedFields ?? [])).toEqual(
      expect.arrayContaining([
        { field: "Speed", column: speed },
        { field: "SPEED", column: upper },
        { field: "", column: empty },
      ]),
    );
    expect(histories.flatMap((g) => g?.unstoredFields ?? [])).toEqual([]);
  });

  it("keeps compacting other partitions while one partition's job is stuck", async () => {
    const hour = Math.floor(hoursAgo(5) / 3_600_000) * 3_600_000;
    const hb = Math.floor(hour / 1000);
    const slowKey = keyOf("SLOW", "DEV01", hour);
    const fastKey = keyOf("FAST", "DEV01", hour);
    const slow = partitionOfKey(slowKey);
    const fast = partitionOfKey(fastKey);

    // The first job to stage its output waits until the test lets it go, which it does
    // only once another partition has committed: with one job at a time on the worker that
    // never happens and the test times out.
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held = false;
    const outcomes: CompactionOutcome[] = [];
    const warnings: { msg: string; partition?: string; stage?: string }[] = [];
    const log = createLogger({ level: "warn", sink: (line) => warnings.push(JSON.parse(line)) });
    const worker = startWorker(
      {
        at: async (point) => {
          if (point !== "afterStage" || held) return;
          held = true;
          await released;
        },
      },
      (o) => outcomes.push(o),
      log,
    );
    try {
      await put(slowKey, [row(hb, {})]);
      await eventually("the slow partition's job to be held", async () => (held ? true : undefined));
      await put(fastKey, [row(hb, {})]);
      await eventually("the other partition to commit meanwhile", async () =>
        outcomes.some((o) => o.status === "committed" && partitionLabel(o.partition) === partitionLabel(fast))
          ? true
          : undefined,
      );
      // The held job says which partition is slow and where it is (a line per lease period).
      await eventually("a log line naming the slow partition", async () =>
        warnings.find((w) => w.msg === "compaction still running" && w.partition === partitionLabel(slow)),
      );
      release();
      await eventually("the held partition to commit too", async () =>
        outcomes.some((o) => o.status === "committed" && partitionLabel(o.partition) === partitionLabel(slow))
          ? true
          : undefined,
      );
    } finally {
      release();
      await worker.stop();
    }
    expect(warnings.find((w) => w.msg === "compaction still running")).toMatchObject({
      partition: partitionLabel(slow),
      stage: "commit",
    });
    const committed = outcomes
      .filter((o) => o.status === "committed")
      .map((o) => partitionLabel(o.partition));
    // The partition uploaded second committed first: it did not wait behind the held one.
    expect(committed[0]).toBe(partitionLabel(fast));
  });
});
