// A unit's day: pick day, district and unit; the GPS track coloured by speed, sensor
// charts with brushing (drag to zoom every chart, the table and the track), and the rows.
import { el, getJson, table, thousands } from "./app.js";

const DEFAULT_SENSORS = ["eng_rpm", "eng_coolant_temp_c", "fuel_level_pct", "payload_t"];
const SPEED_COLOURS = ["#2b83ba", "#64b5a5", "#abdda4", "#fdae61", "#f46d43", "#d7191c"];
const TABLE_ROWS = 200;
let map;
let trackLayer;
let highlightLayer;
let charts = [];
let current;
let unitsAsked = 0;

export function showUnitDay({ first }) {
  if (!first) return;
  const dayBox = document.getElementById("unit-day");
  const districtBox = document.getElementById("unit-district");
  const selectedCell = document.querySelector("td.cell.selected");
  dayBox.value = selectedCell?.dataset.day ?? document.getElementById("grid-to").value ?? "";
  districtBox.value =
    selectedCell?.dataset.district ?? document.getElementById("districts").options[0]?.value ?? "";
  document.getElementById("units-load").addEventListener("click", loadUnits);
  if (dayBox.value && districtBox.value) loadUnits();
}

async function loadUnits() {
  const day = document.getElementById("unit-day").value;
  const district = document.getElementById("unit-district").value.trim();
  const note = document.getElementById("units-note");
  const list = document.getElementById("units");
  note.textContent = "loading units…";
  list.replaceChildren();
  delete list.dataset.day;
  delete list.dataset.district;
  const asked = ++unitsAsked;
  try {
    const answer = await getJson("/api/units", { day, district });
    // An answer to an earlier question (day or district changed since) is dropped.
    if (asked !== unitsAsked) return;
    note.textContent = `${answer.units.length} unit(s) in ${answer.files} Parquet file(s)`;
    list.replaceChildren(
      ...answer.units.map((u) =>
        el(
          "button",
          {
            class: "unit",
            dataset: { unit: u.unit, rows: u.rows },
            onclick: () => drawUnit(day, district, u.unit),
          },
          `${u.unit} `,
          el("span", { class: "muted" }, thousands(u.rows)),
        ),
      ),
    );
    Object.assign(list.dataset, { day, district });
    const sensors = document.getElementById("sensors");
    const chosen = new Set([...sensors.selectedOptions].map((o) => o.value));
    const wanted = chosen.size ? chosen : new Set(DEFAULT_SENSORS);
    sensors.replaceChildren(
      ...answer.sensors.map((s) => el("option", { value: s, selected: wanted.has(s) }, s)),
    );
  } catch (error) {
    note.textContent = `error: ${error.message}`;
  }
}

/** Click → data → map, charts and table drawn; the time is shown and kept on #unit-status. */
async function drawUnit(day, district, unit) {
  const clicked = performance.now();
  for (const b of document.querySelectorAll("#units button"))
    b.classList.toggle("selected", b.dataset.unit === unit);
  const status = document.getElementById("unit-status");
  status.textContent = `loading ${unit}…`;
  const sensors = [...document.getElementById("sensors").selectedOptions].map((o) => o.value);
  let data;
  try {
    data = await getJson("/api/unit-day", { day, district, unit, sensors: sensors.join(",") });
  } catch (error) {
    status.textContent = `error: ${error.message}`;
    return;
  }
  const fetched = performance.now();
  current = data;
  const marks = [fetched];
  drawTrack(data);
  marks.push(performance.now());
  drawCharts(data);
  marks.push(performance.now());
  drawRows(data, data.t[0], data.t.at(-1));
  marks.push(performance.now());
  const [map, chart, rows] = [1, 2, 3].map((i) => Math.round(marks[i] - marks[i - 1]));
  // The time to chart ends when the browser has painted what was drawn.
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  const ms = Math.round(performance.now() - clicked);
  status.dataset.ms = String(ms);
  status.dataset.unit = unit;
  status.textContent =
    `${unit} on ${day} in ${district}: ${thousands(data.rows)} rows · click to chart ${ms} ms ` +
    `(server ${Math.round(data.seconds * 1000)} ms, ${data.stats.files} file(s), ${data.stats.downloadedFiles} downloaded, ` +
    `${data.stats.cachedFiles} from cache; drawing ${Math.round(performance.now() - fetched)} ms: map ${map}, charts ${chart}, table ${rows}, paint)`;
}

function drawTrack(data) {
  const box = document.getElementById("map");
  if (!map) {
    // No tile layer unless the console was started with --tiles: tiles would tell a tile
    // server where the fleet drives. Without one the track is drawn on the plain projection.
    map = L.map(box, { attributionControl: false, zoomSnap: 0.25 });
    const tiles = window.compacterConsole?.tiles;
    if (tiles && navigator.onLine) L.tileLayer(tiles, { maxZoom: 19 }).addTo(map);
  }
  trackLayer?.remove();
  highlightLayer?.remove();
  const maxSpeed = Math.max(1, ...data.speed.filter((v) => v !== null));
  const bucket = (v) =>
    Math.min(SPEED_COLOURS.length - 1, Math.floor(((v ?? 0) / maxSpeed) * SPEED_COLOURS.length));
  // Consecutive points in the same speed band form one polyline: a day of 1 Hz points
  // becomes a few hundred lines instead of tens of thousands of segments.
  const lines = [];
  let points = 0;
  let run;
  for (let i = 0; i < data.t.length; i++) {
    const lat = data.lat[i];
    const lon = data.lon[i];
    if (lat === null || lon === null) continue;
    points += 1;
    const b = bucket(data.speed[i]);
    if (!run || run.band !== b) {
      const start = run ? [run.latlngs.at(-1)] : [];
      run = { band: b, latlngs: start };
      lines.push(run);
    }
    run.latlngs.push([lat, lon]);
  }
  trackLayer = L.layerGroup(
    lines.map((l) =>
      L.polyline(l.latlngs, { color: SPEED_COLOURS[l.band], weight: 3, opacity: 0.9, className: "track" }),
    ),
  ).addTo(map);
  box.dataset.points = String(points);
  box.dataset.lines = String(lines.length);
  const all = lines.flatMap((l) => l.latlngs);
  if (all.length) map.fitBounds(L.latLngBounds(all), { padding: [16, 16] });
  document
    .getElementById("speed-legend")
    .replaceChildren(
      el("b", {}, "speed (km/h)"),
      ...SPEED_COLOURS.map((c, i) =>
        el(
          "div",
          {},
          el("i", { style: `background:${c}` }),
          `${Math.round((i * maxSpeed) / SPEED_COLOURS.length)}–${Math.round(((i + 1) * maxSpeed) / SPEED_COLOURS.length)}`,
        ),
      ),
    );
}

function highlight(from, to) {
  highlightLayer?.remove();
  if (!current || !map) return;
  const latlngs = [];
  for (let i = 0; i < current.t.length; i++) {
    const t = current.t[i];
    if (t >= from && t <= to && current.lat[i] !== null && current.lon[i] !== null)
      latlngs.push([current.lat[i], current.lon[i]]);
  }
  if (latlngs.length)
    highlightLayer = L.polyline(latlngs, { color: "#111", weight: 7, opacity: 0.55 }).addTo(map);
}

function drawCharts(data) {
  for (const c of charts) c.destroy();
  charts = [];
  const box = document.getElementById("charts");
  box.replaceChildren();
  const series = [
    ["speed", `speed (${data.track.speed})`, data.speed],
    ...Object.entries(data.series).map(([n, v]) => [n, n, v]),
  ];
  const width = Math.max(300, box.clientWidth - 12);
  let syncing = false;
  for (const [name, label, values] of series) {
    const holder = el("div", { class: "chart", dataset: { sensor: name } }, el("h4", {}, label));
    box.append(holder);
    const chart = new uPlot(
      {
        width,
        height: 150,
        legend: { show: false },
        cursor: { sync: { key: "unit-day" }, drag: { x: true, y: false } },
        scales: { x: { time: true } },
        series: [{}, { label, stroke: "#2d6cdf", width: 1, spanGaps: false }],
        axes: [{}, { size: 60 }],
        hooks: {
          setScale: [
            (u, key) => {
              if (key !== "x" || syncing) return;
              syncing = true;
              const { min, max } = u.scales.x;
              for (const other of charts) if (other !== u) other.setScale("x", { min, max });
              drawRows(current, min, max);
              highlight(min, max);
              syncing = false;
            },
          ],
        },
      },
      [data.t, values],
      holder,
    );
    holder.dataset.points = String(chart.data[0].length);
    charts.push(chart);
  }
}

function drawRows(data, from, to) {
  const names = ["speed", ...Object.keys(data.series)];
  const rows = [];
  let total = 0;
  for (let i = 0; i < data.t.length; i++) {
    if (data.t[i] < from || data.t[i] > to) continue;
    total += 1;
    if (rows.length < TABLE_ROWS) rows.push(i);
  }
  document.getElementById("unit-rows").dataset.inRange = String(total);
  const value = (name, i) => (name === "speed" ? data.speed[i] : data.series[name][i]);
  document
    .getElementById("unit-rows")
    .replaceChildren(
      el(
        "h3",
        {},
        `Rows ${rows.length < total ? `(first ${rows.length} of ${thousands(total)} in range)` : `(${total})`}`,
      ),
      el(
        "div",
        { class: "scroll" },
        table(
          rows,
          [
            ["event_time", (i) => new Date(data.t[i] * 1000).toISOString().replace("T", " ").slice(0, 19)],
            ["lat", (i) => data.lat[i], true],
            ["lon", (i) => data.lon[i], true],
            ...names.map((n) => [n === "speed" ? data.track.speed : n, (i) => value(n, i), true]),
          ],
          { id: "unit-table" },
        ),
      ),
    );
}
