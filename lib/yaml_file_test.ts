import assert from "node:assert/strict";
import { ConfigError } from "./errors.ts";
import { parseYaml } from "./yaml_file.ts";

Deno.test("parseYaml: a syntax error names the file, line and column", () => {
  assert.throws(
    () => parseYaml("a: 1\nb: [1\n", "config.yaml"),
    (e: unknown) =>
      e instanceof ConfigError && /^config\.yaml:\d+:\d+: invalid YAML/.test(e.message),
  );
});

Deno.test("parseYaml: an anchor may be reused often (PyYAML has no limit)", () => {
  const lines = ["base: &b {a: 1, b: [1, 2]}", "k8s:"];
  for (let i = 0; i < 500; i++) lines.push(`  c${i}: *b`);
  const data = parseYaml(lines.join("\n"), "config.yaml") as { k8s: Record<string, unknown> };
  assert.equal(Object.keys(data.k8s).length, 500);
  assert.deepEqual(data.k8s.c499, { a: 1, b: [1, 2] });
});

Deno.test("parseYaml: an alias bomb is a ConfigError naming the file", () => {
  const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (const [n, p] of [["b", "a"], ["c", "b"], ["d", "c"], ["e", "d"], ["f", "e"], ["g", "f"]]) {
    lines.push(`${n}: &${n} [*${p},*${p},*${p},*${p},*${p},*${p},*${p},*${p},*${p}]`);
  }
  assert.throws(
    () => parseYaml(lines.join("\n"), "config.yaml"),
    (e: unknown) => e instanceof ConfigError && /^config\.yaml: invalid YAML/.test(e.message),
  );
});

Deno.test("parseYaml: a key given twice keeps its last value (as PyYAML), with a warning naming where", () => {
  const warnings: string[] = [];
  const data = parseYaml(
    "redis:\n  host: a\n  port: 1\n  host: b\nab: {x: 1}\nab: {y: 2}\n",
    "config.yaml",
    (w) => warnings.push(w),
  );
  assert.deepEqual(data, { redis: { host: "b", port: 1 }, ab: { y: 2 } });
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /^config\.yaml:4:3: Map keys must be unique: the last value is used/);
  assert.match(warnings[1], /^config\.yaml:6:1: /);
  // with another error beside it, the file is still refused
  assert.throws(
    () => parseYaml("a: 1\na: 2\nb: [1\n", "config.yaml"),
    (e: unknown) => e instanceof ConfigError && /invalid YAML/.test(e.message),
  );
});
