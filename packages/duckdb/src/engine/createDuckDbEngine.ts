import type { CompactionEngine } from "@compacter/core";
import { DuckDbEngine, type DuckDbEngineOptions } from "./DuckDbEngine.js";
import { EngineSlots } from "./EngineSlots.js";

/** The DuckDB implementation of the compaction port: one engine, or `slots` of them side by side. */
export function createDuckDbEngine(options: DuckDbEngineOptions = {}): CompactionEngine {
  const slots = options.slots ?? 1;
  return slots === 1 ? new DuckDbEngine(options) : new EngineSlots(slots, options);
}
