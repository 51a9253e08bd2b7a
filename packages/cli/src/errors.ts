import { CompacterError } from "@compacter/core";

/**
 * Thrown by a command for a usage problem (bad combination of flags, …): exit 2.
 * Its own module, not main.ts: every command throws it, and main.ts imports every command.
 */
export class UsageError extends CompacterError {}
