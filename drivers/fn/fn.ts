/**
 * The `fn` test target, shared by its adjust driver (mod.ts) and its
 * measure driver (measure.ts): settings kept in a state file in the servo
 * directory, and a known function of them as the measured perf.
 *
 * Config section `fn` (all keys optional; see config.sample.yaml):
 *
 * ```yaml
 * fn:
 *   state: fn-state.json          # relative to the servo dir
 *   component: web
 *   settings:                      # descriptor settings (values = start values)
 *     x: {type: range, min: 0, max: 10, step: 0.5, value: 1}
 *   function: "100 - (x - 7)^2"    # formula over setting names (lib/formula.ts)
 *   enum_values: {mode: {slow: 0, fast: 10}}   # numbers for enum settings
 *   fail_when: "x > 9"             # failure region (formula; non-zero = fail)
 *   fail_at: measure               # or adjust (then the adjustment is rejected)
 *   noise: 0.02                    # relative gaussian noise of perf
 * ```
 */
import { compileFormula } from "../../lib/formula.ts";
import type { Setting } from "../../lib/protocol.ts";
import { checkSettingSpec, configFailure } from "../../lib/sdk/settings.ts";
import type { DriverContext } from "../../lib/sdk/types.ts";
import { isRecord } from "../../lib/record.ts";

/** The default settings: a 3-setting space with its optimum (110) off the start values. */
export const DEFAULT_SETTINGS: Record<string, Setting> = {
  x: { type: "range", min: 0, max: 10, step: 0.5, value: 1 },
  y: { type: "range", min: 0, max: 100, step: 5, value: 20 },
  mode: { type: "enum", values: ["slow", "medium", "fast"], value: "slow" },
};
/** Default function: optimum 110 at x=7, y=60, mode=fast. */
export const DEFAULT_FUNCTION = "100 - (x - 7)^2 - ((y - 60) / 10)^2 + mode";
export const DEFAULT_ENUM_VALUES: Record<string, Record<string, number>> = {
  mode: { slow: 0, medium: 5, fast: 10 },
};

/** The parsed config section. */
export interface FnConfig {
  stateFile: string;
  component: string;
  settings: Record<string, Setting>;
  fn: string;
  enumValues: Record<string, Record<string, number>>;
  failWhen: string | null;
  failAt: "adjust" | "measure";
  noise: number;
  metric: string;
  adjustDelay: number;
}

/** Read and check the `fn` section. */
export function readFnConfig(ctx: DriverContext): FnConfig {
  const c = ctx.config ?? {};
  const settings: Record<string, Setting> = {};
  if (c.settings !== undefined) {
    if (!isRecord(c.settings)) throw configFailure("fn.settings must be a mapping");
    for (const [k, v] of Object.entries(c.settings)) settings[k] = checkSettingSpec(k, v);
  } else Object.assign(settings, structuredClone(DEFAULT_SETTINGS));
  const enumValues = c.enum_values === undefined
    ? (c.settings === undefined ? DEFAULT_ENUM_VALUES : {})
    : c.enum_values;
  if (!isRecord(enumValues)) throw configFailure("fn.enum_values must be a mapping");
  const fn = c.function === undefined ? DEFAULT_FUNCTION : c.function;
  if (typeof fn !== "string") throw configFailure("fn.function must be a formula string");
  const failWhen = c.fail_when ?? null;
  if (failWhen !== null && typeof failWhen !== "string") {
    throw configFailure("fn.fail_when must be a formula string");
  }
  const failAt = c.fail_at ?? "measure";
  if (failAt !== "adjust" && failAt !== "measure") {
    throw configFailure("fn.fail_at must be adjust or measure");
  }
  const noise = c.noise ?? 0;
  if (typeof noise !== "number" || noise < 0) throw configFailure("fn.noise must be a number >= 0");
  const delay = c.adjust_delay ?? 0;
  if (typeof delay !== "number" || delay < 0) {
    throw configFailure("fn.adjust_delay must be seconds >= 0");
  }
  const state = c.state ?? "fn-state.json";
  if (typeof state !== "string") throw configFailure("fn.state must be a file name");
  return {
    stateFile: state.startsWith("/") ? state : `${ctx.cwd}/${state}`,
    component: typeof c.component === "string" ? c.component : "web",
    settings,
    fn,
    enumValues: enumValues as Record<string, Record<string, number>>,
    failWhen,
    failAt,
    noise,
    metric: typeof c.metric === "string" ? c.metric : "perf",
    adjustDelay: delay,
  };
}

/** The current values: the state file, else the settings' start values. */
export async function readValues(cfg: FnConfig): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = {};
  for (const [k, s] of Object.entries(cfg.settings)) out[k] = s.value as number | string;
  try {
    const data = JSON.parse(await Deno.readTextFile(cfg.stateFile));
    if (isRecord(data) && isRecord(data.values)) {
      for (const k of Object.keys(out)) {
        const v = data.values[k];
        if (typeof v === "number" || typeof v === "string") out[k] = v;
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      throw configFailure(`cannot read the state file ${cfg.stateFile}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** Write the values (atomically: temp file + rename). */
export async function writeValues(
  cfg: FnConfig,
  values: Record<string, number | string>,
): Promise<void> {
  const tmp = `${cfg.stateFile}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify({ values }, null, 2) + "\n");
  await Deno.rename(tmp, cfg.stateFile);
}

/** Numbers the formulas see: range values as they are, enum values mapped (or their index). */
export function numericScope(
  cfg: FnConfig,
  values: Record<string, number | string>,
): Record<string, number> {
  const scope: Record<string, number> = {};
  for (const [k, s] of Object.entries(cfg.settings)) {
    const v = values[k];
    if (s.type === "enum") {
      const map = cfg.enumValues[k];
      if (isRecord(map) && typeof map[String(v)] === "number") scope[k] = map[String(v)];
      else scope[k] = Math.max(0, s.values.findIndex((x) => String(x) === String(v)));
    } else scope[k] = Number(v);
  }
  return scope;
}

/** True when the values lie in the failure region. */
export function inFailureRegion(cfg: FnConfig, values: Record<string, number | string>): boolean {
  if (!cfg.failWhen) return false;
  return compileFormula(cfg.failWhen, "fn.fail_when").evaluate(numericScope(cfg, values)) !== 0;
}

/** The function's value (without noise). */
export function evaluateFn(cfg: FnConfig, values: Record<string, number | string>): number {
  return compileFormula(cfg.fn, "fn.function").evaluate(numericScope(cfg, values));
}

/** Gaussian noise from Math.random (measurements are noisy on purpose). */
export function gaussian(): number {
  const u = 1 - Math.random();
  const v = Math.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
