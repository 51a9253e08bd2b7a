import { createFieldTally } from "./fieldTally.js";
import { gzipFailure, gzipHeadProblem, inflateGzip } from "./inflateGzip.js";
import { createLineGrammar } from "./lineGrammar.js";
import { createLineSplitter } from "./lineSplitter.js";
import { createPlainCopy } from "./plainCopy.js";
import type { RawScan, ScanModules, ScanOptions, ScanState } from "./scanTypes.js";

export type { FieldStats, RawScan, ScanModules, ScanOptions, ScanState } from "./scanTypes.js";

/**
 * Every function scanFile calls, by name. ScanPool's workers run the scan from source text:
 * each of these is defined there from its own `toString()` and handed to scanFile as the
 * same object, so scanFile never names an import (test runners rewrite imported names, which
 * would not exist in the worker). A new helper of the scan is one line here.
 */
export const SCAN_KIT = {
  gzipHeadProblem,
  inflateGzip,
  gzipFailure,
  createLineGrammar,
  createFieldTally,
  createPlainCopy,
  createLineSplitter,
};
export type ScanKit = typeof SCAN_KIT;

/**
 * Validates a raw file completely in one streaming pass: the gzip framing (DuckDB reads
 * through a missing trailer or a bad CRC), every line against the JSON grammar the way
 * DuckDB's yyjson reads it, and the kinds of every top-level value. The per-line work is
 * a byte state machine; keys are only decoded when a line's key sequence (hashed) has not
 * been seen before, which keeps the common case to one pass over the bytes. `state`
 * persists the key-sequence cache across the files one worker scans.
 *
 * When `cleanTo` is set, the valid lines are also written there (keys in `renames`
 * rewritten): the cleaned copy DuckDB reads instead of a file with bad lines or keys it
 * cannot take as they are.
 *
 * Memory and time stay linear and bounded whatever the file holds: an unfinished line is
 * kept as a list of chunks (joined once, at its end) and dropped as soon as it passes
 * `maxLineBytes`; inflation stops at `maxInflatedBytes` (a gzip bomb).
 */
export function scanRawFile(
  path: string,
  modules: ScanModules,
  state: ScanState,
  options: ScanOptions,
): Promise<RawScan> {
  return scanFile(SCAN_KIT, path, modules, state, options);
}

/**
 * scanRawFile with its helpers passed in. Self-contained on purpose (it names nothing from
 * outside its own text, `kit` included): ScanPool's workers run it from its source text, which works the same under
 * tsx, vitest and a bundler.
 */
export async function scanFile(
  kit: ScanKit,
  path: string,
  modules: ScanModules,
  state: ScanState,
  options: ScanOptions,
): Promise<RawScan> {
  const { fs, zlib, isUtf8 } = modules;
  const { cleanTo, cleanMaxBytes, renames, maxLineBytes, maxInflatedBytes } = options;

  // Before the gzip check, so `state` gains its key-sequence cache whatever the file holds.
  const line = kit.createLineGrammar();
  const tally = kit.createFieldTally(state, line);
  const headProblem = kit.gzipHeadProblem(fs, path);
  if (headProblem !== undefined) return { kind: "unreadable", error: headProblem };

  let nonBlank = 0;
  let valid = 0;
  let needsCleaning = false;
  const badLines: number[] = [];
  const badSamples: { line: number; reason: string }[] = [];
  const progress = { textBytes: 0, inflatedTooMuch: false };

  const copy = kit.createPlainCopy(fs, cleanTo, cleanMaxBytes, renames, tally.fieldNames);
  const badLine = (reason: string): void => {
    needsCleaning = true;
    badLines.push(splitter.lines);
    if (badSamples.length < 3) badSamples.push({ line: splitter.lines, reason });
  };
  const splitter = kit.createLineSplitter(
    maxLineBytes,
    isUtf8,
    {
      line(b, s, e, utf8Checked) {
        let reason = !utf8Checked && !isUtf8(b.subarray(s, e)) ? "not valid UTF-8" : line.scan(b, s, e);
        if (reason === "blank") return;
        nonBlank++;
        if (reason === "") {
          const idx = tally.count(b);
          if (idx === null) reason = "repeats a key";
          else {
            valid++;
            copy.line(b, s, e, line, idx);
            return;
          }
        }
        badLine(reason);
      },
      overlong(bytes) {
        nonBlank++;
        badLine(`longer than the line limit (${bytes} bytes > maxLineBytes ${maxLineBytes}); skipped`);
      },
      bom() {
        needsCleaning = true;
      },
    },
    () => copy.flush(),
  );

  try {
    await kit.inflateGzip(fs, zlib, path, maxInflatedBytes, progress, (chunk) => {
      copy.inflated(progress.textBytes);
      splitter.chunk(chunk);
    });
  } catch (error) {
    copy.abandon();
    const reason = kit.gzipFailure(error, progress, maxInflatedBytes);
    if (reason === undefined) throw error;
    return { kind: "unreadable", error: reason };
  }
  splitter.finish();
  copy.finish();

  const textBytes = progress.textBytes;
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
    fields: tally.fields(),
    needsCleaning,
    textBytes,
    fieldStats: tally.stats(),
  };
}
