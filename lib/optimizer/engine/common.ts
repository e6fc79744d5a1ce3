/**
 * What every engine needs: the history prepared against the space (encoded
 * points, objective turned into "lower is better", the set of tried points),
 * a per-call random source derived from the seed and the history, random and
 * exhaustive sampling of untried grid points, and the answer when the grid
 * is exhausted.
 */

import { createRng, hashString, mixSeed, type Rng } from "./prng.ts";
import { Space } from "./space.ts";
import type { Observation, ParamSpec, Point, SuggestOptions } from "./types.ts";

/** Spaces with at most this many points are enumerated exactly. */
export const ENUMERATE_LIMIT = 3000;

/** The history as the engines use it. */
export interface Prepared {
  space: Space;
  /** Keys of the points already tried (see Space.keyOf). */
  tried: Set<string>;
  /** Encoded history points. */
  xs: Float64Array[];
  /** Objective, lower is better; null = failed trial. */
  ys: (number | null)[];
  rng: Rng;
}

/** Prepare a suggestion: encode the history and derive the random source. */
export function prepare(
  specs: ParamSpec[],
  history: Observation[],
  opts: SuggestOptions,
  salt: number,
): Prepared {
  const space = new Space(specs);
  const tried = new Set<string>();
  const xs: Float64Array[] = [];
  const ys: (number | null)[] = [];
  const sign = opts.goal === "maximize" ? -1 : 1;
  let h = 0x811c9dc5;
  for (const o of history) {
    const x = o.x ?? {};
    const key = space.keyOf(x);
    tried.add(key);
    xs.push(space.encode(x));
    const y = typeof o.y === "number" && Number.isFinite(o.y) ? sign * o.y : null;
    ys.push(y);
    h = hashString(key + "#" + (y === null ? "null" : y.toPrecision(10)), h);
  }
  const rng = createRng(mixSeed(opts.seed, salt, history.length, h));
  return { space, tried, xs, ys, rng };
}

/** A uniformly random grid point (encoded): grid values equally likely. */
export function randomEncoded(space: Space, rng: Rng): Float64Array {
  const u = new Float64Array(space.dims.length);
  space.dims.forEach((d, j) => {
    if (d.kind === "enum") u[j] = rng.int(d.n);
    else if (d.n === Infinity) u[j] = rng.next();
    else u[j] = space.gridEncoded(j, rng.int(d.n));
  });
  return u;
}

/**
 * All untried points of a finite space of at most ENUMERATE_LIMIT points,
 * in a fixed order; null when the space is too big or continuous.
 */
export function enumerateUntried(p: Prepared, limit = ENUMERATE_LIMIT): Float64Array[] | null {
  const { space, tried } = p;
  const size = space.size();
  if (!(size <= limit)) return null;
  const axes: number[][] = space.dims.map((d, j) => {
    const a: number[] = [];
    if (d.kind === "enum") { for (let i = 0; i < d.n; i++) a.push(i); }
    else for (let k = 0; k < d.n; k++) a.push(space.gridEncoded(j, k));
    return a;
  });
  const out: Float64Array[] = [];
  const idx = new Array(axes.length).fill(0);
  for (let c = 0; c < size; c++) {
    const u = new Float64Array(axes.length);
    for (let j = 0; j < axes.length; j++) u[j] = axes[j][idx[j]];
    if (!tried.has(space.keyOfEncoded(u))) out.push(u);
    for (let j = 0; j < axes.length; j++) {
      idx[j]++;
      if (idx[j] < axes[j].length) break;
      idx[j] = 0;
    }
  }
  return out;
}

/**
 * A random untried point, or null if none was found (the grid is then
 * exhausted or nearly so; use enumerateUntried to be sure).
 */
export function randomUntried(p: Prepared, attempts = 200): Float64Array | null {
  for (let i = 0; i < attempts; i++) {
    const u = randomEncoded(p.space, p.rng);
    if (!p.tried.has(p.space.keyOfEncoded(u))) return u;
  }
  return null;
}

/**
 * When candidates ran out: a random untried point, else (finite grids up to
 * a million points) an untried point found by enumeration, else the
 * exhausted answer.
 */
export function lastResort(p: Prepared): Point {
  const u = randomUntried(p, 2000);
  if (u) return p.space.decode(u);
  const all = enumerateUntried(p, 1_000_000);
  if (all && all.length) return p.space.decode(all[p.rng.int(all.length)]);
  return exhaustedAnswer(p);
}

/**
 * The answer when every point has been tried: the best point seen (snapped
 * to the grid), or the first one if all failed, or the baseline.
 */
export function exhaustedAnswer(p: Prepared): Point {
  let bi = -1;
  p.ys.forEach((y, i) => {
    if (y !== null && (bi < 0 || y < p.ys[bi]!)) bi = i;
  });
  if (bi < 0 && p.xs.length) bi = 0;
  const u = bi >= 0
    ? p.space.snapEncoded(Float64Array.from(p.xs[bi]))
    : p.space.snapEncoded(p.space.encode({}));
  return p.space.decode(u);
}

/**
 * Squared distance between encoded points (enum mismatch counts 1). With a
 * `limit`, the sum stops once it reaches the limit and a value >= limit is
 * returned: enough for `dist2(...) < limit` and `Math.min(limit, dist2(...))`,
 * which then give what the full sum gives (the terms are never negative).
 */
export function dist2(
  space: Space,
  a: Float64Array,
  b: Float64Array,
  limit = Infinity,
): number {
  const isEnum = space.isEnum;
  let s = 0;
  for (let j = 0; j < a.length && s < limit; j++) {
    if (isEnum[j]) s += a[j] === b[j] ? 0 : 1;
    else s += (a[j] - b[j]) * (a[j] - b[j]);
  }
  return s;
}

/**
 * Whether some point of `pts` is closer to `u` than sqrt(r2): the same test
 * as `pts.some((x) => dist2(space, u, x, r2) < r2)`, written out, since it
 * runs for every candidate against every tried point.
 */
export function anyCloser(space: Space, pts: Float64Array[], u: Float64Array, r2: number): boolean {
  const isEnum = space.isEnum, d = u.length;
  for (let i = 0; i < pts.length; i++) {
    const x = pts[i];
    let s = 0;
    for (let j = 0; j < d && s < r2; j++) {
      if (isEnum[j]) s += u[j] === x[j] ? 0 : 1;
      else s += (u[j] - x[j]) * (u[j] - x[j]);
    }
    if (s < r2) return true;
  }
  return false;
}
