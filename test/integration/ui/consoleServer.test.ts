import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { Socket } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import type { LocalResources } from "@compacter/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningConsole, startConsole } from "../../../packages/cli/src/ui/consoleServer.js";
import { inProcess } from "../../helpers/cli.js";
import { useLocalStack } from "../../helpers/localStack.js";

/**
 * The console's server without a browser: where it listens, what it refuses, and its API
 * answers where the browser tests don't look (CSV, bad parameters, the assets it serves).
 */
const stack = useLocalStack();
let resources: LocalResources;
let dir: string;
let ui: RunningConsole;

beforeAll(async () => {
  resources = await stack.createResources("ui-server");
  dir = await mkdtemp(join(tmpdir(), "compacter-ui-server-"));
  ui = await startConsole({
    config: stack.config(resources, { tempDir: dir }),
    clients: stack.clients,
    port: 0,
  });
});
afterAll(async () => {
  await ui?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A raw HTTP request, so the Host and Origin headers are exactly what a test says. */
function send(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: ui.port, path, method: options.method ?? "GET", headers: options.headers },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          body += chunk;
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body }),
        );
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

const postJson = (path: string, value: unknown, headers: Record<string, string> = {}) =>
  send(path, {
    method: "POST",
    headers: { "content-type": "application/json", origin: `http://127.0.0.1:${ui.port}`, ...headers },
    body: JSON.stringify(value),
  });

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = new Socket();
    socket.setTimeout(2000, () => socket.destroy());
    socket.once("connect", () => {
      socket.destroy();
      done(true);
    });
    socket.once("error", () => done(false));
    socket.once("close", () => done(false));
    socket.connect(port, host);
  });
}

describe("compacter ui's server", () => {
  it("listens on 127.0.0.1 only", async () => {
    expect(ui.url).toBe(`http://127.0.0.1:${ui.port}/`);
    expect(await connects("127.0.0.1", ui.port)).toBe(true);
    // Not on the other loopback (a server on every interface would answer there) nor on
    // any of this machine's other addresses.
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a !== undefined && !a.internal && a.family === "IPv4")
      .map((a) => a!.address);
    for (const host of ["::1", ...others]) expect(await connects(host, ui.port)).toBe(false);
  });

  it("refuses a foreign Host (DNS rebinding) and POSTs from another origin or without JSON (CSRF)", async () => {
    expect((await send("/api/problems", { headers: { host: "evil.example:80" } })).status).toBe(403);
    expect((await send("/api/problems", { headers: { host: `localhost:${ui.port}` } })).status).toBe(200);
    const fromElsewhere = await postJson(
      "/api/retry",
      { key: "BRCB/X/2025121201/2025121201.txt.gz" },
      {
        origin: "http://evil.example",
      },
    );
    expect(fromElsewhere.status).toBe(403);
    const form = await send("/api/sql", {
      method: "POST",
      headers: { "content-type": "text/plain", origin: `http://127.0.0.1:${ui.port}` },
      body: '{"sql":"SELECT 1"}',
    });
    expect(form.status).toBe(403);
    expect((await send("/api/sql", { method: "DELETE" })).status).toBe(403);
  });

  it("serves the page and its libraries from node_modules, and nothing else", async () => {
    const page = await send("/");
    expect(page.type).toContain("text/html");
    expect(page.body).not.toMatch(/src="https?:|href="https?:/);
    for (const path of ["/app.js", "/vendor/uplot.js", "/vendor/leaflet.js"]) {
      const asset = await send(path);
      expect([asset.status, asset.type]).toEqual([200, "text/javascript; charset=utf-8"]);
    }
    expect((await send("/vendor/leaflet.css")).body).toContain(".leaflet-container");
    expect((await send("/../package.json")).status).toBe(404);
    expect((await send("/vendor/")).status).toBe(404);
  });

  it("answers SQL as JSON rows and as CSV; a SQL or scope error is a 400 with the message", async () => {
    const sql = "SELECT 1 AS a, 'x,y' AS b UNION ALL SELECT 2, NULL ORDER BY a";
    const rows = JSON.parse((await postJson("/api/sql", { sql })).body);
    expect(rows).toMatchObject({
      columns: ["a", "b"],
      rows: [
        [1, "x,y"],
        [2, null],
      ],
    });
    const csv = await postJson("/api/sql.csv", { sql });
    expect(csv.type).toContain("text/csv");
    // The CLI's CSV writer: RFC 4180, CRLF line ends.
    expect(csv.body).toBe('a,b\r\n1,"x,y"\r\n2,\r\n');

    const bad = await postJson("/api/sql.csv", { sql: "SELEC 1" });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toEqual({ error: expect.stringContaining("Parser Error"), kind: "sql" });
    const scope = await postJson("/api/sql", { sql: "SELECT 1", day: "2025-12-12", from: "2025-12-11" });
    expect(scope.status).toBe(400);
    expect(JSON.parse(scope.body).error).toBe("use either --day D or --from D1 [--to D2], not both");
  });

  it("interrupts a query whose browser went away, so the next one does not wait behind it", async () => {
    // Lake queries run one at a time; this one would take many minutes to finish.
    const endless = request({
      host: "127.0.0.1",
      port: ui.port,
      path: "/api/sql",
      method: "POST",
      headers: { "content-type": "application/json" },
    });
    endless.on("error", () => {});
    endless.end(JSON.stringify({ sql: "SELECT sum(i) FROM range(1000000000000) t(i)" }));
    await new Promise((resolve) => setTimeout(resolve, 500));
    endless.destroy();
    const next = await postJson("/api/sql", { sql: "SELECT 42 AS answer" });
    expect(JSON.parse(next.body)).toMatchObject({ rows: [[42]] });
  });

  it("rejects what would have to be spliced into SQL, and retries only quarantined files", async () => {
    const unitDay = await send(
      "/api/unit-day?day=2025-12-12&district=BRCB&unit=HT1&sensors=speed_kmh,x%22;DROP",
    );
    expect(unitDay.status).toBe(400);
    expect(JSON.parse(unitDay.body).error).toContain("is not a plain column name");
    expect((await send("/api/partition?day=2025-13-01&district=BRCB")).status).toBe(400);
    expect((await postJson("/api/retry", { key: "not a raw key" })).status).toBe(400);
    const unknown = await postJson("/api/retry", { key: "BRCB/X/2025121201/2025121201.txt.gz" });
    expect(JSON.parse(unknown.body)).toEqual([]);
  });
});

describe("compacter ui", () => {
  it("has --help with its flags, and says so when the port is taken", async () => {
    const help = await inProcess("ui", "--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--port <n>[\s\S]*--open[\s\S]*--tiles <url>/);
    expect(help.stdout).toContain("127.0.0.1");
    const taken = await inProcess("ui", "--port", String(ui.port));
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain(`port ${ui.port} is in use`);
    expect((await inProcess("ui", "--port", "70000")).code).toBe(2);
  });
});
