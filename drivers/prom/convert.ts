/**
 * Turn a Prometheus `query_range` result into a servo metric: one instance
 * per series (`values: [{id, data: [[ts, v], ...]}]`, v1's shape) or, with
 * `aggregate`, one scalar `value`.
 */
import type { Metric, MetricInstance } from "../../lib/protocol.ts";
import { isRecord } from "../../lib/sdk/util.ts";
import type { Aggregate, PromMetric } from "./config.ts";

/** The `id` of a series: its labels without `__name__`, sorted, `name:value`, three spaces apart. */
export function seriesId(labels: Record<string, string>): string {
  return Object.keys(labels)
    .filter((k) => k !== "__name__")
    .sort()
    .map((k) => `${k}:${labels[k]}`)
    .join("   ");
}

/**
 * A sample value (Prometheus sends strings). NaN and infinities cannot be
 * sent as JSON numbers and are skipped (undefined), like v1.
 */
export function sampleValue(s: unknown): number | undefined {
  if (typeof s !== "string" && typeof s !== "number") return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/** The instances of a `query_range` `data` object (`resultType: matrix`). */
export function toInstances(data: unknown): MetricInstance[] {
  if (!isRecord(data) || !Array.isArray(data.result)) {
    throw new Error("the response has no data.result list");
  }
  if (data.resultType !== undefined && data.resultType !== "matrix") {
    throw new Error(`expected a matrix result, got ${JSON.stringify(data.resultType)}`);
  }
  return data.result.map((series): MetricInstance => {
    const labels = isRecord(series) && isRecord(series.metric)
      ? series.metric as Record<string, string>
      : {};
    const points: [number, number][] = [];
    const values = isRecord(series) && Array.isArray(series.values) ? series.values : [];
    for (const p of values) {
      if (!Array.isArray(p) || p.length < 2) continue;
      const v = sampleValue(p[1]);
      if (v !== undefined && typeof p[0] === "number") points.push([p[0], v]);
    }
    return { id: seriesId(labels), data: points };
  });
}

/** Reduce every sample of every instance to one number (null when there are none). */
export function aggregate(instances: MetricInstance[], how: Aggregate): number | null {
  const all = instances.flatMap((i) => i.data);
  if (how === "count") return all.length;
  if (all.length === 0) return null;
  const vals = all.map((p) => p[1]);
  switch (how) {
    case "avg":
      return vals.reduce((a, b) => a + b, 0) / vals.length;
    case "sum":
      return vals.reduce((a, b) => a + b, 0);
    case "min":
      return Math.min(...vals);
    case "max":
      return Math.max(...vals);
    case "last": {
      // the latest sample; ties (several series) are averaged
      const t = Math.max(...all.map((p) => p[0]));
      const at = all.filter((p) => p[0] === t).map((p) => p[1]);
      return at.reduce((a, b) => a + b, 0) / at.length;
    }
    case "median": {
      const s = vals.toSorted((a, b) => a - b);
      const mid = s.length >> 1;
      return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
    }
  }
}

/** The metric for one configured query and its result `data`. */
export function toMetric(spec: PromMetric, data: unknown): Metric {
  const instances = toInstances(data);
  const unit = spec.unit !== undefined ? { unit: spec.unit } : {};
  if (spec.aggregate) {
    return { value: aggregate(instances, spec.aggregate), ...unit, annotation: spec.query };
  }
  return { values: instances, ...unit, annotation: spec.query };
}
