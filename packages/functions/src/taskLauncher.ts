import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type CompactionTaskLauncher, encodeCompactionJob, type Logger } from "@compacter/core";
import { Resource } from "sst";
import { task } from "sst/aws/task";

/**
 * The compactor hands a job it cannot finish to the Fargate task (infra/fargate.ts) —
 * `compacter compact` with the job's body in COMPACTER_JOB, started with SST's
 * `task.run` (ECS RunTask with the linked cluster, task definition, subnets and security
 * groups). Locally (`compacter dev --runtime lambda`) the link names the cluster "local"
 * and the "task" is a child process running the same command.
 */
export const COMPACTION_JOB_ENV = "COMPACTER_JOB";

/** What SST links for a Task (sst/aws/task's Resource). */
type TaskLink = Parameters<typeof task.run>[0];

export const LOCAL_TASK_CLUSTER = "local";

export function taskLauncherFromLinks(log: Logger): CompactionTaskLauncher | undefined {
  let link: TaskLink | undefined;
  try {
    link = (Resource as unknown as Record<string, TaskLink | undefined>).CompactorTask;
  } catch {
    return undefined; // not linked: no Fargate task in this stage
  }
  if (!link?.cluster) return undefined;
  return link.cluster === LOCAL_TASK_CLUSTER ? childProcessLauncher(log) : fargateLauncher(link);
}

export function fargateLauncher(link: TaskLink): CompactionTaskLauncher {
  return {
    launch: async (job) => {
      const started = await task.run(link, { [COMPACTION_JOB_ENV]: encodeCompactionJob(job) });
      return { taskId: started.arn };
    },
  };
}

const COMPACTER_BIN = fileURLToPath(new URL("../../cli/bin/compacter.js", import.meta.url));

/** `compacter compact` as a child process of this one, with this process's environment. */
export function childProcessLauncher(log: Logger): CompactionTaskLauncher {
  return {
    launch: async (job, reason) => {
      const child = spawn(process.execPath, ["--", COMPACTER_BIN, "compact", "--json"], {
        env: { ...process.env, [COMPACTION_JOB_ENV]: encodeCompactionJob(job) },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-4000);
      });
      child.on("exit", (code, signal) => {
        const fields = { pid: child.pid, code, signal, reason, partition: job.partition };
        if (code === 0) log.info("local compaction task finished", fields);
        else log.warn("local compaction task failed", { ...fields, stderr });
      });
      await new Promise<void>((resolve, reject) => {
        child.once("spawn", () => resolve());
        child.once("error", reject);
      });
      return { taskId: `local:${child.pid}` };
    },
  };
}
