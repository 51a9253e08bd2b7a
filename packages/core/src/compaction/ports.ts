import type { PartitionId } from "../layout/partitions.js";

/**
 * What the compaction service needs from object storage. The S3 adapter implements it;
 * keys are full keys within the bucket.
 */
export interface ObjectStore {
  /** Streams an object to a local file; returns its size, eTag (unquoted) and write time. Throws ObjectNotFoundError. */
  download(
    bucket: string,
    key: string,
    localPath: string,
  ): Promise<{ bytes: number; eTag: string; lastModified: Date }>;
  /**
   * Writes byte ranges of an object into a local file of the object's size, `sizeBytes`
   * (created sparse on the first call): the rest stays holes, which take no disk. Lets a
   * job fetch only the parts of a Parquet file it reads. Throws ObjectNotFoundError.
   */
  downloadRanges(
    bucket: string,
    key: string,
    localPath: string,
    sizeBytes: number,
    ranges: readonly ByteRange[],
  ): Promise<void>;
  /** Uploads a local file (multipart when large). */
  upload(localPath: string, bucket: string, key: string): Promise<{ eTag: string }>;
  /** Server-side copy within or across buckets. Throws ObjectNotFoundError if the source is gone. */
  copy(source: { bucket: string; key: string }, target: { bucket: string; key: string }): Promise<void>;
  exists(bucket: string, key: string): Promise<boolean>;
  /** Deletes keys (batched); missing keys are not an error. */
  deleteMany(bucket: string, keys: readonly string[]): Promise<void>;
  /** Every object under a prefix, paginated. */
  list(bucket: string, prefix: string): AsyncIterable<StoredObject>;
}

/** Bytes [start, end) of an object. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export interface StoredObject {
  readonly key: string;
  readonly size: number;
  readonly eTag: string;
  readonly lastModified: Date;
}

/** Where the sweep sends compaction jobs (the compaction queue). Duplicates are harmless. */
export interface JobQueue {
  sendCompactionJobs(jobs: readonly CompactionJob[]): Promise<void>;
}

/**
 * Runs one compaction job outside the function (the Fargate task: `compacter compact` with
 * the job in COMPACTER_JOB). The partition's lease keeps it and any function apart.
 */
export interface CompactionTaskLauncher {
  /** Starts the task; resolves with its id once it is running (not when it ends). */
  launch(job: CompactionJob, reason: string): Promise<{ readonly taskId: string }>;
}

export interface CompactionJob {
  readonly partition: PartitionId;
  /** Merge even if the plan would append (operator's `compact --merge`). */
  readonly forceMerge?: boolean;
  /**
   * Merge if the partition's files are still behind the type ledger (typeRewrites.ts):
   * a repeated or late job finds it already rewritten and does nothing.
   */
  readonly rewriteTypes?: boolean;
}

/**
 * Named points in the commit protocol where a test can make the worker die. In
 * production this is a no-op; `COMPACTER_FAULT_POINT=<point>` makes the process kill
 * itself there (SIGKILL: no finally blocks, no lease release — a real crash).
 */
export const FAULT_POINTS = [
  "afterStage",
  "afterIntent",
  "afterCommit",
  "afterPublish",
  "afterDeleteReplaced",
  "afterMark",
  "afterHistory",
  "afterFinish",
] as const;

export type FaultPoint = (typeof FAULT_POINTS)[number];

export interface FaultInjector {
  at(point: FaultPoint): Promise<void>;
}

export const noFaults: FaultInjector = { at: async () => {} };

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
