import assert from "node:assert/strict";
import {
  compileFormula,
  FormulaError,
  MAX_FORMULA_LENGTH,
  metricIdentifier,
  perfFormula,
  unknownVariables,
} from "./formula.ts";
import { ConfigError } from "./errors.ts";

Deno.test("metricIdentifier maps non-identifier characters to _", () => {
  assert.equal(metricIdentifier("requests throughput"), "requests_throughput");
  assert.equal(metricIdentifier("p99.latency-ms"), "p99_latency_ms");
  assert.equal(metricIdentifier("99th"), "_99th");
  assert.equal(metricIdentifier("perf"), "perf");
});

Deno.test("compileFormula lists variables and evaluates with metric names or identifiers", () => {
  const f = compileFormula("requests_throughput / cost");
  assert.deepEqual(f.variables, ["requests_throughput", "cost"]);
  assert.equal(f.evaluate({ "requests throughput": 200, cost: 4 }), 50);
  assert.equal(f.evaluate({ requests_throughput: 100, cost: 4 }), 25);
  assert.equal(compileFormula("max(a, 2) + sqrt(b)").evaluate({ a: 1, b: 9 }), 5);
  assert.equal(compileFormula("a < 10 ? 1 : 2").evaluate({ a: 3 }), 1);
});

Deno.test("compileFormula rejects bad syntax with a ConfigError naming OPTUNE_PERF", () => {
  for (const bad of ["1 +", "a.b", "x = 3", "f(x) = x", "throughput /"]) {
    assert.throws(() => compileFormula(bad), (e: unknown) => {
      assert.ok(e instanceof FormulaError && e instanceof ConfigError, String(e));
      assert.match((e as Error).message, /^OPTUNE_PERF /);
      return true;
    });
  }
});

Deno.test("compileFormula rejects unknown and non-numeric functions", () => {
  assert.throws(() => compileFormula("foo(a)"), /unknown function "foo"/);
  assert.throws(() => compileFormula("random()"), /unknown function "random"/);
  assert.throws(() => compileFormula("sum(a)"), /unknown function "sum"/);
});

Deno.test("evaluate accepts numbers only and needs every variable", () => {
  const f = compileFormula("a / b");
  assert.throws(() => f.evaluate({ a: 1 }), /needs metric "b"/);
  assert.throws(() => f.evaluate({ a: 1, b: Number.NaN }), /as a number/);
  assert.throws(() => f.evaluate({ a: 1, b: "2" as unknown as number }), /as a number/);
  assert.throws(() => f.evaluate({ a: 1, b: 0 }), /finite number/);
  assert.throws(() => compileFormula("'x'").evaluate({}), /finite number/);
});

Deno.test("unknownVariables names identifiers without a metric", () => {
  const f = compileFormula("requests_throughput / cost");
  assert.deepEqual(unknownVariables(f, ["requests throughput", "latency"]), ["cost"]);
});

Deno.test("compileFormula rejects names inherited from Object.prototype", () => {
  for (
    const text of [
      "isPrototypeOf(a)",
      "hasOwnProperty(a)",
      "valueOf",
      "constructor(1)",
      "a + toString",
    ]
  ) {
    assert.throws(() => compileFormula(text), FormulaError, text);
  }
  assert.equal(
    compileFormula("max(a, b) + sqrt(c) + pow(d, 2)").evaluate({ a: 1, b: 2, c: 4, d: 3 }),
    13,
  );
});

Deno.test("compileFormula refuses a huge formula at once (expr-eval's analysis is quadratic)", () => {
  const names = Array.from({ length: 60_000 }, (_, i) => `v${i}`).join("+");
  const t0 = performance.now();
  assert.throws(() => compileFormula(names), /longer than 4096 characters/);
  assert.ok(performance.now() - t0 < 100);
  // the longest allowed one compiles quickly
  const long = Array.from({ length: 600 }, (_, i) => `v${i}`).join("+").slice(
    0,
    MAX_FORMULA_LENGTH,
  );
  const t1 = performance.now();
  compileFormula(long.replace(/\+$/, ""));
  assert.ok(performance.now() - t1 < 1000, `${performance.now() - t1} ms`);
});

Deno.test("perfFormula: what servo evaluates is compiled; what only the service can is kept with a note; broken syntax is an error", () => {
  const plain = perfFormula("requests_throughput / cost");
  assert.deepEqual(plain.formula?.variables, ["requests_throughput", "cost"]);
  assert.equal(plain.serviceOnly, undefined);
  // PROTOCOL 1.10's example: the service's own function, with a keyword argument
  const slo = perfFormula("opsani.time_slo(canary_median_response_time, target=100)");
  assert.equal(slo.formula, undefined);
  assert.equal(
    slo.serviceOnly,
    `goes beyond servo's numeric formulas (unexpected ".", member access is not permitted): servo cannot evaluate it, so it is sent to the service unchecked`,
  );
  assert.match(
    perfFormula("time_slo(latency, 100)").serviceOnly!,
    /^goes beyond servo's numeric formulas \(calls an unknown function "time_slo"\): /,
  );
  for (const bad of ["throughput /", "a +* b", "f(", "x".repeat(MAX_FORMULA_LENGTH + 1)]) {
    assert.throws(() => perfFormula(bad), FormulaError, bad.slice(0, 20));
  }
});
