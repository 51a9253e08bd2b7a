/**
 * Running `compacter` the two ways the CLI tests need: in this process (fast; the command
 * reads `process.env` like a spawned one would) and as a child process in its own process
 * group (what a user's terminal does), with its output collected.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { vi } from "vitest";
import { main } from "../../packages/cli/src/main.js";

export const BIN = fileURLToPath(new URL("../../packages/cli/bin/compacter.js", import.meta.url));
export const REPO = fileURLToPath(new URL("../..", import.meta.url));

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `compacter …` in this process; stdout and stderr captured. */
export async function inProcess(...args: string[]): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

/** `compacter … --json` in this process; fails the test with its stderr unless it exits 0. */
export async function json<T = unknown>(...args: string[]): Promise<T> {
  const result = await inProcess(...args);
  if (result.code !== 0)
    throw new Error(`compacter ${args.join(" ")} exited ${result.code}:\n${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

export interface Running {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A `compacter` child in its own process group, like a job started from a terminal. */
export function spawnCompacter(args: readonly string[], env: NodeJS.ProcessEnv): Running {
  return spawnInGroup(BIN, args, env);
}

/** `command` run from the repository root in its own process group, its output collected. */
export function spawnInGroup(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Running {
  const child = spawn(command, [...args], {
    cwd: REPO,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once("exit", (code, signal) => done({ code, signal })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** True once no process of the child's group is left. */
export async function groupGone(running: Running): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(-running.child.pid!, 0);
    } catch {
      return true;
    }
    await sleep(100);
  }
  return false;
}

/** Cleanup after a failed assertion: nothing of the group may outlive the test. */
export function killGroup(running: Running): void {
  try {
    process.kill(-running.child.pid!, "SIGKILL");
  } catch {
    // already gone
  }
}

/** Polls `probe` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  everyMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The environment without any AWS_* / COMPACTER_* of the developer's shell. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(AWS_|COMPACTER_)/.test(key)),
  );
  return { ...env, ...extra };
}
