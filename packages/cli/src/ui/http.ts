import type { IncomingMessage, ServerResponse } from "node:http";
import { parseIsoDay } from "@compacter/core";

/** The request itself is wrong (a missing or malformed parameter): 400 with this message. */
export class BadRequest extends Error {
  override readonly name = "BadRequest";
}

export function checkDay(name: string, value: string): void {
  try {
    parseIsoDay(value);
  } catch (error) {
    throw new BadRequest(`${name}: ${(error as Error).message}`);
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
  });
  res.end(body);
}

const MAX_BODY_BYTES = 1 << 20;

export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BadRequest("request body over 1 MiB");
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8") || "null");
  } catch {
    throw new BadRequest("request body is not JSON");
  }
}

/**
 * Why a request is refused before it reaches a handler, or undefined when it may pass.
 *
 * The console listens on loopback only, but a web page open in the same browser can still
 * send requests there: a page on another origin could POST the retry or a SQL statement
 * (CSRF), and a DNS name rebound to 127.0.0.1 could read the answers. So the Host header
 * must name the loopback address the console listens on, and a POST must come from the
 * console's own origin with a JSON body (which another origin cannot send without a CORS
 * preflight, and the console answers none).
 */
export function refusal(req: IncomingMessage, port: number): string | undefined {
  const allowedHosts = [`127.0.0.1:${port}`, `localhost:${port}`];
  if (!allowedHosts.includes(req.headers.host ?? ""))
    return "unknown Host: open the console by the URL it printed";
  if (req.method === "GET" || req.method === "HEAD") return undefined;
  if (req.method !== "POST") return `method ${req.method} not allowed`;
  const origin = req.headers.origin;
  if (origin !== undefined && !allowedHosts.some((h) => origin === `http://${h}`)) {
    return "cross-origin request refused";
  }
  if (!(req.headers["content-type"] ?? "").startsWith("application/json")) {
    return "POST a JSON body (content-type: application/json)";
  }
  return undefined;
}
