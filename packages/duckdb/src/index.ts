export { createDuckDbEngine, DuckDbEngine, type DuckDbEngineOptions } from "./engine/DuckDbEngine.js";
export { CompactionAbortedError, EngineInvariantError } from "./errors.js";
export { quoteIdentifier } from "./sql/identifiers.js";
