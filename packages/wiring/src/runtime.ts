import { hostname } from "node:os";
import {
  type AwsClients,
  catalogFollower,
  createAwsClients,
  DeadLetters,
  DynamoManifestStore,
  S3ObjectStore,
  SqsJobQueue,
} from "@compacter/aws";
import {
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

/**
 * Config → adapters: the one place the CLI, the long-running worker and the Lambda
 * handlers build their S3, SQS and DynamoDB adapters, so every entry point runs the same
 * core against the same wiring.
 */
export interface Runtime {
  readonly config: CompacterConfig;
  readonly log: Logger;
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
  const onLedgerChanged = catalogFollower(config, log);
  const deadLetters = (dlqUrl: string, queueUrl: string) =>
    new DeadLetters(clients.sqs, { ...(dlqUrl ? { dlqUrl } : {}), ...(queueUrl ? { queueUrl } : {}) }, log);
  return {
    config,
    log,
    metrics: options.metrics ?? noMetrics,
    clients,
    store,
    objects,
    jobs: new SqsJobQueue(clients.sqs, config.compactionQueueUrl),
    faults,
    workerId,
    ingestDeadLetters: deadLetters(config.ingestDlqUrl, config.ingestQueueUrl),
    compactionDeadLetters: deadLetters(config.compactionDlqUrl, config.compactionQueueUrl),
    compactionDeps: (engine) => ({
      store,
      objects,
      engine,
      config,
      clock: systemClock,
      faults,
      log,
      workerId,
      ...(onLedgerChanged ? { onLedgerChanged } : {}),
    }),
    close: () => {
      if (ownsClients) clients.destroy();
    },
  };
}
