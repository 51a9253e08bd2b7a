import type { Random } from "./random.js";

/** gzip's trailer: CRC-32 then ISIZE (input length mod 2^32), both little-endian. */
const TRAILER_BYTES = 8;

export interface Corruption {
  readonly body: Buffer;
  /** What was done, for the summary ("cut at 41% (333012 of 812345 bytes)"). */
  readonly detail: string;
}

/**
 * Cuts a gzip stream short. Half the time mid-stream; the other half only the 8-byte
 * trailer is missing, so every row inflates and only a reader that checks the end of the
 * stream notices (DuckDB doesn't).
 */
export function truncateGzip(gz: Buffer, random: Random): Corruption {
  if (random.chance(0.5) && gz.length > TRAILER_BYTES + 10) {
    return { body: gz.subarray(0, gz.length - TRAILER_BYTES), detail: "trailer missing" };
  }
  const share = 0.1 + random.float() * 0.8;
  // At least past the 10-byte header, so it is recognisably gzip.
  const cut = Math.max(11, Math.min(gz.length - TRAILER_BYTES - 1, Math.floor(gz.length * share)));
  return {
    body: gz.subarray(0, cut),
    detail: `cut at ${Math.round((cut / gz.length) * 100)}% (${cut} of ${gz.length} bytes)`,
  };
}

/** Corrupts the trailer's CRC-32 or its length; the deflate data itself is intact. */
export function corruptTrailer(gz: Buffer, random: Random): Corruption {
  const body = Buffer.from(gz);
  if (random.chance(0.5)) {
    const at = body.length - TRAILER_BYTES;
    body[at] = (body[at] ?? 0) ^ 0xff;
    return { body, detail: "CRC-32 wrong" };
  }
  const at = body.length - 4;
  body[at] = (body[at] ?? 0) ^ 0x01;
  return { body, detail: "length wrong" };
}

/**
 * What a misconfigured device uploads instead of telemetry: its modem log. No line is a
 * JSON object.
 */
export function plainTextLog(hourStartMs: number, unitno: string, random: Random): Buffer {
  const lines: string[] = [];
  const events = [
    "modem: AT+CSQ -> +CSQ: 17,99",
    "modem: link down, retrying",
    "modem: PDP context activated",
    "gps: fix lost (hdop 9.9)",
    "gps: fix acquired, 11 satellites",
    "can0: bus-off, restarting controller",
    "upload: HTTP 503 from endpoint, backing off 30s",
    "watchdog: telemetry task restarted",
  ];
  const count = random.int(40, 200);
  for (let i = 0; i < count; i++) {
    const at = hourStartMs + Math.floor((i * 3_600_000) / count);
    lines.push(`${new Date(at).toISOString()} ${unitno} ${random.pick(events)}`);
  }
  return Buffer.from(`${lines.join("\n")}\n`, "latin1");
}
