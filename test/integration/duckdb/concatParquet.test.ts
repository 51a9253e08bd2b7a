import { open, readFile, stat } from "node:fs/promises";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { concatParquet } from "../../../packages/duckdb/src/parquet/concatParquet.js";
import { decodeStruct, encodeStruct } from "../../../packages/duckdb/src/parquet/thriftCompact.js";
import { queryParquet, Workspace } from "./fixtures.js";

let ws: Workspace;

beforeAll(() => {
  ws = new Workspace();
});

afterAll(() => ws.remove());

/** Writes `rows` telemetry-like rows of devices [from, to) with DuckDB, as the engine would. */
async function part(
  name: string,
  fromDevice: number,
  toDevice: number,
  extraColumn = false,
): Promise<string> {
  const path = ws.path(`${name}.parquet`);
  const instance = await DuckDBInstance.create(":memory:", { threads: "1" });
  try {
    const connection = await instance.connect();
    await connection.run(
      `COPY (SELECT printf('D%03d', d) AS device_id, printf('HT%03d', d) AS unitno,
               make_timestamp(1765472400000000 + s * 1000000) AS event_time,
               (d * 1000 + s) * 0.5 AS speed, CASE WHEN s % 7 = 0 THEN NULL ELSE 'OK' END AS status
               ${extraColumn ? ", 1 AS extra" : ""}
             FROM range(${fromDevice}, ${toDevice}) t(d), range(0, 3000) u(s) ORDER BY d, s)
       TO '${path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 4096, KV_METADATA {origin: 'part ${name}'})`,
    );
    connection.closeSync();
  } finally {
    instance.closeSync();
  }
  return path;
}

async function footerBytes(path: string): Promise<Buffer> {
  const size = (await stat(path)).size;
  const file = await open(path, "r");
  try {
    const tail = Buffer.alloc(8);
    await file.read(tail, 0, 8, size - 8);
    const length = tail.readUInt32LE(0);
    const footer = Buffer.alloc(length);
    await file.read(footer, 0, length, size - 8 - length);
    return footer;
  } finally {
    await file.close();
  }
}

describe("Thrift compact codec", () => {
  it("re-encodes a footer DuckDB wrote byte for byte", async () => {
    const footer = await footerBytes(await part("codec", 0, 3));
    expect(Buffer.from(encodeStruct(decodeStruct(footer))).equals(footer)).toBe(true);
  });
});

describe("concatParquet", () => {
  it("joins parts into one file every reader sees as the parts' rows, in order, with statistics and bloom filters", async () => {
    const parts = [await part("a", 0, 3), await part("b", 3, 5), await part("c", 5, 9)];
    const target = ws.path("joined.parquet");
    const joined = await concatParquet(parts, target);
    expect(joined).toEqual({ rows: 9 * 3000, bytes: (await stat(target)).size });

    // The same rows as the parts read one after another, in the same order.
    const fingerprint = async (files: readonly string[]) =>
      queryParquet(
        files,
        `SELECT count(*)::INTEGER AS n, count(DISTINCT device_id)::INTEGER AS devices,
           sum(speed) AS speed, count(status)::INTEGER AS statuses,
           bool_and(ordered) AS ordered
         FROM (SELECT *, coalesce(lag(device_id) OVER w <= device_id, true) AS ordered
               FROM read_parquet($files, file_row_number = true, filename = true)
               WINDOW w AS (ORDER BY filename, file_row_number))`,
      );
    const whole = await fingerprint([target]);
    expect(whole).toEqual(await fingerprint(parts));
    expect(whole[0]).toMatchObject({ n: 27_000, devices: 9, ordered: true });

    // Row groups of every part, offsets moved: each readable, with its own statistics.
    const groups = await queryParquet(
      [target],
      `SELECT row_group_id, min(stats_min) FILTER (WHERE path_in_schema = 'device_id') AS first,
         max(stats_max) FILTER (WHERE path_in_schema = 'device_id') AS last,
         bool_and(bloom_filter_offset IS NOT NULL OR path_in_schema <> 'unitno') AS bloom
       FROM parquet_metadata($files[1]) GROUP BY row_group_id ORDER BY row_group_id`,
    );
    const partGroups = await queryParquet(
      parts,
      "SELECT count(DISTINCT (file_name, row_group_id))::INTEGER AS n FROM parquet_metadata($files)",
    );
    expect(groups).toHaveLength(partGroups[0]!.n as number);
    expect(groups.at(-1)).toMatchObject({ last: "D008", bloom: true });

    // A filtered read (statistics and bloom filters in play) finds exactly one device's rows.
    const one = await queryParquet(
      [target],
      "SELECT count(*)::INTEGER AS n FROM {files} WHERE unitno = 'HT004'",
    );
    expect(one[0]!.n).toBe(3000);
    // The first part's key-value metadata travels with the joined file.
    const kv = await queryParquet([target], "SELECT value::VARCHAR AS v FROM parquet_kv_metadata($files[1])");
    expect(kv).toEqual([{ v: "part a" }]);
  });

  it("refuses parts whose schemas differ, naming the part", async () => {
    const parts = [await part("s1", 0, 1), await part("s2", 1, 2, true)];
    await expect(concatParquet(parts, ws.path("mixed.parquet"))).rejects.toThrow(
      /s2\.parquet: its schema differs/,
    );
  });

  it("refuses a file that is not Parquet", async () => {
    const bogus = ws.bytesFile("bogus.parquet", "PAR1 but not really");
    await expect(concatParquet([bogus], ws.path("bogus-out.parquet"))).rejects.toThrow(/not a Parquet file/);
    expect((await readFile(bogus, "utf8")).length).toBeGreaterThan(0);
  });
});
