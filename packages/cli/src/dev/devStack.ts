import type { CompacterConfig } from "@compacter/core";
// Types only: the emulators (fastify, dynalite, LevelDB) load when `dev` runs.
import type { LocalStack } from "@compacter/local";

/** The local stack of `compacter dev` and the flags `dev` runs with (see commands/dev.ts). */
export interface DevStackOptions {
  readonly config: CompacterConfig;
  /** 0 or undefined: a free port. */
  readonly s3Port?: number;
  readonly dynamodbPort?: number;
  readonly dataDir?: string;
  /** Raw `COMPACTER_*` values given to this process (flags or environment) to pass on to others. */
  readonly settingsEnv?: Readonly<Record<string, string>>;
}

export interface DevStack {
  readonly stack: LocalStack;
  /** What the env file holds: the stack's endpoints and resources plus the settings given. */
  readonly env: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

export async function startDevStack(options: DevStackOptions): Promise<DevStack> {
  const { localResourceNames, startLocalStack } = await import("@compacter/local");
  const stack = await startLocalStack({
    ...(options.s3Port ? { s3Port: options.s3Port } : {}),
    ...(options.dynamodbPort ? { dynamodbPort: options.dynamodbPort } : {}),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    resources: localResourceNames(options.config),
  });
  return { stack, env: { ...options.settingsEnv, ...stack.env }, stop: () => stack.stop() };
}

export interface DevFlags extends Record<string, unknown> {
  /** Where the stack's endpoints are written (--write-env). */
  readonly writeEnv?: string;
  readonly s3Port?: number;
  readonly dynamodbPort?: number;
  readonly dataDir?: string;
  readonly demo: boolean;
  readonly worker: boolean;
  readonly demoDevices?: number;
  readonly demoHours?: number;
  readonly ui: boolean;
  readonly uiPort?: number;
  readonly runtime: "worker" | "lambda";
}

export const DEFAULT_ENV_FILE = ".compacter/local.env";

/** `dev`'s log level unless one is given: the progress line and notes say what happens; warnings still show. */
export const DEV_LOG_LEVEL = "warn";
