/**
 * Setting rules shared by adjust drivers: the shape checks of a setting
 * (PROTOCOL 2.4), value checks against range/step/enum with snapping to the
 * step grid (PROTOCOL 2.12), and walking an ADJUST input's settings.
 */
import type { Setting } from "../protocol.ts";
import { isRecord } from "./util.ts";
import { DriverFailure } from "./types.ts";

const EPS = 1 / 1024;

/** A bad-request failure for driver input. */
export function badInput(message: string, reason = "invalid-value"): DriverFailure {
  return new DriverFailure(message, { status: "bad-request", reason });
}

/** A config-error failure (the driver's config section is wrong). */
export function configFailure(message: string): DriverFailure {
  return new DriverFailure(message, { status: "failed", reason: "config-error" });
}

/** Round to the decimals of `step` so 0.1 + 0.2 prints as 0.3. */
export function roundToStep(v: number, step: number): number {
  if (!step) return v;
  const s = String(step);
  const decimals = s.includes("e-") ? Number(s.split("e-")[1]) : (s.split(".")[1]?.length ?? 0);
  return Number(v.toFixed(Math.min(12, decimals + 2)));
}

/**
 * Check a setting spec (from config or a descriptor): type range|enum,
 * range min <= max, numeric step > 0 when min != max and (max-min)/step
 * whole; enum values non-empty. Throws a config-error DriverFailure.
 */
export function checkSettingSpec(name: string, spec: unknown): Setting {
  if (!isRecord(spec)) throw configFailure(`setting "${name}" must be a mapping`);
  const type = spec.type ?? "range";
  if (type === "enum") {
    if (!Array.isArray(spec.values) || spec.values.length === 0) {
      throw configFailure(`setting "${name}": enum needs a non-empty "values" list`);
    }
    return { ...spec, type: "enum" } as Setting;
  }
  if (type !== "range") throw configFailure(`setting "${name}": type must be range or enum`);
  const { min, max, step } = spec;
  for (const [k, v] of Object.entries({ min, max, step })) {
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw configFailure(`setting "${name}": "${k}" must be a number`);
    }
  }
  const [lo, hi, st] = [min as number, max as number, step as number];
  if (lo > hi) throw configFailure(`setting "${name}": min ${lo} is greater than max ${hi}`);
  if (lo !== hi) {
    if (st < 0) throw configFailure(`setting "${name}": step must not be negative`);
    if (st > 0) {
      const n = (hi - lo) / st;
      if (Math.abs(n - Math.round(n)) > EPS) {
        throw configFailure(`setting "${name}": (max - min) / step must be a whole number`);
      }
    }
  }
  return { ...spec, type: "range" } as Setting;
}

/**
 * Check a value against a setting and return it normalised: a range value
 * must be a number within [min, max] on the step grid (within 1/1024 of a
 * step) and is snapped to it; an enum value must be one of `values`.
 * Throws a bad-request DriverFailure naming the setting.
 */
export function checkValue(name: string, setting: Setting, value: unknown): number | string {
  if (setting.type === "enum") {
    if (!setting.values.some((v) => v === value || String(v) === String(value))) {
      throw badInput(
        `setting "${name}": ${JSON.stringify(value)} is not one of ${setting.values.join(", ")}`,
      );
    }
    const match = setting.values.find((v) => v === value) ??
      setting.values.find((v) => String(v) === String(value))!;
    return match;
  }
  const num = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof num !== "number" || !Number.isFinite(num)) {
    throw badInput(`setting "${name}": ${JSON.stringify(value)} is not a number`);
  }
  const { min, max, step } = setting;
  const tol = step > 0 ? step * EPS : EPS * Math.max(1, Math.abs(max - min));
  if (num < min - tol || num > max + tol) {
    throw badInput(`setting "${name}": ${num} is outside the range ${min}..${max}`);
  }
  if (step > 0) {
    const k = (num - min) / step;
    if (Math.abs(k - Math.round(k)) > EPS) {
      throw badInput(
        `setting "${name}": ${num} is not on the step grid (min ${min}, step ${step})`,
      );
    }
    return roundToStep(min + Math.round(k) * step, step);
  }
  return Math.min(max, Math.max(min, num));
}

/** A setting value in an ADJUST input may be `{value: x}` or a bare scalar. */
export function valueOf(v: unknown): unknown {
  return isRecord(v) && "value" in v ? v.value : v;
}

/** One setting to change, from an ADJUST input. */
export interface SettingChange {
  component: string;
  setting: string;
  value: unknown;
}

/**
 * The settings of an ADJUST input (`{application: {components: {c: {settings: {s: {value}}}}}}`),
 * in input order. Components without settings are skipped.
 */
export function settingChanges(input: Record<string, unknown>): SettingChange[] {
  const app = isRecord(input.application) ? input.application : {};
  const comps = isRecord(app.components) ? app.components : {};
  const out: SettingChange[] = [];
  for (const [component, comp] of Object.entries(comps)) {
    if (!isRecord(comp) || !isRecord(comp.settings)) continue;
    for (const [setting, v] of Object.entries(comp.settings)) {
      out.push({ component, setting, value: valueOf(v) });
    }
  }
  return out;
}
