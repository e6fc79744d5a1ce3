/**
 * Output transforms of the engine: standardization and a Yeo-Johnson power
 * transform (as in HEBO) so a few very bad values do not flatten the model.
 */

/** Mean and standard deviation (population; sd 1 when the values are all equal). */
export function meanSd(y: ArrayLike<number>): { mean: number; sd: number } {
  const n = y.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += y[i];
  m /= n || 1;
  let v = 0;
  for (let i = 0; i < n; i++) v += (y[i] - m) * (y[i] - m);
  v /= n || 1;
  const sd = Math.sqrt(v);
  return { mean: m, sd: sd > 1e-12 * Math.max(1, Math.abs(m)) ? sd : 1 };
}

/** Yeo-Johnson transform of one value. */
export function yeoJohnson(x: number, lambda: number): number {
  if (x >= 0) {
    return Math.abs(lambda) < 1e-9 ? Math.log1p(x) : (Math.pow(x + 1, lambda) - 1) / lambda;
  }
  return Math.abs(lambda - 2) < 1e-9
    ? -Math.log1p(-x)
    : -(Math.pow(1 - x, 2 - lambda) - 1) / (2 - lambda);
}

/**
 * Standardize, Yeo-Johnson transform with lambda chosen by maximum
 * likelihood on a grid, and standardize again. Monotone increasing, so
 * rankings are kept.
 */
export function powerStandardize(y: ArrayLike<number>): Float64Array {
  const n = y.length;
  const { mean, sd } = meanSd(y);
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) z[i] = (y[i] - mean) / sd;
  if (n < 4) return z;
  let bestL = 1, bestLl = -Infinity;
  const t = new Float64Array(n);
  for (let lambda = -1; lambda <= 3.0001; lambda += 0.25) {
    let jac = 0;
    for (let i = 0; i < n; i++) {
      t[i] = yeoJohnson(z[i], lambda);
      jac += Math.sign(z[i]) * Math.log1p(Math.abs(z[i]));
    }
    const ms = meanSd(t);
    const ll = -0.5 * n * Math.log(ms.sd * ms.sd) + (lambda - 1) * jac;
    if (ll > bestLl + 1e-12) {
      bestLl = ll;
      bestL = lambda;
    }
  }
  for (let i = 0; i < n; i++) t[i] = yeoJohnson(z[i], bestL);
  const ms = meanSd(t);
  for (let i = 0; i < n; i++) t[i] = (t[i] - ms.mean) / ms.sd;
  return t;
}

/** Plain standardization (zero mean, unit variance). */
export function standardize(y: ArrayLike<number>): Float64Array {
  const { mean, sd } = meanSd(y);
  return Float64Array.from(y, (v) => (v - mean) / sd);
}

/** Inverse of the standard normal distribution function (Acklam, ~1e-9). */
export function normInv(p: number): number {
  const a = [
    -39.69683028665376,
    220.9460984245205,
    -275.9285104469687,
    138.357751867269,
    -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406,
    161.5858368580409,
    -155.6989798598866,
    66.80131188771972,
    -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293,
    -0.3223964580411365,
    -2.400758277161838,
    -2.549732539343734,
    4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const pl = 0.02425;
  if (p < pl) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - pl) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** Gaussian copula: normal quantiles of the ranks (ties share a rank), standardized. */
export function copulaStandardize(y: ArrayLike<number>): Float64Array {
  const n = y.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => y[a] - y[b] || a - b);
  const r = new Float64Array(n);
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && y[idx[j + 1]] === y[idx[i]]) j++;
    for (let k = i; k <= j; k++) r[idx[k]] = (i + j) / 2;
    i = j + 1;
  }
  const out = Float64Array.from(r, (v) => normInv((v + 0.5) / n));
  const ms = meanSd(out);
  return out.map((v) => (v - ms.mean) / ms.sd);
}
