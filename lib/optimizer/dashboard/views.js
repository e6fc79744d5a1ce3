// HTML of the dashboard's parts, built as strings (fast for hundreds of rows).
// Every value from the API goes through esc().

import { dur, esc, flatSettings, num, pct, val } from "./format.js";

const RUNNING_STATES = new Set(["idle", "describing", "baseline", "optimizing", "finishing"]);
const FAILED = new Set(["failed", "rejected", "guardrail", "cancelled"]);

/** Whether an app in this state can be stopped. @param {string} state */
export function canStop(state) {
  return RUNNING_STATES.has(state) && state !== "idle";
}

/** Whether an app in this state can be resumed. @param {string} state */
export function canResume(state) {
  return state === "stopped";
}

/** @param {string} state */
export function stateBadge(state) {
  return `<span class="state state-${esc(state)}">${esc(state)}</span>`;
}

/** The table of all apps. @param {any[]} apps @param {string | null} selected */
export function appList(apps, selected) {
  if (!apps.length) {
    const origin = typeof location === "undefined" ? "http://HOST:PORT" : location.origin;
    return `<p class="muted" id="no-apps">No app yet. Point a servo agent at this service: ` +
      `<code>servo run --url ${esc(origin)}/servo APP_ID</code> (the app <code>default</code>) ` +
      `or <code>--url ${esc(origin)}/accounts/ACCOUNT/applications/APP/servo</code>.</p>`;
  }
  const rows = apps.map((a) => {
    const done = a.trialsDone ?? 0;
    const budget = a.budget ?? 0;
    const imp = a.improvementPct;
    return `<tr class="app-row${a.app === selected ? " selected" : ""}" data-app="${
      esc(a.app)
    }" tabindex="0">` +
      `<td class="app-name"><a href="#app=${encodeURIComponent(a.app)}">${esc(a.app)}</a></td>` +
      `<td>${stateBadge(a.state)}</td>` +
      `<td class="trials"><progress max="${Math.max(1, budget)}" value="${
        Math.min(done, budget)
      }"></progress> ` +
      `<span class="count">${done} / ${budget}</span></td>` +
      `<td class="num best-perf">${esc(num(a.bestPerf))}</td>` +
      `<td class="num">${esc(num(a.baselinePerf))}</td>` +
      `<td class="num improvement ${imp > 0 ? "good" : imp < 0 ? "bad" : ""}">${
        esc(pct(imp))
      }</td>` +
      `<td class="muted">${esc(a.goal ?? "")}</td>` +
      `</tr>`;
  });
  return `<table class="apps" id="apps-table"><thead><tr><th>app</th><th>state</th><th>trials</th>` +
    `<th class="num">best perf</th><th class="num">baseline</th><th class="num">improvement</th>` +
    `<th>goal</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** The head of the app detail: key figures. @param {any} d AppDetail */
export function appHeader(d) {
  const imp = d.improvementPct;
  const stats = [
    ["state", stateBadge(d.state)],
    ["trials", `<span id="trials-done">${d.trialsDone ?? 0}</span> / ${d.budget ?? 0}`],
    ["baseline perf", esc(num(d.baselinePerf))],
    [
      "best perf",
      `<span id="best-perf">${esc(num(d.bestPerf))}</span>` +
      (d.best ? ` <span class="muted">(trial ${d.best.n})</span>` : ""),
    ],
    [
      "improvement",
      `<span class="${imp > 0 ? "good" : imp < 0 ? "bad" : ""}">${esc(pct(imp))}</span>`,
    ],
    ["goal", esc(d.goal ?? "")],
  ];
  let extra = "";
  if (d.perf) extra += `<div><span class="muted">perf =</span> <code>${esc(d.perf)}</code></div>`;
  if (d.guardrails?.length) {
    extra += `<div><span class="muted">guardrails:</span> ${
      d.guardrails.map((g) => `<code>${esc(g)}</code>`).join(", ")
    }</div>`;
  }
  return `<div class="stats">${
    stats.map(([k, v]) =>
      `<div class="stat"><div class="k">${k}</div><div class="v">${v}</div></div>`
    )
      .join("")
  }</div>${extra ? `<div class="formula">${extra}</div>` : ""}`;
}

/** The current operation. @param {any} cur CurrentOp | null @param {string} state */
export function currentOp(cur, state, now = Date.now()) {
  if (!cur) {
    const what = state === "done"
      ? "Done: the app runs on the best configuration."
      : state === "stopped"
      ? "Stopped by an operator. Resume to go on."
      : state === "failed"
      ? "The run failed."
      : state === "idle"
      ? "Waiting for an agent."
      : "No operation running.";
    return `<div class="op idle" id="current-op"><span class="muted">${esc(what)}</span></div>`;
  }
  const p = typeof cur.progress === "number" ? Math.max(0, Math.min(100, cur.progress)) : null;
  const started = new Date(cur.startedAt).getTime();
  const elapsed = Number.isNaN(started) ? null : Math.max(0, (now - started) / 1000);
  return `<div class="op" id="current-op">` +
    `<span class="cmd">${esc(cur.cmd)}</span>` +
    (typeof cur.trial === "number" ? ` <span class="op-trial">trial ${cur.trial}</span>` : "") +
    `<progress max="100" ${p === null ? "" : `value="${p}"`}></progress>` +
    `<span class="op-progress">${p === null ? "…" : `${Math.round(p)}%`}</span>` +
    `<span class="op-elapsed muted" data-started="${esc(cur.startedAt)}">${
      esc(dur(elapsed))
    }</span>` +
    (cur.message ? `<span class="op-message">${esc(cur.message)}</span>` : "") +
    `</div>`;
}

/** Best configuration beside the baseline, setting by setting. @param {any} d AppDetail */
export function bestVsBaseline(d) {
  const base = new Map(flatSettings(d.baseline?.settings));
  const best = new Map(flatSettings(d.best?.settings));
  const keys = [...new Set([...base.keys(), ...best.keys()])];
  if (!keys.length) return `<p class="muted">No configuration yet.</p>`;
  let changed = 0;
  const rows = keys.map((k) => {
    const b = base.get(k);
    const v = best.has(k) ? best.get(k) : undefined;
    const isChanged = d.best && v !== undefined && b !== v;
    if (isChanged) changed++;
    return `<tr class="${isChanged ? "changed" : ""}" data-setting="${esc(k)}"><td>${esc(k)}</td>` +
      `<td class="num">${esc(val(b))}</td><td class="num">${d.best ? esc(val(v)) : "–"}</td>` +
      `<td class="delta">${isChanged ? delta(b, v) : ""}</td></tr>`;
  });
  const bm = d.baseline?.metrics ?? {};
  const tm = d.best?.metrics ?? {};
  const aliases = perfAliases(d);
  const mkeys = [...new Set([...Object.keys(bm), ...Object.keys(tm)])].filter((k) =>
    !aliases.has(k)
  );
  const mrows = mkeys.map((k) =>
    `<tr class="metric"><td>${esc(k)}</td><td class="num">${esc(num(bm[k]))}</td>` +
    `<td class="num">${esc(num(tm[k]))}</td><td class="delta">${relDelta(bm[k], tm[k])}</td></tr>`
  );
  const perfRow =
    `<tr class="perf-row"><td>perf</td><td class="num">${esc(num(d.baseline?.perf))}</td>` +
    `<td class="num">${esc(num(d.best?.perf))}</td><td class="delta">${
      esc(pct(d.improvementPct))
    }</td></tr>`;
  return `<table class="compare" id="compare-table"><thead><tr><th>setting</th><th class="num">baseline</th>` +
    `<th class="num">best${d.best ? ` (trial ${d.best.n})` : ""}</th><th></th></tr></thead>` +
    `<tbody>${rows.join("")}</tbody>` +
    `<tbody class="metrics">${perfRow}${mrows.join("")}</tbody></table>` +
    `<p class="muted small">${changed} of ${keys.length} settings changed</p>`;
}

function delta(a, b) {
  if (typeof a === "number" && typeof b === "number") {
    const d = b - a;
    return `${d > 0 ? "▲ +" : "▼ "}${esc(num(d))}`;
  }
  return "changed";
}

function relDelta(a, b) {
  if (typeof a !== "number" || typeof b !== "number" || a === 0) return "";
  const r = ((b - a) / Math.abs(a)) * 100;
  return esc(pct(r));
}

/**
 * Metrics that only repeat perf (the formula is just that metric): the
 * tables leave them out.
 * @param {any} d AppDetail
 */
export function perfAliases(d) {
  const out = new Set();
  const trials = d.trials ?? [];
  const names = new Set(trials.flatMap((t) => Object.keys(t.metrics ?? {})));
  for (const k of names) {
    if (d.perf !== k) continue;
    if (trials.every((t) => !(k in (t.metrics ?? {})) || t.metrics[k] === t.perf)) out.add(k);
  }
  return out;
}

/**
 * Columns of the trial table for this detail. Settings are labelled
 * `component.setting`, or just `setting` when there is one component.
 * @param {any} d AppDetail
 * @returns {{ key: string, label: string, kind: string, get: (t: any) => any, comp?: string, name?: string }[]}
 */
export function trialColumns(d) {
  /** @type {Map<string, [string, string]>} */
  const settingKeys = new Map();
  const metricKeys = new Set();
  for (const t of d.trials ?? []) {
    for (const [comp, vals] of Object.entries(t.settings ?? {})) {
      for (const name of Object.keys(vals ?? {})) {
        settingKeys.set(JSON.stringify([comp, name]), [comp, name]);
      }
    }
    for (const k of Object.keys(t.metrics ?? {})) metricKeys.add(k);
  }
  const comps = new Set([...settingKeys.values()].map(([c]) => c));
  const cols = [
    { key: "n", label: "#", kind: "num", get: (t) => t.n },
    { key: "status", label: "status", kind: "str", get: (t) => t.status },
    { key: "perf", label: "perf", kind: "num", get: (t) => t.perf },
    { key: "duration", label: "duration", kind: "num", get: (t) => t.durationSec ?? null },
  ];
  for (const [comp, name] of settingKeys.values()) {
    cols.push({
      key: `s:${comp}.${name}`,
      label: comps.size > 1 ? `${comp}.${name}` : name,
      kind: "setting",
      comp,
      name,
      get: (t) => t.settings?.[comp]?.[name] ?? null,
    });
  }
  const aliases = perfAliases(d);
  for (const k of metricKeys) {
    if (aliases.has(k)) continue;
    cols.push({
      key: `m:${k}`,
      label: String(k),
      kind: "metric",
      get: (t) => t.metrics?.[k] ?? null,
    });
  }
  return cols;
}

/** Compare two cell values; nulls always last. */
function cmp(a, b, dir) {
  const an = a === null || a === undefined;
  const bn = b === null || b === undefined;
  if (an || bn) return an && bn ? 0 : an ? 1 : -1;
  if (typeof a === "number" && typeof b === "number") return (a - b) * dir;
  return String(a).localeCompare(String(b), undefined, { numeric: true }) * dir;
}

/** Height of one trial row in px (fixed by the CSS, so rows can be windowed). */
export const ROW_H = 29;

/**
 * The trial table's model: columns, rows in sort order, column widths.
 * @param {any} d AppDetail
 * @param {{ key: string, dir: number }} sort
 */
export function trialModel(d, sort) {
  const cols = trialColumns(d);
  const col = cols.find((c) => c.key === sort.key) ?? cols[0];
  const rows = [...(d.trials ?? [])];
  rows.sort((a, b) => cmp(col.get(a), col.get(b), sort.dir) || a.n - b.n);
  // widths in ch from the longest text of each column, so that windowing
  // (only some rows in the DOM) never changes the layout
  const widths = cols.map((c) => {
    let w = c.label.length + 2;
    for (const t of rows) {
      const v = c.get(t);
      const len = c.key === "status"
        ? String(v).length + 6
        : c.key === "duration"
        ? dur(v).length
        : c.key === "n"
        ? String(v).length + 5
        : c.kind === "setting"
        ? val(v).length
        : num(v).length;
      if (len > w) w = len;
    }
    return Math.min(w, 40);
  });
  const index = new Map(rows.map((t, i) => [t.n, i]));
  return { cols, col, rows, widths, index, sort };
}

/**
 * The trial table with rows [from, to) in the DOM and spacers for the rest.
 * @param {any} d AppDetail
 * @param {ReturnType<typeof trialModel>} model
 * @param {number | null} selected
 * @param {number} from
 * @param {number} to
 */
export function trialTable(d, model, selected, from, to) {
  const { cols, col, rows, widths, sort } = model;
  const colgroup = widths.map((w) => `<col style="width:calc(${w}ch + 18px)">`).join("") +
    `<col style="width:calc(6ch + 18px)">`;
  const head = cols.map((c) => {
    const arrow = c.key === col.key ? (sort.dir > 0 ? " ▲" : " ▼") : "";
    const group = c.kind === "setting" ? " setting-col" : c.kind === "metric" ? " metric-col" : "";
    return `<th class="sortable${c.kind !== "str" ? " num" : ""}${group}" data-key="${
      esc(c.key)
    }" ` +
      `title="${esc(c.label)}" ` +
      `aria-sort="${c.key === col.key ? (sort.dir > 0 ? "ascending" : "descending") : "none"}">` +
      `${esc(c.label)}${arrow}</th>`;
  }).join("");
  return `<table class="trials" id="trials-table" data-total="${rows.length}">` +
    `<colgroup>${colgroup}</colgroup><thead><tr>${head}<th></th></tr></thead>` +
    `<tbody>${trialRows(d, model, selected, from, to)}</tbody></table>`;
}

/**
 * The tbody content: rows [from, to) between two spacer rows.
 * @param {any} d AppDetail
 * @param {ReturnType<typeof trialModel>} model
 * @param {number | null} selected
 * @param {number} from
 * @param {number} to
 */
export function trialRows(d, model, selected, from, to) {
  const { cols, rows } = model;
  const base = d.baseline?.settings ?? d.trials?.find((t) => t.n === 0)?.settings ?? {};
  const bestN = d.best?.n;
  const app = encodeURIComponent(d.app);
  const span = cols.length + 1;
  const out = [];
  if (from > 0) {
    out.push(
      `<tr class="spacer" aria-hidden="true"><td colspan="${span}" style="height:${
        from * ROW_H
      }px"></td></tr>`,
    );
  }
  for (const t of rows.slice(from, to)) {
    const cls = ["trial"];
    if (t.n === 0) cls.push("baseline");
    if (t.n === bestN) cls.push("best");
    if (FAILED.has(t.status)) cls.push("failed");
    if (t.status === "running") cls.push("running");
    if (t.n === selected) cls.push("selected");
    const cells = cols.map((c) => {
      const v = c.get(t);
      if (c.key === "n") {
        return `<td class="num">${t.n}${t.n === 0 ? ' <span class="muted">base</span>' : ""}</td>`;
      }
      if (c.key === "status") {
        const why = t.reason || t.message;
        return `<td><span class="status status-${esc(t.status)}"${
          why ? ` title="${esc(why)}"` : ""
        }>${esc(t.status)}</span>${
          t.n === bestN ? ' <span class="star" title="best">★</span>' : ""
        }</td>`;
      }
      if (c.key === "duration") return `<td class="num">${esc(dur(v))}</td>`;
      if (c.kind === "setting") {
        const b = base?.[c.comp ?? ""]?.[c.name ?? ""];
        const diff = t.n !== 0 && b !== undefined && v !== b;
        return `<td class="num${diff ? " diff" : ""}">${esc(val(v))}</td>`;
      }
      return `<td class="num">${esc(num(v))}</td>`;
    }).join("");
    out.push(
      `<tr class="${cls.join(" ")}" id="trial-${t.n}" data-n="${t.n}">${cells}` +
        `<td><a class="events-link" href="#app=${app}&amp;events=${t.n}">events</a></td></tr>`,
    );
  }
  if (to < rows.length) {
    out.push(
      `<tr class="spacer" aria-hidden="true"><td colspan="${span}" style="height:${
        (rows.length - to) * ROW_H
      }px"></td></tr>`,
    );
  }
  return out.join("");
}

/** The raw events of a trial. @param {any[]} events */
export function eventList(events) {
  if (!events.length) return `<p class="muted">No events stored for this trial.</p>`;
  return events.map((e) =>
    `<div class="event"><div class="event-head"><span class="event-name">${esc(e.event)}</span> ` +
    `<span class="muted">#${esc(e.id)} · ${esc(e.at)}</span></div>` +
    `<div class="event-body"><div><div class="muted small">param</div><pre>${
      esc(JSON.stringify(e.param, null, 2))
    }</pre></div>` +
    `<div><div class="muted small">response</div><pre>${
      esc(JSON.stringify(e.response, null, 2))
    }</pre></div></div></div>`
  ).join("");
}
