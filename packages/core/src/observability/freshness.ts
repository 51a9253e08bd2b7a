import type { DueEntry } from "../manifest/store.js";

/**
 * Lake freshness, the headline figure: how long past its due time the oldest raw file not
 * yet in the lake is (0 when nothing is overdue). A file is due when its hour's window
 * closes (or its late debounce ends), so in a healthy system this stays within a sweep
 * interval plus one compaction; it grows without bound when the sweep or the compactor
 * stops, whatever the cause. Computed from the due index (pending raw files, including
 * quarantined ones re-queued by `compacter retry`), the same way by the sweep, which
 * publishes it every run, and by `compacter status`, so the CLI and the dashboard agree.
 */
export interface LakeFreshness {
  /** Milliseconds past due of the oldest overdue raw file; 0 when none is overdue. */
  readonly ageMs: number;
  /** Due time of that file (ISO), if any. */
  readonly oldestDueAt: string | null;
  /** Raw files past their due time. */
  readonly overdueFiles: number;
}

export function lakeFreshness(due: readonly DueEntry[], nowMs: number): LakeFreshness {
  let oldestMs = Number.POSITIVE_INFINITY;
  let overdueFiles = 0;
  for (const entry of due) {
    if (entry.kind !== "file") continue;
    const dueMs = Date.parse(entry.dueAt);
    if (!(dueMs <= nowMs)) continue;
    overdueFiles += 1;
    oldestMs = Math.min(oldestMs, dueMs);
  }
  if (overdueFiles === 0) return { ageMs: 0, oldestDueAt: null, overdueFiles };
  return { ageMs: nowMs - oldestMs, oldestDueAt: new Date(oldestMs).toISOString(), overdueFiles };
}
