/**
 * Builds NDJSON rows as bytes, each row from the previous one.
 *
 * At 1 Hz most of a row's ~179 values are the same as a second ago, so a row is the
 * previous row's bytes with the changed values spliced in: one `copyWithin` per run of
 * unchanged fields (a builtin, no C++ boundary) and digits written straight into the
 * buffer. Building 4 KB strings per row instead (join or `+=`) costs ~3× more, mostly in
 * flattening ropes and young-generation GC.
 *
 * Values are ASCII by construction (numbers, identifiers, fixed status strings), so
 * strings are written as char codes without an encoder.
 */

export const VALUE_KIND = { number: 0, quoted: 1, literal: 2 } as const;
export type ValueKind = (typeof VALUE_KIND)[keyof typeof VALUE_KIND];

const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000] as const;
const CHAR = {
  quote: 34,
  comma: 44,
  minus: 45,
  dot: 46,
  zero: 48,
  colon: 58,
  open: 123,
  close: 125,
  newline: 10,
};
/** A row never gets near this: 184 fields × (name + value) < 10 KB. */
const ROW_CAPACITY = 64 * 1024;

export class RowAssembler {
  readonly fieldCount: number;
  private readonly kind: Uint8Array;
  private readonly decimals: Uint8Array;
  private readonly scaled: Float64Array;
  private readonly text: string[];
  private readonly dirty: Uint8Array;
  /** Value positions of the current row, relative to its start. */
  readonly valueStart: Int32Array;
  readonly valueEnd: Int32Array;
  /** Two row slots; the current row is at `rowOffset`, the next is built in the other. */
  private readonly scratch: Uint8Array;
  private rowOffset = 0;
  private rowLength = 0;

  constructor(names: readonly string[], kinds: readonly ValueKind[], decimals: readonly number[]) {
    this.fieldCount = names.length;
    this.kind = Uint8Array.from(kinds);
    this.decimals = Uint8Array.from(decimals);
    this.scaled = new Float64Array(this.fieldCount).fill(Number.NaN);
    this.text = names.map(() => "");
    this.dirty = new Uint8Array(this.fieldCount);
    this.valueStart = new Int32Array(this.fieldCount);
    this.valueEnd = new Int32Array(this.fieldCount);
    this.scratch = new Uint8Array(2 * ROW_CAPACITY);
    // The starting "row" is the prefixes with empty values; the first assemble() fills
    // every value, since nothing is set yet and every field is dirty.
    let w = 0;
    names.forEach((name, k) => {
      w = writeAscii(this.scratch, w, `${k === 0 ? "{" : ","}"${name}":`);
      this.valueStart[k] = w;
      this.valueEnd[k] = w;
      this.dirty[k] = 1;
    });
    this.rowLength = w;
  }

  /** A number already scaled by 10^decimals (12.34 at 2 decimals → 1234). */
  setScaled(k: number, scaled: number): void {
    if (k < 0 || this.scaled[k] === scaled) return;
    this.scaled[k] = scaled;
    this.dirty[k] = 1;
  }

  setNumber(k: number, value: number): void {
    if (k < 0) return;
    this.setScaled(k, Math.round(value * (POW10[this.decimals[k] ?? 0] ?? 1)));
  }

  /** A string value (quoted) or a literal (`true`, `false`), by the field's kind. */
  setText(k: number, value: string): void {
    if (k < 0 || this.text[k] === value) return;
    this.text[k] = value;
    this.dirty[k] = 1;
  }

  /** The text of a numeric field's current value, as written ("123.45"). */
  numberText(k: number): string {
    return formatScaled(this.scaled[k] ?? 0, this.decimals[k] ?? 0);
  }

  /** Builds the next row from the current one; returns its length (without "}\n"). */
  assemble(): number {
    const scratch = this.scratch;
    const from = this.rowOffset;
    const to = from === 0 ? ROW_CAPACITY : 0;
    const valueStart = this.valueStart;
    const valueEnd = this.valueEnd;
    let w = to;
    // Template position up to which bytes have been carried over.
    let carried = from;
    let shift = 0;
    for (let k = 0; k < this.fieldCount; k++) {
      if (this.dirty[k] === 0) {
        valueStart[k] = valueStart[k]! + shift;
        valueEnd[k] = valueEnd[k]! + shift;
        continue;
      }
      this.dirty[k] = 0;
      // Carry everything since the last change, including this field's `,"name":`.
      const prefixEnd = from + valueStart[k]!;
      w = copyRun(scratch, w, carried, prefixEnd);
      const start = w;
      w = this.writeValue(k, w);
      carried = from + valueEnd[k]!;
      valueStart[k] = start - to;
      valueEnd[k] = w - to;
      shift = w - to - (carried - from);
    }
    w = copyRun(scratch, w, carried, from + this.rowLength);
    this.rowOffset = to;
    this.rowLength = w - to;
    if (this.rowLength > ROW_CAPACITY) throw new RangeError("row longer than the assembler's capacity");
    return this.rowLength;
  }

  /** The current row's bytes (without the closing "}\n"), valid until the next assemble(). */
  row(): Uint8Array {
    return this.scratch.subarray(this.rowOffset, this.rowOffset + this.rowLength);
  }

  private writeValue(k: number, w: number): number {
    const scratch = this.scratch;
    switch (this.kind[k]) {
      case VALUE_KIND.number:
        return writeScaled(scratch, w, this.scaled[k]!, this.decimals[k]!);
      case VALUE_KIND.quoted: {
        scratch[w++] = CHAR.quote;
        w = writeAscii(scratch, w, this.text[k]!);
        scratch[w++] = CHAR.quote;
        return w;
      }
      default:
        return writeAscii(scratch, w, this.text[k]!);
    }
  }
}

/** Short runs are cheaper as a loop than as a builtin call. */
function copyRun(buffer: Uint8Array, to: number, start: number, end: number): number {
  const length = end - start;
  if (length > 24) {
    buffer.copyWithin(to, start, end);
    return to + length;
  }
  for (let i = 0; i < length; i++) buffer[to + i] = buffer[start + i]!;
  return to + length;
}

export function writeAscii(buffer: Uint8Array, w: number, text: string): number {
  for (let i = 0; i < text.length; i++) buffer[w++] = text.charCodeAt(i);
  return w;
}

function writeDigits(buffer: Uint8Array, w: number, n: number, minDigits: number): number {
  let digits = 1;
  for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
  if (digits < minDigits) digits = minDigits;
  let rest = n;
  for (let i = digits - 1; i >= 0; i--) {
    const next = Math.floor(rest / 10);
    buffer[w + i] = CHAR.zero + (rest - next * 10);
    rest = next;
  }
  return w + digits;
}

function writeScaled(buffer: Uint8Array, w: number, scaled: number, decimals: number): number {
  let n = scaled;
  if (n < 0) {
    buffer[w++] = CHAR.minus;
    n = -n;
  }
  if (decimals === 0) return writeDigits(buffer, w, n, 1);
  const m = POW10[decimals] ?? 10 ** decimals;
  const whole = Math.floor(n / m);
  w = writeDigits(buffer, w, whole, 1);
  buffer[w++] = CHAR.dot;
  return writeDigits(buffer, w, n - whole * m, decimals);
}

export function formatScaled(scaled: number, decimals: number): string {
  if (decimals === 0) return String(scaled);
  const m = POW10[decimals] ?? 10 ** decimals;
  const negative = scaled < 0;
  const abs = negative ? -scaled : scaled;
  const whole = Math.floor(abs / m);
  return `${negative ? "-" : ""}${whole}.${String(abs - whole * m).padStart(decimals, "0")}`;
}
