import { isUtf8 } from "node:buffer";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ScanPool, WORKER_SOURCE } from "../../../packages/duckdb/src/inspect/ScanPool.js";
import { SCAN_KIT, scanFile, scanRawFile } from "../../../packages/duckdb/src/inspect/scanRawFile.js";

// The worker runs the scan from source text assembled out of SCAN_KIT; a helper the scan
// calls but the worker lacks fails only there, and only on the path that calls it. So the
// same files, one per path through the scan, go through the pool and in-process, and must
// come out the same (the cleaned copies too).

const BOUNDS = { maxLineBytes: 64, maxInflatedBytes: 4096 };
let dir: string;
let pool: ScanPool;

beforeAll(() => {
  dir = fs.mkdtempSync(join(tmpdir(), "scan-pool-"));
  pool = new ScanPool(2);
});

afterAll(() => {
  pool.terminate();
  fs.rmSync(dir, { recursive: true, force: true });
});

function file(name: string, bytes: Buffer): string {
  const path = join(dir, name);
  fs.writeFileSync(path, bytes);
  return path;
}

const gz = (text: string | Buffer) => zlib.gzipSync(text);

describe("ScanPool's worker source", () => {
  it("defines every helper scanFile calls", () => {
    const called = new Set([...scanFile.toString().matchAll(/kit\.(\w+)/g)].map((m) => m[1]!));
    expect(called.size).toBeGreaterThan(0);
    for (const name of called) {
      expect(Object.keys(SCAN_KIT)).toContain(name);
      expect(WORKER_SOURCE).toContain(`const ${name} = (`);
    }
  });

  it("scans every kind of file the same as an in-process scan", async () => {
    const mixed = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(
        [
          '{"a":1,"B":"x","n":{"k":[1,2.5,true,null]}}',
          '{"a":"N/A","B":"y","big":123456789012345678901234}',
          "",
          '{"a":2,"a":3}',
          "not json",
          `{"long":"${"z".repeat(100)}"}`,
          '{"a":-2147483649,"c":false,"d":null,"e":1e5}',
        ].join("\n"),
      ),
      Buffer.from("\n"),
      // Not UTF-8: {"a":"<ff>"}
      Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d, 0x0a]),
      Buffer.from('{"a":4}'),
    ]);
    const inputs = [
      { name: "mixed", bytes: gz(mixed), renames: { B: "b_2" } },
      { name: "empty", bytes: Buffer.alloc(0) },
      { name: "plain", bytes: Buffer.from('{"a":1}\n') },
      { name: "truncated", bytes: gz('{"a":1}\n'.repeat(50)).subarray(0, 30) },
      { name: "nodata", bytes: gz("") },
      { name: "blank", bytes: gz("\n  \n") },
      { name: "bomb", bytes: gz('{"a":1}\n'.repeat(1000)) },
      { name: "overlong", bytes: gz(`{"a":"${"q".repeat(200)}"}`) },
    ];
    const items = inputs.map((input) => ({
      path: file(`${input.name}.gz`, input.bytes),
      options: { ...BOUNDS, cleanTo: join(dir, `${input.name}.pool.ndjson`), renames: input.renames },
    }));
    const pooled = await pool.scanAll(items);
    for (const [i, item] of items.entries()) {
      const cleanTo = join(dir, `${inputs[i]!.name}.direct.ndjson`);
      const direct = await scanRawFile(item.path, { fs, zlib, isUtf8 }, {}, { ...item.options, cleanTo });
      expect(pooled[i]).toEqual(direct);
      expect(copy(item.options.cleanTo)).toEqual(copy(cleanTo));
    }
    expect(pooled[0]).toMatchObject({ kind: "ok", validLines: 4, needsCleaning: true });
    expect(copy(items[0]!.options.cleanTo)).toContain('"b_2":"x"');
  });
});

/** A cleaned copy's text, or undefined when the scan gave it up (or never wrote one). */
function copy(path: string): string | undefined {
  return fs.existsSync(path) ? fs.readFileSync(path, "utf8") : undefined;
}
