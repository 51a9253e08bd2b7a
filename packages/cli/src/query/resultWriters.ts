import { once } from "node:events";
import type { Writable } from "node:stream";

/**
 * Streaming printers for query results: rows arrive a DuckDB chunk (2048 rows) at a time
 * and leave as text straight away, so a large result never sits in memory as JS objects.
 */
export const OUTPUT_FORMATS = ["table", "json", "csv"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** A value as the JSON converter gives it: strings, numbers, booleans, null, lists, structs. */
export type Cell = unknown;

export interface ColumnInfo {
  readonly name: string;
  /** Right-aligned in a table. */
  readonly numeric: boolean;
}

export interface ResultWriter {
  begin(columns: readonly ColumnInfo[]): Promise<void>;
  rows(rows: readonly (readonly Cell[])[]): Promise<void>;
  /** Returns the number of rows written. */
  end(): Promise<number>;
}

export function createResultWriter(format: OutputFormat, out: Writable): ResultWriter {
  switch (format) {
    case "json":
      return jsonWriter(out);
    case "csv":
      return csvWriter(out);
    case "table":
      return tableWriter(out);
  }
}

/** Honours backpressure, so piping into a slow reader doesn't buffer the whole result. */
async function write(out: Writable, text: string): Promise<void> {
  if (text === "") return;
  if (!out.write(text)) await once(out, "drain");
}

/** A JSON array of objects, one per line. */
function jsonWriter(out: Writable): ResultWriter {
  let names: readonly string[] = [];
  let count = 0;
  return {
    async begin(columns) {
      names = columns.map((c) => c.name);
      await write(out, "[");
    },
    async rows(rows) {
      let text = "";
      for (const row of rows) {
        const object: Record<string, Cell> = {};
        names.forEach((name, i) => {
          object[name] = row[i] ?? null;
        });
        text += `${count === 0 ? "\n" : ",\n"}${JSON.stringify(object)}`;
        count++;
      }
      await write(out, text);
    },
    async end() {
      await write(out, count === 0 ? "]\n" : "\n]\n");
      return count;
    },
  };
}

/** RFC 4180: a header line, fields quoted when they hold a comma, quote or line break; NULL is empty. */
function csvWriter(out: Writable): ResultWriter {
  let count = 0;
  const line = (cells: readonly Cell[]) => `${cells.map((c) => csvField(c)).join(",")}\r\n`;
  return {
    async begin(columns) {
      await write(out, line(columns.map((c) => c.name)));
    },
    async rows(rows) {
      count += rows.length;
      await write(out, rows.map(line).join(""));
    },
    async end() {
      return count;
    },
  };
}

function csvField(value: Cell): string {
  if (value === null || value === undefined) return "";
  const text = plain(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * Aligned columns. Widths come from the first rows (held back until this many arrived);
 * later rows use the same widths, so a long result streams instead of waiting for the end.
 */
const TABLE_WIDTH_SAMPLE = 1000;
const NULL_TEXT = "NULL";

function tableWriter(out: Writable): ResultWriter {
  let columns: readonly ColumnInfo[] = [];
  let held: string[][] | undefined = [];
  let widths: number[] = [];
  let count = 0;
  const format = (cells: readonly string[]) =>
    cells
      .map((text, i) => (columns[i]?.numeric ? text.padStart(widths[i] ?? 0) : text.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  const flush = async () => {
    if (!held) return;
    const sample = held;
    held = undefined;
    widths = columns.map((c, i) => Math.max(c.name.length, ...sample.map((r) => r[i]?.length ?? 0)));
    const header = format(columns.map((c) => c.name));
    const rule = widths.map((w) => "-".repeat(w)).join("  ");
    await write(out, `${[header, rule, ...sample.map(format)].join("\n")}\n`);
  };
  return {
    async begin(info) {
      columns = info;
    },
    async rows(rows) {
      count += rows.length;
      const texts = rows.map((row) => columns.map((_, i) => tableCell(row[i])));
      if (held) {
        held.push(...texts);
        if (held.length >= TABLE_WIDTH_SAMPLE) await flush();
        return;
      }
      await write(out, `${texts.map(format).join("\n")}\n`);
    },
    async end() {
      await flush();
      return count;
    },
  };
}

function tableCell(value: Cell): string {
  if (value === null || value === undefined) return NULL_TEXT;
  // One line per row: control characters would break the layout.
  return plain(value).replace(/[\r\n\t]/g, " ");
}

function plain(value: Cell): string {
  if (typeof value === "string") return value;
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}
