/**
 * The redis driver's config section: connection (host, port, db, username,
 * password, timeout), the component name and the settings to expose, merged
 * with the optional secret file (`$OPTUNE_SECRET` or `./secret.yaml`, same
 * section name) so passwords stay out of config.yaml.
 */
import { configFailure } from "../../lib/sdk/settings.ts";
import type { DriverContext } from "../../lib/sdk/types.ts";
import { isRecord } from "../../lib/sdk/util.ts";
import {
  CONNECTION_KEYS,
  loadMergedSection,
  parseConnection,
  type RedisConnectionConfig,
} from "./connection.ts";

/** Byte multipliers of the memory units a setting may be described in. */
export const MEMORY_UNITS: Record<string, number> = {
  bytes: 1,
  kilobytes: 1024,
  megabytes: 1024 * 1024,
  gigabytes: 1024 * 1024 * 1024,
};

/** Redis settings whose value is a byte count: exposed in megabytes unless a unit says otherwise. */
const MEMORY_SETTINGS = new Set(["maxmemory"]);

/** One exposed setting. */
export interface RedisSettingSpec {
  type: "range" | "enum";
  min?: number;
  max?: number;
  step?: number;
  values?: (string | number)[];
  unit?: string;
  pinned?: boolean;
  /** Bytes per unit when the setting is a memory size in `unit` (maxmemory). */
  scale?: number;
}

/** The validated section. */
export interface RedisConfig extends RedisConnectionConfig {
  component: string;
  settings: Record<string, RedisSettingSpec>;
}

const TOP_KEYS = new Set([...CONNECTION_KEYS, "component", "settings"]);
const SETTING_KEYS = new Set(["type", "min", "max", "step", "values", "unit", "pinned"]);

/** Read the section from config.yaml and merge the same section of the secret file over it. */
export async function loadRedisSection(ctx: DriverContext): Promise<Record<string, unknown>> {
  const merged = await loadMergedSection(ctx);
  if (!merged) {
    throw configFailure(
      `${ctx.configFile}: no "${ctx.section}" section; it must list the settings to tune ` +
        `(see drivers/redis/config.sample.yaml)`,
    );
  }
  return merged;
}

function num(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw configFailure(`${what} must be a number, got ${JSON.stringify(v)}`);
  }
  return v;
}

function str(v: unknown, what: string): string {
  if (typeof v !== "string") throw configFailure(`${what} must be a string`);
  return v;
}

/**
 * Validate a section (already merged with the secret file).
 * @throws DriverFailure (failed / config-error) naming the offending key.
 */
export function parseRedisConfig(
  raw: Record<string, unknown>,
  section = "redis",
): RedisConfig {
  for (const k of Object.keys(raw)) {
    if (!TOP_KEYS.has(k)) {
      throw configFailure(
        `${section}: unknown key "${k}"; allowed: ${[...TOP_KEYS].join(", ")}`,
      );
    }
  }
  const cfg: RedisConfig = {
    ...parseConnection(raw, section),
    component: raw.component === undefined ? "redis" : str(raw.component, `${section}.component`),
    settings: {},
  };
  if (cfg.component === "") throw configFailure(`${section}.component must not be empty`);
  if (!isRecord(raw.settings) || Object.keys(raw.settings).length === 0) {
    throw configFailure(
      `${section}.settings must be a mapping of Redis configuration parameters to tune, ` +
        `e.g. maxmemory: {min: 128, max: 1024, step: 64}`,
    );
  }
  for (const [name, spec] of Object.entries(raw.settings)) {
    cfg.settings[name] = parseSettingSpec(name, spec, section);
  }
  return cfg;
}

function parseSettingSpec(name: string, spec: unknown, section: string): RedisSettingSpec {
  const where = `${section}.settings.${name}`;
  if (!isRecord(spec)) throw configFailure(`${where} must be a mapping`);
  for (const k of Object.keys(spec)) {
    if (!SETTING_KEYS.has(k)) {
      throw configFailure(`${where}: unknown key "${k}"; allowed: ${[...SETTING_KEYS].join(", ")}`);
    }
  }
  const type = spec.type ?? (spec.values !== undefined ? "enum" : "range");
  const pinned = spec.pinned === undefined ? undefined : spec.pinned === true;
  if (spec.pinned !== undefined && typeof spec.pinned !== "boolean") {
    throw configFailure(`${where}.pinned must be true or false`);
  }
  const unit = spec.unit === undefined ? undefined : str(spec.unit, `${where}.unit`);
  if (type === "enum") {
    if (!Array.isArray(spec.values) || spec.values.length === 0) {
      throw configFailure(`${where}: an enum setting needs a non-empty "values" list`);
    }
    for (const v of spec.values) {
      if (typeof v !== "string" && typeof v !== "number") {
        throw configFailure(`${where}.values must hold strings or numbers`);
      }
    }
    if (spec.min !== undefined || spec.max !== undefined || spec.step !== undefined) {
      throw configFailure(`${where}: an enum setting takes "values", not min/max/step`);
    }
    return { type: "enum", values: spec.values as (string | number)[], unit, pinned };
  }
  if (type !== "range") throw configFailure(`${where}.type must be range or enum`);
  if (spec.values !== undefined) {
    throw configFailure(`${where}: a range setting takes min/max/step, not "values"`);
  }
  const min = num(spec.min, `${where}.min`);
  const max = num(spec.max, `${where}.max`);
  const step = num(spec.step, `${where}.step`);
  if (!(min < max)) throw configFailure(`${where}: min (${min}) must be less than max (${max})`);
  if (!(step > 0)) throw configFailure(`${where}: step must be greater than 0`);
  const n = (max - min) / step;
  if (Math.abs(n - Math.round(n)) > 1 / 1024) {
    throw configFailure(`${where}: (max - min) / step must be a whole number`);
  }
  let scale: number | undefined;
  let outUnit = unit;
  if (MEMORY_SETTINGS.has(name) || (unit !== undefined && unit in MEMORY_UNITS)) {
    outUnit = unit ?? "megabytes";
    scale = MEMORY_UNITS[outUnit];
    if (scale === undefined) {
      throw configFailure(
        `${where}.unit must be one of ${Object.keys(MEMORY_UNITS).join(", ")} (a memory size)`,
      );
    }
    if (min < 0) throw configFailure(`${where}.min must not be negative`);
  }
  return { type: "range", min, max, step, unit: outUnit, pinned, scale };
}
