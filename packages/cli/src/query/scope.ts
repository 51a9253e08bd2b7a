import { daysBetween, parseIsoDay } from "@compacter/core";
import { UsageError } from "../errors.js";

/** Which partitions a query reads: a day range, a district, both, or (neither) all of them. */
export interface QueryScope {
  /** Inclusive `hiveperiod` range. */
  readonly days?: { readonly from: string; readonly to: string };
  readonly district?: string;
}

export interface ScopeFlags {
  readonly day?: string;
  readonly from?: string;
  readonly to?: string;
  readonly district?: string;
}

/** At most this many days when no district narrows the range (one Query per day). */
export const MAX_DAYS_WITHOUT_DISTRICT = 366;

export function scopeFromFlags(flags: ScopeFlags): QueryScope {
  if (flags.day !== undefined && (flags.from !== undefined || flags.to !== undefined)) {
    throw new UsageError("use either --day D or --from D1 [--to D2], not both");
  }
  if (flags.to !== undefined && flags.from === undefined) throw new UsageError("--to needs --from");
  const from = flags.day ?? flags.from;
  const district = flags.district;
  if (from === undefined) return district === undefined ? {} : { district };
  const to = flags.day ?? flags.to ?? from;
  checkDay(flags.day !== undefined ? "--day" : "--from", from);
  checkDay("--to", to);
  if (to < from) throw new UsageError(`--to ${to} is before --from ${from}`);
  if (district === undefined && daysBetween(from, to).length > MAX_DAYS_WITHOUT_DISTRICT) {
    throw new UsageError(`a range over ${MAX_DAYS_WITHOUT_DISTRICT} days needs --district`);
  }
  return { days: { from, to }, ...(district === undefined ? {} : { district }) };
}

/** "2025-12-12..2025-12-13, district BRCB" — for messages. */
export function describeScope(scope: QueryScope): string {
  const days = scope.days
    ? scope.days.from === scope.days.to
      ? `day ${scope.days.from}`
      : `days ${scope.days.from}..${scope.days.to}`
    : "every day";
  return `${days}, ${scope.district === undefined ? "every district" : `district ${scope.district}`}`;
}

function checkDay(flag: string, value: string): void {
  try {
    parseIsoDay(value);
  } catch (error) {
    throw new UsageError(`${flag}: ${(error as Error).message}`);
  }
}
