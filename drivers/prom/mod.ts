/**
 * prom: measure through the Prometheus HTTP API. Each requested metric that
 * the config knows is checked with a query over the last 10 minutes, then
 * the driver waits warmup + duration + delay and queries `query_range` over
 * [now + warmup, now + warmup + duration].
 */
import type { MeasureParam, Metric } from "../../lib/protocol.ts";
import { badInput, configFailure } from "../../lib/sdk/settings.ts";
import type { DriverContext, MeasureDriver, MeasureResult } from "../../lib/sdk/types.ts";
import { DriverFailure } from "../../lib/sdk/types.ts";
import { isRecord } from "../../lib/sdk/util.ts";
import { PromError, queryRange } from "./client.ts";
import { loadPromSection, parsePromConfig, type PromConfig, type PromMetric } from "./config.ts";
import { toMetric } from "./convert.ts";

export const VERSION = "1.2.0";

/** Seconds between progress lines while waiting for the window. */
const TICK_SECONDS = 5;
/** Seconds of history the pre-check queries. */
const PRECHECK_SECONDS = 600;

/** Load and validate the config of this run. */
export async function loadConfig(ctx: DriverContext): Promise<PromConfig> {
  const { section, file, raw } = await loadPromSection(ctx);
  return parsePromConfig(raw, ctx.env, section, file);
}

/** The measurement window from `control`. */
export interface Window {
  warmup: number;
  duration: number;
  delay: number;
}

function seconds(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw badInput(`control.${what} must be a number of seconds >= 0, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Read warmup (default 0), duration (required) and delay (default 0; `past` is an alias). */
export function parseWindow(control: unknown): Window {
  if (control !== undefined && control !== null && !isRecord(control)) {
    throw badInput("control must be an object");
  }
  const c = (control ?? {}) as Record<string, unknown>;
  const duration = seconds(c.duration, "duration");
  if (duration === undefined) throw badInput('Control configuration is missing "duration"');
  const delay = seconds(c.delay, "delay");
  const past = seconds(c.past, "past");
  if (delay !== undefined && past !== undefined && delay !== past) {
    throw badInput(
      `control.delay (${delay}) and control.past (${past}) must be equal when both are given`,
    );
  }
  return { warmup: seconds(c.warmup, "warmup") ?? 0, duration, delay: delay ?? past ?? 0 };
}

/** The requested metrics the config knows (in request order); unknown ones are skipped. */
export function selectMetrics(
  requested: unknown,
  cfg: PromConfig,
): { selected: string[]; skipped: string[] } {
  if (!Array.isArray(requested) || requested.length === 0) {
    throw badInput('Invalid input: "metrics" must be a non-empty list of metric names');
  }
  const selected: string[] = [];
  const skipped: string[] = [];
  for (const m of requested) {
    if (typeof m !== "string") {
      throw badInput(`Invalid input: metric name ${JSON.stringify(m)} is not a string`);
    }
    if (Object.hasOwn(cfg.metrics, m)) {
      if (!selected.includes(m)) selected.push(m);
    } else skipped.push(m);
  }
  return { selected, skipped };
}

function failureFor(err: unknown, name: string): DriverFailure {
  if (err instanceof DriverFailure) return err;
  if (err instanceof PromError) {
    return err.kind === "query"
      ? configFailure(`metric "${name}": ${err.message}`)
      : new DriverFailure(`${err.message}; check prometheus_endpoint`, {
        status: "failed",
        reason: "unknown",
      });
  }
  return new DriverFailure(`metric "${name}": ${(err as Error)?.message ?? String(err)}`);
}

async function runQuery(
  ctx: DriverContext,
  cfg: PromConfig,
  name: string,
  spec: PromMetric,
  start: number,
  end: number,
): Promise<unknown> {
  try {
    return await queryRange({
      endpoint: cfg.endpoint,
      query: spec.query,
      start,
      end,
      step: spec.period,
      signal: ctx.signal,
    });
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    throw failureFor(err, name);
  }
}

/** Sleep `ms`, printing progress from `from` to `to` percent; an abort rejects. */
function waitWithProgress(ctx: DriverContext, ms: number, message: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = setInterval(
      () => ctx.progress(Math.min(99, (100 * (Date.now() - t0)) / ms), message),
      TICK_SECONDS * 1000,
    );
    const done = setTimeout(finish, ms);
    const onAbort = () => {
      finish();
      reject(ctx.signal.reason);
    };
    function finish() {
      clearInterval(tick);
      clearTimeout(done);
      ctx.signal.removeEventListener("abort", onAbort);
      resolve();
    }
    if (ctx.signal.aborted) return onAbort();
    ctx.signal.addEventListener("abort", onAbort, { once: true });
  });
}

async function measure(ctx: DriverContext, input: MeasureParam): Promise<MeasureResult> {
  const cfg = await loadConfig(ctx);
  const { selected, skipped } = selectMetrics(input.metrics, cfg);
  if (skipped.length) {
    ctx.log.info("Skipping metrics this driver does not know: {names}", {
      names: skipped.join(", "),
    });
  }
  const win = parseWindow(input.control);

  // Pre-check: every query must run (catches typos and an unreachable Prometheus early).
  const now = Date.now() / 1000;
  for (const name of selected) {
    await runQuery(ctx, cfg, name, cfg.metrics[name], now - PRECHECK_SECONDS, now);
  }

  const start = Date.now() / 1000 + win.warmup;
  const end = start + win.duration;
  const total = win.warmup + win.duration + win.delay;
  ctx.progress(
    0,
    `waiting ${total} s (warmup ${win.warmup}, duration ${win.duration}, delay ${win.delay})`,
  );
  await waitWithProgress(ctx, total * 1000, "measuring");

  const metrics: Record<string, Metric> = {};
  for (const name of selected) {
    const data = await runQuery(ctx, cfg, name, cfg.metrics[name], start, end);
    try {
      metrics[name] = toMetric(cfg.metrics[name], data);
    } catch (err) {
      throw failureFor(err, name);
    }
  }
  ctx.progress(100, "measurement done");
  return { metrics };
}

/** The prom measure driver. */
export const driver: MeasureDriver = {
  kind: "measure",
  name: "prom",
  version: VERSION,
  description: "Prometheus measure driver: query_range over the measurement window",
  canCancel: true,
  progressInterval: 30,
  async describe(ctx) {
    const cfg = await loadConfig(ctx);
    return Object.fromEntries(
      Object.entries(cfg.metrics).map((
        [n, m],
      ) => [n, m.unit !== undefined ? { unit: m.unit } : {}]),
    );
  },
  measure,
};
