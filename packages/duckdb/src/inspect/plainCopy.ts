import type * as FsModule from "node:fs";
import type { ScannedLine } from "./scanTypes.js";

/** The cleaned copy of a raw file: its valid lines, keys renamed, that DuckDB reads instead. */
export interface PlainCopy {
  /** Appends the valid line b[s..e) just scanned by `line`, whose field indexes are `idx`. */
  line(b: Buffer, s: number, e: number, line: ScannedLine, idx: Int32Array): void;
  /** Gives the copy up (deletes it) once the file has inflated past `cleanMaxBytes`. */
  inflated(textBytes: number): void;
  /** Writes what was appended; due before the chunk it points into is released. */
  flush(): void;
  /** Writes the rest and closes the copy (the scan finished). */
  finish(): void;
  /** Closes the copy without writing the rest (the scan failed). */
  abandon(): void;
}

/**
 * Writes the cleaned copy at `cleanTo`, or nothing when it is undefined. Lines are written
 * as ranges of the inflated chunks, without copying them.
 *
 * Self-contained on purpose (no imports): ScanPool's workers run it from its source text
 * (see SCAN_KIT); `fs` and the field names come in as arguments.
 */
export function createPlainCopy(
  fs: typeof FsModule,
  cleanTo: string | undefined,
  cleanMaxBytes: number | undefined,
  renames: Readonly<Record<string, string>> | undefined,
  fieldNames: readonly string[],
): PlainCopy {
  let out = cleanTo === undefined ? undefined : fs.openSync(cleanTo, "w");
  // The copy's bytes as ranges of the buffers they are in, written (without copying) before
  // the chunk they point into is released: at the end of every chunk and of the file.
  // Consecutive valid lines of a chunk are one range, so a clean chunk is one write.
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

  return {
    line(b, s, e, line, idx) {
      if (out === undefined) return;
      // A renamed key's text (between its quotes) is swapped for its column name;
      // everything else is kept byte for byte, the line's own newline included.
      let from = s;
      if (renames !== undefined) {
        for (let p = 0; p < line.keyCount; p++) {
          const to = renamedKey(idx[p]!);
          if (to === null) continue;
          emit(b, from, line.keyStart[p]!);
          emit(to, 0, to.length);
          from = line.keyEnd[p]!;
        }
      }
      if (b[e] === 10) emit(b, from, e + 1);
      else {
        emit(b, from, e);
        emit(NEWLINE, 0, 1);
      }
    },
    inflated(textBytes) {
      if (out !== undefined && cleanMaxBytes !== undefined && textBytes > cleanMaxBytes) {
        fs.closeSync(out);
        fs.rmSync(cleanTo!, { force: true });
        out = undefined;
        rangeBuf.length = 0;
        rangeStart.length = 0;
        rangeEnd.length = 0;
      }
    },
    flush,
    finish() {
      if (out !== undefined) {
        flush();
        fs.closeSync(out);
      }
    },
    abandon() {
      if (out !== undefined) fs.closeSync(out);
    },
  };
}
