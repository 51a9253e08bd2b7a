import type { Command } from "commander";

/** Each command lives in its own file and adds itself to the program. */
export type RegisterCommand = (program: Command) => Command;

export const COMMANDS: readonly RegisterCommand[] = [];
