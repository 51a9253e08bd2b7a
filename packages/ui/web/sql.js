// The SQL page: DuckDB SQL over `telemetry`, scoped like `compacter query --day/--from/--to/--district`.
import { ApiError, el, postJson, table } from "./app.js";

const MAX_SHOWN = 2000;

export function showSql({ first }) {
  if (!first) return;
  document.getElementById("sql-run").addEventListener("click", run);
  document.getElementById("sql-csv").addEventListener("click", downloadCsv);
  document.getElementById("sql-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) run();
  });
  document.getElementById("sql-day").value ||= document.getElementById("grid-to").value;
}

function request() {
  const value = (id) => document.getElementById(id).value.trim();
  return {
    sql: document.getElementById("sql-text").value,
    day: value("sql-day"),
    from: value("sql-from"),
    to: value("sql-to"),
    district: value("sql-district"),
  };
}

function showError(error) {
  const box = document.getElementById("sql-error");
  box.hidden = false;
  box.dataset.kind = error.kind ?? "";
  box.textContent = error instanceof ApiError ? error.message : String(error);
}

async function run() {
  const note = document.getElementById("sql-note");
  const result = document.getElementById("sql-result");
  document.getElementById("sql-error").hidden = true;
  note.textContent = "running…";
  try {
    const answer = await postJson("/api/sql", request());
    const shown = answer.rows.slice(0, MAX_SHOWN);
    note.textContent =
      `${answer.rows.length} row(s) in ${answer.seconds.toFixed(2)} s over ${answer.stats.files} file(s)` +
      (shown.length < answer.rows.length ? `; showing the first ${shown.length} (download CSV for all)` : "");
    result.replaceChildren(
      el(
        "div",
        { class: "scroll" },
        table(
          shown,
          answer.columns.map((c, i) => [c, (row) => row[i], typeof shown[0]?.[i] === "number"]),
          { id: "sql-table" },
        ),
      ),
    );
  } catch (error) {
    note.textContent = "";
    result.replaceChildren();
    showError(error);
  }
}

async function downloadCsv() {
  const note = document.getElementById("sql-note");
  document.getElementById("sql-error").hidden = true;
  note.textContent = "preparing CSV…";
  const response = await fetch("/api/sql.csv", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(request()),
  });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    note.textContent = "";
    return showError(new ApiError(body.error ?? `HTTP ${response.status}`, body.kind));
  }
  const blob = await response.blob();
  const link = el("a", { href: URL.createObjectURL(blob), download: "telemetry.csv" });
  document.body.append(link);
  link.click();
  link.remove();
  note.textContent = `CSV downloaded (${blob.size} bytes)`;
}
