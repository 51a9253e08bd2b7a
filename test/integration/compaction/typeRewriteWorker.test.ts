import { Readable } from "node:stream";
import { createGzip } from "node:zlib";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import {
  type CompactionOutcome,
  formatRawKey,
  type PartitionId,
  parseRawKey,
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
 * Zero touch: on a long-running worker (`compacter run`'s roles in one process), a widening
 * on day 2 makes the worker's own sweep send day 1 back for a merge, and day 1 ends with the
 * ledger's type — nobody calls anything.
 */
const stack = useLocalStack();
let h: CompactionHarness;
beforeAll(async () => {
  h = await createCompactionHarness(stack, "type-rewrite-worker", {
    sweepIntervalMs: "300ms",
    pollWaitMs: "1s",
    visibilityTimeoutMs: "30s",
    typeRewritesPerSweep: "1",
  });
});
afterAll(() => h.close());

async function put(deviceId: string, hourStartMs: number, loads: number[]): Promise<PartitionId> {
  const key = formatRawKey({ district: "BRCB", deviceId, hourStartMs }, h.config);
  const lines = loads.map((load, i) => `${JSON.stringify({ heartbeat: hourStartMs / 1000 + i, load })}\n`);
  const chunks: Buffer[] = [];
  for await (const chunk of Readable.from(lines).pipe(createGzip())) chunks.push(chunk as Buffer);
  await stack.clients.s3.send(
    new PutObjectCommand({ Bucket: h.config.rawBucket, Key: key, Body: Buffer.concat(chunks) }),
  );
  const parsed = parseRawKey(key, h.config);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value.partition;
}

describe("background type rewrites on a long-running worker", () => {
  it("rewrites the narrower day by itself after a widening", async () => {
    const outcomes: CompactionOutcome[] = [];
    const runtime = createRuntime(h.config, {
      clients: stack.clients,
      log: silentLogger,
      faults: { at: async () => {} },
    });
    const worker = new Worker(runtime, createDuckDbEngine({ slots: 1 }), {
      onOutcome: (o) => outcomes.push(o),
    });
    worker.start();
    try {
      const day1 = await put("D1", hoursAgo(48), [1, 2, 3]);
      await eventually("day 1 compacted", async () =>
        (await h.runtime.store.getPartition(day1))?.narrowColumns?.load === "INTEGER" ? true : undefined,
      );
      const day2 = await put("D1", hoursAgo(24), [0.5]);
      await eventually("day 2 compacted and day 1 rewritten", async () => {
        const [one, two] = await Promise.all([
          h.runtime.store.getPartition(day1),
          h.runtime.store.getPartition(day2),
        ]);
        return one?.narrowColumns && !("load" in one.narrowColumns) && two?.generation ? true : undefined;
      });
      const rewrite = outcomes.find(
        (o) => o.partition.day === day1.day && o.status === "committed" && o.reason === "merge requested",
      );
      expect(rewrite).toBeDefined();
      const [row] = await h.queryManifestFiles<{ t: string; total: number; n: number }>(
        day1,
        "SELECT typeof(load) AS t, sum(load) AS total, count(*)::INTEGER AS n FROM t GROUP BY ALL",
      );
      expect(row).toEqual({ t: "DOUBLE", total: 6, n: 3 });
    } finally {
      await worker.stop();
    }
  });
});
