import { HOUR_MS, instantOf, isoDay, isRealDate, pad2, type UtcOffset, wallClock } from "../time/zones.js";
import type { PartitionId } from "./partitions.js";

/**
 * The raw bucket's key layout:
 *   [rawPrefix]{district}/{deviceId}/{YYYYMMDDHH}/{YYYYMMDDHH}.txt.gz
 * The hour is local time in `keyTimeZone`; the partition day is that hour's start seen
 * in `partitionTimeZone`.
 */
export interface RawKeyLayout {
  readonly rawPrefix: string;
  readonly keyTimeZone: UtcOffset;
  readonly partitionTimeZone: UtcOffset;
}

export interface ParsedRawKey {
  readonly key: string;
  readonly district: string;
  readonly deviceId: string;
  /** The key's hour as written, "YYYYMMDDHH" in keyTimeZone. */
  readonly hourKey: string;
  /** The hour's start as an instant (epoch ms). */
  readonly hourStartMs: number;
  readonly partition: PartitionId;
}

export type RawKeyParse = { ok: true; value: ParsedRawKey } | { ok: false; reason: string };

export const RAW_SUFFIX = ".txt.gz";

/**
 * District names become a Hive directory and a partition value that every engine must
 * read back verbatim, so they are held to a conservative character set.
 */
const DISTRICT_PATTERN = /^[A-Za-z0-9_.-]+$/;
const HOUR_KEY_PATTERN = /^\d{10}$/;

export function parseRawKey(key: string, layout: RawKeyLayout): RawKeyParse {
  const reject = (reason: string): RawKeyParse => ({ ok: false, reason });
  if (!key.startsWith(layout.rawPrefix)) {
    return reject(`key is outside the raw prefix '${layout.rawPrefix}'`);
  }
  const rest = key.slice(layout.rawPrefix.length);
  const segments = rest.split("/");
  if (segments.length !== 4) {
    return reject(
      `expected {district}/{deviceId}/{YYYYMMDDHH}/{YYYYMMDDHH}${RAW_SUFFIX} after the prefix, got ${segments.length} path segment(s)`,
    );
  }
  const [district = "", deviceId = "", folderHour = "", fileName = ""] = segments;
  if (!fileName.endsWith(RAW_SUFFIX))
    return reject(`file name '${fileName}' does not end with ${RAW_SUFFIX}`);
  const fileHour = fileName.slice(0, -RAW_SUFFIX.length);
  if (district === "") return reject("district segment is empty");
  if (!DISTRICT_PATTERN.test(district)) {
    return reject(`district '${district}' has characters outside [A-Za-z0-9_.-]`);
  }
  if (deviceId.trim() === "") return reject("device id segment is empty");
  if (!HOUR_KEY_PATTERN.test(folderHour))
    return reject(`folder '${folderHour}' is not an hour in YYYYMMDDHH form`);
  if (fileHour !== folderHour)
    return reject(`folder hour ${folderHour} does not match file hour '${fileHour}'`);
  const hourStartMs = parseHourKey(fileHour, layout.keyTimeZone);
  if (hourStartMs === undefined) return reject(`hour ${fileHour} is not a real date and hour`);
  return {
    ok: true,
    value: {
      key,
      district,
      deviceId,
      hourKey: fileHour,
      hourStartMs,
      partition: { day: isoDay(hourStartMs, layout.partitionTimeZone), district },
    },
  };
}

/** "YYYYMMDDHH" at an offset → the hour's start instant, or undefined if impossible. */
export function parseHourKey(hourKey: string, zone: UtcOffset): number | undefined {
  if (!HOUR_KEY_PATTERN.test(hourKey)) return undefined;
  const year = Number(hourKey.slice(0, 4));
  const month = Number(hourKey.slice(4, 6));
  const day = Number(hourKey.slice(6, 8));
  const hour = Number(hourKey.slice(8, 10));
  if (!isRealDate(year, month, day) || hour > 23) return undefined;
  return instantOf({ year, month, day, hour }, zone);
}

export function formatHourKey(hourStartMs: number, zone: UtcOffset): string {
  const w = wallClock(hourStartMs, zone);
  return `${w.year}${pad2(w.month)}${pad2(w.day)}${pad2(w.hour)}`;
}

export function formatRawKey(
  input: { district: string; deviceId: string; hourStartMs: number },
  layout: Pick<RawKeyLayout, "rawPrefix" | "keyTimeZone">,
): string {
  const hour = formatHourKey(input.hourStartMs, layout.keyTimeZone);
  return `${layout.rawPrefix}${input.district}/${input.deviceId}/${hour}/${hour}${RAW_SUFFIX}`;
}

/** Floors an instant to the start of its hour at a zone (offsets may be half-hour). */
export function hourStartOf(instantMs: number, zone: UtcOffset): number {
  const shift = zone.minutes * 60_000;
  return Math.floor((instantMs + shift) / HOUR_MS) * HOUR_MS - shift;
}
