/**
 * The local scratch space of one compaction attempt, as core sees it: a port, so the
 * directory layout is stated here and the disk is touched only by an adapter
 * (LocalScratchSpace in @compacter/wiring; a test double in test/helpers).
 */
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

export interface ScratchSpace {
  /** Creates the attempt's empty directories (under the configured temp dir). */
  create(attemptId: string): Promise<AttemptWorkspace>;
  /** Removes `workDir` and everything under it; the DuckDB temp dir, shared by later attempts, stays. */
  remove(workspace: AttemptWorkspace): Promise<void>;
}

/** Where an attempt's directories go under `baseDir` (the one layout every ScratchSpace uses). */
export function workspaceLayout(baseDir: string, attemptId: string): AttemptWorkspace {
  const workDir = `${baseDir}/compact-${attemptId}`;
  return {
    workDir,
    rawDir: `${workDir}/raw`,
    lakeDir: `${workDir}/lake`,
    outDir: `${workDir}/out`,
    duckDbTempDir: `${baseDir}/duckdb`,
  };
}
