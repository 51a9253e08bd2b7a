/** The start of the UTC hour `hours` before the current one (also a whole hour at any whole-hour offset). */
export function hoursAgo(hours: number, nowMs = Date.now()): number {
  return Math.floor(nowMs / 3_600_000) * 3_600_000 - hours * 3_600_000;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A clock this far ahead: a compactor using it sees today's partition day closed. */
export const DAY_CLOSED_CLOCK = { now: () => Date.now() + 13 * 3_600_000 };
