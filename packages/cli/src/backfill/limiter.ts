/**
 * At most `limit` calls in flight across every caller that shares it (the backfill's
 * manifest writes, whichever device prefix they come from). A finishing call hands its
 * slot straight to the next waiter, so the bound holds exactly.
 */
export function createLimiter(limit: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (active < limit) active += 1;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active -= 1;
    }
  };
}
