import {
  DuckDBInstance,
  type DuckDBType,
  type DuckDBValue,
  LIST,
  listValue,
  VARCHAR,
} from "@duckdb/node-api";
import { startMeasure } from "./measure.js";
import type { QueryResult, QueryTask } from "./types.js";

/**
 * Analyst queries in a fresh DuckDB (defaults: every core, 80% of RAM). `SELECT *` answers
 * are materialised inside DuckDB (a temp table), not converted to JavaScript: what is timed
 * is the engine reading and filtering, as a DuckDB shell user would see it.
 */
export async function runQueryTask(task: QueryTask): Promise<QueryResult> {
  const instance = await DuckDBInstance.create(":memory:", { autoinstall_known_extensions: "false" });
  const connection = await instance.connect();
  const measure = startMeasure();
  const queries: QueryResult["queries"][number][] = [];
  try {
    for (const query of task.queries) {
      const params: Record<string, DuckDBValue> = {};
      const types: Record<string, DuckDBType> = {};
      for (const [name, value] of Object.entries(query.params ?? {})) {
        params[name] = typeof value === "string" ? value : listValue([...value]);
        types[name] = typeof value === "string" ? VARCHAR : LIST(VARCHAR);
      }
      const ms: number[] = [];
      let rows = 0;
      for (let run = 0; run < task.runs; run++) {
        const started = performance.now();
        await connection.run(`CREATE OR REPLACE TEMP TABLE bench_answer AS ${query.sql}`, params, types);
        ms.push(performance.now() - started);
        const counted = await connection.runAndReadAll("SELECT count(*) FROM bench_answer");
        rows = Number(counted.getRowsJson()[0]?.[0] ?? 0);
      }
      queries.push({ name: query.name, ms, rows });
    }
    return { measure: measure.stop(), queries };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
