/**
 * The prom driver's config: which file and section it reads, and the
 * validation of the section (only `prometheus_endpoint` and `metrics` at the
 * top; per metric `query`, `unit`, `period`, plus the `aggregate` extension).
 */
import { configLocation, loadSectionFrom } from "../../lib/sdk/config.ts";
import { configFailure } from "../../lib/sdk/settings.ts";
import type { DriverContext } from "../../lib/sdk/types.ts";
import { isRecord } from "../../lib/sdk/util.ts";

/** Reductions of a query's samples to one scalar `value`. */
export const AGGREGATES = ["avg", "min", "max", "sum", "last", "median", "count"] as const;
export type Aggregate = typeof AGGREGATES[number];

/** One configured metric. */
export interface PromMetric {
  query: string;
  unit?: string;
  /** Query step in seconds (default 60). */
  period: number;
  /** Report a scalar `value` reduced from all samples instead of `values`. */
  aggregate?: Aggregate;
}

/** The validated section. */
export interface PromConfig {
  endpoint: string;
  metrics: Record<string, PromMetric>;
}

export const DEFAULT_ENDPOINT = "http://prometheus:9090";
const TOP_KEYS = ["prometheus_endpoint", "metrics"];
const METRIC_KEYS = ["query", "unit", "period", "aggregate"];

function truthy(v: string | undefined): boolean {
  return v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());
}

/**
 * Find and load the section. The file is `$CONFIG_FPATH` (v1 prom), else
 * `$OPTUNE_CONFIG` or `./config.yaml`. The section is the driver's own file
 * name (`$OPTUNE_DRIVER_NAME`, set by magg) when present, else `prom` (the
 * SDK's rule); `PROMETHEUS_USE_DRIVER_NAME=1` makes the own section required.
 */
export async function loadPromSection(
  ctx: DriverContext,
): Promise<{ section: string; file: string; raw: Record<string, unknown> | undefined }> {
  const file = ctx.env.CONFIG_FPATH || ctx.configFile;
  const loc = configLocation("prom", ctx.env, ctx.cwd);
  let raw = ctx.config;
  let used = ctx.section;
  if (file !== ctx.configFile) {
    ({ config: raw, used } = await loadSectionFrom(file, loc.section, loc.fallback));
  }
  if (truthy(ctx.env.PROMETHEUS_USE_DRIVER_NAME) && (used !== loc.section || raw === undefined)) {
    throw configFailure(
      `${file}: no "${loc.section}" section; PROMETHEUS_USE_DRIVER_NAME=1 makes prom read the ` +
        `section named after its own file (${
          ctx.env.OPTUNE_DRIVER_NAME ? "$OPTUNE_DRIVER_NAME" : "set $OPTUNE_DRIVER_NAME"
        })`,
    );
  }
  return { section: used, file, raw };
}

/**
 * Validate the section and resolve the endpoint (`prometheus_endpoint`,
 * else `$PROMETHEUS_ENDPOINT`, else http://prometheus:9090; no trailing `/`).
 * @throws DriverFailure (failed / config-error) naming the key.
 */
export function parsePromConfig(
  raw: Record<string, unknown> | undefined,
  env: Record<string, string>,
  section = "prom",
  file = "config.yaml",
): PromConfig {
  if (raw === undefined) {
    throw configFailure(
      `${file}: no "${section}" section; it must list the metrics to query ` +
        `(see drivers/prom/config.sample.yaml)`,
    );
  }
  for (const k of Object.keys(raw)) {
    if (!TOP_KEYS.includes(k)) {
      throw configFailure(
        `${section}: unknown key "${k}"; only ${TOP_KEYS.join(" and ")} are allowed`,
      );
    }
  }
  let endpoint = env.PROMETHEUS_ENDPOINT || DEFAULT_ENDPOINT;
  if (raw.prometheus_endpoint !== undefined) {
    if (typeof raw.prometheus_endpoint !== "string" || raw.prometheus_endpoint.trim() === "") {
      throw configFailure(`${section}.prometheus_endpoint must be a non-empty string`);
    }
    endpoint = raw.prometheus_endpoint.trim();
  }
  try {
    const u = new URL(endpoint);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("not http");
  } catch {
    throw configFailure(
      `${section}.prometheus_endpoint ${JSON.stringify(endpoint)} is not an http(s) URL`,
    );
  }
  endpoint = endpoint.replace(/\/+$/, "");
  if (!isRecord(raw.metrics) || Object.keys(raw.metrics).length === 0) {
    throw configFailure(`${section}.metrics must be a mapping of metric names to {query, unit}`);
  }
  const metrics: Record<string, PromMetric> = {};
  for (const [name, m] of Object.entries(raw.metrics)) {
    const where = `${section}.metrics.${name}`;
    if (!isRecord(m)) throw configFailure(`${where} must be a mapping with a "query"`);
    for (const k of Object.keys(m)) {
      if (!METRIC_KEYS.includes(k)) {
        throw configFailure(`${where}: unknown key "${k}"; allowed: ${METRIC_KEYS.join(", ")}`);
      }
    }
    if (typeof m.query !== "string" || m.query.trim() === "") {
      throw configFailure(`${where}.query must be a non-empty string (a PromQL expression)`);
    }
    if (m.unit !== undefined && m.unit !== null && typeof m.unit !== "string") {
      throw configFailure(`${where}.unit must be a string`);
    }
    const period = m.period ?? 60;
    if (typeof period !== "number" || !Number.isFinite(period) || period <= 0) {
      throw configFailure(`${where}.period must be a number of seconds > 0`);
    }
    if (m.aggregate !== undefined && !AGGREGATES.includes(m.aggregate as Aggregate)) {
      throw configFailure(`${where}.aggregate must be one of ${AGGREGATES.join(", ")}`);
    }
    metrics[name] = {
      query: m.query,
      period,
      ...(typeof m.unit === "string" ? { unit: m.unit } : {}),
      ...(m.aggregate !== undefined ? { aggregate: m.aggregate as Aggregate } : {}),
    };
  }
  return { endpoint, metrics };
}
