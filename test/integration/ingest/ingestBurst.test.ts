import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { DeadLetters, DynamoManifestStore, IngestConsumer } from "@compacter/aws";
import { createLogger, formatRawKey, HOUR_MS, mapLimit, parseRawKey } from "@compacter/core";
import { buildEventRecord, type LocalResources, S3_EVENT_NAME } from "@compacter/local";
import { beforeAll, describe, expect, it } from "vitest";
import { useLocalStack } from "../../helpers/localStack.js";

const stack = useLocalStack();
const CLI = fileURLToPath(new URL("../../../packages/cli/bin/compacter.js", import.meta.url));
const run = promisify(execFile);

const NOTIFICATIONS = 5_000;
const DISTRICTS = ["BRCB", "KLTA"] as const;
const HOURS = 24;
/** 12:00 +08:00: the 24 hours span two partition days, so the burst hits 4 partitions. */
const FIRST_HOUR_MS = Date.parse("2025-12-11T04:00:00.000Z");

interface Expected {
  pending: number;
  late: number;
}

let resources: LocalResources;
let store: DynamoManifestStore;
const expected = new Map<string, Expected>();
let throughput = 0;

beforeAll(async () => {
  resources = await stack.createResources("burst");
  store = new DynamoManifestStore({ client: stack.clients.dynamodb, tableName: resources.manifestTable });
  const config = stack.config(resources, { pollWaitMs: "1s" });

  const bodies: string[] = [];
  for (let i = 0; i < NOTIFICATIONS; i++) {
    const district = DISTRICTS[i % 2] ?? "BRCB";
    const hourStartMs = FIRST_HOUR_MS + (Math.floor(i / 2) % HOURS) * HOUR_MS;
    const deviceId = `SLS30I${String(Math.floor(i / (2 * HOURS))).padStart(3, "0")}`;
    const key = formatRawKey({ district, deviceId, hourStartMs }, config);
    // Every tenth file is uploaded three hours after its hour: after the window closed.
    const late = i % 10 === 0;
    const eventTime = new Date(hourStartMs + (late ? 3 * HOUR_MS : 30 * 60_000));
    const record = buildEventRecord(
      {
        bucket: resources.rawBucket,
        key,
        eventName: S3_EVENT_NAME.put,
        size: 1000 + i,
        eTag: `"${i.toString(16).padStart(32, "0")}"`,
        sequencer: (0x1000 + i).toString(16).toUpperCase().padStart(18, "0"),
        eventTime,
      },
      { principalId: "AWS:DEVICE", sourceIPAddress: "127.0.0.1", requestId: `r${i}`, hostId: "h" },
      "compacter-ingest",
      stack.region,
    );
    bodies.push(JSON.stringify({ Records: [record] }));
    const parsed = parseRawKey(key, config);
    if (!parsed.ok) throw new Error(parsed.reason);
    const label = `${parsed.value.partition.day}/${district}`;
    const counts = expected.get(label) ?? { pending: 0, late: 0 };
    counts.pending += 1;
    if (late) counts.late += 1;
    expected.set(label, counts);
  }
  const batches = Array.from({ length: Math.ceil(bodies.length / 10) }, (_, b) =>
    bodies.slice(b * 10, b * 10 + 10),
  );
  await mapLimit(batches, 16, (batch) =>
    stack.clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: resources.ingestQueueUrl,
        Entries: batch.map((body, j) => ({ Id: String(j), MessageBody: body })),
      }),
    ),
  );

  const log = createLogger({ level: "warn" });
  const consumer = new IngestConsumer({
    sqs: stack.clients.sqs,
    queueUrl: resources.ingestQueueUrl,
    ingest: { store, config, log },
    deadLetters: new DeadLetters(stack.clients.sqs, { dlqUrl: resources.ingestDlqUrl }, log),
  });
  const started = performance.now();
  consumer.start();
  const registered = () => consumer.stats().records.registered ?? 0;
  const deadline = Date.now() + 110_000;
  while (registered() < NOTIFICATIONS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const seconds = (performance.now() - started) / 1000;
  await consumer.stop();
  throughput = Math.round(NOTIFICATIONS / seconds);
  // A measurement for the report, not an assertion.
  console.info(
    `ingest throughput: ${NOTIFICATIONS} notifications in ${seconds.toFixed(2)} s = ${throughput}/s ` +
      `(${config.ingestConcurrency} receive loops, local stack)`,
  );
  expect(consumer.stats()).toMatchObject({ deadLettered: 0, retried: 0 });
  expect(registered()).toBe(NOTIFICATIONS);
});

describe("a burst of 5,000 notifications over 2 districts × 24 hours", () => {
  it("leaves exact counts per partition in the manifest", async () => {
    expect([...expected.keys()].sort()).toEqual([
      "2025-12-11/BRCB",
      "2025-12-11/KLTA",
      "2025-12-12/BRCB",
      "2025-12-12/KLTA",
    ]);
    for (const [label, counts] of expected) {
      const [day = "", district = ""] = label.split("/");
      const files = await store.listFiles({ day, district });
      expect(files, label).toHaveLength(counts.pending);
      expect(
        files.filter((f) => f.status === "pending"),
        label,
      ).toHaveLength(counts.pending);
      expect(
        files.filter((f) => f.late),
        label,
      ).toHaveLength(counts.late);
      expect(new Set(files.map((f) => f.hourKey)).size, label).toBe(12);
    }
    const ofDay = await store.listPartitionsOfDay("2025-12-11");
    expect(ofDay.map((p) => p.partition.district).sort()).toEqual(["BRCB", "KLTA"]);
  });

  it("reports the same counts in `compacter status --json`", async () => {
    const { stdout } = await run(process.execPath, [CLI, "status", "--json"], {
      env: { ...process.env, ...stack.env(resources), COMPACTER_LOG_LEVEL: "warn" },
      maxBuffer: 16 * 2 ** 20,
    });
    const status = JSON.parse(stdout);
    const byPartition = Object.fromEntries(
      status.partitions.map((p: { day: string; district: string; pending: number; late: number }) => [
        `${p.day}/${p.district}`,
        { pending: p.pending, late: p.late },
      ]),
    );
    expect(byPartition).toEqual(Object.fromEntries(expected));
    expect(status.counts).toEqual({
      pending: NOTIFICATIONS,
      late: NOTIFICATIONS / 10,
      removed: 0,
      quarantined: 0,
      rejected: 0,
    });
    // Every hour of 2025 is long past: all four partitions are due now.
    expect(status.partitionsDueNow).toBe(4);
    expect(status.oldestPending.arrivedAt).toBe("2025-12-11T04:30:00.000Z");
    // Nothing compacted yet: the lake is as far behind as the first on-time file's window
    // (04:00–05:00 UTC, closed at 06:00 with the default closeAfter of 60 min).
    expect(status.lakeFreshness).toEqual({
      oldestDueAt: "2025-12-11T06:00:00.000Z",
      ageMs: Date.parse(status.now) - Date.parse("2025-12-11T06:00:00.000Z"),
      overdueFiles: NOTIFICATIONS,
    });
    expect(status.queues.ingest).toMatchObject({ configured: true, visible: 0, inFlight: 0 });
    expect(status.queues.ingestDlq).toMatchObject({ configured: true, visible: 0 });
    expect(status.queues.compaction).toMatchObject({ configured: true, visible: 0 });
    expect(status.queues.compactionDlq).toMatchObject({ configured: true, visible: 0 });
    expect(throughput).toBeGreaterThan(0);
  });
});
