import type { Clock } from "@compacter/core";
import type { Context } from "aws-lambda";

/**
 * What a Lambda container holds between invocations (clients, DuckDB) and how it answers
 * one. Each handler module builds its container with one `<role>Container(options)`
 * function — config from the links, adapters from @compacter/wiring, the core behind —
 * so a test runs exactly what the deployed `handler` runs, with its own clock.
 */
export interface LambdaContainer<Event, Result> {
  handle(event: Event, context?: Context): Promise<Result>;
  /** Local runs only: a Lambda container is frozen, never closed. */
  close(): Promise<void>;
}

/** What an entry point takes from its caller; a deployed function passes nothing. */
export interface ContainerOptions {
  /** @defaultvalue systemClock */
  readonly clock?: Clock;
}

/**
 * A module's `handler` and `closeContainer`: the container is built on the first event
 * (a cold start) and reused by warm invocations.
 */
export function coldStarted<Event, Result>(
  build: () => LambdaContainer<Event, Result>,
): {
  handler: (event: Event, context?: Context) => Promise<Result>;
  closeContainer: () => Promise<void>;
} {
  let container: LambdaContainer<Event, Result> | undefined;
  return {
    handler: (event, context) => {
      container ??= build();
      return container.handle(event, context);
    },
    closeContainer: async () => {
      const closing = container;
      container = undefined;
      await closing?.close();
    },
  };
}
