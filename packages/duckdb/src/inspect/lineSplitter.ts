/** Where a LineSplitter delivers the file's lines. */
export interface LineSink {
  /** A line b[s..e) within the bounds; `utf8Checked` when it is already known to be UTF-8. */
  line(b: Buffer, s: number, e: number, utf8Checked: boolean): void;
  /** A line of `bytes` bytes, more than maxLineBytes, that was skipped. */
  overlong(bytes: number): void;
  /** The text starts with a UTF-8 byte order mark (left out of the first line). */
  bom(): void;
}

export interface LineSplitter {
  /** Physical lines delivered so far: the 1-based number of the line being delivered. */
  lines: number;
  /** Splits the next inflated chunk into lines. */
  chunk(chunk: Buffer): void;
  /** Ends the last line, if the text does not end with a newline. */
  finish(): void;
}

/**
 * Cuts the inflated text into lines for `sink`, in bounded memory: the unfinished line at
 * the end of a chunk is kept as chunk copies and joined once, when its newline arrives
 * (re-joining per chunk made a long line quadratic). Past `maxLine` bytes it is dropped and
 * only counted (`skipping`): a hostile line costs neither memory nor time beyond one pass.
 * `afterChunk` runs once a chunk's complete lines are delivered (the copy is flushed there).
 *
 * Self-contained on purpose (no imports): ScanPool's workers run it from its source text
 * (see SCAN_KIT).
 */
export function createLineSplitter(
  maxLine: number,
  isUtf8: (input: Uint8Array) => boolean,
  sink: LineSink,
  afterChunk: () => void,
): LineSplitter {
  let carry: Buffer[] = [];
  let carryBytes = 0;
  let skipping = false;
  let skippedBytes = 0;
  const splitter: LineSplitter = { lines: 0, chunk: onChunk, finish };

  function keep(part: Buffer): void {
    if (part.length === 0) return;
    if (skipping) {
      skippedBytes += part.length;
      return;
    }
    if (carryBytes + part.length > maxLine) {
      skipping = true;
      skippedBytes = carryBytes + part.length;
      carry = [];
      carryBytes = 0;
      return;
    }
    carry.push(Buffer.from(part));
    carryBytes += part.length;
  }
  function onLine(b: Buffer, s: number, e: number, utf8Checked: boolean): void {
    splitter.lines++;
    if (e - s > maxLine) sink.overlong(e - s);
    else sink.line(b, s, e, utf8Checked);
  }
  /** Ends the carried line with `tail` (the bytes before its newline, or the file's end). */
  function endCarried(tail: Buffer): void {
    if (skipping) {
      splitter.lines++;
      sink.overlong(skippedBytes + tail.length);
      skipping = false;
      skippedBytes = 0;
      return;
    }
    if (carryBytes + tail.length > maxLine) {
      const bytes = carryBytes + tail.length;
      carry = [];
      carryBytes = 0;
      splitter.lines++;
      sink.overlong(bytes);
      return;
    }
    carry.push(tail);
    const line = carry.length === 1 ? carry[0]! : Buffer.concat(carry, carryBytes + tail.length);
    carry = [];
    carryBytes = 0;
    onLine(line, 0, line.length, false);
  }
  function onChunk(chunk: Buffer): void {
    let start = 0;
    if (
      splitter.lines === 0 &&
      carryBytes === 0 &&
      !skipping &&
      chunk[0] === 0xef &&
      chunk[1] === 0xbb &&
      chunk[2] === 0xbf
    ) {
      // A UTF-8 byte order mark: DuckDB would see it as part of the first line.
      sink.bom();
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
    afterChunk();
  }
  function finish(): void {
    if (carryBytes > 0 || skipping) endCarried(Buffer.alloc(0));
  }

  return splitter;
}
