// The perf-per-trial chart: hand-drawn SVG (a few hundred points render in
// well under a frame). Dots are measured trials, the step line is the best
// so far, red crosses are failed trials, the dashed line is the baseline.

import { esc, num } from "./format.js";

const FAILED = new Set(["failed", "rejected", "guardrail", "cancelled"]);

/** Round tick values for [lo, hi]. */
export function ticks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    out.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  }
  return out;
}

/**
 * The chart as an SVG string.
 * @param {any} detail AppDetail
 * @param {{ width: number, height?: number, selected?: number | null }} opts
 */
export function chartSvg(detail, opts) {
  const W = Math.max(320, Math.floor(opts.width));
  const H = opts.height ?? 280;
  const m = { l: 64, r: 16, t: 14, b: 40 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b - 18; // the strip under the plot holds failures without a perf
  const trials = detail.trials ?? [];
  const maximize = detail.goal !== "minimize";

  let maxN = Math.max(1, detail.budget ?? 0);
  /** @type {number[]} */
  const ys = [];
  for (const t of trials) {
    if (t.n > maxN) maxN = t.n;
    if (typeof t.perf === "number" && Number.isFinite(t.perf)) ys.push(t.perf);
  }
  if (typeof detail.baselinePerf === "number") ys.push(detail.baselinePerf);
  let lo = ys.length ? Math.min(...ys) : 0;
  let hi = ys.length ? Math.max(...ys) : 1;
  if (hi === lo) {
    const d = Math.abs(hi) * 0.1 || 1;
    lo -= d;
    hi += d;
  }
  const pad = (hi - lo) * 0.06;
  lo -= pad;
  hi += pad;
  const xpad = 8; // room for the first and last points
  const x = (n) => m.l + xpad + (n / maxN) * (pw - 2 * xpad);
  const y = (v) => m.t + (1 - (v - lo) / (hi - lo)) * ph;
  const failY = m.t + ph + 14;

  const parts = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${W} ${H}" ` +
      `width="${W}" height="${H}" role="img" aria-label="perf per trial">`,
  );
  // grid + axes
  for (const v of ticks(lo, hi, 5)) {
    if (v < lo || v > hi) continue;
    const yy = y(v).toFixed(1);
    parts.push(`<line class="grid" x1="${m.l}" x2="${W - m.r}" y1="${yy}" y2="${yy}"/>`);
    parts.push(
      `<text class="tick" x="${m.l - 6}" y="${yy}" text-anchor="end" dy="0.32em">${
        esc(num(v))
      }</text>`,
    );
  }
  for (const n of ticks(0, maxN, Math.min(10, maxN))) {
    if (!Number.isInteger(n)) continue;
    const xx = x(n).toFixed(1);
    parts.push(
      `<line class="tickmark" x1="${xx}" x2="${xx}" y1="${m.t + ph}" y2="${m.t + ph + 4}"/>`,
    );
    parts.push(`<text class="tick" x="${xx}" y="${H - m.b + 16}" text-anchor="middle">${n}</text>`);
  }
  parts.push(`<line class="axis" x1="${m.l}" x2="${W - m.r}" y1="${m.t + ph}" y2="${m.t + ph}"/>`);
  parts.push(`<line class="axis" x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${m.t + ph}"/>`);
  parts.push(
    `<text class="label" x="${m.l + pw / 2}" y="${H - 4}" text-anchor="middle">trial</text>`,
  );
  parts.push(
    `<text class="label" transform="translate(12 ${
      m.t + ph / 2
    }) rotate(-90)" text-anchor="middle">perf (${maximize ? "higher" : "lower"} is better)</text>`,
  );

  // the running trial
  const cur = detail.current;
  if (cur && typeof cur.trial === "number" && cur.trial <= maxN) {
    const xx = x(cur.trial).toFixed(1);
    parts.push(`<line class="running" x1="${xx}" x2="${xx}" y1="${m.t}" y2="${m.t + ph}"/>`);
  }

  // baseline
  if (typeof detail.baselinePerf === "number") {
    const yy = y(detail.baselinePerf).toFixed(1);
    parts.push(`<line class="baseline" x1="${m.l}" x2="${W - m.r}" y1="${yy}" y2="${yy}"/>`);
    parts.push(
      `<text class="baseline-label" x="${
        W - m.r - 4
      }" y="${yy}" dy="-4" text-anchor="end">baseline</text>`,
    );
  }

  // best so far (step line over measured, successful trials)
  const sorted = trials.filter((t) => t.status === "ok" && typeof t.perf === "number")
    .sort((a, b) => a.n - b.n);
  if (sorted.length) {
    let best = sorted[0].perf;
    let d = `M${x(sorted[0].n).toFixed(1)},${y(best).toFixed(1)}`;
    for (const t of sorted.slice(1)) {
      const better = maximize ? t.perf > best : t.perf < best;
      if (better) {
        d += `H${x(t.n).toFixed(1)}V${y(t.perf).toFixed(1)}`;
        best = t.perf;
      }
    }
    const lastN = Math.max(sorted[sorted.length - 1].n, ...trials.map((t) => t.n));
    d += `H${x(lastN).toFixed(1)}`;
    parts.push(`<path class="bestline" d="${d}"/>`);
  }

  // points
  const bestN = detail.best?.n;
  const r = trials.length > 150 ? 3 : 4;
  for (const t of trials) {
    const xx = x(t.n).toFixed(1);
    const sel = opts.selected === t.n ? " selected" : "";
    const tip = `trial ${t.n}${t.n === 0 ? " (baseline)" : ""}: ${t.status}` +
      (typeof t.perf === "number" ? `, perf ${num(t.perf)}` : "") +
      (t.reason ? ` (${t.reason})` : "");
    if (FAILED.has(t.status)) {
      const yy = typeof t.perf === "number" ? y(t.perf) : failY;
      const s = r + 0.5;
      parts.push(
        `<g class="pt fail${sel}" data-n="${t.n}" data-status="${esc(t.status)}"><title>${
          esc(tip)
        }</title>` +
          `<path d="M${(+xx - s).toFixed(1)},${(yy - s).toFixed(1)}l${2 * s},${2 * s}m0,${-2 * s}l${
            -2 * s
          },${2 * s}"/>` +
          `<rect class="hit" x="${(+xx - 6).toFixed(1)}" y="${
            (yy - 6).toFixed(1)
          }" width="12" height="12"/></g>`,
      );
    } else if (typeof t.perf === "number") {
      const yy = y(t.perf).toFixed(1);
      const cls = t.n === 0 ? "base" : t.n === bestN ? "best" : "ok";
      const rr = t.n === bestN ? r + 2 : r;
      parts.push(
        `<g class="pt ${cls}${sel}" data-n="${t.n}" data-status="${esc(t.status)}"><title>${
          esc(tip)
        }</title>` +
          `<circle cx="${xx}" cy="${yy}" r="${rr}"/></g>`,
      );
    }
  }
  if (!ys.length) {
    parts.push(
      `<text class="empty" x="${m.l + pw / 2}" y="${
        m.t + ph / 2
      }" text-anchor="middle">no measured trial yet</text>`,
    );
  }
  parts.push("</svg>");
  return parts.join("");
}
