import { CompacterError } from "@compacter/core";

/** The local stack could not start or bootstrap its resources. */
export class LocalStackError extends CompacterError {}

/** A listen error, made actionable when the port is taken; other errors pass through. */
export function portInUse(error: unknown, service: string, host: string, port: number): unknown {
  if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") return error;
  return new LocalStackError(
    `the ${service} port ${host}:${port} is in use; pick another (--s3-port / --dynamodb-port) or 0 for a free one`,
    { cause: error },
  );
}
