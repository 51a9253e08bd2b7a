import { DAY_MS, dayStart, HOUR_MS, type UtcOffset } from "./time/zones.js";

/**
 * When raw files and partitions are due (DESIGN.md "Windows").
 *
 * An hour's window closes `closeAfter` after the hour ends: by then every device has
 * normally uploaded it, so one compaction picks up the whole hour. A file that arrives
 * after its window closed is late: it is due `lateDebounce` after it arrived, so a
 * backlog flushed after an outage gathers into one pass instead of one per file.
 */
export interface WindowSettings {
  readonly closeAfterMs: number;
  readonly lateDebounceMs: number;
}

export function hourWindowClosesAt(hourStartMs: number, windows: WindowSettings): number {
  return hourStartMs + HOUR_MS + windows.closeAfterMs;
}

export interface FileTiming {
  readonly late: boolean;
  /** Epoch ms. */
  readonly dueAtMs: number;
}

export function fileTiming(hourStartMs: number, arrivedAtMs: number, windows: WindowSettings): FileTiming {
  const closesAt = hourWindowClosesAt(hourStartMs, windows);
  if (arrivedAtMs <= closesAt) return { late: false, dueAtMs: closesAt };
  return { late: true, dueAtMs: arrivedAtMs + windows.lateDebounceMs };
}

/** A partition day is closed once its last hour's window has closed. */
export function dayWindowClosesAt(
  day: string,
  partitionTimeZone: UtcOffset,
  windows: WindowSettings,
): number {
  return dayStart(day, partitionTimeZone) + DAY_MS + windows.closeAfterMs;
}

export function isDayClosed(
  day: string,
  partitionTimeZone: UtcOffset,
  windows: WindowSettings,
  nowMs: number,
): boolean {
  return nowMs >= dayWindowClosesAt(day, partitionTimeZone, windows);
}
