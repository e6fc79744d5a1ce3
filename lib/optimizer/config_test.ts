import assert from "node:assert/strict";
import { appConfig, DEFAULT_APP_CONFIG, loadServiceConfig, parseServiceConfig } from "./config.ts";
import { checkGuardrails, parseGuardrail } from "./guardrails.ts";
import { reduceMetric, reduceMetrics } from "./metrics.ts";
import { buildSpace, sanitizePoint } from "./space.ts";

Deno.test("service config: defaults < defaults: < apps.NAME", async () => {
  const cfg = parseServiceConfig({
    defaults: { budget: 10, measure: { duration: 30, warmup: 5 }, guardrails: ["p99 <= 200"] },
    apps: { "acme/web": { budget: 40, goal: "minimize", perf: "p99", seed: 7, engine: "random" } },
  });
  const web = appConfig(cfg, "acme/web");
  assert.equal(web.budget, 40);
  assert.equal(web.goal, "minimize");
  assert.equal(web.perf, "p99");
  assert.equal(web.engine, "random");
  assert.deepEqual(web.measure, { duration: 30, warmup: 5 });
  assert.deepEqual(web.guardrails.map((g) => g.text), ["p99 <= 200"]);
  const other = appConfig(cfg, "default");
  assert.equal(other.budget, 10);
  assert.equal(other.goal, "maximize");
  assert.equal(other.seed, DEFAULT_APP_CONFIG.seed);
  assert.deepEqual(appConfig(parseServiceConfig(null), "x"), DEFAULT_APP_CONFIG);
  const tmp = await Deno.makeTempFile({ suffix: ".yaml" });
  try {
    await Deno.writeTextFile(
      tmp,
      "defaults:\n  budget: 3\napps:\n  default:\n    sleep: {done: 9}\n",
    );
    const c = await loadServiceConfig(tmp);
    assert.deepEqual(appConfig(c, "default").sleep, { done: 9, stopped: 5 });
    await Deno.writeTextFile(tmp, "defaults: [\n");
    await assert.rejects(() => loadServiceConfig(tmp), /invalid YAML/);
  } finally {
    await Deno.remove(tmp);
  }
});

Deno.test("service config: errors name the key", () => {
  const bad: [unknown, RegExp][] = [
    [[1], /top level: must be a mapping/],
    [{ default: {} }, /unknown key "default"/],
    [{ defaults: { budgt: 1 } }, /defaults: unknown key "budgt"/],
    [{ defaults: { budget: -1 } }, /defaults.budget: must be an integer/],
    [{ defaults: { budget: 1.5 } }, /defaults.budget/],
    [{ defaults: { goal: "max" } }, /defaults.goal/],
    [{ defaults: { perf: "a +" } }, /defaults.perf: .*does not parse/],
    [{ defaults: { perf: 5 } }, /defaults.perf: must be a formula/],
    [{ apps: { x: { measure: { duration: "1m" } } } }, /apps.x.measure.duration/],
    [
      { apps: { x: { guardrails: ["p99 ~ 3"] } } },
      /apps.x.guardrails\[0\]: guardrail "p99 ~ 3" does not parse/,
    ],
    [{ apps: { x: { guardrails: "p99 < 3" } } }, /apps.x.guardrails: must be a list/],
    [{ apps: { x: { seed: "a" } } }, /apps.x.seed/],
    [{ apps: { x: { engine: "tpe" } } }, /apps.x.engine/],
    [{ apps: { x: { sleep: { done: 0 } } } }, /apps.x.sleep.done/],
    [{ apps: [1] }, /apps: must be a mapping/],
  ];
  for (const [data, re] of bad) assert.throws(() => parseServiceConfig(data, "f.yaml"), re);
});

Deno.test("guardrails: a fixed grammar, never code", () => {
  const g = parseGuardrail(" latency_p99 <= 200 ");
  assert.deepEqual(g, { text: "latency_p99 <= 200", metric: "latency_p99", op: "<=", bound: 200 });
  assert.equal(parseGuardrail("error rate < 1e-2").metric, "error rate");
  assert.equal(parseGuardrail("x >= -3.5").bound, -3.5);
  for (const t of ["", "x", "x <= y", "x <= 1; y", "process.exit() < 1", "x => 1"]) {
    assert.throws(() => parseGuardrail(t), /does not parse/, t);
  }
  const gs = ["a <= 10", "b > 0", "c != 3", "d == 1", "e < 5", "f >= 2"].map(parseGuardrail);
  assert.equal(checkGuardrails(gs, { a: 10, b: 1, c: 2, d: 1, e: 4, f: 2 }), null);
  assert.match(checkGuardrails(gs, { a: 11, b: 1, c: 2, d: 1, e: 4, f: 2 })!, /a = 11 breaks/);
  assert.match(checkGuardrails(gs, { a: 1, b: 0, c: 2, d: 1, e: 4, f: 2 })!, /b = 0 breaks/);
  assert.match(checkGuardrails(gs, { a: 1, b: 1, c: 2, d: 1, e: 4 })!, /metric f is missing/);
  assert.match(checkGuardrails(gs, { a: null, b: 1 })!, /metric a is missing/);
});

Deno.test("metrics: scalars, numeric strings, null and time series", () => {
  assert.equal(reduceMetric({ value: 3 }), 3);
  assert.equal(reduceMetric({ value: "4.5" }), 4.5);
  assert.equal(reduceMetric({ value: "n/a" }), null);
  assert.equal(reduceMetric({ value: null }), null);
  assert.equal(reduceMetric({ value: Infinity }), null);
  assert.equal(
    reduceMetric({ values: [{ data: [[0, 1], [1, 3]] }, { id: "b", data: [[0, 5]] }] }),
    3,
  );
  assert.equal(reduceMetric({ values: [{ data: [] }] }), null);
  assert.equal(reduceMetric({ values: [{ data: [[0, "x"], [1, 2]] }, "junk"] }), 2);
  assert.deepEqual(reduceMetrics({ a: { value: 1 }, b: {} }), { a: 1, b: null });
  assert.deepEqual(reduceMetrics(null), {});
});

Deno.test("space: descriptor settings to engine params and back", () => {
  const space = buildSpace({
    components: {
      web: {
        settings: {
          cpu: { type: "range", min: 0.25, max: 2, step: 0.25, value: 0.5 },
          gc: { type: "enum", values: ["a", "b"], value: "a" },
          n: { min: 1, max: 3, step: 1, value: 2, pinned: true },
        },
      },
    },
    settings: { global: { type: "enum", values: [1, 2], value: 2 } },
  });
  assert.deepEqual(space.params.map((p) => p.key), ["web.cpu", "web.gc", "web.n", "global"]);
  assert.deepEqual(space.baseline, { "web.cpu": 0.5, "web.gc": "a", "web.n": 2, global: 2 });
  const p = sanitizePoint(space, { "web.cpu": 0.8, "web.gc": "zzz", "web.n": 3, global: 1 });
  assert.deepEqual(p, { "web.cpu": 0.75, "web.gc": "a", "web.n": 2, global: 1 });
  assert.deepEqual(sanitizePoint(space, { "web.cpu": 99 })["web.cpu"], 2);
  assert.deepEqual(space.toSettings(p), {
    web: { cpu: 0.75, gc: "a", n: 2 },
    "(app)": { global: 1 },
  });
  assert.deepEqual(space.toAdjustState(p), {
    application: {
      components: { web: { settings: { cpu: { value: 0.75 }, gc: { value: "a" } } } },
      settings: { global: { value: 1 } },
    },
  });
  for (
    const [app, re] of [
      [null, /no application/],
      [{ components: {} }, /no settings/],
      [
        { components: { w: { settings: { x: { min: 2, max: 1, step: 1 } } } } },
        /min 2 is above max 1/,
      ],
      [{ components: { w: { settings: { x: { min: 0 } } } } }, /numeric min and max/],
      [{ components: { w: { settings: { x: { type: "enum", values: [] } } } } }, /non-empty/],
      [{ components: { w: { settings: { x: { type: "bool" } } } } }, /unknown type/],
      [{ components: { w: { settings: { x: { min: 0, max: 1, step: -1 } } } } }, /step must be/],
      [{ components: { w: 5 } }, /component w: must be an object/],
      [
        {
          settings: Object.fromEntries(
            Array.from({ length: 65 }, (_, i) => [`s${i}`, { min: 0, max: 1, step: 1 }]),
          ),
        },
        /65 settings; servo serve optimizes at most 64/,
      ],
    ] as [unknown, RegExp][]
  ) assert.throws(() => buildSpace(app), re);
});
