import assert from "node:assert/strict";
import { checkSettingSpec, checkValue, roundToStep, settingChanges, valueOf } from "./settings.ts";
import { DriverFailure } from "./types.ts";

const range = { type: "range" as const, min: 0.5, max: 4, step: 0.5, value: 1 };

Deno.test("checkSettingSpec: range and enum rules", () => {
  assert.equal(checkSettingSpec("cpu", { min: 0, max: 2, step: 0.5 }).type, "range");
  assert.equal(checkSettingSpec("p", { type: "enum", values: ["a"] }).type, "enum");
  assert.equal(checkSettingSpec("c", { min: 0, max: 2, step: 0 }).type, "range"); // continuous
  for (
    const bad of [
      "x",
      { type: "set" },
      { type: "enum", values: [] },
      { min: 2, max: 1, step: 1 },
      { min: 0, max: 1, step: 0.3 },
      { min: 0, max: 1 },
      { min: "0", max: 1, step: 1 },
    ]
  ) {
    assert.throws(() => checkSettingSpec("s", bad), (e) => {
      assert.ok(e instanceof DriverFailure);
      assert.equal(e.reason, "config-error");
      return true;
    }, JSON.stringify(bad));
  }
});

Deno.test("checkValue: range, step grid with snapping, enum", () => {
  assert.equal(checkValue("cpu", range, 1.5), 1.5);
  assert.equal(checkValue("cpu", range, "2"), 2);
  assert.equal(checkValue("cpu", range, 1.5000001), 1.5);
  assert.equal(
    checkValue("cpu", { ...range, min: 0, max: 1, step: 0.1 }, 0.30000000000000004),
    0.3,
  );
  for (const bad of [0, 4.5, 1.2, "x", null, true]) {
    assert.throws(() => checkValue("cpu", range, bad), (e) => {
      assert.ok(e instanceof DriverFailure);
      assert.equal(e.status, "bad-request");
      assert.match(e.message, /"cpu"/);
      return true;
    });
  }
  const en = { type: "enum" as const, values: ["lru", 5], value: "lru" };
  assert.equal(checkValue("p", en, "lru"), "lru");
  assert.equal(checkValue("p", en, "5"), 5);
  assert.throws(() => checkValue("p", en, "lfu"), /not one of lru, 5/);
});

Deno.test("roundToStep, valueOf, settingChanges", () => {
  assert.equal(roundToStep(0.1 + 0.2, 0.1), 0.3);
  assert.equal(valueOf({ value: 3 }), 3);
  assert.equal(valueOf(3), 3);
  assert.deepEqual(
    settingChanges({
      application: {
        components: { web: { settings: { cpu: { value: 1 }, mem: 2 } }, x: {} },
      },
    }),
    [
      { component: "web", setting: "cpu", value: 1 },
      { component: "web", setting: "mem", value: 2 },
    ],
  );
  assert.deepEqual(settingChanges({}), []);
});
