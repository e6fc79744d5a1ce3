/**
 * magg: the measure aggregator. Every executable file in `./measure.d/` is a
 * measure driver; magg runs them all in parallel for each measurement and
 * merges their metrics. See README.md.
 */
import type { MetricDescriptor } from "../../lib/protocol.ts";
import {
  type ChildDriver,
  childEnv,
  childInfo,
  childIoTimeout,
  describeChildFailure,
  describeChildren,
  requireChildDrivers,
} from "../../lib/sdk/aggregate.ts";
import { type ChildDriverResult, childStatus, runChildDriver } from "../../lib/sdk/child.ts";
import { configFailure } from "../../lib/sdk/settings.ts";
import { type DriverContext, DriverFailure, type MeasureDriver } from "../../lib/sdk/types.ts";
import { isRecord, numberOr } from "../../lib/sdk/util.ts";

/** magg's version. */
export const MAGG_VERSION = "1.0.0";

/** Default slack added to the measurement window when `grace_period` is 0 (v1 had none). */
export const DEFAULT_GRACE = 30;

/** The `magg` config section. */
export interface MaggConfig {
  grace_period: number;
  force_cancel: boolean;
  cleanup_grace_period: number;
}

/** Read and check the `magg` section. */
export function maggConfig(section: Record<string, unknown> | undefined): MaggConfig {
  const c = section ?? {};
  const known = new Set(["grace_period", "force_cancel", "cleanup_grace_period"]);
  for (const k of Object.keys(c)) {
    if (!known.has(k)) {
      throw configFailure(
        `Unknown key "${k}" in the magg section; known: ${[...known].join(", ")}`,
      );
    }
  }
  const num = (k: string, d: number) => {
    const v = c[k] ?? d;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw configFailure(`magg: "${k}" must be a number of seconds >= 0`);
    }
    return v;
  };
  const fc = c.force_cancel ?? false;
  if (typeof fc !== "boolean") throw configFailure('magg: "force_cancel" must be true or false');
  return {
    grace_period: num("grace_period", 0),
    force_cancel: fc,
    cleanup_grace_period: num("cleanup_grace_period", 300),
  };
}

function children(ctx: { cwd: string; env: Record<string, string> }): Promise<ChildDriver[]> {
  return requireChildDrivers(ctx.env.SERVO_MAGG_DIR || `${ctx.cwd}/measure.d`, "measure", "ab");
}

/** Describe every child in parallel; a metric described twice is an error. */
async function describeAll(
  ctx: DriverContext,
  kids: ChildDriver[],
): Promise<{ metrics: Record<string, MetricDescriptor>; owner: Map<string, ChildDriver> }> {
  const results = await describeChildren(ctx, kids, "--describe");
  const metrics: Record<string, MetricDescriptor> = {};
  const owner = new Map<string, ChildDriver>();
  results.forEach((r, i) => {
    const m = isRecord(r.result.metrics) ? r.result.metrics : {};
    for (const [name, d] of Object.entries(m)) {
      if (owner.has(name)) {
        throw new DriverFailure(
          `Metric "${name}" is reported by two drivers: ${owner.get(name)!.name} and ${
            kids[i].name
          }`,
          { status: "failed", reason: "config-error" },
        );
      }
      owner.set(name, kids[i]);
      metrics[name] = (isRecord(d) ? d : {}) as MetricDescriptor;
    }
  });
  return { metrics, owner };
}

/** A child's control: ours without `userdata`, updated with `userdata.<child>.control`. */
export function childControl(control: unknown, child: string): Record<string, unknown> {
  const c = isRecord(control) ? structuredClone(control) : {};
  const userdata = isRecord(c.userdata) ? c.userdata : {};
  delete c.userdata;
  const own = isRecord(userdata[child]) ? userdata[child] : {};
  if (isRecord(own.control)) Object.assign(c, own.control);
  return c;
}

/** Seconds a measurement with this control lasts: warmup + duration + delay + past. */
export function windowSeconds(control: Record<string, unknown>): number {
  return ["warmup", "duration", "delay", "past"].reduce(
    (s, k) => s + Math.max(0, numberOr(control[k], 0)),
    0,
  );
}

export const driver: MeasureDriver = {
  kind: "measure",
  name: "magg",
  version: MAGG_VERSION,
  description: "Aggregate the measure drivers in ./measure.d/, run in parallel, metrics merged.",
  canCancel: true,
  cancelGraceSeconds: 10,

  async info(ctx) {
    const kids = await children(ctx);
    const infos = await Promise.all(kids.map((k) => childInfo(k, ctx.appId, ctx)));
    let forceCancel = false;
    try {
      const { loadSectionFrom, configLocation } = await import("../../lib/sdk/config.ts");
      const loc = configLocation("magg", ctx.env, ctx.cwd);
      forceCancel = maggConfig((await loadSectionFrom(loc.file, loc.section, loc.fallback)).config)
        .force_cancel;
    } catch {
      // a config problem is reported by the operation itself
    }
    return {
      version: MAGG_VERSION,
      has_cancel: forceCancel || infos.every((i) => i.has_cancel),
      drivers: Object.fromEntries(kids.map((k, i) => [k.name, infos[i]])),
    };
  },

  async describe(ctx) {
    maggConfig(ctx.config);
    return (await describeAll(ctx, await children(ctx))).metrics;
  },

  async measure(ctx, input) {
    const cfg = maggConfig(ctx.config);
    const kids = await children(ctx);
    const [infos, described] = await Promise.all([
      Promise.all(kids.map((k) => childInfo(k, ctx.appId, ctx))),
      describeAll(ctx, kids),
    ]);
    const requested = Array.isArray(input.metrics) ? input.metrics.map(String) : undefined;
    if (requested) {
      const unknown = requested.filter((m) => !described.owner.has(m));
      if (unknown.length > 0) {
        ctx.log.warn("No driver in measure.d describes {metrics}", { metrics: unknown.join(", ") });
      }
    }

    // Each child's input and the overall timeout.
    const bodies = kids.map((kid) => {
      const body: Record<string, unknown> = {};
      if (requested) {
        const mine = requested.filter((m) => described.owner.get(m)?.name === kid.name);
        if (mine.length > 0) body.metrics = mine;
      }
      body.control = childControl(input.control, kid.name);
      return body;
    });
    const longest = Math.max(
      0,
      ...bodies.map((b) => windowSeconds(b.control as Record<string, unknown>)),
    );
    const timeout = longest + (cfg.grace_period > 0 ? cfg.grace_period : DEFAULT_GRACE);

    // Run them all; progress is the minimum over the children.
    const progress = new Array(kids.length).fill(0);
    const stop = new AbortController();
    const onCancel = () => stop.abort(ctx.signal.reason);
    ctx.signal.addEventListener("abort", onCancel, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      stop.abort(new Error("timeout"));
    }, timeout * 1000);
    const canCancelAll = infos.every((i) => i.has_cancel) || cfg.force_cancel;
    let firstFailed: number | undefined;
    let runs: ChildDriverResult[];
    try {
      runs = await Promise.all(kids.map(async (kid, i) => {
        const r = await runChildDriver([kid.path, ctx.appId], {
          env: childEnv(ctx.env, kid),
          cwd: ctx.cwd,
          input: JSON.stringify(bodies[i]),
          ioTimeout: childIoTimeout(ctx.env),
          signal: stop.signal,
          hasCancel: infos[i].has_cancel,
          // A cancel from the agent must finish within our own grace period.
          cancelGraceMs: () => (ctx.signal.aborted ? 5000 : cfg.cleanup_grace_period * 1000),
          onProgress(line) {
            const p = Number(line.progress);
            if (Number.isFinite(p)) progress[i] = Math.max(0, Math.min(100, p));
            const min = Math.min(...progress);
            ctx.progress(
              min,
              typeof line.message === "string" ? `Driver ${kid.name}: ${line.message}` : undefined,
            );
          },
        });
        // A failed child stops the others when they can be cancelled.
        if (r.code !== 0 || childStatus(r) !== "ok") {
          firstFailed ??= i;
          if (canCancelAll && !stop.signal.aborted) stop.abort(new Error(`${kid.name} failed`));
        }
        return r;
      }));
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener("abort", onCancel);
    }
    if (ctx.signal.aborted) throw ctx.signal.reason;

    const failures = runs.flatMap((r, i) =>
      r.code !== 0 || childStatus(r) !== "ok" ? [{ kid: kids[i], r }] : []
    );
    if (timedOut) {
      throw new DriverFailure(
        `The measurement took longer than ${timeout} s (window + grace period); the drivers were stopped:\n${
          runs.map((r, i) => describeChildFailure(kids[i], r)).join("\n")
        }`,
        { status: "failed", reason: "timeout" },
      );
    }
    if (failures.length > 0) {
      const first = runs[firstFailed ?? kids.indexOf(failures[0].kid)];
      const reasons = failures.map(({ r }) => r.result.reason).filter((x) =>
        typeof x === "string" && x
      );
      throw new DriverFailure(
        failures.map(({ kid, r }) => describeChildFailure(kid, r)).join("\n"),
        {
          status: childStatus(first),
          reason: reasons.length > 0 ? [...new Set(reasons)].join(", ") : "unknown",
        },
      );
    }

    // Merge metrics and annotations.
    const metrics: Record<string, unknown> = {};
    const annotations: Record<string, unknown> = {};
    const from = new Map<string, string>();
    runs.forEach((r, i) => {
      const m = isRecord(r.result.metrics) ? r.result.metrics : {};
      for (const [name, v] of Object.entries(m)) {
        if (from.has(name)) {
          throw new DriverFailure(
            `Metric "${name}" was returned by two drivers: ${from.get(name)} and ${kids[i].name}`,
            { status: "failed", reason: "unknown" },
          );
        }
        from.set(name, kids[i].name);
        metrics[name] = v;
      }
      if (isRecord(r.result.annotations)) Object.assign(annotations, r.result.annotations);
    });
    return {
      metrics: metrics as Record<string, never>,
      annotations,
    };
  },
};
