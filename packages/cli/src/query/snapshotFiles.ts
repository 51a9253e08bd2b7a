import { copyFile, link, mkdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { CompacterError, mapLimit, ObjectNotFoundError } from "@compacter/core";
import type { LakeCache } from "./lakeCache.js";
import type { ManifestSnapshot } from "./manifestSnapshot.js";

/** Fresh snapshots taken before giving up on a manifest that keeps moving under us. */
const MAX_SNAPSHOTS = 5;

export interface SnapshotStats {
  readonly partitions: number;
  readonly files: number;
  readonly rows: number;
  readonly cachedFiles: number;
  readonly downloadedFiles: number;
  readonly downloadedBytes: number;
  /** 1 unless a file vanished between reading the manifest and downloading it. */
  readonly snapshots: number;
}

export interface LocalSnapshot {
  readonly snapshot: ManifestSnapshot;
  /** Root of a Hive tree (`hiveperiod=…/district=…/data_….parquet`) holding exactly the snapshot's files. */
  readonly root: string;
  readonly stats: SnapshotStats;
}

/**
 * Makes a manifest snapshot's files local, in a Hive tree of hard links into the cache
 * (a query's view of the lake that no later compaction can change under it).
 *
 * A file can disappear between reading the manifest and downloading it: a merge deleted
 * the files it replaced, or a commit finished and removed its staged copies. Either way
 * the snapshot is stale, so a fresh one is taken and the download resumes (files already
 * cached stay cached).
 */
export async function localSnapshot(input: {
  readonly take: () => Promise<ManifestSnapshot>;
  readonly cache: LakeCache;
  readonly bucket: string;
  readonly concurrency: number;
  /** An empty directory of the caller's. */
  readonly root: string;
  /** Stops starting downloads (Ctrl-C). */
  readonly signal?: AbortSignal;
}): Promise<LocalSnapshot> {
  for (let attempt = 1; attempt <= MAX_SNAPSHOTS; attempt++) {
    const snapshot = await input.take();
    let fetched: { path: string; downloaded: boolean; bytes: number }[];
    try {
      fetched = await mapLimit(snapshot.files, input.concurrency, (file) => {
        input.signal?.throwIfAborted();
        return input.cache.fetch(input.bucket, file.lakeKey, file.readKey);
      });
    } catch (error) {
      if (error instanceof ObjectNotFoundError) continue;
      throw error;
    }
    const root = join(input.root, `snapshot-${attempt}`);
    await mapLimit(snapshot.files, input.concurrency, async (file, i) => {
      const dir = join(root, `hiveperiod=${file.partition.day}`, `district=${file.partition.district}`);
      await mkdir(dir, { recursive: true });
      await linkOrCopy(fetched[i]!.path, join(dir, basename(file.lakeKey)));
    });
    const downloaded = fetched.filter((f) => f.downloaded);
    return {
      snapshot,
      root,
      stats: {
        partitions: snapshot.partitions.length,
        files: snapshot.files.length,
        rows: snapshot.files.reduce((n, f) => n + f.rows, 0),
        cachedFiles: fetched.length - downloaded.length,
        downloadedFiles: downloaded.length,
        downloadedBytes: downloaded.reduce((n, f) => n + f.bytes, 0),
        snapshots: attempt,
      },
    };
  }
  throw new CompacterError(
    `the manifest changed under the query ${MAX_SNAPSHOTS} times in a row (busy compactions?); run it again`,
    { retryable: true },
  );
}

/** A hard link keeps the bytes even if the cache entry is deleted mid-query; a copy where links can't go. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EXDEV" && code !== "EPERM" && code !== "ENOTSUP") throw error;
    await copyFile(from, to);
  }
}
