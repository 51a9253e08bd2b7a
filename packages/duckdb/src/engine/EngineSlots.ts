import type { CompactionEngine, EngineJob, EngineResult } from "@compacter/core";
import { EngineClosedError } from "../errors.js";
import { DuckDbEngine, type DuckDbEngineOptions } from "./DuckDbEngine.js";

/**
 * Several partitions compacting at once in one process, each on its own DuckDB engine
 * (instance, scan workers): a slow or stuck partition holds one slot and the others keep
 * flowing, instead of every job queueing behind it. DuckDB's `preserve_insertion_order`
 * is instance-wide, so jobs cannot share one instance. The process's memory budget
 * (`memoryLimitBytes`) is split evenly between the slots, so the whole stays under it.
 */
export class EngineSlots implements CompactionEngine {
  private readonly idle: DuckDbEngine[];
  private readonly waiting: ((engine: DuckDbEngine) => void)[] = [];
  private readonly all: DuckDbEngine[];
  private closed = false;

  constructor(
    private readonly slots: number,
    options: DuckDbEngineOptions,
  ) {
    if (!Number.isInteger(slots) || slots < 1)
      throw new RangeError(`slots must be a positive integer, got ${slots}`);
    this.all = Array.from({ length: slots }, () => new DuckDbEngine(options));
    this.idle = [...this.all];
  }

  async compact(job: EngineJob): Promise<EngineResult> {
    if (this.closed) throw new EngineClosedError();
    const engine = await this.take();
    try {
      const memoryLimitBytes = Math.floor(job.limits.memoryLimitBytes / this.slots);
      return await engine.compact({ ...job, limits: { ...job.limits, memoryLimitBytes } });
    } finally {
      this.give(engine);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.all.map((engine) => engine.close()));
  }

  private take(): Promise<DuckDbEngine> {
    const engine = this.idle.pop();
    if (engine) return Promise.resolve(engine);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private give(engine: DuckDbEngine): void {
    const next = this.waiting.shift();
    if (next) next(engine);
    else this.idle.push(engine);
  }
}
