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
        // ru_maxrss is in kilobytes on Linux.
        maxRssMb: process.resourceUsage().maxRSS / 1024,
      };
    },
  };
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
