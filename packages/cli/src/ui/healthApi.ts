import type { AwsClients, DynamoManifestStore } from "@compacter/aws";
import {
  type CompacterConfig,
  DAY_MS,
  daysBetween,
  FILE_STATUS,
  isoDay,
  mapLimit,
  type PartitionId,
  parseRawKey,
  partitionLabel,
  type RawFileRecord,
} from "@compacter/core";
import { requeueFiles } from "../commands/retry.js";
import { buildReport, queueDepths } from "../commands/status.js";
import { buildGrid } from "./healthGrid.js";
import { BadRequest, checkDay } from "./http.js";

/**
 * The health page's answers, each the same manifest Query (or queue attribute read) the
 * CLI's `status`, `manifest` and `retry` commands send; nothing here writes except retry.
 */
export interface HealthContext {
  readonly config: CompacterConfig;
  readonly clients: AwsClients;
  readonly store: DynamoManifestStore;
}

/** One Query per day: a longer range is a question for `compacter manifest partitions`. */
export const MAX_GRID_DAYS = 62;
const DEFAULT_GRID_DAYS = 7;
const READ_CONCURRENCY = 8;

export async function overview(ctx: HealthContext, params: URLSearchParams) {
  const nowMs = Date.now();
  const to = params.get("to") || isoDay(nowMs, ctx.config.partitionTimeZone);
  checkDay("to", to);
  const from = params.get("from") || addDays(to, 1 - DEFAULT_GRID_DAYS);
  checkDay("from", from);
  if (to < from) throw new BadRequest(`'to' (${to}) is before 'from' (${from})`);
  const days = daysBetween(from, to);
  if (days.length > MAX_GRID_DAYS) throw new BadRequest(`pick at most ${MAX_GRID_DAYS} days`);

  const [queues, due, quarantined, rejected, perDay, failing] = await Promise.all([
    queueDepths(ctx.clients.sqs, ctx.config),
    ctx.store.listDue(),
    ctx.store.listProblems(FILE_STATUS.quarantined),
    ctx.store.listProblems(FILE_STATUS.rejected),
    mapLimit(days, READ_CONCURRENCY, (day) => ctx.store.listPartitionsOfDay(day)),
    ctx.store.listFailing(),
  ]);
  const status = buildReport({
    nowMs,
    queues,
    due,
    quarantined: quarantined.length,
    rejected: rejected.length,
    failing,
  });
  return {
    now: status.now,
    from,
    to,
    queues: status.queues,
    counts: status.counts,
    oldestPending: status.oldestPending,
    // The figure `compacter status` prints and the sweep publishes (LakeFreshness), so the
    // page, the CLI and the CloudWatch dashboard agree.
    freshness: { overdueMs: status.lakeFreshness.ageMs, oldestDueAt: status.lakeFreshness.oldestDueAt },
    grid: buildGrid({
      days: [...days].reverse(),
      partitions: perDay.flat(),
      due: status.partitions,
      quarantined,
      failing: new Set(failing.map((state) => partitionLabel(state.partition))),
    }),
  };
}

export async function partitionDetail(ctx: HealthContext, params: URLSearchParams) {
  const partition = partitionParam(params);
  const [state, files, history] = await Promise.all([
    ctx.store.getPartition(partition),
    ctx.store.listFiles(partition),
    ctx.store.listHistory(partition),
  ]);
  return {
    partition,
    state: state ?? null,
    files: files.sort((a, b) => a.key.localeCompare(b.key)),
    history: history.sort((a, b) => b.generation - a.generation),
  };
}

export async function problems(ctx: HealthContext) {
  return ctx.store.listProblems();
}

/** The retry button: exactly `compacter retry --key KEY`. */
export async function retry(ctx: HealthContext, body: unknown) {
  const key = (body as { key?: unknown } | null)?.key;
  if (typeof key !== "string" || key === "") throw new BadRequest('say which file: {"key": "…"}');
  const parsed = parseRawKey(key, ctx.config);
  if (!parsed.ok) throw new BadRequest(`key: ${parsed.reason}`);
  const file = await ctx.store.getFile(parsed.value.partition, key);
  const candidates: RawFileRecord[] = file ? [file] : [];
  return requeueFiles(ctx.store, candidates, partitionLabel);
}

function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

function partitionParam(params: URLSearchParams): PartitionId {
  const day = params.get("day") ?? "";
  const district = params.get("district") ?? "";
  checkDay("day", day);
  if (district === "") throw new BadRequest("say which district");
  return { day, district };
}
