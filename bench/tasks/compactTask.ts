import { createAwsClients } from "@compacter/aws";
import { compactPartition, loadConfig, noFaults } from "@compacter/core";
import { createDuckDbEngine } from "@compacter/duckdb";
import { createRuntime } from "@compacter/wiring";
import { nulledTotal, recordingEngine } from "./engineRecorder.js";
import { BenchClock, startMeasure } from "./measure.js";
import type { CompactResult, CompactTask } from "./types.js";

/** One compaction job, exactly as a worker runs it: lease, plan, download, DuckDB, stage, commit, publish. */
export async function runCompactTask(task: CompactTask): Promise<CompactResult> {
  const config = loadConfig({ env: process.env });
  const clients = createAwsClients();
  const runtime = createRuntime(config, { clients, faults: noFaults });
  const engine = recordingEngine(createDuckDbEngine());
  const clock = new BenchClock();
  clock.set(task.clockMs);
  try {
    const measure = startMeasure();
    const outcome = await compactPartition(
      { ...runtime.compactionDeps(engine), clock, workerId: "bench" },
      { partition: task.partition },
    );
    const measured = measure.stop();
    const stageMs: Record<string, number> = {};
    for (const result of engine.results) {
      for (const [stage, ms] of Object.entries(result.stageMs ?? {}))
        stageMs[stage] = (stageMs[stage] ?? 0) + ms;
    }
    return {
      measure: measured,
      status: outcome.status,
      ...(outcome.plan ? { plan: outcome.plan } : {}),
      ...(outcome.reason ? { reason: outcome.reason } : {}),
      rowsOut: outcome.history?.rowsOut ?? 0,
      nulledValues: nulledTotal(engine.results),
      outputs: (outcome.history?.outputs ?? []).map((o) => ({ key: o.key, rows: o.rows, bytes: o.bytes })),
      stageMs,
    };
  } finally {
    await engine.close();
    runtime.close();
    clients.destroy();
  }
}
