import assert from "node:assert/strict";
import { formatKeyPath, KeyPathError, parseKeyPath } from "./keypath.ts";

Deno.test("key paths as lists", () => {
  assert.deepEqual(parseKeyPath(["spec", "containers", 0, "cpu"]), [
    "spec",
    "containers",
    0,
    "cpu",
  ]);
  assert.deepEqual(parseKeyPath(["containers", { name: "web" }, "cpu"]), [
    "containers",
    { name: "web" },
    "cpu",
  ]);
  assert.throws(() => parseKeyPath([]), KeyPathError);
  assert.throws(() => parseKeyPath(["a", 1.5]), /key_path\[1\] must be a key/);
  assert.throws(() => parseKeyPath(["a", ""]), /key_path\[1\]/);
  assert.throws(() => parseKeyPath(["a", { name: [1] }]), /selector field "name" must be a scalar/);
  assert.throws(
    () => parseKeyPath(undefined, "x.key_path"),
    /x\.key_path must be a non-empty list/,
  );
});

Deno.test("key paths as strings", () => {
  assert.deepEqual(parseKeyPath("spec.template.spec.containers[0].resources.limits.cpu"), [
    "spec",
    "template",
    "spec",
    "containers",
    0,
    "resources",
    "limits",
    "cpu",
  ]);
  assert.deepEqual(parseKeyPath("containers[name=web].env[name=GOGC, kind=x].value"), [
    "containers",
    { name: "web" },
    "env",
    { name: "GOGC", kind: "x" },
    "value",
  ]);
  assert.deepEqual(parseKeyPath("items[-1]"), ["items", -1]);
  assert.deepEqual(parseKeyPath("[0].a"), [0, "a"]);
  for (const bad of ["", "a..b", "a.", ".a", "a[0]b", "a[x]", "a[0"]) {
    assert.throws(() => parseKeyPath(bad), KeyPathError, bad);
  }
});

Deno.test("formatKeyPath round-trips the string form", () => {
  const text = "spec.containers[name=web].ports[0].containerPort";
  assert.equal(formatKeyPath(parseKeyPath(text)), text);
});
