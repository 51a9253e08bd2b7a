import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type AwsClients, DynamoManifestStore } from "@compacter/aws";
import { type CompacterConfig, CompacterError, ConfigError } from "@compacter/core";
import { webAssets } from "@compacter/ui";
import { explainAwsError } from "../awsErrors.js";
import { UsageError } from "../errors.js";
import { QueryError } from "../query/runSql.js";
import { type HealthContext, overview, partitionDetail, problems, retry } from "./healthApi.js";
import { BadRequest, readJsonBody, refusal, sendJson } from "./http.js";
import { LakeQueries } from "./lakeApi.js";

/**
 * `compacter ui`'s web server: the page's static files and a thin JSON API over the
 * CLI's own code (status, manifest, retry, query). It listens on the loopback address
 * only — the console shows the lake to whoever can reach it, and retries files.
 */
export const CONSOLE_HOST = "127.0.0.1";

export interface ConsoleOptions {
  readonly config: CompacterConfig;
  /** Not destroyed by close(): the caller owns them. */
  readonly clients: AwsClients;
  /** 0: a free port. */
  readonly port: number;
  /**
   * A tile URL template (`https://…/{z}/{x}/{y}.png`) for the map's background. None by
   * default: tile requests would tell a tile server where the fleet drives.
   */
  readonly tiles?: string;
  /** Errors the page gets as a 500, for the operator's terminal. */
  readonly log?: (line: string) => void;
}

export interface RunningConsole {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** `signal` aborts when the browser goes away before the answer is sent (a query is interrupted). */
type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, signal: AbortSignal) => Promise<unknown>;

export async function startConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const { config, clients } = options;
  const store = new DynamoManifestStore({ client: clients.dynamodb, tableName: config.manifestTable });
  const health: HealthContext = { config, clients, store };
  const lake = new LakeQueries({ config, clients });
  const assets = webAssets();
  const routes: Record<string, Handler> = {
    "GET /api/console": async () => ({
      manifestTable: config.manifestTable,
      lakeBucket: config.lakeBucket,
      tiles: options.tiles ?? null,
    }),
    "GET /api/overview": (_req, _res, url) => overview(health, url.searchParams),
    "GET /api/partition": (_req, _res, url) => partitionDetail(health, url.searchParams),
    "GET /api/problems": () => problems(health),
    "POST /api/retry": async (req) => retry(health, await readJsonBody(req)),
    "GET /api/units": (_req, _res, url, signal) => lake.units(url.searchParams, signal),
    "GET /api/unit-day": (_req, _res, url, signal) => lake.unitDay(url.searchParams, signal),
    "POST /api/sql": async (req, _res, _url, signal) => lake.sql(await readJsonBody(req), signal),
    "POST /api/sql.csv": async (req, res, _url, signal) => {
      await lake.sqlCsv(await readJsonBody(req), res, signal);
      return STREAMED;
    },
  };
  let port = options.port;
  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      options.log?.(
        `compacter ui: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
      if (!res.headersSent) sendJson(res, 500, { error: "internal error; see the console's terminal" });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refused = refusal(req, port);
    if (refused) return sendJson(res, 403, { error: refused });
    const url = new URL(req.url ?? "/", `http://${CONSOLE_HOST}:${port}`);
    const route = routes[`${req.method} ${url.pathname}`];
    if (route) {
      const gone = new AbortController();
      res.once("close", () => {
        if (!res.writableFinished) gone.abort();
      });
      try {
        const answer = await route(req, res, url, gone.signal);
        if (answer !== STREAMED) sendJson(res, 200, answer);
      } catch (error) {
        const [status, message] = explain(error);
        // A query interrupted because the browser left is no error worth a log line.
        if (status === 500 && !gone.signal.aborted)
          options.log?.(`compacter ui: ${req.method} ${url.pathname}: ${(error as Error).stack}`);
        if (!res.headersSent) sendJson(res, status, { error: message, kind: kindOf(error) });
        else res.destroy();
      }
      return;
    }
    const asset = req.method === "GET" ? assets.get(url.pathname) : undefined;
    if (!asset) return sendJson(res, 404, { error: `nothing at ${url.pathname}` });
    const body = await readFile(asset.path);
    res.writeHead(200, {
      "content-type": asset.contentType,
      "content-length": body.length,
      "cache-control": "no-cache",
    });
    res.end(body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, CONSOLE_HOST, () => {
      server.off("error", reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://${CONSOLE_HOST}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const STREAMED = Symbol("streamed");

function explain(raw: unknown): [number, string] {
  const error = explainAwsError(raw);
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof BadRequest || error instanceof UsageError || error instanceof ConfigError)
    return [400, message];
  // DuckDB's own message: the page shows it as the answer to the SQL.
  if (error instanceof QueryError) return [400, message];
  if (error instanceof CompacterError) return [502, message];
  return [500, message];
}

function kindOf(error: unknown): string {
  return error instanceof QueryError ? "sql" : error instanceof Error ? error.name : "error";
}
