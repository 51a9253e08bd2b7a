import type { DeviceRange } from "../compaction/slicePlan.js";
import type { PartitionId } from "../layout/partitions.js";
import type { FieldColumn } from "../schema/columnNames.js";
import type { ColumnSpec } from "../schema/columns.js";
import type { ConsumedFile, LakeFile, RawFileRecord } from "./model.js";

/**
 * A merge worked in device-range slices (compaction/slicedMerge.ts): one plan item and
 * one item per slice, in the partition's item collection. The plan is fixed when it is
 * written (under the partition's lease); any worker may claim a slice, and the generation
 * commit of the whole merge happens once every slice is staged.
 */
export interface SlicedMergePlan {
  readonly partition: PartitionId;
  /** Names the merge; its staged objects live under `{stagingPrefix}{day}/{district}/{attemptId}-s…/`. */
  readonly attemptId: string;
  /** The generation the merge replaces; the commit checks it is still current. */
  readonly baseGeneration: number;
  readonly reason: string;
  /** The lake files of the base generation, which every slice reads (its devices' rows only). */
  readonly lakeInputs: readonly LakeFile[];
  readonly sliceCount: number;
  readonly owner: string;
  readonly createdAt: string;
}

export interface MergeSlice extends DeviceRange {
  readonly index: number;
  readonly inputBytes: number;
  /** The plan's files of the slice's devices, by role (see CompactionPlan). */
  readonly read: readonly RawFileRecord[];
  readonly alreadyInLake: readonly RawFileRecord[];
  readonly removals: readonly RawFileRecord[];
  readonly markOnly: readonly RawFileRecord[];
  readonly dropSources: readonly string[];
  /** The worker working the slice now, until `claimExpiresAt` (epoch ms). */
  readonly claimedBy?: string;
  readonly claimExpiresAt?: number;
  readonly staged?: StagedSlice;
}

/** What a finished slice uploaded and consumed: everything the merge's commit needs from it. */
export interface StagedSlice {
  readonly worker: string;
  readonly stagedAt: string;
  readonly durationMs: number;
  readonly outputs: readonly (LakeFile & { readonly stagingKey: string })[];
  readonly consumed: readonly ConsumedFile[];
  readonly rowsIn: number;
  /** Bytes downloaded: the slice's raw files and the parts of the lake files it reads (footers, its row groups). */
  readonly bytesIn: number;
  readonly rowsDropped: number;
  readonly rowsOut: number;
  readonly nulledValues: Readonly<Record<string, number>>;
  readonly addedColumns: readonly string[];
  readonly unstoredFields: readonly string[];
  readonly renamedFields: readonly FieldColumn[];
  /** The columns the slice wrote (for the partition's narrow-column record). */
  readonly schema: readonly ColumnSpec[];
}

/** A sliced merge as stored; `plan` is absent when only slice items survive (a crash while writing or deleting). */
export interface SlicedMergeState {
  readonly attemptId: string;
  readonly plan?: SlicedMergePlan;
  readonly slices: readonly MergeSlice[];
}

/**
 * Who may claim a slice (the rule SliceItems encodes as its condition): nobody once it is
 * staged; otherwise a worker when it is unclaimed, its claim has expired, or the claim is
 * already its own (a renewal). A worker that dies mid-slice so only delays its slice.
 */
export function maySliceBeClaimed(slice: MergeSlice, owner: string, nowMs: number): boolean {
  if (slice.staged !== undefined) return false;
  if (slice.claimedBy === undefined || slice.claimedBy === owner) return true;
  return (slice.claimExpiresAt ?? 0) < nowMs;
}

/** A slice's output is recorded once, and only by the worker that still claims it. */
export function maySliceBeStaged(slice: MergeSlice, owner: string): boolean {
  return slice.staged === undefined && slice.claimedBy === owner;
}
