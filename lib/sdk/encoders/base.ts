/**
 * Encoder building blocks (PROTOCOL.md 2.12, v1 `encoders/base.py`): the
 * validation of a range sub-setting's configuration against its class
 * defaults, the value check with snapping to the step grid, and the
 * encoder interface every encoder implements.
 *
 * Errors are {@link DriverFailure}s: configuration problems are
 * `failed`/`config-error`, bad values `bad-request`/`invalid-value`.
 */
import type { Setting } from "../../protocol.ts";
import { badInput, configFailure, roundToStep } from "../settings.ts";
import { isRecord } from "../util.ts";

/** Tolerance of range and grid checks, as a fraction of the step. */
export const GRID_EPS = 1 / 1024;

/** An encoder's configuration block (inside a driver's setting, env var or command). */
export interface EncoderConfig {
  /** The encoder name, e.g. "jvm". */
  name: string;
  /** "str" (default) or "list"; must not be set both here and by the driver. */
  expected_type?: "str" | "list";
  /** k8s only: prefix the driver adds to the exposed setting names. */
  setting_prefix?: string;
  /** Sub-settings to expose, in order, each with optional overrides. */
  settings?: Record<string, Record<string, unknown> | null>;
  [key: string]: unknown;
}

/** What the encoded form is: a string (joined with spaces) or an argv list. */
export type ExpectedType = "str" | "list";

/** The result of an encode. */
export interface EncodeResult {
  /** The string or argv the driver writes (JAVA_OPTS, a container command, ...). */
  encoded: string | string[];
  /** The setting names the encoder handled; the driver drops them from its own processing. */
  consumed: Set<string>;
}

/** Options of {@link Encoder.encode}. */
export interface EncodeOptions {
  /**
   * The current string or argv: a configured setting missing from `values`
   * keeps its current (decoded) value instead of being an error.
   */
  current?: string | string[] | null;
}

/** An encoder: turns one string or argv into several settings and back. */
export interface Encoder {
  readonly name: string;
  /**
   * Decode `data` (the current string or argv) and describe the configured
   * settings with their values: `{name: {type, min, max, step, unit, value}}`
   * (enum: `{type: "enum", values, unit, value}`).
   */
  describe(
    config: EncoderConfig,
    data: string | string[] | null | undefined,
  ): Record<string, Setting>;
  /**
   * Encode `values` (`{name: {value}}` or `{name: scalar}`). Only the
   * configured settings are taken (and returned in `consumed`); other names
   * are left to the driver.
   */
  encode(
    config: EncoderConfig,
    values: Record<string, unknown>,
    expectedType?: ExpectedType,
    opts?: EncodeOptions,
  ): EncodeResult;
  /** Decode `data` into `{name: value}` for the configured settings. */
  decode(
    config: EncoderConfig,
    data: string | string[] | null | undefined,
  ): Record<string, number | string>;
  /** The names of the configured settings, in config order. */
  settingNames(config: EncoderConfig): string[];
}

/** Class defaults of a range setting (the Python class attributes). */
export interface RangeDefaults {
  min?: number;
  max?: number;
  step?: number;
  default?: number;
  unit?: string;
  /** false: config may not widen the range, and step must be a multiple of the default step. */
  relaxable?: boolean;
  /** true: config may not change min, max or step. */
  freezeRange?: boolean;
}

/** A range setting after its configuration was checked. */
export interface ResolvedRange {
  name: string;
  min: number;
  max: number;
  step: number;
  unit: string;
  default?: number;
}

const RANGE_KEYS = new Set(["min", "max", "step", "default"]);

function isWhole(x: number): boolean {
  return Math.abs(x - Math.round(x)) <= GRID_EPS;
}

/**
 * Check a range sub-setting's configuration against its class defaults and
 * resolve it (PROTOCOL 2.12 `RangeSetting`): allowed keys are min, max, step
 * and default; min, max and step must be known and numeric with min <= max;
 * when min != max, step > 0 and (max-min)/step whole within 1/1024; a frozen
 * range cannot be changed; a non-relaxable one cannot be widened and its
 * step must be a multiple of the default step.
 */
export function resolveRange(
  name: string,
  defaults: RangeDefaults,
  config: unknown,
  where = "encoder",
): ResolvedRange {
  const what = `setting "${name}" of the ${where}`;
  if (config !== undefined && config !== null && !isRecord(config)) {
    throw configFailure(`The configuration of ${what} must be a mapping`);
  }
  const c = (config ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(c)) {
    if (!RANGE_KEYS.has(key)) {
      throw configFailure(
        `Unknown option "${key}" in ${what}; allowed: ${[...RANGE_KEYS].join(", ")}`,
      );
    }
  }
  const pick = (key: "min" | "max" | "step"): number => {
    const v = c[key] ?? defaults[key];
    if (v === undefined || v === null) {
      throw configFailure(`No ${key} value configured for ${what}; add "${key}" to its settings`);
    }
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw configFailure(
        `The ${key} value of ${what} must be a number, found ${JSON.stringify(v)}`,
      );
    }
    return v;
  };
  const min = pick("min");
  const max = pick("max");
  const step = pick("step");
  if (min > max) throw configFailure(`The min ${min} of ${what} is greater than its max ${max}`);
  if (min !== max) {
    if (step <= 0) {
      throw configFailure(`The step of ${what} must be greater than 0 when min != max`);
    }
    if (!isWhole((max - min) / step)) {
      throw configFailure(
        `The step ${step} of ${what} must divide max - min (${min}..${max}) into whole steps`,
      );
    }
  } else if (step < 0) {
    throw configFailure(`The step of ${what} must not be negative`);
  }
  if (defaults.freezeRange) {
    for (const key of ["min", "max", "step"] as const) {
      if (c[key] !== undefined && c[key] !== defaults[key]) {
        throw configFailure(`The ${key} of ${what} cannot be changed (it is ${defaults[key]})`);
      }
    }
  }
  if (defaults.relaxable === false) {
    if (defaults.min !== undefined && min < defaults.min) {
      throw configFailure(`The min of ${what} cannot be lower than ${defaults.min}; it is ${min}`);
    }
    if (defaults.max !== undefined && max > defaults.max) {
      throw configFailure(`The max of ${what} cannot be higher than ${defaults.max}; it is ${max}`);
    }
    if (defaults.step !== undefined && defaults.step > 0 && !isWhole(step / defaults.step)) {
      throw configFailure(
        `The step of ${what} must be a multiple of ${defaults.step}; it is ${step}`,
      );
    }
  }
  const dflt = c.default ?? defaults.default;
  if (dflt !== undefined && dflt !== null && (typeof dflt !== "number" || !Number.isFinite(dflt))) {
    throw configFailure(`The default of ${what} must be a number, found ${JSON.stringify(dflt)}`);
  }
  const out: ResolvedRange = { name, min, max, step, unit: defaults.unit ?? "" };
  if (typeof dflt === "number") out.default = dflt;
  return out;
}

/**
 * Check a value for a resolved range setting and snap it to the grid: it
 * must be a number within [min - step/1024, max + step/1024], and
 * (v-min)/step whole within 1/1024; the result is
 * `min + round((v-min)/step) * step`.
 */
export function checkRangeValue(r: ResolvedRange, value: unknown): number {
  if (value === undefined || value === null) {
    throw badInput(`No value provided for setting "${r.name}"`);
  }
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw badInput(
      `The value of setting "${r.name}" must be a number, found ${JSON.stringify(value)}`,
    );
  }
  const tol = r.step * GRID_EPS;
  if (value < r.min - tol) {
    throw badInput(`The value ${value} of setting "${r.name}" is below its min ${r.min}`);
  }
  if (value > r.max + tol) {
    throw badInput(`The value ${value} of setting "${r.name}" is above its max ${r.max}`);
  }
  if (r.step <= 0) return r.min;
  const k = (value - r.min) / r.step;
  if (!isWhole(k)) {
    throw badInput(
      `The value ${value} of setting "${r.name}" is not on its step grid (min ${r.min}, step ${r.step})`,
    );
  }
  return roundToStep(r.min + Math.round(k) * r.step, r.step);
}

/** The descriptor of a resolved range with its current value. */
export function describeRange(r: ResolvedRange, value: number | null): Setting {
  return { type: "range", min: r.min, max: r.max, step: r.step, unit: r.unit, value };
}

/** Split encoder data into options: a string is split on whitespace; null is empty. */
export function splitData(data: string | string[] | null | undefined, where = "encoder"): string[] {
  if (data === undefined || data === null) return [];
  if (typeof data === "string") return data.split(/\s+/).filter((s) => s !== "");
  if (Array.isArray(data) && data.every((s) => typeof s === "string")) return data;
  throw badInput(`The ${where} expects a string or a list of strings to decode`);
}

/** Check the top of an encoder block: a mapping with a name. */
export function checkEncoderConfig(config: unknown): EncoderConfig {
  if (!isRecord(config)) throw configFailure("The encoder configuration must be a mapping");
  if (typeof config.name !== "string" || config.name === "") {
    throw configFailure('The encoder configuration needs a "name" (for example "jvm")');
  }
  if (config.settings !== undefined && config.settings !== null && !isRecord(config.settings)) {
    throw configFailure(`The "settings" of the ${config.name} encoder must be a mapping`);
  }
  return config as EncoderConfig;
}

/**
 * Decide the output type: the driver's `expectedType` or the config's
 * `expected_type` (not both), default "str".
 */
export function resolveExpectedType(config: EncoderConfig, expectedType?: string): ExpectedType {
  const fromConfig = config.expected_type;
  if (fromConfig !== undefined && fromConfig !== null && expectedType !== undefined) {
    throw configFailure(
      `The ${config.name} encoder's expected_type is set by the driver here; remove it from the config`,
    );
  }
  const t = expectedType ?? fromConfig ?? "str";
  if (t !== "str" && t !== "list") {
    throw configFailure(
      `Unrecognized expected_type ${
        JSON.stringify(t)
      } for the ${config.name} encoder; use "str" or "list"`,
    );
  }
  return t;
}

/** A list of literal strings from config (`before`/`after`); a string is split on whitespace. */
export function literalArgs(config: EncoderConfig, key: string): string[] {
  const v = config[key];
  if (v === undefined || v === null) return [];
  if (typeof v === "string") return v.split(/\s+/).filter((s) => s !== "");
  if (Array.isArray(v) && v.every((s) => typeof s === "string" || typeof s === "number")) {
    return v.map(String);
  }
  throw configFailure(`"${key}" of the ${config.name} encoder must be a list of strings`);
}

/** The value of `{value: x}` or a bare scalar. */
export function valueOfInput(v: unknown): unknown {
  return isRecord(v) && "value" in v ? v.value : v;
}
