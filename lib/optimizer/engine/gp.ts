/**
 * A small Gaussian process for the engine: Matern-5/2 kernel with one length
 * scale per setting (ARD), enums compared by equality (one-hot) plus an
 * optional offset per enum combination (its weight fitted), zero mean on
 * standardized targets, a noise term, the signal variance profiled out of
 * the marginal likelihood, hyperparameters chosen by penalized marginal
 * likelihood (MAP with log-normal priors) over a small grid followed by
 * coordinate refinement. Deterministic, no randomness.
 */

import { cholesky, solveLower } from "./linalg.ts";

const SQRT5 = Math.sqrt(5);

/** Matern-5/2 correlation at scaled distance r. */
export function matern52(r: number): number {
  const s = SQRT5 * r;
  return (1 + s + (s * s) / 3) * Math.exp(-s);
}

/** GP hyperparameters: length scales per dimension and noise (relative to the signal variance). */
export interface GpHyper {
  ls: Float64Array;
  noise: number;
  /**
   * Weight of a per-enum-combination offset term: the kernel is
   * (1 - offset) * Matern + offset * [same enum values]; 0 without enums.
   */
  offset?: number;
}

const LS_MIN = 0.02, LS_MAX = 50;
const NOISE_MIN = 1e-6, NOISE_MAX = 1;
const LS_PRIOR_MU = Math.log(0.5), LS_PRIOR_SD = 1.2;
const NOISE_PRIOR_MU = Math.log(1e-2), NOISE_PRIOR_SD = 2.5;

/** A fitted GP. */
export class Gp {
  readonly n: number;
  readonly d: number;
  readonly X: Float64Array[];
  readonly isEnum: boolean[];
  readonly hyper: GpHyper;
  /** Cholesky factor of R + noise*I (row-major n*n, lower). */
  private L: Float64Array;
  /** (R + noise I)^-1 y */
  private alpha: Float64Array;
  /** Profiled signal variance. */
  readonly s2: number;
  /** Penalized log marginal likelihood of the fit. */
  readonly score: number;
  private inv2: Float64Array;
  /** isEnum as 0/1 bytes, for kvec. */
  private enumMask: Uint8Array;
  /** The training points by dimension: Xt[k][i] = X[i][k]. */
  private Xt: Float64Array[];
  /** kvec's scratch: whether a training point has x's enum values. */
  private same: Uint8Array;

  private constructor(
    X: Float64Array[],
    isEnum: boolean[],
    hyper: GpHyper,
    L: Float64Array,
    alpha: Float64Array,
    s2: number,
    score: number,
  ) {
    this.X = X;
    this.n = X.length;
    this.d = isEnum.length;
    this.isEnum = isEnum;
    this.hyper = hyper;
    this.L = L;
    this.alpha = alpha;
    this.s2 = s2;
    this.score = score;
    this.enumMask = Uint8Array.from(isEnum, (e) => e ? 1 : 0);
    this.Xt = isEnum.map((_, k) => Float64Array.from(X, (xi) => xi[k]));
    this.same = new Uint8Array(this.n);
    this.inv2 = new Float64Array(this.d);
    for (let k = 0; k < this.d; k++) this.inv2[k] = 1 / (hyper.ls[k] * hyper.ls[k]);
  }

  /**
   * Fit: choose hyperparameters by penalized marginal likelihood and factor
   * the kernel matrix. `y` should be standardized.
   */
  static fit(X: Float64Array[], y: Float64Array, isEnum: boolean[], fixed?: GpHyper): Gp {
    const n = X.length, d = isEnum.length;
    // squared per-dimension differences (upper triangle, i<j), dimension-major
    const m = (n * (n - 1)) / 2;
    const D2: Float64Array[] = [];
    for (let k = 0; k < d; k++) {
      const a = new Float64Array(m);
      let t = 0;
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          const diff = X[i][k] - X[j][k];
          a[t++] = isEnum[k] ? (diff === 0 ? 0 : 1) : diff * diff;
        }
      }
      D2.push(a);
    }
    const hasEnum = isEnum.some((e) => e);
    const same = new Uint8Array(m);
    if (hasEnum) {
      let t = 0;
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          let eq = 1;
          for (let k = 0; k < d; k++) if (isEnum[k] && X[i][k] !== X[j][k]) eq = 0;
          same[t++] = eq;
        }
      }
    }
    const r2 = new Float64Array(m);
    const evalHyper = (ls: Float64Array, noise: number, w: number) => {
      r2.fill(0);
      for (let k = 0; k < d; k++) {
        const w = 1 / (ls[k] * ls[k]);
        const a = D2[k];
        for (let t = 0; t < m; t++) r2[t] += a[t] * w;
      }
      const K = new Float64Array(n * n);
      let t = 0;
      for (let i = 0; i < n; i++) {
        K[i * n + i] = 1 + noise;
        for (let j = i + 1; j < n; j++) {
          const v = (1 - w) * matern52(Math.sqrt(r2[t])) + w * same[t];
          t++;
          K[i * n + j] = v;
          K[j * n + i] = v;
        }
      }
      const L = cholesky(K, n);
      if (!L) return null;
      const z = solveLower(L, n, y);
      let q = 0;
      for (let i = 0; i < n; i++) q += z[i] * z[i];
      let logdet = 0;
      for (let i = 0; i < n; i++) logdet += Math.log(L[i * n + i]);
      const s2 = Math.max(q / n, 1e-12);
      let score = -0.5 * n * Math.log(s2) - logdet;
      for (let k = 0; k < d; k++) {
        const e = (Math.log(ls[k]) - LS_PRIOR_MU) / LS_PRIOR_SD;
        score -= 0.5 * e * e;
      }
      const e = (Math.log(noise) - NOISE_PRIOR_MU) / NOISE_PRIOR_SD;
      score -= 0.5 * e * e;
      return { L, z, s2, score };
    };

    let bestLs: Float64Array = fixed ? fixed.ls : new Float64Array(d).fill(0.5);
    let bestNoise = fixed ? fixed.noise : 1e-2;
    let bestW = fixed ? fixed.offset ?? 0 : 0;
    let best = evalHyper(bestLs, bestNoise, bestW);
    let bestScore = best ? best.score : -Infinity;
    const tryIt = (ls: Float64Array, noise: number, w = bestW) => {
      const r = evalHyper(ls, noise, w);
      if (r && r.score > bestScore + 1e-9) {
        best = r;
        bestScore = r.score;
        bestLs = ls;
        bestNoise = noise;
        bestW = w;
        return true;
      }
      return false;
    };
    // 1) isotropic grid
    if (!fixed) {
      for (const l of [0.1, 0.25, 0.6, 1.5]) {
        for (const g of [1e-4, 1e-2, 0.08, 0.3]) {
          tryIt(new Float64Array(d).fill(l), g);
        }
      }
    }
    // 2) coordinate refinement (ARD) and noise
    if (n >= 4 && !fixed) {
      const sweeps = 3;
      for (let s = 0; s < sweeps; s++) {
        let improved = false;
        for (let k = 0; k < d; k++) {
          for (const f of [0.4, 2.5]) {
            const ls = bestLs.slice();
            ls[k] = Math.min(LS_MAX, Math.max(LS_MIN, ls[k] * f));
            if (ls[k] === bestLs[k]) continue;
            if (tryIt(ls, bestNoise)) improved = true;
          }
        }
        for (const f of [0.3, 3]) {
          const g = Math.min(NOISE_MAX, Math.max(NOISE_MIN, bestNoise * f));
          if (g !== bestNoise && tryIt(bestLs, g)) improved = true;
        }
        if (hasEnum) {
          for (const w of [0, 0.15, 0.35, 0.6]) {
            if (w !== bestW && tryIt(bestLs, bestNoise, w)) improved = true;
          }
        }
        if (!improved) break;
      }
    }
    if (!best) {
      // numerically hopeless: fall back to a heavy noise term
      bestNoise = 1;
      best = evalHyper(bestLs, bestNoise, bestW)!;
    }
    const fin = best as { L: Float64Array; z: Float64Array; s2: number; score: number };
    // alpha = L^-T z
    const alpha = solveUpperT(fin.L, n, fin.z);
    const hyper = { ls: bestLs, noise: bestNoise, offset: bestW };
    return new Gp(X, isEnum, hyper, fin.L, alpha, fin.s2, fin.score);
  }

  /**
   * Correlation vector between x and the training points. It goes one
   * dimension at a time over all points (the training points are also kept
   * by dimension, in Xt): the same sums in the same order as point by point,
   * with long loops instead of one short loop per point.
   */
  private kvec(x: Float64Array, out: Float64Array): void {
    const { n, d, Xt, inv2, enumMask, same } = this;
    const w = this.hyper.offset ?? 0;
    out.fill(0, 0, n); // squared scaled distances first
    if (w !== 0) same.fill(1); // read only with an offset weight
    for (let k = 0; k < d; k++) {
      const col = Xt[k], xk = x[k], ik = inv2[k];
      if (enumMask[k]) {
        for (let i = 0; i < n; i++) {
          if (xk - col[i] !== 0) {
            out[i] += ik;
            same[i] = 0;
          }
        }
      } else {
        for (let i = 0; i < n; i++) {
          const diff = xk - col[i];
          out[i] += diff * diff * ik;
        }
      }
    }
    for (let i = 0; i < n; i++) {
      // matern52(Math.sqrt(r2)), written out
      const s = SQRT5 * Math.sqrt(out[i]);
      const m = (1 + s + (s * s) / 3) * Math.exp(-s);
      out[i] = w === 0 ? m : (1 - w) * m + w * same[i];
    }
  }

  /** Posterior mean only (cheap). */
  mean(x: Float64Array): number {
    const kv = new Float64Array(this.n);
    this.kvec(x, kv);
    let mu = 0;
    for (let i = 0; i < this.n; i++) mu += kv[i] * this.alpha[i];
    return mu;
  }

  /** Posterior mean and standard deviation of the latent function at x. */
  predict(x: Float64Array, buf?: Float64Array): { mu: number; sd: number } {
    const n = this.n;
    const kv = buf && buf.length >= n ? buf : new Float64Array(n);
    this.kvec(x, kv);
    let mu = 0;
    for (let i = 0; i < n; i++) mu += kv[i] * this.alpha[i];
    // v = L^-1 k in place; var = 1 - v.v
    const L = this.L;
    let vv = 0;
    for (let i = 0; i < n; i++) {
      let s = kv[i];
      const row = i * n;
      // four at a time, in the same order: the same result, and under V8's
      // mid-tier compiler (Maglev, which is all servo runs: see lib/self.ts)
      // twice as fast as one at a time; this loop is most of a suggestion
      // with 200 trials of history
      let j = 0;
      for (; j + 3 < i; j += 4) {
        const r = row + j;
        s -= L[r] * kv[j];
        s -= L[r + 1] * kv[j + 1];
        s -= L[r + 2] * kv[j + 2];
        s -= L[r + 3] * kv[j + 3];
      }
      for (; j < i; j++) s -= L[row + j] * kv[j];
      s /= L[row + i];
      kv[i] = s;
      vv += s * s;
    }
    const v = Math.max(1 - vv, 1e-12) * this.s2;
    return { mu, sd: Math.sqrt(v) };
  }
}

/** Solve L^T x = b for lower-triangular L (row-major n*n). */
function solveUpperT(L: Float64Array, n: number, b: Float64Array): Float64Array {
  const x = Float64Array.from(b);
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i];
    for (let j = i + 1; j < n; j++) s -= L[j * n + i] * x[j];
    x[i] = s / L[i * n + i];
  }
  return x;
}
