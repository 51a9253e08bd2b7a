import { gzipSync } from "node:zlib";
import type { CompactionEngine, RawFileOutcome } from "@compacter/core";
import { createDuckDbEngine } from "@compacter/duckdb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hourOfLines, job, line, queryParquet, rawInput, Workspace } from "./fixtures.js";

const HOUR = 1765472400; // 2025-12-11T17:00:00Z = 2025-12-12 01:00 at +08:00

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

function outcome(files: readonly RawFileOutcome[], key: string): RawFileOutcome {
  const found = files.find((f) => f.key === key);
  if (!found) throw new Error(`no outcome for ${key}`);
  return found;
}

async function rowsPerSource(files: readonly string[]): Promise<Record<string, number>> {
  const rows = await queryParquet(
    files,
    "SELECT source_file, count(*)::INTEGER AS n FROM {files} GROUP BY 1",
  );
  return Object.fromEntries(rows.map((r) => [String(r.source_file), Number(r.n)]));
}

describe("raw inputs", () => {
  it("turns every valid line of every file into exactly one row, per source_file", async () => {
    const inputs = [
      rawInput(ws.rawFile("a.txt.gz", hourOfLines("DEV001", HOUR, 300)), "DEV001"),
      rawInput(ws.rawFile("b.txt.gz", hourOfLines("DEV002", HOUR, 250)), "DEV002"),
      rawInput(ws.rawFile("c.txt.gz", hourOfLines("DEV003", HOUR, 1)), "DEV003"),
    ];
    const result = await engine.compact(job(ws, { raw: inputs }));
    expect(result.rowsOut).toBe(551);
    expect(await rowsPerSource(result.outputs.map((o) => o.localPath))).toEqual({
      [inputs[0]!.key]: 300,
      [inputs[1]!.key]: 250,
      [inputs[2]!.key]: 1,
    });
    expect(result.files.map((f) => (f.outcome === "read" ? f.rows : -1))).toEqual([300, 250, 1]);
    expect(result.outputs).toHaveLength(1);
    expect(result.outputs[0]!.rows).toBe(551);
  });

  it("skips bad lines and counts them, losing no valid line next to them", async () => {
    const good = hourOfLines("DEV010", HOUR, 10);
    const lines = [
      good[0]!,
      '{"heartbeat":1765472401,"unitno":"DEV010","speed":', // truncated right after ':'
      good[2]!, // must survive: DuckDB's ignore_errors swallows this one
      '{"heartbeat":1765472403,"unitno":"DEV0', // truncated inside a string
      good[4]!,
      "garbage ~~~ not json",
      good[6]!,
      '{"heartbeat":1,"a":1} {"b":2}', // two objects on one line
      "[1,2,3]", // valid JSON, not an object
      '{"heartbeat":1765472409,"rpm":1,"rpm":2}', // repeated key
      "", // blank: not a line at all
      "   ",
      `${good[8]!}\r`, // CRLF line ending
      '{"heartbeat":1765472410,"speed":tru}', // bad literal inside a well-formed shape
      good[9]!,
    ];
    const input = rawInput(ws.rawFile("bad-lines.txt.gz", lines), "DEV010");
    const other = rawInput(ws.rawFile("clean.txt.gz", hourOfLines("DEV011", HOUR, 5)), "DEV011");
    const result = await engine.compact(job(ws, { raw: [input, other] }));
    const o = outcome(result.files, input.key);
    expect(o).toMatchObject({ outcome: "read", rows: 6, badLines: 7 });
    const heartbeats = await queryParquet(
      result.outputs.map((x) => x.localPath),
      `SELECT heartbeat FROM {files} WHERE source_file = '${input.key}' ORDER BY heartbeat`,
    );
    expect(heartbeats.map((r) => r.heartbeat)).toEqual([0, 2, 4, 6, 8, 9].map((i) => HOUR + i));
    expect(outcome(result.files, other.key)).toMatchObject({ outcome: "read", rows: 5, badLines: 0 });
  });

  it("keeps a file whose first line is cut and whose last line has no newline", async () => {
    const good = hourOfLines("DEV012", HOUR, 3);
    const path = ws.bytesFile(
      "edge.txt.gz",
      gzipSync(`\uFEFF${good[0]!}\n{"heartbeat":\n${good[1]!}\n${good[2]!}`),
    );
    const input = rawInput(path, "DEV012");
    const result = await engine.compact(job(ws, { raw: [input] }));
    expect(outcome(result.files, input.key)).toMatchObject({ outcome: "read", rows: 3, badLines: 1 });
  });

  it("reports files that cannot be read at all and compacts the rest", async () => {
    const full = gzipSync(`${hourOfLines("DEV020", HOUR, 200).join("\n")}\n`);
    const badCrc = Buffer.from(full);
    badCrc[badCrc.length - 8]! ^= 0xff; // CRC32 sits in the trailer's first 4 bytes
    const cases = {
      truncated: ws.bytesFile("truncated.txt.gz", full.subarray(0, Math.floor(full.length / 2))),
      noTrailer: ws.bytesFile("no-trailer.txt.gz", full.subarray(0, full.length - 8)),
      badCrc: ws.bytesFile("bad-crc.txt.gz", badCrc),
      empty: ws.bytesFile("empty.txt.gz", ""),
      plainText: ws.bytesFile("plain.txt.gz", `${hourOfLines("DEV021", HOUR, 3).join("\n")}\n`),
      notJson: ws.rawFile("not-json.txt.gz", ["hello", "world", "<html>"]),
    };
    const inputs = Object.entries(cases).map(([name, path]) => rawInput(path, `BAD${name}`));
    const good = rawInput(ws.rawFile("fine.txt.gz", hourOfLines("DEV022", HOUR, 120)), "DEV022");
    const result = await engine.compact(job(ws, { raw: [...inputs, good] }));

    const errors = Object.fromEntries(
      inputs.map((input) => {
        const o = outcome(result.files, input.key);
        return [input.deviceId, o.outcome === "unreadable" ? o.error : "read"];
      }),
    );
    expect(errors.BADtruncated).toMatch(/truncated/);
    expect(errors.BADnoTrailer).toMatch(/truncated/);
    expect(errors.BADbadCrc).toMatch(/checksum/);
    expect(errors.BADempty).toMatch(/empty \(0 bytes\)/);
    expect(errors.BADplainText).toMatch(/not a gzip file/);
    expect(errors.BADnotJson).toMatch(/no line is a JSON object/);
    expect(outcome(result.files, good.key)).toMatchObject({ outcome: "read", rows: 120 });
    expect(result.rowsOut).toBe(120);
    expect(result.files.map((f) => f.key)).toEqual([...inputs, good].map((i) => i.key));
  });

  it("normalises heartbeats in s, ms and µs to the same event_time and keeps rows with null or absurd ones", async () => {
    const lines = [
      line("DEV030", HOUR),
      line("DEV030", HOUR * 1000 + 1000),
      line("DEV030", HOUR * 1_000_000 + 2_000_000),
      line("DEV030", HOUR + 3.5),
      line("DEV030", null),
      line("DEV030", undefined),
      line("DEV030", "N/A"),
      line("DEV030", 12),
      line("DEV030", -HOUR),
      line("DEV030", HOUR * 1000 * 1000 * 1000),
    ];
    const input = rawInput(ws.rawFile("heartbeats.txt.gz", lines), "DEV030");
    const result = await engine.compact(job(ws, { raw: [input] }));
    expect(outcome(result.files, input.key)).toMatchObject({
      outcome: "read",
      rows: 10,
      nullHeartbeats: 3,
      absurdHeartbeats: 3,
    });
    const times = await queryParquet(
      result.outputs.map((o) => o.localPath),
      "SELECT epoch_us(event_time) AS us FROM {files} WHERE event_time IS NOT NULL ORDER BY us",
    );
    const base = BigInt(HOUR) * 1_000_000n;
    expect(times.map((r) => r.us)).toEqual([base, base + 1_000_000n, base + 2_000_000n, base + 3_500_000n]);
    // The heartbeat column itself keeps what the device sent: it widened to DOUBLE for 3.5.
    expect(result.schema.find((c) => c.name === "heartbeat")?.type).toBe("DOUBLE");
    expect(result.nulledValues).toEqual({ heartbeat: 1 });
  });

  it("keeps keys and paths with quotes, spaces and unicode as plain values", async () => {
    const weird = "it's \"odd\"'); DROP TABLE x; -- é 設備 😀";
    const path = ws.rawFile(`${weird}.txt.gz`, hourOfLines("DEV040", HOUR, 7));
    const key = `BRCB/${weird}/2025121201/2025121201.txt.gz`;
    const result = await engine.compact(
      job(ws, { raw: [{ key, eTag: "x", deviceId: `dev ${weird}`, localPath: path }] }),
    );
    expect(result.files[0]).toMatchObject({ key, outcome: "read", rows: 7 });
    const rows = await queryParquet(
      result.outputs.map((o) => o.localPath),
      "SELECT DISTINCT source_file, device_id FROM {files}",
    );
    expect(rows).toEqual([{ source_file: key, device_id: `dev ${weird}` }]);
  });
});
