import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { gzip as gzipCallback } from "node:zlib";
import { BufferPool } from "./bufferPool.js";
import { corruptTrailer, plainTextLog, truncateGzip } from "./faults.js";
import { resolveOptions, type SimulationOptions } from "./options.js";
import { PHASES, type Phase, type PlannedUpload, planSimulation, type SimulationPlan } from "./plan.js";
import { Random } from "./random.js";
import { generateRows } from "./rowGenerator.js";
import type { ObjectSink } from "./sinks.js";
import { type SimulationSummary, summarise, type UploadSummary } from "./summary.js";

const gzip = promisify(gzipCallback);
/** Fewer, larger output chunks than zlib's 16 KiB default: less copying for ~1 MB outputs. */
const GZIP_CHUNK_BYTES = 128 * 1024;

export interface SimulationProgress {
  /** The phase being uploaded, or "waiting" during the pause before late uploads. */
  readonly phase: Phase | "waiting";
  readonly uploadsDone: number;
  readonly uploadsTotal: number;
  readonly rowsWritten: number;
  readonly bytesGz: number;
  readonly elapsedMs: number;
  /** While waiting: milliseconds until the late uploads start. */
  readonly waitingMs?: number;
}

export interface SimulationHooks {
  /** Called after every upload and every second of a pause. */
  readonly onProgress?: (progress: SimulationProgress) => void;
  /** Stops at the next upload; in-flight uploads are aborted and the run rejects. */
  readonly signal?: AbortSignal;
}

/** One object's bytes and what they hold, without putting it anywhere. */
export interface BuiltUpload {
  readonly body: Buffer;
  readonly summary: Omit<UploadSummary, "bytesGz" | "eTag">;
}

/**
 * Builds, compresses and uploads every planned object, phase by phase, and returns what
 * was written. Building runs on this thread; gzip runs in libuv's pool (the other core),
 * up to `concurrency` objects in flight.
 */
export async function runSimulation(
  options: SimulationOptions,
  sink: ObjectSink,
  hooks: SimulationHooks = {},
): Promise<SimulationSummary> {
  const plan = planSimulation(resolveOptions(options));
  const { concurrency, lateDelayMs } = plan.options;
  const pool = new BufferPool(concurrency + 1);
  const results = new Map<string, UploadSummary[]>();
  const started = performance.now();
  let waitedMs = 0;
  let uploadsDone = 0;
  let rowsWritten = 0;
  let bytesGz = 0;
  const report = (phase: SimulationProgress["phase"], waitingMs?: number) =>
    hooks.onProgress?.({
      phase,
      uploadsDone,
      uploadsTotal: plan.uploads.length,
      rowsWritten,
      bytesGz,
      elapsedMs: performance.now() - started,
      ...(waitingMs === undefined ? {} : { waitingMs }),
    });

  for (const phase of PHASES) {
    const uploads = plan.uploads.filter((u) => u.phase === phase);
    if (uploads.length === 0) continue;
    if (phase === "late" && lateDelayMs > 0) {
      const pauseStart = performance.now();
      await pause(lateDelayMs, (left) => report("waiting", left), hooks.signal);
      waitedMs += performance.now() - pauseStart;
    }
    await forEachBounded(uploads, concurrency, hooks.signal, async (upload) => {
      const built = await buildUpload(plan, upload, pool);
      const { eTag } = await sink.put(upload.key, built.body, hooks.signal);
      const summary: UploadSummary = {
        ...built.summary,
        bytesGz: built.body.length,
        ...(eTag ? { eTag } : {}),
      };
      const versions = results.get(upload.key) ?? [];
      versions.push(summary);
      versions.sort((a, b) => a.version - b.version);
      results.set(upload.key, versions);
      uploadsDone++;
      rowsWritten += summary.rowsWritten;
      bytesGz += summary.bytesGz;
      report(phase);
    });
  }
  const seconds = (performance.now() - started) / 1000;
  return summarise(plan, results, {
    seconds,
    workSeconds: seconds - waitedMs / 1000,
    sink: sink.description,
  });
}

/** Builds one planned object: its bytes as uploaded and what they hold. */
export async function buildUpload(
  plan: SimulationPlan,
  upload: PlannedUpload,
  pool: BufferPool = new BufferPool(0),
): Promise<BuiltUpload> {
  const recipe = upload.recipe;
  const level = plan.options.gzipLevel;
  const base = { version: upload.version, phase: upload.phase, kind: upload.kind };
  const nothing = {
    rowsWritten: 0,
    validRows: 0,
    badLines: 0,
    badLinesAfterColon: 0,
    strayStrings: 0,
    strayFields: {},
    heartbeatMin: null,
    heartbeatMax: null,
  };
  const faultRandom = new Random("fault", plan.options.seed, upload.key, upload.version);
  if (upload.kind === "empty") return { body: Buffer.alloc(0), summary: { ...base, ...nothing } };
  if (upload.kind === "not-json") {
    const text = plainTextLog(recipe.hourStartMs, recipe.unitno, faultRandom);
    return { body: await gzip(text, { level }), summary: { ...base, ...nothing } };
  }
  const rows = generateRows(recipe, pool);
  let gz: Buffer;
  try {
    gz = await gzip(rows.body, { level, chunkSize: GZIP_CHUNK_BYTES });
  } finally {
    pool.release(rows.body);
  }
  const { body: _body, ...stats } = rows;
  const content = { ...base, ...stats };
  switch (upload.kind) {
    case "ok":
      return { body: gz, summary: content };
    case "truncated-gzip": {
      const { body, detail } = truncateGzip(gz, faultRandom);
      return {
        body,
        summary: { ...content, validRows: 0, heartbeatMin: null, heartbeatMax: null, fault: detail },
      };
    }
    case "bad-trailer": {
      const { body, detail } = corruptTrailer(gz, faultRandom);
      return {
        body,
        summary: { ...content, validRows: 0, heartbeatMin: null, heartbeatMax: null, fault: detail },
      };
    }
  }
}

/** Runs `work` over items with at most `limit` in flight; the first failure rejects after the rest settle. */
async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal | undefined,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  for (const item of items) {
    while (inFlight.size >= limit) await Promise.race(inFlight);
    if (failure || signal?.aborted) break;
    const task: Promise<void> = work(item)
      .catch((error: unknown) => {
        failure ??= { error };
      })
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
    // Building an object is synchronous; yield so finished gzips and puts move on.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await Promise.all(inFlight);
  if (failure) throw failure.error;
  signal?.throwIfAborted();
}

async function pause(ms: number, onTick: (leftMs: number) => void, signal?: AbortSignal): Promise<void> {
  const end = performance.now() + ms;
  for (let left = ms; left > 0; left = end - performance.now()) {
    onTick(Math.ceil(left));
    await sleep(Math.min(1000, left), undefined, signal ? { signal } : {});
  }
}
