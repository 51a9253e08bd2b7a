import type { MessageDisposition } from "@compacter/aws";
import { CompactionConsumer, IngestConsumer } from "@compacter/aws";
import {
  type CompactionEngine,
  type CompactionOutcome,
  type LakeFreshness,
  METRICS,
  partitionLabel,
  point,
  removeOrphans,
  requireSetting,
  retryPolicyOf,
  sweepDuePartitions,
  sweepTypeRewrites,
} from "@compacter/core";
import type { Runtime } from "./runtime.js";

/**
 * `compacter run`: every role of the service in one process — ingest (S3 events → the
 * manifest), sweep (due partitions → compaction jobs, and orphan cleanup), compaction
 * (jobs → Parquet). The same code the Lambda handlers run; any number of these
 * processes can run against the same resources.
 */
export interface WorkerRoles {
  readonly ingest: boolean;
  readonly sweep: boolean;
  readonly compaction: boolean;
}

export interface WorkerOptions {
  readonly roles?: Partial<WorkerRoles>;
  readonly onOutcome?: (outcome: CompactionOutcome) => void;
  readonly onIngestBatch?: (dispositions: readonly MessageDisposition[]) => void;
  readonly onSweep?: (result: {
    partitions: number;
    dueEntries: number;
    /** "day/district" of each partition a job was sent for. */
    sent: readonly string[];
    freshness: LakeFreshness;
  }) => void;
}

export class Worker {
  private readonly ingest?: IngestConsumer;
  private readonly compaction?: CompactionConsumer;
  private sweepTimer?: NodeJS.Timeout;
  private stopping = false;
  private sweepRunning?: Promise<void>;
  private lastOrphanSweepMs = 0;
  private readonly sweepStats = { sweeps: 0, jobsSent: 0, orphansRemoved: 0, errors: 0 };

  constructor(
    private readonly runtime: Runtime,
    engine: CompactionEngine,
    private readonly options: WorkerOptions = {},
  ) {
    const roles = { ingest: true, sweep: true, compaction: true, ...options.roles };
    const { config, clients, store, log } = runtime;
    if (roles.ingest) {
      requireSetting(config, "ingestQueueUrl", "the ingest role");
      this.ingest = new IngestConsumer({
        sqs: clients.sqs,
        queueUrl: config.ingestQueueUrl,
        ingest: { store, config, log: log.child({ role: "ingest" }) },
        deadLetters: runtime.ingestDeadLetters,
        metrics: runtime.metrics,
        ...(options.onIngestBatch ? { onBatch: options.onIngestBatch } : {}),
      });
    }
    if (roles.compaction) {
      requireSetting(config, "compactionQueueUrl", "the compaction role");
      const deps = runtime.compactionDeps(engine);
      this.compaction = new CompactionConsumer({
        sqs: clients.sqs,
        queueUrl: config.compactionQueueUrl,
        deps: { ...deps, log: log.child({ role: "compactor" }) },
        deadLetters: runtime.compactionDeadLetters,
        metrics: runtime.metrics,
        ...(options.onOutcome ? { onOutcome: options.onOutcome } : {}),
      });
    }
    if (roles.sweep) requireSetting(config, "compactionQueueUrl", "the sweep role");
    this.roles = roles;
  }

  private readonly roles: WorkerRoles;

  start(): void {
    this.ingest?.start();
    this.compaction?.start();
    if (this.roles.sweep) this.scheduleSweep(0);
  }

  /** Drains: no new work is taken; work in hand finishes (bounded by the visibility timeout). */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.sweepTimer);
    await Promise.all([this.ingest?.stop(), this.compaction?.stop(), this.sweepRunning]);
  }

  stats() {
    return {
      ingest: this.ingest?.stats(),
      compaction: this.compaction?.stats(),
      sweep: { ...this.sweepStats },
    };
  }

  /** One sweep now (tests, `compacter compact --due`). */
  async sweepOnce(): Promise<void> {
    const { store, jobs, log, config, objects, metrics, clock } = this.runtime;
    const sweepLog = log.child({ role: "sweep" });
    try {
      const result = await sweepDuePartitions({
        store,
        queue: jobs,
        clock,
        log: sweepLog,
        retry: retryPolicyOf(config),
        metrics,
      });
      this.sweepStats.sweeps += 1;
      this.sweepStats.jobsSent += result.partitions.length;
      this.options.onSweep?.({
        partitions: result.partitions.length,
        dueEntries: result.dueEntries,
        sent: result.partitions.map(partitionLabel),
        freshness: result.freshness,
      });
      await sweepTypeRewrites({
        store,
        queue: jobs,
        clock,
        log: sweepLog,
        config,
        retry: retryPolicyOf(config),
      });
      const now = clock.now();
      if (now - this.lastOrphanSweepMs >= orphanSweepIntervalMs(config)) {
        this.lastOrphanSweepMs = now;
        const removed = await removeOrphans({ store, objects, config, clock, log: sweepLog });
        this.sweepStats.orphansRemoved += removed.staged.length + removed.lake.length;
      }
    } catch (error) {
      this.sweepStats.errors += 1;
      metrics.publish([point(METRICS.sweepErrors, 1)]);
      sweepLog.error("sweep failed; trying again at the next interval", { error });
    }
  }

  private scheduleSweep(delayMs: number): void {
    if (this.stopping) return;
    this.sweepTimer = setTimeout(() => {
      this.sweepRunning = this.sweepOnce().finally(() => {
        this.sweepRunning = undefined;
        this.scheduleSweep(this.runtime.config.sweepIntervalMs);
      });
    }, delayMs);
  }
}

/** Orphans are rare and listing the lake costs requests: look hourly, or sooner when the safety age is short. */
function orphanSweepIntervalMs(config: Runtime["config"]): number {
  return Math.max(config.sweepIntervalMs, Math.min(3_600_000, config.orphanSafetyAgeMs / 2));
}
