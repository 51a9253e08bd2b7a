import type { UtcOffset } from "./zones.js";

/**
 * Zones with a fixed, non-whole-hour offset and no daylight saving: DuckDB's TimeZone takes
 * only ICU zone names (not "+05:30"), and the Etc/GMT±N names cover whole hours only.
 */
const FRACTIONAL_ZONES: Readonly<Record<number, string>> = {
  210: "Asia/Tehran",
  270: "Asia/Kabul",
  330: "Asia/Kolkata",
  345: "Asia/Kathmandu",
  390: "Asia/Yangon",
  525: "Australia/Eucla",
  570: "Australia/Darwin",
  [-570]: "Pacific/Marquesas",
};

/**
 * The DuckDB `TimeZone` that shows instants at a fixed UTC offset, or undefined when no
 * ICU zone has that offset all year (the caller then stays in UTC and says so).
 * Etc/GMT names have POSIX signs: Etc/GMT-8 is UTC+08:00.
 */
export function duckDbTimeZone(offset: UtcOffset): string | undefined {
  if (offset.minutes === 0) return "UTC";
  if (offset.minutes % 60 === 0) {
    const hours = offset.minutes / 60;
    if (hours < -12 || hours > 14) return undefined;
    return `Etc/GMT${hours > 0 ? "-" : "+"}${Math.abs(hours)}`;
  }
  return FRACTIONAL_ZONES[offset.minutes];
}
