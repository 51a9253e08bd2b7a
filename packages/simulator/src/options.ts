import {
  ConfigError,
  formatRawKey,
  HOUR_MS,
  hourStartOf,
  parseHourKey,
  parseRawKey,
  type RawKeyLayout,
  type UtcOffset,
} from "@compacter/core";

/** A simulator option has an invalid value (a usage error: the CLI exits 2). */
export class SimulationOptionsError extends ConfigError {}

/**
 * The dirty-data knobs. Each is a fraction in [0, 1], off (0) by default; which devices,
 * files or rows a knob hits is decided by the seed. A fraction of devices or files is
 * rounded to a count, at least 1 when the fraction is above 0; a fraction of rows or
 * lines is a per-row probability.
 */
export interface Knobs {
  /** Devices whose firmware, from some hour on, adds fields and renames one. */
  readonly drift: number;
  /** Rows where one numeric field holds "N/A" or a decimal comma ("12,5"). */
  readonly strayStrings: number;
  /** Lines cut short mid-object (every other one right after a `:`). */
  readonly badLines: number;
  /** Files whose gzip stream is cut short (mid-stream, or just its trailer missing). */
  readonly truncatedGzip: number;
  /** Files whose gzip trailer (CRC-32 or length) is wrong. */
  readonly badTrailer: number;
  /** Files that are gzip'd plain text, not NDJSON. */
  readonly notJson: number;
  /** Files that are 0-byte objects. */
  readonly emptyObjects: number;
  /** Files uploaded after all the others (after `lateDelayMs`). */
  readonly late: number;
  /** Files whose key is uploaded a second time, later, with different rows. */
  readonly reupload: number;
  /** Devices whose heartbeat is epoch milliseconds. */
  readonly msHeartbeat: number;
  /** Devices whose id holds a space, non-ASCII letters, `+` and quotes. */
  readonly oddKeys: number;
}

export const KNOB_NAMES = [
  "drift",
  "strayStrings",
  "badLines",
  "truncatedGzip",
  "badTrailer",
  "notJson",
  "emptyObjects",
  "late",
  "reupload",
  "msHeartbeat",
  "oddKeys",
] as const satisfies readonly (keyof Knobs)[];

export const NO_KNOBS: Knobs = Object.fromEntries(KNOB_NAMES.map((name) => [name, 0])) as unknown as Knobs;

export interface SimulationOptions {
  /** Where keys go: rawPrefix and keyTimeZone form the key; partitionTimeZone names each file's partition. */
  readonly layout: RawKeyLayout;
  /** @defaultvalue 1 */
  readonly seed?: number;
  /** @defaultvalue ["BRCB", "KDCB"] */
  readonly districts?: readonly string[];
  /** @defaultvalue 10 */
  readonly devicesPerDistrict?: number;
  /** @defaultvalue 2 */
  readonly hours?: number;
  /** Start of the first hour (epoch ms, on an hour of keyTimeZone). @defaultvalue the last `hours` closed hours before `nowMs` */
  readonly startHourMs?: number;
  /** Rows per full file, spread evenly over the hour (3600 = one per second). @defaultvalue 3600 */
  readonly rowsPerFile?: number;
  /** 6 is what devices use (zlib's default); 1 is ~2× faster and ~1.8× bigger. @defaultvalue 6 */
  readonly gzipLevel?: number;
  readonly knobs?: Partial<Knobs>;
  /** Pause before the late uploads start. @defaultvalue 0 */
  readonly lateDelayMs?: number;
  /** Objects being built, compressed or uploaded at once. @defaultvalue 8 */
  readonly concurrency?: number;
  /** "Now" for the default start hour. @defaultvalue Date.now() */
  readonly nowMs?: number;
}

export interface ResolvedOptions {
  readonly layout: RawKeyLayout;
  readonly seed: number;
  readonly districts: readonly string[];
  readonly devicesPerDistrict: number;
  readonly hours: number;
  readonly startHourMs: number;
  readonly rowsPerFile: number;
  readonly gzipLevel: number;
  readonly knobs: Knobs;
  readonly lateDelayMs: number;
  readonly concurrency: number;
}

export const SIMULATION_DEFAULTS = {
  seed: 1,
  districts: ["BRCB", "KDCB"],
  devicesPerDistrict: 10,
  hours: 2,
  rowsPerFile: 3600,
  gzipLevel: 6,
  lateDelayMs: 0,
  concurrency: 8,
} as const;

/** The kinds a file can be corrupted into; together they can't exceed all files. */
export const FILE_FAULT_KNOBS = ["emptyObjects", "notJson", "truncatedGzip", "badTrailer"] as const;

export function resolveOptions(options: SimulationOptions): ResolvedOptions {
  const problems: string[] = [];
  const integer = (name: string, value: number, min: number, max: number): number => {
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be a whole number in ${min}..${max}, got ${value}`);
    }
    return value;
  };
  const layout = options.layout;
  const seed = integer("seed", options.seed ?? SIMULATION_DEFAULTS.seed, 0, 2 ** 32 - 1);
  const districts = [...(options.districts ?? SIMULATION_DEFAULTS.districts)];
  if (districts.length === 0) problems.push("districts must name at least one district");
  if (new Set(districts).size !== districts.length) problems.push("districts must not repeat");
  const devicesPerDistrict = integer(
    "devices",
    options.devicesPerDistrict ?? SIMULATION_DEFAULTS.devicesPerDistrict,
    1,
    99_999,
  );
  const hours = integer("hours", options.hours ?? SIMULATION_DEFAULTS.hours, 1, 24 * 366);
  const rowsPerFile = integer(
    "rows-per-file",
    options.rowsPerFile ?? SIMULATION_DEFAULTS.rowsPerFile,
    1,
    3600,
  );
  const gzipLevel = integer("gzip-level", options.gzipLevel ?? SIMULATION_DEFAULTS.gzipLevel, 1, 9);
  const concurrency = integer("concurrency", options.concurrency ?? SIMULATION_DEFAULTS.concurrency, 1, 256);
  const lateDelayMs = options.lateDelayMs ?? SIMULATION_DEFAULTS.lateDelayMs;
  if (!Number.isFinite(lateDelayMs) || lateDelayMs < 0) problems.push("late-delay must be 0 or more");

  const startHourMs =
    options.startHourMs ?? hourStartOf(options.nowMs ?? Date.now(), layout.keyTimeZone) - hours * HOUR_MS;
  if (hourStartOf(startHourMs, layout.keyTimeZone) !== startHourMs) {
    problems.push(
      `start ${new Date(startHourMs).toISOString()} is not the start of an hour in ${layout.keyTimeZone.text}`,
    );
  }

  const knobs: Record<string, number> = {};
  for (const name of KNOB_NAMES) {
    const value = options.knobs?.[name] ?? 0;
    if (!(value >= 0 && value <= 1)) problems.push(`${name} must be a fraction in 0..1, got ${value}`);
    knobs[name] = value;
  }
  const faultShare = FILE_FAULT_KNOBS.reduce((sum, name) => sum + (knobs[name] ?? 0), 0);
  if (faultShare > 1) {
    problems.push(
      `${FILE_FAULT_KNOBS.join(" + ")} is ${faultShare}: a file is only one of those, keep the sum ≤ 1`,
    );
  }

  for (const district of districts) {
    const key = formatRawKey({ district, deviceId: "probe", hourStartMs: startHourMs }, layout);
    const parsed = parseRawKey(key, layout);
    if (!parsed.ok) problems.push(`district '${district}' makes keys the layout rejects: ${parsed.reason}`);
  }
  if (problems.length > 0)
    throw new SimulationOptionsError(`invalid simulation:\n  ${problems.join("\n  ")}`);
  return {
    layout,
    seed,
    districts,
    devicesPerDistrict,
    hours,
    startHourMs,
    rowsPerFile,
    gzipLevel,
    knobs: knobs as unknown as Knobs,
    lateDelayMs,
    concurrency,
  };
}

/** `--start YYYYMMDDHH` (an hour in keyTimeZone) → its start instant. */
export function parseStartHour(text: string, keyTimeZone: UtcOffset): number {
  const start = parseHourKey(text.trim(), keyTimeZone);
  if (start === undefined) {
    throw new SimulationOptionsError(`start '${text}' is not an hour in YYYYMMDDHH form (e.g. 2025121201)`);
  }
  return start;
}
