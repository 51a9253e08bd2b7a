/**
 * Step 1 of the commit protocol (see commit.ts) and its undo: uploading the engine's
 * output under the staging prefix, and removing it again when the attempt does not commit.
 */
import { lakeFileKey, type PartitionId } from "../layout/partitions.js";
import type { LakeFile } from "../manifest/model.js";
import { mapLimit } from "../util/mapLimit.js";
import type { CommitDeps } from "./commit.js";
import type { EngineResult } from "./engine.js";

export interface StagedOutput {
  readonly local: string;
  readonly file: LakeFile;
  readonly stagingKey: string;
}

/**
 * Uploads the non-empty outputs. Each staging key is pushed to `stagedKeys` before its
 * upload starts, so a failure part-way still lets the caller discard what was uploaded.
 */
export async function stageOutputs(
  deps: Pick<CommitDeps, "objects" | "config">,
  partition: PartitionId,
  generation: number,
  attemptId: string,
  engineOutputs: EngineResult["outputs"],
  stagedKeys: string[],
): Promise<StagedOutput[]> {
  const { config } = deps;
  const outputs = engineOutputs
    .filter((o) => o.rows > 0)
    .map((o, i) => {
      const uid = `${String(generation).padStart(6, "0")}_${attemptId}_${i}`;
      return {
        local: o.localPath,
        file: {
          key: lakeFileKey(config.lakePrefix, partition, uid),
          rows: o.rows,
          bytes: o.bytes,
        } satisfies LakeFile,
        stagingKey: `${config.stagingPrefix}${partition.day}/${partition.district}/${attemptId}/data_${uid}.parquet`,
      };
    });
  await mapLimit(outputs, config.downloadConcurrency, async (o) => {
    stagedKeys.push(o.stagingKey);
    await deps.objects.upload(o.local, config.lakeBucket, o.stagingKey);
  });
  return outputs;
}

/** Best effort: what is left behind is no generation's, and the orphan sweep removes it. */
export async function discardAttempt(
  deps: Pick<CommitDeps, "store" | "objects" | "config" | "log">,
  partition: PartitionId,
  attemptId: string,
  stagedKeys: readonly string[],
  intentWritten: boolean,
): Promise<void> {
  try {
    if (intentWritten) await deps.store.deleteIntent(partition, attemptId);
    await deps.objects.deleteMany(deps.config.lakeBucket, stagedKeys);
  } catch (error) {
    deps.log.warn("could not discard staged output; the orphan sweep will", { error });
  }
}
