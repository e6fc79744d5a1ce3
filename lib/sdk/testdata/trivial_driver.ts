/** The smallest SDK driver (scripts/bench_sdk.ts times its start-up). */
import { type MeasureDriver, runDriver } from "../mod.ts";

export const driver: MeasureDriver = {
  kind: "measure",
  name: "trivial",
  version: "1.0",
  describe: () => ({ one: { unit: "count" } }),
  measure: () => Promise.resolve({ metrics: { one: { value: 1, unit: "count" } } }),
};

if (import.meta.main) Deno.exit(await runDriver(driver, Deno.args));
