import type { Command } from "commander";
import { addSettingFlags, configFromFlags } from "../settingsFlags.js";

/**
 * `compacter run`: the long-running worker — ingest, sweep and compaction in one process,
 * against AWS or any endpoints (`AWS_ENDPOINT_URL`, …). Runs until SIGTERM/SIGINT, then
 * drains: no new work is taken and work in hand finishes.
 */
export function registerRun(program: Command): Command {
  return addSettingFlags(
    program
      .command("run")
      .description("Run ingest, sweep and compaction in this process until SIGTERM/Ctrl-C")
      .option("--no-ingest", "do not consume the ingest queue")
      .option("--no-sweep", "do not look for due partitions (another process does)")
      .option("--no-compaction", "do not consume the compaction queue"),
  ).action(
    async (flags: { ingest: boolean; sweep: boolean; compaction: boolean } & Record<string, unknown>) => {
      const config = configFromFlags(flags);
      // Loaded here, not at start-up: DuckDB, the AWS SDK and pino-pretty cost every other command time.
      const [{ createDuckDbEngine }, { createRuntime, Worker }, { emfMetricsFor }, { readableLogSink }] =
        await Promise.all([
          import("@compacter/duckdb"),
          import("@compacter/wiring"),
          import("@compacter/aws"),
          import("../readableLogs.js"),
        ]);
      const runtime = createRuntime(config, {
        role: "worker",
        // EMF lines on stdout (logs are on stderr); on ECS/EC2, ship stdout with the CloudWatch
        // agent or FireLens and CloudWatch extracts the same metrics the Lambdas publish.
        metrics: emfMetricsFor(config),
        ...(process.stderr.isTTY ? { logSink: readableLogSink() } : {}),
      });
      const engine = createDuckDbEngine({ slots: config.compactionConcurrency });
      const worker = new Worker(runtime, engine, {
        roles: { ingest: flags.ingest, sweep: flags.sweep, compaction: flags.compaction },
      });
      const stopped = new Promise<NodeJS.Signals>((resolve) => {
        process.once("SIGTERM", () => resolve("SIGTERM"));
        process.once("SIGINT", () => resolve("SIGINT"));
      });
      worker.start();
      runtime.log.info("worker running", {
        roles: { ingest: flags.ingest, sweep: flags.sweep, compaction: flags.compaction },
      });
      const signal = await stopped;
      runtime.log.info("draining", { signal });
      await worker.stop();
      await engine.close();
      runtime.log.info("worker stopped", { ...worker.stats() });
      runtime.close();
    },
  );
}
