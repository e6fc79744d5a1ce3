/**
 * `demo-load` measure driver: drives the demo's target application with the
 * built-in load generator (lib/demo/load.ts: N concurrent fetch clients,
 * zipf-distributed keys) and reports throughput, latency percentiles and the
 * error rate.
 *
 * Config section `demo-load`: `url` (or `$DEMO_TARGET_URL`), `clients`
 * (default 16), `keys` (20000), `zipf` (1.0). The MEASURE control gives
 * `duration` (default 10 s) and `warmup` (default 0 s).
 */
import { DriverFailure } from "../../lib/sdk/mod.ts";
import type { MeasureDriver } from "../../lib/sdk/types.ts";
import { isRecord } from "../../lib/record.ts";
import { runLoad } from "../../lib/demo/load.ts";

function num(v: unknown, dflt: number, name: string, min: number, max: number): number {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
    throw new DriverFailure(`${name} must be a number from ${min} to ${max}`, {
      status: "bad-request",
      reason: "invalid-input",
    });
  }
  return v;
}

export const driver: MeasureDriver = {
  kind: "measure",
  name: "demo-load",
  version: "1.0.0",
  description: "measure the bundled demo application with a built-in load generator",
  canCancel: true,
  progressInterval: 0,
  describe() {
    return {
      throughput: { unit: "requests/second" },
      latency_p50: { unit: "ms" },
      latency_p90: { unit: "ms" },
      latency_p99: { unit: "ms" },
      latency_mean: { unit: "ms" },
      error_rate: { unit: "ratio" },
      requests: { unit: "count" },
    };
  },
  async measure(ctx, input) {
    const cfg = ctx.config ?? {};
    const url = (cfg.url as string | undefined) ?? ctx.env.DEMO_TARGET_URL;
    if (typeof url !== "string" || !/^https?:\/\//.test(url)) {
      throw new DriverFailure(
        `no target URL: set url: in the "${ctx.section}" section of ${ctx.configFile} or $DEMO_TARGET_URL`,
        { status: "failed", reason: "config-error" },
      );
    }
    const control = isRecord(input.control) ? input.control : {};
    const duration = num(control.duration, 10, "control.duration", 0.1, 86400);
    const warmup = num(control.warmup, 0, "control.warmup", 0, 86400);
    const clients = num(cfg.clients, 16, "clients", 1, 1000);
    try {
      const health = await fetch(`${url.replace(/\/+$/, "")}/healthz`, {
        signal: AbortSignal.timeout(5000),
      });
      await health.body?.cancel();
      if (!health.ok) throw new Error(`status ${health.status}`);
    } catch (err) {
      throw new DriverFailure(`the demo target at ${url} is not up: ${(err as Error).message}`, {
        status: "aborted",
        reason: "app-unavailable",
      });
    }
    ctx.progress(0, `starting ${clients} clients`);
    const r = await runLoad({
      url,
      clients,
      duration,
      warmup,
      keys: num(cfg.keys, 20000, "keys", 1, 1e7),
      zipf: num(cfg.zipf, 1.0, "zipf", 0, 10),
      signal: ctx.signal,
      onProgress: (p, m) => ctx.progress(p, m),
    });
    return {
      metrics: {
        throughput: { value: r.throughput, unit: "requests/second" },
        latency_p50: { value: r.latencyP50, unit: "ms" },
        latency_p90: { value: r.latencyP90, unit: "ms" },
        latency_p99: { value: r.latencyP99, unit: "ms" },
        latency_mean: { value: r.latencyMean, unit: "ms" },
        error_rate: { value: r.errorRate, unit: "ratio" },
        requests: { value: r.requests, unit: "count" },
      },
      annotations: { clients, duration, warmup },
    };
  },
};
