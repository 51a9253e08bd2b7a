import { type PartitionId, parseIsoDay } from "@compacter/core";
import { UsageError } from "../errors.js";

/** `--day D --district X` → a partition, with usage errors a person can act on. */
export function partitionFromFlags(flags: { day?: string; district?: string }, command: string): PartitionId {
  if (!flags.day || !flags.district)
    throw new UsageError(`${command} needs --day YYYY-MM-DD and --district X`);
  try {
    parseIsoDay(flags.day);
  } catch (error) {
    throw new UsageError(`--day: ${(error as Error).message}`);
  }
  return { day: flags.day, district: flags.district };
}
