import { readdirSync } from "node:fs";
import { basename } from "node:path";
import type { CompactionEngine } from "@compacter/core";
import { createDuckDbEngine } from "@compacter/duckdb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fleet, job, queryParquet, Workspace } from "./fixtures.js";

let ws: Workspace;
let engine: CompactionEngine;

beforeAll(() => {
  ws = new Workspace();
  engine = createDuckDbEngine();
});

afterAll(async () => {
  await engine.close();
  ws.remove();
});

/** Every row of the files, in file order, with the columns that tell rows apart. */
async function rowsInOrder(files: readonly string[]) {
  return queryParquet(
    files,
    `SELECT device_id, epoch_us(event_time)::VARCHAR AS us, source_file, speed, rpm
     FROM read_parquet($files, filename = true, file_row_number = true)
     ORDER BY filename, file_row_number`,
  );
}

async function rowGroups(file: string): Promise<number> {
  const [row] = await queryParquet(
    [file],
    "SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata($files)",
  );
  return Number(row?.n);
}

describe("ordered parts", () => {
  it("writes a raw-only sorted job as device parts on every thread: the same rows, in the same order, as one ordered read", async () => {
    const inputs = fleet(ws, 6, 3, 200, "P");
    const base = job(ws, { raw: inputs, sort: true });
    const oneThread = await engine.compact({ ...base, limits: { ...base.limits, threads: 1 } });
    const twoThreads = await engine.compact({ ...job(ws, { raw: inputs, sort: true }) });

    expect(twoThreads.rowsOut).toBe(6 * 3 * 200);
    expect(twoThreads.outputs).toHaveLength(1);
    const parted = await rowsInOrder(twoThreads.outputs.map((o) => o.localPath));
    expect(parted).toHaveLength(6 * 3 * 200);
    expect(parted).toEqual(await rowsInOrder(oneThread.outputs.map((o) => o.localPath)));
    // One row group per part, joined: each thread wrote its own device range.
    expect(await rowGroups(oneThread.outputs[0]!.localPath)).toBe(1);
    expect(await rowGroups(twoThreads.outputs[0]!.localPath)).toBe(2);
    // The first part holds the first devices: the row groups are device ranges in order.
    const ranges = await queryParquet(
      [twoThreads.outputs[0]!.localPath],
      `SELECT row_group_id, stats_min_value AS lo, stats_max_value AS hi FROM parquet_metadata($files)
       WHERE path_in_schema = 'device_id' ORDER BY row_group_id`,
    );
    expect(ranges.map((r) => [r.lo, r.hi])).toEqual([
      ["P000", "P002"],
      ["P003", "P005"],
    ]);
  });

  it("writes a job whose device part would exceed maxFileBytes as one read, split by rows, still in order", async () => {
    // Two devices, so at most two parts of one device each: each is half the output, over
    // maxFileBytes, so the parts are dropped and the job is written as one read.
    const inputs = fleet(ws, 2, 2, 3000, "P");
    const whole = await engine.compact(job(ws, { raw: inputs, sort: true }));
    expect(whole.outputs).toHaveLength(1);
    const outputDir = ws.outputDir();
    const maxFileBytes = Math.floor(whole.outputs[0]!.bytes / 3);
    const split = await engine.compact(job(ws, { raw: inputs, sort: true, maxFileBytes, outputDir }));
    // Split by rows (writeOutputs.ts writeSplit): not at the parts' device boundary.
    expect(split.outputs.length).toBeGreaterThanOrEqual(3);
    for (const output of split.outputs) expect(output.bytes).toBeLessThanOrEqual(maxFileBytes);
    const rows = await rowsInOrder(split.outputs.map((o) => o.localPath));
    expect(rows).toEqual(await rowsInOrder(whole.outputs.map((o) => o.localPath)));
    // Only the job's files are left: no part of the dropped attempt.
    expect(readdirSync(outputDir).sort()).toEqual(split.outputs.map((o) => basename(o.localPath)).sort());
  });
});
