/**
 * A schema-free codec of Thrift's compact protocol, enough to read a Parquet footer
 * (FileMetaData), change a few fields and write it back with everything else — fields
 * this code has never heard of included — kept byte for byte in meaning.
 * Spec: https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md
 */

export enum TType {
  BoolTrue = 1,
  BoolFalse = 2,
  Byte = 3,
  I16 = 4,
  I32 = 5,
  I64 = 6,
  Double = 7,
  Binary = 8,
  List = 9,
  Set = 10,
  Map = 11,
  Struct = 12,
}

export type TValue =
  | boolean
  | number
  | bigint
  | Uint8Array
  | TStruct
  | { readonly elementType: TType; readonly items: TValue[] }
  | { readonly keyType: TType; readonly valueType: TType; readonly entries: [TValue, TValue][] };

export interface TField {
  readonly id: number;
  readonly type: TType;
  value: TValue;
}

export type TStruct = { readonly fields: TField[] };

export function decodeStruct(bytes: Uint8Array): TStruct {
  const reader = new Reader(bytes);
  return reader.struct();
}

export function encodeStruct(struct: TStruct): Uint8Array {
  const writer = new Writer();
  writer.struct(struct);
  return writer.bytes();
}

/** The field `id` of `struct`, if present. */
export function field(struct: TStruct, id: number): TField | undefined {
  return struct.fields.find((f) => f.id === id);
}

class Reader {
  private at = 0;
  constructor(private readonly buf: Uint8Array) {}

  struct(): TStruct {
    const fields: TField[] = [];
    let lastId = 0;
    for (;;) {
      const header = this.byte();
      if (header === 0) return { fields };
      const type = (header & 0x0f) as TType;
      const delta = header >> 4;
      const id = delta === 0 ? zigzag32(this.varint()) : lastId + delta;
      lastId = id;
      // A field's boolean lives in its type nibble.
      const value =
        type === TType.BoolTrue || type === TType.BoolFalse ? type === TType.BoolTrue : this.value(type);
      fields.push({ id, type, value });
    }
  }

  private value(type: TType): TValue {
    switch (type) {
      case TType.BoolTrue:
      case TType.BoolFalse:
        return this.byte() === TType.BoolTrue; // a boolean inside a list or map
      case TType.Byte:
        return this.byte();
      case TType.I16:
      case TType.I32:
        return zigzag32(this.varint());
      case TType.I64:
        return zigzag64(this.varint64());
      case TType.Double: {
        const value = new DataView(this.buf.buffer, this.buf.byteOffset + this.at, 8).getFloat64(0, true);
        this.at += 8;
        return value;
      }
      case TType.Binary: {
        const length = this.varint();
        const value = this.buf.subarray(this.at, this.at + length);
        this.at += length;
        return value;
      }
      case TType.List:
      case TType.Set: {
        const header = this.byte();
        const size = header >> 4 === 15 ? this.varint() : header >> 4;
        const elementType = (header & 0x0f) as TType;
        const items: TValue[] = [];
        for (let i = 0; i < size; i++) items.push(this.value(elementType));
        return { elementType, items };
      }
      case TType.Map: {
        const size = this.varint();
        const types = size > 0 ? this.byte() : 0;
        const keyType = (types >> 4) as TType;
        const valueType = (types & 0x0f) as TType;
        const entries: [TValue, TValue][] = [];
        for (let i = 0; i < size; i++) entries.push([this.value(keyType), this.value(valueType)]);
        return { keyType, valueType, entries };
      }
      case TType.Struct:
        return this.struct();
      default:
        throw new RangeError(`not a Thrift compact type: ${type} at byte ${this.at}`);
    }
  }

  private byte(): number {
    if (this.at >= this.buf.length) throw new RangeError("Thrift struct ends early");
    return this.buf[this.at++]!;
  }

  private varint(): number {
    return Number(this.varint64());
  }

  private varint64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  }
}

class Writer {
  private readonly chunks: number[] = [];

  bytes(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }

  struct(struct: TStruct): void {
    let lastId = 0;
    for (const f of [...struct.fields].sort((a, b) => a.id - b.id)) {
      const isBool = f.type === TType.BoolTrue || f.type === TType.BoolFalse;
      const type = isBool ? (f.value ? TType.BoolTrue : TType.BoolFalse) : f.type;
      const delta = f.id - lastId;
      if (delta > 0 && delta <= 15) this.chunks.push((delta << 4) | type);
      else {
        this.chunks.push(type);
        this.varint(BigInt(unzigzag(f.id)));
      }
      lastId = f.id;
      if (!isBool) this.value(f.type, f.value);
    }
    this.chunks.push(0);
  }

  private value(type: TType, value: TValue): void {
    switch (type) {
      case TType.BoolTrue:
      case TType.BoolFalse:
        this.chunks.push(value ? TType.BoolTrue : TType.BoolFalse);
        return;
      case TType.Byte:
        this.chunks.push((value as number) & 0xff);
        return;
      case TType.I16:
      case TType.I32:
        this.varint(BigInt(unzigzag(value as number)));
        return;
      case TType.I64: {
        const v = BigInt(value as bigint);
        this.varint(BigInt.asUintN(64, (v << 1n) ^ (v >> 63n)));
        return;
      }
      case TType.Double: {
        const bytes = new Uint8Array(8);
        new DataView(bytes.buffer).setFloat64(0, value as number, true);
        this.chunks.push(...bytes);
        return;
      }
      case TType.Binary: {
        const bytes = value as Uint8Array;
        this.varint(BigInt(bytes.length));
        for (const b of bytes) this.chunks.push(b);
        return;
      }
      case TType.List:
      case TType.Set: {
        const { elementType, items } = value as { elementType: TType; items: TValue[] };
        if (items.length < 15) this.chunks.push((items.length << 4) | elementType);
        else {
          this.chunks.push(0xf0 | elementType);
          this.varint(BigInt(items.length));
        }
        for (const item of items) this.value(elementType, item);
        return;
      }
      case TType.Map: {
        const { keyType, valueType, entries } = value as {
          keyType: TType;
          valueType: TType;
          entries: [TValue, TValue][];
        };
        this.varint(BigInt(entries.length));
        if (entries.length > 0) this.chunks.push((keyType << 4) | valueType);
        for (const [k, v] of entries) {
          this.value(keyType, k);
          this.value(valueType, v);
        }
        return;
      }
      case TType.Struct:
        this.struct(value as TStruct);
        return;
      default:
        throw new RangeError(`not a Thrift compact type: ${type}`);
    }
  }

  private varint(value: bigint): void {
    let v = value;
    while (v >= 0x80n) {
      this.chunks.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.chunks.push(Number(v));
  }
}

function zigzag32(n: number): number {
  return (n >>> 1) ^ -(n & 1);
}

function zigzag64(n: bigint): bigint {
  return (n >> 1n) ^ -(n & 1n);
}

function unzigzag(n: number): number {
  return ((n << 1) ^ (n >> 31)) >>> 0;
}
