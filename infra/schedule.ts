/**
 * The sweep runs on a schedule: it turns due manifest entries into compaction jobs and
 * removes orphaned outputs. EventBridge's finest rate is one minute; a longer
 * COMPACTER_SWEEP_INTERVAL is honoured in whole minutes.
 */
import { sweepScheduleMinutes } from "../packages/core/src/deploy/lambdaShape.js";
import { workerConfig } from "./deployConfig.js";
import { sweepFunction } from "./functions.js";

const sweepMinutes = sweepScheduleMinutes(workerConfig.sweepIntervalMs);

export const sweepSchedule = new sst.aws.Cron("SweepSchedule", {
  schedule: sweepMinutes === 1 ? "rate(1 minute)" : `rate(${sweepMinutes} minutes)`,
  function: sweepFunction,
});
