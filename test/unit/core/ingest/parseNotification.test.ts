import {
  actionOf,
  decodeEventKey,
  InvalidEventError,
  parseNotification,
  type S3Notification,
  type S3ObjectEvent,
} from "@compacter/core";
import { describe, expect, it } from "vitest";

function record(overrides: Record<string, unknown> = {}, object: Record<string, unknown> = {}) {
  return {
    eventVersion: "2.1",
    eventSource: "aws:s3",
    awsRegion: "ap-southeast-1",
    eventTime: "2025-12-12T01:59:30.123Z",
    eventName: "ObjectCreated:Put",
    userIdentity: { principalId: "AWS:AIDAEXAMPLE" },
    requestParameters: { sourceIPAddress: "10.0.0.1" },
    responseElements: { "x-amz-request-id": "R", "x-amz-id-2": "H" },
    s3: {
      s3SchemaVersion: "1.0",
      configurationId: "compacter-ingest",
      bucket: { name: "raw", ownerIdentity: { principalId: "A" }, arn: "arn:aws:s3:::raw" },
      object: {
        key: "BRCB/SLS30I001/2025121209/2025121209.txt.gz",
        size: 1024,
        eTag: "d41d8cd98f00b204e9800998ecf8427e",
        sequencer: "0055AED6DCD90281E5",
        ...object,
      },
    },
    ...overrides,
  };
}

const body = (...records: unknown[]) => JSON.stringify({ Records: records });

function recordsOf(notification: S3Notification): readonly S3ObjectEvent[] {
  if (notification.kind !== "records") throw new Error("expected records, got a test event");
  return notification.records;
}

function invalid(text: string): InvalidEventError {
  try {
    parseNotification(text);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidEventError);
    expect((error as InvalidEventError).retryable).toBe(false);
    return error as InvalidEventError;
  }
  throw new Error(`expected '${text.slice(0, 60)}' to be invalid`);
}

describe("parseNotification", () => {
  it("reads a created object with a normalised sequencer and eTag", () => {
    const parsed = parseNotification(body(record({}, { eTag: '"abc-2"' })));
    expect(parsed).toEqual({
      kind: "records",
      records: [
        {
          eventName: "ObjectCreated:Put",
          action: "created",
          bucket: "raw",
          key: "BRCB/SLS30I001/2025121209/2025121209.txt.gz",
          eTag: "abc-2",
          size: 1024,
          sequencer: "00000000000000055AED6DCD90281E5".padStart(32, "0"),
          eventTime: "2025-12-12T01:59:30.123Z",
          eventTimeMs: Date.parse("2025-12-12T01:59:30.123Z"),
        },
      ],
    });
  });

  it("classifies every event family", () => {
    const names = {
      "ObjectCreated:Put": "created",
      "ObjectCreated:Post": "created",
      "ObjectCreated:Copy": "created",
      "ObjectCreated:CompleteMultipartUpload": "created",
      "ObjectRemoved:Delete": "removed",
      "ObjectRemoved:DeleteMarkerCreated": "removed",
      "LifecycleExpiration:Delete": "removed",
      "LifecycleExpiration:DeleteMarkerCreated": "removed",
      "ObjectRestore:Post": "other",
      "ObjectRestore:Completed": "other",
      "ObjectRestore:Delete": "other",
      "Replication:OperationFailedReplication": "other",
      LifecycleTransition: "other",
      IntelligentTiering: "other",
      "ObjectTagging:Put": "other",
      "ObjectAcl:Put": "other",
      ReducedRedundancyLostObject: "other",
    } as const;
    for (const [eventName, action] of Object.entries(names)) {
      const removal = action !== "created";
      const object = removal ? { size: undefined, eTag: undefined } : {};
      const [parsed] = recordsOf(parseNotification(body(record({ eventName }, object))));
      expect(parsed?.action, eventName).toBe(action);
      expect(actionOf(eventName)).toBe(action);
    }
    // Some producers keep the `s3:` prefix of the configuration's event names.
    const prefixed = parseNotification(
      body(record({ eventName: "s3:ObjectRemoved:Delete" }, { eTag: undefined })),
    );
    expect(prefixed).toMatchObject({ records: [{ eventName: "ObjectRemoved:Delete", action: "removed" }] });
  });

  it("decodes form-URL-encoded keys: + is a space, then percent-decoding", () => {
    const parsed = parseNotification(body(record({}, { key: "a+b%2B%C3%A4" })));
    expect(parsed).toMatchObject({ records: [{ key: "a b+ä" }] });
    expect(decodeEventKey("BR+CB/%E8%BD%A6/2025121209/2025121209.txt.gz")).toBe(
      "BR CB/车/2025121209/2025121209.txt.gz",
    );
    expect(decodeEventKey("it%27s%29%3B+--")).toBe("it's); --");
  });

  it("accepts every 2.x event version and a removal without eTag or size", () => {
    for (const eventVersion of ["2.0", "2.1", "2.2", "2.3", "2.6"]) {
      expect(parseNotification(body(record({ eventVersion })))).toMatchObject({ kind: "records" });
    }
    const removal = parseNotification(
      body(record({ eventName: "ObjectRemoved:Delete" }, { eTag: undefined, size: undefined })),
    );
    expect(removal).toMatchObject({ records: [{ action: "removed" }] });
    expect(recordsOf(removal)[0]).not.toHaveProperty("eTag");
  });

  it("keeps every record of a multi-record message in order", () => {
    const parsed = parseNotification(body(record({}, { key: "k1" }), record({}, { key: "k2" })));
    expect(recordsOf(parsed).map((r) => r.key)).toEqual(["k1", "k2"]);
  });

  it("recognises S3's test event, bare or inside SNS", () => {
    const test = {
      Service: "Amazon S3",
      Event: "s3:TestEvent",
      Time: "2025-12-12T01:00:00.000Z",
      Bucket: "raw",
      RequestId: "R",
      HostId: "H",
    };
    expect(parseNotification(JSON.stringify(test))).toEqual({ kind: "test", bucket: "raw" });
    const sns = {
      Type: "Notification",
      MessageId: "m",
      TopicArn: "arn:aws:sns:x",
      Message: JSON.stringify(test),
    };
    expect(parseNotification(JSON.stringify(sns))).toEqual({ kind: "test", bucket: "raw" });
  });

  it("unwraps an SNS envelope", () => {
    const sns = {
      Type: "Notification",
      MessageId: "m",
      TopicArn: "arn:aws:sns:ap-southeast-1:123:raw-events",
      Subject: "Amazon S3 Notification",
      Message: body(record({}, { key: "x+y" })),
      Timestamp: "2025-12-12T02:00:00.000Z",
    };
    expect(parseNotification(JSON.stringify(sns))).toMatchObject({
      kind: "records",
      records: [{ key: "x y" }],
    });
  });

  it("refuses bodies that can never be valid, saying why", () => {
    expect(invalid("not json").message).toMatch(/not JSON/);
    expect(invalid("").message).toMatch(/not JSON/);
    invalid("null");
    invalid("[]");
    invalid(JSON.stringify({ hello: "world" }));
    expect(invalid(JSON.stringify({ Records: [] })).message).toMatch(/Records is empty/);
    expect(invalid(body(record({ eventVersion: "3.0" }))).message).toMatch(/eventVersion/);
    invalid(body(record({ eventVersion: "1.0" })));
    invalid(body(record({ eventSource: "aws:sqs" })));
    invalid(body(record({ eventTime: "yesterday" })));
    expect(invalid(body(record({}, { sequencer: "not-hex" }))).message).toMatch(/sequencer/);
    invalid(body(record({}, { sequencer: "1".repeat(33) })));
    expect(invalid(body(record({}, { eTag: undefined }))).message).toMatch(/eTag/);
    expect(invalid(body(record({}, { size: undefined }))).message).toMatch(/size/);
    invalid(body(record({}, { size: -1 })));
    invalid(body(record({}, { key: "" })));
    expect(invalid(body(record({}, { key: "bad%E0%A4%A" }))).message).toMatch(/form-URL/);
    invalid(body(record({}, { key: "%" })));
    // One bad record spoils the message: S3 sends one record per message, so this is a producer bug.
    invalid(body(record(), record({ eventSource: "other" })));
    invalid(JSON.stringify({ Type: "Notification", Message: "not json" }));
    invalid(JSON.stringify({ Type: "Notification", Message: JSON.stringify({ nope: 1 }) }));
  });
});
