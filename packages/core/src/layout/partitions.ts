import { parseIsoDay } from "../time/zones.js";

/** One Hive partition of the lake: a day (in partitionTimeZone) of one district. */
export interface PartitionId {
  /** "YYYY-MM-DD" — the `hiveperiod` value. */
  readonly day: string;
  readonly district: string;
}

/** Human form used in logs and messages: "hiveperiod=2025-12-12/district=BRCB". */
export function partitionLabel(p: PartitionId): string {
  return `hiveperiod=${p.day}/district=${p.district}`;
}

export function samePartition(a: PartitionId, b: PartitionId): boolean {
  return a.day === b.day && a.district === b.district;
}

/** The lake folder of a partition, with the lake prefix. Ends with "/". */
export function lakePartitionPrefix(lakePrefix: string, p: PartitionId): string {
  return `${lakePrefix}${partitionLabel(p)}/`;
}

/** A published Parquet file of a partition: `…/data_{uid}.parquet`. */
export function lakeFileKey(lakePrefix: string, p: PartitionId, uid: string): string {
  return `${lakePartitionPrefix(lakePrefix, p)}data_${uid}.parquet`;
}

const LAKE_KEY_PATTERN = /^hiveperiod=(\d{4}-\d{2}-\d{2})\/district=([^/]+)\/data_([^/]+)\.parquet$/;

/** Reads a lake key back into its partition, or undefined if it is not one of ours. */
export function parseLakeFileKey(
  lakePrefix: string,
  key: string,
): (PartitionId & { uid: string }) | undefined {
  if (!key.startsWith(lakePrefix)) return undefined;
  const match = LAKE_KEY_PATTERN.exec(key.slice(lakePrefix.length));
  if (!match) return undefined;
  const [, day = "", district = "", uid = ""] = match;
  try {
    parseIsoDay(day);
  } catch {
    return undefined;
  }
  return { day, district, uid };
}
