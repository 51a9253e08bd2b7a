import type { CompactionOutcome, PartitionId } from "@compacter/core";
import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { printJson, printTable } from "../output.js";
import { addSettingFlags, configFromFlags } from "../settingsFlags.js";
import { partitionFromFlags } from "./partitionFlags.js";

/** The job body (`{"day":…,"district":…}`) a compactor hands to the Fargate task. */
const COMPACTION_JOB_ENV = "COMPACTER_JOB";

/**
 * `compacter compact`: compact one partition now, in this process (an operator forcing a
 * merge, the Fargate task for a partition too large for Lambda — given as COMPACTER_JOB, the
 * job's body, when no partition flag is), or every partition that is due (`--due`). Same lease and commit protocol as the worker, so it is safe while
 * workers run.
 */
export function registerCompact(program: Command): Command {
  return addSettingFlags(
    program
      .command("compact")
      .description("Compact a partition now (or every partition due now) in this process")
      .option("--day <YYYY-MM-DD>", "partition day (hiveperiod)")
      .option("--district <X>", "partition district")
      .option("--merge", "merge the partition into one sorted file even if an append would do")
      .option("--due", "compact every partition that has work due now")
      .option("--json", "print JSON"),
  ).action(
    async (flags: { day?: string; district?: string; merge?: boolean; due?: boolean; json?: boolean }) => {
      if (flags.due && (flags.day || flags.district))
        throw new UsageError("use either --due or --day/--district");
      const config = configFromFlags(flags as Record<string, unknown>);
      // Loaded here, not at start-up: DuckDB and the AWS SDK cost every other command time.
      const [
        { compactPartition, decodeCompactionJob, partitionLabel },
        { createDuckDbEngine },
        { createRuntime },
      ] = await Promise.all([
        import("@compacter/core"),
        import("@compacter/duckdb"),
        import("@compacter/wiring"),
      ]);
      const runtime = createRuntime(config, { role: "compact" });
      const engine = createDuckDbEngine();
      try {
        // The Fargate task (and its local stand-in) gets the job the compactor handed over.
        const handedOver =
          !flags.due && !flags.day && !flags.district && process.env[COMPACTION_JOB_ENV]
            ? decodeCompactionJob(process.env[COMPACTION_JOB_ENV] ?? "")
            : undefined;
        const partitions: PartitionId[] = flags.due
          ? await duePartitions(runtime.store)
          : handedOver
            ? [handedOver.partition]
            : [partitionFromFlags(flags, "compact")];
        const forceMerge = flags.merge || handedOver?.forceMerge;
        const summarise = (outcome: CompactionOutcome) => summary(outcome, partitionLabel);
        const outcomes: CompactionOutcome[] = [];
        for (const partition of partitions) {
          const outcome = await compactPartition(runtime.compactionDeps(engine), {
            partition,
            ...(forceMerge ? { forceMerge: true } : {}),
          });
          // Done here: the partition is no longer failing, and a job sent for it has ended.
          if (outcome.status !== "busy") await runtime.store.clearFailure(partition);
          outcomes.push(outcome);
        }
        if (flags.json) return printJson(outcomes.map(summarise));
        printTable(outcomes.map(summarise));
        if (outcomes.some((o) => o.status === "busy")) {
          process.stderr.write("a partition is leased by another worker; it will be compacted there\n");
        }
      } finally {
        await engine.close();
        runtime.close();
      }
    },
  );
}

async function duePartitions(store: { listDue(until?: string): Promise<{ partition: PartitionId }[]> }) {
  const due = await store.listDue(new Date().toISOString());
  const unique = new Map(due.map((d) => [`${d.partition.day}/${d.partition.district}`, d.partition]));
  return [...unique.values()];
}

function summary(outcome: CompactionOutcome, partitionLabel: (p: PartitionId) => string) {
  const h = outcome.history;
  return {
    partition: partitionLabel(outcome.partition),
    status: outcome.status,
    plan: outcome.plan ?? "",
    reason: outcome.reason ?? "",
    generation: outcome.generation ?? "",
    rolledForward: outcome.rolledForward,
    inputs: h?.inputs.length ?? 0,
    quarantined: h?.inputs.filter((f) => f.outcome === "quarantined").length ?? 0,
    rowsOut: h?.rowsOut ?? 0,
    outputs: h?.outputs.length ?? 0,
    bytesOut: h?.bytesOut ?? 0,
    durationMs: h?.durationMs ?? 0,
  };
}
