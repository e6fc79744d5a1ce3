import assert from "node:assert/strict";
import { parseValue, stateFromAssignments } from "./adjust.ts";

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
