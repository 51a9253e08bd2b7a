import { open } from "node:fs/promises";
import type { EngineJob, LakeInput } from "@compacter/core";
import type { DuckDBConnection } from "@duckdb/node-api";
import { EngineInvariantError } from "../errors.js";

/** Parquet ends with the footer's length (4 bytes, little-endian) and the magic "PAR1". */
const TAIL_BYTES = 8;
const MAGIC = "PAR1";

/**
 * Fetches of each lake input that is not downloaded yet (LakeInput.fetch) only what a
 * sliced job reads: the magic, the footer, and the row groups whose device_id min/max meet
 * the job's device range. Everything else stays a hole in a sparse file: DuckDB skips
 * those row groups by the same statistics (a plain comparison filter on device_id, see
 * lakeRangeFilter), so it never reads a hole. A row group without statistics is fetched.
 */
export async function fetchLakeParts(connection: DuckDBConnection, job: EngineJob): Promise<void> {
  for (const input of job.lake) {
    if (!input.fetch) continue;
    const { sizeBytes } = input.fetch;
    if (sizeBytes < MAGIC.length + TAIL_BYTES) {
      throw new EngineInvariantError(`${input.lakeKey} is ${sizeBytes} bytes: too small to be Parquet`);
    }
    await input.fetch.ranges([
      { start: 0, end: MAGIC.length },
      { start: sizeBytes - TAIL_BYTES, end: sizeBytes },
    ]);
    const footerBytes = await readFooterLength(input, sizeBytes);
    await input.fetch.ranges([{ start: sizeBytes - TAIL_BYTES - footerBytes, end: sizeBytes - TAIL_BYTES }]);
    await input.fetch.ranges(await rowGroupsInRange(connection, input, job));
  }
}

async function readFooterLength(input: LakeInput, sizeBytes: number): Promise<number> {
  const file = await open(input.localPath, "r");
  try {
    const tail = Buffer.alloc(TAIL_BYTES);
    await file.read(tail, 0, TAIL_BYTES, sizeBytes - TAIL_BYTES);
    if (tail.toString("latin1", 4) !== MAGIC) {
      throw new EngineInvariantError(`${input.lakeKey} does not end like a Parquet file`);
    }
    const length = tail.readUInt32LE(0);
    if (length + TAIL_BYTES + MAGIC.length > sizeBytes) {
      throw new EngineInvariantError(`${input.lakeKey}: footer of ${length} bytes does not fit the file`);
    }
    return length;
  } finally {
    await file.close();
  }
}

/** Byte ranges of the row groups that may hold rows of the job's device range, adjacent ones joined. */
async function rowGroupsInRange(
  connection: DuckDBConnection,
  input: LakeInput,
  job: EngineJob,
): Promise<{ start: number; end: number }[]> {
  const reader = await connection.runAndReadAll(
    `SELECT row_group_id, path_in_schema, stats_min_value, stats_max_value,
       data_page_offset, dictionary_page_offset, total_compressed_size
     FROM parquet_metadata($path)`,
    { path: input.localPath },
  );
  const groups = new Map<number, { start: number; end: number; min?: string; max?: string }>();
  for (const row of reader.getRowObjectsJson()) {
    const id = Number(row.row_group_id);
    const dictionary =
      row.dictionary_page_offset == null ? Number.POSITIVE_INFINITY : Number(row.dictionary_page_offset);
    const start = Math.min(Number(row.data_page_offset), dictionary);
    const group = groups.get(id) ?? { start: Number.POSITIVE_INFINITY, end: 0 };
    group.start = Math.min(group.start, start);
    group.end = Math.max(group.end, start + Number(row.total_compressed_size));
    if (row.path_in_schema === "device_id") {
      if (row.stats_min_value != null) group.min = String(row.stats_min_value);
      if (row.stats_max_value != null) group.max = String(row.stats_max_value);
    }
    groups.set(id, group);
  }
  const range = job.deviceRange;
  const wanted = [...groups.values()]
    .filter((g) => {
      if (g.min === undefined || g.max === undefined) return true;
      // Skipped only where DuckDB skips it too, judging by the prefixes it keeps.
      if (range?.fromDevice !== undefined && comparePrefixes(g.max, range.fromDevice) < 0) return false;
      if (range?.toDevice !== undefined && comparePrefixes(g.min, range.toDevice) > 0) return false;
      return true;
    })
    .sort((a, b) => a.start - b.start);
  const joined: { start: number; end: number }[] = [];
  for (const g of wanted) {
    const last = joined.at(-1);
    if (last && g.start <= last.end) last.end = Math.max(last.end, g.end);
    else joined.push({ start: g.start, end: g.end });
  }
  return joined;
}

/**
 * DuckDB keeps only the first 8 bytes of a string column's min and max when it decides
 * which row groups a filter skips (StringStats), so a row group whose min shares those
 * bytes with the range's end is read even when the whole value is past it (device ids
 * like SLS30I020 and SLS30I021 do). Its bytes must be here then, or DuckDB reads a hole
 * ("TProtocolException: Invalid data"). Comparing the same prefixes fetches every row
 * group DuckDB may read, and at most a neighbour more.
 */
const DUCKDB_STATS_PREFIX_BYTES = 8;

/** Byte order of the two values' first 8 UTF-8 bytes (as compareUtf8 orders whole values). */
function comparePrefixes(a: string, b: string): number {
  const prefix = (value: string) => Buffer.from(value, "utf8").subarray(0, DUCKDB_STATS_PREFIX_BYTES);
  return Buffer.compare(prefix(a), prefix(b));
}
