/**
 * Entry of a benchmark child process: `node --import tsx bench/child.ts <task.json> <result.json>`.
 * Runs one task (see tasks/types.ts) and writes its result; the parent (childProcess.ts)
 * owns the local stack and every decision about what to measure.
 */
import { readFile, writeFile } from "node:fs/promises";
import { runCompactTask } from "./tasks/compactTask.js";
import { runDayTask } from "./tasks/dayTask.js";
import { runDuckDbTask } from "./tasks/duckdbTask.js";
import { runIngestTask } from "./tasks/ingestTask.js";
import { runQueryTask } from "./tasks/queryTask.js";
import type { ChildTask } from "./tasks/types.js";

const [taskPath, resultPath] = process.argv.slice(2);
if (!taskPath || !resultPath) throw new Error("usage: child.ts <task.json> <result.json>");
const task = JSON.parse(await readFile(taskPath, "utf8")) as ChildTask;
const result = await run(task);
await writeFile(resultPath, JSON.stringify(result));
// Idle SDK sockets and DuckDB's threads must not keep the process (and its RSS) around.
process.exit(0);

function run(task: ChildTask): Promise<unknown> {
  switch (task.kind) {
    case "compact":
      return runCompactTask(task);
    case "day":
      return runDayTask(task);
    case "ingest":
      return runIngestTask(task);
    case "duckdb":
      return runDuckDbTask(task);
    case "query":
      return runQueryTask(task);
  }
}
