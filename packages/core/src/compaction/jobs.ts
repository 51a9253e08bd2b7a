import { z } from "zod";
import { InvalidEventError } from "../errors.js";
import { parseIsoDay } from "../time/zones.js";
import type { CompactionJob } from "./ports.js";

/** The compaction queue's message body: `{"day":"2025-12-12","district":"BRCB"}`. */
const JobBody = z.object({
  day: z.string().refine((d) => {
    try {
      parseIsoDay(d);
      return true;
    } catch {
      return false;
    }
  }, "day must be a real date in YYYY-MM-DD form"),
  district: z.string().regex(/^[A-Za-z0-9_.-]+$/, "district must match [A-Za-z0-9_.-]+"),
  forceMerge: z.boolean().optional(),
  rewriteTypes: z.boolean().optional(),
});

export function encodeCompactionJob(job: CompactionJob): string {
  return JSON.stringify({
    day: job.partition.day,
    district: job.partition.district,
    ...(job.forceMerge ? { forceMerge: true } : {}),
    ...(job.rewriteTypes ? { rewriteTypes: true } : {}),
  });
}

/** Throws InvalidEventError (never retryable) for a body no worker could act on. */
export function decodeCompactionJob(body: string): CompactionJob {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new InvalidEventError(`compaction job is not JSON: ${body.slice(0, 120)}`);
  }
  const parsed = JobBody.safeParse(json);
  if (!parsed.success) {
    throw new InvalidEventError(
      `invalid compaction job: ${parsed.error.issues.map((i) => i.message).join("; ")}`,
    );
  }
  const { day, district, forceMerge, rewriteTypes } = parsed.data;
  return {
    partition: { day, district },
    ...(forceMerge ? { forceMerge } : {}),
    ...(rewriteTypes ? { rewriteTypes } : {}),
  };
}
