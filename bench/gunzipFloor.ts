import { spawn } from "node:child_process";

export interface GunzipResult {
  readonly wallMs: number;
  /** Decompressed bytes: the NDJSON text DuckDB and the validator read. */
  readonly textBytes: number;
  readonly processes: number;
}

/**
 * The physical floor of reading the raw files at all: `gzip -dc` of the same bytes, one
 * process per core over halves of the files (gzip is single-threaded; everything else in
 * the comparison uses every core), output counted by `wc -c` and discarded.
 */
export async function gunzipFloor(
  paths: readonly string[],
  sizes: readonly number[],
  processes: number,
): Promise<GunzipResult> {
  const groups: string[][] = Array.from({ length: processes }, () => []);
  const loads = new Array<number>(processes).fill(0);
  // Largest first into the least loaded group: halves by bytes, not by count.
  const order = paths.map((path, i) => ({ path, size: sizes[i] ?? 0 })).sort((a, b) => b.size - a.size);
  for (const { path, size } of order) {
    const g = loads.indexOf(Math.min(...loads));
    groups[g]!.push(path);
    loads[g]! += size;
  }
  const started = performance.now();
  const counts = await Promise.all(groups.filter((g) => g.length > 0).map((group) => gunzipCount(group)));
  return { wallMs: performance.now() - started, textBytes: counts.reduce((a, b) => a + b, 0), processes };
}

function gunzipCount(paths: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", 'gzip -dc -- "$@" | wc -c', "sh", ...paths], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      err += chunk;
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) reject(new Error(`gzip -dc failed (${code}): ${err}`));
      else resolve(Number(out.trim()));
    });
  });
}
