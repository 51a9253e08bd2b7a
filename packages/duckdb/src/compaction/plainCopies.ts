import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { EngineJob } from "@compacter/core";

/**
 * Inflate once. The validator must inflate every raw file (DuckDB does not notice a cut
 * gzip or a bad checksum: FACTS.md) and look at every line; writing the valid lines it
 * just inflated to a plain copy costs little, and DuckDB reading that copy skips a second
 * inflation of the whole file (measured: ~10% less CPU per job, see REPORT-speed.md).
 *
 * The copies take temp disk of about the text size (~19× the gzip bytes of telemetry),
 * so they are bounded per job: files past the budget are read from their gzip as before.
 * A file whose copy is read is read exactly as a cleaned copy always was.
 */
export const PLAIN_COPY_BUDGET_BYTES = 6 * 2 ** 30;

/** Text bytes per gzip'd byte assumed before a file is inflated (telemetry: ~19). */
const TEXT_PER_GZIP_BYTE = 20;

/**
 * A file inflating past twice its estimate gives its copy up (ScanOptions.cleanMaxBytes) and
 * is read from gzip: the copies of a job never take more than twice the budget, gzip bombs
 * included (one inflating 1000× is cut off at 40× its size).
 */
const COPY_OVER_ESTIMATE = 2;

export interface PlainCopy {
  readonly path: string;
  /** The copy is complete only if the file inflated to at most this many bytes. */
  readonly maxBytes: number;
}

/** Raw file index → where its plain copy is written, for the files within the budget. */
export async function plainCopyPaths(
  job: EngineJob,
  scratchDir: string,
  budgetBytes = job.limits.plainCopyBytes ?? PLAIN_COPY_BUDGET_BYTES,
): Promise<Map<number, PlainCopy>> {
  const paths = new Map<number, PlainCopy>();
  let planned = 0;
  for (const [index, raw] of job.raw.entries()) {
    let size: number;
    try {
      size = (await stat(raw.localPath)).size;
    } catch {
      continue; // the scan reports it
    }
    const estimate = size * TEXT_PER_GZIP_BYTE;
    if (planned + estimate > budgetBytes) continue;
    planned += estimate;
    paths.set(index, {
      path: join(scratchDir, `plain-${index}.ndjson`),
      maxBytes: Math.max(estimate * COPY_OVER_ESTIMATE, 1 << 20),
    });
  }
  return paths;
}
