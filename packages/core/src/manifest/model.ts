import type { PartitionId } from "../layout/partitions.js";
import type { FieldColumn } from "../schema/columnNames.js";
import type { ColumnSpec } from "../schema/columns.js";
import type { NarrowColumns } from "../schema/ledger.js";

/**
 * What the manifest records. These are plain values; the DynamoDB adapter maps them to
 * items (see tableSpec.ts for the key design).
 */

export const FILE_STATUS = {
  /** Registered, waiting for (or in) compaction. */
  pending: "pending",
  /** This version's rows are in the lake. */
  compacted: "compacted",
  /** Could not be read at all; kept out of the lake with its error. `compacter retry` re-queues it. */
  quarantined: "quarantined",
  /** The key doesn't match the raw layout; recorded with the reason, never compacted. */
  rejected: "rejected",
  /** The object was deleted; its rows leave the lake at the next compaction. */
  removed: "removed",
} as const;

export type FileStatus = (typeof FILE_STATUS)[keyof typeof FILE_STATUS];

/** One version of a raw object as S3 reported it. */
export interface ObjectVersion {
  readonly key: string;
  /** Without quotes. */
  readonly eTag: string;
  readonly size: number;
  /** S3's per-key event order, normalised by `normaliseSequencer` so strings compare correctly. */
  readonly sequencer: string;
  /** When S3 says the object was written (the event time). */
  readonly arrivedAt: string;
}

/** A raw file of a partition (access pattern 1). */
export interface RawFileRecord {
  readonly key: string;
  readonly partition: PartitionId;
  readonly deviceId: string;
  /** "YYYYMMDDHH" as in the key (keyTimeZone). */
  readonly hourKey: string;
  /** The hour's start, ISO instant. */
  readonly hourStart: string;
  readonly status: FileStatus;
  readonly eTag: string;
  readonly size: number;
  readonly sequencer: string;
  readonly arrivedAt: string;
  /** Arrived after its hour's window closed. */
  readonly late: boolean;
  /** Present while the file needs compaction (pending, or removed with rows in the lake). */
  readonly dueAt?: string;
  /** The version whose rows are in the lake now, if any. */
  readonly compactedETag?: string;
  readonly compactedGeneration?: number;
  /** Quarantine reason. */
  readonly error?: string;
  /** From the compaction that read this version. */
  readonly rows?: number;
  readonly badLines?: number;
  /** Why the first few bad lines were skipped ("line 3: truncated …; line 9: longer than …"). */
  readonly badLineReasons?: string;
  /** How many versions of the key were registered. */
  readonly versions: number;
  readonly updatedAt: string;
}

/** A key that doesn't fit the raw layout (access pattern 5). */
export interface RejectedFileRecord {
  readonly key: string;
  readonly status: typeof FILE_STATUS.rejected;
  readonly reason: string;
  readonly eTag: string;
  readonly size: number;
  readonly sequencer: string;
  readonly arrivedAt: string;
  readonly updatedAt: string;
}

/** A Parquet file of the lake, as the manifest references it. */
export interface LakeFile {
  /** Full key in the lake bucket: `{lakePrefix}hiveperiod=…/district=…/data_{uid}.parquet`. */
  readonly key: string;
  readonly rows: number;
  readonly bytes: number;
}

/** A commit whose manifest step is done but whose publish/cleanup may not be. */
export interface InflightCommit {
  readonly attemptId: string;
  readonly generation: number;
  /** Where each new lake file waits until it is published. */
  readonly staged: readonly { readonly stagingKey: string; readonly lakeKey: string }[];
}

/** A partition's state (access pattern 2). */
export interface PartitionState {
  readonly partition: PartitionId;
  /** 0 before the first commit. */
  readonly generation: number;
  /** The current lake files; exact at all times (a reader's consistent snapshot). */
  readonly files: readonly LakeFile[];
  readonly rows: number;
  readonly bytes: number;
  readonly lastCompactedAt?: string;
  readonly lastPlan?: PlanKind;
  readonly inflight?: InflightCommit;
  readonly leaseOwner?: string;
  readonly leaseExpiresAt?: number;
  /** When the partition itself needs a job (a merge at day close, a commit to finish). */
  readonly dueAt?: string;
  /**
   * Epoch ms until which a job sent by the sweep may still be on the compaction queue: the
   * sweep sends no other meanwhile. Cleared when the job ends (see compaction/failures.ts).
   */
  readonly queuedUntil?: number;
  /** Present while the partition's compactions keep failing; cleared by the next success. */
  readonly failing?: FailingMark;
  /** Integer columns of its current files, narrowest per column: compared with the ledger to find rewrites. */
  readonly narrowColumns?: NarrowColumns;
}

/** A partition whose compaction failed (status's "failing partitions"; the problems index). */
export interface FailingMark {
  /** First failure of this streak. */
  readonly since: string;
  /** Failed attempts in a row (each receive of a job that failed counts). */
  readonly attempts: number;
  readonly lastError: string;
  readonly lastFailedAt: string;
  /** The sweep sends the partition again from then on (exponential back-off). */
  readonly nextRetryAt: string;
  /** False when the last error can never succeed on retry (it went to the DLQ at once). */
  readonly retryable: boolean;
}

export const PLAN_KIND = {
  /** New raw files become one more Parquet file of the partition. */
  append: "append",
  /** All of the partition's files (and any due raw files) become one sorted file. */
  merge: "merge",
} as const;

export type PlanKind = (typeof PLAN_KIND)[keyof typeof PLAN_KIND];

/**
 * The version of a raw file a generation consumed, and what happened to it.
 *
 * Marking it (ManifestStore.markConsumed) is one conditional update per file, decided by
 * fileVersions.ts (decideMark):
 * - if the file is still `plannedStatus` with this `eTag` (and, for removed, this `sequencer`):
 *   compacted   → status compacted, compactedETag = eTag, compactedGeneration = g, rows/badLines; leaves the due index
 *   quarantined → status quarantined with `error`, enters the problems index, compactedETag removed (the
 *                 generation dropped any older rows of the key), compactedGeneration = g; leaves the due index
 *   dropped     → stays removed, compactedETag removed, compactedGeneration = g; leaves the due index
 * - otherwise a newer version arrived while we worked: if compactedGeneration is absent or < g, only record
 *   what the lake holds now (compactedETag = eTag for compacted, removed for the others; compactedGeneration = g)
 *   and keep/put the file in the due index (dueAt if_not_exists → now) so the next compaction reconciles it.
 * Repeating a mark is a no-op (the first branch no longer matches, the second sees compactedGeneration = g).
 */
export interface ConsumedFile {
  readonly key: string;
  readonly eTag: string;
  /** The sequencer the plan saw. */
  readonly sequencer: string;
  /** The status the plan saw. */
  readonly plannedStatus: "pending" | "removed";
  readonly outcome: "compacted" | "quarantined" | "dropped";
  readonly rows: number;
  readonly badLines: number;
  readonly late: boolean;
  readonly error?: string;
  /** Why the first few bad lines were skipped (see RawFileRecord). */
  readonly badLineReasons?: string;
  readonly nullHeartbeats?: number;
  readonly absurdHeartbeats?: number;
}

/**
 * One generation of a partition (access pattern 6). Written first as a commit intent,
 * then, once the generation is committed and published, as the history item.
 */
export interface GenerationRecord {
  readonly partition: PartitionId;
  readonly generation: number;
  readonly attemptId: string;
  readonly plan: PlanKind;
  readonly reason: string;
  readonly worker: string;
  readonly startedAt: string;
  readonly committedAt?: string;
  readonly durationMs: number;
  readonly inputs: readonly ConsumedFile[];
  /** Lake files read by a merge. */
  readonly lakeInputs: readonly LakeFile[];
  readonly outputs: readonly LakeFile[];
  /** Lake files this generation replaces (deleted after publish). */
  readonly replaced: readonly LakeFile[];
  readonly staged: InflightCommit["staged"];
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly rowsDropped: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly lateFiles: number;
  readonly badLines: number;
  readonly nulledValues: Readonly<Record<string, number>>;
  readonly addedColumns: readonly string[];
  /**
   * Raw fields not stored because their name equals an existing column's except for case
   * (Parquet readers treat names case-insensitively). Recorded so nothing is dropped silently.
   */
  readonly unstoredFields: readonly string[];
  /**
   * Raw keys of this generation stored under another column name than the key (case
   * twins, "", reserved or non-identifier keys; see columnNames.ts): the key → column
   * mapping, since an escaped name cannot be read back into its key.
   */
  readonly renamedFields?: readonly FieldColumn[];
  readonly schemaColumns: number;
  /** A merge worked in device-range slices (compaction/slicedMerge.ts): one entry per slice, in range order. */
  readonly slices?: readonly SliceSummary[];
  /** How long a lake glob could see both the new and the replaced files (set once published). */
  readonly publishWindowMs?: number;
}

/** One slice of a sliced merge, as its generation's history keeps it. */
export interface SliceSummary {
  readonly index: number;
  readonly worker: string;
  readonly durationMs: number;
  /** Bytes the slice downloaded: its raw files and the parts of the lake files it reads (footers, its row groups). */
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly rowsOut: number;
  readonly outputs: number;
}

export type { ColumnSpec };
