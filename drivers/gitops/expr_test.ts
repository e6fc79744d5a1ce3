import assert from "node:assert/strict";
import { compileExpression, ExpressionError } from "./expr.ts";

const ev = (text: string, vars: Record<string, number | string | boolean> = {}) =>
  compileExpression(text).evaluate(vars);

Deno.test("the original driver's formula works", () => {
  const f = compileExpression("str(300 + (cpu * 10)) + 'Mi'");
  assert.deepEqual(f.variables, ["cpu"]);
  assert.equal(f.evaluate({ cpu: 1.5 }), "315Mi");
  assert.equal(f.evaluate({ cpu: 0.25 }), "302.5Mi");
});

Deno.test("arithmetic follows Python precedence and semantics", () => {
  assert.equal(ev("1 + 2 * 3"), 7);
  assert.equal(ev("(1 + 2) * 3"), 9);
  assert.equal(ev("2 ** 3 ** 2"), 512);
  assert.equal(ev("-2 ** 2"), -4);
  assert.equal(ev("7 // 2"), 3);
  assert.equal(ev("-7 // 2"), -4);
  assert.equal(ev("-7 % 3"), 2);
  assert.equal(ev("7 / 2"), 3.5);
  assert.equal(ev("1e3 + .5"), 1000.5);
});

Deno.test("functions, comparisons, conditionals", () => {
  assert.equal(ev("max(1, x, 3)", { x: 5 }), 5);
  assert.equal(ev("min(4, 2.5)"), 2.5);
  assert.equal(ev("abs(-3)"), 3);
  assert.equal(ev("round(2.5)"), 2);
  assert.equal(ev("round(3.5)"), 4);
  assert.equal(ev("round(2.675, 1)"), 2.7);
  assert.equal(ev("int(3.9)"), 3);
  assert.equal(ev("int('42')"), 42);
  assert.equal(ev("float('1.5') * 2"), 3);
  assert.equal(ev("str(2.0)"), "2");
  assert.equal(ev("str(0.1 + 0.2)"), "0.3");
  assert.equal(ev("len('abc')"), 3);
  assert.equal(ev("math.ceil(1.2) + floor(1.8)"), 3);
  assert.equal(ev("math.sqrt(16) + pow(2, 3) + log(8, 2)"), 15);
  assert.equal(ev("round(math.pi, 2)"), 3.14);
  assert.equal(ev("'big' if cpu > 1 else 'small'", { cpu: 2 }), "big");
  assert.equal(ev("'big' if cpu > 1 else 'small'", { cpu: 1 }), "small");
  assert.equal(ev("x == 'G1GC' and not y", { x: "G1GC", y: false }), true);
  assert.equal(ev("0 or 5"), 5);
  assert.equal(ev('"a\\"b" + \'c\''), 'a"bc');
});

Deno.test("errors are clear and nothing outside the language is reachable", () => {
  const bad: [string, RegExp][] = [
    ["", /empty/],
    ["1 +", /unexpected the end/],
    ["(1", /expected "\)"/],
    ["eval('x')", /unknown function "eval"/],
    ["constructor.constructor('return 1')()", /unknown function "constructor\.constructor"/],
    ["os.system", /unknown name "os\.system"/],
    ["a = 1", /unexpected character "="/],
    ["'abc", /unterminated string/],
    ["x[0]", /unexpected character "\["/],
    ["1 < 2 < 3", /unexpected "<"/],
    ["x".repeat(2001), /longer than 2000/],
    ["(".repeat(100) + "1" + ")".repeat(100), /nested too deeply/],
  ];
  for (const [text, re] of bad) {
    assert.throws(
      () => compileExpression(text),
      (e) => e instanceof ExpressionError && re.test(e.message),
      text,
    );
  }
  const runtime: [string, Record<string, number | string>, RegExp][] = [
    ["'a' + 1", {}, /cannot add a string and a number at position 4; convert with str\(\)/],
    ["1 / 0", {}, /division by zero/],
    ["x * 2", {}, /"x" has no value/],
    ["s * 2", { s: "ab" }, /needs a number, got the string "ab"/],
    ["int('x')", {}, /cannot convert "x" to a number/],
    ["10 ** 400", {}, /not a finite number/],
    ["min()", {}, /min\(\) needs arguments/],
  ];
  for (const [text, vars, re] of runtime) {
    assert.throws(
      () => compileExpression(text).evaluate(vars),
      (e) => e instanceof ExpressionError && re.test(e.message),
      text,
    );
  }
  // Variables shadow nothing: a variable called "str" is still a variable.
  assert.equal(ev("str + 'x'", { str: "a" }), "ax");
});
