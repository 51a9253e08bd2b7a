import { z } from "zod";
import { InvalidEventError } from "../errors.js";
import { normaliseSequencer } from "../manifest/sequencer.js";
import {
  type S3EventRecordInput,
  s3EventNotificationSchema,
  s3TestEventSchema,
  snsEnvelopeSchema,
} from "./s3EventSchema.js";

/** What an object event asks ingest to do. */
export const EVENT_ACTION = {
  created: "created",
  removed: "removed",
  /** Restore, replication, tagging, ACL, … : nothing the manifest tracks. */
  other: "other",
} as const;

export type EventAction = (typeof EVENT_ACTION)[keyof typeof EVENT_ACTION];

/** One record of an S3 event notification, validated and normalised. */
export interface S3ObjectEvent {
  /** As AWS names it, without an `s3:` prefix: "ObjectCreated:Put". */
  readonly eventName: string;
  readonly action: EventAction;
  readonly bucket: string;
  /** Decoded: the object's real key. */
  readonly key: string;
  /** Unquoted; present for created objects. */
  readonly eTag?: string;
  /** Bytes; present for created objects. */
  readonly size?: number;
  /** Normalised (normaliseSequencer), so string order is event order. */
  readonly sequencer: string;
  /** ISO instant: when S3 says the object was written or removed. */
  readonly eventTime: string;
  readonly eventTimeMs: number;
}

export type S3Notification =
  | { readonly kind: "test"; readonly bucket?: string }
  | { readonly kind: "records"; readonly records: readonly S3ObjectEvent[] };

/**
 * Parses an SQS message body as an S3 event notification. Throws InvalidEventError
 * (not retryable) for a body that can never be processed: not JSON, not an S3 event, a
 * record without what ingest needs, or a key that isn't valid form-URL encoding.
 */
export function parseNotification(body: string): S3Notification {
  const parsed = parseJson(body, "message body");
  const envelope = snsEnvelopeSchema.safeParse(parsed);
  const payload = envelope.success ? parseJson(envelope.data.Message, "SNS Message") : parsed;

  const test = s3TestEventSchema.safeParse(payload);
  if (test.success) return { kind: "test", ...(test.data.Bucket ? { bucket: test.data.Bucket } : {}) };

  const notification = s3EventNotificationSchema.safeParse(payload);
  if (!notification.success) {
    throw new InvalidEventError(`not an S3 event notification: ${z.prettifyError(notification.error)}`);
  }
  return { kind: "records", records: notification.data.Records.map(toObjectEvent) };
}

function toObjectEvent(record: S3EventRecordInput, index: number): S3ObjectEvent {
  const eventName = record.eventName.replace(/^s3:/, "");
  const { object } = record.s3;
  return {
    eventName,
    action: actionOf(eventName),
    bucket: record.s3.bucket.name,
    key: decodeEventKey(object.key, index),
    ...(object.eTag !== undefined ? { eTag: normaliseETag(object.eTag) } : {}),
    ...(object.size !== undefined ? { size: object.size } : {}),
    sequencer: normaliseSequencer(object.sequencer),
    eventTime: new Date(record.eventTime).toISOString(),
    eventTimeMs: Date.parse(record.eventTime),
  };
}

/**
 * `LifecycleExpiration:Delete` removes the object just as a DELETE does, so its rows must
 * leave the lake too; a lifecycle delete *marker* on a versioned bucket hides the object
 * the same way.
 */
export function actionOf(eventName: string): EventAction {
  if (eventName.startsWith("ObjectCreated:")) return EVENT_ACTION.created;
  if (eventName.startsWith("ObjectRemoved:")) return EVENT_ACTION.removed;
  if (eventName === "LifecycleExpiration:Delete" || eventName === "LifecycleExpiration:DeleteMarkerCreated") {
    return EVENT_ACTION.removed;
  }
  return EVENT_ACTION.other;
}

/**
 * S3 form-URL-encodes keys in events: `+` is a space, everything else percent-encoded
 * UTF-8 (`a+b%2B%C3%A4` → `a b+ä`). The `+` must be replaced before percent-decoding,
 * or an encoded plus (`%2B`) would turn into a space.
 */
export function decodeEventKey(encoded: string, recordIndex = 0): string {
  try {
    return decodeURIComponent(encoded.replaceAll("+", " "));
  } catch {
    throw new InvalidEventError(`record ${recordIndex}: key '${encoded}' is not valid form-URL encoding`);
  }
}

/** S3 reports eTags with or without the HTTP quotes depending on the API; store them bare. */
export function normaliseETag(eTag: string): string {
  return eTag.replaceAll('"', "");
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidEventError(`${what} is not JSON: ${(error as Error).message}`);
  }
}
