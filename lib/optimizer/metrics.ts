/**
 * Reduce the metrics of a MEASUREMENT to plain numbers: a scalar `value`
 * (a number, a numeric string, or null) is taken as it is; a time series
 * (`values: [{id, data: [[t, v], ...]}]`, the multi-measurement extension)
 * is reduced to the mean of all its points, over every instance.
 *
 * @example
 * ```ts
 * reduceMetrics({ rps: { value: 10 }, lat: { values: [{ id: "a", data: [[1, 2], [2, 4]] }] } });
 * // -> { rps: 10, lat: 3 }
 * ```
 */
import { isRecord } from "../record.ts";

function toNumber(v: unknown): number | null {
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (typeof v === "string" && v.trim() !== "") {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/** One metric (any shape) to a number or null. */
export function reduceMetric(metric: unknown): number | null {
  if (!isRecord(metric)) return toNumber(metric);
  if (Array.isArray(metric.values)) {
    let sum = 0;
    let count = 0;
    for (const inst of metric.values) {
      const data = isRecord(inst) ? inst.data : undefined;
      if (!Array.isArray(data)) continue;
      for (const pt of data) {
        const y = Array.isArray(pt) ? toNumber(pt[1]) : toNumber(pt);
        if (y !== null) {
          sum += y;
          count++;
        }
      }
    }
    return count > 0 ? sum / count : null;
  }
  return toNumber(metric.value);
}

/** All metrics of a MEASUREMENT param to numbers (null where not numeric). */
export function reduceMetrics(metrics: unknown): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  if (!isRecord(metrics)) return out;
  for (const [name, m] of Object.entries(metrics)) out[name] = reduceMetric(m);
  return out;
}
