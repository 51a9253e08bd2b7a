import { gunzipSync } from "node:zlib";
import { parseUtcOffset, type RawKeyLayout } from "@compacter/core";
import {
  type MemorySink,
  memorySink,
  runSimulation,
  type SimulationOptions,
  type SimulationSummary,
} from "@compacter/simulator";

export const LAYOUT: RawKeyLayout = {
  rawPrefix: "raw/",
  keyTimeZone: parseUtcOffset("+08:00"),
  partitionTimeZone: parseUtcOffset("+08:00"),
};

/** 2025-12-12 00:00 at +08:00. */
export const START_MS = Date.UTC(2025, 11, 11, 16);

/** A small run into memory: 2 districts × `devices`, 60 rows per file unless overridden. */
export async function simulateInMemory(
  options: Partial<SimulationOptions> = {},
): Promise<{ summary: SimulationSummary; sink: MemorySink }> {
  const sink = memorySink();
  const summary = await runSimulation(
    { layout: LAYOUT, startHourMs: START_MS, devicesPerDistrict: 4, hours: 2, rowsPerFile: 60, ...options },
    sink,
  );
  return { summary, sink };
}

/** The NDJSON lines of a gzip body (without the final empty string after the last "\n"). */
export function lines(body: Buffer): string[] {
  const text = gunzipSync(body).toString("utf8");
  expectEndsWithNewline(text);
  return text === "" ? [] : text.slice(0, -1).split("\n");
}

function expectEndsWithNewline(text: string): void {
  if (text !== "" && !text.endsWith("\n")) throw new Error("NDJSON body does not end with a newline");
}

/** The line as an object, or undefined when it is not a JSON object. */
export function parseObject(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export function objects(body: Buffer): Record<string, unknown>[] {
  return lines(body).flatMap((line) => {
    const object = parseObject(line);
    return object ? [object] : [];
  });
}
