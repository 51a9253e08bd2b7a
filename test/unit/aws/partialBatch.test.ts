import type { S3Client } from "@aws-sdk/client-s3";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { PartialBatchError, S3ObjectStore, SqsJobQueue } from "@compacter/aws";
import { isRetryable } from "@compacter/core";
import { describe, expect, it } from "vitest";

/**
 * A batch call that succeeds with failed entries. The local emulators never answer that
 * way, so a fake client injects the answer (the only thing faked here).
 */
function answering<T>(response: unknown): T {
  return { send: async () => response } as unknown as T;
}

describe("a partly failed batch request", () => {
  it("DeleteObjects: a throttled key is worth another try; AccessDenied on every key is not", async () => {
    const throttled = new S3ObjectStore(
      answering<S3Client>({ Errors: [{ Key: "a", Code: "SlowDown", Message: "reduce your rate" }] }),
    );
    const slow = await throttled.deleteMany("lake", ["a", "b"]).catch((error: unknown) => error);
    expect(slow).toBeInstanceOf(PartialBatchError);
    expect(isRetryable(slow)).toBe(true);
    expect((slow as Error).message).toContain("a: SlowDown reduce your rate");

    const denied = new S3ObjectStore(
      answering<S3Client>({ Errors: [{ Key: "a", Code: "AccessDenied", Message: "no" }] }),
    );
    const refused = await denied.deleteMany("lake", ["a"]).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(PartialBatchError);
    expect(isRetryable(refused)).toBe(false);
  });

  it("SendMessageBatch: a sender fault is not retryable, a service fault is", async () => {
    const job = { partition: { day: "2025-12-12", district: "BRCB" } };
    const senderFault = new SqsJobQueue(
      answering<SQSClient>({ Failed: [{ Id: "0", Code: "InvalidParameterValue", SenderFault: true }] }),
      "https://queue",
    );
    const bad = await senderFault.sendCompactionJobs([job]).catch((error: unknown) => error);
    expect(bad).toBeInstanceOf(PartialBatchError);
    expect(isRetryable(bad)).toBe(false);

    const serviceFault = new SqsJobQueue(
      answering<SQSClient>({ Failed: [{ Id: "0", Code: "InternalError", SenderFault: false }] }),
      "https://queue",
    );
    expect(isRetryable(await serviceFault.sendCompactionJobs([job]).catch((error: unknown) => error))).toBe(
      true,
    );
  });
});

describe("a queue ARN that is not one", () => {
  it("is a configuration error (the CLI exits 2), found before any request", async () => {
    const { queueUrlOfArn } = await import("@compacter/aws");
    const { ConfigError } = await import("@compacter/core");
    const never = {
      send: async () => expect.unreachable("no request for a malformed ARN"),
    } as unknown as SQSClient;
    await expect(queueUrlOfArn(never, "arn:aws:s3:::bucket")).rejects.toThrow(ConfigError);
  });
});
