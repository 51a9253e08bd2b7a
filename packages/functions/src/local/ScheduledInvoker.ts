import type { Logger } from "@compacter/core";
import { invokeWithTimeout } from "./invoke.js";

/**
 * An EventBridge schedule invoking a function asynchronously, locally: every `everyMs` an
 * event; an invocation that throws or runs past the timeout is retried `retries` times
 * (EventBridge: twice, after about a minute and two), then the event is dropped. Runs may
 * overlap, as on AWS.
 */
export interface ScheduledInvokerOptions {
  readonly name: string;
  readonly everyMs: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly invoke: (event: ScheduledEvent) => Promise<unknown>;
  readonly log: Logger;
  readonly onInvocation?: (invocation: ScheduledInvocation) => void;
}

export interface ScheduledEvent {
  readonly version: "0";
  readonly id: string;
  readonly "detail-type": "Scheduled Event";
  readonly source: "aws.events";
  readonly time: string;
  readonly resources: readonly string[];
  readonly detail: Record<string, never>;
}

export interface ScheduledInvocation {
  readonly function: string;
  readonly eventId: string;
  /** 0 for the scheduled run, 1.. for EventBridge's retries. */
  readonly attempt: number;
  readonly result: "ok" | "error" | "timeout";
  readonly value?: unknown;
  /** The event was given up after its last retry. */
  readonly dropped: boolean;
}

export class ScheduledInvoker {
  private timer?: NodeJS.Timeout;
  private readonly running = new Set<Promise<void>>();
  private stopped = false;
  private sequence = 0;

  constructor(private readonly options: ScheduledInvokerOptions) {}

  start(): void {
    this.fire();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.all(this.running);
  }

  private fire(): void {
    if (this.stopped) return;
    const run = this.deliver().finally(() => this.running.delete(run));
    this.running.add(run);
    this.timer = setTimeout(() => this.fire(), this.options.everyMs);
  }

  private async deliver(): Promise<void> {
    const { name, timeoutMs, retries, retryDelayMs, log } = this.options;
    const event: ScheduledEvent = {
      version: "0",
      id: `local-${name}-${++this.sequence}`,
      "detail-type": "Scheduled Event",
      source: "aws.events",
      time: new Date().toISOString(),
      resources: [`arn:aws:events:local:000000000000:rule/${name}`],
      detail: {},
    };
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
      if (this.stopped && attempt > 0) return;
      const outcome = await invokeWithTimeout(() => this.options.invoke(event), timeoutMs);
      const dropped = outcome.result !== "ok" && attempt === retries;
      this.options.onInvocation?.({
        function: name,
        eventId: event.id,
        attempt,
        result: outcome.result,
        ...(outcome.result === "ok" ? { value: outcome.value } : {}),
        dropped,
      });
      if (outcome.result === "ok") return;
      log.warn(
        dropped
          ? "scheduled invocation failed; event dropped after its retries"
          : "scheduled invocation failed; retrying",
        {
          function: name,
          attempt,
          result: outcome.result,
          ...(outcome.result === "error" ? { error: outcome.error } : {}),
        },
      );
    }
  }
}
