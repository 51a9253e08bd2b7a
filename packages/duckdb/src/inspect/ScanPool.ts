import { Worker } from "node:worker_threads";
import { CompactionAbortedError } from "../errors.js";
import { type RawScan, SCAN_KIT, type ScanOptions, scanFile } from "./scanRawFile.js";

// The worker runs the scan from source text (see SCAN_KIT): every helper of SCAN_KIT is
// defined from its own `toString()` under its key, gathered into `kit` and passed to
// scanFile, so the worker holds exactly the functions the main thread's scan calls.
// `__name` is a no-op stand-in for the helper esbuild-based loaders (tsx, vitest) insert
// when they keep function names.
export const WORKER_SOURCE = `
"use strict";
const { parentPort } = require("node:worker_threads");
const fs = require("node:fs");
const zlib = require("node:zlib");
const { isUtf8 } = require("node:buffer");
var __name = (target) => target;
${Object.entries(SCAN_KIT)
  .map(([name, helper]) => `const ${name} = (${helper.toString()});`)
  .join("\n")}
const kit = { ${Object.keys(SCAN_KIT).join(", ")} };
const scanFile = (${scanFile.toString()});
let state = {};
parentPort.on("message", async (task) => {
  // A pathological batch (every line a different key order) must not grow the cache forever.
  if (state.templates && state.templates.size > 10000) state = {};
  try {
    const result = await scanFile(kit, task.path, { fs, zlib, isUtf8 }, state, task.options);
    parentPort.postMessage({ id: task.id, result });
  } catch (error) {
    parentPort.postMessage({ id: task.id, error: String((error && error.stack) || error), code: error && error.code });
  }
});
`;

interface Task {
  readonly id: number;
  readonly path: string;
  readonly options: ScanOptions;
  readonly resolve: (scan: RawScan) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Worker threads that scan raw files in parallel (gunzip + validation is CPU work, and
 * DuckDB is idle while it runs). Workers start on first use and keep their key-sequence
 * cache between jobs.
 */
export class ScanPool {
  private readonly size: number;
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Task[] = [];
  private readonly running = new Map<Worker, Task>();
  private nextId = 0;

  constructor(size: number) {
    this.size = Math.max(1, size);
  }

  scan(path: string, options: ScanOptions): Promise<RawScan> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, path, options, resolve, reject });
      this.pump();
    });
  }

  /**
   * Scans every path (bounded by the pool size), aborting all of it when `signal` fires.
   * A scan that fails for any other reason than the machine's (the scanner threw on the
   * file's content, its worker ran out of memory) fails only its own file: it comes back
   * unreadable with the reason, so one hostile file cannot fail the partition. A system
   * error (ENOSPC writing a cleaned copy, EIO) is not the file's fault and fails the job,
   * which is retried.
   */
  async scanAll(
    items: readonly { path: string; options: ScanOptions }[],
    signal?: AbortSignal,
  ): Promise<RawScan[]> {
    if (signal?.aborted) throw abortError(signal);
    const onAbort = () => this.terminate(abortError(signal));
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const scans = await Promise.all(
        items.map((item) =>
          this.scan(item.path, item.options).catch((error: unknown): RawScan => {
            if (signal?.aborted || error instanceof CompactionAbortedError || isSystemError(error))
              throw error;
            const message = error instanceof Error ? error.message : String(error);
            return { kind: "unreadable", error: `could not be validated: ${message.split("\n")[0]}` };
          }),
        ),
      );
      if (signal?.aborted) throw abortError(signal);
      return scans;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Stops every worker; queued and running scans reject with `reason`. */
  terminate(reason: Error = new CompactionAbortedError("scan pool closed")): void {
    for (const task of this.queue.splice(0)) task.reject(reason);
    for (const [, task] of this.running) task.reject(reason);
    this.running.clear();
    for (const worker of this.workers.splice(0)) void worker.terminate();
    this.idle.length = 0;
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const worker = this.idle.pop() ?? (this.workers.length < this.size ? this.spawn() : undefined);
      if (!worker) return;
      const task = this.queue.shift()!;
      this.running.set(worker, task);
      worker.postMessage({ id: task.id, path: task.path, options: task.options });
    }
  }

  private spawn(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    // Idle workers must not keep the process alive.
    worker.unref();
    worker.on("message", (message: { id: number; result?: RawScan; error?: string; code?: string }) => {
      // A worker terminated by an abort can still deliver the answer it was sending; it
      // must not go back to `idle`, where the next job would post to a dead worker and
      // wait for ever.
      if (!this.workers.includes(worker)) return;
      const task = this.running.get(worker);
      this.running.delete(worker);
      this.idle.push(worker);
      if (task) {
        if (message.error !== undefined) {
          const error = new Error(`scanning ${task.path} failed: ${message.error}`);
          task.reject(message.code ? Object.assign(error, { code: message.code }) : error);
        } else task.resolve(message.result!);
      }
      this.pump();
    });
    worker.on("error", (error) => {
      const task = this.running.get(worker);
      this.running.delete(worker);
      const index = this.workers.indexOf(worker);
      if (index >= 0) this.workers.splice(index, 1);
      task?.reject(error);
      this.pump();
    });
    this.workers.push(worker);
    return worker;
  }
}

function abortError(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new CompactionAbortedError("compaction aborted");
}

/** An operating-system error (errno code such as ENOSPC, EIO, ENOENT): the machine's fault, not the file's. */
function isSystemError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code);
}
