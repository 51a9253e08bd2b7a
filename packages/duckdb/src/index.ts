export { createDuckDbEngine } from "./engine/createDuckDbEngine.js";
export { DuckDbEngine, type DuckDbEngineOptions } from "./engine/DuckDbEngine.js";
export { EngineSlots } from "./engine/EngineSlots.js";
export { CompactionAbortedError, EngineClosedError, EngineInvariantError } from "./errors.js";
export { quoteIdentifier } from "./sql/identifiers.js";
