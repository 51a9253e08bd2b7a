import { type Dirent, readFileSync, writeFileSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
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
 * be sparse) every `everyMs` until stopped. `stop()` gives the peaks of the whole tree and
 * of its working space (see WorkspaceDisk), and per job workspace (`compact-<id>`) the
 * peaks of that workspace plus the shared DuckDB directory while it existed: one job's
 * when jobs run one at a time, an upper bound when they overlap.
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
    let spill = 0;
    const workspaces = new Map<string, WorkspaceDisk>();
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (!entry.isDirectory()) {
        total += await fileBytes(path);
        continue;
      }
      const bytes = await diskBytes(path);
      total += bytes;
      if (entry.name === "duckdb") spill = bytes;
      if (!entry.name.startsWith("compact-")) continue;
      const ownInOut = await Promise.all(["raw", "lake", "out"].map((d) => diskBytes(join(path, d))));
      workspaces.set(entry.name, { total: bytes, working: bytes - ownInOut.reduce((n, b) => n + b, 0) });
    }
    const working = spill + [...workspaces.values()].reduce((n, w) => n + w.working, 0);
    peak = atLeast(peak, { total, working });
    for (const [name, disk] of workspaces) {
      byWorkspace.set(
        name,
        atLeast(byWorkspace.get(name), { total: disk.total + spill, working: disk.working + spill }),
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

async function fileBytes(path: string): Promise<number> {
  try {
    return (await stat(path)).blocks * 512;
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
