/** Parsers for the human units settings are written in: "90s", "5m", "1h", "512MiB". */

const DURATION_UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

/** "90s" → 90000. A bare number is refused: a duration without a unit is a bug waiting. */
export function parseDurationMs(text: string): number {
  const trimmed = text.trim();
  if (trimmed === "0") return 0;
  const match = DURATION_PATTERN.exec(trimmed);
  if (!match)
    throw new RangeError(`'${text}' is not a duration; write it with a unit, e.g. 500ms, 90s, 5m, 1h`);
  return Math.round(Number(match[1]) * (DURATION_UNITS_MS[match[2] ?? ""] ?? Number.NaN));
}

export function formatDuration(ms: number): string {
  if (ms === 0) return "0";
  for (const [unit, size] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1_000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

const BYTES_PATTERN = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;

/** "512MiB" → 536870912; "1GB" → 1e9; a bare number is bytes. */
export function parseBytes(text: string): number {
  const match = BYTES_PATTERN.exec(text.trim());
  const unit = (match?.[2] ?? "").toLowerCase() || "b";
  const size = BYTE_UNITS[unit];
  if (!match || size === undefined) {
    throw new RangeError(`'${text}' is not a size; write it like 512MiB, 2GB or 1048576`);
  }
  return Math.round(Number(match[1]) * size);
}

export function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ["GiB", 2 ** 30],
    ["MiB", 2 ** 20],
    ["KiB", 2 ** 10],
  ] as const) {
    if (bytes >= size) {
      const value = bytes / size;
      return `${Number.isInteger(value) ? value : value.toFixed(1)}${unit}`;
    }
  }
  return `${bytes}B`;
}
