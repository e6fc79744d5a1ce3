// Formatting helpers of the dashboard: HTML escaping, numbers, durations.

/** @param {unknown} s */
export function esc(s) {
  return String(s ?? "")
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** A number with about 4 significant digits; "–" for none. */
export function num(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v !== "number") return String(v);
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e7) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e7 || a < 1e-3)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}

/** A setting value (number, enum string or null). */
export function val(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") return num(v);
  return String(v);
}

/** Improvement in percent with its sign. */
export function pct(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const s = Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1);
  return (v > 0 ? "+" : "") + s + "%";
}

/** Seconds as "850 ms", "12.3 s", "4m 05s", "1h 02m". */
export function dur(sec) {
  if (sec === null || sec === undefined || !Number.isFinite(sec)) return "–";
  if (sec < 1) return `${Math.round(sec * 1000)} ms`;
  if (sec < 60) return `${sec.toFixed(1)} s`;
  const m = Math.floor(sec / 60);
  if (m < 60) return `${m}m ${String(Math.round(sec % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

/** Time of day of an ISO date, or "–". */
export function clock(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "–";
  return d.toLocaleTimeString([], { hour12: false });
}

/** "3 s ago" style age of an ISO date. */
export function ago(iso, now = Date.now()) {
  if (!iso) return "–";
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return "–";
  const s = Math.max(0, (now - t) / 1000);
  if (s < 60) return `${Math.floor(s)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

/** Settings {component: {name: value}} flattened to [["component.name", value], ...]. */
export function flatSettings(settings) {
  /** @type {[string, unknown][]} */
  const out = [];
  for (const [comp, vals] of Object.entries(settings ?? {})) {
    for (const [name, v] of Object.entries(vals ?? {})) out.push([`${comp}.${name}`, v]);
  }
  return out;
}
