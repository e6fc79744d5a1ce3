/**
 * The search space of an app, read from its DESCRIPTION descriptor: every
 * setting of every component (and app-level settings) as an engine
 * {@link ParamSpec}, plus the mapping between the engine's flat points
 * (`"component.setting" -> value`) and the nested settings of the API and
 * of ADJUST commands.
 *
 * @example
 * ```ts
 * const space = buildSpace(descriptor.application);
 * const adjust = space.toAdjustState(point); // {application: {components: {...}}}
 * ```
 */
import type { ParamSpec, Point } from "./engine/types.ts";
import { snapToGrid } from "./engine/mod.ts";
import type { Settings } from "./api_types.ts";
import { isRecord } from "../record.ts";

/** Where a flat key lives in the descriptor. */
export interface SettingRef {
  key: string;
  /** Component name, or null for an app-level setting. */
  component: string | null;
  setting: string;
}

/** The space of one app. */
export interface Space {
  params: ParamSpec[];
  refs: SettingRef[];
  /** The current (baseline) point: every setting's descriptor value. */
  baseline: Point;
  /** Nested settings (for the API) of a flat point. */
  toSettings(point: Point): Settings;
  /** The `state` of an ADJUST command for a point; pinned settings are left out. */
  toAdjustState(point: Point): { application: Record<string, unknown> };
}

/** Thrown when a descriptor cannot be optimized; the message says why. */
/**
 * Most settings in one space. The Gaussian-process step runs on the
 * service's only thread and grows steeply with the dimension (about 0.7 s a
 * step at 64 settings, 5 s at 200, minutes at 2,000), stalling every app.
 */
export const MAX_SETTINGS = 64;

export class SpaceError extends Error {
  override name = "SpaceError";
}

const APP_LEVEL = "(app)";

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** Read one setting's descriptor into a ParamSpec; throws SpaceError when unusable. */
export function readSetting(key: string, raw: unknown): ParamSpec {
  if (!isRecord(raw)) throw new SpaceError(`setting ${key}: must be an object`);
  const type = raw.type ?? "range";
  const pinned = raw.pinned === true;
  const value = raw.value;
  if (type === "enum") {
    const values = raw.values;
    if (
      !Array.isArray(values) || values.length === 0 ||
      !values.every((v) => typeof v === "string" || num(v) !== undefined)
    ) {
      throw new SpaceError(`setting ${key}: an enum needs a non-empty list of values`);
    }
    const spec: ParamSpec = {
      key,
      type: "enum",
      values: [...values] as (string | number)[],
      pinned,
    };
    if (typeof value === "string" || num(value) !== undefined) {
      spec.value = value as string | number;
    } else spec.value = null;
    return spec;
  }
  if (type !== "range") {
    throw new SpaceError(`setting ${key}: unknown type ${JSON.stringify(type)}`);
  }
  const min = num(raw.min);
  const max = num(raw.max);
  if (min === undefined || max === undefined) {
    throw new SpaceError(`setting ${key}: a range needs numeric min and max`);
  }
  if (min > max) throw new SpaceError(`setting ${key}: min ${min} is above max ${max}`);
  const step = raw.step === undefined || raw.step === null ? 0 : num(raw.step);
  if (step === undefined || step < 0) {
    throw new SpaceError(`setting ${key}: step must be a number >= 0`);
  }
  const v = num(value);
  return { key, type: "range", min, max, step, pinned, value: v ?? null };
}

function valueOrDefault(p: ParamSpec): number | string {
  if (p.value !== null && p.value !== undefined) return p.value;
  if (p.type === "enum") return p.values![0];
  return p.min!;
}

/**
 * Build the space from a descriptor's `application`. Throws SpaceError when
 * it has no settings at all; an app whose settings are all pinned is valid
 * (the engine then has nothing to change).
 */
export function buildSpace(application: unknown): Space {
  if (!isRecord(application)) throw new SpaceError("the descriptor has no application object");
  const params: ParamSpec[] = [];
  const refs: SettingRef[] = [];
  const seen = new Set<string>();
  const add = (component: string | null, settings: unknown) => {
    if (settings === undefined || settings === null) return;
    if (!isRecord(settings)) {
      throw new SpaceError(`${component ?? "application"}: settings must be an object`);
    }
    for (const [name, raw] of Object.entries(settings)) {
      const key = component === null ? name : `${component}.${name}`;
      if (seen.has(key)) throw new SpaceError(`setting ${key} appears twice`);
      seen.add(key);
      params.push(readSetting(key, raw));
      refs.push({ key, component, setting: name });
    }
  };
  const components = application.components;
  if (components !== undefined && components !== null) {
    if (!isRecord(components)) throw new SpaceError("application.components must be an object");
    for (const [name, comp] of Object.entries(components)) {
      if (!isRecord(comp)) throw new SpaceError(`component ${name}: must be an object`);
      add(name, comp.settings);
    }
  }
  add(null, application.settings);
  if (params.length === 0) throw new SpaceError("the descriptor has no settings to optimize");
  if (params.length > MAX_SETTINGS) {
    throw new SpaceError(
      `the descriptor has ${params.length} settings; servo serve optimizes at most ${MAX_SETTINGS}`,
    );
  }
  const baseline: Point = {};
  for (const p of params) baseline[p.key] = valueOrDefault(p);
  return {
    params,
    refs,
    baseline,
    toSettings(point) {
      const out: Settings = {};
      for (const r of refs) {
        const comp = r.component ?? APP_LEVEL;
        (out[comp] ??= {})[r.setting] = point[r.key] ?? null;
      }
      return out;
    },
    toAdjustState(point) {
      const components: Record<string, { settings: Record<string, { value: unknown }> }> = {};
      const appSettings: Record<string, { value: unknown }> = {};
      params.forEach((p, i) => {
        if (p.pinned) return;
        const r = refs[i];
        const v = { value: point[r.key] ?? valueOrDefault(p) };
        if (r.component === null) appSettings[r.setting] = v;
        else (components[r.component] ??= { settings: {} }).settings[r.setting] = v;
      });
      const application: Record<string, unknown> = { components };
      if (Object.keys(appSettings).length > 0) application.settings = appSettings;
      return { application };
    },
  };
}

/**
 * Check that a point respects the space (grid, enum values, pinned values)
 * and fix what does not: off-grid values are snapped, unknown enum values
 * and pinned settings get their current value. Guards the service against
 * an engine bug.
 */
export function sanitizePoint(space: Space, point: Point): Point {
  const out: Point = {};
  for (const p of space.params) {
    const base = space.baseline[p.key];
    const v = point[p.key];
    if (p.pinned) {
      out[p.key] = base;
    } else if (p.type === "enum") {
      out[p.key] = p.values!.includes(v as string | number) ? v : base;
    } else {
      out[p.key] = snapToGrid(p, typeof v === "number" && Number.isFinite(v) ? v : Number(base));
    }
  }
  return out;
}
