/**
 * First Ctrl-C / SIGTERM: stop cleanly. A second one while stopping: exit at once, so a
 * stuck shutdown never needs kill -9.
 */
export function shutdownSignal(): { readonly signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(name === "SIGINT" ? 130 : 143);
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

/** Resolves after `ms`, or as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolveSleep) => {
    if (signal.aborted) return resolveSleep();
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolveSleep();
    }
  });
}

/** "[12:34:56] text" on stderr: what `compacter dev` says when it isn't drawing a progress line. */
export function note(text: string): void {
  // On a TTY a progress line may be showing: clear it first, the next tick redraws it.
  const clear = process.stderr.isTTY ? "\r\x1b[2K" : "";
  process.stderr.write(`${clear}[${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}
