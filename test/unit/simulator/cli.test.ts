import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SimulationSummary } from "@compacter/simulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inProcess as run } from "../../helpers/cli.js";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "compacter-simulate-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(root.length + 1))
    .sort();
}

// Layout flags given explicitly so COMPACTER_* variables in the environment don't change the keys.
const SMALL = [
  "--devices",
  "2",
  "--hours",
  "2",
  "--rows-per-file",
  "20",
  "--start",
  "2025121200",
  "--key-time-zone",
  "+08:00",
];

describe("compacter simulate", () => {
  it("writes the key layout under --out and prints the summary as JSON", async () => {
    const out = join(dir, "json");
    const { code, stdout } = await run(
      "simulate",
      ...SMALL,
      "--odd-keys",
      "0.25",
      "--raw-prefix",
      "raw/",
      "--out",
      out,
      "--json",
    );
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as SimulationSummary;
    expect(summary.settings).toMatchObject({ startHour: "2025121200", rowsPerFile: 20, sink: `dir:${out}` });
    expect(await filesUnder(out)).toEqual(summary.files.map((f) => f.key).sort());
    expect(summary.files.some((f) => f.key.includes("Grün"))).toBe(true);
    expect(summary.totals.rowsWritten).toBe(8 * 20);
    for (const file of summary.files) {
      const bytes = await readFile(join(out, file.key));
      expect(bytes.length).toBe(file.bytesGz);
    }
  });

  it("prints aligned tables: totals, knobs, and the files", async () => {
    const out = join(dir, "table");
    const { code, stdout } = await run(
      "simulate",
      ...SMALL,
      "--raw-prefix",
      "",
      "--late",
      "0.25",
      "--out",
      out,
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/^rows the lake must hold\s+160$/m);
    expect(stdout).toMatch(/^late\s+0\.25\s+2 files$/m);
    expect(stdout).toMatch(
      /^BRCB\/SLS30I001\/2025121200\/2025121200\.txt\.gz\s+20\s+20\s+0\s+0\s+s\s+ok\s+4\.2\.1/m,
    );
  });

  it("exits 2 on a fraction outside 0..1 and on contradictory fault knobs", async () => {
    const out = join(dir, "bad");
    expect((await run("simulate", ...SMALL, "--late", "1.5", "--out", out)).code).toBe(2);
    const both = await run("simulate", ...SMALL, "--empty-objects", "0.6", "--not-json", "0.6", "--out", out);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/keep the sum ≤ 1/);
    expect((await run("simulate", ...SMALL, "--start", "yesterday", "--out", out)).code).toBe(2);
  });
});
