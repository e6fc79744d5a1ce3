/**
 * The search space as the engine sees it: grid snapping, validation, and the
 * encoding of points into the unit cube the model works in.
 */

import { ServoError } from "../../errors.ts";
import type { ParamSpec, Point } from "./types.ts";

type Value = number | string;

/** Number of decimals needed to write `x` exactly (0..15). */
export function decimalsOf(x: number): number {
  if (!Number.isFinite(x)) return 0;
  for (let d = 0; d <= 15; d++) {
    if (Math.abs(x - Number(x.toFixed(d))) <= 1e-12 * Math.max(1, Math.abs(x))) return d;
  }
  return 15;
}

function rangeStep(spec: ParamSpec): number {
  const s = Number(spec.step ?? 0);
  return Number.isFinite(s) && s > 0 ? s : 0;
}

/**
 * Number of grid values of a setting: enum -> number of values; range with a
 * step -> number of `min + k*step` values within [min, max]; continuous
 * range -> Infinity (1 when min == max).
 */
export function gridCount(spec: ParamSpec): number {
  if (spec.type === "enum") return spec.values?.length ?? 0;
  const min = Number(spec.min), max = Number(spec.max);
  if (!(max > min)) return 1;
  const step = rangeStep(spec);
  if (step === 0) return Infinity;
  return Math.floor((max - min) / step + 1 / 1024) + 1;
}

const decimalsCache = new WeakMap<ParamSpec, number>();

/**
 * The value of the k-th grid point of a stepped range (`min + k*step`), rounded
 * to the decimals of step and min so there is no float noise.
 */
export function gridValue(spec: ParamSpec, k: number): number {
  const min = Number(spec.min);
  const step = rangeStep(spec);
  let d = decimalsCache.get(spec);
  if (d === undefined || decimalsCache.get(spec) === undefined) {
    d = Math.max(decimalsOf(step), decimalsOf(min));
    decimalsCache.set(spec, d);
  }
  return Number((min + k * step).toFixed(d));
}

/**
 * Snap a value onto a setting's grid: a range value is clamped to [min, max]
 * and rounded to the nearest `min + k*step` (no float noise); a continuous
 * range (step 0) is only clamped. An enum value must be one of `values`
 * (a value equal as a string is accepted and returned in its listed form; a
 * number is mapped to the nearest numeric value). Throws a ServoError when
 * an enum value cannot be matched.
 */
export function snapToGrid(spec: ParamSpec, value: Value): Value {
  if (spec.type === "enum") {
    const values = spec.values ?? [];
    const i = enumIndex(spec, value);
    if (i >= 0) return values[i];
    if (typeof value === "number") {
      let best = -1, bestD = Infinity;
      values.forEach((v, j) => {
        if (typeof v === "number" && Math.abs(v - value) < bestD) {
          bestD = Math.abs(v - value);
          best = j;
        }
      });
      if (best >= 0) return values[best];
    }
    throw new ServoError(
      `Value ${JSON.stringify(value)} is not one of the values of setting ${spec.key}: ` +
        `use one of ${JSON.stringify(values)}.`,
    );
  }
  const min = Number(spec.min), max = Number(spec.max);
  let v = typeof value === "number" ? value : Number(value);
  if (!Number.isFinite(v)) {
    throw new ServoError(`Value ${JSON.stringify(value)} of setting ${spec.key} is not a number.`);
  }
  if (!(max > min)) return min;
  v = Math.min(max, Math.max(min, v));
  const step = rangeStep(spec);
  if (step === 0) return v;
  const n = gridCount(spec);
  const k = Math.min(n - 1, Math.max(0, Math.round((v - min) / step)));
  return gridValue(spec, k);
}

/** Index of `value` in an enum's values (strict, then as strings); -1 if absent. */
export function enumIndex(spec: ParamSpec, value: unknown): number {
  const values = spec.values ?? [];
  let i = values.indexOf(value as Value);
  if (i < 0) i = values.findIndex((v) => String(v) === String(value));
  return i;
}

/**
 * Check a space is usable: unique keys, ranges with finite min <= max and a
 * step >= 0, enums with at least one value. Returns the problems found
 * (empty = fine).
 */
export function validateSpace(space: ParamSpec[]): string[] {
  const errs: string[] = [];
  const seen = new Set<string>();
  for (const s of space) {
    if (!s || typeof s.key !== "string" || s.key === "") {
      errs.push("A setting has no key.");
      continue;
    }
    if (seen.has(s.key)) errs.push(`Setting ${s.key} appears twice.`);
    seen.add(s.key);
    if (s.type === "range") {
      const min = Number(s.min), max = Number(s.max), step = Number(s.step ?? 0);
      if (!Number.isFinite(min) || !Number.isFinite(max)) {
        errs.push(`Setting ${s.key}: min and max must be numbers.`);
      } else if (min > max) errs.push(`Setting ${s.key}: min is greater than max.`);
      if (!Number.isFinite(step) || step < 0) {
        errs.push(`Setting ${s.key}: step must be a number >= 0.`);
      }
    } else if (s.type === "enum") {
      if (!Array.isArray(s.values) || s.values.length === 0) {
        errs.push(`Setting ${s.key}: an enum needs at least one value.`);
      }
    } else {
      errs.push(`Setting ${s.key}: unknown type ${JSON.stringify(s.type)}.`);
    }
  }
  return errs;
}

/**
 * Check that a point is a valid suggestion for a space: every key present,
 * range values on the step grid within [min, max] (float noise tolerated up
 * to 1e-9 of a step), enum values among `values`, pinned settings equal to
 * their current value. Returns the problems found (empty = valid).
 */
export function validatePoint(space: ParamSpec[], point: Point): string[] {
  const errs: string[] = [];
  for (const s of space) {
    const v = point[s.key];
    if (v === undefined || v === null) {
      errs.push(`Setting ${s.key} is missing.`);
      continue;
    }
    if (s.pinned && s.value !== undefined && s.value !== null) {
      if (v !== s.value) errs.push(`Pinned setting ${s.key} changed from ${s.value} to ${v}.`);
      continue;
    }
    if (s.type === "enum") {
      if (!(s.values ?? []).includes(v)) {
        errs.push(`Setting ${s.key}: ${JSON.stringify(v)} is not one of its values.`);
      }
      continue;
    }
    if (typeof v !== "number" || !Number.isFinite(v)) {
      errs.push(`Setting ${s.key}: ${JSON.stringify(v)} is not a number.`);
      continue;
    }
    const min = Number(s.min), max = Number(s.max), step = rangeStep(s);
    const tol = 1e-9 * Math.max(1, Math.abs(step), Math.abs(max), Math.abs(min));
    if (v < min - tol || v > max + tol) {
      errs.push(`Setting ${s.key}: ${v} is outside [${min}, ${max}].`);
      continue;
    }
    if (step > 0 && max > min) {
      const snapped = snapToGrid(s, v);
      if (snapped !== v) {
        errs.push(`Setting ${s.key}: ${v} is not on the grid (nearest ${snapped}).`);
      }
    }
  }
  return errs;
}

/** One free (optimizable) dimension of the encoded space. */
export interface Dim {
  spec: ParamSpec;
  kind: "num" | "enum";
  /** Grid size (Infinity for continuous). */
  n: number;
  /** A range's min, max and step as numbers (0 for an enum). */
  min: number;
  max: number;
  step: number;
  /**
   * A stepped range's encoded grid values as Space.gridEncoded computes
   * them (NaN = not yet); null until the first one is asked for, or when
   * there are too many to keep.
   */
  grid: Float64Array | null;
}

/**
 * Stepped ranges with at most this many grid values keep their encoded values
 * (8 bytes each): candidates land on the same grid values again and again,
 * and gridValue writes each one out as decimals.
 */
const GRID_CACHE_LIMIT = 4096;

function fixedValue(spec: ParamSpec): Value {
  if (spec.pinned && spec.value !== undefined && spec.value !== null) return spec.value;
  if (spec.type === "enum") {
    const values = spec.values ?? [];
    if (spec.value !== undefined && spec.value !== null) {
      const i = enumIndex(spec, spec.value);
      if (i >= 0) return values[i];
    }
    return values[0];
  }
  if (spec.pinned && (spec.value === undefined || spec.value === null)) return Number(spec.min);
  return Number(spec.min);
}

function keyPart(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(12);
}

/**
 * The encoded space. Free dimensions are ranges with more than one grid value
 * and enums with more than one value (not pinned). A range is encoded as
 * (v - min) / (max - min) in [0, 1]; an enum as the index of its value (the
 * kernel compares enum indices for equality, which is one-hot encoding with
 * one length scale per setting).
 */
export class Space {
  readonly specs: ParamSpec[];
  readonly dims: Dim[];
  readonly fixed: Map<string, Value>;
  /** 1 for an enum dimension, 0 for a range (per dimension, for the hot loops). */
  readonly isEnum: Uint8Array;

  constructor(space: ParamSpec[]) {
    const errs = validateSpace(space);
    if (errs.length) throw new ServoError(`Invalid search space: ${errs.join(" ")}`);
    this.specs = space;
    this.dims = [];
    this.fixed = new Map();
    for (const s of space) {
      const n = gridCount(s);
      if (s.pinned || n <= 1) this.fixed.set(s.key, fixedValue(s));
      else if (s.type === "enum") {
        this.dims.push({ spec: s, kind: "enum", n, min: 0, max: 0, step: 0, grid: null });
      } else {
        this.dims.push({
          spec: s,
          kind: "num",
          n,
          min: Number(s.min),
          max: Number(s.max),
          step: rangeStep(s),
          grid: null,
        });
      }
    }
    this.isEnum = Uint8Array.from(this.dims, (d) => d.kind === "enum" ? 1 : 0);
  }

  /** Total number of distinct points (Infinity if any range is continuous). */
  size(): number {
    let t = 1;
    for (const d of this.dims) t *= d.n;
    return t;
  }

  /** Encode a (history) point; missing or unknown values fall back to the baseline. */
  encode(p: Point): Float64Array {
    const u = new Float64Array(this.dims.length);
    this.dims.forEach((d, j) => {
      const s = d.spec;
      const raw = p[s.key] ?? s.value;
      if (d.kind === "enum") {
        let i = enumIndex(s, raw);
        if (i < 0) i = Math.max(0, enumIndex(s, s.value));
        u[j] = i;
      } else {
        const min = Number(s.min), max = Number(s.max);
        let v = Number(raw);
        if (!Number.isFinite(v)) v = Number(s.value ?? min);
        if (!Number.isFinite(v)) v = min;
        u[j] = Math.min(1, Math.max(0, (v - min) / (max - min)));
      }
    });
    return u;
  }

  /**
   * Snap an encoded vector onto the grid in place (ranges to the nearest step,
   * enums to an index) and return it.
   */
  snapEncoded(u: Float64Array): Float64Array {
    const dims = this.dims;
    for (let j = 0; j < dims.length; j++) {
      const d = dims[j];
      if (d.kind === "enum") {
        u[j] = Math.min(d.n - 1, Math.max(0, Math.round(u[j])));
      } else {
        const x = Math.min(1, Math.max(0, u[j]));
        if (d.n === Infinity) u[j] = x;
        else {
          // as snapToGrid does it, with the grid value from gridEncoded
          const { min, max } = d;
          const v = Math.min(max, Math.max(min, min + x * (max - min)));
          if (!Number.isFinite(v)) snapToGrid(d.spec, v); // throws its error
          const k = Math.min(d.n - 1, Math.max(0, Math.round((v - min) / d.step)));
          u[j] = this.gridEncoded(j, k);
        }
      }
    }
    return u;
  }

  /**
   * The encoded value of grid point k (0 <= k < n) of stepped range
   * dimension j: (gridValue(spec, k) - min) / (max - min).
   */
  gridEncoded(j: number, k: number): number {
    const d = this.dims[j];
    if (!d.grid && d.n <= GRID_CACHE_LIMIT) d.grid = new Float64Array(d.n).fill(NaN);
    const cached = d.grid ? d.grid[k] : NaN;
    if (cached === cached) return cached; // not NaN
    const v = (gridValue(d.spec, k) - d.min) / (d.max - d.min);
    if (d.grid) d.grid[k] = v;
    return v;
  }

  /** Decode an encoded vector (snapped) into a full point, fixed settings included. */
  decode(u: Float64Array): Point {
    const p: Point = {};
    for (const s of this.specs) {
      if (this.fixed.has(s.key)) p[s.key] = this.fixed.get(s.key)!;
    }
    this.dims.forEach((d, j) => {
      const s = d.spec;
      if (d.kind === "enum") p[s.key] = s.values![Math.round(u[j])];
      else {
        const min = Number(s.min), max = Number(s.max);
        p[s.key] = snapToGrid(s, min + u[j] * (max - min));
      }
    });
    // keep the space's key order
    const out: Point = {};
    for (const s of this.specs) out[s.key] = p[s.key];
    return out;
  }

  /**
   * A key identifying a point by its free values (for duplicate checks): the
   * grid index of a stepped range value (its value when off the grid), the
   * value of a continuous one, the index of an enum value.
   */
  keyOf(p: Point): string {
    return this.dims.map((d) => {
      const v = p[d.spec.key];
      if (d.kind === "enum") return "e" + enumIndex(d.spec, v);
      const x = Number(v);
      if (!Number.isFinite(x)) return "?";
      if (d.n !== Infinity) {
        const k = (x - Number(d.spec.min)) / Number(d.spec.step);
        const r = Math.round(k);
        if (Math.abs(k - r) < 1e-6 && r >= 0 && r < d.n) return "k" + r;
      }
      return keyPart(x);
    }).join("|");
  }

  /** The key of an encoded (snapped) vector; equal to keyOf(decode(u)), but cheaper. */
  keyOfEncoded(u: Float64Array): string {
    let s = "";
    for (let j = 0; j < this.dims.length; j++) {
      const d = this.dims[j];
      if (j) s += "|";
      if (d.kind === "enum") s += "e" + Math.round(u[j]);
      else {
        const { min, max } = d;
        if (d.n !== Infinity) s += "k" + Math.round((u[j] * (max - min)) / d.step);
        else s += keyPart(min + u[j] * (max - min));
      }
    }
    return s;
  }
}
