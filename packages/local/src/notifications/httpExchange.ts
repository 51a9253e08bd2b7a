/**
 * The HTTP side of the notification bridge: reading an S3 request fauxqs received (bucket,
 * key, operation, caller) and answering with an S3-shaped XML error.
 */
import { randomBytes } from "node:crypto";
import { type RequestOrigin, S3_EVENT_NAME, type S3EventName } from "./eventRecord.js";
import type { InvalidNotificationConfigurationError } from "./notificationConfig.js";

/** Our stand-in for AWS's x-amz-id-2 host id. */
export const HOST_ID = "compacter-local";

/** The slice of Fastify the bridge uses; fauxqs's `buildApp` returns a Fastify instance. */
export interface HttpRequest {
  readonly method: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly query: unknown;
  readonly params: unknown;
  readonly body: unknown;
  readonly ip: string;
}

export interface HttpReply {
  readonly statusCode: number;
  code(status: number): HttpReply;
  header(name: string, value: string): HttpReply;
  getHeader(name: string): unknown;
  send(payload?: string): HttpReply;
}

export function createdEventName(request: HttpRequest): S3EventName {
  if (header(request, "x-amz-copy-source")) return S3_EVENT_NAME.copy;
  const query = (request.query ?? {}) as Record<string, unknown>;
  if (request.method === "POST" && typeof query.uploadId === "string")
    return S3_EVENT_NAME.completeMultipartUpload;
  return S3_EVENT_NAME.put;
}

export function bucketOf(request: HttpRequest): string | undefined {
  const params = (request.params ?? {}) as Record<string, unknown>;
  return typeof params.bucket === "string" && params.bucket !== "" ? params.bucket : undefined;
}

export function keyOf(request: HttpRequest): string | undefined {
  const params = (request.params ?? {}) as Record<string, unknown>;
  const key = params["*"];
  return typeof key === "string" && key !== "" ? key : undefined;
}

export function header(request: HttpRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The access key of a SigV4 header or presigned URL; AWS shows the IAM principal there. */
export function requestOrigin(request: HttpRequest, reply: HttpReply): RequestOrigin {
  const query = (request.query ?? {}) as Record<string, unknown>;
  const credential =
    /Credential=([^/,\s]+)\//.exec(header(request, "authorization") ?? "")?.[1] ??
    (typeof query["X-Amz-Credential"] === "string" ? query["X-Amz-Credential"].split("/")[0] : undefined);
  return {
    principalId: credential ? `AWS:${credential}` : "Anonymous",
    sourceIPAddress: request.ip,
    requestId: String(reply.getHeader("x-amz-request-id") ?? ""),
    hostId: String(reply.getHeader("x-amz-id-2") ?? HOST_ID),
  };
}

export function newRequestId(): string {
  return randomBytes(8).toString("hex").toUpperCase();
}

export function bodyText(body: unknown): string {
  if (Buffer.isBuffer(body)) return body.toString("utf8");
  return typeof body === "string" ? body : "{}";
}

export function sendS3Error(
  reply: HttpReply,
  status: number,
  code: string,
  message: string,
  requestId: string,
  bucket?: string,
  argument?: InvalidNotificationConfigurationError,
): HttpReply {
  const parts = [
    `<Code>${code}</Code>`,
    `<Message>${escapeText(message)}</Message>`,
    bucket ? `<BucketName>${escapeText(bucket)}</BucketName>` : "",
    argument?.argumentName ? `<ArgumentName>${escapeText(argument.argumentName)}</ArgumentName>` : "",
    argument?.argumentValue !== undefined
      ? `<ArgumentValue>${escapeText(argument.argumentValue)}</ArgumentValue>`
      : "",
    `<RequestId>${requestId}</RequestId>`,
    `<HostId>${HOST_ID}</HostId>`,
  ];
  reply.code(status).header("content-type", "application/xml");
  return reply.send(`<?xml version="1.0" encoding="UTF-8"?>\n<Error>${parts.join("")}</Error>`);
}

function escapeText(value: string): string {
  return value.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}
