import { isUtf8 } from "node:buffer";
import * as fs from "node:fs";
import { createWriteStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";
import type { CompactionEngine, RawFileOutcome } from "@compacter/core";
import { createDuckDbEngine } from "@compacter/duckdb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scanRawFile } from "../../../packages/duckdb/src/inspect/scanRawFile.js";
import { hourOfLines, job, queryParquet, rawInput, Workspace } from "./fixtures.js";

const HOUR = 1765472400;
const MiB = 2 ** 20;
// The production bounds are 4 MiB per line and 1 GiB inflated per file; the test shrinks
// them so a 64 MiB line and a 64 MiB bomb stay quick.
const BOUNDS = { maxLineBytes: 1 * MiB, maxInflatedBytes: 96 * MiB };

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

/** A gzip file of `parts`, streamed (a 64 MiB line is never one string in the test either). */
async function gzipParts(name: string, parts: Iterable<string | Buffer>): Promise<string> {
  const path = ws.path("raw", name);
  fs.mkdirSync(ws.path("raw"), { recursive: true });
  await pipeline(Readable.from(parts), zlib.createGzip({ level: 1 }), createWriteStream(path));
  return path;
}

function* repeated(text: string, times: number): Generator<string> {
  for (let i = 0; i < times; i++) yield text;
}

function outcome(files: readonly RawFileOutcome[], key: string): RawFileOutcome {
  const found = files.find((f) => f.key === key);
  if (!found) throw new Error(`no outcome for ${key}`);
  return found;
}

describe("hostile sizes", () => {
  it("skips a line over maxLineBytes as a bad line with its reason, keeping the lines around it", async () => {
    const good = hourOfLines("DEV300", HOUR, 4);
    const path = await gzipParts("long-line.txt.gz", [
      `${good[0]}\n${good[1]}\n`,
      '{"heartbeat":1765472402,"blob":"',
      ...repeated("a".repeat(MiB), 64),
      '"}\n',
      `${good[2]}\n${good[3]}\n`,
    ]);
    const input = rawInput(path, "DEV300");
    const other = rawInput(ws.rawFile("ok.txt.gz", hourOfLines("DEV301", HOUR, 3)), "DEV301");
    const result = await engine.compact(
      job(ws, { raw: [input, other], limits: { ...job(ws).limits, ...BOUNDS } }),
    );
    const o = outcome(result.files, input.key);
    expect(o).toMatchObject({ outcome: "read", rows: 4, badLines: 1 });
    expect(o.outcome === "read" && o.badLineSamples).toEqual([
      {
        line: 3,
        reason: expect.stringMatching(
          /^longer than the line limit \(67108898 bytes > maxLineBytes 1048576\)/,
        ),
      },
    ]);
    const rows = await queryParquet(
      result.outputs.map((x) => x.localPath),
      "SELECT device_id, count(*)::INTEGER AS n FROM {files} GROUP BY 1 ORDER BY 1",
    );
    expect(rows).toEqual([
      { device_id: "DEV300", n: 4 },
      { device_id: "DEV301", n: 3 },
    ]);
  });

  it("quarantines a file that is one enormous line, and one that inflates past maxInflatedBytes, compacting the rest", async () => {
    const oneLine = rawInput(await gzipParts("one-line.txt.gz", repeated(" ".repeat(MiB), 40)), "DEV310");
    const bomb = rawInput(
      await gzipParts("bomb.txt.gz", [
        `${hourOfLines("DEV311", HOUR, 1)[0]}\n`,
        ...repeated(`${" ".repeat(MiB - 1)}\n`, 128),
      ]),
      "DEV311",
    );
    const good = rawInput(ws.rawFile("good.txt.gz", hourOfLines("DEV312", HOUR, 5)), "DEV312");
    const result = await engine.compact(
      job(ws, { raw: [oneLine, bomb, good], limits: { ...job(ws).limits, ...BOUNDS } }),
    );
    expect(outcome(result.files, oneLine.key)).toMatchObject({
      outcome: "unreadable",
      error: expect.stringMatching(/no line is a JSON object .*longer than the line limit/),
    });
    expect(outcome(result.files, bomb.key)).toMatchObject({
      outcome: "unreadable",
      error: expect.stringMatching(
        /inflates to more than maxInflatedBytes \(100663296 bytes\): likely a gzip bomb/,
      ),
    });
    expect(outcome(result.files, good.key)).toMatchObject({ outcome: "read", rows: 5 });
    expect(result.rowsOut).toBe(5);
  });

  it("gives up the plain copy of a file that inflates far past its estimate, and reads it from gzip", async () => {
    // ~16 MiB of text in ~40 KiB of gzip: its copy is cut off (and deleted) mid-scan, so a
    // bomb-like file cannot fill the temp disk; its rows still all arrive, read from gzip.
    const line = hourOfLines("DEV320", HOUR, 1)[0]!.replace("}", `,"pad":"${" ".repeat(8000)}"}`);
    const dense = rawInput(await gzipParts("dense.txt.gz", repeated(`${line}\n`, 2000)), "DEV320");
    const plain = rawInput(ws.rawFile("plain.txt.gz", hourOfLines("DEV321", HOUR, 7)), "DEV321");
    const result = await engine.compact(job(ws, { raw: [dense, plain], sort: false }));
    expect(outcome(result.files, dense.key)).toMatchObject({ outcome: "read", rows: 2000, badLines: 0 });
    expect(outcome(result.files, plain.key)).toMatchObject({ outcome: "read", rows: 7 });
    expect(result.rowsOut).toBe(2007);
    // The scan itself: past cleanMaxBytes the copy is deleted and the scan goes on.
    const copy = ws.path("dense-copy.ndjson");
    const scan = await scanRawFile(
      dense.localPath,
      { fs, zlib, isUtf8 },
      {},
      { ...BOUNDS, cleanTo: copy, cleanMaxBytes: MiB },
    );
    expect(scan).toMatchObject({ kind: "ok", validLines: 2000 });
    expect(scan.kind === "ok" && scan.textBytes).toBeGreaterThan(MiB);
    expect(fs.existsSync(copy)).toBe(false);
  });

  it("scans a line far over the bound in one linear pass, holding at most the bound", async () => {
    // 256 MiB in one line took the old scanner 102 s (the carry re-joined per chunk);
    // the heap must not hold it either: external memory stays near the bound.
    const path = await gzipParts("huge-line.txt.gz", ['{"a":"', ...repeated("b".repeat(MiB), 256), '"}\n']);
    let peakExternal = 0;
    const timer = setInterval(() => {
      peakExternal = Math.max(peakExternal, process.memoryUsage().arrayBuffers);
    }, 5);
    const before = process.memoryUsage().arrayBuffers;
    try {
      const scan = await scanRawFile(
        path,
        { fs, zlib, isUtf8 },
        {},
        { ...BOUNDS, maxInflatedBytes: 1024 * MiB },
      );
      expect(scan).toMatchObject({
        kind: "unreadable",
        error: expect.stringMatching(/longer than the line limit/),
      });
    } finally {
      clearInterval(timer);
    }
    expect(peakExternal - before).toBeLessThan(64 * MiB);
  });
});
