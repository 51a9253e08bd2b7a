/**
 * A DuckDB identifier for any name, including names taken from raw data: wrapped in
 * double quotes with embedded quotes doubled. The only way a data-derived string enters
 * SQL text; values always travel as bound parameters.
 */
export function quoteIdentifier(name: string): string {
  if (name.includes("\u0000")) throw new RangeError("a column name cannot contain a NUL character");
  return `"${name.replaceAll('"', '""')}"`;
}
