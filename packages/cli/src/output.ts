/** Printing helpers: aligned tables for people, JSON for machines. */

export type Row = Record<string, unknown>;

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** An aligned text table; numbers are right-aligned. */
export function formatTable(rows: readonly Row[], columns?: readonly string[]): string {
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  if (rows.length === 0) return "(none)\n";
  const text = rows.map((r) => cols.map((c) => cell(r[c])));
  const numeric = cols.map((c) => rows.every((r) => r[c] === undefined || typeof r[c] === "number"));
  const widths = cols.map((c, i) => Math.max(c.length, ...text.map((t) => (t[i] ?? "").length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => (numeric[i] ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return `${[line(cols), line(widths.map((w) => "-".repeat(w))), ...text.map(line)].join("\n")}\n`;
}

export function printTable(rows: readonly Row[], columns?: readonly string[]): void {
  process.stdout.write(formatTable(rows, columns));
}

/**
 * Progress on a TTY only: one self-overwriting line on stderr, cut to the terminal's
 * width (a wrapped line can't be overwritten).
 */
export function progressLine(text: string): void {
  if (!process.stderr.isTTY) return;
  const width = process.stderr.columns > 1 ? process.stderr.columns - 1 : text.length;
  process.stderr.write(`\r\x1b[2K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
}

export function endProgress(): void {
  if (process.stderr.isTTY) process.stderr.write("\r\x1b[2K");
}
