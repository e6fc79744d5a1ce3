import assert from "node:assert/strict";
import { createEngine, type Engine, type Observation, type ParamSpec, type Point } from "./mod.ts";
import { validatePoint } from "./space.ts";

const MIXED: ParamSpec[] = [
  { key: "web.threads", type: "range", min: 1, max: 32, step: 1, value: 4 },
  { key: "web.ratio", type: "range", min: 0.05, max: 0.95, step: 0.1, value: 0.45 },
  { key: "web.cpu", type: "range", min: 0.125, max: 2, step: 0.125, value: 0.5 },
  { key: "web.algo", type: "enum", values: ["lru", "lfu", "fifo"], value: "lru" },
  { key: "web.region", type: "enum", values: ["eu", "us"], value: "us", pinned: true },
  { key: "web.mem", type: "range", min: 0, max: 8, step: 0.5, value: 1.3, pinned: true },
];

function mixedObjective(x: Point): number {
  const t = x["web.threads"] as number, r = x["web.ratio"] as number;
  const c = x["web.cpu"] as number;
  const bonus = { lru: 0, lfu: 3, fifo: -2 }[x["web.algo"] as string]!;
  return 50 - ((t - 20) / 8) ** 2 * 10 - ((r - 0.65) * 20) ** 2 - ((c - 1.5) * 4) ** 2 + bonus;
}

function baseline(space: ParamSpec[]): Point {
  return Object.fromEntries(space.map((s) => [s.key, s.value as number | string]));
}

function run(
  engine: Engine,
  space: ParamSpec[],
  f: (x: Point) => number | null,
  n: number,
  seed: number,
  goal: "maximize" | "minimize" = "maximize",
): Observation[] {
  const h: Observation[] = [{ x: baseline(space), y: f(baseline(space)) }];
  while (h.length < n) {
    const x = engine.suggest(space, h, { seed, goal, budget: n - 1 });
    h.push({ x, y: f(x) });
  }
  return h;
}

Deno.test("gp and random suggestions are on the grid, in the enums, pinned untouched, never repeated", () => {
  for (const kind of ["gp", "random"] as const) {
    const h = run(createEngine(kind), MIXED, mixedObjective, 24, 5);
    const keys = new Set<string>();
    for (const o of h.slice(1)) {
      assert.deepEqual(validatePoint(MIXED, o.x), [], `${kind}: ${JSON.stringify(o.x)}`);
      assert.equal(o.x["web.region"], "us");
      assert.equal(o.x["web.mem"], 1.3);
      const k = JSON.stringify(o.x);
      assert.ok(!keys.has(k), `${kind} repeated ${k}`);
      keys.add(k);
      // no float noise: values print as short decimals
      assert.ok(String(o.x["web.ratio"]).length <= 4, String(o.x["web.ratio"]));
    }
  }
});

Deno.test("gp suggestions are deterministic for the same seed and history", () => {
  const h = run(createEngine("gp"), MIXED, mixedObjective, 14, 3);
  const opts = { seed: 3, goal: "maximize" as const, budget: 20 };
  const a = createEngine("gp").suggest(MIXED, h, opts);
  const b = createEngine("gp").suggest(MIXED, structuredClone(h), opts);
  assert.deepEqual(a, b);
  // the whole run replays identically
  const h2 = run(createEngine("gp"), MIXED, mixedObjective, 14, 3);
  assert.deepEqual(h2, h);
  // the design depends on the seed
  const c = createEngine("gp").suggest(MIXED, h.slice(0, 1), { ...opts, seed: 4 });
  const d = createEngine("gp").suggest(MIXED, h.slice(0, 1), opts);
  assert.notDeepEqual(c, d);
});

Deno.test("gp beats random search on a mixed quadratic within 25 trials", () => {
  const optimum = 53;
  let gpRegret = 0, rndRegret = 0;
  for (const seed of [1, 2, 3]) {
    const best = (h: Observation[]) => Math.max(...h.map((o) => o.y ?? -Infinity));
    gpRegret += optimum - best(run(createEngine("gp"), MIXED, mixedObjective, 25, seed));
    rndRegret += optimum - best(run(createEngine("random"), MIXED, mixedObjective, 25, seed));
  }
  assert.ok(gpRegret < rndRegret / 2, `gp ${gpRegret} random ${rndRegret}`);
  assert.ok(gpRegret / 3 < 4, `gp regret ${gpRegret / 3}`);
});

Deno.test("gp learns and avoids a failure region", () => {
  const space: ParamSpec[] = [
    { key: "c", type: "range", min: 0, max: 100, step: 1, value: 10 },
    { key: "m", type: "range", min: 0, max: 100, step: 1, value: 10 },
  ];
  // the optimum is at c=30, m=40; everything with c > 60 crashes (null)
  const f = (x: Point) => {
    const c = x.c as number, m = x.m as number;
    return c > 60 ? null : 100 - ((c - 30) / 10) ** 2 - ((m - 40) / 10) ** 2;
  };
  let gpLate = 0, rndLate = 0;
  for (const seed of [1, 2]) {
    const h = run(createEngine("gp"), space, f, 24, seed);
    gpLate += h.slice(-12).filter((o) => o.y === null).length;
    assert.ok(Math.max(...h.map((o) => o.y ?? -Infinity)) > 99, `seed ${seed}`);
    rndLate += run(createEngine("random"), space, f, 24, seed).slice(-12)
      .filter((o) => o.y === null).length;
  }
  // gp still probes the unknown now and then, but far less than random search
  assert.ok(gpLate <= 6 && gpLate * 2 <= rndLate, `gp failed ${gpLate}, random ${rndLate} of 24`);
});

Deno.test("gp finds an optimum on the edge of a failure region", () => {
  const space: ParamSpec[] = [
    { key: "c", type: "range", min: 0, max: 100, step: 1, value: 10 },
    { key: "m", type: "range", min: 0, max: 100, step: 1, value: 10 },
  ];
  // throughput grows with c and m, but c + m > 110 crashes; optimum 104.6
  const f = (x: Point) => {
    const c = x.c as number, m = x.m as number;
    return c + m > 110 ? null : c + 0.8 * m - 0.004 * (c - 60) ** 2;
  };
  let gpBest = 0, rndBest = 0;
  for (const seed of [1, 2]) {
    const best = (h: Observation[]) => Math.max(...h.map((o) => o.y ?? -Infinity));
    gpBest += best(run(createEngine("gp"), space, f, 30, seed)) / 2;
    rndBest += best(run(createEngine("random"), space, f, 30, seed)) / 2;
  }
  assert.ok(gpBest > 99 && gpBest > rndBest, `gp ${gpBest} random ${rndBest}`);
});

Deno.test("all-failed histories still give new valid points", () => {
  const h: Observation[] = [{ x: baseline(MIXED), y: null }];
  for (let i = 0; i < 12; i++) {
    const x = createEngine("gp").suggest(MIXED, h, { seed: 9, goal: "minimize" });
    assert.deepEqual(validatePoint(MIXED, x), []);
    assert.ok(!h.some((o) => JSON.stringify(o.x) === JSON.stringify(x)));
    h.push({ x, y: null });
  }
});

Deno.test("a tiny grid is exhausted without repeats, then the best point is returned", () => {
  const space: ParamSpec[] = [
    { key: "a", type: "range", min: 1, max: 3, step: 1, value: 1 },
    { key: "b", type: "enum", values: ["x", "y"], value: "x" },
  ];
  const f = (x: Point) => (x.a as number) * 10 + (x.b === "y" ? 1 : 0);
  for (const kind of ["gp", "random"] as const) {
    const h = run(createEngine(kind), space, f, 6, 1, "minimize");
    assert.equal(new Set(h.map((o) => JSON.stringify(o.x))).size, 6, kind);
    const next = createEngine(kind).suggest(space, h, { seed: 1, goal: "minimize" });
    if (kind === "gp") assert.deepEqual(next, { a: 1, b: "x" });
    assert.deepEqual(validatePoint(space, next), []);
  }
});

Deno.test("degenerate spaces: only pinned, one-value enum, min == max", () => {
  const space: ParamSpec[] = [
    { key: "p", type: "range", min: 0, max: 10, step: 1, value: 7, pinned: true },
    { key: "e", type: "enum", values: ["only"], value: "only" },
    { key: "z", type: "range", min: 2, max: 2, step: 0.5, value: 2 },
    { key: "q", type: "enum", values: ["a", "b"], value: "b", pinned: true },
  ];
  for (const kind of ["gp", "random"] as const) {
    const e = createEngine(kind);
    const want = { p: 7, e: "only", z: 2, q: "b" };
    assert.deepEqual(e.suggest(space, [], { seed: 1, goal: "maximize" }), want);
    assert.deepEqual(
      e.suggest(space, [{ x: want, y: 1 }, { x: want, y: null }], { seed: 1, goal: "maximize" }),
      want,
    );
  }
  // one free dimension with two values
  const two: ParamSpec[] = [...space, {
    key: "t",
    type: "range",
    min: 0,
    max: 1,
    step: 1,
    value: 0,
  }];
  const x = createEngine("gp").suggest(
    two,
    [{ x: { p: 7, e: "only", z: 2, q: "b", t: 0 }, y: 1 }],
    {
      seed: 1,
      goal: "maximize",
    },
  );
  assert.equal(x.t, 1);
});

Deno.test("a continuous range gets values within bounds", () => {
  const space: ParamSpec[] = [
    { key: "x", type: "range", min: -1, max: 1, step: 0, value: 0.5 },
    { key: "y", type: "range", min: 0, max: 5, step: 0, value: 1 },
  ];
  const h = run(
    createEngine("gp"),
    space,
    (x) => ((x.x as number) - 0.3) ** 2 + ((x.y as number) - 4) ** 2,
    20,
    2,
    "minimize",
  );
  for (const o of h) assert.deepEqual(validatePoint(space, o.x), []);
  assert.ok(Math.min(...h.map((o) => o.y!)) < 0.2);
});

Deno.test("a suggestion with 200 trials of history is fast", () => {
  const rnd = createEngine("random");
  const h: Observation[] = [];
  for (let i = 0; i < 200; i++) {
    const x = rnd.suggest(MIXED, h, { seed: 1, goal: "maximize" });
    h.push({ x, y: i % 17 === 0 ? null : mixedObjective(x) });
  }
  const gp = createEngine("gp");
  gp.suggest(MIXED, h, { seed: 1, goal: "maximize" }); // warm up the JIT
  const t0 = performance.now();
  const x = gp.suggest(MIXED, h, { seed: 2, goal: "maximize" });
  const ms = performance.now() - t0;
  assert.deepEqual(validatePoint(MIXED, x), []);
  assert.ok(ms < 1000, `${ms} ms`);
});

Deno.test("gp finds the better enum value even when the first one looks fine", () => {
  const space: ParamSpec[] = [
    { key: "x", type: "range", min: 0, max: 10, step: 0.1, value: 1 },
    { key: "algo", type: "enum", values: ["a", "b", "c"], value: "a" },
  ];
  // "c" is best, at another x
  const f = (p: Point) => {
    const x = p.x as number;
    if (p.algo === "a") return 10 - (x - 3) ** 2 / 4;
    if (p.algo === "b") return 8 - (x - 5) ** 2 / 4;
    return 13 - (x - 8) ** 2 / 4;
  };
  for (const seed of [1, 2]) {
    const h = run(createEngine("gp"), space, f, 20, seed);
    assert.ok(Math.max(...h.map((o) => o.y!)) > 12.5, `seed ${seed}`);
  }
});
