import { createHash, randomBytes } from "node:crypto";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { ObjectStore } from "@compacter/core";

/**
 * A local copy of lake files for `compacter query`, so a second query over the same
 * partitions downloads nothing.
 *
 * Keyed by bucket + lake key, not by eTag: a lake key is never written twice (every
 * compaction output gets a new uid, and a merge writes new keys and deletes the old),
 * so the key names one content forever. That is as exact as keying by eTag, and saves
 * a HEAD per file to learn the eTag before knowing whether the copy is current.
 *
 * Entries are written under a temporary name and renamed, so concurrent queries (and an
 * interrupted download) never leave a partial file under a real name. Nothing is evicted:
 * delete the directory to reclaim the space.
 */
export class LakeCache {
  constructor(
    readonly dir: string,
    private readonly objects: ObjectStore,
  ) {}

  pathOf(bucket: string, lakeKey: string): string {
    const digest = createHash("sha256").update(bucket).update("\0").update(lakeKey).digest("hex");
    return join(this.dir, digest.slice(0, 2), `${digest}.parquet`);
  }

  /**
   * The cached copy of `lakeKey`, downloaded from `readKey` (the same bytes, possibly
   * still under its staging key) when missing. Throws ObjectNotFoundError when `readKey`
   * is gone: the caller's snapshot is stale.
   */
  async fetch(
    bucket: string,
    lakeKey: string,
    readKey: string,
  ): Promise<{ readonly path: string; readonly downloaded: boolean; readonly bytes: number }> {
    const path = this.pathOf(bucket, lakeKey);
    const cached = await stat(path).catch(() => undefined);
    if (cached) return { path, downloaded: false, bytes: cached.size };
    await mkdir(join(path, ".."), { recursive: true });
    const partial = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.part`;
    try {
      const { bytes } = await this.objects.download(bucket, readKey, partial);
      await rename(partial, path);
      return { path, downloaded: true, bytes };
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  }
}
