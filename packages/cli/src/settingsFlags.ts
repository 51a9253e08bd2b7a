import {
  type CompacterConfig,
  flagName,
  loadConfig,
  SETTINGS,
  type SettingName,
  type SettingSpec,
} from "@compacter/core";
import { type Command, Option } from "commander";

const VALUE_HINT: Record<SettingSpec["kind"], string> = {
  string: "<text>",
  duration: "<duration>",
  bytes: "<size>",
  integer: "<n>",
  offset: "<±HH:MM>",
  boolean: "<bool>",
};

/** commander's camelCase for a flag: "--close-after" → "closeAfter". */
function optionKey(name: SettingName): string {
  return flagName(name)
    .slice(2)
    .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Adds a `--flag` for each named setting (all settings when `names` is omitted). Help
 * text shows the environment variable and default, so `--help` documents both;
 * `commandDefaults` names the defaults a command applies itself instead of the registry's.
 */
export function addSettingFlags(
  command: Command,
  names?: readonly SettingName[],
  commandDefaults: Partial<Record<SettingName, string>> = {},
): Command {
  for (const name of names ?? (Object.keys(SETTINGS) as SettingName[])) {
    const spec: SettingSpec = SETTINGS[name];
    const shownDefault = commandDefaults[name] ?? spec.default;
    const fallback = shownDefault === "" ? "" : `, default ${shownDefault}`;
    command.addOption(
      new Option(
        `${flagName(name)} ${VALUE_HINT[spec.kind]}`,
        `${spec.description} [${spec.env}${fallback}]`,
      ),
    );
  }
  return command;
}

/** Flags > COMPACTER_* environment > defaults. */
export function configFromFlags(options: Record<string, unknown>): CompacterConfig {
  const overrides: Partial<Record<SettingName, string>> = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const value = options[optionKey(name)];
    if (typeof value === "string") overrides[name] = value;
  }
  return loadConfig({ env: process.env, overrides });
}
