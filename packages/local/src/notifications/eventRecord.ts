/**
 * S3 event notification messages exactly as AWS sends them to SQS ("Event message
 * structure", version 2.1): one record per message, the key form-URL-encoded, the eTag
 * without quotes, no size or eTag on removals, and a `s3:TestEvent` when a bucket's
 * notification configuration is set.
 */
export const S3_EVENT_NAME = {
  put: "ObjectCreated:Put",
  copy: "ObjectCreated:Copy",
  completeMultipartUpload: "ObjectCreated:CompleteMultipartUpload",
  delete: "ObjectRemoved:Delete",
} as const;

export type S3EventName = (typeof S3_EVENT_NAME)[keyof typeof S3_EVENT_NAME];

export interface S3EventRecord {
  readonly eventVersion: "2.1";
  readonly eventSource: "aws:s3";
  readonly awsRegion: string;
  readonly eventTime: string;
  readonly eventName: S3EventName;
  readonly userIdentity: { readonly principalId: string };
  readonly requestParameters: { readonly sourceIPAddress: string };
  readonly responseElements: { readonly "x-amz-request-id": string; readonly "x-amz-id-2": string };
  readonly s3: {
    readonly s3SchemaVersion: "1.0";
    readonly configurationId: string;
    readonly bucket: {
      readonly name: string;
      readonly ownerIdentity: { readonly principalId: string };
      readonly arn: string;
    };
    readonly object: {
      /** Form-URL-encoded: decode with `decodeURIComponent(key.replace(/\+/g, " "))`. */
      readonly key: string;
      /** Bytes; absent on removals. */
      readonly size?: number;
      /** Without quotes; absent on removals. */
      readonly eTag?: string;
      /** Hexadecimal; greater is later for the same key (left-pad to compare). */
      readonly sequencer: string;
    };
  };
}

export interface S3EventMessage {
  readonly Records: readonly S3EventRecord[];
}

export interface S3TestEvent {
  readonly Service: "Amazon S3";
  readonly Event: "s3:TestEvent";
  readonly Time: string;
  readonly Bucket: string;
  readonly RequestId: string;
  readonly HostId: string;
}

/** The bucket owner's canonical id in every record; AWS puts the account's there. */
export const LOCAL_BUCKET_OWNER_ID = "A3COMPACTERLOCAL";

/**
 * What happened to one object, captured when the emulator's store changed. The fields
 * mirror what AWS knows when it emits the event.
 */
export interface ObjectChange {
  readonly bucket: string;
  readonly key: string;
  readonly eventName: S3EventName;
  /** Absent for removals. */
  readonly size?: number;
  /** Quoted or not; stored unquoted. Absent for removals. */
  readonly eTag?: string;
  readonly sequencer: string;
  readonly eventTime: Date;
}

/** Who made the request, as the record's userIdentity/requestParameters/responseElements show it. */
export interface RequestOrigin {
  readonly principalId: string;
  readonly sourceIPAddress: string;
  readonly requestId: string;
  readonly hostId: string;
}

export function buildEventRecord(
  change: ObjectChange,
  origin: RequestOrigin,
  configurationId: string,
  region: string,
): S3EventRecord {
  const removed = change.eventName === S3_EVENT_NAME.delete;
  return {
    eventVersion: "2.1",
    eventSource: "aws:s3",
    awsRegion: region,
    eventTime: change.eventTime.toISOString(),
    eventName: change.eventName,
    userIdentity: { principalId: origin.principalId },
    requestParameters: { sourceIPAddress: origin.sourceIPAddress },
    responseElements: { "x-amz-request-id": origin.requestId, "x-amz-id-2": origin.hostId },
    s3: {
      s3SchemaVersion: "1.0",
      configurationId,
      bucket: {
        name: change.bucket,
        ownerIdentity: { principalId: LOCAL_BUCKET_OWNER_ID },
        arn: `arn:aws:s3:::${change.bucket}`,
      },
      object: removed
        ? { key: encodeEventKey(change.key), sequencer: change.sequencer }
        : {
            key: encodeEventKey(change.key),
            size: change.size ?? 0,
            eTag: (change.eTag ?? "").replaceAll('"', ""),
            sequencer: change.sequencer,
          },
    },
  };
}

export function buildTestEvent(bucket: string, requestId: string, hostId: string, at: Date): S3TestEvent {
  return {
    Service: "Amazon S3",
    Event: "s3:TestEvent",
    Time: at.toISOString(),
    Bucket: bucket,
    RequestId: requestId,
    HostId: hostId,
  };
}

/**
 * AWS form-URL-encodes keys in events ("red flower.jpg" → "red+flower.jpg") but leaves
 * `/` alone. We keep RFC 3986's unreserved characters and `/`, turn spaces into `+` and
 * percent-encode every other byte of the UTF-8 form, upper-case hex (Python's
 * `quote_plus(key, safe="/")`): `a b+ä` → `a+b%2B%C3%A4`. Whether AWS also leaves `*`
 * alone is not documented; any form-URL decoder reads both.
 */
export function encodeEventKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replaceAll("%2F", "/")
    .replaceAll("%20", "+");
}

/** The inverse of {@link encodeEventKey}, as a consumer of AWS events must apply it. */
export function decodeEventKey(encoded: string): string {
  return decodeURIComponent(encoded.replaceAll("+", " "));
}
