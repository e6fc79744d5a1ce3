/**
 * The `servo serve` config file (YAML): settings for every app under
 * `defaults:`, overridden per app under `apps: {NAME: ...}`. An app's name is
 * `default` (POST /servo) or `{account}/{app}`.
 *
 * ```yaml
 * defaults:
 *   budget: 30            # trials after the baseline
 *   goal: maximize        # or minimize
 *   perf: throughput      # used when the descriptor has no optimization.perf
 *   measure: {duration: 60, warmup: 10}   # sent as the MEASURE control
 *   guardrails: ["latency_p99 <= 200"]
 *   seed: 1
 * apps:
 *   acme/web:
 *     budget: 50
 * ```
 */
import { ConfigError } from "../errors.ts";
import { isRecord } from "../record.ts";
import { readYamlFile } from "../yaml_file.ts";
import { type Guardrail, parseGuardrail } from "./guardrails.ts";
import { compilePerf } from "./perf.ts";

/** The settings of one app's optimization run. */
export interface AppConfig {
  budget: number;
  goal: "maximize" | "minimize";
  /** Formula used when the descriptor has none (the descriptor's wins). */
  perf: string | null;
  /** When true, the config's perf wins over the descriptor's. */
  perfOverride: boolean;
  /** The MEASURE control: duration, warmup (seconds) and any extra keys. */
  measure: Record<string, unknown>;
  guardrails: Guardrail[];
  seed: number;
  /** Engine kind. */
  engine: "gp" | "random";
  /** SLEEP seconds once the run is done, failed or stopped. */
  sleep: { done: number; stopped: number };
}

/** The whole service config. */
export interface ServiceConfig {
  defaults: Partial<AppConfig>;
  apps: Record<string, Partial<AppConfig>>;
}

/** Built-in defaults. */
export const DEFAULT_APP_CONFIG: AppConfig = {
  budget: 30,
  goal: "maximize",
  perf: null,
  perfOverride: false,
  measure: {},
  guardrails: [],
  seed: 1,
  engine: "gp",
  sleep: { done: 300, stopped: 5 },
};

const KEYS = new Set([
  "budget",
  "goal",
  "perf",
  "perf_override",
  "measure",
  "guardrails",
  "seed",
  "engine",
  "sleep",
]);

function fail(file: string, where: string, msg: string): never {
  throw new ConfigError(`${where}: ${msg}`, { file });
}

/** Validate one `defaults` or `apps.NAME` section. */
export function readAppSection(raw: unknown, file: string, where: string): Partial<AppConfig> {
  if (raw === null || raw === undefined) return {};
  if (!isRecord(raw)) fail(file, where, "must be a mapping");
  const out: Partial<AppConfig> = {};
  for (const k of Object.keys(raw)) {
    if (!KEYS.has(k)) fail(file, where, `unknown key "${k}" (known: ${[...KEYS].join(", ")})`);
  }
  if (raw.budget !== undefined) {
    const b = raw.budget;
    if (typeof b !== "number" || !Number.isInteger(b) || b < 0 || b > 10000) {
      fail(file, `${where}.budget`, "must be an integer from 0 to 10000");
    }
    out.budget = b;
  }
  if (raw.goal !== undefined) {
    if (raw.goal !== "maximize" && raw.goal !== "minimize") {
      fail(file, `${where}.goal`, 'must be "maximize" or "minimize"');
    }
    out.goal = raw.goal;
  }
  if (raw.perf !== undefined && raw.perf !== null) {
    if (typeof raw.perf !== "string") fail(file, `${where}.perf`, "must be a formula string");
    try {
      compilePerf(raw.perf);
    } catch (err) {
      fail(file, `${where}.perf`, (err as Error).message);
    }
    out.perf = raw.perf;
  }
  if (raw.perf_override !== undefined) {
    if (typeof raw.perf_override !== "boolean") {
      fail(file, `${where}.perf_override`, "must be true or false");
    }
    out.perfOverride = raw.perf_override;
  }
  if (raw.measure !== undefined && raw.measure !== null) {
    if (!isRecord(raw.measure)) fail(file, `${where}.measure`, "must be a mapping");
    for (const k of ["duration", "warmup", "delay"]) {
      const v = raw.measure[k];
      if (v !== undefined && (typeof v !== "number" || !(v >= 0))) {
        fail(file, `${where}.measure.${k}`, "must be a number of seconds >= 0");
      }
    }
    out.measure = { ...raw.measure };
  }
  if (raw.guardrails !== undefined && raw.guardrails !== null) {
    if (!Array.isArray(raw.guardrails)) fail(file, `${where}.guardrails`, "must be a list");
    out.guardrails = raw.guardrails.map((g, i) => {
      try {
        return parseGuardrail(g as string);
      } catch (err) {
        fail(file, `${where}.guardrails[${i}]`, (err as Error).message);
      }
    });
  }
  if (raw.seed !== undefined) {
    if (typeof raw.seed !== "number" || !Number.isInteger(raw.seed)) {
      fail(file, `${where}.seed`, "must be an integer");
    }
    out.seed = raw.seed;
  }
  if (raw.engine !== undefined) {
    if (raw.engine !== "gp" && raw.engine !== "random") {
      fail(file, `${where}.engine`, 'must be "gp" or "random"');
    }
    out.engine = raw.engine;
  }
  if (raw.sleep !== undefined) {
    if (!isRecord(raw.sleep)) fail(file, `${where}.sleep`, "must be a mapping {done, stopped}");
    const s: AppConfig["sleep"] = { ...DEFAULT_APP_CONFIG.sleep };
    for (const k of ["done", "stopped"] as const) {
      const v = raw.sleep[k];
      if (v === undefined) continue;
      if (typeof v !== "number" || !(v >= 1)) fail(file, `${where}.sleep.${k}`, "must be >= 1");
      s[k] = v;
    }
    out.sleep = s;
  }
  return out;
}

/** Parse config data (already read from YAML). */
export function parseServiceConfig(data: unknown, file = "config"): ServiceConfig {
  if (data === undefined || data === null) return { defaults: {}, apps: {} };
  if (!isRecord(data)) fail(file, "top level", "must be a mapping with defaults: and apps:");
  for (const k of Object.keys(data)) {
    if (k !== "defaults" && k !== "apps") {
      fail(file, "top level", `unknown key "${k}" (known: defaults, apps)`);
    }
  }
  const defaults = readAppSection(data.defaults, file, "defaults");
  const apps: Record<string, Partial<AppConfig>> = {};
  if (data.apps !== undefined && data.apps !== null) {
    if (!isRecord(data.apps)) fail(file, "apps", "must be a mapping of app name to settings");
    for (const [name, sec] of Object.entries(data.apps)) {
      apps[name] = readAppSection(sec, file, `apps.${name}`);
    }
  }
  return { defaults, apps };
}

/** Read and validate the config file. */
export async function loadServiceConfig(file: string): Promise<ServiceConfig> {
  return parseServiceConfig(await readYamlFile(file), file);
}

/** The effective settings of an app: built-in defaults < `defaults` < `apps[name]`. */
export function appConfig(cfg: ServiceConfig, app: string): AppConfig {
  const own = Object.hasOwn(cfg.apps, app) ? cfg.apps[app] : {};
  return { ...DEFAULT_APP_CONFIG, ...cfg.defaults, ...own };
}
