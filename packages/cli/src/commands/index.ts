import type { Command } from "commander";
import { registerBackfill } from "./backfill.js";
import { registerCompact } from "./compact.js";
import { registerDev } from "./dev.js";
import { registerManifest } from "./manifest.js";
import { registerQuery } from "./query.js";
import { registerRetry } from "./retry.js";
import { registerRun } from "./run.js";
import { registerSchema } from "./schema.js";
import { registerSimulate } from "./simulate.js";
import { registerStatus } from "./status.js";
import { registerUi } from "./ui.js";

/**
 * Each command lives in its own file and adds itself to the program. Registration must
 * stay cheap — every invocation (even `--help`) loads all of them — so a command file
 * imports only commander and light helpers at the top, and loads what its action needs
 * (the AWS SDK, DuckDB, the local stack, the simulator) inside the action.
 */
export type RegisterCommand = (program: Command) => Command;

export const COMMANDS: readonly RegisterCommand[] = [
  registerDev,
  registerRun,
  registerSimulate,
  registerBackfill,
  registerCompact,
  registerQuery,
  registerRetry,
  registerManifest,
  registerStatus,
  registerSchema,
  registerUi,
];
