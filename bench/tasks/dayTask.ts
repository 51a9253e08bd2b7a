import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { type AwsClients, CompactionConsumer, createAwsClients, IngestConsumer } from "@compacter/aws";
import {
  type CompactionOutcome,
  loadConfig,
  noFaults,
  retryPolicyOf,
  type SliceSummary,
  sweepDuePartitions,
} from "@compacter/core";
import { createDuckDbEngine } from "@compacter/duckdb";
import { createRuntime, type Runtime } from "@compacter/wiring";
import { meterDynamoCapacity, meterEmptyReceives } from "../requestMeter.js";
import { nulledTotal, recordingEngine } from "./engineRecorder.js";
import {
  BenchClock,
  peakRssMb,
  resetPeakRss,
  samplePeakDisk,
  startMeasure,
  type WorkspaceDisk,
} from "./measure.js";
import type { CapacityUnits, DayResult, DayStepResult, DayTask, SliceJobResult } from "./types.js";

/**
 * A steady-state service day for one partition, as `compacter run` lives it: an
 * IngestConsumer and a CompactionConsumer run the whole day; per step, S3 delivers the
 * hour's notifications to the ingest queue, the clock moves past the hour's window, the
 * sweep sends the due partition to the compaction queue and the compactor takes it (an
 * append while the day is open, the merge once it has closed). Each role has its own
 * clients, so every request is counted and attributed to the role that made it.
 */
export async function runDayTask(task: DayTask): Promise<DayResult> {
  const config = loadConfig({ env: process.env });
  const clock = new BenchClock();
  const roles = {
    ingest: meteredRuntime(config),
    sweep: meteredRuntime(config),
    compaction: meteredRuntime(config),
  };
  // S3's own deliveries go through other clients: they are not our requests.
  const s3Side = createAwsClients();
  const engine = recordingEngine(createDuckDbEngine());

  let registered = 0;
  let ingestFailure: Error | undefined;
  const ingest = new IngestConsumer({
    sqs: roles.ingest.runtime.clients.sqs,
    queueUrl: config.ingestQueueUrl,
    ingest: { store: roles.ingest.runtime.store, config, log: roles.ingest.runtime.log },
    deadLetters: roles.ingest.runtime.ingestDeadLetters,
    onBatch: (dispositions) => {
      for (const d of dispositions) {
        if (d.status !== "done") ingestFailure ??= new Error(`ingest failed: ${JSON.stringify(d)}`);
        else registered += d.result.records.filter((r) => r.outcome === "registered").length;
      }
    },
  });
  const outcomes: CompactionOutcome[] = [];
  // Every worker has its own engine, as separate processes would; the first one's results feed the counts.
  const engines = [engine, ...Array.from({ length: (task.workers ?? 1) - 1 }, () => createDuckDbEngine())];
  const compactors = engines.map(
    (workerEngine, i) =>
      new CompactionConsumer({
        sqs: roles.compaction.runtime.clients.sqs,
        queueUrl: config.compactionQueueUrl,
        deps: {
          ...roles.compaction.runtime.compactionDeps(workerEngine),
          clock,
          workerId: i === 0 ? "bench" : `bench-${i + 1}`,
          // A sliced merge asks for helpers on the compaction queue, as in the service.
          jobs: roles.compaction.runtime.jobs,
        },
        deadLetters: roles.compaction.runtime.compactionDeadLetters,
        onOutcome: (outcome) => outcomes.push(outcome),
      }),
  );
  const compactor = {
    start: () => {
      for (const c of compactors) c.start();
    },
    stop: () => Promise.all(compactors.map((c) => c.stop())),
    failed: () => compactors.reduce((n, c) => n + c.stats().failed, 0),
  };

  const steps: DayStepResult[] = [];
  const measure = startMeasure();
  ingest.start();
  compactor.start();
  try {
    let expected = 0;
    for (const step of task.steps) {
      const ingestStarted = performance.now();
      await deliver(s3Side, config.ingestQueueUrl, step.notifications);
      expected += step.notifications.length;
      await until(() => {
        if (ingestFailure) throw ingestFailure;
        return registered >= expected;
      });
      const ingestMs = step.notifications.length === 0 ? 0 : performance.now() - ingestStarted;

      clock.set(step.clockMs);
      const peakRssPerJob = resetPeakRss();
      const disk = samplePeakDisk(config.tempDir);
      const compactStarted = performance.now();
      const cpu = process.cpuUsage();
      const swept = await sweepDuePartitions({
        store: roles.sweep.runtime.store,
        queue: roles.sweep.runtime.jobs,
        clock,
        log: roles.sweep.runtime.log,
        retry: retryPolicyOf(roles.sweep.runtime.config),
      });
      if (swept.partitions.length !== 1) {
        throw new Error(
          `${step.label}: the sweep found ${swept.partitions.length} due partitions, expected 1`,
        );
      }
      const seen = outcomes.length;
      // A helper of a sliced merge ends "busy" or "nothing"; the step ends with the commit.
      await until(() => {
        if (compactor.failed() > 0) throw new Error(`${step.label}: the compaction job failed`);
        const ended = outcomes.slice(seen);
        const conflict = ended.find((o) => o.status === "conflict");
        if (conflict) throw new Error(`${step.label}: compaction ended conflict: ${conflict.reason}`);
        return ended.some((o) => o.status === "committed");
      });
      const outcome = outcomes.slice(seen).find((o) => o.status === "committed") ?? outcomes.at(-1)!;
      const used = process.cpuUsage(cpu);
      const compactMs = performance.now() - compactStarted;
      const temp = await disk.stop();
      if (outcome.status !== "committed") {
        throw new Error(`${step.label}: compaction ended ${outcome.status}: ${outcome.reason}`);
      }
      steps.push({
        label: step.label,
        messages: step.notifications.length,
        ingestMs,
        compactMs,
        compactCpuMs: (used.user + used.system) / 1000,
        peakRssMb: peakRssMb(),
        peakRssPerJob,
        peakTempBytes: temp.peak.total,
        peakWorkingBytes: temp.peak.working,
        inputBytes: outcome.history?.bytesIn ?? 0,
        outputBytes: outcome.history?.bytesOut ?? 0,
        ...(outcome.history?.slices
          ? { slices: sliceJobs(outcome.history.slices, outcome.history.attemptId, temp.byWorkspace) }
          : {}),
        status: outcome.status,
        ...(outcome.plan ? { plan: outcome.plan } : {}),
        rowsOut: outcome.history?.rowsOut ?? 0,
        outputs: (outcome.history?.outputs ?? []).map((o) => ({ key: o.key, rows: o.rows, bytes: o.bytes })),
      });
    }
    await Promise.all([ingest.stop(), compactor.stop()]);
    const measured = measure.stop();
    const state = await roles.sweep.runtime.store.getPartition(task.partition);
    const meters = Object.values(roles).map((r) => r.capacity());
    const capacity: CapacityUnits = {
      tableWrite: meters.reduce((n, c) => n + c.tableWrite, 0),
      tableRead: meters.reduce((n, c) => n + c.tableRead, 0),
      indexWriteEstimate: meters.reduce((n, c) => n + c.indexWriteEstimate, 0),
    };
    return {
      measure: measured,
      steps,
      requests: {
        ingest: withoutIdlePolls(roles.ingest),
        sweep: withoutIdlePolls(roles.sweep),
        compaction: withoutIdlePolls(roles.compaction),
      },
      emptyReceives: roles.ingest.emptyReceives() + roles.compaction.emptyReceives(),
      capacity,
      lake: (state?.files ?? []).map((f) => ({ key: f.key, rows: f.rows, bytes: f.bytes })),
      nulledValues: nulledTotal(engine.results),
    };
  } finally {
    await Promise.all([ingest.stop(), compactor.stop()]);
    for (const e of engines) await e.close();
    for (const role of Object.values(roles)) role.runtime.clients.destroy();
    s3Side.destroy();
  }
}

interface MeteredRuntime {
  readonly runtime: Runtime;
  readonly capacity: () => CapacityUnits;
  readonly emptyReceives: () => number;
}

function meteredRuntime(config: ReturnType<typeof loadConfig>): MeteredRuntime {
  const clients = createAwsClients();
  return {
    capacity: meterDynamoCapacity(clients.dynamodb),
    emptyReceives: meterEmptyReceives(clients.sqs),
    runtime: createRuntime(config, { clients, faults: noFaults }),
  };
}

/**
 * The role's counts with the receives that brought nothing back taken out: a running
 * consumer long-polls whether files arrive or not, so those are a fixed cost of the
 * deployment (see the report), not a cost per file.
 */
function withoutIdlePolls(role: MeteredRuntime): Record<string, number> {
  const counts = { ...role.runtime.clients.requestCounts() };
  const receives = (counts["sqs:ReceiveMessage"] ?? 0) - role.emptyReceives();
  if (receives > 0) counts["sqs:ReceiveMessage"] = receives;
  else delete counts["sqs:ReceiveMessage"];
  return counts;
}

/** What S3 does for each raw object: one SendMessage of its event to the ingest queue. */
async function deliver(s3Side: AwsClients, queueUrl: string, bodies: readonly string[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += 10) {
    const entries = bodies.slice(i, i + 10).map((body, j) => ({ Id: String(j), MessageBody: body }));
    const sent = await s3Side.sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    if ((sent.Failed ?? []).length > 0) {
      throw new Error(`could not deliver notifications: ${JSON.stringify(sent.Failed)}`);
    }
  }
}

/** Polls `done` every 20 ms (it may throw to fail the wait). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** The slices of a sliced merge with the temp disk of their workspaces (`compact-<attempt>-s<index>-<run>`). */
function sliceJobs(
  slices: readonly SliceSummary[],
  attemptId: string,
  byWorkspace: ReadonlyMap<string, WorkspaceDisk>,
): SliceJobResult[] {
  return slices.map((slice) => {
    const prefix = `compact-${attemptId}-s${String(slice.index).padStart(5, "0")}-`;
    const runs = [...byWorkspace].filter(([name]) => name.startsWith(prefix)).map(([, disk]) => disk);
    return {
      index: slice.index,
      worker: slice.worker,
      wallMs: slice.durationMs,
      peakTempBytes: Math.max(0, ...runs.map((d) => d.total)),
      peakWorkingBytes: Math.max(0, ...runs.map((d) => d.working)),
      inputBytes: slice.bytesIn,
      outputBytes: slice.bytesOut,
      outputs: slice.outputs,
    };
  });
}
