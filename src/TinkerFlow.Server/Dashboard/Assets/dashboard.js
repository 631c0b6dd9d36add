// TinkerFlow dashboard: runs, checkpoints and live metric curves.
//
// Data flow:
//   GET  /dashboard/api/info                 mode ("server" | "log_path") and whether an API key is needed
//   POST /dashboard/api/stream-token         (server mode, with X-API-Key) a short-lived token for the event stream
//   GET  /dashboard/api/events[?token=…]     server-sent events: hello, run, metrics, reset
//   GET  /api/v1/training_runs[/…]           (server mode) runs and checkpoints; publish/unpublish/ttl/delete/archive
//   GET  /dashboard/api/checkpoints?run=…    (log-path mode) the run's checkpoints.jsonl, read-only
//   GET  /dashboard/api/timeline?run=…       (server mode) the run's recent operations: submitted/started/ended times

"use strict";

const KEY_STORAGE = "tinkerflow.apiKey";
const COLORS = ["#3b6fd8", "#e4572e", "#2e9d5b", "#9b59b6", "#d48a00", "#17a2b8", "#c2185b", "#6d4c41", "#7f8c8d", "#1abc9c"];
const REST_REFRESH_MS = 5000;
const TIMELINE_REFRESH_MS = 1000;
const TIMELINE_MAX_OPS = 60;                               // the most recent operations drawn
const TIMELINE_LANES = [
  { op: "forward_backward", color: "#3b6fd8" },
  { op: "forward", color: "#17a2b8" },
  { op: "optim_step", color: "#2e9d5b" },
  { op: "sample", color: "#d48a00" },
];

// Chart sections in display order; a metric goes to the first section whose test matches its name.
const SECTIONS = [
  { title: "Loss & NLL", test: k => /nll|loss|perplexity/i.test(k) },
  { title: "Reward", test: k => /reward|correct|accuracy|score/i.test(k) },
  { title: "KL", test: k => /(^|[\/_])kl([\/_]|$)|kl_/i.test(k) },
  { title: "Throughput & time", test: k => /tokens_per_s|throughput|^time\//i.test(k) },
  { title: "In-flight work", test: k => /in_flight|buffered|staleness|queue/i.test(k) },
  { title: "Optimizer", test: k => /^optim\//i.test(k) },
  { title: "Other", test: () => true },
];

const state = {
  info: null,
  key: null,
  runs: new Map(),          // run id -> { id, color, plotted, records, series: Map<metric, [[step, value]]>, meta, rest }
  charts: new Map(),        // metric -> LineChart
  focused: null,            // run id whose checkpoints are shown
  smoothing: 0,
  events: null,
  renderQueued: false,
  restTimer: null,
  timelineTimer: null,
};

const $ = id => document.getElementById(id);

// ------------------------------------------------------------------ HTTP

class HttpError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, { method = "GET", body } = {}) {
  const headers = {};
  if (state.key) headers["X-API-Key"] = state.key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!response.ok) {
    const message = (json && json.error) || `${method} ${path} failed with HTTP ${response.status}`;
    if (response.status === 401 && state.info?.auth === "api_key") askForKey(message);
    throw new HttpError(response.status, message);
  }
  return json;
}

const enc = encodeURIComponent;
function checkpointUrl(runId, checkpointId, suffix = "") {
  const [kind, ...name] = checkpointId.split("/");
  return `/api/v1/training_runs/${enc(runId)}/checkpoints/${enc(kind)}/${enc(name.join("/"))}${suffix}`;
}

// ------------------------------------------------------------------ small UI helpers

let toastTimer = null;
function toast(message, isError = false) {
  const box = $("toast");
  box.textContent = message;
  box.className = isError ? "toast error" : "toast";
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, isError ? 8000 : 3000);
}

function setStatus(kind, text) {
  const status = $("status");
  status.dataset.state = kind;
  status.textContent = text;
}

function el(tag, properties = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(properties)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null) node[key] = value;
  }
  node.append(...children.filter(c => c !== null && c !== undefined));
  return node;
}

function formatTime(value) {
  if (!value) return "–";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0, value = bytes;
  while (value >= 1024 && i < units.length - 1) { value /= 1024; i++; }
  return `${value.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

// ------------------------------------------------------------------ API key

function askForKey(message) {
  state.key = null;
  sessionStorage.removeItem(KEY_STORAGE);
  if (state.events) { state.events.close(); state.events = null; }
  setStatus("offline", "needs API key");
  const error = $("key-error");
  error.hidden = !message;
  error.textContent = message || "";
  const dialog = $("key-dialog");
  if (!dialog.open) dialog.showModal();
  $("key-input").focus();
}

async function submitKey(event) {
  event.preventDefault();
  const key = $("key-input").value.trim();
  if (!key) return;
  state.key = key;
  try {
    await api("/dashboard/api/runs");
  } catch (error) {
    if (error.status === 401) return; // askForKey already showed the message
    $("key-error").hidden = false;
    $("key-error").textContent = error.message;
    return;
  }
  sessionStorage.setItem(KEY_STORAGE, key);
  $("key-dialog").close();
  $("key-input").value = "";
  start();
}

// ------------------------------------------------------------------ runs

function ensureRun(id) {
  let run = state.runs.get(id);
  if (!run) {
    run = { id, color: COLORS[state.runs.size % COLORS.length], plotted: true, records: 0, series: new Map(), meta: null, rest: null };
    state.runs.set(id, run);
    if (state.focused === null) focusRun(id);
  }
  return run;
}

function clearMetrics(run) {
  run.records = 0;
  run.series = new Map();
}

function addRecords(run, from, records) {
  if (from < run.records) {
    // Should not happen (the server tracks what it sent); rebuild from the records we know are new.
    for (const points of run.series.values()) points.length = 0;
    run.records = 0;
  }
  for (const record of records) {
    const step = typeof record.step === "number" ? record.step : run.records;
    for (const [name, value] of Object.entries(record)) {
      if (name === "step" || typeof value !== "number" || !Number.isFinite(value)) continue;
      let points = run.series.get(name);
      if (!points) { points = []; run.series.set(name, points); }
      if (points.length > 0 && points[points.length - 1][0] > step) {
        // A resumed run rewrote earlier steps: keep the series sorted by step.
        const at = points.findIndex(p => p[0] >= step);
        points.length = at;
      }
      points.push([step, value]);
    }
    run.records++;
  }
  if (records.length > 0 && run.meta) run.meta.last_step = records[records.length - 1].step ?? run.meta.last_step;
}

function renderRuns() {
  const filter = $("run-filter").value.trim().toLowerCase();
  const list = $("run-list");
  const rows = [];
  for (const run of state.runs.values()) {
    if (filter && !run.id.toLowerCase().includes(filter)) continue;
    const details = [];
    if (run.rest) details.push(`${run.rest.base_model}${run.rest.lora_rank ? ` · rank ${run.rest.lora_rank}` : ""}`);
    const lastStep = run.meta?.last_step;
    details.push(run.records > 0 ? `${run.records} step${run.records === 1 ? "" : "s"}${lastStep !== null && lastStep !== undefined ? ` · last ${lastStep}` : ""}` : "no metrics yet");
    const updated = run.meta?.updated_at || run.rest?.last_request_time;
    if (updated) details.push(formatTime(updated));
    const checkbox = el("input", {
      type: "checkbox", checked: run.plotted, title: "Plot this run",
      onclick: event => event.stopPropagation(),
      onchange: event => { run.plotted = event.target.checked; queueRender(); },
    });
    rows.push(el("li", {
      className: "run",
      dataset: { runId: run.id },
      onclick: () => focusRun(run.id),
    },
    checkbox,
    el("span", { className: "swatch", style: `background:${run.color}` }),
    el("div", {}, el("div", { className: "run-name", textContent: run.id }), el("div", { className: "run-meta", textContent: details.join(" · ") }))));
    rows[rows.length - 1].setAttribute("aria-selected", String(run.id === state.focused));
  }
  list.replaceChildren(...rows);
  $("run-count").textContent = state.runs.size ? `(${state.runs.size})` : "";
  $("no-runs").hidden = state.runs.size > 0;
}

async function refreshRestRuns() {
  if (!state.info?.manage_checkpoints) return;
  try {
    const answer = await api("/api/v1/training_runs?limit=100&offset=0&access_scope=owned");
    for (const rest of answer.training_runs || []) ensureRun(rest.training_run_id).rest = rest;
    queueRender();
  } catch (error) {
    if (error.status !== 401) setStatus("offline", `runs: ${error.message}`);
  }
}

function focusRun(id) {
  state.focused = id;
  $("checkpoints").hidden = false;
  $("checkpoint-run").textContent = id;
  queueRender();
  refreshCheckpoints();
  refreshTimeline();
  clearInterval(state.timelineTimer);
  if (state.info?.mode === "server") state.timelineTimer = setInterval(refreshTimeline, TIMELINE_REFRESH_MS);
}

// ------------------------------------------------------------------ pipeline timeline

async function refreshTimeline() {
  const runId = state.focused;
  if (runId === null || state.info?.mode !== "server") {
    $("timeline").hidden = true;
    return;
  }
  try {
    const answer = await api(`/dashboard/api/timeline?run=${enc(runId)}`);
    if (state.focused !== runId) return;
    renderTimeline(answer);
  } catch (error) {
    if (error.status === 404) $("timeline").hidden = true;
    else if (error.status !== 401) setStatus("offline", `timeline: ${error.message}`);
  }
}

// Merges [start, end] intervals; returns them sorted and disjoint.
function union(intervals) {
  const sorted = intervals.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  const merged = [];
  for (const [a, b] of sorted) {
    if (merged.length && a <= merged[merged.length - 1][1]) merged[merged.length - 1][1] = Math.max(merged[merged.length - 1][1], b);
    else merged.push([a, b]);
  }
  return merged;
}

function median(values) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function renderTimeline(answer) {
  const panel = $("timeline");
  panel.hidden = false;
  $("timeline-run").textContent = answer.run_id;
  const ops = (answer.operations || []).slice(-TIMELINE_MAX_OPS);
  const chart = $("timeline-chart");
  chart.dataset.operations = String(ops.length);
  if (!ops.length) {
    $("timeline-summary").textContent = "No operations yet: bars appear here while the run trains or samples.";
    chart.replaceChildren();
    return;
  }
  const now = answer.now;
  const t0 = Math.min(...ops.map(o => o.submitted));
  const t1 = Math.max(now > t0 ? Math.min(now, Math.max(...ops.map(o => o.ended ?? now))) : t0 + 1, t0 + 1);
  const lanes = TIMELINE_LANES.filter(l => ops.some(o => o.op === l.op));
  const width = Math.max(chart.clientWidth || 900, 400), left = 130, right = 12, laneHeight = 26, top = 6, axis = 22;
  const height = top + lanes.length * laneHeight + laneHeight + axis;
  const x = t => left + (t - t0) / (t1 - t0) * (width - left - right);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  const add = (tag, attributes, text) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    svg.appendChild(node);
    return node;
  };

  // Time axis: about 8 ticks, in seconds from the first operation shown.
  const span = (t1 - t0) / 1000, step = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300].find(s => span / s <= 8) || 600;
  for (let s = 0; s <= span + 1e-9; s += step) {
    const px = x(t0 + s * 1000);
    add("line", { class: "tick", x1: px, x2: px, y1: top, y2: height - axis });
    add("text", { x: px, y: height - 6, "text-anchor": "middle" }, `${+s.toFixed(2)} s`);
  }

  lanes.forEach((lane, i) => {
    const y = top + i * laneHeight;
    add("rect", { class: "lane-bg", x: left, y: y + 2, width: width - left - right, height: laneHeight - 4 });
    add("text", { class: "lane-label", x: 6, y: y + laneHeight / 2 + 4 }, lane.op);
    for (const o of ops.filter(o => o.op === lane.op)) {
      const started = o.started ?? (o.ended ?? now), ended = o.ended ?? now;
      const label = `${o.op}${o.seq_id !== null ? ` seq ${o.seq_id}` : ""}: queued ${Math.max(0, started - o.submitted)} ms, ` +
        (o.started === null ? "not started" : `ran ${Math.max(0, ended - started)} ms${o.ended === null ? " so far" : ""}`) + (o.failed ? " (failed)" : "");
      const queued = add("rect", { class: "tl-queued", style: `--op:${lane.color}`, x: x(o.submitted), y: y + 7, width: Math.max(0.5, x(started) - x(o.submitted)), height: laneHeight - 14, "data-op": o.op, "data-seq": o.seq_id ?? "" });
      add("title", {}, label);
      queued.appendChild(svg.lastChild);
      if (o.started !== null) {
        const run = add("rect", { class: `tl-run${o.failed ? " failed" : ""}`, style: `--op:${lane.color}`, x: x(started), y: y + 4, width: Math.max(1, x(ended) - x(started)), height: laneHeight - 8, "data-op": o.op, "data-seq": o.seq_id ?? "" });
        add("title", {}, label);
        run.appendChild(svg.lastChild);
      }
    }
  });

  // Where the training pipeline waits: gaps between the engine's training operations.
  const training = ops.filter(o => o.op !== "sample" && o.started !== null);
  const busy = union(training.map(o => [o.started, o.ended ?? now]));
  const gaps = [];
  for (let i = 1; i < busy.length; i++) gaps.push([busy[i - 1][1], busy[i][0]]);
  const idleY = top + lanes.length * laneHeight;
  add("text", { class: "lane-label", x: 6, y: idleY + laneHeight / 2 + 4 }, "engine idle");
  for (const [a, b] of gaps) {
    add("rect", { class: "tl-idle", x: x(a), y: idleY + 8, width: Math.max(1, x(b) - x(a)), height: laneHeight - 16, "data-gap-ms": b - a });
  }
  chart.replaceChildren(svg);

  const busyMs = busy.reduce((sum, [a, b]) => sum + (b - a), 0);
  const windowMs = busy.length ? busy[busy.length - 1][1] - busy[0][0] : 0;
  const sorted = training.slice().sort((a, b) => (a.seq_id ?? 0) - (b.seq_id ?? 0));
  let overlapped = 0;
  for (let i = 1; i < sorted.length; i++) if (sorted[i].submitted < (sorted[i - 1].ended ?? now)) overlapped++;
  const wait = median(training.map(o => o.started - o.submitted));
  chart.dataset.overlapped = String(overlapped);
  chart.dataset.gaps = String(gaps.length);
  $("timeline-summary").textContent = [
    `${ops.length} operations`,
    windowMs > 0 ? `engine busy ${Math.round(100 * busyMs / windowMs)}% of the training window` : null,
    sorted.length > 1 ? `${overlapped} of ${sorted.length - 1} training operations were queued before the previous one finished` : null,
    wait !== null ? `median queue wait ${Math.round(wait)} ms` : null,
    `${gaps.length} idle gap${gaps.length === 1 ? "" : "s"} (${Math.round(windowMs - busyMs)} ms)`,
  ].filter(Boolean).join(" · ");
}

// ------------------------------------------------------------------ checkpoints

async function refreshCheckpoints() {
  const runId = state.focused;
  if (runId === null) return;
  const table = $("checkpoint-table");
  try {
    if (state.info.manage_checkpoints) {
      if (!state.runs.get(runId)?.rest) {
        // Metrics without a run record (e.g. deleted run): nothing to manage.
        $("checkpoint-note").textContent = "This run is not known to the server's run list.";
        table.tHead.replaceChildren();
        table.tBodies[0].replaceChildren();
        return;
      }
      const answer = await api(`/api/v1/training_runs/${enc(runId)}/checkpoints`);
      if (state.focused !== runId) return;
      renderServerCheckpoints(runId, answer.checkpoints || []);
    } else {
      const answer = await api(`/dashboard/api/checkpoints?run=${enc(runId)}`);
      if (state.focused !== runId) return;
      renderLoggedCheckpoints(answer.checkpoints || []);
    }
  } catch (error) {
    if (error.status === 404) {
      $("checkpoint-note").textContent = "No checkpoints found for this run.";
      table.tHead.replaceChildren();
      table.tBodies[0].replaceChildren();
    } else if (error.status !== 401) {
      toast(`Checkpoints: ${error.message}`, true);
    }
  }
}

function renderServerCheckpoints(runId, checkpoints) {
  const table = $("checkpoint-table");
  $("checkpoint-note").textContent = checkpoints.length
    ? "Publish lets other users load a checkpoint; a TTL (hours) deletes it after that time; an empty TTL keeps it."
    : "No checkpoints yet (save_weights / save_weights_for_sampler create them).";
  table.tHead.replaceChildren(checkpoints.length
    ? el("tr", {}, ...["Checkpoint", "Type", "Saved", "Size", "Visibility", "Expires", "Actions"].map(h => el("th", { textContent: h })))
    : "");
  const rows = checkpoints
    .slice()
    .sort((a, b) => String(b.time).localeCompare(String(a.time)))
    .map(cp => {
      const ttl = el("input", { type: "number", min: "0", step: "any", placeholder: "hours", title: "TTL in hours (empty: keep)", dataset: { field: "ttl" } });
      return el("tr", { dataset: { checkpointId: cp.checkpoint_id } },
        el("td", {}, el("code", { textContent: cp.checkpoint_id, title: cp.tinker_path })),
        el("td", { textContent: cp.checkpoint_type }),
        el("td", { textContent: formatTime(cp.time) }),
        el("td", { textContent: formatBytes(cp.size_bytes) }),
        el("td", { dataset: { field: "public" } }, el("span", { className: cp.public ? "pill public" : "pill", textContent: cp.public ? "public" : "private" })),
        el("td", { textContent: cp.expires_at ? formatTime(cp.expires_at) : "never" }),
        el("td", { className: "actions" },
          cp.public
            ? el("button", { type: "button", textContent: "Unpublish", dataset: { action: "unpublish" }, onclick: () => act(runId, cp, "unpublish") })
            : el("button", { type: "button", textContent: "Publish", dataset: { action: "publish" }, onclick: () => act(runId, cp, "publish") }),
          ttl,
          el("button", { type: "button", textContent: "Set TTL", dataset: { action: "ttl" }, onclick: () => act(runId, cp, "ttl", ttl.value) }),
          el("button", { type: "button", textContent: "Download", dataset: { action: "download" }, onclick: () => download(runId, cp) }),
          el("button", { type: "button", className: "danger", textContent: "Delete", dataset: { action: "delete" }, onclick: () => act(runId, cp, "delete") })));
    });
  table.tBodies[0].replaceChildren(...rows);
}

function renderLoggedCheckpoints(records) {
  const table = $("checkpoint-table");
  $("checkpoint-note").textContent = records.length
    ? "From the run's checkpoints.jsonl (read-only here; manage them with 'tinkerflow checkpoint …')."
    : "No checkpoints.jsonl in this run's folder.";
  table.tHead.replaceChildren(records.length
    ? el("tr", {}, ...["Name", "Step", "State path", "Sampler path"].map(h => el("th", { textContent: h })))
    : "");
  table.tBodies[0].replaceChildren(...records.map(r => el("tr", { dataset: { checkpointId: r.name ?? "" } },
    el("td", { textContent: `${r.name ?? "–"}${r.final ? " (final)" : ""}` }),
    el("td", { textContent: r.step ?? r.batch ?? "–" }),
    el("td", {}, el("code", { textContent: r.state_path ?? "–" })),
    el("td", {}, el("code", { textContent: r.sampler_path ?? "–" })))));
}

async function act(runId, checkpoint, action, value) {
  const id = checkpoint.checkpoint_id;
  try {
    switch (action) {
      case "publish":
        await api(checkpointUrl(runId, id, "/publish"), { method: "POST" });
        toast(`${id} is now public`);
        break;
      case "unpublish":
        await api(checkpointUrl(runId, id, "/publish"), { method: "DELETE" });
        toast(`${id} is now private`);
        break;
      case "ttl": {
        const hours = value === "" ? null : Number(value);
        if (hours !== null && !(hours >= 0)) { toast("TTL must be a number of hours (or empty to keep forever).", true); return; }
        await api(checkpointUrl(runId, id, "/ttl"), { method: "PUT", body: { ttl_seconds: hours === null ? null : Math.round(hours * 3600) } });
        toast(hours === null ? `${id} is kept until deleted` : `${id} expires in ${hours} h`);
        break;
      }
      case "delete":
        if (!confirm(`Delete ${checkpoint.tinker_path}? This cannot be undone.`)) return;
        await api(checkpointUrl(runId, id), { method: "DELETE" });
        toast(`${id} deleted`);
        break;
    }
  } catch (error) {
    if (error.status !== 401) toast(`${action} ${id}: ${error.message}`, true);
  }
  refreshCheckpoints();
}

/** The archive endpoint packs the checkpoint and redirects to a signed URL; hand that URL to the browser's downloader. */
async function download(runId, checkpoint) {
  toast(`Packing ${checkpoint.checkpoint_id}…`);
  const abort = new AbortController();
  try {
    const response = await fetch(checkpointUrl(runId, checkpoint.checkpoint_id, "/archive"), { headers: { "X-API-Key": state.key }, signal: abort.signal });
    if (!response.ok) {
      let message = `HTTP ${response.status}`;
      try { message = (await response.json()).error || message; } catch { /* not JSON */ }
      throw new Error(message);
    }
    const url = response.url;
    abort.abort();
    const link = el("a", { href: url, download: "" });
    document.body.append(link);
    link.click();
    link.remove();
  } catch (error) {
    if (error.name !== "AbortError") toast(`Download ${checkpoint.checkpoint_id}: ${error.message}`, true);
  }
}

// ------------------------------------------------------------------ charts

function sectionOf(metric) {
  return SECTIONS.find(s => s.test(metric)).title;
}

function queueRender() {
  if (state.renderQueued) return;
  state.renderQueued = true;
  requestAnimationFrame(() => {
    state.renderQueued = false;
    renderRuns();
    renderCharts();
  });
}

function renderCharts() {
  const metrics = new Set();
  for (const run of state.runs.values()) for (const name of run.series.keys()) metrics.add(name);
  $("no-metrics").hidden = metrics.size > 0;

  // One grid, key metrics first: charts ordered by section (loss, reward, KL, throughput, in-flight, …), then name.
  const grid = $("charts");
  const rank = metric => `${String(SECTIONS.findIndex(s => s.title === sectionOf(metric))).padStart(2, "0")} ${metric}`;
  for (const metric of [...metrics].sort()) {
    if (state.charts.has(metric)) continue;
    const section = sectionOf(metric);
    const chart = new LineChart(metric, section);
    chart.element.dataset.section = section;
    chart.element.dataset.rank = rank(metric);
    chart.setSmoothing(state.smoothing);
    state.charts.set(metric, chart);
    const next = [...grid.children].find(c => c.dataset.rank > chart.element.dataset.rank);
    grid.insertBefore(chart.element, next ?? null);
  }

  for (const [metric, chart] of state.charts) {
    const series = [];
    for (const run of state.runs.values()) {
      const points = run.series.get(metric);
      if (run.plotted && points && points.length) series.push({ id: run.id, label: run.id, color: run.color, points });
    }
    chart.setSeries(series);
    chart.element.hidden = series.length === 0;
  }
}

// ------------------------------------------------------------------ event stream

async function connect() {
  if (state.events) state.events.close();
  setStatus("connecting", "connecting…");
  let url = "/dashboard/api/events";
  try {
    if (state.info.auth === "api_key") {
      const token = await api("/dashboard/api/stream-token", { method: "POST" });
      url += `?token=${enc(token.token)}`;
    }
  } catch (error) {
    if (error.status === 401) return;
    setStatus("offline", `offline: ${error.message}`);
    setTimeout(connect, 3000);
    return;
  }

  const events = new EventSource(url);
  state.events = events;
  const data = handler => message => handler(JSON.parse(message.data));
  events.addEventListener("hello", data(() => {
    for (const run of state.runs.values()) clearMetrics(run);
    setStatus("live", "live");
    queueRender();
  }));
  events.addEventListener("run", data(meta => {
    ensureRun(meta.run_id).meta = meta;
    queueRender();
  }));
  events.addEventListener("metrics", data(message => {
    addRecords(ensureRun(message.run_id), message.from, message.records);
    queueRender();
  }));
  events.addEventListener("reset", data(message => {
    clearMetrics(ensureRun(message.run_id));
    queueRender();
  }));
  events.onerror = () => {
    // Reconnect ourselves: a stream token is single-purpose and short-lived, so get a fresh one first.
    if (state.events !== events) return;
    events.close();
    state.events = null;
    setStatus("offline", "reconnecting…");
    setTimeout(connect, 2000);
  };
}

// ------------------------------------------------------------------ start-up

async function start() {
  $("sign-out").hidden = state.info.auth !== "api_key";
  await refreshRestRuns();
  connect();
  clearInterval(state.restTimer);
  state.restTimer = setInterval(() => {
    if (!state.key && state.info.auth === "api_key") return;
    refreshRestRuns();
    if (state.focused !== null) refreshCheckpoints();
  }, REST_REFRESH_MS);
}

async function main() {
  $("key-form").addEventListener("submit", submitKey);
  $("run-filter").addEventListener("input", () => queueRender());
  $("sign-out").addEventListener("click", () => askForKey(""));
  $("smoothing").addEventListener("input", event => {
    state.smoothing = Number(event.target.value);
    $("smoothing-value").textContent = event.target.value;
    for (const chart of state.charts.values()) chart.setSmoothing(state.smoothing);
  });

  try {
    state.info = await api("/dashboard/api/info");
  } catch (error) {
    setStatus("offline", `cannot reach the dashboard API: ${error.message}`);
    return;
  }
  $("mode").textContent = state.info.mode === "server" ? "server" : "local logs";
  $("source").textContent = state.info.log_path ? state.info.log_path : "";
  document.body.dataset.mode = state.info.mode;

  if (state.info.auth === "api_key") {
    state.key = sessionStorage.getItem(KEY_STORAGE);
    if (!state.key) {
      askForKey("");
      return;
    }
  }
  start();
}

main();
