import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { ConfigError } from "@compacter/core";
import { NodeHttpHandler } from "@smithy/node-http-handler";

/**
 * One place that builds the S3, SQS and DynamoDB clients every adapter uses, so that
 * endpoints, retries, connection pooling and request counting are the same everywhere.
 *
 * Endpoints follow the SDK's own conventions: unless `endpoints` is passed, the SDK reads
 * `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL_DYNAMODB`, then
 * `AWS_ENDPOINT_URL`, then the shared config file's `endpoint_url` (and ignores all of
 * them when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`). Region and credentials come from
 * the default provider chain unless passed.
 */
export interface AwsClientOptions {
  /** @defaultvalue the SDK's chain (`AWS_REGION`, shared config) */
  readonly region?: string;
  /** Explicit endpoints, e.g. a local stack in a test; they win over the environment. */
  readonly endpoints?: { readonly s3?: string; readonly sqs?: string; readonly dynamodb?: string };
  /** @defaultvalue the SDK's default credential chain */
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
  /**
   * Path-style S3 addressing (`http://host/bucket/key`). Emulators need it.
   * @defaultvalue `COMPACTER_S3_FORCE_PATH_STYLE`, else true when an S3 endpoint override is set
   */
  readonly forcePathStyle?: boolean;
  /** Attempts per request, first try included (the SDK's standard retry strategy). @defaultvalue 5 */
  readonly maxAttempts?: number;
  /** Sockets per client; a 5000-message burst must not queue behind the SDK's default of 50. @defaultvalue 128 */
  readonly maxSockets?: number;
  /** Environment used for the path-style decision. @defaultvalue process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface AwsClients {
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBClient;
  /**
   * HTTP requests sent so far, per `service:Operation` (e.g. `"s3:GetObject": 12`),
   * retries included: it is what AWS bills.
   */
  requestCounts(): Record<string, number>;
  resetRequestCounts(): void;
  /** Closes the clients' sockets. */
  destroy(): void;
}

export const S3_FORCE_PATH_STYLE_ENV = "COMPACTER_S3_FORCE_PATH_STYLE";

const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_MAX_SOCKETS = 128;

export function createAwsClients(options: AwsClientOptions = {}): AwsClients {
  const env = options.env ?? process.env;
  const counts = new Map<string, number>();
  const forcePathStyle = options.forcePathStyle ?? resolveS3ForcePathStyle(env, options.endpoints?.s3);
  const common = {
    ...(options.region ? { region: options.region } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    retryMode: "standard",
  } as const;
  const handler = () => keepAliveHandler(options.maxSockets ?? DEFAULT_MAX_SOCKETS);

  const s3 = new S3Client({
    ...common,
    ...(options.endpoints?.s3 ? { endpoint: options.endpoints.s3 } : {}),
    forcePathStyle,
    requestHandler: handler(),
  });
  const sqs = new SQSClient({
    ...common,
    ...(options.endpoints?.sqs ? { endpoint: options.endpoints.sqs } : {}),
    requestHandler: handler(),
  });
  const dynamodb = new DynamoDBClient({
    ...common,
    ...(options.endpoints?.dynamodb ? { endpoint: options.endpoints.dynamodb } : {}),
    requestHandler: handler(),
  });
  countRequests(s3, "s3", counts);
  countRequests(sqs, "sqs", counts);
  countRequests(dynamodb, "dynamodb", counts);

  return {
    s3,
    sqs,
    dynamodb,
    requestCounts: () => Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b))),
    resetRequestCounts: () => counts.clear(),
    destroy: () => {
      s3.destroy();
      sqs.destroy();
      dynamodb.destroy();
    },
  };
}

/**
 * Virtual-hosted addressing needs DNS for `bucket.host`, which an emulator on
 * 127.0.0.1 does not have; so any S3 endpoint override implies path style unless
 * `COMPACTER_S3_FORCE_PATH_STYLE` says otherwise.
 */
export function resolveS3ForcePathStyle(
  env: Readonly<Record<string, string | undefined>>,
  explicitEndpoint?: string,
): boolean {
  const flag = env[S3_FORCE_PATH_STYLE_ENV];
  if (flag !== undefined && flag !== "") {
    if (/^(1|true|yes|on)$/i.test(flag)) return true;
    if (/^(0|false|no|off)$/i.test(flag)) return false;
    throw new ConfigError(`${S3_FORCE_PATH_STYLE_ENV}='${flag}' is not a boolean (true/false)`);
  }
  if (explicitEndpoint) return true;
  if (/^true$/i.test(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? "")) return false;
  return Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL);
}

/**
 * No connectionTimeout: the SDK starts that timer when the request is created, so in a
 * burst, requests queued behind maxSockets would fail with "did not establish a
 * connection" while merely waiting for a free socket.
 */
function keepAliveHandler(maxSockets: number): NodeHttpHandler {
  return new NodeHttpHandler({
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
    httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
  });
}

interface MiddlewareClient {
  middlewareStack: {
    add(
      middleware: (
        next: (args: unknown) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: unknown) => Promise<unknown>,
      options: { step: "deserialize"; name: string },
    ): void;
  };
}

/**
 * The deserialize step runs inside the retry loop, so each HTTP attempt is counted once.
 */
function countRequests(client: unknown, service: string, counts: Map<string, number>): void {
  (client as MiddlewareClient).middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? "Unknown").replace(/Command$/, "");
      const key = `${service}:${operation}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      return next(args);
    },
    { step: "deserialize", name: "compacterRequestCounter" },
  );
}
