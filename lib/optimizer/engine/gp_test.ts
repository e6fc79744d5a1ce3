import assert from "node:assert/strict";
import { Gp, matern52 } from "./gp.ts";
import { createRng } from "./prng.ts";

/**
 * The posterior as the formulas give it, one point and one term at a time:
 * gp.ts computes the same sums in the same order (by dimension, four terms at
 * a time), so the numbers must be equal, not just close.
 */
function reference(
  X: Float64Array[],
  y: Float64Array,
  isEnum: boolean[],
  ls: Float64Array,
  noise: number,
  w: number,
  x: Float64Array,
): { mu: number; sd: number } {
  const n = X.length, d = isEnum.length;
  const inv2 = Array.from(ls, (l) => 1 / (l * l));
  const corr = (a: Float64Array, b: Float64Array, scale: (k: number) => number) => {
    let r2 = 0, same = 1;
    for (let k = 0; k < d; k++) {
      const diff = a[k] - b[k];
      if (isEnum[k]) {
        if (diff !== 0) {
          r2 += scale(k);
          same = 0;
        }
      } else r2 += diff * diff * scale(k);
    }
    return { r2, same };
  };
  // the kernel matrix as Gp.fit builds it (its distances summed by dimension)
  const K = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    K[i * n + i] = 1 + noise;
    for (let j = i + 1; j < n; j++) {
      let r2 = 0;
      for (let k = 0; k < d; k++) {
        const diff = X[i][k] - X[j][k];
        r2 += (isEnum[k] ? (diff === 0 ? 0 : 1) : diff * diff) * inv2[k];
      }
      const same = corr(X[i], X[j], () => 0).same;
      K[i * n + j] = K[j * n + i] = (1 - w) * matern52(Math.sqrt(r2)) + w * same;
    }
  }
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = K[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = i === j ? Math.sqrt(s) : s / L[j * n + j];
    }
  }
  const lower = (b: Float64Array) => {
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = b[i];
      for (let j = 0; j < i; j++) s -= L[i * n + j] * v[j];
      v[i] = s / L[i * n + i];
    }
    return v;
  };
  const z = lower(y);
  let q = 0;
  for (let i = 0; i < n; i++) q += z[i] * z[i];
  const s2 = Math.max(q / n, 1e-12);
  const alpha = Float64Array.from(z);
  for (let i = n - 1; i >= 0; i--) {
    let s = alpha[i];
    for (let j = i + 1; j < n; j++) s -= L[j * n + i] * alpha[j];
    alpha[i] = s / L[i * n + i];
  }
  const kv = Float64Array.from(X, (xi) => {
    const { r2, same } = corr(x, xi, (k) => inv2[k]);
    return w === 0 ? matern52(Math.sqrt(r2)) : (1 - w) * matern52(Math.sqrt(r2)) + w * same;
  });
  let mu = 0;
  for (let i = 0; i < n; i++) mu += kv[i] * alpha[i];
  const v = lower(kv);
  let vv = 0;
  for (let i = 0; i < n; i++) vv += v[i] * v[i];
  return { mu, sd: Math.sqrt(Math.max(1 - vv, 1e-12) * s2) };
}

Deno.test("Gp.predict gives exactly the numbers of the point-by-point formulas", () => {
  const rng = createRng(7);
  // n not a multiple of 4 and over 4, so the loops' tails run too
  for (
    const [n, isEnum, w] of [[23, [false, true, false], 0.35], [13, [false, false], 0]] as const
  ) {
    const d = isEnum.length;
    const X = Array.from(
      { length: n },
      () => Float64Array.from(isEnum, (e) => e ? rng.int(3) : Math.round(rng.next() * 20) / 20),
    );
    const y = Float64Array.from(X, (x) => Math.sin(4 * x[0]) + x[d - 1] + 0.1 * rng.normal());
    const ls = Float64Array.from(isEnum, (_, k) => 0.3 + 0.2 * k);
    const gp = Gp.fit(X, y, [...isEnum], { ls, noise: 0.01, offset: w });
    for (let t = 0; t < 20; t++) {
      const x = Float64Array.from(isEnum, (e) => e ? rng.int(3) : rng.next());
      const got = gp.predict(x);
      const want = reference(X, y, [...isEnum], ls, 0.01, w, x);
      assert.equal(got.mu, want.mu, `mu, n=${n} t=${t}`);
      assert.equal(got.sd, want.sd, `sd, n=${n} t=${t}`);
    }
  }
});
