import { buildApp } from "fauxqs";
import { portInUse } from "./errors.js";
import { loadFauxqsInternals } from "./fauxqsInternals.js";
import type { DeliveryFaults } from "./notifications/deliveryFaults.js";
import { type BridgeHost, NotificationBridge } from "./notifications/NotificationBridge.js";

export interface FauxqsServer {
  /** S3 and SQS share this endpoint. */
  readonly endpoint: string;
  readonly port: number;
  readonly bridge: NotificationBridge;
  stop(): Promise<void>;
}

export interface FauxqsServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly region: string;
  readonly deliveryFaults?: DeliveryFaults;
}

/** fauxqs (S3 + SQS) with our notification bridge installed, listening on loopback only. */
export async function startFauxqsServer(options: FauxqsServerOptions): Promise<FauxqsServer> {
  const internals = await loadFauxqsInternals();
  const s3Store = new internals.S3Store();
  const sqsStore = new internals.SqsStore();
  // fauxqs defaults to `sqs.{region}.localhost` URLs, which need *.localhost DNS; the
  // Host the client used (127.0.0.1:port) always resolves.
  sqsStore.host = "";
  const app = buildApp({
    logger: false,
    defaultRegion: options.region,
    // The stores' types are fauxqs-internal; these are instances of those very classes.
    stores: { s3Store, sqsStore, snsStore: new internals.SnsStore() } as never,
  });
  raiseS3BodyLimit(app as unknown as BodyParserHost);
  const bridge = NotificationBridge.install(
    app as unknown as BridgeHost,
    { s3Store, sqsStore, sendMessage: internals.sendMessage, decodeAwsChunked: internals.decodeAwsChunked },
    { region: options.region, ...(options.deliveryFaults ? { deliveryFaults: options.deliveryFaults } : {}) },
  );
  try {
    await app.listen({ port: options.port, host: options.host });
  } catch (error) {
    bridge.close();
    await app.close();
    throw portInUse(error, "S3/SQS", options.host, options.port);
  }
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return {
    endpoint: `http://${options.host}:${port}`,
    port,
    bridge,
    stop: async () => {
      bridge.close();
      await app.close();
    },
  };
}

/**
 * S3 takes a single PUT or an upload part of up to 5 GiB; fauxqs caps every request body
 * at 11 MiB, so a compactor uploading a realistic Parquet file (16 MiB parts) got 413.
 * Its catch-all binary parser (what S3 bodies go through) is registered again with a
 * limit that fits in one Buffer; SQS keeps its own parsers and its own size checks.
 */
const S3_BODY_LIMIT_BYTES = 2 ** 30;

interface BodyParserHost {
  removeContentTypeParser(contentType: string): void;
  addContentTypeParser(
    contentType: string,
    options: { parseAs: "buffer"; bodyLimit: number },
    parser: (request: unknown, body: Buffer, done: (error: Error | null, body?: Buffer) => void) => void,
  ): void;
}

function raiseS3BodyLimit(app: BodyParserHost): void {
  app.removeContentTypeParser("*");
  app.addContentTypeParser(
    "*",
    { parseAs: "buffer", bodyLimit: S3_BODY_LIMIT_BYTES },
    (_request, body, done) => {
      done(null, body);
    },
  );
}
