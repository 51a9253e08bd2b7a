import { hostname } from "node:os";
import {
  type AwsClients,
  catalogFollower,
  createAwsClients,
  DeadLetters,
  DynamoManifestStore,
  type ProcessDeps,
  S3ObjectStore,
  SqsJobQueue,
} from "@compacter/aws";
import {
  type Clock,
  type CompacterConfig,
  type CompactionDeps,
  type CompactionEngine,
  createLogger,
  type FaultInjector,
  type Logger,
  type LogSink,
  type Metrics,
  noMetrics,
  systemClock,
} from "@compacter/core";
import { faultsFromEnv } from "./faults.js";
import { LocalScratchSpace } from "./localScratch.js";

/**
 * Config → adapters: the one place the CLI, the long-running worker and the Lambda
 * handlers build their S3, SQS and DynamoDB adapters, so every entry point runs the same
 * core against the same wiring.
 */
export interface Runtime {
  readonly config: CompacterConfig;
  readonly log: Logger;
  /** What every role takes as now: due times, leases, back-offs, orphan ages. */
  readonly clock: Clock;
  /** Where every role publishes its metrics (EMF lines; see packages/core/src/observability). */
  readonly metrics: Metrics;
  readonly clients: AwsClients;
  readonly store: DynamoManifestStore;
  readonly objects: S3ObjectStore;
  readonly jobs: SqsJobQueue;
  readonly faults: FaultInjector;
  /** "host/pid": names this process in leases and history. */
  readonly workerId: string;
  /** Dead-letter queue of the ingest queue (configured, or found from its redrive policy). */
  readonly ingestDeadLetters: DeadLetters;
  /** Dead-letter queue of the compaction queue. */
  readonly compactionDeadLetters: DeadLetters;
  /**
   * What the ingest of a batch needs. `queueArn` is the queue the batch came from, as a
   * Lambda event names it: with neither the DLQ nor the ingest queue configured, its
   * redrive policy names the DLQ.
   */
  ingestDeps(queueArn?: string): ProcessDeps;
  compactionDeps(engine: CompactionEngine): CompactionDeps;
  close(): void;
}

export interface RuntimeOptions {
  readonly clients?: AwsClients;
  readonly log?: Logger;
  /**
   * Where metrics go: the roles' entry points (Lambda handlers, `compacter run`, `compacter
   * dev`) pass an EmfMetrics; one-off commands publish nothing. @defaultvalue noMetrics
   */
  readonly metrics?: Metrics;
  readonly faults?: FaultInjector;
  /** What the roles take as now (tests move it instead of sleeping). @defaultvalue systemClock */
  readonly clock?: Clock;
  /** Where log lines go when `log` is not given (default: stderr, as JSON). */
  readonly logSink?: LogSink;
  /** Added to every log line ("ingest", "compactor", …). */
  readonly role?: string;
}

export function createRuntime(config: CompacterConfig, options: RuntimeOptions = {}): Runtime {
  const clients = options.clients ?? createAwsClients();
  const ownsClients = options.clients === undefined;
  const workerId = `${hostname()}/${process.pid}`;
  const log =
    options.log ??
    createLogger({
      level: config.logLevel,
      fields: options.role ? { role: options.role, worker: workerId } : { worker: workerId },
      ...(options.logSink ? { sink: options.logSink } : {}),
    });
  const store = new DynamoManifestStore({ client: clients.dynamodb, tableName: config.manifestTable });
  const objects = new S3ObjectStore(clients.s3);
  const faults = options.faults ?? faultsFromEnv();
  const clock = options.clock ?? systemClock;
  const metrics = options.metrics ?? noMetrics;
  const onLedgerChanged = catalogFollower(config, log);
  const deadLetters = (dlqUrl: string, queueUrl: string, queueArn?: string) =>
    new DeadLetters(
      clients.sqs,
      { ...(dlqUrl ? { dlqUrl } : {}), ...(queueUrl ? { queueUrl } : {}), ...(queueArn ? { queueArn } : {}) },
      log,
    );
  const ingestDeadLetters = deadLetters(config.ingestDlqUrl, config.ingestQueueUrl);
  // One per source queue, kept for the process: each looks its DLQ up once.
  const ingestDeadLettersByArn = new Map<string, DeadLetters>();
  const ingestDeadLettersOf = (queueArn: string | undefined): DeadLetters => {
    // A configured DLQ or queue URL wins over the event's ARN (DeadLetters' own order).
    if (!queueArn || config.ingestDlqUrl || config.ingestQueueUrl) return ingestDeadLetters;
    let found = ingestDeadLettersByArn.get(queueArn);
    if (!found) {
      found = deadLetters("", "", queueArn);
      ingestDeadLettersByArn.set(queueArn, found);
    }
    return found;
  };
  const jobs = new SqsJobQueue(clients.sqs, config.compactionQueueUrl);
  const scratch = new LocalScratchSpace(config.tempDir);
  return {
    config,
    log,
    clock,
    metrics,
    clients,
    store,
    objects,
    jobs,
    faults,
    workerId,
    ingestDeadLetters,
    compactionDeadLetters: deadLetters(config.compactionDlqUrl, config.compactionQueueUrl),
    ingestDeps: (queueArn) => ({
      store,
      config,
      log,
      metrics,
      deadLetters: ingestDeadLettersOf(queueArn),
    }),
    compactionDeps: (engine) => ({
      store,
      objects,
      engine,
      config,
      clock,
      faults,
      log,
      workerId,
      scratch,
      // A sliced merge asks the compaction queue for one helper job per extra slice, so any
      // worker or Lambda polling it shares the partition's slices (without a queue: alone).
      ...(config.compactionQueueUrl ? { jobs } : {}),
      ...(onLedgerChanged ? { onLedgerChanged } : {}),
    }),
    close: () => {
      if (ownsClients) clients.destroy();
    },
  };
}
