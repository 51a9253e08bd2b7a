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
