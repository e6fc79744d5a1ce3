// The dashboard page: app list, app detail, live updates from GET /api/stream
// (fetch() so the bearer token goes along), polling when the stream fails.

import { Api, ApiError, appPath } from "./api.js";
import { chartSvg } from "./chart.js";
import { dur } from "./format.js";
import {
  appHeader,
  appList,
  bestVsBaseline,
  canResume,
  canStop,
  currentOp,
  eventList,
  ROW_H,
  trialModel,
  trialRows,
  trialTable,
} from "./views.js";

const POLL_MS = 2000;
/** Up to this many trials every row is in the DOM; above, only the rows in view. */
const ALL_ROWS = 150;
const OVERSCAN = 40;
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

const state = {
  /** @type {Map<string, any>} app -> AppSummary */
  apps: new Map(),
  /** @type {string | null} */
  selected: null,
  /** @type {any} AppDetail of the selected app */
  detail: null,
  /** @type {Map<string, any>} app -> CurrentOp | null (latest from the stream) */
  current: new Map(),
  sort: { key: "n", dir: -1 },
  /** @type {number | null} */
  selectedTrial: null,
  conn: "connecting",
  listKey: "",
  tableKey: "",
  modelKey: "",
  /** @type {ReturnType<typeof trialModel> | null} */
  model: null,
  win: { from: 0, to: 0 },
  chartKey: "",
  msgKey: "",
  /** Bumped when the selection is reset: a detail requested before is stale. */
  gen: 0,
};

const api = new Api({ askToken });

// ---------- token prompt ----------

/** @param {boolean} rejected */
function askToken(rejected) {
  const dlg = /** @type {HTMLDialogElement} */ ($("token-dialog"));
  const input = /** @type {HTMLInputElement} */ ($("token-input"));
  $("token-why").textContent = rejected
    ? "The token was rejected. Enter the service's API token."
    : "This service needs an API token to show its data.";
  input.value = "";
  return new Promise((resolve) => {
    const form = $("token-form");
    const done = (value) => {
      form.removeEventListener("submit", onSubmit);
      $("token-cancel").removeEventListener("click", onCancel);
      dlg.removeEventListener("cancel", onCancel);
      if (dlg.open) dlg.close();
      resolve(value);
    };
    const onSubmit = (e) => {
      e.preventDefault();
      done(input.value.trim() || null);
    };
    const onCancel = (e) => {
      e.preventDefault();
      done(null);
    };
    form.addEventListener("submit", onSubmit);
    $("token-cancel").addEventListener("click", onCancel);
    dlg.addEventListener("cancel", onCancel);
    dlg.showModal();
    input.focus();
  });
}

// ---------- banner + connection ----------

function showError(err) {
  const b = $("banner");
  if (!err) {
    b.hidden = true;
    b.textContent = "";
    return;
  }
  b.hidden = false;
  b.textContent = "";
  const msg = document.createElement("span");
  msg.textContent = err instanceof Error ? err.message : String(err);
  b.append(msg);
  if (err instanceof ApiError && err.status === 401) {
    const btn = document.createElement("button");
    btn.className = "btn";
    btn.textContent = "Enter token";
    btn.addEventListener("click", async () => {
      if (await api.promptToken(true)) refreshAll();
    });
    b.append(" ", btn);
  }
}

/** @param {"connecting" | "live" | "polling" | "offline"} c */
function setConn(c) {
  state.conn = c;
  const el = $("conn");
  el.className = `conn conn-${c}`;
  el.textContent = c === "live" ? "live" : c === "polling" ? "polling" : c;
  el.title = c === "live"
    ? "Live updates from the service's event stream"
    : c === "polling"
    ? `The event stream is not available; refreshing every ${POLL_MS / 1000} s`
    : "Connecting to the service";
}

// ---------- routing ----------

function readHash() {
  const p = new URLSearchParams(location.hash.replace(/^#/, ""));
  const ev = p.get("events");
  return { app: p.get("app"), events: ev !== null && /^\d+$/.test(ev) ? Number(ev) : null };
}

function onHash() {
  const h = readHash();
  if (h.app && h.app !== state.selected) select(h.app);
  if (h.app && h.events !== null) showEvents(h.app, h.events);
  else closeEvents(false);
}

/** @param {string} app */
function select(app) {
  if (state.selected !== app) {
    state.selected = app;
    state.gen++;
    state.detail = null;
    state.selectedTrial = null;
    state.tableKey =
      state.chartKey =
      state.msgKey =
      state.modelKey =
        "";
    state.model = null;
    state.sort = { key: "n", dir: -1 };
    $("detail").hidden = false;
    $("app-title").textContent = app;
    $("app-header").innerHTML = "";
    $("current").innerHTML = "";
    $("chart").innerHTML = `<p class="muted">Loading…</p>`;
    $("compare").innerHTML = "";
    $("trials").innerHTML = "";
    renderList();
  }
  loadDetail();
}

// ---------- loading ----------

async function loadApps() {
  try {
    const res = await api.json("/api/apps");
    const apps = Array.isArray(res?.apps) ? res.apps : [];
    state.apps = new Map(apps.map((a) => [a.app, a]));
    showError(null);
    if (!state.selected) {
      const h = readHash();
      const first = h.app ?? apps[0]?.app;
      if (first) {
        if (!h.app) history.replaceState(null, "", `#app=${encodeURIComponent(first)}`);
        select(first);
      }
    }
    renderList();
  } catch (err) {
    showError(err);
  }
}

let detailInFlight = false;
let detailAgain = false;
/** @type {number | undefined} */
let detailTimer;

/** Fetch the selected app's detail soon (coalesces bursts of messages). */
function scheduleDetail(delay = 120) {
  if (detailTimer !== undefined) return;
  detailTimer = setTimeout(() => {
    detailTimer = undefined;
    loadDetail();
  }, delay);
}

async function loadDetail() {
  const app = state.selected;
  if (!app) return;
  if (detailInFlight) {
    detailAgain = true;
    return;
  }
  detailInFlight = true;
  const gen = state.gen;
  try {
    const d = await api.json(appPath(app));
    if (state.selected !== app || state.gen !== gen) return;
    state.detail = d;
    state.current.set(app, d.current ?? null);
    state.apps.set(app, { ...state.apps.get(app), ...summaryOf(d) });
    showError(null);
    renderDetail();
    renderList();
  } catch (err) {
    if (state.selected === app && state.gen === gen) {
      if (err instanceof ApiError && err.status === 404) {
        state.apps.delete(app);
        renderList();
        $("chart").innerHTML = `<p class="muted">No app named ${escText(app)}.</p>`;
      } else showError(err);
    }
  } finally {
    detailInFlight = false;
    if (detailAgain) {
      detailAgain = false;
      scheduleDetail(0);
    }
  }
}

function summaryOf(d) {
  const keys = [
    "app",
    "state",
    "goal",
    "budget",
    "trialsDone",
    "baselinePerf",
    "bestPerf",
    "improvementPct",
    "updatedAt",
  ];
  return Object.fromEntries(keys.map((k) => [k, d[k]]));
}

function refreshAll() {
  loadApps();
  loadDetail();
}

// ---------- live updates ----------

/** @param {any} msg StreamMessage */
function onMessage(msg) {
  if (msg?.type === "removed" && typeof msg.app === "string") {
    state.apps.delete(msg.app);
    state.current.delete(msg.app);
    renderList();
    if (msg.app === state.selected) {
      // Clear the panes and ask again: "No app named ..." (an app of the
      // service config comes back fresh).
      state.selected = null;
      select(msg.app);
    }
    return;
  }
  if (!msg || msg.type !== "app" || typeof msg.app !== "string") return;
  const known = state.apps.has(msg.app);
  if (msg.summary) state.apps.set(msg.app, msg.summary);
  state.current.set(msg.app, msg.current ?? null);
  renderList();
  if (!state.selected && !known) select(msg.app);
  if (msg.app !== state.selected) return;
  const s = msg.summary ?? {};
  const c = msg.current;
  const key = [s.state, s.trialsDone, s.bestPerf, s.budget, c?.cmd, c?.trial].join("|");
  if (state.detail) {
    // progress and message show at once; trials and best come with the detail
    state.detail.current = c ?? null;
    renderCurrent();
  }
  if (key !== state.msgKey) {
    state.msgKey = key;
    scheduleDetail();
  }
}

let pollTimer;
function startPolling() {
  if (pollTimer !== undefined) return;
  pollTimer = setInterval(refreshAll, POLL_MS);
}
function stopPolling() {
  if (pollTimer === undefined) return;
  clearInterval(pollTimer);
  pollTimer = undefined;
}

async function streamLoop() {
  let failures = 0;
  for (;;) {
    const ac = new AbortController();
    try {
      await api.stream(onMessage, () => {
        failures = 0;
        setConn("live");
        stopPolling();
        refreshAll();
      }, ac.signal);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) showError(err);
    }
    failures++;
    setConn("polling");
    startPolling();
    refreshAll();
    await new Promise((r) => setTimeout(r, Math.min(30_000, 1000 * 2 ** Math.min(failures, 5))));
  }
}

// ---------- rendering ----------

function escText(s) {
  const d = document.createElement("span");
  d.textContent = s;
  return d.innerHTML;
}

function renderList() {
  const apps = [...state.apps.values()].sort((a, b) => String(a.app).localeCompare(String(b.app)));
  const key = JSON.stringify([state.selected, apps]);
  if (key === state.listKey) return;
  state.listKey = key;
  $("apps").innerHTML = appList(apps, state.selected);
}

function renderCurrent() {
  const d = state.detail;
  if (!d) return;
  $("current").innerHTML = currentOp(d.current, d.state);
}

function renderChart(force = false) {
  const d = state.detail;
  if (!d) return;
  const box = $("chart");
  const width = box.clientWidth || 640;
  const t = d.trials ?? [];
  const key = JSON.stringify([
    width,
    state.selectedTrial,
    d.goal,
    d.budget,
    d.baselinePerf,
    d.best?.n,
    d.current?.trial,
    t.length,
    t.map((x) => [x.n, x.status, x.perf]),
  ]);
  if (!force && key === state.chartKey) return;
  state.chartKey = key;
  box.innerHTML = chartSvg(d, { width, selected: state.selectedTrial });
}

/** The rows [from, to) to put in the DOM for the scroll position of the table. */
function windowFor(total) {
  if (total <= ALL_ROWS) return { from: 0, to: total };
  const box = $("trials");
  const first = Math.max(0, Math.floor((box.scrollTop - ROW_H) / ROW_H));
  const from = Math.max(0, first - OVERSCAN);
  const to = Math.min(total, first + Math.ceil((box.clientHeight || 560) / ROW_H) + OVERSCAN);
  return { from, to };
}

function renderTable() {
  const d = state.detail;
  if (!d) return;
  const mkey = JSON.stringify([d.app, state.sort, d.best?.n, d.baseline?.settings, d.trials]);
  if (mkey !== state.modelKey) {
    state.modelKey = mkey;
    state.model = trialModel(d, state.sort);
    state.tableKey = "";
  }
  const model = /** @type {ReturnType<typeof trialModel>} */ (state.model);
  const win = windowFor(model.rows.length);
  const key = JSON.stringify([state.selectedTrial, win]);
  if (key === state.tableKey) return;
  state.tableKey = key;
  state.win = win;
  // (the scroll box keeps its scroll position)
  $("trials").innerHTML = trialTable(d, model, state.selectedTrial, win.from, win.to);
  const n = model.rows.length;
  $("trial-count").textContent = n ? `(${n}, baseline included)` : "";
}

/** On scroll: move the window of rows when the view nears its edge. */
function onTableScroll() {
  const d = state.detail;
  const model = state.model;
  if (!d || !model || model.rows.length <= ALL_ROWS) return;
  const box = $("trials");
  const first = Math.floor(box.scrollTop / ROW_H);
  const last = first + Math.ceil(box.clientHeight / ROW_H);
  const { from, to } = state.win;
  const margin = 8;
  if ((first - margin < from && from > 0) || (last + margin > to && to < model.rows.length)) {
    const win = windowFor(model.rows.length);
    state.win = win;
    state.tableKey = JSON.stringify([state.selectedTrial, win]);
    const body = document.querySelector("#trials-table tbody");
    if (body) body.innerHTML = trialRows(d, model, state.selectedTrial, win.from, win.to);
  }
}

function renderDetail() {
  const d = state.detail;
  if (!d) return;
  document.title = `servo · ${d.app} · ${d.state}`;
  $("app-title").textContent = d.app;
  $("app-header").innerHTML = appHeader(d);
  renderCurrent();
  /** @type {HTMLButtonElement} */ ($("stop-btn")).disabled = !canStop(d.state);
  /** @type {HTMLButtonElement} */ ($("resume-btn")).disabled = !canResume(d.state);
  renderChart();
  $("compare").innerHTML = bestVsBaseline(d);
  renderTable();
}

/** @param {number | null} n @param {boolean} scroll */
function selectTrial(n, scroll) {
  state.selectedTrial = state.selectedTrial === n ? null : n;
  const model = state.model;
  if (scroll && state.selectedTrial !== null && model) {
    const i = model.index.get(state.selectedTrial);
    const box = $("trials");
    if (i !== undefined) {
      box.scrollTop = Math.max(0, (i + 1) * ROW_H - box.clientHeight / 2);
      box.scrollIntoView({ block: "nearest" });
    }
  }
  renderChart();
  renderTable();
}

// ---------- events dialog ----------

let eventsAbort;
async function showEvents(app, n) {
  const dlg = /** @type {HTMLDialogElement} */ ($("events-dialog"));
  $("events-title").textContent = `${app} · trial ${n} · raw events`;
  $("events-body").innerHTML = `<p class="muted">Loading…</p>`;
  if (!dlg.open) dlg.showModal();
  eventsAbort?.abort();
  eventsAbort = new AbortController();
  try {
    const res = await api.json(`${appPath(app)}/trials/${n}/events`, eventsAbort.signal);
    $("events-body").innerHTML = eventList(Array.isArray(res?.events) ? res.events : []);
  } catch (err) {
    if (/** @type {any} */ (err)?.name === "AbortError") return;
    $("events-body").textContent = err instanceof Error ? err.message : String(err);
  }
}

function closeEvents(updateHash = true) {
  const dlg = /** @type {HTMLDialogElement} */ ($("events-dialog"));
  eventsAbort?.abort();
  if (dlg.open) dlg.close();
  if (updateHash && readHash().events !== null && state.selected) {
    history.pushState(null, "", `#app=${encodeURIComponent(state.selected)}`);
  }
}

// ---------- actions ----------

/** @param {"stop" | "resume"} what */
async function action(what) {
  const app = state.selected;
  if (!app) return;
  const btn = /** @type {HTMLButtonElement} */ ($(`${what}-btn`));
  btn.disabled = true;
  $("action-msg").textContent = what === "stop" ? "Stopping…" : "Resuming…";
  try {
    await api.post(`${appPath(app)}/${what}`);
    $("action-msg").textContent = "";
  } catch (err) {
    $("action-msg").textContent = `${what === "stop" ? "Stop" : "Resume"} failed: ${
      err instanceof Error ? err.message : String(err)
    }`;
  }
  await loadDetail();
  loadApps();
}

// ---------- wiring ----------

function wire() {
  globalThis.addEventListener("hashchange", onHash);
  $("stop-btn").addEventListener("click", () => action("stop"));
  $("resume-btn").addEventListener("click", () => action("resume"));
  $("events-close").addEventListener("click", () => closeEvents());
  $("events-dialog").addEventListener("close", () => {
    if (readHash().events !== null && state.selected) {
      history.pushState(null, "", `#app=${encodeURIComponent(state.selected)}`);
    }
  });
  $("apps").addEventListener("click", (e) => {
    const row = /** @type {HTMLElement} */ (e.target).closest("tr.app-row");
    if (!row) return;
    e.preventDefault();
    const app = row.getAttribute("data-app");
    if (app) {
      history.pushState(null, "", `#app=${encodeURIComponent(app)}`);
      select(app);
    }
  });
  $("apps").addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    const row = /** @type {HTMLElement} */ (e.target).closest("tr.app-row");
    const app = row?.getAttribute("data-app");
    if (app) {
      history.pushState(null, "", `#app=${encodeURIComponent(app)}`);
      select(app);
    }
  });
  $("trials").addEventListener("click", (e) => {
    const target = /** @type {HTMLElement} */ (e.target);
    const th = target.closest("th.sortable");
    if (th) {
      const key = th.getAttribute("data-key") ?? "n";
      state.sort = state.sort.key === key ? { key, dir: -state.sort.dir } : { key, dir: 1 };
      renderTable();
      return;
    }
    if (target.closest("a")) return; // the events link
    const row = target.closest("tr.trial");
    if (row) selectTrial(Number(row.getAttribute("data-n")), false);
  });
  let scrollFrame = 0;
  $("trials").addEventListener("scroll", () => {
    if (scrollFrame) return;
    scrollFrame = requestAnimationFrame(() => {
      scrollFrame = 0;
      onTableScroll();
    });
  }, { passive: true });
  $("chart").addEventListener("click", (e) => {
    const pt = /** @type {HTMLElement} */ (e.target).closest(".pt");
    if (pt) selectTrial(Number(pt.getAttribute("data-n")), true);
  });
  let resizeTimer;
  globalThis.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => renderChart(), 100);
  });
  // elapsed time of the running operation
  setInterval(() => {
    for (const el of document.querySelectorAll(".op-elapsed[data-started]")) {
      const t = new Date(el.getAttribute("data-started") ?? "").getTime();
      if (!Number.isNaN(t)) el.textContent = dur(Math.max(0, (Date.now() - t) / 1000));
    }
  }, 1000);
}

wire();
setConn("connecting");
const first = readHash();
if (first.app) select(first.app);
loadApps().then(() => {
  if (first.app && first.events !== null) showEvents(first.app, first.events);
});
streamLoop();
