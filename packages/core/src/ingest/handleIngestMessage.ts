import type { CompacterConfig } from "../config/loadConfig.js";
import { type PartitionId, partitionLabel } from "../layout/partitions.js";
import { parseRawKey } from "../layout/rawKeys.js";
import type { Logger } from "../log.js";
import type { ManifestStore, RegistrationOutcome } from "../manifest/store.js";
import { fileTiming } from "../windows.js";
import { EVENT_ACTION, parseNotification, type S3ObjectEvent } from "./parseNotification.js";

/**
 * Ingest: one SQS message of S3 events → manifest registrations (DESIGN.md "Lifecycle" 1–2).
 * Both consumers — the long-running SQS consumer and the Lambda handler — call this and
 * only decide what to do with the message afterwards.
 *
 * What happens to each record:
 * - `s3:TestEvent` (sent when the bucket's notification configuration is saved): acknowledged, nothing recorded.
 * - A record for another bucket or of another kind (restore, replication, tagging…): logged and skipped.
 * - `ObjectCreated:*` with a key that fits the raw layout → `registerCreated` (the rules: manifest/fileVersions.ts):
 *     new key                       → pending, in the due index;
 *     same or older sequencer       → stale (a redelivery or an old version arriving late): nothing changes;
 *     newer sequencer, same eTag    → duplicate: the content is identical, only the sequencer advances;
 *     newer sequencer, new eTag     → pending again (an overwrite); its old rows are replaced at the next compaction.
 * - `ObjectCreated:*` with a key that doesn't fit → `registerRejected` with parseRawKey's reason (queryable in
 *   the problems index, never dropped silently).
 * - `ObjectRemoved:*` → `registerRemoved`: the file's rows leave the lake at the next compaction; a removal
 *   that arrives before its create leaves a tombstone so the older create is ignored.
 *
 * When a file is due, and what "late" means: a file of hour H is on time if S3 wrote it
 * before H's window closed (end of H + closeAfter); it is due when the window closes, so
 * one compaction takes the whole hour. A file written after that is flagged `late` and is
 * due `lateDebounce` after it was written, so a backlog flushed after an outage gathers
 * into one compaction instead of one per file; the compactor then re-compacts it into the
 * same partition (the partition merges when the day is already closed). Arrival is the
 * event's own time, not when we happen to read the message, so a redelivery or a consumer
 * that was down for an hour computes the same due time (windows.ts: fileTiming).
 *
 * The manifest's conditional writes make every step idempotent, so a message that fails
 * half-way is simply retried whole. A body that can never be valid throws
 * InvalidEventError (not retryable): the consumer moves it to the dead-letter queue.
 */
export interface IngestDeps {
  readonly store: ManifestStore;
  readonly config: Pick<
    CompacterConfig,
    "rawBucket" | "rawPrefix" | "keyTimeZone" | "partitionTimeZone" | "closeAfterMs" | "lateDebounceMs"
  >;
  readonly log: Logger;
  /** Epoch ms; only stamps `updatedAt`. @defaultvalue Date.now */
  readonly now?: () => number;
}

export const INGEST_OUTCOME = {
  /** A new raw file (pending). */
  registered: "registered",
  /** A new version of a known key (pending again). */
  replaced: "replaced",
  removed: "removed",
  /** The key doesn't fit the raw layout; recorded with the reason. */
  rejected: "rejected",
  /** A newer event for the same content; nothing to compact. */
  duplicate: "duplicate",
  /** An event already seen or older than the one recorded. */
  stale: "stale",
  /** Not ours to record (another bucket, another kind of event, removal of an unparseable key). */
  skipped: "skipped",
} as const;

export type IngestOutcome = (typeof INGEST_OUTCOME)[keyof typeof INGEST_OUTCOME];

export interface IngestRecordResult {
  readonly outcome: IngestOutcome;
  readonly eventName: string;
  readonly bucket: string;
  readonly key: string;
  readonly partition?: PartitionId;
  readonly late?: boolean;
  /** Why a record was rejected or skipped. */
  readonly reason?: string;
}

export interface IngestMessageResult {
  /** The message was S3's test event. */
  readonly test: boolean;
  readonly records: readonly IngestRecordResult[];
}

export async function handleIngestMessage(
  body: string,
  deps: IngestDeps,
  context: { readonly messageId?: string } = {},
): Promise<IngestMessageResult> {
  const log = context.messageId ? deps.log.child({ messageId: context.messageId }) : deps.log;
  const notification = parseNotification(body);
  if (notification.kind === "test") {
    log.info("S3 test event acknowledged", { bucket: notification.bucket });
    return { test: true, records: [] };
  }
  const results: IngestRecordResult[] = [];
  // In order: two records of one message may touch the same key.
  for (const event of notification.records) results.push(await handleRecord(event, deps, log));
  return { test: false, records: results };
}

async function handleRecord(
  event: S3ObjectEvent,
  deps: IngestDeps,
  log: Logger,
): Promise<IngestRecordResult> {
  const { config, store } = deps;
  const base = { eventName: event.eventName, bucket: event.bucket, key: event.key };
  const nowIso = new Date((deps.now ?? Date.now)()).toISOString();

  if (event.bucket !== config.rawBucket) {
    const reason = `event is for bucket '${event.bucket}', not the raw bucket '${config.rawBucket}'`;
    log.warn("skipping event for another bucket", { ...base, reason });
    return { ...base, outcome: INGEST_OUTCOME.skipped, reason };
  }
  if (event.action === EVENT_ACTION.other) {
    const reason = `event ${event.eventName} does not change the raw file`;
    log.info("skipping event", { ...base, reason });
    return { ...base, outcome: INGEST_OUTCOME.skipped, reason };
  }

  const parsed = parseRawKey(event.key, config);
  if (!parsed.ok) {
    if (event.action === EVENT_ACTION.removed) {
      const reason = `removed key does not fit the raw layout: ${parsed.reason}`;
      log.info("skipping removal of a key outside the layout", { ...base, reason });
      return { ...base, outcome: INGEST_OUTCOME.skipped, reason };
    }
    const outcome = await store.registerRejected({
      version: versionOf(event),
      reason: parsed.reason,
      nowIso,
    });
    log.warn("raw key rejected", { ...base, reason: parsed.reason, result: outcome.result });
    return { ...base, outcome: outcomeOf(outcome), reason: parsed.reason };
  }

  const file = parsed.value;
  const timing = fileTiming(file.hourStartMs, event.eventTimeMs, config);
  const where = { ...base, partition: partitionLabel(file.partition), late: timing.late };
  const outcome =
    event.action === EVENT_ACTION.created
      ? await store.registerCreated({ file, version: versionOf(event), timing, nowIso })
      : await store.registerRemoved({
          file,
          sequencer: event.sequencer,
          arrivedAt: event.eventTime,
          timing,
          nowIso,
        });
  const dueAt = new Date(timing.dueAtMs).toISOString();
  if (outcome.result === "stale" || outcome.result === "duplicate" || outcome.result === "registered") {
    // The common cases; at info a busy fleet would drown everything else.
    log.debug(`raw file ${outcome.result}`, { ...where, dueAt });
  } else {
    log.info(`raw file ${outcome.result}`, { ...where, dueAt });
  }
  if (timing.late && (outcome.result === "registered" || outcome.result === "replaced")) {
    log.info("late raw file: its hour's window had closed", { ...where, dueAt });
  }
  return { ...base, outcome: outcomeOf(outcome), partition: file.partition, late: timing.late };
}

function versionOf(event: S3ObjectEvent) {
  return {
    key: event.key,
    eTag: event.eTag ?? "",
    size: event.size ?? 0,
    sequencer: event.sequencer,
    arrivedAt: event.eventTime,
  };
}

function outcomeOf(outcome: RegistrationOutcome): IngestOutcome {
  return INGEST_OUTCOME[outcome.result];
}
