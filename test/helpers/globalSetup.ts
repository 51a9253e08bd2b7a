/**
 * Vitest global setup: starts ONE local stack (fauxqs for S3 + SQS with our
 * notification bridge, dynalite for DynamoDB) in vitest's main process for the whole
 * run, and provides its endpoints to every test file as `inject("localStack")`.
 * Test files don't use this directly: see `useLocalStack()` in ./localStack.ts.
 */
import { type LocalEmulators, type LocalEndpoints, startLocalEmulators } from "@compacter/local";
import type { TestProject } from "vitest/node";

export interface ProvidedLocalStack {
  readonly endpoints: LocalEndpoints;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

declare module "vitest" {
  export interface ProvidedContext {
    localStack: ProvidedLocalStack;
  }
}

let stop: LocalEmulators["stop"] | undefined;

export async function setup(project: TestProject): Promise<void> {
  const emulators = await startLocalEmulators();
  stop = emulators.stop;
  project.provide("localStack", {
    endpoints: emulators.endpoints,
    region: emulators.region,
    credentials: emulators.credentials,
  });
}

export async function teardown(): Promise<void> {
  await stop?.();
}
