/** Dense linear algebra the GP needs (row-major Float64Array matrices). */

/**
 * Cholesky factor L (lower, row-major n*n) of a symmetric positive definite
 * matrix A, or null when A is not numerically positive definite.
 */
export function cholesky(A: Float64Array, n: number): Float64Array | null {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let s = A[ri + j];
      let k = 0;
      // four at a time, in the same order (see Gp.predict)
      for (; k + 3 < j; k += 4) {
        s -= L[ri + k] * L[rj + k];
        s -= L[ri + k + 1] * L[rj + k + 1];
        s -= L[ri + k + 2] * L[rj + k + 2];
        s -= L[ri + k + 3] * L[rj + k + 3];
      }
      for (; k < j; k++) s -= L[ri + k] * L[rj + k];
      if (i === j) {
        if (!(s > 1e-12)) return null;
        L[ri + i] = Math.sqrt(s);
      } else {
        L[ri + j] = s / L[rj + j];
      }
    }
  }
  return L;
}

/** Solve L x = b for lower-triangular L (row-major n*n). */
export function solveLower(L: Float64Array, n: number, b: Float64Array): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    const ri = i * n;
    for (let j = 0; j < i; j++) s -= L[ri + j] * x[j];
    x[i] = s / L[ri + i];
  }
  return x;
}

/** Standard normal density. */
export function normPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

/** Standard normal cumulative distribution (erfc-based, ~1e-7 accurate). */
export function normCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

function erfc(x: number): number {
  // Numerical Recipes erfcc (Chebyshev), relative error < 1.2e-7
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t *
    Math.exp(
      -z * z - 1.26551223 +
        t * (1.00002368 +
            t * (0.37409196 +
                t * (0.09678418 +
                    t * (-0.18628806 +
                        t * (0.27886807 +
                            t *
                              (-1.13520398 +
                                t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/**
 * log of expected improvement for minimization, where z = (best - mu) / sd:
 * log(sd) + log(z*Phi(z) + phi(z)), with an asymptotic form for very
 * negative z so that tiny improvements still rank correctly.
 */
export function logEi(mu: number, sd: number, best: number): number {
  if (!(sd > 0)) return mu < best ? Math.log(best - mu) : -1e300;
  const z = (best - mu) / sd;
  let h: number;
  if (z > -6) {
    h = Math.log(Math.max(z * normCdf(z) + normPdf(z), 1e-300));
  } else {
    // h(z) ~ phi(z) / z^2 * (1 - 3/z^2)
    h = -0.5 * z * z - 0.5 * Math.log(2 * Math.PI) - 2 * Math.log(-z) +
      Math.log(1 - 3 / (z * z));
  }
  return Math.log(sd) + h;
}
