import { CompacterError } from "@compacter/core";

/** The job's signal fired (lease lost, shutdown): the engine stopped and wrote nothing usable. */
export class CompactionAbortedError extends CompacterError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, { ...options, retryable: true });
  }
}

/**
 * A job reached an engine that was closed (the process is shutting down). Retryable: the
 * job's message comes back to a worker that is running.
 */
export class EngineClosedError extends CompacterError {
  constructor() {
    super("the DuckDB engine is closed", { retryable: true });
  }
}

/**
 * The engine found its own results inconsistent (e.g. DuckDB produced a different number
 * of rows for a file than the validator counted). Never commit such an output.
 */
export class EngineInvariantError extends CompacterError {}
