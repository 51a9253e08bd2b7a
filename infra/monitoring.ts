/**
 * What the alarms and the dashboard watch, and where their lines are, as plain data derived
 * from the deploy's settings: infra/alarms.ts and infra/dashboard.ts build resources from
 * these numbers, and test/infra checks them without the SST runtime. docs/deploy.md ("When
 * an alarm fires") explains each one.
 */
import type { CompacterConfig } from "../packages/core/src/config/loadConfig.js";
import { sweepScheduleMinutes } from "../packages/core/src/deploy/lambdaShape.js";
import { COMPACTOR, INGEST_QUEUE_VISIBILITY_SECONDS } from "./sizing.js";

export interface AlarmThresholds {
  /** One sweep interval: the period of the sweep and freshness alarms. */
  readonly sweepSeconds: number;
  /**
   * Lake freshness (seconds past due of the oldest raw file not in the lake) above which the
   * lake is late for real: one more window (closeAfter), one sweep interval to queue the job
   * and one compactor run (its timeout) — beyond that no healthy path explains the delay.
   */
  readonly lakeFreshnessSeconds: number;
  /** Consecutive sweep intervals without an invocation, or each with an error, that alarm. */
  readonly sweepIntervals: number;
  /** 80% of the compactor's timeout: a partition that close to it will soon need the Fargate task. */
  readonly compactorDurationMs: number;
  /**
   * Age of the ingest queue's oldest message: two visibility timeouts means a notification
   * failed twice, or ingest is that far behind — files the manifest does not know yet are
   * invisible to lake freshness, so this alarm covers the blind spot.
   */
  readonly ingestQueueAgeSeconds: number;
  /** Period of the compactor and queue alarms. */
  readonly periodSeconds: number;
  /**
   * A partition still failing this long after its first failure: longer than the first
   * back-off (COMPACTER_FAILURE_BACKOFF_BASE) plus one sweep, so a failure that heals at its
   * first retry does not page anyone.
   */
  readonly failingForSeconds: number;
}

export function alarmThresholds(
  config: Pick<CompacterConfig, "closeAfterMs" | "sweepIntervalMs" | "failureBackoffBaseMs">,
): AlarmThresholds {
  // The schedule (infra/schedule.ts) runs the sweep every whole minute at best.
  const sweepSeconds = 60 * sweepScheduleMinutes(config.sweepIntervalMs);
  const periodSeconds = 300;
  return {
    sweepSeconds,
    lakeFreshnessSeconds: Math.ceil(config.closeAfterMs / 1000) + sweepSeconds + COMPACTOR.timeoutSeconds,
    sweepIntervals: 3,
    compactorDurationMs: 0.8 * COMPACTOR.timeoutSeconds * 1000,
    ingestQueueAgeSeconds: 2 * INGEST_QUEUE_VISIBILITY_SECONDS,
    periodSeconds,
    failingForSeconds:
      periodSeconds * Math.ceil((config.failureBackoffBaseMs / 1000 + sweepSeconds) / periodSeconds + 1),
  };
}
