import type { Command } from "commander";
import { registerCompact } from "./compact.js";
import { registerDev } from "./dev.js";
import { registerManifest } from "./manifest.js";
import { registerRetry } from "./retry.js";
import { registerRun } from "./run.js";
import { registerSimulate } from "./simulate.js";
import { registerStatus } from "./status.js";

/** Each command lives in its own file and adds itself to the program. */
export type RegisterCommand = (program: Command) => Command;

export const COMMANDS: readonly RegisterCommand[] = [
  registerDev,
  registerRun,
  registerCompact,
  registerRetry,
  registerManifest,
  registerSimulate,
  registerStatus,
];
