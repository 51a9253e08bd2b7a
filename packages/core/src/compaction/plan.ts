import type { PartitionId } from "../layout/partitions.js";
import {
  FILE_STATUS,
  type PartitionState,
  PLAN_KIND,
  type PlanKind,
  type RawFileRecord,
} from "../manifest/model.js";
import type { UtcOffset } from "../time/zones.js";
import { isDayClosed, type WindowSettings } from "../windows.js";

/**
 * Decides what one compaction of a partition does (DESIGN.md "Compaction"). Pure: the
 * manifest snapshot and the clock in, a plan out.
 *
 * - While the day is open, due raw files become one more Parquet file (append): each
 *   closed hour costs a read of that hour only.
 * - The partition merges into one sorted file when the day has closed (late files
 *   included), when one more file would exceed `maxFilesPerPartition`, when a source's
 *   rows must go (an overwritten or removed raw file whose old rows are in the lake), or
 *   when an operator asks.
 * - Removed files whose rows never reached the lake only need their marks cleared.
 */
export interface PlanSettings extends WindowSettings {
  readonly partitionTimeZone: UtcOffset;
  readonly maxFilesPerPartition: number;
  readonly maxInputFilesPerCompaction: number;
}

export interface CompactionPlan {
  readonly partition: PartitionId;
  /** "none": nothing to write; only `markOnly` (if any) needs applying. */
  readonly kind: PlanKind | "none";
  readonly reason: string;
  /** Pending raw versions to read. */
  readonly read: readonly RawFileRecord[];
  /** Pending files whose exact version is already in the lake: mark them, read nothing. */
  readonly alreadyInLake: readonly RawFileRecord[];
  /** Removed files whose old rows are dropped by this plan. */
  readonly removals: readonly RawFileRecord[];
  /** Removed files with nothing in the lake: just clear their due marks. */
  readonly markOnly: readonly RawFileRecord[];
  /** `source_file` values whose rows must not survive (replaced or removed sources). */
  readonly dropSources: readonly string[];
  /** Files due but left for the next job (over maxInputFilesPerCompaction). */
  readonly deferred: number;
  /** Order the output by device_id, event_time: always for a merge and for a closed day. */
  readonly sort: boolean;
}

export function planCompaction(input: {
  readonly partition: PartitionId;
  readonly state: PartitionState | undefined;
  readonly files: readonly RawFileRecord[];
  readonly nowMs: number;
  readonly settings: PlanSettings;
  readonly forceMerge?: boolean;
}): CompactionPlan {
  const { partition, state, files, nowMs, settings } = input;
  const isDue = (f: RawFileRecord) => f.dueAt !== undefined && Date.parse(f.dueAt) <= nowMs;

  // A late file is taken as soon as any job runs for its partition, even before its own
  // debounce ends: its hour is closed anyway, and taking it now saves a second rewrite.
  const readyPending = files
    .filter((f) => f.status === FILE_STATUS.pending && (isDue(f) || f.late))
    .sort(byDueThenKey);
  const alreadyInLake = readyPending.filter(
    (f) => f.compactedETag !== undefined && f.compactedETag === f.eTag,
  );
  const toRead = readyPending.filter((f) => !alreadyInLake.includes(f));
  const read = toRead.slice(0, settings.maxInputFilesPerCompaction);
  const deferred = toRead.length - read.length;

  const dueRemoved = files.filter((f) => f.status === FILE_STATUS.removed && isDue(f));
  const removals = dueRemoved.filter((f) => f.compactedETag !== undefined);
  const markOnly = dueRemoved.filter((f) => f.compactedETag === undefined);

  const replaced = read.filter((f) => f.compactedETag !== undefined);
  const dropSources = [...replaced, ...removals].map((f) => f.key).sort();

  const currentFiles = state?.files.length ?? 0;
  const converged = currentFiles <= 1 || state?.lastPlan === PLAN_KIND.merge;
  const dayClosed = isDayClosed(partition.day, settings.partitionTimeZone, settings, nowMs);
  const hasNewRows = read.length > 0;

  const mergeReason = (() => {
    if (input.forceMerge && (currentFiles > 0 || hasNewRows)) return "merge requested";
    if (dropSources.length > 0) return `${dropSources.length} source(s) replaced or removed`;
    // A closed day with more files still waiting (a backfill larger than one job) keeps
    // appending and merges once, with the last batch, instead of rewriting every batch.
    if (dayClosed && deferred === 0 && hasNewRows && currentFiles > 0) return "late files in a closed day";
    if (dayClosed && deferred === 0 && !converged) return "day closed";
    if (hasNewRows && currentFiles + 1 > settings.maxFilesPerPartition) {
      return `partition would exceed ${settings.maxFilesPerPartition} files`;
    }
    return undefined;
  })();

  const base = { partition, read, alreadyInLake, removals, markOnly, dropSources, deferred, sort: dayClosed };
  if (mergeReason) return { ...base, kind: PLAN_KIND.merge, reason: mergeReason, sort: true };
  if (hasNewRows) {
    const hours = new Set(read.map((f) => f.hourKey)).size;
    return { ...base, kind: PLAN_KIND.append, reason: `${read.length} file(s) over ${hours} hour(s)` };
  }
  const nothing = alreadyInLake.length + markOnly.length === 0 ? "nothing due" : "marks only";
  return { ...base, kind: "none", reason: nothing };
}

function byDueThenKey(a: RawFileRecord, b: RawFileRecord): number {
  return (a.dueAt ?? "").localeCompare(b.dueAt ?? "") || a.key.localeCompare(b.key);
}
