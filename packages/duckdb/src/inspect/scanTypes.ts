import type * as FsModule from "node:fs";
import type * as ZlibModule from "node:zlib";

/** What one pass over a raw file found. */
export type RawScan =
  | {
      readonly kind: "ok";
      /** Lines holding anything but whitespace. */
      readonly lines: number;
      /** Lines that are one complete JSON object with distinct keys: the file's rows. */
      readonly validLines: number;
      /** 1-based physical line numbers of non-blank lines that are not (ascending). */
      readonly badLines: readonly number[];
      /** The first few bad lines with the reason, for the operator. */
      readonly badSamples: readonly { line: number; reason: string }[];
      /** Top-level keys in first-seen order with the ValueKind flags of their values. */
      readonly fields: readonly (readonly [string, number])[];
      /** DuckDB cannot read the original bytes as they are (bad lines, a BOM): read a cleaned copy. */
      readonly needsCleaning: boolean;
      readonly textBytes: number;
      /** Per entry of `fields` (same order): what the engine needs to read and count its values. */
      readonly fieldStats: readonly FieldStats[];
    }
  | { readonly kind: "unreadable"; readonly error: string };

/**
 * Counts over one field's values in the valid lines of one file. They let the engine read a
 * numeric column natively and still count exactly what became NULL: stray strings are rare
 * (an "N/A" here and there), so their texts are kept and cast on their own.
 */
export interface FieldStats {
  /** Values that are not JSON null. */
  readonly nonNull: number;
  /** Booleans, objects and arrays: none of them is a number. */
  readonly nonText: number;
  /**
   * The field's string values with how often each occurs; null when they were not all kept
   * (too many distinct ones, a long one, or strings before any number in the file).
   */
  readonly strings: readonly (readonly [string, number])[] | null;
}

export interface ScanModules {
  readonly fs: typeof FsModule;
  readonly zlib: typeof ZlibModule;
  readonly isUtf8: (input: Uint8Array) => boolean;
}

/** What a scan is asked to do beyond validating. */
export interface ScanOptions {
  /** Write the valid lines here: the cleaned copy DuckDB reads instead of the original. */
  readonly cleanTo?: string;
  /**
   * Give up the copy (delete it, keep scanning) once the file has inflated past this: its
   * temp disk was budgeted from the gzip size, and a file that inflates far more (a gzip
   * bomb) must not fill the disk. The copy is complete exactly when `textBytes` ≤ this.
   */
  readonly cleanMaxBytes?: number;
  /**
   * Keys to rewrite in the cleaned copy (raw key → lake column name), so DuckDB, whose
   * names are case-insensitive and which cannot take every key as an identifier, reads
   * each key under its own column name.
   */
  readonly renames?: Readonly<Record<string, string>>;
  /** Longer lines are bad lines, skipped without being held whole in memory. */
  readonly maxLineBytes: number;
  /** The scan stops, and the file is unreadable, once this many bytes have been inflated. */
  readonly maxInflatedBytes: number;
}

/**
 * One line's findings, overwritten by each `scan`: its key count, key-sequence hashes and,
 * per key position, the value's kind and the key's and scalar value's byte ranges. The
 * arrays are replaced (not resized) when a line has more keys than any before it, so read
 * them from here after each `scan`, never keep them.
 */
export interface ScannedLine {
  keyCount: number;
  h1: number;
  h2: number;
  keyBytes: number;
  kinds: Int32Array;
  keyStart: Int32Array;
  keyEnd: Int32Array;
  valueStart: Int32Array;
  valueEnd: Int32Array;
  /** Returns "" for a valid object line, "blank" for whitespace only, else the reason. */
  scan(b: Buffer, s: number, e: number): string;
  /** The key at position `pos` of the line just scanned in `b`, unescaped. */
  decodeKey(b: Buffer, pos: number): string;
}

/** What one worker keeps across the files it scans: the key-sequence cache. */
export interface ScanState {
  templates?: Map<number, unknown[]>;
  fieldIndex?: Map<string, number>;
  fieldNames?: string[];
}
