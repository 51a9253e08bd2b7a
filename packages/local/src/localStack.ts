import { type AwsClients, createAwsClients, S3_FORCE_PATH_STYLE_ENV } from "@compacter/aws";
import { type CompacterConfig, loadConfig } from "@compacter/core";
import { startDynamoServer } from "./dynamoServer.js";
import { startFauxqsServer } from "./fauxqsServer.js";
import type { DeliveryFaults } from "./notifications/deliveryFaults.js";
import type { NotificationBridge } from "./notifications/NotificationBridge.js";
import {
  ensureLocalResources,
  type LocalResourceNames,
  type LocalResources,
  localResourceNames,
  resourceEnv,
} from "./resources.js";

/**
 * The whole AWS shape on one machine, in this process: fauxqs (S3 + SQS, with our
 * notification bridge) and dynalite (DynamoDB), on loopback only.
 */
export interface LocalEmulatorOptions {
  /** Port of the S3 + SQS endpoint. @defaultvalue 0 (a free port) */
  readonly s3Port?: number;
  /** Port of the DynamoDB endpoint. @defaultvalue 0 (a free port) */
  readonly dynamodbPort?: number;
  /** @defaultvalue "us-east-1" */
  readonly region?: string;
  /** Any values work; the emulators don't check signatures. @defaultvalue test/test */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Keep DynamoDB tables on disk across restarts (S3 and SQS are always in memory). */
  readonly dataDir?: string;
  /** Duplicate/reorder notification deliveries for every bucket (tests). */
  readonly deliveryFaults?: DeliveryFaults;
}

export interface LocalEndpoints {
  readonly s3: string;
  readonly sqs: string;
  readonly dynamodb: string;
}

export interface LocalEmulators {
  readonly endpoints: LocalEndpoints;
  readonly ports: { readonly s3: number; readonly dynamodb: number };
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Clients bound to the emulators (request counting included). */
  readonly clients: AwsClients;
  readonly bridge: NotificationBridge;
  /** `AWS_*` variables that point any SDK, the aws CLI or a `compacter` process here. */
  readonly awsEnv: Readonly<Record<string, string>>;
  /** Creates (idempotently) a set of resources on these emulators. */
  ensureResources(names: LocalResourceNames): Promise<LocalResources>;
  /** Closes clients, servers and sockets; safe to call twice. */
  stop(): Promise<void>;
}

export interface LocalStackOptions extends LocalEmulatorOptions {
  /** @defaultvalue names from the settings (`COMPACTER_*` environment, then defaults) */
  readonly resources?: LocalResourceNames;
}

export interface LocalStack extends LocalEmulators {
  readonly resources: LocalResources;
  /** `awsEnv` plus the `COMPACTER_*` variables of the resources: what `compacter dev` writes. */
  readonly env: Readonly<Record<string, string>>;
  /** The settings a process reading `env` (and nothing else) loads. */
  readonly config: CompacterConfig;
  /** Milliseconds from the call to emulators listening, and to resources ready. */
  readonly startupMs: { readonly emulators: number; readonly resources: number };
}

const LOOPBACK = "127.0.0.1";
const DEFAULT_REGION = "us-east-1";
const DEFAULT_CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" } as const;

export async function startLocalEmulators(options: LocalEmulatorOptions = {}): Promise<LocalEmulators> {
  const region = options.region ?? DEFAULT_REGION;
  const credentials = options.credentials ?? DEFAULT_CREDENTIALS;
  const [fauxqsStart, dynamoStart] = await Promise.allSettled([
    startFauxqsServer({
      host: LOOPBACK,
      port: options.s3Port ?? 0,
      region,
      ...(options.deliveryFaults ? { deliveryFaults: options.deliveryFaults } : {}),
    }),
    startDynamoServer({
      host: LOOPBACK,
      port: options.dynamodbPort ?? 0,
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    }),
  ]);
  if (fauxqsStart.status === "rejected" || dynamoStart.status === "rejected") {
    // The one that did start must not keep the process alive.
    await Promise.allSettled([
      fauxqsStart.status === "fulfilled" ? fauxqsStart.value.stop() : undefined,
      dynamoStart.status === "fulfilled" ? dynamoStart.value.stop() : undefined,
    ]);
    throw fauxqsStart.status === "rejected"
      ? fauxqsStart.reason
      : (dynamoStart as PromiseRejectedResult).reason;
  }
  const fauxqs = fauxqsStart.value;
  const dynamo = dynamoStart.value;
  const endpoints = { s3: fauxqs.endpoint, sqs: fauxqs.endpoint, dynamodb: dynamo.endpoint };
  const clients = createAwsClients({ region, credentials, endpoints, forcePathStyle: true });
  const servers = [fauxqs, dynamo];
  let stopping: Promise<void> | undefined;
  return {
    endpoints,
    ports: { s3: fauxqs.port, dynamodb: dynamo.port },
    region,
    credentials,
    clients,
    bridge: fauxqs.bridge,
    awsEnv: awsEnv(endpoints, region, credentials),
    ensureResources: (names) => ensureLocalResources(clients, names),
    stop: () => {
      stopping ??= (async () => {
        clients.destroy();
        const results = await Promise.allSettled(servers.map((server) => server.stop()));
        // Closed sockets release their handles on the next turn of the event loop; wait
        // for it so that "stopped" means nothing is left (vitest checks for open handles).
        await new Promise((resolve) => setImmediate(resolve));
        const failed = results.find((result) => result.status === "rejected");
        if (failed) throw failed.reason;
      })();
      return stopping;
    },
  };
}

/** Emulators plus Compacter's resources, and the environment that points at them. */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const started = performance.now();
  const emulators = await startLocalEmulators(options);
  const emulatorsMs = performance.now() - started;
  try {
    const resources = await emulators.ensureResources(options.resources ?? localResourceNames());
    const env = { ...emulators.awsEnv, ...resourceEnv(resources) };
    return {
      ...emulators,
      resources,
      env,
      config: loadConfig({ env }),
      startupMs: { emulators: emulatorsMs, resources: performance.now() - started },
    };
  } catch (error) {
    await emulators.stop();
    throw error;
  }
}

/**
 * Service-specific endpoint variables are written too, so a shell that already exports
 * `AWS_ENDPOINT_URL_S3` for something else still talks to this stack after sourcing.
 */
export function awsEnv(
  endpoints: LocalEndpoints,
  region: string,
  credentials: { readonly accessKeyId: string; readonly secretAccessKey: string },
): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoints.s3,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_REGION: region,
    // The aws CLI v1 reads AWS_DEFAULT_REGION only.
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    [S3_FORCE_PATH_STYLE_ENV]: "true",
  };
}
