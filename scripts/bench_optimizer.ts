/**
 * Benchmark of the optimizer engine against random search on test functions
 * shaped like tuning problems: mixed ranges (integer, decimal and continuous
 * steps) and enums, a pinned setting, noise, and a failure region.
 *
 * Run: `deno task bench-optimizer [--quick] [--seeds N] [--first-seed N] [--only NAME]
 * [--gp-options JSON]` (--quick: 6 seeds of 30 trials, a smoke run). The task
 * runs it with the V8 flags of the binary (lib/self.ts), so the suggestion
 * times are those of `servo serve`; the regrets do not depend on them.
 *
 * For each function and engine it runs `--seeds` independent runs of 60
 * trials (the baseline, the current settings, is trial 1) and prints the
 * median best-so-far regret after 10, 20, 30 and 60 trials: the gap between
 * the true (noise-free) optimum on the grid and the true value of the best
 * successful point tried so far. Then it times suggestions with 200 trials
 * of history. The target: at 30 trials, the engine's median regret is at
 * most a third of random search's on every function. Exit code 1 if not met
 * (full run only).
 */

import { parseArgs } from "node:util";
import {
  createEngine,
  type Engine,
  type Observation,
  type ParamSpec,
  type Point,
  validatePoint,
} from "../lib/optimizer/engine/mod.ts";
import { gridCount, gridValue } from "../lib/optimizer/engine/space.ts";
import { createRng, mixSeed, type Rng } from "../lib/optimizer/engine/prng.ts";

type Goal = "maximize" | "minimize";

/** A test problem: `truth` is noise-free (null = the trial fails), `noisy` adds noise. */
interface Problem {
  name: string;
  goal: Goal;
  space: ParamSpec[];
  truth(x: Point): number | null;
  noise(x: Point, t: number, rng: Rng): number;
  /** The best true value over the grid (computed once). */
  optimum(): number;
  /** Reported but not part of the target. */
  stretch?: boolean;
}

// ---------------------------------------------------------------------------
// Test functions

function branin(x1: number, x2: number): number {
  const a = 1, b = 5.1 / (4 * Math.PI * Math.PI), c = 5 / Math.PI, r = 6, s = 10;
  const t = 1 / (8 * Math.PI);
  return a * (x2 - b * x1 * x1 + c * x1 - r) ** 2 + s * (1 - t) * Math.cos(x1) + s;
}

/** Every grid point of a fully discrete space. */
function* gridPoints(space: ParamSpec[]): Generator<Point> {
  const axes = space.map((s) => {
    if (s.pinned) return [s.value as number | string];
    if (s.type === "enum") return s.values!;
    const n = gridCount(s);
    return Array.from({ length: n }, (_, k) => gridValue(s, k));
  });
  const idx = new Array(axes.length).fill(0);
  while (true) {
    const p: Point = {};
    space.forEach((s, j) => p[s.key] = axes[j][idx[j]]);
    yield p;
    let j = 0;
    for (; j < axes.length; j++) {
      idx[j]++;
      if (idx[j] < axes[j].length) break;
      idx[j] = 0;
    }
    if (j === axes.length) return;
  }
}

function gridOptimum(space: ParamSpec[], truth: (x: Point) => number | null, goal: Goal): number {
  let best = goal === "minimize" ? Infinity : -Infinity;
  for (const p of gridPoints(space)) {
    const v = truth(p);
    if (v === null) continue;
    best = goal === "minimize" ? Math.min(best, v) : Math.max(best, v);
  }
  return best;
}

function lazy(f: () => number): () => number {
  let v: number | undefined;
  return () => (v ??= f());
}

const BRANIN_SPACE: ParamSpec[] = [
  { key: "x1", type: "range", min: -5, max: 10, step: 0.05, value: 0 },
  { key: "x2", type: "range", min: 0, max: 15, step: 0.05, value: 5 },
  { key: "algo", type: "enum", values: ["a", "b", "c"], value: "a" },
];

/**
 * 1. Branin with an enum that shifts the landscape a little and changes
 * which basin is best (the enum values share the landscape's structure, as
 * algorithm choices of one system do); decimal steps; noise.
 */
export function braninEnum(): Problem {
  const space = BRANIN_SPACE;
  const truth = (x: Point) => {
    const x1 = x.x1 as number, x2 = x.x2 as number;
    switch (x.algo) {
      case "a":
        return branin(x1, x2) + 1;
      case "b":
        return branin(x1 - 1, x2 - 0.5) + 0.05 * (x1 + 5);
      default:
        return 1.2 * branin(x1 + 0.7, x2 + 0.3) + 0.4;
    }
  };
  return {
    name: "branin-enum",
    goal: "minimize",
    space,
    truth,
    noise: (_x, _t, rng) => 0.5 * rng.normal(),
    optimum: lazy(() => gridOptimum(space, truth, "minimize")),
  };
}

/**
 * 1b. (stretch, not part of the target) Branin where each enum value is a
 * far-shifted copy: nine basins, only the two of "b" are good, and nothing
 * learned on one enum value carries over to another.
 */
export function braninShift(): Problem {
  const space = BRANIN_SPACE;
  const truth = (x: Point) => {
    const x1 = x.x1 as number, x2 = x.x2 as number;
    switch (x.algo) {
      case "a":
        return branin(x1, x2) + 2;
      case "b":
        return branin(x1 - 2.5, x2) + 0.05 * (x1 + 5);
      default:
        return 1.3 * branin(x1 + 1.5, x2) + 1;
    }
  };
  return {
    name: "branin-shift",
    goal: "minimize",
    space,
    truth,
    noise: (_x, _t, rng) => 0.5 * rng.normal(),
    optimum: lazy(() => gridOptimum(space, truth, "minimize")),
    stretch: true,
  };
}

/** 2. Noisy separable quadratic in 6 settings with integer and decimal steps, one pinned. */
export function quadInt(): Problem {
  const space: ParamSpec[] = [
    { key: "web.threads", type: "range", min: 1, max: 64, step: 1, value: 8 },
    { key: "web.pool", type: "range", min: 0, max: 1000, step: 10, value: 100 },
    { key: "web.batch", type: "range", min: 1, max: 256, step: 1, value: 32 },
    { key: "db.ratio", type: "range", min: 0.1, max: 0.9, step: 0.05, value: 0.5 },
    { key: "db.timeout", type: "range", min: 0, max: 30, step: 0.5, value: 10 },
    { key: "db.workers", type: "range", min: 1, max: 16, step: 1, value: 4 },
    { key: "region", type: "enum", values: ["eu", "us"], value: "eu", pinned: true },
  ];
  const terms: [string, number, number, number][] = [
    // key, center, scale (range), weight
    ["web.threads", 41, 63, 1.0],
    ["web.pool", 270, 1000, 0.8],
    ["web.batch", 187, 255, 0.6],
    ["db.ratio", 0.72, 0.8, 1.2],
    ["db.timeout", 6.5, 30, 0.5],
    ["db.workers", 11, 15, 0.9],
  ];
  const truth = (x: Point) => {
    if (x.region !== "eu") throw new Error("Pinned setting changed");
    let s = 0;
    for (const [k, c, r, w] of terms) s += w * (((x[k] as number) - c) / r) ** 2;
    return 1000 - 1500 * s; // throughput, maximize
  };
  const optimum = lazy(() => {
    let s = 0;
    for (const [k, c, r, w] of terms) {
      const spec = space.find((p) => p.key === k)!;
      let m = Infinity;
      for (let i = 0; i < gridCount(spec); i++) {
        m = Math.min(m, w * ((gridValue(spec, i) - c) / r) ** 2);
      }
      s += m;
    }
    return 1000 - 1500 * s;
  });
  return {
    name: "quad-int-6d",
    goal: "maximize",
    space,
    truth,
    noise: (_x, _t, rng) => 15 * rng.normal(),
    optimum,
  };
}

/** 3. A servo-like service: out of memory (null) beyond a boundary the optimum sits near. */
export function failureRegion(): Problem {
  const space: ParamSpec[] = [
    { key: "app.concurrency", type: "range", min: 1, max: 128, step: 1, value: 16 },
    { key: "app.cache_mb", type: "range", min: 0, max: 2048, step: 64, value: 256 },
    { key: "app.cache_policy", type: "enum", values: ["fifo", "lru", "lfu"], value: "fifo" },
    { key: "app.gc_ratio", type: "range", min: 0.1, max: 0.9, step: 0.1, value: 0.5 },
  ];
  const truth = (x: Point) => {
    const c = x["app.concurrency"] as number, m = x["app.cache_mb"] as number;
    const pol = x["app.cache_policy"] as string, g = x["app.gc_ratio"] as number;
    const mem = c * 10 + m * (1.2 - 0.5 * g);
    if (mem > 1800) return null; // OOM
    if (pol === "fifo" && c > 96) return null; // crashes
    const hit = { fifo: 0.55, lru: 0.7, lfu: 0.78 }[pol]! * (1 - Math.exp(-m / 500));
    const par = c / (1 + c / 60) / 30; // saturating concurrency
    const contention = 1 + 0.5 * ((c - 70) / 60) ** 2;
    const gcCost = 1 + 0.6 * (g - 0.35) ** 2 + (g < 0.25 ? 0.2 : 0);
    return 1000 * par * (0.4 + hit) / contention / gcCost; // throughput
  };
  return {
    name: "failure-region",
    goal: "maximize",
    space,
    truth,
    noise: (x, _t, rng) => 0.03 * (truth(x) ?? 0) * rng.normal(),
    optimum: lazy(() => gridOptimum(space, truth, "maximize")),
  };
}

const H6_A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const H6_P = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
].map((r) => r.map((v) => v * 1e-4));
const H6_ALPHA = [1, 1.2, 3, 3.2];

function hartmann6(z: number[]): number {
  let s = 0;
  for (let i = 0; i < 4; i++) {
    let e = 0;
    for (let j = 0; j < 6; j++) e += H6_A[i][j] * (z[j] - H6_P[i][j]) ** 2;
    s += H6_ALPHA[i] * Math.exp(-e);
  }
  return -s;
}

/** 4. Hartmann-6 with continuous, decimal and integer settings, and an enum that scales it. */
export function hartmannMixed(): Problem {
  const space: ParamSpec[] = [
    { key: "a", type: "range", min: 0, max: 1, step: 0, value: 0.5 },
    { key: "b", type: "range", min: 0, max: 1, step: 0, value: 0.5 },
    { key: "c", type: "range", min: 0, max: 10, step: 0, value: 5 },
    { key: "d", type: "range", min: 0, max: 1, step: 0.01, value: 0.5 },
    { key: "e", type: "range", min: 0, max: 1, step: 0.05, value: 0.5 },
    { key: "f", type: "range", min: 0, max: 20, step: 1, value: 10 },
    { key: "mode", type: "enum", values: ["safe", "fast"], value: "safe" },
  ];
  const vec = (x: Point) => [
    x.a as number,
    x.b as number,
    (x.c as number) / 10,
    x.d as number,
    x.e as number,
    (x.f as number) / 20,
  ];
  const truth = (x: Point) => (x.mode === "fast" ? 1 : 0.75) * hartmann6(vec(x));
  const optimum = lazy(() => {
    // the known optimum snapped to the grid, then a fine local search on the
    // continuous settings (a, b, c)
    const p: Point = { a: 0.20169, b: 0.150011, c: 4.76874, d: 0.28, e: 0.3, f: 13, mode: "fast" };
    let best = truth(p)!;
    for (const d of [0.26, 0.27, 0.28, 0.29]) {
      for (const e of [0.25, 0.3, 0.35]) {
        for (const f of [12, 13, 14]) {
          const q = { ...p, d, e, f };
          const v = truth(q)!;
          if (v < best) {
            best = v;
            Object.assign(p, q);
          }
        }
      }
    }
    for (let h = 0.05; h > 1e-7; h /= 2) {
      let moved = true;
      while (moved) {
        moved = false;
        for (const k of ["a", "b", "c"]) {
          for (const sgn of [-1, 1]) {
            const q = { ...p, [k]: (p[k] as number) + sgn * h * (k === "c" ? 10 : 1) };
            const v = truth(q)!;
            if (v < best) {
              best = v;
              Object.assign(p, q);
              moved = true;
            }
          }
        }
      }
    }
    return best;
  });
  return {
    name: "hartmann6-mixed",
    goal: "minimize",
    space,
    truth,
    noise: (_x, _t, rng) => 0.05 * rng.normal(),
    optimum,
  };
}

// ---------------------------------------------------------------------------
// Runner

const CHECKPOINTS = [10, 20, 30, 60];

function baselinePoint(space: ParamSpec[]): Point {
  const p: Point = {};
  for (const s of space) p[s.key] = s.value as number | string;
  return p;
}

/** One run: best-so-far regret at each checkpoint. */
export function runOnce(
  pb: Problem,
  engine: Engine,
  seed: number,
  trials: number,
  times?: number[],
): number[] {
  const noiseRng = createRng(mixSeed(seed, 0xbe4c));
  const history: Observation[] = [];
  const opt = pb.optimum();
  let best = pb.goal === "minimize" ? Infinity : -Infinity;
  const regrets: number[] = [];
  for (let t = 1; t <= trials; t++) {
    let x: Point;
    if (t === 1) x = baselinePoint(pb.space);
    else {
      const t0 = performance.now();
      x = engine.suggest(pb.space, history, { seed, goal: pb.goal, budget: trials - 1 });
      times?.push(performance.now() - t0);
      const errs = validatePoint(pb.space, x);
      if (errs.length) throw new Error(`${pb.name}: invalid suggestion: ${errs.join(" ")}`);
    }
    const tv = pb.truth(x);
    const y = tv === null ? null : tv + pb.noise(x, t, noiseRng);
    history.push({ x, y });
    if (tv !== null) best = pb.goal === "minimize" ? Math.min(best, tv) : Math.max(best, tv);
    if (CHECKPOINTS.includes(t)) {
      regrets.push(
        Number.isFinite(best) ? Math.abs(pb.goal === "minimize" ? best - opt : opt - best) : NaN,
      );
    }
  }
  return regrets;
}

function median(a: number[]): number {
  const b = a.filter((v) => !Number.isNaN(v)).sort((x, y) => x - y);
  if (b.length === 0) return NaN;
  const m = b.length >> 1;
  return b.length % 2 ? b[m] : (b[m - 1] + b[m]) / 2;
}

function fmt(v: number, w = 10): string {
  const s = Number.isNaN(v)
    ? "-"
    : v === 0
    ? "0"
    : Math.abs(v) >= 100
    ? v.toFixed(1)
    : v.toPrecision(3);
  return s.padStart(w);
}

/** Suggestion time with a 200-trial history on the 6-setting problem. */
function timing(engine: Engine, reps: number): number[] {
  const pb = quadInt();
  const rng = createRng(12345);
  const history: Observation[] = [];
  const rand = createEngine("random");
  for (let t = 0; t < 200; t++) {
    const x = rand.suggest(pb.space, history, { seed: 7, goal: pb.goal });
    const v = pb.truth(x)!;
    history.push({ x, y: rng.next() < 0.05 ? null : v + pb.noise(x, t, rng) });
  }
  const out: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    engine.suggest(pb.space, history, { seed: r, goal: pb.goal, budget: 250 });
    out.push(performance.now() - t0);
  }
  return out;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean", default: false },
      seeds: { type: "string" },
      only: { type: "string" },
      "gp-options": { type: "string" },
      "first-seed": { type: "string" },
    },
  });
  const quick = values.quick!;
  const seeds = Number(values.seeds ?? (quick ? 6 : 20));
  const trials = quick ? 30 : 60;
  const firstSeed = Number(values["first-seed"] ?? 1000);
  const problems = [braninEnum(), quadInt(), failureRegion(), hartmannMixed(), braninShift()]
    .filter((p) => !values.only || p.name === values.only);
  const engines: [string, Engine][] = [["random", createEngine("random")], [
    "gp",
    createEngine("gp", values["gp-options"] ? JSON.parse(values["gp-options"]) : undefined),
  ]];
  console.log(
    `Median best-so-far regret over ${seeds} seeds (trial 1 = baseline; lower is better)` +
      (quick ? " [quick]" : ""),
  );
  const header = "function".padEnd(18) + "engine".padEnd(8) +
    CHECKPOINTS.filter((c) => c <= trials).map((c) => `@${c}`.padStart(10)).join("") +
    "   ratio@30".padStart(10);
  console.log(header);
  console.log("-".repeat(header.length));
  let allOk = true;
  const suggestTimes: number[] = [];
  for (const pb of problems) {
    pb.optimum();
    const med: Record<string, number[]> = {};
    for (const [name, engine] of engines) {
      const per: number[][] = CHECKPOINTS.map(() => []);
      for (let s = 0; s < seeds; s++) {
        const r = runOnce(
          pb,
          engine,
          firstSeed + s,
          trials,
          name === "gp" ? suggestTimes : undefined,
        );
        r.forEach((v, i) => per[i].push(v));
      }
      med[name] = per.slice(0, CHECKPOINTS.filter((c) => c <= trials).length).map(median);
    }
    const i30 = CHECKPOINTS.indexOf(30);
    const ratio = med.gp[i30] / med.random[i30];
    const ok = med.gp[i30] <= med.random[i30] / 3 + 1e-12;
    if (!pb.stretch) allOk &&= ok;
    for (const [name] of engines) {
      const extra = name === "gp"
        ? fmt(ratio) + (ok ? "  ok" : "  MISSED") +
          (pb.stretch ? " (stretch, not in the target)" : "")
        : "";
      console.log(
        pb.name.padEnd(18) + name.padEnd(8) + med[name].map((v) => fmt(v)).join("") + extra,
      );
    }
    await Promise.resolve();
  }
  const t = timing(createEngine("gp"), quick ? 5 : 20);
  console.log(
    `\nSuggestion time with 200 trials of history, 6 settings: median ${
      median(t).toFixed(1)
    } ms, ` +
      `max ${Math.max(...t).toFixed(1)} ms (${t.length} suggestions)`,
  );
  if (suggestTimes.length) {
    console.log(
      `Suggestion time during the runs above: median ${median(suggestTimes).toFixed(1)} ms, ` +
        `max ${Math.max(...suggestTimes).toFixed(1)} ms`,
    );
  }
  console.log(
    allOk
      ? "Target met: gp regret at 30 trials <= 1/3 of random on every function."
      : "Target NOT met.",
  );
  return allOk || quick ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
