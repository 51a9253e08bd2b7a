import { createHash } from "node:crypto";
import type {
  DueEntry,
  FileStatus,
  GenerationRecord,
  PartitionId,
  PartitionState,
  RawFileRecord,
  RejectedFileRecord,
  TypeLedger,
} from "@compacter/core";

/**
 * The manifest's item keys and the mapping between items and the core's records
 * (layout: packages/core/src/manifest/tableSpec.ts). Operators read these items with
 * plain `aws dynamodb query` (docs/manifest.md), so attribute names are the record's own.
 */
export const ITEM_KIND = {
  file: "file",
  rejected: "rejected",
  partition: "partition",
  intent: "intent",
  history: "history",
  schema: "schema",
  ledger: "ledger",
} as const;

export const SK = {
  state: "STATE",
  filePrefix: "F#",
  intentPrefix: "C#",
  historyPrefix: "G#",
  schema: "CURRENT",
} as const;

export const REJECTED_PK = "REJECTED";
/** The lake-wide type ledger: one item, `pk = "LEDGER"`, `sk = "CURRENT"`. */
export const LEDGER_PK = "LEDGER";
export const DUE_PK = "DUE";
export const PROBLEM_PK = "PROBLEM";

export function partitionPk(p: PartitionId): string {
  return `P#${p.day}#${p.district}`;
}

export function historyPk(p: PartitionId): string {
  return `H#${p.day}#${p.district}`;
}

export function schemaPk(district: string): string {
  return `SCHEMA#${district}`;
}

/** "P#2025-12-12#BRCB" / "H#…" → the partition. Districts never contain '#' (rawKeys.ts). */
export function partitionOfPk(pk: string): PartitionId {
  const match = /^[PH]#(\d{4}-\d{2}-\d{2})#(.+)$/.exec(pk);
  if (!match) throw new Error(`manifest item key '${pk}' is not a partition key`);
  return { day: match[1] ?? "", district: match[2] ?? "" };
}

/**
 * DynamoDB caps a sort key at 1024 bytes and an S3 key may be that long itself. Real raw
 * keys are far shorter; a pathological (rejected) one keeps a readable prefix and a hash,
 * so the same key always maps to the same item.
 */
const MAX_KEY_BYTES_IN_SORT_KEY = 900;

function boundedKey(key: string): string {
  if (Buffer.byteLength(key) <= MAX_KEY_BYTES_IN_SORT_KEY) return key;
  let prefix = key.slice(0, 400);
  while (Buffer.byteLength(prefix) > 400) prefix = prefix.slice(0, -1);
  return `${prefix}…#${createHash("sha256").update(key).digest("hex")}`;
}

export function fileSk(key: string): string {
  return `${SK.filePrefix}${boundedKey(key)}`;
}

export function intentSk(attemptId: string): string {
  return `${SK.intentPrefix}${attemptId}`;
}

export function historySk(generation: number): string {
  return `${SK.historyPrefix}${String(generation).padStart(10, "0")}`;
}

/** Sort key of the problems index: by status, then time, newest last (queried in reverse). */
export function problemSk(status: "quarantined" | "rejected", at: string, key: string): string {
  return `${status}#${at}#${boundedKey(key)}`;
}

type Item = Record<string, unknown>;

const KEY_ATTRIBUTES = ["pk", "sk", "kind", "duePk", "problemPk", "problemSk"] as const;

function withoutKeys(item: Item): Item {
  const out: Item = { ...item };
  for (const attribute of KEY_ATTRIBUTES) delete out[attribute];
  return out;
}

export function toRawFileRecord(item: Item): RawFileRecord {
  const partition = partitionOfPk(String(item.pk));
  return {
    key: String(item.key),
    partition,
    deviceId: String(item.deviceId ?? ""),
    hourKey: String(item.hourKey ?? ""),
    hourStart: String(item.hourStart ?? ""),
    status: item.status as FileStatus,
    eTag: String(item.eTag ?? ""),
    size: Number(item.size ?? 0),
    sequencer: String(item.sequencer ?? ""),
    arrivedAt: String(item.arrivedAt ?? ""),
    late: item.late === true,
    versions: Number(item.versions ?? 0),
    updatedAt: String(item.updatedAt ?? ""),
    ...optional(item, "dueAt", String),
    ...optional(item, "compactedETag", String),
    ...optional(item, "compactedGeneration", Number),
    ...optional(item, "error", String),
    ...optional(item, "rows", Number),
    ...optional(item, "badLines", Number),
    ...optional(item, "badLineReasons", String),
  };
}

export function toRejectedFileRecord(item: Item): RejectedFileRecord {
  return {
    key: String(item.key),
    status: "rejected",
    reason: String(item.reason ?? ""),
    eTag: String(item.eTag ?? ""),
    size: Number(item.size ?? 0),
    sequencer: String(item.sequencer ?? ""),
    arrivedAt: String(item.arrivedAt ?? ""),
    updatedAt: String(item.updatedAt ?? ""),
  };
}

export function toPartitionState(item: Item): PartitionState {
  return {
    partition: { day: String(item.partitionDay), district: String(item.partitionDistrict) },
    generation: Number(item.generation ?? 0),
    files: (item.files as PartitionState["files"] | undefined) ?? [],
    rows: Number(item.rows ?? 0),
    bytes: Number(item.bytes ?? 0),
    ...optional(item, "lastCompactedAt", String),
    ...optional(item, "lastPlan", (v) => v as NonNullable<PartitionState["lastPlan"]>),
    ...optional(item, "inflight", (v) => v as NonNullable<PartitionState["inflight"]>),
    ...optional(item, "leaseOwner", String),
    ...optional(item, "leaseExpiresAt", Number),
    ...optional(item, "dueAt", String),
    ...optional(item, "queuedUntil", Number),
    ...optional(item, "failing", (v) => v as NonNullable<PartitionState["failing"]>),
    ...optional(item, "narrowColumns", (v) => v as NonNullable<PartitionState["narrowColumns"]>),
  };
}

export function toTypeLedger(item: Item): TypeLedger {
  return {
    version: Number(item.version ?? 0),
    columns: (item.columns as TypeLedger["columns"] | undefined) ?? [],
    districts: (item.districts as TypeLedger["districts"] | undefined) ?? [],
    ...optional(item, "firstDay", String),
    updatedAt: String(item.updatedAt ?? ""),
  };
}

export function toGenerationRecord(item: Item): GenerationRecord {
  return withoutKeys(item) as unknown as GenerationRecord;
}

export function toDueEntry(item: Item): DueEntry {
  const partition = partitionOfPk(String(item.pk));
  if (item.kind === ITEM_KIND.partition) return { partition, kind: "partition", dueAt: String(item.dueAt) };
  return {
    partition,
    kind: "file",
    dueAt: String(item.dueAt),
    key: String(item.key),
    status: item.status as FileStatus,
    late: item.late === true,
    ...optional(item, "arrivedAt", String),
  };
}

/** `{ [name]: convert(value) }` when the item has the attribute, `{}` otherwise (exact optional fields). */
function optional<K extends string, T>(
  item: Item,
  name: K,
  convert: (value: unknown) => T,
): { [P in K]?: T } {
  const value = item[name];
  return (value === undefined || value === null ? {} : { [name]: convert(value) }) as { [P in K]?: T };
}
