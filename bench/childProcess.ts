import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ChildTask, ChildTaskResult } from "./tasks/types.js";

const here = dirname(fileURLToPath(import.meta.url));
const CHILD_ENTRY = join(here, "child.ts");

/**
 * Runs one measured task in a fresh Node process, so each figure has its own peak RSS and
 * no variant inherits another's heap, DuckDB buffers or warm caches. The local stack stays
 * in this (the parent) process and serves the child over HTTP, as AWS would.
 */
export async function runInChild<T extends ChildTask>(
  task: T,
  env: Readonly<Record<string, string>> = {},
): Promise<ChildTaskResult<T>> {
  const dir = await mkdtemp(join(tmpdir(), "compacter-bench-task-"));
  const taskPath = join(dir, "task.json");
  const resultPath = join(dir, "result.json");
  try {
    await writeFile(taskPath, JSON.stringify(task));
    const stderr: string[] = [];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", CHILD_ENTRY, taskPath, resultPath], {
        env: { ...process.env, ...env },
        stdio: ["ignore", "ignore", process.env.BENCH_CHILD_STDERR ? "inherit" : "pipe"],
      });
      child.stderr?.setEncoding("utf8");
      child.stderr?.on("data", (chunk: string) => {
        stderr.push(chunk);
        if (stderr.length > 200) stderr.splice(0, stderr.length - 200);
      });
      child.on("error", reject);
      child.on("exit", (exitCode) => resolve(exitCode));
    });
    if (code !== 0) {
      throw new Error(`benchmark task ${task.kind} failed (exit ${code}):\n${stderr.join("").slice(-4000)}`);
    }
    return JSON.parse(await readFile(resultPath, "utf8")) as ChildTaskResult<T>;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
