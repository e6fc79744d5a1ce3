import assert from "node:assert/strict";
import { checkAgainstQuery, parseValue, stateFromAssignments } from "./adjust.ts";

Deno.test("parseValue: decimal numbers are numbers, the rest stays text", () => {
  for (const [text, want] of [["2", 2], ["-0.5", -0.5], ["1e3", 1000], [".5", 0.5], ["+3", 3]]) {
    assert.equal(parseValue(text as string), want, text as string);
  }
  for (const text of ["0x10", " 5", "", "G1GC", "1.2.3", "Infinity", "1e999", "512Mi"]) {
    assert.equal(parseValue(text), text, JSON.stringify(text));
  }
});

Deno.test("stateFromAssignments: the component is everything before the last dot", () => {
  assert.deepEqual(stateFromAssignments(["web.api.cpu=0.5", "replicas=3", "web.api.gc=G1GC"]), {
    application: {
      components: { "web.api": { settings: { cpu: { value: 0.5 }, gc: { value: "G1GC" } } } },
      settings: { replicas: { value: 3 } },
    },
  });
});

Deno.test("stateFromAssignments: an empty component, setting or value is refused", () => {
  for (const a of [".cpu=1", "web.=1", "web.cpu=", "=1"]) {
    assert.throws(() => stateFromAssignments([a]), /is not COMPONENT\.SETTING=VALUE/, a);
  }
});

Deno.test("checkAgainstQuery: unknown names, pinned settings, values off the range, step or enum", () => {
  const application = {
    components: {
      web: {
        settings: {
          cpu: { type: "range", min: 0.5, max: 4, step: 0.5, value: 1 },
          gc: { type: "enum", values: ["G1GC", "ParallelGC"], value: "G1GC" },
          replicas: { type: "range", min: 1, max: 8, step: 1, value: 2, pinned: true },
          heap: { value: "512m" }, // no range given: only its existence is checked
        },
      },
    },
  };
  const ok = stateFromAssignments(["web.cpu=1.5", "web.gc=ParallelGC", "web.heap=1g"]);
  assert.deepEqual(checkAgainstQuery(ok, application), []);
  assert.deepEqual(
    checkAgainstQuery(
      stateFromAssignments([
        "web.cpu=100",
        "web.gc=Nope",
        "web.bogus=1",
        "db.cpu=1",
        "web.replicas=3",
        "web.cpu=abc",
        "x=1",
      ]),
      application,
    ),
    [
      'web.cpu=abc: "abc" is not a number',
      'web.gc=Nope: "Nope" is not one of G1GC, ParallelGC',
      'web.bogus=1: component "web" has no setting "bogus" (it has: cpu, gc, replicas, heap)',
      "web.replicas=3: the setting is pinned (the driver reports it but does not change it)",
      'db.cpu: the adjust driver has no component "db" (it has: web)',
      'x=1: the application has no setting "x" (it has none)',
    ],
  );
  // a value is sent as the setting takes it
  const snapped = stateFromAssignments(["web.cpu=2"]);
  assert.deepEqual(checkAgainstQuery(snapped, application), []);
  const web = (snapped.application as { components: { web: { settings: { cpu: unknown } } } })
    .components.web;
  assert.deepEqual(web.settings.cpu, { value: 2 });
  assert.deepEqual(
    checkAgainstQuery(stateFromAssignments(["web.cpu=0.7"]), application),
    ["web.cpu=0.7: 0.7 is not on the step grid (min 0.5, step 0.5)"],
  );
});
