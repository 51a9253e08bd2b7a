// The health page: the day × district grid, the partition a click opens, the problems list.
import {
  ApiError,
  bytes,
  duration,
  el,
  getJson,
  postJson,
  rememberDistricts,
  table,
  thousands,
} from "./app.js";

const STATES = [
  ["compacted", "compacted: every registered file is in the lake"],
  ["pending", "pending: files wait for their window to close"],
  ["due", "due: work should be running now"],
  ["failing", "failing: compaction keeps failing (retried with back-off)"],
  ["empty", "registered, nothing compacted yet"],
];
const REFRESH_MS = 5000;
let timer;
let selected;

export function showHealth({ first }) {
  if (first) {
    document
      .getElementById("legend")
      .replaceChildren(
        ...STATES.map(([state, title]) =>
          el("span", { title }, el("i", { style: `background: var(--${state})` }), state),
        ),
        el("span", {}, el("span", { class: "badge q" }, "Q n"), " quarantined files inside"),
        el("span", {}, el("span", { class: "badge late" }, "L n"), " late files pending"),
      );
    document.getElementById("grid-refresh").addEventListener("click", () => refresh());
    document.getElementById("grid-from").addEventListener("change", () => refresh());
    document.getElementById("grid-to").addEventListener("change", () => refresh());
  }
  refresh();
  clearInterval(timer);
  timer = setInterval(() => {
    if (document.getElementById("tab-health").hidden) return clearInterval(timer);
    if (document.getElementById("grid-auto").checked) refresh();
  }, REFRESH_MS);
}

let inFlight = false;
export async function refresh() {
  if (inFlight) return;
  inFlight = true;
  try {
    const from = document.getElementById("grid-from").value;
    const to = document.getElementById("grid-to").value;
    const [overview, problems] = await Promise.all([
      getJson("/api/overview", { from, to }),
      getJson("/api/problems"),
    ]);
    document.getElementById("grid-from").value = overview.from;
    document.getElementById("grid-to").value = overview.to;
    drawSummary(overview);
    drawGrid(overview.grid);
    drawProblems(problems);
    rememberDistricts(overview.grid.districts);
    document.getElementById("grid-updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    if (selected) await openPartition(selected.day, selected.district, { quiet: true });
  } catch (error) {
    document.getElementById("grid-updated").textContent = `error: ${error.message}`;
  } finally {
    inFlight = false;
  }
}

function drawSummary(o) {
  const queue = (name, label) => {
    const q = o.queues[name];
    if (!q.configured) return stat(label, "—", q.error ?? "not configured");
    const dlq = name.endsWith("Dlq");
    return stat(
      label,
      thousands(q.visible),
      `${q.inFlight} in flight`,
      dlq && q.visible > 0,
      `queue-${name}`,
    );
  };
  document
    .getElementById("summary")
    .replaceChildren(
      stat(
        "lake freshness",
        o.freshness.overdueMs > 0 ? `${duration(o.freshness.overdueMs)} behind` : "up to date",
        o.freshness.oldestDueAt ? `oldest due ${o.freshness.oldestDueAt}` : "nothing overdue",
        o.freshness.overdueMs > 15 * 60_000,
        "freshness",
      ),
      queue("ingest", "ingest queue"),
      queue("ingestDlq", "ingest DLQ"),
      queue("compaction", "compaction queue"),
      queue("compactionDlq", "compaction DLQ"),
      stat("pending files", thousands(o.counts.pending), `${o.counts.late} late`),
      stat("quarantined", thousands(o.counts.quarantined), "unreadable files", o.counts.quarantined > 0),
      stat("rejected", thousands(o.counts.rejected), "keys off the layout", o.counts.rejected > 0),
    );
}

function stat(label, value, note, warn, id) {
  return el(
    "div",
    { class: `stat${warn ? " warn" : ""}`, id: id ? `stat-${id}` : undefined, title: note },
    el("b", {}, value),
    el("span", {}, label),
  );
}

function drawGrid(grid) {
  const cells = new Map(grid.cells.map((c) => [`${c.day}/${c.district}`, c]));
  const container = document.getElementById("grid");
  if (grid.districts.length === 0) {
    container.replaceChildren(el("p", { class: "muted" }, "No partitions in this range."));
    return;
  }
  container.replaceChildren(
    el(
      "table",
      { class: "grid" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          el("th", {}, "day \\ district"),
          grid.districts.map((d) => el("th", {}, d)),
        ),
      ),
      el(
        "tbody",
        {},
        // Every day of the range, so a day with no data at all stands out as a grey row.
        grid.days.map((day) =>
          el(
            "tr",
            {},
            el("th", {}, day),
            grid.districts.map((district) => cell(cells.get(`${day}/${district}`), day, district)),
          ),
        ),
      ),
    ),
  );
}

function cell(c, day, district) {
  if (!c) return el("td", { class: "cell state-none", title: "no raw files registered" }, "—");
  const isSelected = selected && selected.day === day && selected.district === district;
  return el(
    "td",
    {
      class: `cell state-${c.state}${c.quarantined ? " has-quarantined" : ""}${isSelected ? " selected" : ""}`,
      dataset: {
        day,
        district,
        state: c.state,
        quarantined: c.quarantined,
        late: c.late,
        generation: c.generation,
      },
      title: `${day} ${district}: ${c.state}, generation ${c.generation}, ${c.files} Parquet file(s), ${c.pending} pending`,
      onclick: () => openPartition(day, district),
    },
    el("div", {}, c.rows ? `${thousands(c.rows)} rows` : c.state),
    c.pending ? el("div", {}, `${c.pending} pending`) : null,
    c.quarantined ? el("span", { class: "badge q" }, `Q ${c.quarantined}`) : null,
    c.late ? el("span", { class: "badge late" }, `L ${c.late}`) : null,
  );
}

async function openPartition(day, district, { quiet } = {}) {
  selected = { day, district };
  for (const td of document.querySelectorAll("td.cell")) {
    td.classList.toggle("selected", td.dataset.day === day && td.dataset.district === district);
  }
  const box = document.getElementById("partition-detail");
  if (!quiet) box.replaceChildren(el("p", { class: "muted" }, `loading ${day} ${district}…`));
  const p = await getJson("/api/partition", { day, district });
  const s = p.state;
  box.replaceChildren(
    el(
      "div",
      { class: "detail", dataset: { day, district } },
      el("h2", {}, `hiveperiod=${day} / district=${district}`),
      el(
        "p",
        {},
        s
          ? `generation ${s.generation} · ${thousands(s.rows)} rows · ${bytes(s.bytes)} · last ${s.lastPlan ?? "—"} ${s.lastCompactedAt ?? ""}` +
              (s.dueAt ? ` · due ${s.dueAt}` : "") +
              (s.leaseOwner ? ` · leased by ${s.leaseOwner}` : "")
          : "no partition state yet",
      ),
      el("h3", {}, `Current Parquet files (${s?.files.length ?? 0})`),
      table(
        s?.files ?? [],
        [
          ["key", (f) => f.key],
          ["rows", (f) => thousands(f.rows), true],
          ["size", (f) => bytes(f.bytes), true],
        ],
        { id: "lake-files" },
      ),
      el("h3", {}, `History (${p.history.length} generations)`),
      el(
        "div",
        { class: "scroll" },
        table(
          p.history,
          [
            ["gen", (g) => g.generation, true],
            ["plan", (g) => g.plan],
            ["reason", (g) => g.reason],
            ["committed", (g) => g.committedAt],
            ["duration", (g) => duration(g.durationMs), true],
            ["inputs", (g) => g.inputs.length, true],
            ["late", (g) => g.lateFiles, true],
            ["quarantined", (g) => g.inputs.filter((i) => i.outcome === "quarantined").length, true],
            ["outputs", (g) => g.outputs.length, true],
            ["rows in", (g) => thousands(g.rowsIn), true],
            ["rows out", (g) => thousands(g.rowsOut), true],
            ["bad lines", (g) => g.badLines, true],
            ["nulled values", (g) => Object.values(g.nulledValues).reduce((n, v) => n + v, 0), true],
            ["bytes out", (g) => bytes(g.bytesOut), true],
          ],
          { id: "history" },
        ),
      ),
      el("h3", {}, `Raw files (${p.files.length})`),
      el(
        "div",
        { class: "scroll" },
        table(
          p.files,
          [
            ["key", (f) => f.key],
            ["status", (f) => el("span", { class: `status-${f.status}` }, f.status)],
            ["late", (f) => (f.late ? "late" : "")],
            ["eTag", (f) => f.eTag],
            ["size", (f) => bytes(f.size), true],
            ["arrived", (f) => f.arrivedAt],
            ["gen", (f) => f.compactedGeneration ?? "", true],
            ["rows", (f) => f.rows ?? "", true],
            ["bad lines", (f) => f.badLines ?? "", true],
            ["error", (f) => f.error ?? ""],
          ],
          { id: "raw-files" },
        ),
      ),
    ),
  );
}

function drawProblems(problems) {
  const box = document.getElementById("problems");
  if (problems.length === 0) {
    box.replaceChildren(el("p", { class: "muted" }, "None."));
    return;
  }
  box.replaceChildren(
    table(
      problems,
      [
        ["status", (p) => el("span", { class: `status-${p.status}` }, p.status)],
        ["key", (p) => p.key],
        ["partition", (p) => (p.partition ? `${p.partition.day}/${p.partition.district}` : "")],
        ["when", (p) => p.updatedAt ?? p.arrivedAt],
        ["why", (p) => p.error ?? p.reason ?? ""],
        ["", (p) => (p.status === "quarantined" ? retryButton(p.key) : "")],
      ],
      { id: "problem-list" },
    ),
  );
}

function retryButton(key) {
  return el(
    "button",
    {
      class: "retry",
      dataset: { key },
      onclick: async (event) => {
        const button = event.currentTarget;
        button.disabled = true;
        try {
          const [result] = await postJson("/api/retry", { key });
          button.replaceWith(
            el(
              "span",
              { class: "muted retried" },
              result?.requeued ? "re-queued" : `not re-queued (${result?.was ?? "gone"})`,
            ),
          );
          refresh();
        } catch (error) {
          button.disabled = false;
          alert(error instanceof ApiError ? error.message : String(error));
        }
      },
    },
    "Retry",
  );
}
