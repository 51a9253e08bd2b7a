import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { CompactionEngine, EngineStage, RawInput } from "@compacter/core";
import { createDuckDbEngine } from "@compacter/duckdb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fleet as fleetOf, hourOfLines, job, line, queryParquet, rawInput, Workspace } from "./fixtures.js";

const HOUR = 1765472400;

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

/** Devices × hours of raw files, out of order (fixtures.ts). */
function fleet(devices: number, hours: number, rows: number, prefix = "F"): RawInput[] {
  return fleetOf(ws, devices, hours, rows, prefix);
}

/** Every output row in file order, as the lake would be read file by file. */
async function rowsInFileOrder(files: readonly string[]) {
  const all: { device_id: string; us: bigint | null }[] = [];
  for (const file of files) {
    const rows = await queryParquet(
      [file],
      "SELECT device_id, epoch_us(event_time) AS us FROM read_parquet($files[1])",
    );
    all.push(...(rows as { device_id: string; us: bigint | null }[]));
  }
  return all;
}

function expectSorted(rows: readonly { device_id: string; us: bigint | null }[]): void {
  for (let i = 1; i < rows.length; i++) {
    const a = rows[i - 1]!;
    const b = rows[i]!;
    const ordered =
      a.device_id < b.device_id ||
      (a.device_id === b.device_id && (b.us === null || (a.us !== null && a.us <= b.us)));
    if (!ordered)
      throw new Error(`rows ${i - 1} and ${i} are out of order: ${JSON.stringify([a, b], replacer)}`);
  }
}

function directoryBytes(dir: string): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry);
    try {
      const info = statSync(path);
      total += info.isDirectory() ? directoryBytes(path) : info.size;
    } catch {
      // A spill file can disappear between readdir and stat.
    }
  }
  return total;
}

function replacer(_key: string, value: unknown) {
  return typeof value === "bigint" ? value.toString() : value;
}

describe("output", () => {
  it("orders rows by device_id, event_time when asked", async () => {
    const result = await engine.compact(job(ws, { raw: fleet(4, 3, 100), sort: true }));
    expect(result.rowsOut).toBe(1200);
    const rows = await rowsInFileOrder(result.outputs.map((o) => o.localPath));
    expect(rows).toHaveLength(1200);
    expectSorted(rows);
  });

  it("keeps every row, and the order, when some files are read from plain copies and some from gzip", async () => {
    // The plain-copy budget (inflate once) covers only some files; the rest are read from
    // their gzip, one with a bad line from a cleaned copy. All of them in one read, in order.
    const inputs = fleet(3, 2, 40, "M");
    const bad = [...hourOfLines("M009", HOUR, 40)];
    bad.splice(5, 0, '{"device": "M009", "heartbeat": ');
    inputs.push(rawInput(ws.rawFile("M009-bad.txt.gz", bad), "M009", "2025121201"));
    const someCopies = statSync(inputs[0]!.localPath).size * 20 * 3;
    for (const plainCopyBytes of [someCopies, 0]) {
      const base = job(ws, { raw: inputs, sort: true });
      const result = await engine.compact({ ...base, limits: { ...base.limits, plainCopyBytes } });
      expect(result.rowsOut).toBe(3 * 2 * 40 + 40);
      const bad9 = result.files.find((f) => f.key.includes("M009"));
      expect(bad9).toMatchObject({ outcome: "read", rows: 40, badLines: 1 });
      const rows = await rowsInFileOrder(result.outputs.map((o) => o.localPath));
      expect(rows).toHaveLength(result.rowsOut);
      expectSorted(rows);
    }
  });

  it("orders a sorted job whose files are in device order but whose rows are not in time order", async () => {
    // In-order files are written as read, then checked; these rows fail the check
    // (a reversed hour, a NULL heartbeat before valid ones), so the job sorts after all.
    const inputs = fleet(3, 2, 50, "O");
    const reversed = hourOfLines("O001", HOUR + 7200, 50).reverse();
    reversed.splice(10, 0, line("O001", null));
    inputs.push(rawInput(ws.rawFile("O001-late.txt.gz", reversed), "O001", "2025121203"));
    const result = await engine.compact(job(ws, { raw: inputs, sort: true }));
    expect(result.rowsOut).toBe(3 * 2 * 50 + 51);
    const rows = await rowsInFileOrder(result.outputs.map((o) => o.localPath));
    expect(rows).toHaveLength(result.rowsOut);
    expectSorted(rows);
  });

  it("splits output above maxFileBytes into files that stay globally ordered and add up", async () => {
    const inputs = fleet(6, 2, 400, "S");
    const whole = await engine.compact(job(ws, { raw: inputs }));
    expect(whole.outputs).toHaveLength(1);
    const maxFileBytes = Math.floor(whole.outputs[0]!.bytes / 4);
    const split = await engine.compact(job(ws, { raw: inputs, maxFileBytes }));
    expect(split.outputs.length).toBeGreaterThanOrEqual(3);
    expect(split.outputs.reduce((n, o) => n + o.rows, 0)).toBe(4800);
    expect(split.rowsOut).toBe(4800);
    for (const output of split.outputs) {
      const counted = await queryParquet(
        [output.localPath],
        "SELECT count(*)::INTEGER AS n FROM read_parquet($files[1])",
      );
      expect(counted[0]!.n).toBe(output.rows);
      expect(output.bytes).toBe(statSync(output.localPath).size);
      expect(output.bytes).toBeLessThanOrEqual(maxFileBytes);
    }
    expectSorted(await rowsInFileOrder(split.outputs.map((o) => o.localPath)));
    // Nothing but the reported files is left in the output directory.
    const dir = split.outputs[0]!.localPath.replace(/\/[^/]+$/, "");
    expect(readdirSync(dir).sort()).toEqual(
      split.outputs.map((o) => o.localPath.slice(dir.length + 1)).sort(),
    );
  });

  it("merges: drops exactly the rows of dropSources, keeps the rest, adds the new raw rows", async () => {
    const day = fleet(3, 2, 50, "M");
    const first = await engine.compact(job(ws, { raw: day, sort: false }));
    expect(first.rowsOut).toBe(300);
    const lake = first.outputs.map((o, i) => ({ lakeKey: `lake/data_${i}.parquet`, localPath: o.localPath }));
    const removed = day[0]!.key;
    const replaced = day[1]!;
    const rewritten = rawInput(
      ws.rawFile("replaced-v2.txt.gz", hourOfLines(replaced.deviceId, HOUR + 7200, 20)),
      replaced.deviceId,
    );
    const replacement = { ...rewritten, key: replaced.key, eTag: "v2" };
    const late = rawInput(ws.rawFile("late.txt.gz", hourOfLines("M009", HOUR, 30)), "M009", "2025121203");
    const merged = await engine.compact(
      job(ws, { lake, raw: [replacement, late], dropSources: [removed, replaced.key], sort: true }),
    );
    expect(merged.rowsFromLake).toBe(300);
    expect(merged.rowsDropped).toBe(100);
    expect(merged.rowsOut).toBe(300 - 100 + 20 + 30);
    const counts = await queryParquet(
      merged.outputs.map((o) => o.localPath),
      "SELECT source_file, count(*)::INTEGER AS n FROM {files} GROUP BY 1",
    );
    const bySource = Object.fromEntries(counts.map((r) => [String(r.source_file), Number(r.n)]));
    const expected: Record<string, number> = {};
    for (const input of day.slice(2)) expected[input.key] = 50;
    expected[replaced.key] = 20;
    expected[late.key] = 30;
    expect(bySource).toEqual(expected);
    expectSorted(await rowsInFileOrder(merged.outputs.map((o) => o.localPath)));
  });

  it("merges lake files alone: a removed source's rows go, nothing else changes", async () => {
    const day = fleet(2, 1, 25, "L");
    const first = await engine.compact(job(ws, { raw: day, sort: false }));
    const merged = await engine.compact(
      job(ws, {
        lake: first.outputs.map((o) => ({ lakeKey: "l", localPath: o.localPath })),
        dropSources: [day[0]!.key, "BRCB/NOPE/2025121201/2025121201.txt.gz"],
      }),
    );
    expect(merged).toMatchObject({ rowsFromLake: 50, rowsDropped: 25, rowsOut: 25, files: [] });
    const sources = await queryParquet(
      merged.outputs.map((o) => o.localPath),
      "SELECT DISTINCT source_file FROM {files}",
    );
    expect(sources).toEqual([{ source_file: day[1]!.key }]);
    expectSorted(await rowsInFileOrder(merged.outputs.map((o) => o.localPath)));
  });

  it("never duplicates a raw key that is compacted again, even if dropSources forgets it", async () => {
    const input = rawInput(ws.rawFile("again.txt.gz", hourOfLines("R001", HOUR, 40)), "R001");
    const first = await engine.compact(job(ws, { raw: [input] }));
    const again = await engine.compact(
      job(ws, { raw: [input], lake: first.outputs.map((o) => ({ lakeKey: "l", localPath: o.localPath })) }),
    );
    expect(again.rowsDropped).toBe(40);
    expect(again.rowsOut).toBe(40);
  });

  it("writes unsorted output for appends when asked and still counts every row", async () => {
    const result = await engine.compact(job(ws, { raw: fleet(3, 1, 100, "U"), sort: false }));
    expect(result.rowsOut).toBe(300);
    expect(result.files.every((f) => f.outcome === "read" && f.rows === 100)).toBe(true);
  });

  it("writes nothing for a job without readable rows", async () => {
    const outputDir = ws.outputDir();
    const result = await engine.compact(
      job(ws, { outputDir, raw: [rawInput(ws.bytesFile("zero.txt.gz", ""), "Z001")] }),
    );
    expect(result.outputs).toEqual([]);
    expect(result.rowsOut).toBe(0);
    expect(readdirSync(outputDir)).toEqual([]);
  });

  it("reports its stages in order", async () => {
    const stages: EngineStage[] = [];
    await engine.compact(job(ws, { raw: fleet(2, 1, 50, "S"), onStage: (stage) => stages.push(stage) }));
    expect(stages).toEqual(["inspect", "clean", "plan", "write", "stats"]);
  });

  // The lease can be lost at any moment; aborting as a stage begins pins each moment down
  // without racing a timer against the machine's speed. At "stats" the Parquet is already
  // written, so this also proves the engine removes what it wrote.
  it.each<EngineStage>(["inspect", "clean", "plan", "write", "stats"])(
    "stops and throws when the job's signal fires at %s, leaving the output directory empty",
    async (abortAt) => {
      const controller = new AbortController();
      const outputDir = ws.outputDir();
      const reason = new Error("lease lost");
      const running = engine.compact(
        job(ws, {
          outputDir,
          raw: fleet(4, 2, 300, "A"),
          signal: controller.signal,
          onStage: (stage) => {
            if (stage === abortAt) controller.abort(reason);
          },
        }),
      );
      await expect(running).rejects.toBe(reason);
      expect(readdirSync(outputDir)).toEqual([]);
      // The engine still works afterwards.
      const after = await engine.compact(job(ws, { raw: fleet(1, 1, 10, "B") }));
      expect(after.rowsOut).toBe(10);
    },
  );
});

describe("memory", () => {
  it("completes a sorted job larger than memoryLimit on temp disk, in order", async () => {
    const small = createDuckDbEngine();
    try {
      // Telemetry-shaped rows (126 fields): 360k rows outgrow one in-memory sort at 512 MiB,
      // so the job must use its temp dir (asserted below by watching it): sorted runs, or
      // DuckDB's spill. (DuckDB 1.5.6's own sort runs out of memory at 256 MiB even for a
      // bare ORDER BY over these files: see the engine's report.)
      const inputs: RawInput[] = [];
      for (let d = 0; d < 90; d++) {
        const device = `W${String(d).padStart(3, "0")}`;
        const lines = hourOfLines(device, HOUR, 4000).map((l, i) => {
          const row = JSON.parse(l) as Record<string, unknown>;
          for (let f = 0; f < 120; f++) row[`s${f}`] = Math.round((d * 7 + f + i / 1000) * 100) / 100;
          return JSON.stringify(row);
        });
        // Newest line first: raw files already in time order are written without a sort
        // (the engine reads them in order and checks it), and this test is about the sort.
        lines.reverse();
        inputs.push(rawInput(ws.rawFile(`${device}-wide.txt.gz`, lines, 1), device));
      }
      const limits = {
        memoryLimitBytes: 512 * 2 ** 20,
        threads: 2,
        tempDir: ws.path("tmp-small"),
        zstdLevel: 3,
      };
      // Watch DuckDB's spill files appear in the engine's temp dir while the job runs.
      let spilled = 0;
      const poll = setInterval(() => {
        spilled = Math.max(spilled, directoryBytes(limits.tempDir));
      }, 50);
      const result = await small.compact(job(ws, { raw: inputs, limits })).finally(() => clearInterval(poll));
      expect(result.rowsOut).toBe(360_000);
      console.log(`spilled up to ${Math.round(spilled / 2 ** 20)} MiB`);
      expect(spilled).toBeGreaterThan(32 * 2 ** 20);
      expect(existsSync(result.outputs[0]!.localPath)).toBe(true);
      // In order across the files, checked inside DuckDB (360k rows are slow to compare in JS).
      const disorder = await queryParquet(
        result.outputs.map((o) => o.localPath),
        `SELECT count(*)::INTEGER AS n FROM (
           SELECT device_id, event_time, lag(device_id) OVER w AS pd, lag(event_time) OVER w AS pt
           FROM read_parquet($files, filename = true, file_row_number = true)
           WINDOW w AS (ORDER BY filename, file_row_number))
         WHERE pd > device_id OR (pd = device_id AND pt > event_time)`,
      );
      expect(disorder[0]!.n).toBe(0);
    } finally {
      await small.close();
    }
  });
});

describe("sorted runs", () => {
  /** A day appended unsorted, then merged with late raw files: the merge must sort. */
  async function mergeJob(overrides: { sortRunRows?: number; maxFileBytes?: number }) {
    const day = fleet(7, 2, 60, "R");
    const appended = await engine.compact(job(ws, { raw: day, sort: false }));
    const lake = appended.outputs.map((o, i) => ({ lakeKey: `lake/r_${i}.parquet`, localPath: o.localPath }));
    // Late files land in the middle of the device order, with rows older than the lake's.
    const late = ["R003", "R005"].map((device) =>
      rawInput(
        ws.rawFile(`${device}-late.txt.gz`, hourOfLines(device, HOUR - 600, 40)),
        device,
        "2025121203",
      ),
    );
    const base = job(ws, {
      lake,
      raw: late,
      sort: true,
      ...(overrides.maxFileBytes ? { maxFileBytes: overrides.maxFileBytes } : {}),
    });
    return engine.compact({
      ...base,
      limits: { ...base.limits, ...(overrides.sortRunRows ? { sortRunRows: overrides.sortRunRows } : {}) },
    });
  }

  it("sorts a merge bigger than one in-memory sort device range by device range, into the same rows in order", async () => {
    const inMemory = await mergeJob({});
    const inRuns = await mergeJob({ sortRunRows: 150 });
    expect(inRuns.rowsOut).toBe(7 * 2 * 60 + 80);
    expect(inRuns.rowsOut).toBe(inMemory.rowsOut);
    // Runs of ~150 rows over 7 devices are joined into one file: the default maxFileBytes holds them all.
    expect(inRuns.outputs).toHaveLength(1);
    const rows = await rowsInFileOrder(inRuns.outputs.map((o) => o.localPath));
    expect(rows).toHaveLength(inRuns.rowsOut);
    expectSorted(rows);
    expect(rows).toEqual(await rowsInFileOrder(inMemory.outputs.map((o) => o.localPath)));
    const groups = await queryParquet(
      inRuns.outputs.map((o) => o.localPath),
      "SELECT count(DISTINCT row_group_id)::INTEGER AS n FROM parquet_metadata($files[1])",
    );
    expect(groups[0]!.n).toBeGreaterThan(1); // one per sorted run at least
  });

  it("cuts the joined runs into files of at most maxFileBytes, each a contiguous device range", async () => {
    const whole = await mergeJob({ sortRunRows: 150 });
    const maxFileBytes = Math.floor(whole.outputs[0]!.bytes / 3);
    const split = await mergeJob({ sortRunRows: 150, maxFileBytes });
    expect(split.outputs.length).toBeGreaterThanOrEqual(3);
    expect(split.outputs.reduce((n, o) => n + o.rows, 0)).toBe(whole.rowsOut);
    for (const output of split.outputs) expect(output.bytes).toBeLessThanOrEqual(maxFileBytes);
    expectSorted(await rowsInFileOrder(split.outputs.map((o) => o.localPath)));
    // Only the reported files are left in the output directory.
    const dir = split.outputs[0]!.localPath.replace(/\/[^/]+$/, "");
    expect(readdirSync(dir).sort()).toEqual(
      split.outputs.map((o) => o.localPath.slice(dir.length + 1)).sort(),
    );
  });
});
