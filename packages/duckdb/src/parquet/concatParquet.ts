import { open, stat } from "node:fs/promises";
import {
  decodeStruct,
  encodeStruct,
  field,
  type TField,
  type TStruct,
  TType,
  type TValue,
} from "./thriftCompact.js";

const MAGIC = Buffer.from("PAR1");

// Parquet's FileMetaData / RowGroup / ColumnChunk / ColumnMetaData field ids (parquet.thrift).
const FILE = { schema: 2, numRows: 3, rowGroups: 4 } as const;
const ROW_GROUP = { columns: 1, fileOffset: 5, ordinal: 7 } as const;
const COLUMN_CHUNK = { fileOffset: 2, metaData: 3, offsetIndex: [4, 5], columnIndex: [6, 7] } as const;
/** data_page_offset, index_page_offset, dictionary_page_offset, bloom_filter_offset. */
const COLUMN_META_OFFSETS = [9, 10, 11, 14] as const;

/**
 * Writes the Parquet files `parts` as one file `target`, row groups in the order given,
 * without decoding a page: each part's bytes between its magic and its footer (column
 * chunks, bloom filters) are copied as they are, and one footer lists every row group with
 * its offsets moved to where its bytes now are. The parts must share one schema (they are
 * written by one query plan); the first part's key-value metadata is kept.
 *
 * This is how a sorted merge writes a file bigger than it can sort in memory: it sorts
 * device ranges one at a time into parts, then joins them at the cost of copying bytes.
 * Page indexes (which hold absolute page offsets inside their own structures) are dropped
 * from the footer rather than rewritten; DuckDB does not write them.
 */
export async function concatParquet(
  parts: readonly string[],
  target: string,
): Promise<{ rows: number; bytes: number }> {
  if (parts.length === 0) throw new RangeError("concatParquet needs at least one part");
  const out = await open(target, "w");
  try {
    await out.write(MAGIC);
    let position = MAGIC.length;
    let first: TStruct | undefined;
    let schema: Buffer | undefined;
    let rows = 0n;
    const rowGroups: TValue[] = [];
    for (const part of parts) {
      const { footer, bodyBytes } = await readFooter(part);
      const partSchema = Buffer.from(encodeStruct({ fields: [required(footer, FILE.schema)] }));
      if (schema === undefined) schema = partSchema;
      else if (!schema.equals(partSchema))
        throw new Error(`${part}: its schema differs from the first part's`);
      first ??= footer;
      // The body starts after the magic in the part and at `position` in the target.
      const shift = BigInt(position - MAGIC.length);
      for (const group of listItems(required(footer, FILE.rowGroups))) {
        moveRowGroup(group as TStruct, shift);
        rowGroups.push(group);
      }
      rows += BigInt(required(footer, FILE.numRows).value as bigint);
      await copyRange(part, MAGIC.length, bodyBytes, out, position);
      position += bodyBytes;
    }
    for (const [ordinal, group] of rowGroups.entries()) {
      setField(group as TStruct, ROW_GROUP.ordinal, TType.I16, ordinal);
    }
    const footer: TStruct = {
      fields: (first as TStruct).fields.map((f) =>
        f.id === FILE.numRows
          ? { ...f, value: rows }
          : f.id === FILE.rowGroups
            ? { ...f, value: { elementType: TType.Struct, items: rowGroups } }
            : f,
      ),
    };
    const encoded = encodeStruct(footer);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(encoded.length);
    await out.write(Buffer.concat([encoded, length, MAGIC]), 0, undefined, position);
    return { rows: Number(rows), bytes: position + encoded.length + 8 };
  } finally {
    await out.close();
  }
}

async function readFooter(path: string): Promise<{ footer: TStruct; bodyBytes: number }> {
  const size = (await stat(path)).size;
  const file = await open(path, "r");
  try {
    const tail = Buffer.alloc(8);
    await file.read(tail, 0, 8, size - 8);
    if (size < 12 || !tail.subarray(4).equals(MAGIC)) throw new Error(`${path}: not a Parquet file`);
    const footerLength = tail.readUInt32LE(0);
    const bodyEnd = size - 8 - footerLength;
    const bytes = Buffer.alloc(footerLength);
    await file.read(bytes, 0, footerLength, bodyEnd);
    return { footer: decodeStruct(bytes), bodyBytes: bodyEnd - MAGIC.length };
  } finally {
    await file.close();
  }
}

function moveRowGroup(group: TStruct, shift: bigint): void {
  shiftOffset(group, ROW_GROUP.fileOffset, shift);
  for (const chunk of listItems(required(group, ROW_GROUP.columns)) as TStruct[]) {
    shiftOffset(chunk, COLUMN_CHUNK.fileOffset, shift);
    const meta = field(chunk, COLUMN_CHUNK.metaData)?.value as TStruct | undefined;
    if (meta) for (const id of COLUMN_META_OFFSETS) shiftOffset(meta, id, shift);
    const dropped: readonly number[] = [...COLUMN_CHUNK.offsetIndex, ...COLUMN_CHUNK.columnIndex];
    chunk.fields.splice(0, chunk.fields.length, ...chunk.fields.filter((f) => !dropped.includes(f.id)));
  }
}

/** Moves an absolute file offset; 0 is left alone (writers put 0 in the deprecated ColumnChunk.file_offset). */
function shiftOffset(struct: TStruct, id: number, shift: bigint): void {
  const f = field(struct, id);
  if (f && typeof f.value === "bigint" && f.value > 0n) f.value = f.value + shift;
}

function setField(struct: TStruct, id: number, type: TType, value: TValue): void {
  const f = field(struct, id);
  if (f) f.value = value;
  else struct.fields.push({ id, type, value });
}

function required(struct: TStruct, id: number): TField {
  const f = field(struct, id);
  if (!f) throw new Error(`Parquet footer lacks field ${id}`);
  return f;
}

function listItems(f: TField): TValue[] {
  return (f.value as { items: TValue[] }).items;
}

async function copyRange(
  path: string,
  from: number,
  length: number,
  out: Awaited<ReturnType<typeof open>>,
  to: number,
): Promise<void> {
  const input = await open(path, "r");
  try {
    const buffer = Buffer.alloc(Math.min(length, 8 * 2 ** 20));
    let done = 0;
    while (done < length) {
      const { bytesRead } = await input.read(buffer, 0, Math.min(buffer.length, length - done), from + done);
      if (bytesRead === 0) throw new Error(`${path} ended early`);
      await out.write(buffer, 0, bytesRead, to + done);
      done += bytesRead;
    }
  } finally {
    await input.close();
  }
}
