export type InvocationOutcome =
  | { readonly result: "ok"; readonly value: unknown }
  | { readonly result: "error"; readonly error: unknown }
  | { readonly result: "timeout" };

/**
 * Runs one invocation with the function's timeout. Past it the invocation is abandoned,
 * as Lambda abandons a timed-out run: its result no longer counts (nothing is deleted, no
 * retry is scheduled by it). In-process it cannot be stopped; the lease and the commit
 * protocol make a late finish harmless, as they must for a Lambda frozen mid-write.
 */
export async function invokeWithTimeout(
  invoke: () => Promise<unknown>,
  timeoutMs: number,
): Promise<InvocationOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<InvocationOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ result: "timeout" }), timeoutMs);
  });
  const ran = invoke().then(
    (value): InvocationOutcome => ({ result: "ok", value }),
    (error: unknown): InvocationOutcome => ({ result: "error", error }),
  );
  try {
    return await Promise.race([ran, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
