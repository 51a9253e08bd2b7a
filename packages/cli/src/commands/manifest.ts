import type { AwsClients, DynamoManifestStore } from "@compacter/aws";
import {
  type CompacterConfig,
  type DueEntry,
  FILE_STATUS,
  type FileStatus,
  formatBytes,
  type PartitionState,
  parseIsoDay,
  type RawFileRecord,
  type RejectedFileRecord,
} from "@compacter/core";
import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { printJson, printTable, type Row } from "../output.js";
import { addSettingFlags, configFromFlags } from "../settingsFlags.js";

/**
 * `compacter manifest …`: the manifest's access patterns (docs/manifest.md), each one
 * Query, printed as a table or `--json`. Read-only.
 */
export function registerManifest(program: Command): Command {
  const manifest = program
    .command("manifest")
    .description("Inspect the manifest: partitions, their raw files, compaction history, problems");

  addSettingFlags(
    manifest
      .command("partitions")
      .description("Partitions of a day (all districts), or of a district over a date range")
      .option("--day <YYYY-MM-DD>", "every district's partition of this day")
      .option("--district <name>", "one district (with --from/--to)")
      .option("--from <YYYY-MM-DD>", "first day of the range (inclusive)")
      .option("--to <YYYY-MM-DD>", "last day of the range (inclusive; default: --from)")
      .option("--json", "print JSON"),
    ["manifestTable"],
  ).action(async (flags: Flags) => {
    await withManifest(flags, async ({ store }) => {
      const partitions = await listPartitions(store, flags);
      const pending = countDueFiles(await store.listDue());
      if (flags.json) {
        printJson(
          partitions.map((p) => ({ ...p, pendingFiles: pending.get(key(p.partition))?.pending ?? 0 })),
        );
        return;
      }
      printTable(
        partitions.map((p) => ({
          day: p.partition.day,
          district: p.partition.district,
          generation: p.generation,
          files: p.files.length,
          rows: p.rows,
          bytes: formatBytes(p.bytes),
          pending: pending.get(key(p.partition))?.pending ?? 0,
          "last plan": p.lastPlan,
          "last compacted": p.lastCompactedAt,
          due: p.dueAt,
          "in flight": p.inflight?.attemptId,
          lease: p.leaseOwner ? `${p.leaseOwner} until ${iso(p.leaseExpiresAt)}` : undefined,
        })),
      );
    });
  });

  addSettingFlags(
    manifest
      .command("files")
      .description("The raw files of a partition with their status, eTag, size, hour, arrival and late flag")
      .requiredOption("--day <YYYY-MM-DD>", "the partition's day (hiveperiod)")
      .requiredOption("--district <name>", "the partition's district")
      .option("--status <status>", `only files in this status (${Object.values(FILE_STATUS).join(", ")})`)
      .option("--json", "print JSON"),
    ["manifestTable"],
  ).action(async (flags: Flags) => {
    const partition = partitionFlags(flags);
    const status = statusFlag(flags.status);
    await withManifest(flags, async ({ store }) => {
      const files = (await store.listFiles(partition, status)).sort((a, b) => a.key.localeCompare(b.key));
      if (flags.json) return printJson(files);
      printTable(files.map(fileRow));
    });
  });

  addSettingFlags(
    manifest
      .command("history")
      .description("A partition's compaction history: one line per generation")
      .requiredOption("--day <YYYY-MM-DD>", "the partition's day (hiveperiod)")
      .requiredOption("--district <name>", "the partition's district")
      .option("--json", "print JSON"),
    ["manifestTable"],
  ).action(async (flags: Flags) => {
    const partition = partitionFlags(flags);
    await withManifest(flags, async ({ store }) => {
      const history = await store.listHistory(partition);
      if (flags.json) return printJson(history);
      printTable(
        history.map((g) => ({
          generation: g.generation,
          plan: g.plan,
          committed: g.committedAt,
          "duration ms": g.durationMs,
          inputs: g.inputs.length,
          late: g.lateFiles,
          quarantined: g.inputs.filter((f) => f.outcome === "quarantined").length,
          outputs: g.outputs.length,
          "rows in": g.rowsIn,
          "rows out": g.rowsOut,
          "rows dropped": g.rowsDropped,
          "bytes out": formatBytes(g.bytesOut),
          "bad lines": g.badLines,
          nulled: Object.values(g.nulledValues).reduce((n, v) => n + v, 0),
          // Keys stored under an escaped column name; `--json` lists key → column.
          "renamed keys": g.renamedFields?.length ?? 0,
          reason: g.reason,
        })),
      );
    });
  });

  addSettingFlags(
    manifest
      .command("problems")
      .description(
        "Quarantined files (unreadable, with the error) and rejected keys (with the reason), newest first",
      )
      .option("--status <status>", "quarantined or rejected (default: both)")
      .option("--json", "print JSON"),
    ["manifestTable"],
  ).action(async (flags: Flags) => {
    const status = flags.status;
    if (status !== undefined && status !== "quarantined" && status !== "rejected") {
      throw new UsageError(`--status must be quarantined or rejected, not '${status}'`);
    }
    await withManifest(flags, async ({ store }) => {
      const problems = await store.listProblems(status);
      if (flags.json) return printJson(problems);
      printTable(problems.map(problemRow));
    });
  });

  return manifest;
}

interface Flags extends Record<string, unknown> {
  readonly day?: string;
  readonly district?: string;
  readonly from?: string;
  readonly to?: string;
  readonly status?: string;
  readonly json?: boolean;
}

export interface ManifestContext {
  readonly config: CompacterConfig;
  readonly clients: AwsClients;
  readonly store: DynamoManifestStore;
}

/** Config from flags and environment, clients from the SDK's endpoint conventions; closed afterwards. */
export async function withManifest<T>(
  flags: Record<string, unknown>,
  run: (context: ManifestContext) => Promise<T>,
): Promise<T> {
  const config = configFromFlags(flags);
  // Loaded here, not at start-up: the AWS SDK costs every other command time.
  const { createAwsClients, DynamoManifestStore } = await import("@compacter/aws");
  const clients = createAwsClients();
  try {
    const store = new DynamoManifestStore({ client: clients.dynamodb, tableName: config.manifestTable });
    return await run({ config, clients, store });
  } finally {
    clients.destroy();
  }
}

async function listPartitions(store: DynamoManifestStore, flags: Flags): Promise<PartitionState[]> {
  if (flags.day !== undefined) {
    if (flags.district !== undefined || flags.from !== undefined || flags.to !== undefined) {
      throw new UsageError("use either --day D, or --district X --from D1 [--to D2]");
    }
    return store.listPartitionsOfDay(dayFlag("--day", flags.day));
  }
  if (flags.district === undefined || flags.from === undefined) {
    throw new UsageError("say which partitions: --day D, or --district X --from D1 [--to D2]");
  }
  const from = dayFlag("--from", flags.from);
  const to = dayFlag("--to", flags.to ?? flags.from);
  if (to < from) throw new UsageError(`--to ${to} is before --from ${from}`);
  return store.listPartitionsOfDistrict(flags.district, from, to);
}

function partitionFlags(flags: Flags) {
  return { day: dayFlag("--day", flags.day ?? ""), district: flags.district ?? "" };
}

function dayFlag(flag: string, value: string): string {
  try {
    parseIsoDay(value);
  } catch (error) {
    throw new UsageError(`${flag}: ${(error as Error).message}`);
  }
  return value;
}

function statusFlag(value: string | undefined): FileStatus | undefined {
  if (value === undefined) return undefined;
  const statuses: readonly string[] = Object.values(FILE_STATUS);
  if (!statuses.includes(value))
    throw new UsageError(`--status must be one of ${statuses.join(", ")}, not '${value}'`);
  return value as FileStatus;
}

function fileRow(f: RawFileRecord): Row {
  return {
    key: f.key,
    status: f.status,
    hour: f.hourKey,
    size: f.size,
    eTag: f.eTag,
    arrived: f.arrivedAt,
    late: f.late ? "late" : "",
    due: f.dueAt,
    versions: f.versions,
    generation: f.compactedGeneration,
    rows: f.rows,
    "bad lines": f.badLines,
    error: f.error,
  };
}

function problemRow(p: RawFileRecord | RejectedFileRecord): Row {
  if (p.status === FILE_STATUS.rejected) {
    const r = p as RejectedFileRecord;
    return { status: r.status, key: r.key, partition: "", at: r.arrivedAt, why: r.reason };
  }
  const f = p as RawFileRecord;
  return {
    status: f.status,
    key: f.key,
    partition: `${f.partition.day}/${f.partition.district}`,
    at: f.updatedAt,
    why: f.error,
  };
}

export interface DueCounts {
  pending: number;
  late: number;
  removed: number;
  /** Earliest due time of the partition (files or the partition itself). */
  nextDueAt: string;
  /** The partition itself is due: its day-close merge, or a commit an earlier worker left unfinished. */
  partitionDue: boolean;
}

/** Groups due-index entries by partition ("day/district"). */
export function countDueFiles(entries: readonly DueEntry[]): Map<string, DueCounts> {
  const byPartition = new Map<string, DueCounts>();
  for (const entry of entries) {
    const k = key(entry.partition);
    const counts = byPartition.get(k) ?? {
      pending: 0,
      late: 0,
      removed: 0,
      nextDueAt: entry.dueAt,
      partitionDue: false,
    };
    if (entry.kind === "partition") counts.partitionDue = true;
    if (entry.dueAt < counts.nextDueAt) counts.nextDueAt = entry.dueAt;
    if (entry.kind === "file" && entry.status === FILE_STATUS.pending) {
      counts.pending += 1;
      if (entry.late) counts.late += 1;
    }
    if (entry.kind === "file" && entry.status === FILE_STATUS.removed) counts.removed += 1;
    byPartition.set(k, counts);
  }
  return byPartition;
}

function key(p: { day: string; district: string }): string {
  return `${p.day}/${p.district}`;
}

function iso(ms: number | undefined): string {
  return ms === undefined ? "" : new Date(ms).toISOString();
}
