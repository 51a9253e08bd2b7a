/**
 * The environment every worker (Lambda or Fargate) gets: the settings the deploy was given
 * plus the names of the resources created here, under the same `COMPACTER_*` variables the
 * CLI reads. Handlers prefer SST's `Resource` and fall back to these; the CLI on Fargate
 * reads only these.
 */
import { SETTINGS } from "../packages/core/src/config/settings.js";
import { catalogDatabase, catalogTable } from "./catalog.js";
import { workerSettings } from "./deployConfig.js";
import { manifestTable } from "./manifest.js";
import { compactionDlq, compactionQueue, ingestDlq, ingestQueue } from "./queues.js";
import { lakeBucket, rawBucket } from "./storage.js";

export const resourceEnvironment = {
  [SETTINGS.rawBucket.env]: rawBucket.name,
  [SETTINGS.lakeBucket.env]: lakeBucket.name,
  [SETTINGS.manifestTable.env]: manifestTable.name,
  [SETTINGS.ingestQueueUrl.env]: ingestQueue.url,
  [SETTINGS.ingestDlqUrl.env]: ingestDlq.url,
  [SETTINGS.compactionQueueUrl.env]: compactionQueue.url,
  [SETTINGS.compactionDlqUrl.env]: compactionDlq.url,
  // The analysts' table (infra/catalog.ts): the compactor keeps it in step with the ledger.
  [SETTINGS.catalogDatabase.env]: catalogDatabase.name,
  [SETTINGS.catalogTable.env]: catalogTable.name,
} satisfies Record<string, $util.Output<string>>;

/** `overrides` are settings the runtime shape decides (temp dir, memory limit); explicit deploy settings win over them. */
export function workerEnvironment(
  overrides: Readonly<Record<string, string>> = {},
): Record<string, $util.Input<string>> {
  return { ...overrides, ...workerSettings, ...resourceEnvironment };
}
