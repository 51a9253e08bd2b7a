import type * as FsModule from "node:fs";
import type * as ZlibModule from "node:zlib";

// Gzip inflation for scanRawFile, bounded (a gzip bomb stops at maxInflatedBytes), with its
// failures turned into the reasons the operator sees. Self-contained top-level functions
// on purpose (no imports): ScanPool's workers run them from their source text (see
// SCAN_KIT); `fs` and `zlib` come in as arguments.

/** Inflated bytes so far, and whether inflation stopped at maxInflatedBytes. */
export interface InflateProgress {
  textBytes: number;
  inflatedTooMuch: boolean;
}

/** Why the file at `path` is not a gzip file at all, or undefined when it may be one. */
export function gzipHeadProblem(fs: typeof FsModule, path: string): string | undefined {
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
  if (size === 0) return "file is empty (0 bytes)";
  if (size < 2 || head[0] !== 0x1f || head[1] !== 0x8b)
    return "not a gzip file (it does not start with the gzip magic bytes 1f 8b)";
  return undefined;
}

/**
 * Streams the inflated text of `path` to `onChunk`, counting it in `progress`; rejects once
 * it passes `maxInflatedBytes`, on a gzip error, or when `onChunk` throws.
 */
export function inflateGzip(
  fs: typeof FsModule,
  zlib: typeof ZlibModule,
  path: string,
  maxInflatedBytes: number,
  progress: InflateProgress,
  onChunk: (chunk: Buffer) => void,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
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
        progress.textBytes += chunk.length;
        if (progress.textBytes > maxInflatedBytes) {
          progress.inflatedTooMuch = true;
          throw new Error("inflated size limit reached");
        }
        onChunk(chunk);
      } catch (error) {
        fail(error);
      }
    });
    gunzip.on("end", () => resolve());
    input.pipe(gunzip);
  });
}

/**
 * The reason a file is unreadable after inflateGzip rejected with `error`, or undefined when
 * the error is not the file's (the caller rethrows it).
 */
export function gzipFailure(
  error: unknown,
  progress: InflateProgress,
  maxInflatedBytes: number,
): string | undefined {
  if (progress.inflatedTooMuch)
    return `inflates to more than maxInflatedBytes (${maxInflatedBytes} bytes): likely a gzip bomb; raise maxInflatedBytes and retry it if the file is genuine`;
  const err = error as NodeJS.ErrnoException;
  const message = String(err.message ?? err);
  if (err.code === "Z_BUF_ERROR" || /unexpected end/i.test(message))
    return "gzip stream is truncated (unexpected end of file)";
  if (/incorrect data check/i.test(message))
    return "gzip checksum mismatch (incorrect data check): the file is corrupt";
  if (/incorrect length check/i.test(message))
    return "gzip length mismatch (incorrect length check): the file is corrupt";
  if (err.code?.startsWith("Z_")) return `corrupt gzip data (${message})`;
  return undefined;
}
