import type { FieldStats, ScannedLine, ScanState } from "./scanTypes.js";

/** The fields of the valid lines of one file: what kinds of values each holds, and its strays. */
export interface FieldTally {
  /** Every field name a worker has seen (by field index), shared with the key-sequence cache. */
  readonly fieldNames: readonly string[];
  /**
   * Counts the line just scanned by `line` (a valid object) and returns its field index per
   * key position, or null when the line repeats a key (then nothing is counted).
   */
  count(b: Buffer): Int32Array | null;
  /** Top-level keys in first-seen order with the ValueKind flags of their values. */
  fields(): (readonly [string, number])[];
  /** Per entry of `fields()` (same order). */
  stats(): FieldStats[];
}

/**
 * Classifies the top-level values of a file's valid lines per field, and keeps a numeric
 * field's stray strings (FieldStats.strings). Field indexes come from the key-sequence
 * cache in `state`, so a line whose key sequence was seen before costs no key decoding.
 *
 * Self-contained on purpose (no imports): ScanPool's workers run it from its source text
 * (see SCAN_KIT); the line it reads comes in as `line`.
 */
export function createFieldTally(state: ScanState, line: ScannedLine): FieldTally {
  // Stray strings kept per field and file (FieldStats.strings), and the longest one kept.
  const MAX_STRINGS = 16;
  const MAX_STRING_BYTES = 256;
  // ValueKind flags (mirrors @compacter/core ValueKind; repeated in each factory that needs
  // them because only the function's own text reaches the worker).
  const K_NULL = 1;
  const K_BOOL = 2;
  const K_INT32 = 4;
  const K_INT64 = 8;
  const K_BIGNUM = 16;
  const K_REAL = 32;
  const K_STRING = 64;
  const K_NESTED = 128;

  interface Template {
    h2: number;
    count: number;
    keyBytes: number;
    /** Field index per key position, or null when the line repeats a key. */
    fieldIdx: Int32Array | null;
  }
  state.templates ??= new Map();
  state.fieldIndex ??= new Map();
  state.fieldNames ??= [];
  const templates = state.templates as Map<number, Template[]>;
  const fieldIndex = state.fieldIndex;
  const fieldNames = state.fieldNames;

  // Per-file results.
  let kinds = new Int32Array(Math.max(256, fieldNames.length * 2));
  let nonNull = new Int32Array(kinds.length);
  let nonText = new Int32Array(kinds.length);
  // 1 once a field's strings are no longer all kept.
  let unkept = new Uint8Array(kinds.length);
  const kept: (Map<string, number> | undefined)[] = [];
  const seenOrder: number[] = [];

  /** A copy of `a` with room for `n` entries (rare: a file with more fields). */
  function widened<T extends Int32Array | Uint8Array>(a: T, n: number): T {
    const wider = (a instanceof Int32Array ? new Int32Array(n) : new Uint8Array(n)) as T;
    wider.set(a);
    return wider;
  }

  function templateFor(b: Buffer): Template {
    const { h1, h2, keyCount, keyBytes } = line;
    const bucket = templates.get(h1);
    if (bucket) {
      for (const t of bucket) if (t.h2 === h2 && t.count === keyCount && t.keyBytes === keyBytes) return t;
    }
    const idx = new Int32Array(keyCount);
    const names = new Set<string>();
    let duplicate = false;
    for (let p = 0; p < keyCount; p++) {
      const name = line.decodeKey(b, p);
      if (names.has(name)) duplicate = true;
      names.add(name);
      let f = fieldIndex.get(name);
      if (f === undefined) {
        f = fieldNames.length;
        fieldNames.push(name);
        fieldIndex.set(name, f);
      }
      idx[p] = f;
    }
    const t: Template = { h2, count: keyCount, keyBytes, fieldIdx: duplicate ? null : idx };
    if (bucket) bucket.push(t);
    else templates.set(h1, [t]);
    return t;
  }

  // Keeps a string value of field f (key position p) unless the field's strings are
  // plainly text, not strays: none of its values so far was a number, or there are many.
  function keepString(b: Buffer, f: number, p: number, before: number): void {
    const s = line.valueStart[p]!;
    const e = line.valueEnd[p]!;
    if ((before & (K_INT32 | K_INT64 | K_BIGNUM | K_REAL)) === 0 || e - s > MAX_STRING_BYTES) {
      unkept[f] = 1;
      kept[f] = undefined;
      return;
    }
    let escaped = false;
    for (let j = s + 1; j < e - 1; j++) {
      if (b[j] === 92) {
        escaped = true;
        break;
      }
    }
    const text = escaped
      ? (JSON.parse(b.toString("utf8", s, e)) as string)
      : b.toString("utf8", s + 1, e - 1);
    let strings = kept[f];
    if (strings === undefined) {
      strings = new Map();
      kept[f] = strings;
    }
    const count = strings.get(text);
    if (count !== undefined) strings.set(text, count + 1);
    else if (strings.size < MAX_STRINGS) strings.set(text, 1);
    else {
      unkept[f] = 1;
      kept[f] = undefined;
    }
  }

  function count(b: Buffer): Int32Array | null {
    const t = templateFor(b);
    if (t.fieldIdx === null) return null;
    const idx = t.fieldIdx;
    if (fieldNames.length > kinds.length) {
      const n = fieldNames.length * 2;
      kinds = widened(kinds, n);
      nonNull = widened(nonNull, n);
      nonText = widened(nonText, n);
      unkept = widened(unkept, n);
    }
    const lineKinds = line.kinds;
    for (let p = 0; p < line.keyCount; p++) {
      const f = idx[p]!;
      const before = kinds[f]!;
      if (before === 0) seenOrder.push(f);
      const kind = lineKinds[p]!;
      kinds[f] = before | kind;
      if (kind === K_NULL) continue;
      nonNull[f] = nonNull[f]! + 1;
      if (kind === K_STRING) {
        if (unkept[f] === 0) keepString(b, f, p, before);
      } else if (kind === K_BOOL || kind === K_NESTED) nonText[f] = nonText[f]! + 1;
    }
    return idx;
  }

  return {
    fieldNames,
    count,
    fields: () => seenOrder.map((f) => [fieldNames[f]!, kinds[f]!] as const),
    stats: () =>
      seenOrder.map((f) => ({
        nonNull: nonNull[f]!,
        nonText: nonText[f]!,
        strings: unkept[f] === 1 ? null : [...(kept[f] ?? new Map<string, number>())],
      })),
  };
}
