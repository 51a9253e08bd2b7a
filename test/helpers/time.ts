/** The start of the UTC hour `hours` before the current one (also a whole hour at any whole-hour offset). */
export function hoursAgo(hours: number, nowMs = Date.now()): number {
  return Math.floor(nowMs / 3_600_000) * 3_600_000 - hours * 3_600_000;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A clock this far ahead: a compactor using it sees today's partition day closed. */
export const DAY_CLOSED_CLOCK = { now: () => Date.now() + 13 * 3_600_000 };

/**
 * A clock `ms` ahead of the real one: a worker using it sees a lease, a late-debounce or a
 * back-off that ends within `ms` as over, so a test injects it instead of sleeping.
 */
export function clockAhead(ms: number): { now: () => number } {
  return { now: () => Date.now() + ms };
}
