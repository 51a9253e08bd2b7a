import { type Dirent, readFileSync, writeFileSync } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { Measure } from "./types.js";

/** Starts a wall + CPU stopwatch; `stop()` also reads the process's peak RSS so far. */
export function startMeasure(): { stop(): Measure } {
  const started = performance.now();
  const cpu = process.cpuUsage();
  return {
    stop: () => {
      const used = process.cpuUsage(cpu);
      return {
        wallMs: performance.now() - started,
        cpuMs: (used.user + used.system) / 1000,
        maxRssMb: peakRssMb(),
      };
    },
  };
}

/**
 * This process's own peak RSS. Not getrusage's ru_maxrss: on Linux a spawned child starts
 * as a fork of its parent and keeps the parent's resident size as its high-water mark
 * across exec, so every task spawned by the benchmark (whose local S3 holds the whole data
 * set in memory) reported at least the parent's RSS. VmHWM belongs to the address space
 * exec creates, so it counts only the task itself.
 */
export function peakRssMb(): number {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (match?.[1]) return Number(match[1]) / 1024;
  } catch {
    // Not Linux: fall through.
  }
  // ru_maxrss is in kilobytes on Linux and in bytes on macOS; only reached off Linux.
  return process.platform === "darwin"
    ? process.resourceUsage().maxRSS / 2 ** 20
    : process.resourceUsage().maxRSS / 1024;
}

/** A clock the benchmark moves: real time passing, shifted to `startMs` when set. */
export class BenchClock {
  private offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  set(nowMs: number): void {
    this.offsetMs = nowMs - Date.now();
  }
}

/**
 * Starts a new peak-RSS period for this process (Linux: writing 5 to clear_refs resets
 * VmHWM to the current RSS), so the next `peakRssMb()` is the peak of one job, not of
 * the whole day. False where that is not possible (the peak then covers the process so far).
 */
export function resetPeakRss(): boolean {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

/** Peak disk of one job's workspace, in bytes. */
export interface WorkspaceDisk {
  /** Everything: downloads, output, plain copies and DuckDB's spill. */
  readonly total: number;
  /**
   * What the engine adds beyond the job's own bytes in and out: DuckDB's spill directory,
   * where the engine also keeps its per-job scratch (plain copies, cleaned files). The
   * downloads (raw/, lake/) and the staged output (out/) are the job's input and output,
   * reported as such; this is what could grow with a sort.
   */
  readonly working: number;
}

/**
 * Samples the disk a directory tree occupies (allocated blocks: DuckDB's spill files may
 * be sparse; symlinks count as nothing) every `everyMs` until stopped. `stop()` gives the
 * peaks of the whole tree and of its working space (see WorkspaceDisk), and per job
 * workspace (`compact-<id>`) the peaks of that workspace plus its own engine scratch
 * (`duckdb/<instance>/job-compact-<id>-…`) and DuckDB's spill files, which are shared:
 * exact when jobs run one at a time, an upper bound by the spill when they overlap.
 */
export function samplePeakDisk(
  dir: string,
  everyMs = 100,
): { stop(): Promise<{ peak: WorkspaceDisk; byWorkspace: Map<string, WorkspaceDisk> }> } {
  let peak: WorkspaceDisk = { total: 0, working: 0 };
  const byWorkspace = new Map<string, WorkspaceDisk>();
  const atLeast = (a: WorkspaceDisk | undefined, b: WorkspaceDisk): WorkspaceDisk => ({
    total: Math.max(a?.total ?? 0, b.total),
    working: Math.max(a?.working ?? 0, b.working),
  });
  let sampling: Promise<void> = Promise.resolve();
  const sample = async () => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    let total = 0;
    const workspaces = new Map<string, WorkspaceDisk>();
    let scratch: { byJob: Map<string, number>; shared: number } = { byJob: new Map(), shared: 0 };
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (!entry.isDirectory()) {
        total += await fileBytes(path);
        continue;
      }
      if (entry.name.startsWith("compact-")) {
        // Part by part, so a workspace being removed between two reads is never counted as working space.
        const disk = await workspaceDisk(path);
        workspaces.set(entry.name, disk);
        total += disk.total;
        continue;
      }
      total += await diskBytes(path);
      if (entry.name === "duckdb") scratch = await engineScratch(path);
    }
    const engineBytes = scratch.shared + [...scratch.byJob.values()].reduce((n, b) => n + b, 0);
    const working = engineBytes + [...workspaces.values()].reduce((n, w) => n + w.working, 0);
    peak = atLeast(peak, { total, working });
    for (const [name, disk] of workspaces) {
      // A job's own scratch, plus DuckDB's spill, which no job can be told from another's.
      const engine = (scratch.byJob.get(name) ?? 0) + scratch.shared;
      byWorkspace.set(
        name,
        atLeast(byWorkspace.get(name), { total: disk.total + engine, working: disk.working + engine }),
      );
    }
  };
  const timer = setInterval(() => {
    sampling = sampling.then(sample);
  }, everyMs);
  return {
    stop: async () => {
      clearInterval(timer);
      await sampling;
      await sample();
      return { peak, byWorkspace };
    },
  };
}

/** A job workspace: its downloads and staged output (raw/, lake/, out/) apart from the rest. */
async function workspaceDisk(dir: string): Promise<WorkspaceDisk> {
  let total = 0;
  let working = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [] as Dirent[])) {
    const path = join(dir, entry.name);
    const bytes = entry.isDirectory() ? await diskBytes(path) : await fileBytes(path);
    total += bytes;
    if (!["raw", "lake", "out"].includes(entry.name)) working += bytes;
  }
  return { total, working };
}

/**
 * The engine's directory (`duckdb/<instance>/`): per job a scratch directory named after
 * its workspace (`job-compact-<id>-XXXXXX`), and DuckDB's own spill files, shared.
 */
async function engineScratch(dir: string): Promise<{ byJob: Map<string, number>; shared: number }> {
  const byJob = new Map<string, number>();
  let shared = 0;
  for (const instance of await readdir(dir, { withFileTypes: true }).catch(() => [] as Dirent[])) {
    const instancePath = join(dir, instance.name);
    if (!instance.isDirectory()) {
      shared += await fileBytes(instancePath);
      continue;
    }
    for (const entry of await readdir(instancePath, { withFileTypes: true }).catch(() => [] as Dirent[])) {
      const path = join(instancePath, entry.name);
      const bytes = entry.isDirectory() ? await diskBytes(path) : await fileBytes(path);
      const job = /^job-(compact-.+)-[^-]{6}$/.exec(entry.name)?.[1];
      if (job && entry.isDirectory()) byJob.set(job, (byJob.get(job) ?? 0) + bytes);
      else shared += bytes;
    }
  }
  return { byJob, shared };
}

/** Blocks a file occupies; a symlink (the engine links raw files it reads) occupies none. */
async function fileBytes(path: string): Promise<number> {
  try {
    return (await lstat(path)).blocks * 512;
  } catch {
    // Removed between listing and stat: it no longer occupies anything.
    return 0;
  }
}

async function diskBytes(dir: string): Promise<number> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  let bytes = 0;
  for (const entry of entries) {
    const path = join(dir, entry.name);
    bytes += entry.isDirectory() ? await diskBytes(path) : await fileBytes(path);
  }
  return bytes;
}
