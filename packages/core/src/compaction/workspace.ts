/**
 * The local scratch space of one compaction attempt. Kept apart from the job's flow so
 * the directory layout (and the one directory that must outlive the attempt) is stated
 * in one place.
 */
import { mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface AttemptWorkspace {
  /** Removed, with everything under it, when the attempt ends. */
  readonly workDir: string;
  /** Downloaded raw versions. */
  readonly rawDir: string;
  /** Downloaded lake files a merge rewrites. */
  readonly lakeDir: string;
  /** The engine's Parquet output, staged from here. */
  readonly outDir: string;
  /** Stable across jobs, so the engine keeps one DuckDB instance for the process. */
  readonly duckDbTempDir: string;
}

/** Creates the attempt's directories under the configured temp dir (the OS temp dir when unset). */
export async function createWorkspace(tempDir: string, attemptId: string): Promise<AttemptWorkspace> {
  const baseDir = tempDir || join(tmpdir(), "compacter");
  const workDir = join(baseDir, `compact-${attemptId}`);
  const rawDir = join(workDir, "raw");
  const lakeDir = join(workDir, "lake");
  const outDir = join(workDir, "out");
  await Promise.all([
    mkdir(rawDir, { recursive: true }),
    mkdir(lakeDir, { recursive: true }),
    mkdir(outDir, { recursive: true }),
  ]);
  return { workDir, rawDir, lakeDir, outDir, duckDbTempDir: join(baseDir, "duckdb") };
}

/** The DuckDB temp dir is outside workDir on purpose: it is shared by later attempts. */
export async function removeWorkspace(workspace: AttemptWorkspace): Promise<void> {
  await rm(workspace.workDir, { recursive: true, force: true });
}
