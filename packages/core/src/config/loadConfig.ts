import { ConfigError } from "../errors.js";
import { parseSettingValue } from "./parseSetting.js";
import { SETTINGS, type SettingName, type Settings } from "./settings.js";

export type CompacterConfig = Readonly<Settings>;

export interface ConfigSources {
  /** Usually `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Values given as CLI flags (raw text, as typed); they win over the environment. */
  readonly overrides?: Readonly<Partial<Record<SettingName, string>>>;
}

/**
 * Builds the one typed config every entry point uses. All invalid values are reported
 * together so an operator fixes them in one go.
 */
export function loadConfig(sources: ConfigSources = {}): CompacterConfig {
  const env = sources.env ?? {};
  const overrides = sources.overrides ?? {};
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const spec = SETTINGS[name];
    const fromFlag = overrides[name];
    const fromEnv = env[spec.env];
    const raw = fromFlag ?? (fromEnv !== undefined && fromEnv !== "" ? fromEnv : spec.default);
    const origin = fromFlag !== undefined ? "flag" : fromEnv ? spec.env : "default";
    try {
      values[name] = parseSettingValue(name, raw);
    } catch (error) {
      problems.push(`${name} (${origin}): ${(error as Error).message}`);
    }
  }
  if (problems.length === 0) problems.push(...crossChecks(values as CompacterConfig));
  if (problems.length > 0) throw new ConfigError(`invalid settings:\n  ${problems.join("\n  ")}`);
  return values as CompacterConfig;
}

/** Settings that are valid alone but dangerous together. */
function crossChecks(config: CompacterConfig): string[] {
  const problems: string[] = [];
  // The orphan sweep deletes unreferenced objects under the staging prefix: an empty one
  // would be the whole bucket, and one inside the Hive tree would be visible to readers.
  if (config.stagingPrefix === "") problems.push("stagingPrefix must not be empty");
  if (config.stagingPrefix.startsWith(`${config.lakePrefix}hiveperiod=`)) {
    problems.push("stagingPrefix must be outside the lake's Hive tree (lakePrefix + hiveperiod=…)");
  }
  return problems;
}
