import { createHash } from "node:crypto";
import { ADDED_COLUMNS, PARTITION_COLUMNS } from "./columns.js";

/**
 * The lake column of a raw JSON key: one rule, lake-wide, that depends on the key alone
 * (never on which other keys a file happens to have), so one key is one column in every
 * partition and every engine.
 *
 * - A key that is already a plain name — `[a-z][a-z0-9_]*`, at most
 *   {@link PLAIN_NAME_MAX_LENGTH} characters, not shaped like an escaped name and not
 *   reserved — is its own column: `speed` → `speed`. Real fleet keys are snake_case, so
 *   this is the common path.
 * - Every other key becomes `<prefix>__<hash>`: the prefix is the key lower-cased, accents
 *   stripped, every run of other characters turned into `_` (at most
 *   {@link ESCAPED_PREFIX_MAX_LENGTH} characters; `field` when nothing is left), and the
 *   hash is the first 12 hex digits of the SHA-256 of the key's exact UTF-8 bytes:
 *   `Speed` → `speed__<hash>`, `""` → `field__<hash>`, `device_id` → `device_id__<hash>`.
 *
 * Why: DuckDB, Parquet readers, Athena and Glue treat names case-insensitively (Glue
 * lower-cases them and accepts only `[a-z0-9_]`, ≤ 255 characters), so `Speed` and
 * `speed` cannot be two columns as they are, and `""` is no identifier at all. Plain names
 * never end in `__` + 12 hex digits and escaped names always do, so the two never meet;
 * two keys share a column only if their 48-bit hashes and prefixes both collide.
 * The mapping is recorded (generation history, Parquet key-value metadata) because an
 * escaped name cannot be turned back into its key by reading it.
 */
export function columnNameForField(key: string): string {
  if (isPlainColumnName(key)) return key;
  return `${escapedPrefix(key)}__${keyHash(key)}`;
}

/** Longest key kept as its own column name. */
export const PLAIN_NAME_MAX_LENGTH = 128;
/** Longest readable prefix of an escaped name (the whole name stays ≤ 54 characters). */
export const ESCAPED_PREFIX_MAX_LENGTH = 40;
const HASH_HEX_DIGITS = 12;

/**
 * Names a raw key may not keep: the columns Compacter adds, the Hive partition columns
 * (in the path, not the file), and names DuckDB gives a meaning of its own in the queries
 * the engine runs (`rowid` of a table, `filename`/`file_row_number` of a Parquet read).
 */
export const RESERVED_COLUMN_NAMES: readonly string[] = [
  ...ADDED_COLUMNS,
  ...PARTITION_COLUMNS,
  "rowid",
  "filename",
  "file_row_number",
];

const PLAIN = /^[a-z][a-z0-9_]*$/;
const ESCAPED_SHAPE = new RegExp(`__[0-9a-f]{${HASH_HEX_DIGITS}}$`);

/** Whether a key is its own column name under {@link columnNameForField}. */
export function isPlainColumnName(key: string): boolean {
  return (
    key.length <= PLAIN_NAME_MAX_LENGTH &&
    PLAIN.test(key) &&
    !ESCAPED_SHAPE.test(key) &&
    !RESERVED_COLUMN_NAMES.includes(key)
  );
}

/** Whether a column name is an escaped key (`<prefix>__<12 hex digits>`). */
export function isEscapedColumnName(name: string): boolean {
  return ESCAPED_SHAPE.test(name);
}

function escapedPrefix(key: string): string {
  const folded = key
    .normalize("NFKD")
    .replace(/\p{M}+/gu, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, ESCAPED_PREFIX_MAX_LENGTH)
    .replace(/_+$/, "");
  if (folded === "") return "field";
  return /^[0-9]/.test(folded) ? `field_${folded}`.slice(0, ESCAPED_PREFIX_MAX_LENGTH) : folded;
}

function keyHash(key: string): string {
  return createHash("sha256").update(wtf8Bytes(key)).digest("hex").slice(0, HASH_HEX_DIGITS);
}

/**
 * The key's UTF-8 bytes. A JSON key can hold a lone surrogate (`"\ud800"`), which UTF-8
 * cannot; it is encoded as WTF-8 does (three bytes, like any other BMP code point), so two
 * different keys never hash the same bytes. Node's own encoder would turn every lone
 * surrogate into U+FFFD.
 */
export function wtf8Bytes(key: string): Uint8Array {
  const bytes: number[] = [];
  for (const ch of key) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) bytes.push(cp);
    else if (cp < 0x800) bytes.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
    else if (cp < 0x10000) bytes.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    else bytes.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  }
  return Uint8Array.from(bytes);
}

/** One raw key and the lake column holding its values, for the recorded mapping. */
export interface FieldColumn {
  readonly field: string;
  readonly column: string;
}

/** The keys among `fields` whose column name differs from the key, with their columns. */
export function renamedFields(fields: Iterable<string>): FieldColumn[] {
  const renamed: FieldColumn[] = [];
  for (const field of fields) {
    const column = columnNameForField(field);
    if (column !== field) renamed.push({ field, column });
  }
  return renamed;
}
