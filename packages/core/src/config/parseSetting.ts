/**
 * Reading one setting's text (a flag or a COMPACTER_* variable) into its typed value; kept
 * apart from the registry so SETTINGS stays a list a reader can scan.
 */
import { parseUtcOffset } from "../time/zones.js";
import { SETTINGS, type SettingName, type SettingSpec } from "./settings.js";
import { formatBytes, formatDuration, parseBytes, parseDurationMs } from "./units.js";

/** "closeAfterMs" → "--close-after"; the unit suffix is dropped because values carry units. */
export function flagName(name: SettingName): string {
  const base = name.replace(/(Ms|Bytes)$/, "");
  return `--${base.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

export function parseSettingValue(name: SettingName, raw: string) {
  const spec: SettingSpec = SETTINGS[name];
  switch (spec.kind) {
    case "string":
      return raw;
    case "offset":
      return parseUtcOffset(raw);
    case "boolean":
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new RangeError(`'${raw}' is not a boolean (true/false)`);
    case "duration":
      return checkRange(spec, parseDurationMs(raw), formatDuration);
    case "bytes":
      return checkRange(spec, parseBytes(raw), formatBytes);
    case "integer": {
      if (!/^-?\d+$/.test(raw.trim())) throw new RangeError(`'${raw}' is not a whole number`);
      return checkRange(spec, Number(raw), String);
    }
  }
}

function checkRange(spec: SettingSpec, value: number, format: (n: number) => string): number {
  if (spec.min !== undefined && value < spec.min) {
    throw new RangeError(`must be at least ${format(spec.min)}`);
  }
  if (spec.max !== undefined && value > spec.max) {
    throw new RangeError(`must be at most ${format(spec.max)}`);
  }
  return value;
}
