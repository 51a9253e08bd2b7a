import { ConfigError } from "../errors.js";
import { flagName, parseSettingValue } from "./parseSetting.js";
import { SETTINGS, type SettingName, type Settings } from "./settings.js";

export type CompacterConfig = Readonly<Settings>;

export interface ConfigSources {
  /** Usually `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Values given as CLI flags (raw text, as typed); they win over the environment. */
  readonly overrides?: Readonly<Partial<Record<SettingName, string>>>;
}

/**
 * How a message names a setting: both ways to give it, so the operator can fix it where
 * they set it (`COMPACTER_ZSTD_LEVEL / --zstd-level`), and the registry's name.
 */
export function settingLabel(name: SettingName): string {
  return `${SETTINGS[name].env} / ${flagName(name)} (${name})`;
}

/**
 * Builds the one typed config every entry point uses. All invalid values are reported
 * together, on one line, so an operator fixes them in one go.
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
    const origin = fromFlag !== undefined ? "from the flag" : fromEnv ? "from the environment" : "default";
    try {
      values[name] = parseSettingValue(name, raw);
    } catch (error) {
      problems.push(`${settingLabel(name)} ${origin}: ${(error as Error).message}`);
    }
  }
  if (problems.length === 0) problems.push(...crossChecks(values as CompacterConfig));
  if (problems.length > 0) throw new ConfigError(`invalid settings: ${problems.join("; ")}`);
  return values as CompacterConfig;
}

/**
 * A setting a role cannot work without (a queue URL for a consumer): unset, it is a
 * configuration error (the CLI exits 2 with this line), not a failure with a stack trace.
 */
export function requireSetting(config: CompacterConfig, name: SettingName, neededBy: string): void {
  if (config[name] === "") {
    throw new ConfigError(
      `${settingLabel(name)} is not set, and ${neededBy} needs it: run \`compacter dev\` (and load ` +
        "its env file) or set it for your deployment",
    );
  }
}

/** Settings that are valid alone but dangerous together. */
function crossChecks(config: CompacterConfig): string[] {
  const problems: string[] = [];
  // The orphan sweep deletes unreferenced objects under the staging prefix: an empty one
  // would be the whole bucket, and one inside the Hive tree would be visible to readers.
  if (config.stagingPrefix === "")
    problems.push(`${settingLabel("stagingPrefix")}: stagingPrefix must not be empty`);
  if (config.stagingPrefix.startsWith(`${config.lakePrefix}hiveperiod=`)) {
    problems.push(
      `${settingLabel("stagingPrefix")}: stagingPrefix must be outside the lake's Hive tree (lakePrefix + hiveperiod=…)`,
    );
  }
  return problems;
}
