/**
 * What a deploy reads from its environment: the shell running `sst deploy`, plus the `.env`
 * and `.env.<stage>` files SST loads into it. Two kinds:
 *
 * - the workers' own settings (`COMPACTER_*` from the core's registry): validated here so a
 *   typo fails the deploy instead of every function at run time, and handed to the functions
 *   as environment variables;
 * - knobs that only shape the infrastructure (below), which the workers never read.
 */

import { SETTINGS, type SettingName } from "../packages/core/src/config/settings.js";
import { ConfigError } from "../packages/core/src/errors.js";
import { COMPACTOR } from "./sizing.js";

type StageSettingKind = "string" | "boolean" | "integer";

interface StageSettingSpec {
  readonly kind: StageSettingKind;
  readonly env: string;
  readonly default: string;
  readonly description: string;
  readonly min?: number;
  readonly max?: number;
}

export const STAGE_SETTINGS = {
  existingRawBucket: {
    kind: "string",
    env: "COMPACTER_EXISTING_RAW_BUCKET",
    default: "",
    description:
      "Name of a raw bucket that already exists (same account and region): Compacter only adds its notification instead of creating a bucket.",
  },
  fargateCompactor: {
    kind: "boolean",
    env: "COMPACTER_FARGATE_COMPACTOR",
    default: "false",
    description:
      "Also deploy a VPC, an ECS cluster and a Fargate task running `compacter compact`, for partitions too large for Lambda.",
  },
  compactorMemoryMb: {
    kind: "integer",
    env: "COMPACTER_COMPACTOR_MEMORY_MB",
    default: String(COMPACTOR.defaultMemoryMb),
    min: 1024,
    max: 10_240,
    description: "Memory of the compactor function (MB); vCPUs scale with it.",
  },
  compactorMaxConcurrency: {
    kind: "integer",
    env: "COMPACTER_COMPACTOR_MAX_CONCURRENCY",
    default: "10",
    min: 2,
    max: 1000,
    description: "Most compactor invocations the compaction queue's event source runs at once.",
  },
  ingestMaxConcurrency: {
    kind: "integer",
    env: "COMPACTER_INGEST_MAX_CONCURRENCY",
    default: "10",
    min: 2,
    max: 1000,
    description:
      "Most ingest invocations the ingest queue's event source runs at once (caps manifest writes).",
  },
  alarmEmail: {
    kind: "string",
    env: "COMPACTER_ALARM_EMAIL",
    default: "",
    description: "Address subscribed to the alarm topic (AWS sends a confirmation mail first).",
  },
} as const satisfies Record<string, StageSettingSpec>;

type StageSettingName = keyof typeof STAGE_SETTINGS;

type ValueOf<K extends StageSettingKind> = K extends "boolean"
  ? boolean
  : K extends "integer"
    ? number
    : string;

export type StageSettings = {
  readonly [N in StageSettingName]: ValueOf<(typeof STAGE_SETTINGS)[N]["kind"]>;
};

/** Settings whose values the infrastructure decides (it creates the resources they name). */
export const RESOURCE_SETTINGS = [
  "rawBucket",
  "lakeBucket",
  "manifestTable",
  "ingestQueueUrl",
  "ingestDlqUrl",
  "compactionQueueUrl",
  "compactionDlqUrl",
] as const satisfies readonly SettingName[];

export function readStageSettings(env: Readonly<Record<string, string | undefined>>): StageSettings {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(STAGE_SETTINGS) as [StageSettingName, StageSettingSpec][]) {
    const raw = env[spec.env]?.trim() || spec.default;
    try {
      values[name] = parseStageValue(spec, raw);
    } catch (error) {
      problems.push(`${spec.env}: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(`invalid deploy settings:\n  ${problems.join("\n  ")}`);
  return values as StageSettings;
}

function parseStageValue(spec: StageSettingSpec, raw: string): string | number | boolean {
  switch (spec.kind) {
    case "string":
      return raw;
    case "boolean":
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new RangeError(`'${raw}' is not a boolean (true/false)`);
    case "integer": {
      if (!/^\d+$/.test(raw)) throw new RangeError(`'${raw}' is not a whole number`);
      const value = Number(raw);
      if (spec.min !== undefined && value < spec.min) throw new RangeError(`must be at least ${spec.min}`);
      if (spec.max !== undefined && value > spec.max) throw new RangeError(`must be at most ${spec.max}`);
      return value;
    }
  }
}

/**
 * The `COMPACTER_*` worker settings the deploy environment sets explicitly, as written
 * (defaults stay in the core, in one place). Resource settings are left out: the
 * infrastructure supplies those, and a local stack's values in the deploying shell must
 * never reach AWS.
 */
export function explicitWorkerSettings(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const resourceSettings: readonly SettingName[] = RESOURCE_SETTINGS;
  const explicit: Record<string, string> = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    if (resourceSettings.includes(name)) continue;
    const value = env[SETTINGS[name].env];
    if (value !== undefined && value !== "") explicit[SETTINGS[name].env] = value;
  }
  return explicit;
}
