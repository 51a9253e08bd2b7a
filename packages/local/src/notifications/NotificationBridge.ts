import { randomBytes } from "node:crypto";
import type { FauxqsS3Store, FauxqsSendMessage, FauxqsSqsStore } from "../fauxqsInternals.js";
import { type Delivery, type DeliveryFaults, FaultyDelivery } from "./deliveryFaults.js";
import { buildEventRecord, buildTestEvent, type ObjectChange, S3_EVENT_NAME } from "./eventRecord.js";
import {
  bodyText,
  bucketOf,
  createdEventName,
  HOST_ID,
  type HttpReply,
  type HttpRequest,
  header,
  keyOf,
  newRequestId,
  requestOrigin,
  sendS3Error,
} from "./httpExchange.js";
import {
  InvalidNotificationConfigurationError,
  matchesKey,
  parseNotificationConfiguration,
  type QueueConfiguration,
  serializeNotificationConfiguration,
  subscribesTo,
  validateQueueConfigurations,
} from "./notificationConfig.js";
import { SequencerClock } from "./sequencer.js";

/**
 * S3 → SQS event notifications for the fauxqs emulator, on the server side: whoever
 * writes to the local S3 endpoint (our SDK clients, the aws CLI, a presigned URL, a
 * user's script), every successful PutObject, CopyObject, CompleteMultipartUpload,
 * DeleteObject and DeleteObjects produces AWS-shaped records on the queues the bucket's
 * notification configuration names; `PutBucketNotificationConfiguration` and
 * `GetBucketNotificationConfiguration` work as on AWS.
 *
 * How it hooks in: we own fauxqs's S3 store instance and wrap its mutating methods, so
 * each change is captured with the size and eTag actually stored; a Fastify `onSend`
 * hook then pairs the changes with the request that made them (operation, caller,
 * request id) and delivers before the response leaves. The pairing relies on fauxqs's
 * S3 handlers being synchronous from store write to `reply.send()`, so no other request
 * can interleave (a concurrency test guards it).
 *
 * Delivery goes through fauxqs's own SendMessage action, synchronously, inside the hook:
 * an `onSend` hook that awaits lets Fastify send the response a second time, empty (the
 * async route handler resolves meanwhile), which breaks CopyObject and
 * CompleteMultipartUpload responses. One message per matching configuration, one record
 * per message, like AWS; see {@link DeliveryFaults} for AWS's at-least-once, unordered
 * behaviour.
 */
export interface NotificationBridgeOptions {
  /** `awsRegion` of every record. */
  readonly region: string;
  /** Faults for every bucket (tests). */
  readonly deliveryFaults?: DeliveryFaults;
  /** Called when a message can't be delivered (queue deleted, …). @defaultvalue a JSON line on stderr */
  readonly onDeliveryError?: (error: Error, delivery: Delivery) => void;
}

export interface NotificationBridgeStats {
  /** Object changes seen (one per key of a DeleteObjects). */
  readonly changes: number;
  /** Messages put on queues, test events and duplicates included. */
  readonly messagesDelivered: number;
  readonly deliveryFailures: number;
}

export interface BridgeHost {
  addHook(
    name: "preHandler",
    hook: (request: HttpRequest, reply: HttpReply, done: () => void) => void,
  ): unknown;
  addHook(
    name: "onSend",
    hook: (request: HttpRequest, reply: HttpReply, payload: unknown, done: () => void) => void,
  ): unknown;
  post(path: string, handler: (request: HttpRequest, reply: HttpReply) => Promise<unknown>): unknown;
}

/** What the bridge needs from fauxqs besides the app. */
export interface BridgeBackend {
  readonly s3Store: FauxqsS3Store;
  readonly sqsStore: FauxqsSqsStore;
  readonly sendMessage: FauxqsSendMessage;
  readonly decodeAwsChunked: (body: Buffer) => Buffer;
}

interface CapturedChange {
  readonly key: string;
  readonly removed: boolean;
  readonly size?: number;
  readonly eTag?: string;
  readonly sequencer: string;
  readonly eventTime: Date;
}

const CONTROL_PREFIX = "/_compacter";

export class NotificationBridge {
  private readonly configurations = new Map<string, readonly QueueConfiguration[]>();
  private readonly clock = new SequencerClock();
  private readonly delivery: FaultyDelivery;
  private captured: CapturedChange[] = [];
  private readonly counters = { changes: 0, messagesDelivered: 0, deliveryFailures: 0 };

  private constructor(
    private readonly app: BridgeHost,
    private readonly backend: BridgeBackend,
    private readonly options: NotificationBridgeOptions,
  ) {
    this.delivery = new FaultyDelivery((d) => this.send(d));
    if (options.deliveryFaults) this.delivery.setFaults("*", options.deliveryFaults);
  }

  /** Must be called before the app listens (Fastify fixes route hooks at ready time). */
  static install(
    app: BridgeHost,
    backend: BridgeBackend,
    options: NotificationBridgeOptions,
  ): NotificationBridge {
    const bridge = new NotificationBridge(app, backend, options);
    bridge.captureStoreChanges();
    // Callback-style hooks that finish synchronously: a reply sent from here is complete
    // before fauxqs's route handler could answer too.
    app.addHook("preHandler", (request, reply, done) => {
      if (!bridge.handleNotificationSubresource(request, reply)) done();
    });
    app.addHook("onSend", (request, reply, _payload, done) => {
      bridge.publishCapturedChanges(request, reply);
      done();
    });
    bridge.registerControlRoutes();
    return bridge;
  }

  getConfiguration(bucket: string): readonly QueueConfiguration[] {
    return this.configurations.get(bucket) ?? [];
  }

  /** Faults for one bucket, or "*" for all; `undefined` restores exact delivery. */
  setDeliveryFaults(bucket: string, faults: DeliveryFaults | undefined): void {
    this.delivery.setFaults(bucket, faults);
  }

  /** Delivers messages held back by a reorder fault. */
  flush(): void {
    this.delivery.flush();
  }

  stats(): NotificationBridgeStats {
    return { ...this.counters };
  }

  close(): void {
    this.delivery.close();
  }

  private captureStoreChanges(): void {
    const store = this.backend.s3Store;
    const putObject = store.putObject.bind(store);
    const completeMultipartUpload = store.completeMultipartUpload.bind(store);
    const deleteObject = store.deleteObject.bind(store);
    store.putObject = (bucket, key, ...rest) => {
      const object = putObject(bucket, key, ...rest);
      this.capture({ key, removed: false, size: object.contentLength, eTag: object.etag });
      return object;
    };
    store.completeMultipartUpload = (uploadId, parts) => {
      const object = completeMultipartUpload(uploadId, parts);
      this.capture({ key: object.key, removed: false, size: object.contentLength, eTag: object.etag });
      return object;
    };
    // DeleteObjects calls this once per key. S3 answers 204 for a key that does not
    // exist; nothing was removed, so no event.
    store.deleteObject = (bucket, key) => {
      const existed = objectExists(store, bucket, key);
      deleteObject(bucket, key);
      if (existed) this.capture({ key, removed: true });
    };
  }

  private capture(change: Pick<CapturedChange, "key" | "removed" | "size" | "eTag">): void {
    this.captured.push({ ...change, sequencer: this.clock.next(), eventTime: new Date() });
  }

  private publishCapturedChanges(request: HttpRequest, reply: HttpReply): void {
    if (this.captured.length === 0) {
      this.forgetDeletedBucket(request, reply);
      return;
    }
    const changes = this.captured;
    this.captured = [];
    if (reply.statusCode >= 300) return;
    const bucket = bucketOf(request);
    if (!bucket) return;
    this.counters.changes += changes.length;
    const configurations = this.getConfiguration(bucket);
    if (configurations.length === 0) return;
    const origin = requestOrigin(request, reply);
    for (const change of changes) {
      const objectChange: ObjectChange = {
        bucket,
        key: change.key,
        eventName: change.removed ? S3_EVENT_NAME.delete : createdEventName(request),
        ...(change.removed ? {} : { size: change.size ?? 0, eTag: change.eTag ?? "" }),
        sequencer: change.sequencer,
        eventTime: change.eventTime,
      };
      for (const config of configurations) {
        if (!subscribesTo(config, objectChange.eventName) || !matchesKey(config, change.key)) continue;
        const record = buildEventRecord(objectChange, origin, config.id, this.options.region);
        this.delivery.deliver(bucket, {
          queueArn: config.queueArn,
          body: JSON.stringify({ Records: [record] }),
        });
      }
    }
  }

  /** A deleted bucket takes its notification configuration with it, as on AWS. */
  private forgetDeletedBucket(request: HttpRequest, reply: HttpReply): void {
    if (request.method === "DELETE" && reply.statusCode === 204 && !keyOf(request)) {
      const bucket = bucketOf(request);
      if (bucket) this.configurations.delete(bucket);
    }
  }

  /** Answers `PUT|GET /{bucket}?notification` itself (fauxqs would treat them as CreateBucket/ListObjects); true when it did. */
  private handleNotificationSubresource(request: HttpRequest, reply: HttpReply): boolean {
    const query = (request.query ?? {}) as Record<string, unknown>;
    if (!("notification" in query) || (request.method !== "PUT" && request.method !== "GET")) return false;
    const bucket = bucketOf(request);
    if (!bucket || keyOf(request)) return false;
    const requestId = newRequestId();
    reply.header("x-amz-request-id", requestId).header("x-amz-id-2", HOST_ID);
    if (!this.backend.s3Store.hasBucket(bucket)) {
      sendS3Error(reply, 404, "NoSuchBucket", "The specified bucket does not exist", requestId, bucket);
    } else if (request.method === "GET") {
      reply.code(200).header("content-type", "application/xml");
      reply.send(serializeNotificationConfiguration(this.getConfiguration(bucket)));
    } else {
      try {
        const skipValidation = header(request, "x-amz-skip-destination-validation") === "true";
        this.putConfiguration(bucket, this.requestBodyText(request), requestId, skipValidation);
        reply.code(200).send();
      } catch (error) {
        if (!(error instanceof InvalidNotificationConfigurationError)) throw error;
        sendS3Error(reply, 400, "InvalidArgument", error.message, requestId, undefined, error);
      }
    }
    return true;
  }

  private putConfiguration(
    bucket: string,
    xml: string,
    requestId: string,
    skipDestinationValidation: boolean,
  ): void {
    const parsed = parseNotificationConfiguration(xml, () => randomBytes(12).toString("base64url"));
    if (parsed.unsupported.length > 0) {
      throw new InvalidNotificationConfigurationError(
        `The local stack delivers S3 notifications to SQS queues only; remove ${parsed.unsupported.join(", ")}`,
        parsed.unsupported[0],
      );
    }
    validateQueueConfigurations(parsed.queues);
    if (!skipDestinationValidation) {
      for (const config of parsed.queues) {
        const queue = this.backend.sqsStore.getQueueByArn(config.queueArn);
        if (!queue || queue.isFifo()) {
          throw new InvalidNotificationConfigurationError(
            "Unable to validate the following destination configurations",
            config.queueArn,
            queue
              ? "FIFO queues are not supported as S3 notification destinations"
              : "The destination queue does not exist",
          );
        }
      }
    }
    if (parsed.queues.length === 0) this.configurations.delete(bucket);
    else this.configurations.set(bucket, parsed.queues);
    // AWS confirms a new configuration with one s3:TestEvent per destination queue.
    const body = JSON.stringify(buildTestEvent(bucket, requestId, HOST_ID, new Date()));
    for (const queueArn of new Set(parsed.queues.map((config) => config.queueArn))) {
      this.send({ queueArn, body });
    }
  }

  private requestBodyText(request: HttpRequest): string {
    const body = request.body;
    if (!Buffer.isBuffer(body)) return typeof body === "string" ? body : "";
    const encoding = header(request, "content-encoding") ?? "";
    return (encoding.includes("aws-chunked") ? this.backend.decodeAwsChunked(body) : body).toString("utf8");
  }

  private send(delivery: Delivery): void {
    const queue = this.backend.sqsStore.getQueueByArn(delivery.queueArn);
    try {
      if (!queue) throw new Error(`queue ${delivery.queueArn} does not exist`);
      this.backend.sendMessage({ QueueUrl: queue.url, MessageBody: delivery.body }, this.backend.sqsStore);
      this.counters.messagesDelivered++;
    } catch (error) {
      // AWS drops events it cannot deliver (a queue deleted after configuration); so do
      // we, but loudly.
      this.counters.deliveryFailures++;
      (this.options.onDeliveryError ?? logDeliveryError)(error as Error, delivery);
    }
  }

  /**
   * Test controls over HTTP, for test files running in other processes than the stack:
   *   POST /_compacter/faults {"bucket": "b" | "*", "faults": {...} | null}
   *   POST /_compacter/flush
   */
  private registerControlRoutes(): void {
    this.app.post(`${CONTROL_PREFIX}/faults`, async (request, reply) => {
      const input = JSON.parse(bodyText(request.body)) as {
        bucket?: unknown;
        faults?: DeliveryFaults | null;
      };
      if (typeof input.bucket !== "string" || input.bucket === "") {
        reply.code(400);
        return { error: 'bucket (a name or "*") is required' };
      }
      this.setDeliveryFaults(input.bucket, input.faults ?? undefined);
      return { ok: true };
    });
    this.app.post(`${CONTROL_PREFIX}/flush`, async () => {
      this.flush();
      return { ok: true };
    });
  }
}

function objectExists(store: FauxqsS3Store, bucket: string, key: string): boolean {
  try {
    store.headObject(bucket, key);
    return true;
  } catch {
    return false;
  }
}

function logDeliveryError(error: Error, delivery: Delivery): void {
  process.stderr.write(
    `${JSON.stringify({ level: "warn", msg: "s3 notification not delivered", queueArn: delivery.queueArn, error: error.message })}\n`,
  );
}
