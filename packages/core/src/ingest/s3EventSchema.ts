import { z } from "zod";

/**
 * The shapes an ingest message body can take, as AWS documents them ("Event message
 * structure"): an S3 event notification (`Records`), the `s3:TestEvent` S3 sends when a
 * notification configuration is saved, or either of those wrapped in an SNS envelope
 * (bucket → SNS topic → SQS fan-out). Only the fields ingest reads are declared; the
 * rest (userIdentity, requestParameters, …) is accepted and ignored.
 */

/** AWS sends 2.1–2.3 today and documents up to 2.6; a 3.x would be a format we don't know. */
const EVENT_VERSION = /^2\.\d+$/;
/** S3's per-key order; at most 32 hex digits so it fits the normalised width. */
const SEQUENCER = /^[0-9A-Fa-f]{1,32}$/;

export const s3EventObjectSchema = z.object({
  key: z.string().min(1),
  size: z.number().int().nonnegative().optional(),
  eTag: z.string().optional(),
  versionId: z.string().optional(),
  sequencer: z.string().regex(SEQUENCER, "sequencer must be 1–32 hexadecimal digits"),
});

export const s3EventRecordSchema = z
  .object({
    eventVersion: z.string().regex(EVENT_VERSION, "eventVersion must be 2.x"),
    eventSource: z.literal("aws:s3"),
    eventTime: z.iso.datetime({ offset: true }),
    eventName: z.string().min(1),
    s3: z.object({
      bucket: z.object({ name: z.string().min(1) }),
      object: s3EventObjectSchema,
    }),
  })
  .superRefine((record, ctx) => {
    // A created object always has content: without its eTag and size we could not tell
    // one version from the next, so such a record can never be registered.
    if (!/^(s3:)?ObjectCreated:/.test(record.eventName)) return;
    if (record.s3.object.eTag === undefined || record.s3.object.eTag.replaceAll('"', "") === "") {
      ctx.addIssue({
        code: "custom",
        path: ["s3", "object", "eTag"],
        message: "ObjectCreated record has no eTag",
      });
    }
    if (record.s3.object.size === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["s3", "object", "size"],
        message: "ObjectCreated record has no size",
      });
    }
  });

export const s3EventNotificationSchema = z.object({
  Records: z.array(s3EventRecordSchema).min(1, "Records is empty"),
});

export const s3TestEventSchema = z.object({
  Service: z.literal("Amazon S3"),
  Event: z.literal("s3:TestEvent"),
  Bucket: z.string().optional(),
  Time: z.string().optional(),
});

export const snsEnvelopeSchema = z.object({
  Type: z.literal("Notification"),
  Message: z.string(),
  MessageId: z.string().optional(),
  TopicArn: z.string().optional(),
});

export type S3EventRecordInput = z.infer<typeof s3EventRecordSchema>;
