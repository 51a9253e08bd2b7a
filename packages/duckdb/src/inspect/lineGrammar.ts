// biome-ignore-all lint/suspicious/noAssignInExpressions: the byte scanner reads and tests a byte in one step; it is the hot loop of every compaction.
import type { ScannedLine } from "./scanTypes.js";

/**
 * The JSON grammar the way DuckDB's yyjson reads it, as a byte state machine over one line.
 * Keys are hashed rather than decoded, so the common case (a key sequence seen before) is
 * one pass over the bytes.
 *
 * Self-contained on purpose (no imports): ScanPool's workers run it from its source text
 * (see SCAN_KIT). Its helpers are inner functions sharing per-line scratch, which is why
 * the whole grammar is one factory.
 */
export function createLineGrammar(): ScannedLine {
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

  // Per-line scratch, sized for the widest line seen so far.
  let cap = 512;
  let lineKinds = new Int32Array(cap);
  let keyStart = new Int32Array(cap);
  let keyEnd = new Int32Array(cap);
  let keyEscaped = new Uint8Array(cap);
  let valueStart = new Int32Array(cap);
  let valueEnd = new Int32Array(cap);
  const stack = new Uint8Array(4096);
  const line: ScannedLine = {
    keyCount: 0,
    h1: 0,
    h2: 0,
    keyBytes: 0,
    kinds: lineKinds,
    keyStart,
    keyEnd,
    valueStart,
    valueEnd,
    scan: scanLine,
    decodeKey,
  };

  const INT32_MAX = [50, 49, 52, 55, 52, 56, 51, 54, 52, 55]; // "2147483647"
  const INT64_MAX = [57, 50, 50, 51, 51, 55, 50, 48, 51, 54, 56, 53, 52, 55, 55, 53, 56, 48, 55]; // "9223372036854775807"

  /** A copy of `a` with room for `n` entries (rare: a line with more keys than any before it). */
  function widened<T extends Int32Array | Uint8Array>(a: T, n: number): T {
    const wider = (a instanceof Int32Array ? new Int32Array(n) : new Uint8Array(n)) as T;
    wider.set(a);
    return wider;
  }

  function grow(): void {
    cap *= 2;
    lineKinds = line.kinds = widened(lineKinds, cap);
    keyStart = line.keyStart = widened(keyStart, cap);
    keyEnd = line.keyEnd = widened(keyEnd, cap);
    keyEscaped = widened(keyEscaped, cap);
    valueStart = line.valueStart = widened(valueStart, cap);
    valueEnd = line.valueEnd = widened(valueEnd, cap);
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

  function isEscape(x: number | undefined): boolean {
    return x === 34 || x === 92 || x === 47 || x === 98 || x === 102 || x === 110 || x === 114 || x === 116;
  }
  function isHex(c: number): boolean {
    return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
  }

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
    line.keyCount = kc;
    line.h1 = h;
    line.h2 = hk;
    line.keyBytes = kb;
    return "";
  }

  function decodeKey(b: Buffer, pos: number): string {
    const text = b.toString("utf8", keyStart[pos], keyEnd[pos]);
    return keyEscaped[pos] ? (JSON.parse(`"${text}"`) as string) : text;
  }

  return line;
}
