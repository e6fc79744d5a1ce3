import assert from "node:assert/strict";
import { anyCloser, dist2 } from "./common.ts";
import { createRng } from "./prng.ts";
import { Space } from "./space.ts";

const SPACE = new Space([
  { key: "a", type: "range", min: 0, max: 1, step: 0.01 },
  { key: "e", type: "enum", values: ["x", "y"] },
  { key: "b", type: "range", min: 0, max: 1, step: 0 },
]);

/** Random points near each other, so that every branch of the tests is taken. */
function points(seed: number, count: number): Float64Array[] {
  const rng = createRng(seed);
  return Array.from(
    { length: count },
    () => Float64Array.from([0.5 + rng.normal() * 0.02, rng.int(2), 0.5 + rng.normal() * 0.02]),
  );
}

Deno.test("dist2 with a limit: the same comparisons and minimum as the full sum", () => {
  const pts = points(3, 60);
  for (const a of pts) {
    let m = Infinity, mFull = Infinity;
    for (const b of pts) {
      for (const limit of [1e-4, 4e-4, 1, 1.0004]) {
        assert.equal(dist2(SPACE, a, b, limit) < limit, dist2(SPACE, a, b) < limit);
      }
      m = Math.min(m, dist2(SPACE, a, b, m));
      mFull = Math.min(mFull, dist2(SPACE, a, b));
    }
    assert.equal(m, mFull);
  }
  assert.equal(dist2(SPACE, pts[0], pts[1]), dist2(SPACE, pts[0], pts[1], Infinity));
});

Deno.test("anyCloser agrees with dist2 over every point", () => {
  const tried = points(5, 40);
  let hits = 0;
  for (const u of points(9, 300)) {
    for (const r2 of [0, 1e-4, 4e-4, 1.0004]) {
      const want = tried.some((x) => dist2(SPACE, u, x) < r2);
      assert.equal(anyCloser(SPACE, tried, u, r2), want);
      if (want) hits++;
    }
  }
  assert.ok(hits > 50 && hits < 1200 - 50, `${hits} of 1200 close: both answers tested`);
  assert.equal(anyCloser(SPACE, [], tried[0], 1), false);
});
