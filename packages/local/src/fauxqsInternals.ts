import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { LocalStackError } from "./errors.js";

/**
 * fauxqs exports only `buildApp`/`startFauxqs`; the stores behind them are not exported.
 * The notification bridge needs the S3 store (to read a written object's size and eTag
 * exactly as stored) and `startFauxqs` binds 0.0.0.0, so we build the app ourselves with
 * our own store instances, loaded from fauxqs's dist files. The version is pinned
 * (1.9.2), and a different one fails here, loudly, rather than misbehave later.
 */
export const FAUXQS_VERSION = "1.9.2";

export interface S3ObjectRecord {
  readonly key: string;
  readonly contentLength: number;
  /** Quoted, as in an HTTP ETag header. */
  readonly etag: string;
}

export interface FauxqsS3Store {
  putObject(
    bucket: string,
    key: string,
    body: Buffer,
    contentType?: string,
    metadata?: Record<string, string>,
  ): S3ObjectRecord;
  completeMultipartUpload(uploadId: string, parts: { partNumber: number; etag: string }[]): S3ObjectRecord;
  deleteObject(bucket: string, key: string): void;
  deleteObjects(bucket: string, keys: string[]): string[];
  hasBucket(name: string): boolean;
  headObject(bucket: string, key: string): S3ObjectRecord;
}

export interface FauxqsSqsStore {
  /** Host of the queue URLs it builds; empty means the Host header of the CreateQueue request. */
  host: string;
  getQueueByArn(arn: string): { readonly url: string; readonly arn: string; isFifo(): boolean } | undefined;
}

/** fauxqs's own SendMessage action: validates (size, characters), applies the queue's delay, enqueues. Synchronous. */
export type FauxqsSendMessage = (
  input: { readonly QueueUrl: string; readonly MessageBody: string },
  store: FauxqsSqsStore,
) => { readonly MessageId: string };

export interface FauxqsInternals {
  readonly S3Store: new () => FauxqsS3Store;
  readonly SqsStore: new () => FauxqsSqsStore;
  readonly SnsStore: new () => object;
  readonly decodeAwsChunked: (body: Buffer) => Buffer;
  readonly sendMessage: FauxqsSendMessage;
}

let loaded: Promise<FauxqsInternals> | undefined;

export function loadFauxqsInternals(): Promise<FauxqsInternals> {
  loaded ??= load();
  return loaded;
}

async function load(): Promise<FauxqsInternals> {
  const dist = findFauxqsDist();
  const url = (file: string) => pathToFileURL(join(dist, file)).href;
  const [s3, sqs, sns, chunked, send] = await Promise.all([
    import(url("s3/s3Store.js")),
    import(url("sqs/sqsStore.js")),
    import(url("sns/snsStore.js")),
    import(url("s3/chunkedEncoding.js")),
    import(url("sqs/actions/sendMessage.js")),
  ]);
  return {
    S3Store: s3.S3Store,
    SqsStore: sqs.SqsStore,
    SnsStore: sns.SnsStore,
    decodeAwsChunked: chunked.decodeAwsChunked,
    sendMessage: send.sendMessage,
  };
}

/** fauxqs's `exports` hide its package.json from `require.resolve`, so walk the lookup paths. */
function findFauxqsDist(): string {
  const require = createRequire(import.meta.url);
  for (const dir of require.resolve.paths("fauxqs") ?? []) {
    const pkg = join(dir, "fauxqs", "package.json");
    if (!existsSync(pkg)) continue;
    const { version } = require(pkg) as { version: string };
    if (version !== FAUXQS_VERSION) {
      throw new LocalStackError(
        `fauxqs ${FAUXQS_VERSION} is required, found ${version} at ${dirname(pkg)}: run npm ci in the repository root`,
      );
    }
    return join(dirname(pkg), "dist");
  }
  throw new LocalStackError("fauxqs is not installed (npm install in the repository root)");
}
