/**
 * `fn` adjust driver: a test target whose settings live in a state file in
 * the servo directory (see fn.ts and README.md). Its measure driver is
 * `fn-measure` (measure.ts).
 */
import { checkValue, DriverFailure, settingChanges } from "../../lib/sdk/mod.ts";
import type { AdjustDriver } from "../../lib/sdk/types.ts";
import { inFailureRegion, readFnConfig, readValues, writeValues } from "./fn.ts";

export const driver: AdjustDriver = {
  kind: "adjust",
  name: "fn",
  version: "1.0.0",
  description: "test target: settings in a state file, measured as a known function (fn-measure)",
  canCancel: true,
  progressInterval: 1,
  async query(ctx) {
    const cfg = readFnConfig(ctx);
    const values = await readValues(cfg);
    const settings: Record<string, unknown> = {};
    for (const [k, s] of Object.entries(cfg.settings)) settings[k] = { ...s, value: values[k] };
    return { application: { components: { [cfg.component]: { settings } } } } as never;
  },
  async adjust(ctx, input) {
    const cfg = readFnConfig(ctx);
    const values = await readValues(cfg);
    for (const ch of settingChanges(input as Record<string, unknown>)) {
      if (ch.component !== cfg.component || !Object.hasOwn(cfg.settings, ch.setting)) {
        throw new DriverFailure(`unknown setting ${ch.component}.${ch.setting}`, {
          status: "rejected",
          reason: "invalid-input",
        });
      }
      values[ch.setting] = checkValue(ch.setting, cfg.settings[ch.setting], ch.value);
    }
    if (cfg.adjustDelay > 0) {
      ctx.progress(10, "applying");
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, cfg.adjustDelay * 1000);
        ctx.signal.addEventListener("abort", () => {
          clearTimeout(t);
          reject(ctx.signal.reason);
        }, { once: true });
      });
    }
    if (cfg.failAt === "adjust" && inFailureRegion(cfg, values)) {
      throw new DriverFailure("the app did not start with these settings (failure region)", {
        status: "rejected",
        reason: "start-failed",
      });
    }
    await writeValues(cfg, values);
    return { status: "ok", reason: "success" };
  },
};
