import { randomBytes } from "node:crypto";

/**
 * Time-ordered, collision-resistant ids for attempts and output files: sortable by
 * creation, short enough for S3 keys, no characters that need escaping anywhere.
 */
export function newAttemptId(nowMs: number = Date.now()): string {
  return `${nowMs.toString(36).padStart(9, "0")}${randomBytes(5).toString("hex")}`;
}
