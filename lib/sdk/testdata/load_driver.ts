/**
 * A test driver (used by tests/sdk_e2e_test.ts): its measurement starts a
 * "load generator" (`sleep` renamed to $LOAD_MARKER) in its own process group
 * and waits for `control.duration` seconds. With LOAD_CLEANUP=none it does
 * not stop the load itself, so the SDK's safety net must.
 */
import { runDriver } from "../run.ts";
import { spawnGroup } from "../../process.ts";
import type { MeasureDriver } from "../types.ts";
import { numberOr, sleep } from "../util.ts";

export const driver: MeasureDriver = {
  kind: "measure",
  name: "load",
  version: "1.0",
  canCancel: Deno.env.get("LOAD_CAN_CANCEL") !== "0",
  progressInterval: 1,
  describe: () => ({ rps: { unit: "rps" } }),
  async measure(ctx, input) {
    const marker = ctx.env.LOAD_MARKER ?? "servo-load-marker";
    const load = spawnGroup("bash", ["-c", `exec -a ${marker} sleep 600`], {
      stdout: "null",
      stderr: "null",
    });
    ctx.progress(1, "load started");
    try {
      await sleep(1000 * numberOr(input.control?.duration, 1), ctx.signal);
    } finally {
      if (ctx.env.LOAD_CLEANUP !== "none") await load.stop(500);
    }
    return { metrics: { rps: { value: 100, unit: "rps" } } };
  },
};

if (import.meta.main) Deno.exit(await runDriver(driver, Deno.args));
