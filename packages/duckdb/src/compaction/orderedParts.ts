import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { EngineJob, EngineOutput } from "@compacter/core";
import type { DuckDBConnection } from "@duckdb/node-api";
import { joinSortedRuns } from "./sortedRuns.js";
import type { RawSource } from "./sourceSql.js";

/** Writes one group of sources, read in the given order, to `localPath` on `connection`. */
export type WritePart = (
  connection: DuckDBConnection,
  readOrder: readonly RawSource[],
  localPath: string,
) => Promise<EngineOutput>;

/**
 * A sorted job over raw files only is written in order by reading the files in device,
 * hour order with insertion order kept (writeOutputs.ts). DuckDB keeps the order of a
 * JSON read on one thread only (measured: an ordered COPY of 80 files ran 1,025 CPU ticks
 * on one thread and 38 on the other, where the same copy unordered split 442/404), so on
 * its own that write runs at about half the speed of an unordered one.
 *
 * Instead the device-ordered sources are cut into `parts` contiguous device groups, and
 * `concurrency` connections each write one group in order at a time: every thread is busy
 * and every part is in order. The parts, in device order, are then joined into files of
 * at most maxFileBytes by copying their row groups (sortedRuns.ts joinSortedRuns).
 *
 * Undefined when a part came out larger than maxFileBytes (the estimate was off): the
 * caller writes the job as one read then, which can split its output by rows.
 */
export async function writeOrderedParts(
  connect: () => Promise<DuckDBConnection>,
  job: EngineJob,
  readOrder: readonly RawSource[],
  parts: number,
  concurrency: number,
  scratchDir: string,
  writePart: WritePart,
): Promise<EngineOutput[] | undefined> {
  const groups = deviceGroups(readOrder, parts);
  const written: (EngineOutput | undefined)[] = groups.map(() => undefined);
  let next = 0;
  const worker = async () => {
    const connection = await connect();
    while (next < groups.length) {
      // A lost lease stops the parts not yet begun; the running ones are interrupted.
      if (job.signal?.aborted) throw job.signal.reason;
      const index = next++;
      const localPath = join(scratchDir, `ordered-${String(index).padStart(5, "0")}.parquet`);
      written[index] = await writePart(connection, groups[index]!, localPath);
    }
  };
  // Every writer is waited for, so none is still writing when the caller cleans up or retries.
  const settled = await Promise.allSettled(
    Array.from({ length: Math.min(concurrency, groups.length) }, worker),
  );
  const removeParts = () => Promise.all(written.map((w) => w && rm(w.localPath, { force: true })));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) {
    await removeParts();
    throw failed.reason;
  }
  const outputs = written.filter((w): w is EngineOutput => w !== undefined);
  if (outputs.some((o) => o.bytes > job.maxFileBytes)) {
    await removeParts();
    return undefined;
  }
  for (const empty of outputs.filter((o) => o.rows === 0)) await rm(empty.localPath, { force: true });
  return joinSortedRuns(
    outputs.filter((o) => o.rows > 0),
    job,
  );
}

/**
 * `readOrder` cut into at most `parts` runs of whole devices, of about equal text bytes
 * (a device's files never straddle two parts, so each part is in device order on its own).
 */
export function deviceGroups(readOrder: readonly RawSource[], parts: number): RawSource[][] {
  const total = readOrder.reduce((n, s) => n + s.scan.textBytes, 0);
  const groups: RawSource[][] = [];
  let done = 0;
  for (let i = 0; i < readOrder.length; i++) {
    const source = readOrder[i]!;
    const current = groups.at(-1);
    const newDevice = i === 0 || readOrder[i - 1]!.deviceId !== source.deviceId;
    // Cut before a device once the parts so far hold their share of the bytes.
    if (!current || (newDevice && groups.length < parts && done >= (total * groups.length) / parts)) {
      groups.push([source]);
    } else {
      current.push(source);
    }
    done += source.scan.textBytes;
  }
  return groups;
}
