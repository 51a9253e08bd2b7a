// The console's shell: tabs, the JSON helpers every page uses, and small DOM helpers.
// Plain ES modules, no build step: the server hands these files out as they are.
import { showHealth } from "./health.js";
import { showSql } from "./sql.js";
import { showUnitDay } from "./unitDay.js";

/** An answer the server refused, with its message (DuckDB's own, for SQL). */
export class ApiError extends Error {
  constructor(message, kind) {
    super(message);
    this.kind = kind;
  }
}

export async function getJson(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== ""));
  return answer(await fetch(`${path}${query.size ? `?${query}` : ""}`));
}

export async function postJson(path, body) {
  return answer(
    await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
}

async function answer(response) {
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new ApiError(body.error ?? `HTTP ${response.status}`, body.kind);
  return body;
}

/** el("td", { class: "num", dataset: { key } }, "text", child) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** A table of objects; `columns` are [header, value(row), numeric?]. */
export function table(rows, columns, attrs = {}) {
  return el(
    "table",
    attrs,
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        columns.map(([header]) => el("th", {}, header)),
      ),
    ),
    el(
      "tbody",
      {},
      rows.map((row) =>
        el(
          "tr",
          {},
          columns.map(([, value, numeric]) => {
            const v = value(row);
            return el("td", { class: numeric ? "num" : undefined }, v instanceof Node ? v : text(v));
          }),
        ),
      ),
    ),
  );
}

export function text(value) {
  if (value === undefined || value === null) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function bytes(n) {
  if (!n) return "0 B";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  const i = Math.min(units.length - 1, Math.floor(Math.log(n) / Math.log(1024)));
  return `${(n / 1024 ** i).toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function duration(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 86_400_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} d`;
}

export function thousands(n) {
  return Number(n ?? 0).toLocaleString("en-US");
}

/** Districts seen on the health grid, offered in the other pages' district boxes. */
export function rememberDistricts(districts) {
  const list = document.getElementById("districts");
  const known = new Set([...list.options].map((o) => o.value));
  for (const d of districts) if (!known.has(d)) list.append(el("option", { value: d }));
}

const TABS = { health: showHealth, unit: showUnitDay, sql: showSql };
const started = new Set();

function route() {
  const name = (location.hash || "#health").slice(1).split("?")[0];
  const tab = TABS[name] ? name : "health";
  for (const key of Object.keys(TABS)) {
    document.getElementById(`tab-${key}`).hidden = key !== tab;
    document.querySelector(`nav a[data-tab="${key}"]`).classList.toggle("active", key === tab);
  }
  TABS[tab]({ first: !started.has(tab) });
  started.add(tab);
}

window.addEventListener("hashchange", route);
getJson("/api/console")
  .then((info) => {
    window.compacterConsole = info;
    document.getElementById("where").textContent =
      `manifest ${info.manifestTable} · lake s3://${info.lakeBucket}`;
  })
  .catch(() => {})
  .finally(route);
