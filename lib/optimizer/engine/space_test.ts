import assert from "node:assert/strict";
import {
  decimalsOf,
  gridCount,
  gridValue,
  snapToGrid,
  Space,
  validatePoint,
  validateSpace,
} from "./space.ts";
import type { ParamSpec } from "./types.ts";

Deno.test("decimalsOf counts the decimals of steps", () => {
  assert.equal(decimalsOf(1), 0);
  assert.equal(decimalsOf(0.1), 1);
  assert.equal(decimalsOf(0.125), 3);
  assert.equal(decimalsOf(1e-7), 7);
});

Deno.test("snapToGrid rounds to min + k*step without float noise and clamps", () => {
  const s: ParamSpec = { key: "x", type: "range", min: 0.1, max: 0.9, step: 0.1 };
  assert.equal(snapToGrid(s, 0.30000000000000004), 0.3);
  assert.equal(snapToGrid(s, 0.26), 0.3);
  assert.equal(snapToGrid(s, -5), 0.1);
  assert.equal(snapToGrid(s, 7), 0.9);
  const q: ParamSpec = { key: "q", type: "range", min: 0.05, max: 1, step: 0.1 };
  // grid 0.05, 0.15, ..., 0.95 (1 is not on it)
  assert.equal(gridCount(q), 10);
  assert.equal(snapToGrid(q, 1), 0.95);
  assert.equal(gridValue(q, 3), 0.35);
  const c: ParamSpec = { key: "c", type: "range", min: 0, max: 1, step: 0 };
  assert.equal(snapToGrid(c, 0.123456), 0.123456);
  assert.equal(gridCount(c), Infinity);
  const i: ParamSpec = { key: "i", type: "range", min: 1, max: 8, step: 1 };
  assert.equal(snapToGrid(i, 3.49), 3);
  assert.equal(gridCount(i), 8);
  assert.equal(gridCount({ key: "z", type: "range", min: 2, max: 2, step: 1 }), 1);
});

Deno.test("snapToGrid matches enum values and rejects unknown ones", () => {
  const e: ParamSpec = { key: "e", type: "enum", values: ["a", "b", 3] };
  assert.equal(snapToGrid(e, "b"), "b");
  assert.equal(snapToGrid(e, "3"), 3);
  assert.equal(snapToGrid(e, 2.6), 3);
  assert.throws(() => snapToGrid(e, "zzz"), /not one of the values of setting e/);
});

Deno.test("validatePoint reports off-grid, out-of-range, unknown and pinned changes", () => {
  const space: ParamSpec[] = [
    { key: "a", type: "range", min: 0, max: 1, step: 0.25 },
    { key: "b", type: "enum", values: ["x", "y"] },
    { key: "c", type: "range", min: 0, max: 10, step: 1, pinned: true, value: 3.5 },
  ];
  assert.deepEqual(validatePoint(space, { a: 0.5, b: "x", c: 3.5 }), []);
  assert.equal(validatePoint(space, { a: 0.3, b: "x", c: 3.5 }).length, 1);
  assert.equal(validatePoint(space, { a: 2, b: "x", c: 3.5 }).length, 1);
  assert.equal(validatePoint(space, { a: 0.5, b: "z", c: 3.5 }).length, 1);
  assert.equal(validatePoint(space, { a: 0.5, b: "x", c: 4 }).length, 1);
  assert.equal(validatePoint(space, { a: 0.5, b: "x" }).length, 1);
});

Deno.test("validateSpace finds broken specs", () => {
  assert.deepEqual(validateSpace([{ key: "a", type: "range", min: 0, max: 1, step: 1 }]), []);
  assert.equal(validateSpace([{ key: "a", type: "range", min: 2, max: 1 }]).length, 1);
  assert.equal(validateSpace([{ key: "a", type: "enum", values: [] }]).length, 1);
  assert.equal(
    validateSpace([{ key: "a", type: "enum", values: [1] }, {
      key: "a",
      type: "enum",
      values: [1],
    }])
      .length,
    1,
  );
  assert.throws(() => new Space([{ key: "a", type: "range", min: 2, max: 1 }]), /Invalid search/);
});

Deno.test("Space encodes, snaps and decodes round trip", () => {
  const sp = new Space([
    { key: "a", type: "range", min: 10, max: 20, step: 0.5, value: 12 },
    { key: "b", type: "enum", values: ["x", "y", "z"], value: "y" },
    { key: "p", type: "range", min: 0, max: 4, step: 1, pinned: true, value: 2 },
    { key: "one", type: "enum", values: ["only"] },
  ]);
  assert.equal(sp.dims.length, 2);
  const u = sp.encode({ a: 12.5, b: "z", p: 2, one: "only" });
  assert.deepEqual(Array.from(u), [0.25, 2]);
  assert.deepEqual(sp.decode(u), { a: 12.5, b: "z", p: 2, one: "only" });
  const w = sp.snapEncoded(Float64Array.from([0.2738, 1.4]));
  assert.deepEqual(sp.decode(w), { a: 12.5, b: "y", p: 2, one: "only" });
  assert.equal(sp.size(), 21 * 3);
});

Deno.test("keyOfEncoded agrees with keyOf of the decoded point", () => {
  const sp = new Space([
    { key: "a", type: "range", min: 0.05, max: 1, step: 0.1, value: 0.05 },
    { key: "c", type: "range", min: -1, max: 1, step: 0, value: 0 },
    { key: "b", type: "enum", values: ["x", "y", "z"], value: "y" },
  ]);
  for (const raw of [[0, 0.3, 0], [0.5, 0.77, 2], [1, 1, 1], [0.93, 0, 2]]) {
    const u = sp.snapEncoded(Float64Array.from(raw));
    assert.equal(sp.keyOfEncoded(u), sp.keyOf(sp.decode(u)));
  }
  // an off-grid history value never matches a grid point
  assert.notEqual(sp.keyOf({ a: 0.1, c: 0, b: "x" }), sp.keyOf({ a: 0.05, c: 0, b: "x" }));
});

Deno.test("snapEncoded gives what snapToGrid gives, its grid values kept or not", () => {
  const specs: ParamSpec[] = [
    { key: "a", type: "range", min: 0.05, max: 1, step: 0.1 }, // max off the grid
    { key: "b", type: "range", min: 1, max: 32, step: 1 },
    { key: "c", type: "range", min: 0.125, max: 2, step: 0.125 },
    { key: "d", type: "range", min: 0, max: 100_000, step: 1 }, // too many values to keep
    { key: "e", type: "range", min: -1, max: 1, step: 0 },
    { key: "f", type: "enum", values: ["x", "y", "z"] },
  ];
  const sp = new Space(specs);
  // what snapEncoded did before it kept grid values: snapToGrid on the decoded value
  const reference = (u: Float64Array) =>
    Float64Array.from(u, (x, j) => {
      const d = sp.dims[j];
      if (d.kind === "enum") return Math.min(d.n - 1, Math.max(0, Math.round(x)));
      const c = Math.min(1, Math.max(0, x));
      if (d.n === Infinity) return c;
      const min = Number(d.spec.min), max = Number(d.spec.max);
      return ((snapToGrid(d.spec, min + c * (max - min)) as number) - min) / (max - min);
    });
  let seed = 1;
  const next = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (let t = 0; t < 2000; t++) {
    const raw = Float64Array.from(specs, (_, j) => j === 5 ? next() * 3 : next() * 1.2 - 0.1);
    if (t % 7 === 0) raw[0] = 1; // the top of the range
    const want = reference(raw);
    assert.deepEqual(Array.from(sp.snapEncoded(raw.slice())), Array.from(want), `${raw}`);
  }
  for (let k = 0; k < sp.dims[0].n; k++) {
    assert.equal(sp.gridEncoded(0, k), (gridValue(specs[0], k) - 0.05) / 0.95);
  }
  assert.throws(() => sp.snapEncoded(Float64Array.from([NaN, 0, 0, 0, 0, 0])), /not a number/);
});
