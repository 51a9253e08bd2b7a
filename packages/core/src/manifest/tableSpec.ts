/**
 * The manifest table's physical design: one table, string keys `pk`/`sk`, four sparse
 * global secondary indexes. Plain data so the local stack, the AWS adapter and the SST
 * infra all build the same table from it.
 *
 *   item        pk                      sk
 *   file        P#{day}#{district}      F#{raw key}
 *   rejected    REJECTED                F#{raw key}
 *   partition   P#{day}#{district}      STATE
 *   intent      P#{day}#{district}      C#{attemptId}      (a commit in flight)
 *   history     H#{day}#{district}      G#{generation, 10 digits}
 *   schema      SCHEMA#{district}       CURRENT
 *
 * History has its own partition key so that reading a partition (state + files, one
 * Query of `P#…` with `sk BETWEEN "F#" AND "STATE"`) never drags a day's worth of
 * generation records along, and intents (`C#…`, sorted before `F#`) stay out of it too.
 *
 * Indexes (an item is in an index only while it carries the index's key attributes):
 *   due         duePk = "DUE", dueAt (ISO instant)    pending files; partitions with a
 *                                                     commit in flight or a merge due
 *   problems    problemPk = "PROBLEM", problemSk =    quarantined and rejected files
 *               "{status}#{at}#{key}"
 *   byDay       partitionDay, partitionDistrict       partitions of a day
 *   byDistrict  partitionDistrict, partitionDay       a district over a date range
 */
export const MANIFEST_INDEX = {
  due: "due",
  problems: "problems",
  byDay: "byDay",
  byDistrict: "byDistrict",
} as const;

export type ManifestIndexName = (typeof MANIFEST_INDEX)[keyof typeof MANIFEST_INDEX];

export interface IndexSpec {
  readonly name: ManifestIndexName;
  readonly hashKey: string;
  readonly rangeKey: string;
  /** "all", or the non-key attributes projected into the index. */
  readonly projection: "all" | readonly string[];
}

export const MANIFEST_TABLE_SPEC = {
  hashKey: "pk",
  rangeKey: "sk",
  /** Every key attribute of the table and its indexes is a string. */
  attributes: ["pk", "sk", "duePk", "dueAt", "problemPk", "problemSk", "partitionDay", "partitionDistrict"],
  indexes: [
    {
      name: MANIFEST_INDEX.due,
      hashKey: "duePk",
      rangeKey: "dueAt",
      projection: ["kind", "status", "key", "late", "arrivedAt", "eTag"],
    },
    { name: MANIFEST_INDEX.problems, hashKey: "problemPk", rangeKey: "problemSk", projection: "all" },
    { name: MANIFEST_INDEX.byDay, hashKey: "partitionDay", rangeKey: "partitionDistrict", projection: "all" },
    {
      name: MANIFEST_INDEX.byDistrict,
      hashKey: "partitionDistrict",
      rangeKey: "partitionDay",
      projection: "all",
    },
  ] satisfies IndexSpec[],
} as const;
