import assert from "node:assert/strict";
import type { ValueSpec } from "./config.ts";
import { redact, urlSecret } from "./git.ts";
import { fromYaml, toYaml, ValueError } from "./values.ts";

const spec = (extra: Partial<ValueSpec> = {}): ValueSpec => ({
  component: "web",
  name: "cpu",
  gitFile: "d.yaml",
  keyPath: ["cpu"],
  ...extra,
});

Deno.test("value_conv and suffix when writing", () => {
  assert.equal(toYaml(0.5, spec(), 1), 0.5);
  assert.equal(toYaml(0.5, spec(), "1"), "0.5", "a string in the file stays a string");
  assert.equal(toYaml(0.5, spec({ valueConv: "str" }), 1), "0.5");
  assert.equal(toYaml(2.0, spec({ valueConv: "str" }), 1), "2");
  assert.equal(toYaml(3, spec({ valueConv: "int" }), "1"), 3);
  assert.equal(toYaml(2.6, spec({ valueConv: "str_int" }), 1), "3");
  assert.equal(toYaml("1.5", spec({ valueConv: "float" }), 1), 1.5);
  assert.equal(toYaml(512, spec({ suffix: "Mi" }), "256Mi"), "512Mi");
  assert.equal(toYaml("G1GC", spec(), "SerialGC"), "G1GC");
  assert.throws(() => toYaml("x", spec({ valueConv: "int" }), 1), /value_conv int needs a number/);
  assert.throws(() => toYaml(true, spec(), 1), ValueError);
});

Deno.test("reading values", () => {
  assert.equal(fromYaml("0.5", spec(), true), 0.5);
  assert.equal(fromYaml(2, spec(), true), 2);
  assert.equal(fromYaml("256Mi", spec({ suffix: "Mi" }), true), 256);
  assert.equal(fromYaml("fast", spec(), false), "fast");
  assert.equal(fromYaml("4", spec({ valueConv: "str" }), false), 4);
  assert.throws(
    () => fromYaml("500m", spec(), true),
    /web\.cpu \(d\.yaml cpu\) is "500m", which is not a number/,
  );
  assert.throws(
    () => fromYaml("1Gi", spec({ suffix: "Mi" }), true),
    /expected a value ending in "Mi"/,
  );
  assert.throws(() => fromYaml(null, spec(), false), /expected a number or a string/);
});

Deno.test("credentials in URLs are not shown", () => {
  assert.equal(urlSecret("https://user:s3cret@git.example/r.git"), "s3cret");
  assert.equal(urlSecret("https://ghp_token@github.com/o/r.git"), "ghp_token");
  assert.equal(urlSecret("ssh://git@github.com/o/r.git"), undefined);
  assert.equal(urlSecret("file:///tmp/r.git"), undefined);
  assert.equal(
    redact(
      "fatal: could not read https://user:s3cret@git.example/r.git",
      "https://user:s3cret@git.example/r.git",
    ),
    "fatal: could not read https://user:***@git.example/r.git",
  );
});
