/**
 * Space-filling initial design: a Latin hypercube over the free settings
 * (enum values balanced), the best of a few random hypercubes by the
 * maximin distance, counting the baseline as an already placed point.
 * Depends on the seed and the space only, so the k-th design point is the
 * same at every call.
 */

import { dist2 } from "./common.ts";
import { createRng, mixSeed } from "./prng.ts";
import type { Space } from "./space.ts";

/**
 * Initial design size: 2d+1 points (baseline included), at most 10 (more
 * space-filling points cost model-guided trials at budgets of 30), and at
 * most about a third of the budget; at least 3.
 */
export function initialDesignSize(dims: number, budget?: number): number {
  let n = Math.min(2 * dims + 1, 10);
  if (budget !== undefined && Number.isFinite(budget) && budget > 0) {
    n = Math.min(n, Math.max(3, Math.floor((budget + 1) / 3)));
  }
  return Math.max(3, n);
}

function shuffle(a: number[], next: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(next() * (i + 1)));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

/**
 * `count` design points (encoded and snapped to the grid), maximizing the
 * smallest distance between them and to the baseline.
 */
export function latinHypercube(space: Space, count: number, seed: number): Float64Array[] {
  const rng = createRng(mixSeed(seed, 0x1a7e));
  const d = space.dims.length;
  const base = space.snapEncoded(space.encode({}));
  let best: Float64Array[] = [];
  let bestScore = -Infinity;
  const tries = 24;
  for (let t = 0; t < tries; t++) {
    const pts: Float64Array[] = [];
    for (let i = 0; i < count; i++) pts.push(new Float64Array(d));
    for (let j = 0; j < d; j++) {
      const dim = space.dims[j];
      const perm = Array.from({ length: count }, (_, i) => i);
      shuffle(perm, rng.next);
      if (dim.kind === "enum") {
        const vals = Array.from({ length: dim.n }, (_, i) => i);
        shuffle(vals, rng.next);
        for (let i = 0; i < count; i++) pts[i][j] = vals[perm[i] % dim.n];
      } else {
        for (let i = 0; i < count; i++) pts[i][j] = (perm[i] + rng.next()) / count;
      }
    }
    for (const p of pts) space.snapEncoded(p);
    let score = Infinity;
    for (let a = 0; a < count; a++) {
      score = Math.min(score, dist2(space, pts[a], base, score));
      for (let b = a + 1; b < count; b++) {
        score = Math.min(score, dist2(space, pts[a], pts[b], score));
      }
    }
    if (score > bestScore) {
      bestScore = score;
      best = pts;
    }
  }
  return best;
}
