import type { ServerResponse } from "node:http";
import { Writable } from "node:stream";
import type { AwsClients } from "@compacter/aws";
import type { CompacterConfig } from "@compacter/core";
import { type QueryLakeResult, queryLake } from "../query/queryLake.js";
import type { OutputFormat } from "../query/resultWriters.js";
import { type QueryScope, scopeFromFlags } from "../query/scope.js";
import { BadRequest, checkDay } from "./http.js";

/**
 * The unit's-day and SQL pages: every answer is `compacter query` — the manifest's
 * snapshot, the local cache, the `telemetry` view — with the page's day/district as the
 * query's --day/--district. Queries run one at a time: each opens a DuckDB instance with
 * the full `memoryLimit`, and two at once could need twice that.
 */
export interface LakeContext {
  readonly config: CompacterConfig;
  readonly clients: AwsClients;
}

/** A JSON answer larger than this is refused: the page would choke on it; CSV download streams. */
const MAX_JSON_BYTES = 32 << 20;

/** Track columns of the simulated fleet (and the seed's devices); each can be overridden per request. */
const TRACK_DEFAULTS = { lat: "gps_lat", lon: "gps_lon", speed: "speed_kmh" } as const;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NUMERIC_TYPE =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL)/;

export class LakeQueries {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly ctx: LakeContext) {}

  /** Units of a day and district (rows each), and the numeric columns a chart can show. */
  async units(params: URLSearchParams, signal?: AbortSignal) {
    const scope = dayScope(params);
    const described = await this.json("DESCRIBE telemetry", scope, {}, signal);
    const columns = described.rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
    if (!columns.some((c) => c.name === "unitno"))
      return { units: [], sensors: [], files: described.stats.files };
    const units = await this.json(
      "SELECT unitno, count(*) AS n FROM telemetry WHERE unitno IS NOT NULL GROUP BY ALL ORDER BY unitno",
      scope,
      {},
      signal,
    );
    return {
      units: units.rows.map((r) => ({ unit: String(r.unitno), rows: Number(r.n) })),
      sensors: columns.filter((c) => NUMERIC_TYPE.test(c.type) && IDENTIFIER.test(c.name)).map((c) => c.name),
      files: described.stats.files,
    };
  }

  /** One unit's day, column by column (what the map, the charts and the table draw). */
  async unitDay(params: URLSearchParams, signal?: AbortSignal) {
    const scope = dayScope(params);
    const unit = params.get("unit") ?? "";
    if (unit === "") throw new BadRequest("say which unit");
    const track = {
      lat: identifier("lat", params.get("lat") || TRACK_DEFAULTS.lat),
      lon: identifier("lon", params.get("lon") || TRACK_DEFAULTS.lon),
      speed: identifier("speed", params.get("speed") || TRACK_DEFAULTS.speed),
    };
    const sensors = [
      ...new Set(
        (params.get("sensors") ?? "")
          .split(",")
          .filter(Boolean)
          .map((s) => identifier("sensors", s)),
      ),
    ];
    // Names passed the identifier check and are quoted; the unit is a bound parameter.
    const sql =
      `SELECT epoch(event_time) AS t, "${track.lat}" AS lat, "${track.lon}" AS lon, "${track.speed}" AS speed` +
      sensors.map((s, i) => `, "${s}" AS s${i}`).join("") +
      " FROM telemetry WHERE unitno = $unit AND event_time IS NOT NULL ORDER BY event_time";
    const result = await this.json(sql, scope, { unit }, signal);
    const column = (name: string) => result.rows.map((r) => (r[name] ?? null) as number | null);
    return {
      unit,
      rows: result.rows.length,
      t: column("t"),
      lat: column("lat"),
      lon: column("lon"),
      speed: column("speed"),
      series: Object.fromEntries(sensors.map((s, i) => [s, column(`s${i}`)])),
      track,
      stats: result.stats,
      seconds: result.seconds,
    };
  }

  /** The SQL page: results as JSON rows for the table. */
  async sql(body: unknown, signal?: AbortSignal) {
    const { sql, scope } = sqlRequest(body);
    const result = await this.json(sql, scope, {}, signal);
    return {
      columns: result.columns,
      rows: result.rows.map((r) => result.columns.map((c) => r[c] ?? null)),
      stats: result.stats,
      seconds: result.seconds,
    };
  }

  /**
   * The SQL page's CSV download, streamed into the response as DuckDB produces it. The
   * status line waits for the first byte, so an error in the SQL still becomes a JSON 400.
   */
  async sqlCsv(body: unknown, res: ServerResponse, signal?: AbortSignal): Promise<void> {
    const { sql, scope } = sqlRequest(body);
    const out = new Writable({
      write(chunk, _encoding, done) {
        if (!res.headersSent) {
          res.writeHead(200, {
            "content-type": "text/csv; charset=utf-8",
            "content-disposition": 'attachment; filename="telemetry.csv"',
            "cache-control": "no-store",
          });
        }
        if (res.write(chunk)) done();
        else res.once("drain", () => done());
      },
    });
    await this.run(sql, scope, "csv", out, {}, signal);
    if (!res.headersSent) res.writeHead(200, { "content-type": "text/csv; charset=utf-8" });
    res.end();
  }

  private async json(
    sql: string,
    scope: QueryScope,
    params: Record<string, string> = {},
    signal?: AbortSignal,
  ) {
    let text = "";
    let overflow = false;
    const aborter = new AbortController();
    const out = new Writable({
      write(chunk, _encoding, done) {
        if (text.length + chunk.length > MAX_JSON_BYTES) {
          overflow = true;
          aborter.abort();
        } else text += chunk;
        done();
      },
    });
    let result: QueryLakeResult;
    try {
      const signals = signal ? [aborter.signal, signal] : [aborter.signal];
      result = await this.run(sql, scope, "json", out, params, AbortSignal.any(signals));
    } catch (error) {
      if (overflow) throw new BadRequest("the result is over 32 MiB: add a LIMIT, or download it as CSV");
      throw error;
    }
    const rows = JSON.parse(text || "[]") as Record<string, unknown>[];
    return { rows, columns: result.columns, stats: result.snapshot, seconds: result.seconds };
  }

  private run(
    sql: string,
    scope: QueryScope,
    format: OutputFormat,
    out: Writable,
    params: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<QueryLakeResult> {
    const next = this.queue.then(() =>
      queryLake({
        config: this.ctx.config,
        clients: this.ctx.clients,
        scope,
        request: { sql, params, format, out },
        ...(signal ? { signal } : {}),
      }),
    );
    this.queue = next.catch(() => undefined);
    return next;
  }
}

function dayScope(params: URLSearchParams): QueryScope {
  const day = params.get("day") ?? "";
  const district = params.get("district") ?? "";
  checkDay("day", day);
  if (district === "") throw new BadRequest("say which district");
  return { days: { from: day, to: day }, district };
}

function identifier(what: string, name: string): string {
  if (!IDENTIFIER.test(name)) throw new BadRequest(`${what}: '${name}' is not a plain column name`);
  return name;
}

/** The query box's scope, checked exactly as `compacter query`'s --day/--from/--to/--district. */
function sqlRequest(body: unknown): { sql: string; scope: QueryScope } {
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b.sql !== "string" || b.sql.trim() === "") throw new BadRequest("type some SQL");
  const text = (name: string) =>
    typeof b[name] === "string" && b[name] !== "" ? (b[name] as string) : undefined;
  const flags = { day: text("day"), from: text("from"), to: text("to"), district: text("district") };
  const defined = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  return { sql: b.sql, scope: scopeFromFlags(defined) };
}
