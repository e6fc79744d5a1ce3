/**
 * Gaussian-process Bayesian optimization for small budgets:
 *
 * 1. a Latin hypercube initial design of 2d+1 points, at most 10 (the
 *    baseline counts as one), from the seed alone;
 * 2. then a GP (Matern-5/2 ARD, see gp.ts) on the successful trials, the
 *    objective power-transformed (Yeo-Johnson) and standardized; at most
 *    MAX_TRAIN points (the best half and the most recent rest) keep it fast;
 *    failed trials are taught by a second GP on success/failure labels whose
 *    probability of success multiplies the acquisition (or, with
 *    `failures: "worst"`, as the worst value seen);
 * 3. an acquisition ensemble cycled over the trials: expected improvement
 *    over the best posterior mean (robust to noise); the same restricted to
 *    the least-tried value of each enum over that value's own best (so a
 *    better enum value is not missed for lack of trying); and a lower
 *    confidence bound (beta 1); scored on grid-snapped untried
 *    candidates no closer than MIN_DIST to a tried point: the whole grid
 *    when small, else random points plus perturbations of the best points,
 *    then a local grid search from the most promising ones.
 *
 * Every step is seeded from opts.seed and the history, so the same inputs
 * give the same point, and nothing is kept between calls.
 */

import {
  anyCloser,
  dist2,
  enumerateUntried,
  exhaustedAnswer,
  lastResort,
  prepare,
  type Prepared,
  randomEncoded,
} from "./common.ts";
import { initialDesignSize, latinHypercube } from "./design.ts";
import { Gp } from "./gp.ts";
import { logEi, normCdf } from "./linalg.ts";
import type { Space } from "./space.ts";
import { copulaStandardize, powerStandardize, standardize } from "./transform.ts";
import type { Engine, Observation, ParamSpec, Point, SuggestOptions } from "./types.ts";

/** Most points the GP is fitted on. */
export const MAX_TRAIN = 50;
/**
 * The ensemble's acquisition cycle: EI; EI focused on the least-tried value
 * of each enum ("eienum"); lower confidence bound with the given beta.
 */
const ACQ_CYCLE = ["ei", "eienum", "ei", "ucb1"];
/** Candidates less likely than this to succeed are only taken when nothing else is left. */
const MIN_FEASIBLE = 0.3;
/** Smallest distance (unit cube) of a candidate to a tried point, against near-duplicates. */
const MIN_DIST = 0.01;
/** Candidate counts. */
const N_RANDOM = 600;
const N_LOCAL_CENTERS = 5;
const N_LOCAL_PER_CENTER = 80;
const MAX_EXHAUSTIVE = 3000;
const N_CLIMB_STARTS = 4;
const CLIMB_STEPS = 12;

/** Tuning knobs of the GP engine (defaults are the tested ones). */
export interface GpEngineOptions {
  /** Output transform: "power" (Yeo-Johnson + standardize) or "standard". */
  transform?: "power" | "standard" | "copula";
  /** Acquisition: expected improvement, or an EI/UCB ensemble picked per call. */
  acquisition?: "ei" | "ensemble";
  /** Most points the GP is fitted on. */
  maxTrain?: number;
  /** Failed trials: taught as the worst value seen, or by a separate feasibility model. */
  failures?: "worst" | "feasibility";
}

/** The GP-BO engine. */
export class GpEngine implements Engine {
  readonly options: Required<GpEngineOptions>;
  constructor(options: GpEngineOptions = {}) {
    this.options = {
      transform: options.transform ?? "power",
      acquisition: options.acquisition ?? "ensemble",
      maxTrain: options.maxTrain ?? MAX_TRAIN,
      failures: options.failures ?? "feasibility",
    };
  }

  /** See Engine.suggest. */
  suggest(space: ParamSpec[], history: Observation[], opts: SuggestOptions): Point {
    const p = prepare(space, history, opts, 0x6b0e);
    const sp = p.space;
    if (sp.dims.length === 0) return sp.decode(new Float64Array(0));
    const all = enumerateUntried(p);
    if (all && all.length === 0) return exhaustedAnswer(p);

    // 1) initial design
    const n0 = initialDesignSize(sp.dims.length, opts.budget);
    if (history.length < n0) {
      const design = latinHypercube(sp, n0 - 1, opts.seed);
      for (const u of design) {
        if (!p.tried.has(sp.keyOfEncoded(u))) return sp.decode(u);
      }
    }
    const okCount = p.ys.filter((y) => y !== null).length;
    if (okCount < 2) {
      const u = spaceFilling(p, all);
      return u ? sp.decode(u) : lastResort(p);
    }

    // 2) model
    const isEnum = sp.dims.map((d) => d.kind === "enum");
    const useFeas = this.options.failures === "feasibility" && p.ys.some((v) => v === null);
    const { X, y } = trainingSet(p, this.options, useFeas);
    const gp = Gp.fit(X, y, isEnum);
    let feas: Gp | null = null;
    if (useFeas) {
      const { X: Xc, y: yc } = labelSet(p, this.options.maxTrain);
      feas = Gp.fit(Xc, yc, isEnum, { ls: gp.hyper.ls, noise: 0.05 });
    }
    const cycle = this.options.acquisition === "ei" ? ["ei"] : ACQ_CYCLE;
    let acq = cycle[history.length % cycle.length];
    // "eienum": expected improvement restricted to the least-tried value of
    // each enum setting, over that value's own best, so that every value's
    // best region gets found
    let focus: { j: number; v: number }[] | null = null;
    if (acq === "eienum") {
      focus = [];
      sp.dims.forEach((d, j) => {
        if (d.kind !== "enum") return;
        const counts = new Array(d.n).fill(0);
        for (const x of p.xs) counts[x[j]]++;
        focus!.push({ j, v: counts.indexOf(Math.min(...counts)) });
      });
      acq = "ei";
      if (focus.length === 0) focus = null;
    }
    const inFocus = (u: Float64Array) => !focus || focus.every((f) => u[f.j] === f.v);
    let best = Infinity;
    for (const x of X) if (inFocus(x)) best = Math.min(best, gp.mean(x));
    if (best === Infinity) { for (const x of X) best = Math.min(best, gp.mean(x)); }
    const buf = new Float64Array(Math.max(X.length, p.xs.length));
    const beta = acq === "ei" ? 0 : Number(acq.slice(3));
    const score = (u: Float64Array) => {
      if (!inFocus(u)) return -Infinity;
      let logFeas = 0;
      if (feas) {
        const c = feas.predict(u, buf);
        const pf = normCdf(c.mu / Math.max(c.sd, 1e-3));
        // likely failures rank below every likely success
        logFeas = Math.log(Math.max(1e-9, pf)) - (pf < MIN_FEASIBLE ? 1e6 : 0);
      }
      const { mu, sd } = gp.predict(u, buf);
      return acq === "ei" ? logEi(mu, sd, best) + logFeas : -(mu - beta * sd) + 2 * logFeas;
    };

    // 3) candidates
    const seen = new Set<string>();
    // no near-duplicates of tried points on fine grids (a waste under noise)
    const r2 = MIN_DIST * MIN_DIST;
    const tooClose = (u: Float64Array) => r2 > 0 && anyCloser(sp, p.xs, u, r2);
    const cands: Float64Array[] = [];
    const add = (u: Float64Array) => {
      sp.snapEncoded(u);
      const k = sp.keyOfEncoded(u);
      if (p.tried.has(k) || seen.has(k) || tooClose(u)) return;
      seen.add(k);
      cands.push(u);
    };
    if (all && all.length <= MAX_EXHAUSTIVE) {
      for (const u of all) add(u);
    } else {
      for (let i = 0; i < N_RANDOM; i++) add(randomEncoded(sp, p.rng));
      const order = X.map((x, i) => ({ i, m: gp.mean(x) })).sort((a, b) => a.m - b.m || a.i - b.i);
      const centers = order.slice(0, N_LOCAL_CENTERS).map((o) => X[o.i]);
      // and the best point of each enum value, so every value's own best region is refined
      sp.dims.forEach((d, j) => {
        if (d.kind !== "enum") return;
        for (let v = 0; v < d.n; v++) {
          const o = order.find((o) => X[o.i][j] === v);
          if (o && !centers.includes(X[o.i])) centers.push(X[o.i]);
        }
      });
      if (focus) {
        for (const c of centers.slice(0, N_LOCAL_CENTERS)) {
          const w = Float64Array.from(c);
          for (const f of focus) w[f.j] = f.v;
          centers.push(w);
        }
      }
      for (const c of centers) {
        for (let i = 0; i < N_LOCAL_PER_CENTER; i++) {
          const u = perturb(sp, c, p, i);
          if (focus && i % 2 === 0) { for (const f of focus) u[f.j] = f.v; }
          add(u);
        }
      }
    }
    if (cands.length === 0) return lastResort(p);
    let scored = cands.map((u, i) => ({ u, s: score(u), i }));
    if (focus && scored.every((c) => c.s === -Infinity)) {
      // nothing left to try with the focused enum values: plain EI
      focus = null;
      best = Infinity;
      for (const x of X) best = Math.min(best, gp.mean(x));
      scored = cands.map((u, i) => ({ u, s: score(u), i }));
    }
    scored.sort((a, b) => b.s - a.s || a.i - b.i);
    let top = scored[0];
    // local grid search from the best few
    for (const start of scored.slice(0, N_CLIMB_STARTS)) {
      let cur = start;
      for (let step = 0; step < CLIMB_STEPS; step++) {
        let moved = false;
        for (const nb of neighbors(sp, cur.u)) {
          const k = sp.keyOfEncoded(nb);
          if (p.tried.has(k) || seen.has(k)) continue;
          seen.add(k);
          if (tooClose(nb)) continue;
          const s = score(nb);
          if (s > cur.s + 1e-12) {
            cur = { u: nb, s, i: cur.i };
            moved = true;
          }
        }
        if (!moved) break;
      }
      if (cur.s > top.s + 1e-12) top = cur;
    }
    return sp.decode(top.u);
  }
}

/** The training set: failures as the worst value seen, capped to MAX_TRAIN points. */
export function trainingSet(
  p: Prepared,
  o: Required<GpEngineOptions>,
  okOnly = false,
): { X: Float64Array[]; y: Float64Array } {
  const cap = o.maxTrain;
  let worst = -Infinity;
  for (const y of p.ys) if (y !== null) worst = Math.max(worst, y);
  const idx = p.xs.map((_, i) => i).filter((i) => !okOnly || p.ys[i] !== null);
  let keep = idx;
  if (idx.length > cap) {
    const ok = idx.filter((i) => p.ys[i] !== null).sort((a, b) => p.ys[a]! - p.ys[b]! || a - b);
    const bestHalf = new Set(ok.slice(0, Math.floor(cap / 2)));
    const rest = idx.filter((i) => !bestHalf.has(i)).slice(-(cap - bestHalf.size));
    keep = [...bestHalf, ...rest].sort((a, b) => a - b);
  }
  const raw = keep.map((i) => p.ys[i] ?? worst);
  return {
    X: keep.map((i) => p.xs[i]),
    y: o.transform === "power"
      ? powerStandardize(raw)
      : o.transform === "copula"
      ? copulaStandardize(raw)
      : standardize(raw),
  };
}

/** The feasibility training set: +1 for a success, -1 for a failure (most recent points). */
function labelSet(p: Prepared, cap: number): { X: Float64Array[]; y: Float64Array } {
  const idx = p.xs.map((_, i) => i).slice(-cap);
  return {
    X: idx.map((i) => p.xs[i]),
    y: Float64Array.from(idx, (i) => (p.ys[i] === null ? -1 : 1)),
  };
}

/** A random perturbation of c: a few coordinates moved, at one of several scales. */
function perturb(sp: Space, c: Float64Array, p: Prepared, i: number): Float64Array {
  const d = sp.dims.length;
  const u = Float64Array.from(c);
  const scale = [0.02, 0.06, 0.15, 0.3][i % 4];
  const prob = Math.min(1, 2.5 / d);
  let changed = false;
  for (let j = 0; j < d; j++) {
    if (p.rng.next() >= prob) continue;
    changed = true;
    movecoord(sp, u, j, scale, p);
  }
  if (!changed) movecoord(sp, u, p.rng.int(d), scale, p);
  return u;
}

function movecoord(sp: Space, u: Float64Array, j: number, scale: number, p: Prepared): void {
  const dim = sp.dims[j];
  if (dim.kind === "enum") u[j] = p.rng.int(dim.n);
  else {
    let delta = p.rng.normal() * scale;
    // at least one grid step on coarse grids
    if (dim.n !== Infinity) {
      const g = 1 / (dim.n - 1);
      if (Math.abs(delta) < g) delta = delta < 0 ? -g : g;
    }
    u[j] = Math.min(1, Math.max(0, u[j] + delta));
  }
}

/** Grid neighbors of u: one or a few steps along each range, other values of each enum. */
function neighbors(sp: Space, u: Float64Array): Float64Array[] {
  const out: Float64Array[] = [];
  sp.dims.forEach((dim, j) => {
    if (dim.kind === "enum") {
      for (let v = 0; v < dim.n; v++) {
        if (v === u[j]) continue;
        const w = Float64Array.from(u);
        w[j] = v;
        out.push(w);
      }
      return;
    }
    const steps = dim.n === Infinity
      ? [0.003, 0.015, 0.06]
      : [1, Math.max(2, Math.round((dim.n - 1) / 16))].map((k) => k / (dim.n - 1));
    for (const s of steps) {
      for (const sign of [-1, 1]) {
        const x = u[j] + sign * s;
        if (x < -1e-9 || x > 1 + 1e-9) continue;
        const w = Float64Array.from(u);
        w[j] = x;
        sp.snapEncoded(w);
        if (w[j] !== u[j]) out.push(w);
      }
    }
  });
  return out;
}

/** With too few successes to model: the candidate farthest from everything tried. */
function spaceFilling(p: Prepared, all: Float64Array[] | null): Float64Array | null {
  const sp = p.space;
  const cands: Float64Array[] = [];
  if (all && all.length <= MAX_EXHAUSTIVE) cands.push(...all);
  else {
    for (let i = 0; i < 500; i++) {
      const u = randomEncoded(sp, p.rng);
      if (!p.tried.has(sp.keyOfEncoded(u))) cands.push(u);
    }
  }
  if (cands.length === 0) return null;
  let best = cands[0], bestD = -Infinity;
  for (const c of cands) {
    let m = Infinity;
    for (const x of p.xs) m = Math.min(m, dist2(sp, c, x, m));
    if (m > bestD) {
      bestD = m;
      best = c;
    }
  }
  return best;
}
