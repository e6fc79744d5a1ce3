import assert from "node:assert/strict";
import { DriverFailure } from "../types.ts";
import {
  checkEncoderConfig,
  checkRangeValue,
  literalArgs,
  resolveExpectedType,
  resolveRange,
  splitData,
} from "./base.ts";

const isConfigError = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof DriverFailure);
  assert.equal(e.reason, "config-error");
  assert.match(e.message, re);
  return true;
};
const isBadValue = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof DriverFailure);
  assert.equal(e.status, "bad-request");
  assert.match(e.message, re);
  return true;
};

Deno.test("resolveRange: class defaults and config overrides", () => {
  assert.deepEqual(resolveRange("X", { min: 0.5, step: 0.125, unit: "GiB" }, { max: 4 }), {
    name: "X",
    min: 0.5,
    max: 4,
    step: 0.125,
    unit: "GiB",
  });
  assert.equal(resolveRange("X", { min: 1, max: 9, step: 1, default: 5 }, null).default, 5);
  assert.equal(resolveRange("X", { min: 1, max: 9, step: 1 }, { default: 3 }).default, 3);
  // min == max needs no step > 0
  assert.equal(resolveRange("X", { step: 0 }, { min: 2, max: 2 }).step, 0);
});

Deno.test("resolveRange: the validation rules of PROTOCOL 2.12", () => {
  const d = { min: 0.5, step: 0.125 };
  assert.throws(
    () => resolveRange("X", d, { max: 4, unit: "x" }),
    isConfigError(/Unknown option "unit"/),
  );
  assert.throws(
    () => resolveRange("X", d, {}),
    isConfigError(/No max value configured for setting "X"/),
  );
  assert.throws(
    () => resolveRange("X", d, { max: "4" }),
    isConfigError(/max value .* must be a number/),
  );
  assert.throws(() => resolveRange("X", d, { max: 0.25 }), isConfigError(/greater than its max/));
  assert.throws(() => resolveRange("X", d, { max: 4, step: 0 }), isConfigError(/greater than 0/));
  assert.throws(() => resolveRange("X", d, { max: 4, step: 0.3 }), isConfigError(/whole steps/));
  assert.throws(() => resolveRange("X", d, "x"), isConfigError(/must be a mapping/));
  // within 1/1024 counts as whole
  assert.equal(resolveRange("X", { min: 0, max: 1, step: 0.1 }, {}).step, 0.1);
  // frozen
  const frozen = { min: 0, max: 1, step: 1, freezeRange: true };
  assert.throws(() => resolveRange("B", frozen, { max: 2 }), isConfigError(/cannot be changed/));
  assert.equal(resolveRange("B", frozen, { min: 0 }).min, 0);
  // not relaxable
  const strict = { min: 9, max: 99, step: 1, relaxable: false };
  assert.equal(resolveRange("G", strict, { min: 19, max: 89, step: 10 }).step, 10);
  assert.throws(
    () => resolveRange("G", strict, { min: 8 }),
    isConfigError(/cannot be lower than 9/),
  );
  assert.throws(
    () => resolveRange("G", strict, { max: 100, step: 1 }),
    isConfigError(/higher than 99/),
  );
  assert.throws(
    () => resolveRange("G", strict, { min: 9, max: 99, step: 1.5 }),
    isConfigError(/multiple of 1/),
  );
  assert.throws(
    () => resolveRange("X", { min: 0, max: 1, step: 1 }, { default: "a" }),
    isConfigError(/default/),
  );
});

Deno.test("checkRangeValue: bounds with 1/1024 step tolerance, grid, snapping", () => {
  const r = { name: "H", min: 0.5, max: 4, step: 0.125, unit: "GiB" };
  assert.equal(checkRangeValue(r, 1.25), 1.25);
  assert.equal(checkRangeValue(r, 1.25 + 0.125 / 2048), 1.25);
  assert.equal(checkRangeValue(r, 0.5 - 0.125 / 2048), 0.5);
  assert.equal(checkRangeValue(r, 4 + 0.125 / 2048), 4);
  assert.throws(() => checkRangeValue(r, 0.25), isBadValue(/below its min 0\.5/));
  assert.throws(() => checkRangeValue(r, 4.25), isBadValue(/above its max 4/));
  assert.throws(() => checkRangeValue(r, 1.3), isBadValue(/step grid/));
  assert.throws(() => checkRangeValue(r, "1"), isBadValue(/must be a number/));
  assert.throws(
    () => checkRangeValue(r, undefined),
    isBadValue(/No value provided for setting "H"/),
  );
  assert.equal(
    checkRangeValue({ name: "C", min: 0, max: 1, step: 0.1, unit: "" }, 0.30000000000000004),
    0.3,
  );
});

Deno.test("encoder config helpers", () => {
  assert.throws(() => checkEncoderConfig(null), isConfigError(/must be a mapping/));
  assert.throws(() => checkEncoderConfig({}), isConfigError(/needs a "name"/));
  assert.throws(() => checkEncoderConfig({ name: "jvm", settings: [] }), isConfigError(/settings/));
  assert.equal(resolveExpectedType({ name: "jvm" }), "str");
  assert.equal(resolveExpectedType({ name: "jvm" }, "list"), "list");
  assert.equal(resolveExpectedType({ name: "jvm", expected_type: "list" }), "list");
  assert.throws(
    () => resolveExpectedType({ name: "jvm", expected_type: "list" }, "str"),
    isConfigError(/set by the driver/),
  );
  assert.throws(
    () => resolveExpectedType({ name: "jvm", expected_type: "tuple" as "str" }),
    isConfigError(/Unrecognized expected_type/),
  );
  assert.deepEqual(literalArgs({ name: "jvm", before: ["java", "-server"] }, "before"), [
    "java",
    "-server",
  ]);
  assert.deepEqual(literalArgs({ name: "jvm", before: "java  -server" }, "before"), [
    "java",
    "-server",
  ]);
  assert.deepEqual(literalArgs({ name: "jvm" }, "after"), []);
  assert.throws(
    () => literalArgs({ name: "jvm", after: { a: 1 } }, "after"),
    isConfigError(/list of strings/),
  );
  assert.deepEqual(splitData(" -Xmx1g  -server "), ["-Xmx1g", "-server"]);
  assert.deepEqual(splitData(null), []);
  assert.throws(() => splitData([1] as unknown as string[]), isBadValue(/string or a list/));
});
