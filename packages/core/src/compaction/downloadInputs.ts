/**
 * Fetching a generation's inputs to local disk. Kept out of the job's flow because a raw
 * download is not just a copy: a version that changed under us is registered on the spot.
 */
import { join } from "node:path";
import { ObjectNotFoundError } from "../errors.js";
import { parsedKeyOf, registerObservedVersion } from "../ingest/observedVersions.js";
import type { LakeFile, RawFileRecord } from "../manifest/model.js";
import { mapLimit } from "../util/mapLimit.js";
import type { CommitDeps } from "./commit.js";
import type { LakeInput, RawInput } from "./engine.js";

type DownloadDeps = Pick<CommitDeps, "store" | "objects" | "config" | "clock" | "log">;

/**
 * Downloads the planned raw versions. A file whose object changed or vanished since it
 * was registered is left out of this generation, and what we observed is registered
 * right away with the smallest sequencer after the known one (see successorSequencer):
 * if the notification of that change was lost (e.g. parked in the ingest DLQ), the file
 * still converges instead of being skipped at every job; if it arrives, it wins.
 */
export async function downloadRaw(
  deps: DownloadDeps,
  files: readonly RawFileRecord[],
  dir: string,
): Promise<{ raw: RawInput[]; skipped: Set<string> }> {
  const skipped = new Set<string>();
  const downloaded = await mapLimit(files, deps.config.downloadConcurrency, async (file, i) => {
    const localPath = join(dir, `${i}.txt.gz`);
    try {
      const observed = await deps.objects.download(deps.config.rawBucket, file.key, localPath);
      if (observed.eTag === file.eTag) {
        return { key: file.key, eTag: file.eTag, deviceId: file.deviceId, localPath } satisfies RawInput;
      }
      skipped.add(file.key);
      await registerObserved(deps, file, {
        eTag: observed.eTag,
        size: observed.bytes,
        lastModified: observed.lastModified,
      });
    } catch (error) {
      if (!(error instanceof ObjectNotFoundError)) throw error;
      skipped.add(file.key);
      await registerObserved(deps, file, undefined);
    }
    return undefined;
  });
  return { raw: downloaded.filter((r): r is RawInput => r !== undefined), skipped };
}

/** Downloads the lake files a merge rewrites; any failure fails the attempt (none is skipped, as raw files are). */
export async function downloadLake(
  deps: Pick<CommitDeps, "objects" | "config">,
  files: readonly LakeFile[],
  dir: string,
): Promise<LakeInput[]> {
  return mapLimit(files, deps.config.downloadConcurrency, async (file, i) => {
    const localPath = join(dir, `${i}.parquet`);
    await deps.objects.download(deps.config.lakeBucket, file.key, localPath);
    return { lakeKey: file.key, localPath };
  });
}

async function registerObserved(
  deps: DownloadDeps,
  file: RawFileRecord,
  observed: { eTag: string; size: number; lastModified: Date } | undefined,
): Promise<void> {
  const outcome = await registerObservedVersion({
    store: deps.store,
    windows: deps.config,
    file: parsedKeyOf(file),
    recorded: file,
    observed,
    nowMs: deps.clock.now(),
  });
  deps.log.info(
    observed
      ? "raw object changed since it was registered; registered the version found"
      : "raw object is gone; registered its removal",
    { key: file.key, registered: file.eTag, found: observed?.eTag, result: outcome.result },
  );
}
