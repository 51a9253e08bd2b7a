/**
 * The deploy's settings, read once from the environment `sst deploy` runs in (the shell plus
 * the `.env` / `.env.<stage>` files SST loads) and validated before any resource is declared.
 */

import { loadConfig } from "../packages/core/src/config/loadConfig.js";
import { ConfigError } from "../packages/core/src/errors.js";
import { STAGING_EXPIRY_DAYS } from "./sizing.js";
import { explicitWorkerSettings, readStageSettings } from "./stageSettings.js";

export const stage = readStageSettings(process.env);

/** The workers' settings as the functions will see them (for the values the infrastructure depends on). */
export const workerConfig = loadConfig({ env: process.env });

/** Passed to every worker as environment variables, exactly as written. */
export const workerSettings = explicitWorkerSettings(process.env);

// The staging lifecycle rule must never delete what the orphan sweep still considers live.
if (STAGING_EXPIRY_DAYS * 86_400_000 <= workerConfig.orphanSafetyAgeMs) {
  throw new ConfigError(
    `COMPACTER_ORPHAN_SAFETY_AGE must stay below the ${STAGING_EXPIRY_DAYS}-day expiry of the staging prefix`,
  );
}

// An empty staging prefix would expire the whole bucket; one that contains the lake would expire the lake.
if (workerConfig.stagingPrefix === "" || workerConfig.lakePrefix.startsWith(workerConfig.stagingPrefix)) {
  throw new ConfigError(
    `COMPACTER_STAGING_PREFIX ('${workerConfig.stagingPrefix}') must be non-empty and outside COMPACTER_LAKE_PREFIX ('${workerConfig.lakePrefix}'): objects under it expire after ${STAGING_EXPIRY_DAYS} days`,
  );
}
