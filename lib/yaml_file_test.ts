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
