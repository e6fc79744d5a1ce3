/**
 * The example driver of drivers/README.md (kept here so a test runs it):
 * measures the latency of HTTP GETs to a URL from config.yaml, while an
 * optional load command runs in the background.
 */
import {
  badInput,
  configFailure,
  DriverFailure,
  type MeasureDriver,
  numberOr,
  requireSection,
  runDriver,
  sleep,
  spawnGroup,
} from "../mod.ts";

export const driver: MeasureDriver = {
  kind: "measure",
  name: "latency", // config section `latency:` (or the file name under magg)
  version: "1.0.0",
  description: "Latency of HTTP GETs to a URL, optionally under load.",
  canCancel: true, // SIGUSR1 aborts ctx.signal
  progressInterval: 10, // repeat the last progress line every 10 s

  describe: () => ({
    latency_mean: { unit: "ms" },
    requests: { unit: "count" },
  }),

  async measure(ctx, input) {
    const cfg = requireSection(ctx.config, ctx.section, ctx.configFile);
    if (typeof cfg.url !== "string") throw configFailure(`${ctx.section}.url must be a URL`);
    const control = input.control ?? {};
    const duration = numberOr(control.duration, NaN);
    if (!(duration > 0)) throw badInput("control.duration (seconds > 0) is required");
    const warmup = numberOr(control.warmup, 0);

    // A background load generator in its own process group: it is stopped
    // below, and the SDK stops it anyway if we crash or are cancelled.
    const load = typeof cfg.load_command === "string"
      ? spawnGroup("sh", ["-c", cfg.load_command], { stdout: "null", stderr: "null" })
      : undefined;
    try {
      ctx.progress(0, "warming up");
      await sleep(warmup * 1000, ctx.signal); // rejects at once on cancel
      const times: number[] = [];
      const end = Date.now() + duration * 1000;
      while (Date.now() < end) {
        const t0 = performance.now();
        const res = await fetch(cfg.url, { signal: ctx.signal });
        await res.body?.cancel();
        if (!res.ok) {
          throw new DriverFailure(`GET ${cfg.url} answered ${res.status}`, {
            status: "aborted",
            reason: "app-unavailable",
          });
        }
        times.push(performance.now() - t0);
        ctx.progress(
          (100 * (duration * 1000 - (end - Date.now()))) / (duration * 1000),
          "measuring",
        );
        await sleep(100, ctx.signal);
      }
      const mean = times.reduce((a, b) => a + b, 0) / Math.max(1, times.length);
      ctx.log.info("Measured {n} requests", { n: times.length }); // stderr, for humans
      return {
        metrics: {
          latency_mean: { value: Math.round(mean * 100) / 100, unit: "ms" },
          requests: { value: times.length, unit: "count" },
        },
        annotations: { url: cfg.url },
      };
    } finally {
      await load?.stop();
    }
  },
};

// Standalone: `deno run -A example_driver.ts --info x`. Built-in drivers
// instead export `driver` from drivers/<name>/mod.ts and are listed in
// drivers/registry.ts, so `servo driver latency ...` runs them.
if (import.meta.main) Deno.exit(await runDriver(driver, Deno.args));
