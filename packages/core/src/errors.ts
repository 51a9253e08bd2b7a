/**
 * Errors of the core. Callers branch on `retryable`: a retryable error means "the same
 * work may succeed later" (throttling, a lost race, a lease taken over); a non-retryable
 * one means retrying the same input can never help.
 */
export class CompacterError extends Error {
  readonly retryable: boolean;

  constructor(message: string, options: ErrorOptions & { retryable?: boolean } = {}) {
    super(message, options);
    this.name = new.target.name;
    this.retryable = options.retryable ?? false;
  }
}

/**
 * The one place an error is classified. Our own errors say whether the same work can
 * succeed later. Anything else (an SDK error: throttling, a network failure, a bucket that
 * is missing until someone recreates it; a DuckDB error) is treated as transient: the
 * queue retries it and the back-off bounds the cost.
 */
export function isRetryable(error: unknown): boolean {
  return error instanceof CompacterError ? error.retryable : true;
}

/** A setting has an invalid value. */
export class ConfigError extends CompacterError {}

/** An SQS message body that can never be a valid S3 event notification. */
export class InvalidEventError extends CompacterError {}

/** This worker's lease expired or was taken over; it must not commit. */
export class LeaseLostError extends CompacterError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, { ...options, retryable: true });
  }
}

/** The partition's generation moved (another worker committed first). */
export class GenerationConflictError extends CompacterError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, { ...options, retryable: true });
  }
}

/** Raised at a named fault point when a test asks the worker to die there. */
export class InjectedFaultError extends CompacterError {
  readonly point: string;

  constructor(point: string) {
    super(`injected fault at ${point}`);
    this.point = point;
  }
}

/**
 * A bucket the job needs does not exist (deleted, or a wrong setting). Unlike a missing
 * object this says nothing about the raw files, so no file may be marked removed for it;
 * retryable: the job heals once the bucket is back.
 */
export class BucketNotFoundError extends CompacterError {
  readonly bucket: string;

  constructor(bucket: string, options: ErrorOptions = {}) {
    super(
      `bucket ${bucket} does not exist: check the bucket settings (or recreate the bucket); the job is retried`,
      { ...options, retryable: true },
    );
    this.bucket = bucket;
  }
}

/** An object that should exist is gone (a staged file deleted early, a raw file removed mid-job). */
export class ObjectNotFoundError extends CompacterError {
  readonly bucket: string;
  readonly key: string;

  constructor(bucket: string, key: string, options: ErrorOptions = {}) {
    super(`s3://${bucket}/${key} does not exist`, options);
    this.bucket = bucket;
    this.key = key;
  }
}
