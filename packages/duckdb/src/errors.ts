import { CompacterError } from "@compacter/core";

/** The job's signal fired (lease lost, shutdown): the engine stopped and wrote nothing usable. */
export class CompactionAbortedError extends CompacterError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, { ...options, retryable: true });
  }
}

/**
 * The engine found its own results inconsistent (e.g. DuckDB produced a different number
 * of rows for a file than the validator counted). Never commit such an output.
 */
export class EngineInvariantError extends CompacterError {}
