/**
 * `fn-measure` measure driver: evaluates the `fn` target's function on the
 * settings in its state file (see fn.ts). Honours `control.duration`
 * (seconds, progress every second, cancellable) so that tests can watch and
 * cancel a running measurement.
 */
import { DriverFailure, loadSection } from "../../lib/sdk/mod.ts";
import type { DriverContext, MeasureDriver } from "../../lib/sdk/types.ts";
import { isRecord } from "../../lib/record.ts";
import { evaluateFn, gaussian, inFailureRegion, readFnConfig, readValues } from "./fn.ts";

/** The `fn` section (shared with the adjust driver) unless a `fn-measure` one exists. */
async function sharedSection(ctx: DriverContext): Promise<DriverContext> {
  if (ctx.config) return ctx;
  return { ...ctx, config: await loadSection(ctx.configFile, "fn") };
}

export const driver: MeasureDriver = {
  kind: "measure",
  name: "fn-measure",
  version: "1.0.0",
  description: "measure the fn test target: a known function of its settings",
  canCancel: true,
  progressInterval: 0,
  async describe(ctx) {
    const cfg = readFnConfig(await sharedSection(ctx));
    return { [cfg.metric]: { unit: "score" }, calls: { unit: "count" } };
  },
  async measure(ctx, input) {
    const cfg = readFnConfig(await sharedSection(ctx));
    const control = isRecord(input.control) ? input.control : {};
    const duration = typeof control.duration === "number" ? Math.min(control.duration, 3600) : 0;
    const steps = Math.ceil(duration);
    for (let i = 0; i < steps; i++) {
      ctx.progress((i / steps) * 100, `measuring ${i}/${steps} s`);
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, Math.min(1, duration - i) * 1000);
        ctx.signal.addEventListener("abort", () => {
          clearTimeout(t);
          reject(ctx.signal.reason);
        }, { once: true });
      });
    }
    const values = await readValues(cfg);
    if (cfg.failAt === "measure" && inFailureRegion(cfg, values)) {
      throw new DriverFailure("the app crashed under load (failure region)", {
        status: "failed",
        reason: "app-unavailable",
      });
    }
    let y = evaluateFn(cfg, values);
    if (cfg.noise > 0) y *= 1 + cfg.noise * gaussian();
    return {
      metrics: {
        [cfg.metric]: { value: y, unit: "score" },
        calls: { value: 1, unit: "count" },
      },
      annotations: { settings: values },
    };
  },
};
