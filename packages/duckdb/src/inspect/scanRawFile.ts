// biome-ignore-all lint/suspicious/noAssignInExpressions: the byte scanner reads and tests a byte in one step; it is the hot loop of every compaction.
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
 * Validates a raw file completely in one streaming pass: the gzip framing (DuckDB reads
 * through a missing trailer or a bad CRC), every line against the JSON grammar the way
 * DuckDB's yyjson reads it, and the kinds of every top-level value. The per-line work is
 * a byte state machine; keys are only decoded when a line's key sequence (hashed) has not
 * been seen before, which keeps the common case to one pass over the bytes.
 *
 * Self-contained on purpose (no imports, no closures): worker threads run it from its
 * source text, which works the same under tsx, vitest and a bundler. `state` persists the
 * key-sequence cache across the files one worker scans.
 *
 * When `cleanTo` is set, the valid lines are also written there (keys in `renames`
 * rewritten): the cleaned copy DuckDB reads instead of a file with bad lines or keys it
 * cannot take as they are.
 *
 * Memory and time stay linear and bounded whatever the file holds: an unfinished line is
 * kept as a list of chunks (joined once, at its end) and dropped as soon as it passes
 * `maxLineBytes`; inflation stops at `maxInflatedBytes` (a gzip bomb).
 */
export async function scanRawFile(
  path: string,
  modules: ScanModules,
  state: { templates?: Map<number, unknown[]>; fieldIndex?: Map<string, number>; fieldNames?: string[] },
  options: ScanOptions,
): Promise<RawScan> {
  const { fs, zlib, isUtf8 } = modules;
  const { cleanTo, cleanMaxBytes, renames, maxLineBytes: MAX_LINE, maxInflatedBytes } = options;
  // Stray strings kept per field and file (FieldStats.strings), and the longest one kept.
  const MAX_STRINGS = 16;
  const MAX_STRING_BYTES = 256;
  // ValueKind flags (mirrors @compacter/core ValueKind; duplicated to stay self-contained).
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
  const templates = (state.templates ??= new Map()) as Map<number, Template[]>;
  const fieldIndex = (state.fieldIndex ??= new Map());
  const fieldNames = (state.fieldNames ??= []);

  let size: number;
  let head: Buffer;
  {
    const fd = fs.openSync(path, "r");
    try {
      size = fs.fstatSync(fd).size;
      head = Buffer.alloc(2);
      fs.readSync(fd, head, 0, 2, 0);
    } finally {
      fs.closeSync(fd);
    }
  }
  if (size === 0) return { kind: "unreadable", error: "file is empty (0 bytes)" };
  if (size < 2 || head[0] !== 0x1f || head[1] !== 0x8b) {
    return {
      kind: "unreadable",
      error: "not a gzip file (it does not start with the gzip magic bytes 1f 8b)",
    };
  }

  // Per-file results.
  let kinds = new Int32Array(Math.max(256, fieldNames.length * 2));
  let nonNull = new Int32Array(kinds.length);
  let nonText = new Int32Array(kinds.length);
  // 1 once a field's strings are no longer all kept.
  let unkept = new Uint8Array(kinds.length);
  const kept: (Map<string, number> | undefined)[] = [];
  const seenOrder: number[] = [];
  let physical = 0;
  let nonBlank = 0;
  let valid = 0;
  let textBytes = 0;
  let needsCleaning = false;
  const badLines: number[] = [];
  const badSamples: { line: number; reason: string }[] = [];

  // Per-line scratch, sized for the widest line seen so far.
  let cap = 512;
  let lineKinds = new Int32Array(cap);
  let keyStart = new Int32Array(cap);
  let keyEnd = new Int32Array(cap);
  let keyEscaped = new Uint8Array(cap);
  let valueStart = new Int32Array(cap);
  let valueEnd = new Int32Array(cap);
  const stack = new Uint8Array(4096);
  let keyCount = 0;
  let h1 = 0;
  let h2 = 0;
  let keyBytes = 0;

  const INT32_MAX = [50, 49, 52, 55, 52, 56, 51, 54, 52, 55]; // "2147483647"
  const INT64_MAX = [57, 50, 50, 51, 51, 55, 50, 48, 51, 54, 56, 53, 52, 55, 55, 53, 56, 48, 55]; // "9223372036854775807"

  /** A copy of `a` with room for `n` entries (rare: a line with more keys, a file with more fields). */
  function widened<T extends Int32Array | Uint8Array>(a: T, n: number): T {
    const wider = (a instanceof Int32Array ? new Int32Array(n) : new Uint8Array(n)) as T;
    wider.set(a);
    return wider;
  }

  function grow(): void {
    cap *= 2;
    lineKinds = widened(lineKinds, cap);
    keyStart = widened(keyStart, cap);
    keyEnd = widened(keyEnd, cap);
    keyEscaped = widened(keyEscaped, cap);
    valueStart = widened(valueStart, cap);
    valueEnd = widened(valueEnd, cap);
  }

  /** digits b[from..to) ≤ limit (same length), with the last digit raised by one for a negative bound. */
  function fitsLimit(b: Buffer, from: number, to: number, limit: number[], negative: boolean): boolean {
    const n = to - from;
    if (n !== limit.length) return n < limit.length;
    for (let j = 0; j < n; j++) {
      const d = b[from + j]!;
      const l = limit[j]! + (negative && j === n - 1 ? 1 : 0);
      if (d !== l) return d < l;
    }
    return true;
  }

  const isEscape = (x: number | undefined) =>
    x === 34 || x === 92 || x === 47 || x === 98 || x === 102 || x === 110 || x === 114 || x === 116;
  const isHex = (c: number) => (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);

  // Validates one nested object/array starting at b[i] ('{' or '['). Returns the index
  // after it, or -1 with `nestedError` set. Rare in telemetry, so a plain state machine.
  let nestedError = "";
  function skipNested(b: Buffer, i: number, e: number): number {
    let depth = 0;
    // States: 1 key or '}', 2 key, 3 ':', 4 value, 5 value or ']', 6 ',' or close.
    let st = 4;
    let c = 0;
    for (;;) {
      while (i < e && ((c = b[i]!) === 32 || c === 9 || c === 13)) i++;
      if (i >= e) {
        nestedError = "truncated (the line ends inside the object)";
        return -1;
      }
      if (st === 6) {
        const top = stack[depth - 1];
        if (c === 44) {
          i++;
          st = top === 1 ? 2 : 4;
          continue;
        }
        if ((c === 125 && top === 1) || (c === 93 && top === 2)) {
          depth--;
          i++;
          if (depth === 0) return i;
          continue;
        }
        nestedError = "expected ',' or a closing bracket";
        return -1;
      }
      if (st === 3) {
        if (c !== 58) {
          nestedError = "expected ':' after a key";
          return -1;
        }
        i++;
        st = 4;
        continue;
      }
      if (st === 1 && c === 125) {
        depth--;
        i++;
        if (depth === 0) return i;
        st = 6;
        continue;
      }
      if (st === 5 && c === 93) {
        depth--;
        i++;
        if (depth === 0) return i;
        st = 6;
        continue;
      }
      if (st === 1 || st === 2) {
        if (c !== 34) {
          nestedError = "expected a key";
          return -1;
        }
        i = skipString(b, i, e);
        if (i < 0) return -1;
        st = 3;
        continue;
      }
      // A value.
      if (c === 123 || c === 91) {
        if (depth === stack.length) {
          nestedError = "nested too deeply";
          return -1;
        }
        stack[depth++] = c === 123 ? 1 : 2;
        i++;
        st = c === 123 ? 1 : 5;
        continue;
      }
      const kind = scalar(b, i, e);
      if (kind === 0) return -1;
      i = scalarEnd;
      st = 6;
    }
  }

  // Validates a string starting at the quote b[i]; returns the index after the closing quote.
  function skipString(b: Buffer, i: number, e: number): number {
    i++;
    for (;;) {
      const d = b[i]!;
      if (d === 34) return i + 1;
      if (d < 32 || i >= e) {
        nestedError =
          i >= e ? "truncated (the line ends inside a string)" : "control character inside a string";
        return -1;
      }
      if (d === 92) {
        const x = b[i + 1];
        if (x === 117) {
          if (
            i + 5 >= e ||
            !isHex(b[i + 2]!) ||
            !isHex(b[i + 3]!) ||
            !isHex(b[i + 4]!) ||
            !isHex(b[i + 5]!)
          ) {
            nestedError = "bad \\u escape";
            return -1;
          }
          i += 6;
          continue;
        }
        if (!isEscape(x)) {
          nestedError = "bad escape in a string";
          return -1;
        }
        i += 2;
        continue;
      }
      i++;
    }
  }

  // Validates a scalar (number, string, literal) at b[i]; returns its kind (0 on error,
  // with `nestedError` set) and leaves the index after it in `scalarEnd`.
  let scalarEnd = 0;
  function scalar(b: Buffer, i: number, e: number): number {
    let c = b[i]!;
    if (c === 34) {
      scalarEnd = skipString(b, i, e);
      return scalarEnd < 0 ? 0 : K_STRING;
    }
    if (c === 45 || (c >= 48 && c <= 57)) {
      const negative = c === 45;
      if (negative) c = b[++i]!;
      const ds = i;
      if (c === 48) i++;
      else if (c >= 49 && c <= 57 && i < e) {
        i++;
        while ((c = b[i]!) >= 48 && c <= 57 && i < e) i++;
      } else {
        nestedError = "bad number";
        return 0;
      }
      const de = i;
      let real = false;
      c = b[i]!;
      if (c === 46 && i < e) {
        c = b[++i]!;
        if (!(c >= 48 && c <= 57 && i < e)) {
          nestedError = "bad number";
          return 0;
        }
        while ((c = b[i]!) >= 48 && c <= 57 && i < e) i++;
        real = true;
      }
      if ((c === 101 || c === 69) && i < e) {
        c = b[++i]!;
        if (c === 43 || c === 45) c = b[++i]!;
        if (!(c >= 48 && c <= 57 && i < e)) {
          nestedError = "bad number";
          return 0;
        }
        while ((c = b[i]!) >= 48 && c <= 57 && i < e) i++;
        real = true;
      }
      scalarEnd = i;
      if (real) return K_REAL;
      if (de - ds < 10 || fitsLimit(b, ds, de, INT32_MAX, negative)) return K_INT32;
      if (fitsLimit(b, ds, de, INT64_MAX, negative)) return K_INT64;
      return K_BIGNUM;
    }
    if (c === 116 && i + 4 <= e && b[i + 1] === 114 && b[i + 2] === 117 && b[i + 3] === 101) {
      scalarEnd = i + 4;
      return K_BOOL;
    }
    if (
      c === 102 &&
      i + 5 <= e &&
      b[i + 1] === 97 &&
      b[i + 2] === 108 &&
      b[i + 3] === 115 &&
      b[i + 4] === 101
    ) {
      scalarEnd = i + 5;
      return K_BOOL;
    }
    if (c === 110 && i + 4 <= e && b[i + 1] === 117 && b[i + 2] === 108 && b[i + 3] === 108) {
      scalarEnd = i + 4;
      return K_NULL;
    }
    nestedError = i >= e ? "truncated (the line ends where a value should be)" : "bad value";
    return 0;
  }

  // Returns "" for a valid object line, "blank" for whitespace only, else the reason.
  // The top level is a straight loop (key, ':', value, ',') because that is where the
  // bytes are; nested values go through skipNested. Hash state lives in locals and is
  // published to the outer variables at the end.
  function scanLine(b: Buffer, s: number, e: number): string {
    let i = s;
    let c = 0;
    while (i < e && ((c = b[i]!) === 32 || c === 9 || c === 13)) i++;
    if (i === e) return "blank";
    if (c !== 123) return "not a JSON object";
    let kc = 0;
    let h = 0x811c9dc5 | 0;
    let hk = 7;
    let kb = 0;
    let lk = lineKinds;
    i++;
    while (i < e && ((c = b[i]!) === 32 || c === 9 || c === 13)) i++;
    if (c === 125 && i < e) {
      i++;
    } else {
      for (;;) {
        if (i >= e) return "truncated (the line ends inside the object)";
        if (b[i] !== 34) return "expected a key";
        const ks = ++i;
        let escaped = 0;
        for (;;) {
          const d = b[i]!;
          if (d === 34) break;
          if (d < 32 || i >= e)
            return i >= e ? "truncated (the line ends inside a key)" : "control character inside a string";
          if (d === 92) {
            escaped = 1;
            const x = b[i + 1];
            const n = x === 117 ? 6 : 2;
            if (x === 117) {
              if (
                i + 5 >= e ||
                !isHex(b[i + 2]!) ||
                !isHex(b[i + 3]!) ||
                !isHex(b[i + 4]!) ||
                !isHex(b[i + 5]!)
              )
                return "bad \\u escape";
            } else if (!isEscape(x)) return "bad escape in a string";
            for (let j = i; j < i + n; j++) h = Math.imul(h ^ b[j]!, 16777619);
            i += n;
            continue;
          }
          h = Math.imul(h ^ d, 16777619);
          i++;
        }
        if (kc === lk.length) {
          grow();
          lk = lineKinds;
        }
        keyStart[kc] = ks;
        keyEnd[kc] = i;
        keyEscaped[kc] = escaped;
        kc++;
        kb += i - ks;
        h = Math.imul(h ^ 0x100, 16777619);
        hk = (Math.imul(hk, 0x5bd1e995) + h) | 0;
        i++;
        c = b[i]!;
        if (c === 32 || c === 9 || c === 13) {
          while (i < e && ((c = b[i]!) === 32 || c === 9 || c === 13)) i++;
        }
        if (c !== 58 || i >= e)
          return i >= e ? "truncated (the line ends after a key)" : "expected ':' after a key";
        c = b[++i]!;
        if (c === 32 || c === 9 || c === 13) {
          while (i < e && ((c = b[i]!) === 32 || c === 9 || c === 13)) i++;
        }
        if (c === 123 || c === 91) {
          i = skipNested(b, i, e);
          if (i < 0) return nestedError;
          lk[kc - 1] = K_NESTED;
        } else {
          const kind = scalar(b, i, e);
          if (kind === 0) return nestedError;
          lk[kc - 1] = kind;
          valueStart[kc - 1] = i;
          valueEnd[kc - 1] = scalarEnd;
          i = scalarEnd;
        }
        c = b[i]!;
        if (c === 32 || c === 9 || c === 13) {
          while (i < e && ((c = b[i]!) === 32 || c === 9 || c === 13)) i++;
        }
        if (i >= e) return "truncated (the line ends inside the object)";
        if (c === 44) {
          c = b[++i]!;
          if (c === 32 || c === 9 || c === 13) {
            while (i < e && ((c = b[i]!) === 32 || c === 9 || c === 13)) i++;
          }
          continue;
        }
        if (c === 125) {
          i++;
          break;
        }
        return "expected ',' or '}'";
      }
    }
    while (i < e && ((c = b[i]!) === 32 || c === 9 || c === 13)) i++;
    if (i !== e) return "more than one JSON value on the line";
    keyCount = kc;
    h1 = h;
    h2 = hk;
    keyBytes = kb;
    return "";
  }

  function decodeKey(b: Buffer, pos: number): string {
    const text = b.toString("utf8", keyStart[pos], keyEnd[pos]);
    return keyEscaped[pos] ? (JSON.parse(`"${text}"`) as string) : text;
  }

  function templateFor(b: Buffer): Template {
    const bucket = templates.get(h1);
    if (bucket) {
      for (const t of bucket) if (t.h2 === h2 && t.count === keyCount && t.keyBytes === keyBytes) return t;
    }
    const idx = new Int32Array(keyCount);
    const names = new Set<string>();
    let duplicate = false;
    for (let p = 0; p < keyCount; p++) {
      const name = decodeKey(b, p);
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
    const s = valueStart[p]!;
    const e = valueEnd[p]!;
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

  // The copy's bytes as ranges of the buffers they are in, written (without copying) before
  // the chunk they point into is released: at the end of every chunk and of the file.
  // Consecutive valid lines of a chunk are one range, so a clean chunk is one write.
  let out: number | undefined;
  const rangeBuf: Buffer[] = [];
  const rangeStart: number[] = [];
  const rangeEnd: number[] = [];
  function emit(b: Buffer, s: number, e: number): void {
    const n = rangeBuf.length - 1;
    if (n >= 0 && rangeBuf[n] === b && rangeEnd[n] === s) rangeEnd[n] = e;
    else {
      rangeBuf.push(b);
      rangeStart.push(s);
      rangeEnd.push(e);
    }
  }
  function flush(): void {
    if (out === undefined || rangeBuf.length === 0) return;
    fs.writevSync(
      out,
      rangeBuf.map((b, i) => b.subarray(rangeStart[i], rangeEnd[i])),
    );
    rangeBuf.length = 0;
    rangeStart.length = 0;
    rangeEnd.length = 0;
  }
  const NEWLINE = Buffer.from("\n");
  // Per field index: the column name's bytes when the key is renamed, null when it is not.
  const renamedByField: (Buffer | null | undefined)[] = [];
  function renamedKey(f: number): Buffer | null {
    let r = renamedByField[f];
    if (r === undefined) {
      const to = renames?.[fieldNames[f]!];
      r = to === undefined ? null : Buffer.from(to);
      renamedByField[f] = r;
    }
    return r;
  }

  function onLine(b: Buffer, s: number, e: number, utf8Checked: boolean): void {
    physical++;
    let reason: string;
    if (e - s > MAX_LINE) reason = tooLong(e - s);
    else if (!utf8Checked && !isUtf8(b.subarray(s, e))) reason = "not valid UTF-8";
    else reason = scanLine(b, s, e);
    if (reason === "blank") return;
    nonBlank++;
    if (reason === "") {
      const t = templateFor(b);
      if (t.fieldIdx === null) reason = "repeats a key";
      else {
        const idx = t.fieldIdx;
        if (fieldNames.length > kinds.length) {
          const n = fieldNames.length * 2;
          kinds = widened(kinds, n);
          nonNull = widened(nonNull, n);
          nonText = widened(nonText, n);
          unkept = widened(unkept, n);
        }
        for (let p = 0; p < keyCount; p++) {
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
        valid++;
        if (out !== undefined) {
          // A renamed key's text (between its quotes) is swapped for its column name;
          // everything else is kept byte for byte, the line's own newline included.
          let from = s;
          if (renames !== undefined) {
            for (let p = 0; p < keyCount; p++) {
              const to = renamedKey(idx[p]!);
              if (to === null) continue;
              emit(b, from, keyStart[p]!);
              emit(to, 0, to.length);
              from = keyEnd[p]!;
            }
          }
          if (b[e] === 10) emit(b, from, e + 1);
          else {
            emit(b, from, e);
            emit(NEWLINE, 0, 1);
          }
        }
        return;
      }
    }
    badLine(reason);
  }

  function badLine(reason: string): void {
    needsCleaning = true;
    badLines.push(physical);
    if (badSamples.length < 3) badSamples.push({ line: physical, reason });
  }

  function tooLong(bytes: number): string {
    return `longer than the line limit (${bytes} bytes > maxLineBytes ${MAX_LINE}); skipped`;
  }

  // The unfinished line at the end of the last chunk, as chunk copies: joined once, when
  // its newline arrives (re-joining per chunk made a long line quadratic). Past
  // maxLineBytes it is dropped and only counted (`skipping`): a hostile line costs
  // neither memory nor time beyond one pass.
  let carry: Buffer[] = [];
  let carryBytes = 0;
  let skipping = false;
  let skippedBytes = 0;
  let inflatedTooMuch = false;
  function keep(part: Buffer): void {
    if (part.length === 0) return;
    if (skipping) {
      skippedBytes += part.length;
      return;
    }
    if (carryBytes + part.length > MAX_LINE) {
      skipping = true;
      skippedBytes = carryBytes + part.length;
      carry = [];
      carryBytes = 0;
      return;
    }
    carry.push(Buffer.from(part));
    carryBytes += part.length;
  }
  /** Ends the carried line with `tail` (the bytes before its newline, or the file's end). */
  function endCarried(tail: Buffer): void {
    if (skipping) {
      physical++;
      nonBlank++;
      badLine(tooLong(skippedBytes + tail.length));
      skipping = false;
      skippedBytes = 0;
      return;
    }
    if (carryBytes + tail.length > MAX_LINE) {
      const bytes = carryBytes + tail.length;
      carry = [];
      carryBytes = 0;
      physical++;
      nonBlank++;
      badLine(tooLong(bytes));
      return;
    }
    carry.push(tail);
    const line = carry.length === 1 ? carry[0]! : Buffer.concat(carry, carryBytes + tail.length);
    carry = [];
    carryBytes = 0;
    onLine(line, 0, line.length, false);
  }
  function onChunk(chunk: Buffer): void {
    textBytes += chunk.length;
    if (textBytes > maxInflatedBytes) {
      inflatedTooMuch = true;
      throw new Error("inflated size limit reached");
    }
    if (out !== undefined && cleanMaxBytes !== undefined && textBytes > cleanMaxBytes) {
      fs.closeSync(out);
      fs.rmSync(cleanTo!, { force: true });
      out = undefined;
      rangeBuf.length = 0;
      rangeStart.length = 0;
      rangeEnd.length = 0;
    }
    let start = 0;
    if (
      physical === 0 &&
      carryBytes === 0 &&
      !skipping &&
      chunk[0] === 0xef &&
      chunk[1] === 0xbb &&
      chunk[2] === 0xbf
    ) {
      // A UTF-8 byte order mark: DuckDB would see it as part of the first line.
      needsCleaning = true;
      start = 3;
    }
    let nl = chunk.indexOf(10, start);
    if (nl === -1) {
      keep(chunk.subarray(start));
      return;
    }
    if (carryBytes > 0 || skipping) {
      endCarried(chunk.subarray(start, nl));
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    const last = chunk.lastIndexOf(10);
    if (nl !== -1 && last >= start) {
      // One UTF-8 check for the whole run of complete lines; a newline never sits inside a
      // multi-byte character, so the run is self-contained.
      const runOk = isUtf8(chunk.subarray(start, last));
      while (nl !== -1) {
        onLine(chunk, start, nl, runOk);
        start = nl + 1;
        nl = chunk.indexOf(10, start);
      }
    }
    if (start < chunk.length) keep(chunk.subarray(start));
    flush();
  }

  if (cleanTo !== undefined) {
    out = fs.openSync(cleanTo, "w");
  }
  try {
    await new Promise<void>((resolve, reject) => {
      const gunzip = zlib.createGunzip({ chunkSize: 1 << 20 });
      const input = fs.createReadStream(path, { highWaterMark: 1 << 20 });
      const fail = (error: unknown) => {
        input.destroy();
        gunzip.destroy();
        reject(error);
      };
      input.on("error", fail);
      gunzip.on("error", fail);
      gunzip.on("data", (chunk: Buffer) => {
        try {
          onChunk(chunk);
        } catch (error) {
          fail(error);
        }
      });
      gunzip.on("end", () => resolve());
      input.pipe(gunzip);
    });
  } catch (error) {
    if (out !== undefined) fs.closeSync(out);
    if (inflatedTooMuch)
      return {
        kind: "unreadable",
        error: `inflates to more than maxInflatedBytes (${maxInflatedBytes} bytes): likely a gzip bomb; raise maxInflatedBytes and retry it if the file is genuine`,
      };
    const err = error as NodeJS.ErrnoException;
    const message = String(err.message ?? err);
    if (err.code === "Z_BUF_ERROR" || /unexpected end/i.test(message))
      return { kind: "unreadable", error: "gzip stream is truncated (unexpected end of file)" };
    if (/incorrect data check/i.test(message))
      return {
        kind: "unreadable",
        error: "gzip checksum mismatch (incorrect data check): the file is corrupt",
      };
    if (/incorrect length check/i.test(message))
      return {
        kind: "unreadable",
        error: "gzip length mismatch (incorrect length check): the file is corrupt",
      };
    if (err.code?.startsWith("Z_")) return { kind: "unreadable", error: `corrupt gzip data (${message})` };
    throw error;
  }
  if (carryBytes > 0 || skipping) endCarried(Buffer.alloc(0));
  if (out !== undefined) {
    flush();
    fs.closeSync(out);
  }

  if (textBytes === 0) return { kind: "unreadable", error: "the gzip file holds no data" };
  if (valid === 0) {
    const first = badSamples[0];
    return {
      kind: "unreadable",
      error:
        nonBlank === 0
          ? "the file holds only blank lines"
          : `no line is a JSON object (${nonBlank} lines; line ${first?.line}: ${first?.reason})`,
    };
  }
  return {
    kind: "ok",
    lines: nonBlank,
    validLines: valid,
    badLines,
    badSamples,
    fields: seenOrder.map((f) => [fieldNames[f]!, kinds[f]!] as const),
    needsCleaning,
    textBytes,
    fieldStats: seenOrder.map((f) => ({
      nonNull: nonNull[f]!,
      nonText: nonText[f]!,
      strings: unkept[f] === 1 ? null : [...(kept[f] ?? new Map<string, number>())],
    })),
  };
}
