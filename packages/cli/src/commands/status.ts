import type { SQSClient } from "@aws-sdk/client-sqs";
import type { QueueDepth } from "@compacter/aws";
import {
  type CompacterConfig,
  type DueEntry,
  type FailingMark,
  FILE_STATUS,
  formatDuration,
  type LakeFreshness,
  lakeFreshness,
  listLedgerPartitions,
  type PartitionState,
  partitionsToRewrite,
} from "@compacter/core";
import type { Command } from "commander";
import { printJson, printTable } from "../output.js";
import { addSettingFlags } from "../settingsFlags.js";
import { countDueFiles, type DueCounts, withManifest } from "./manifest.js";

/**
 * `compacter status`: what an operator checks first when something is off — the queues
 * (is ingest keeping up, is anything dead-lettered), lake freshness (the dashboard's
 * headline figure, computed the same way the sweep computes it), the due work, the
 * partitions whose compactions keep failing (error, attempts, next retry), and the files
 * that need a person (quarantined, rejected).
 */
export function registerStatus(program: Command): Command {
  return addSettingFlags(
    program
      .command("status")
      .description(
        "Queue depths (ingest, compaction and their DLQs), lake freshness, partitions due now, pending / late / " +
          "quarantined / rejected counts, the oldest pending file, pending files per partition, and failing " +
          "partitions (last error, attempts, next retry)",
      )
      .option("--json", "print JSON"),
    ["manifestTable", "ingestQueueUrl", "ingestDlqUrl", "compactionQueueUrl", "compactionDlqUrl"],
  ).action(async (flags: { json?: boolean } & Record<string, unknown>) => {
    const report = await withManifest(flags, async ({ config, clients, store }) => {
      const nowMs = Date.now();
      const [queues, due, quarantined, rejected, failing, lake] = await Promise.all([
        queueDepths(clients.sqs, config),
        store.listDue(),
        store.listProblems("quarantined"),
        store.listProblems("rejected"),
        store.listFailing(),
        listLedgerPartitions(store),
      ]);
      return {
        ...buildReport({
          nowMs,
          queues,
          due,
          quarantined: quarantined.length,
          rejected: rejected.length,
          failing,
        }),
        typeLedger: {
          version: lake.ledger?.version ?? 0,
          columns: lake.ledger?.columns.length ?? 0,
          partitionsToRewrite: partitionsToRewrite(lake.partitions, lake.ledger, 0).behind,
        },
      };
    });
    if (flags.json) return printJson(report);
    printHuman(report);
  });
}

export type QueueName = "ingest" | "ingestDlq" | "compaction" | "compactionDlq";
export type QueueReport =
  | (QueueDepth & { readonly configured: true })
  | { readonly configured: false; readonly error?: string };

/** Depths of the four queues; a DLQ not configured is found through its queue's redrive policy. */
export async function queueDepths(
  sqs: SQSClient,
  config: CompacterConfig,
): Promise<Record<QueueName, QueueReport>> {
  const { findDeadLetterQueueUrl, getQueueDepth } = await import("@compacter/aws");
  const depth = async (url: string | undefined): Promise<QueueReport> => {
    if (!url) return { configured: false };
    try {
      return { configured: true, ...(await getQueueDepth(sqs, url)) };
    } catch (error) {
      return { configured: false, error: (error as Error).message };
    }
  };
  const dlq = async (configured: string, queueUrl: string) =>
    configured || (queueUrl ? await findDeadLetterQueueUrl(sqs, queueUrl).catch(() => undefined) : undefined);
  const [ingestDlqUrl, compactionDlqUrl] = await Promise.all([
    dlq(config.ingestDlqUrl, config.ingestQueueUrl),
    dlq(config.compactionDlqUrl, config.compactionQueueUrl),
  ]);
  const [ingest, ingestDlq, compaction, compactionDlq] = await Promise.all([
    depth(config.ingestQueueUrl),
    depth(ingestDlqUrl),
    depth(config.compactionQueueUrl),
    depth(compactionDlqUrl),
  ]);
  return { ingest, ingestDlq, compaction, compactionDlq };
}

export interface StatusReport {
  readonly now: string;
  readonly queues: Record<QueueName, QueueReport>;
  /** Age past due of the oldest raw file not yet in the lake: the LakeFreshness metric, in ms. */
  readonly lakeFreshness: LakeFreshness;
  /** Partitions with anything due at or before now (files, a merge, a commit to finish). */
  readonly partitionsDueNow: number;
  readonly counts: {
    readonly pending: number;
    /** Pending files that arrived after their hour's window closed. */
    readonly late: number;
    /** Removed files whose rows still have to leave the lake. */
    readonly removed: number;
    readonly quarantined: number;
    readonly rejected: number;
  };
  readonly oldestPending: { readonly arrivedAt: string; readonly ageMs: number } | null;
  /** Partitions with due work, by day then district. */
  readonly partitions: readonly {
    readonly day: string;
    readonly district: string;
    readonly pending: number;
    readonly late: number;
    readonly removed: number;
    readonly nextDueAt: string;
    readonly dueNow: boolean;
    /** What the due work is, in words: a partition due with 0 pending files is due for its merge. */
    readonly work: string;
  }[];
  /** Partitions whose compactions keep failing, longest-failing first. */
  readonly failing: readonly ({ readonly day: string; readonly district: string } & FailingMark)[];
}

/**
 * A partition can be due with no pending file: the entry for the partition itself, which
 * the day close (closeAfter past the day's last hour) or too many files puts there so the
 * day's hourly files merge into one sorted file — or which marks a commit a killed worker
 * left half done. Saying so keeps "due, 0 pending" from reading as stuck.
 */
export function describeDueWork(counts: Omit<DueCounts, "nextDueAt">): string {
  const parts: string[] = [];
  if (counts.pending > 0) parts.push(`compact ${counts.pending} pending file(s)`);
  if (counts.removed > 0) parts.push(`drop the rows of ${counts.removed} removed file(s)`);
  if (counts.partitionDue) {
    parts.push(
      parts.length === 0
        ? "day-close merge: the day's Parquet files become one sorted file (or an unfinished commit is finished)"
        : "with the day-close merge",
    );
  }
  return parts.join("; ");
}

export function buildReport(input: {
  nowMs: number;
  queues: Record<QueueName, QueueReport>;
  due: readonly DueEntry[];
  quarantined: number;
  rejected: number;
  failing: readonly PartitionState[];
}): StatusReport {
  const now = new Date(input.nowMs).toISOString();
  const byPartition = countDueFiles(input.due);
  const partitions = [...byPartition.entries()]
    .map(([label, counts]) => {
      const [day = "", district = ""] = label.split("/");
      return { day, district, ...counts, dueNow: counts.nextDueAt <= now, work: describeDueWork(counts) };
    })
    .sort((a, b) => a.day.localeCompare(b.day) || a.district.localeCompare(b.district));
  const pendingFiles = input.due.filter((e) => e.kind === "file" && e.status === FILE_STATUS.pending);
  const oldest = pendingFiles
    .map((e) => e.arrivedAt)
    .filter((a): a is string => a !== undefined)
    .sort()[0];
  return {
    now,
    queues: input.queues,
    lakeFreshness: lakeFreshness(input.due, input.nowMs),
    partitionsDueNow: partitions.filter((p) => p.dueNow).length,
    counts: {
      pending: pendingFiles.length,
      late: pendingFiles.filter((e) => e.late).length,
      removed: partitions.reduce((n, p) => n + p.removed, 0),
      quarantined: input.quarantined,
      rejected: input.rejected,
    },
    oldestPending: oldest ? { arrivedAt: oldest, ageMs: input.nowMs - Date.parse(oldest) } : null,
    partitions,
    failing: input.failing.flatMap((p) => (p.failing ? [{ ...p.partition, ...p.failing }] : [])),
  };
}

const QUEUE_LABELS: Record<QueueName, string> = {
  ingest: "ingest",
  ingestDlq: "ingest DLQ",
  compaction: "compaction",
  compactionDlq: "compaction DLQ",
};

function printHuman(report: StatusReport & { typeLedger?: TypeLedgerStatus }): void {
  process.stdout.write("Queues\n");
  printTable(
    (Object.keys(QUEUE_LABELS) as QueueName[]).map((name) => {
      const q = report.queues[name];
      return q.configured
        ? {
            queue: QUEUE_LABELS[name],
            waiting: q.visible,
            "in flight": q.inFlight,
            delayed: q.delayed,
            url: q.queueUrl,
          }
        : { queue: QUEUE_LABELS[name], url: q.error ? `error: ${q.error}` : "(not configured)" };
    }),
    ["queue", "waiting", "in flight", "delayed", "url"],
  );
  process.stdout.write("\nManifest\n");
  const age = report.oldestPending
    ? `${formatAge(report.oldestPending.ageMs)} (${report.oldestPending.arrivedAt})`
    : "";
  const freshness = report.lakeFreshness;
  printTable([
    {
      "lake freshness": freshness.overdueFiles === 0 ? "0 (nothing overdue)" : formatAge(freshness.ageMs),
      overdue: freshness.overdueFiles,
      "due now": report.partitionsDueNow,
      pending: report.counts.pending,
      late: report.counts.late,
      removed: report.counts.removed,
      quarantined: report.counts.quarantined,
      rejected: report.counts.rejected,
      "oldest pending": age,
    },
  ]);
  if (report.typeLedger) {
    process.stdout.write("\nType ledger\n");
    printTable([
      {
        version: report.typeLedger.version,
        columns: report.typeLedger.columns,
        "partitions to rewrite": report.typeLedger.partitionsToRewrite,
      },
    ]);
  }
  process.stdout.write("\nPartitions with due work\n");
  printTable(
    report.partitions.map((p) => ({
      day: p.day,
      district: p.district,
      pending: p.pending,
      late: p.late,
      removed: p.removed,
      "next due": p.nextDueAt,
      "due now": p.dueNow ? "yes" : "",
      work: p.work,
    })),
  );
  if (report.failing.length === 0) return;
  process.stdout.write("\nFailing partitions (`compacter retry --failing` retries them now)\n");
  printTable(
    report.failing.map((f) => ({
      day: f.day,
      district: f.district,
      attempts: f.attempts,
      since: f.since,
      "next retry": f.retryable ? f.nextRetryAt : `${f.nextRetryAt} (not retryable; in the DLQ)`,
      "last error": f.lastError.length > 120 ? `${f.lastError.slice(0, 119)}…` : f.lastError,
    })),
  );
}

/** The lake-wide type ledger, and how many partitions' files are still behind it (rewritten in the background). */
export interface TypeLedgerStatus {
  readonly version: number;
  readonly columns: number;
  readonly partitionsToRewrite: number;
}

/** Rounded to a unit a person reads at a glance. */
function formatAge(ms: number): string {
  const units = [86_400_000, 3_600_000, 60_000, 1000];
  const unit = units.find((u) => ms >= u) ?? 1000;
  return formatDuration(Math.max(unit, Math.floor(ms / unit) * unit));
}
