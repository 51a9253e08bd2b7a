/**
 * Fixed UTC offsets ("+08:00", "-03:30", "+05:45", "UTC").
 *
 * Raw keys carry a local hour without a zone, and the sites do not observe daylight
 * saving, so a fixed offset is the honest model: an IANA zone with DST would make some
 * key hours ambiguous (fall back) or impossible (spring forward).
 */
export interface UtcOffset {
  /** Minutes east of UTC (+08:00 → 480, -03:30 → -210). */
  readonly minutes: number;
  /** Canonical text, "+08:00". */
  readonly text: string;
}

const OFFSET_PATTERN = /^([+-])(\d{2}):?(\d{2})?$/;

export function parseUtcOffset(text: string): UtcOffset {
  const trimmed = text.trim();
  if (trimmed === "Z" || trimmed.toUpperCase() === "UTC") return { minutes: 0, text: "+00:00" };
  const match = OFFSET_PATTERN.exec(trimmed);
  if (!match) {
    throw new RangeError(`time zone '${text}' is not a fixed UTC offset like +08:00, -03:30 or UTC`);
  }
  const [, sign, hh, mm = "00"] = match;
  const hours = Number(hh);
  const minutes = Number(mm);
  if (hours > 14 || minutes > 59 || (hours === 14 && minutes > 0)) {
    throw new RangeError(`time zone '${text}' is outside -14:00..+14:00`);
  }
  const total = (sign === "-" ? -1 : 1) * (hours * 60 + minutes);
  return { minutes: total, text: formatOffset(total) };
}

export function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** The wall-clock fields of an instant as seen at a fixed offset. */
export function wallClock(instantMs: number, offset: UtcOffset) {
  const shifted = new Date(instantMs + offset.minutes * MINUTE_MS);
  return {
    year: shifted.getUTCFullYear(),
    month: shifted.getUTCMonth() + 1,
    day: shifted.getUTCDate(),
    hour: shifted.getUTCHours(),
  };
}

/** The instant at which a wall-clock time at a fixed offset happens. */
export function instantOf(
  wall: { year: number; month: number; day: number; hour?: number },
  offset: UtcOffset,
): number {
  return Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour ?? 0) - offset.minutes * MINUTE_MS;
}

/** "YYYY-MM-DD" of an instant at a fixed offset. */
export function isoDay(instantMs: number, offset: UtcOffset): string {
  const w = wallClock(instantMs, offset);
  return `${w.year}-${pad2(w.month)}-${pad2(w.day)}`;
}

const DAY_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Parses "YYYY-MM-DD", rejecting impossible dates such as 2025-02-30. */
export function parseIsoDay(day: string): { year: number; month: number; day: number } {
  const match = DAY_PATTERN.exec(day);
  if (!match) throw new RangeError(`'${day}' is not a date in YYYY-MM-DD form`);
  const wall = { year: Number(match[1]), month: Number(match[2]), day: Number(match[3]) };
  if (!isRealDate(wall.year, wall.month, wall.day)) throw new RangeError(`'${day}' is not a real date`);
  return wall;
}

/** Start of a partition day (00:00 at the offset) as an instant. */
export function dayStart(day: string, offset: UtcOffset): number {
  return instantOf(parseIsoDay(day), offset);
}

/** Days from `from` to `to` inclusive, in order. */
export function daysBetween(from: string, to: string): string[] {
  const start = Date.UTC(...ymd(parseIsoDay(from)));
  const end = Date.UTC(...ymd(parseIsoDay(to)));
  const days: string[] = [];
  for (let t = start; t <= end; t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

function ymd(w: { year: number; month: number; day: number }): [number, number, number] {
  return [w.year, w.month - 1, w.day];
}

export function isRealDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

export function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
