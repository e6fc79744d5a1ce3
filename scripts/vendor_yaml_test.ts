import assert from "node:assert/strict";
import * as vendored from "yaml";
import * as npm from "yaml-npm";
import { lockedYamlVersion, vendoredYamlVersion, vendorText } from "./vendor_yaml.ts";

const root = new URL("..", import.meta.url).pathname;

Deno.test("vendor/yaml.js is npm:yaml at the version deno.lock pins", async () => {
  const locked = lockedYamlVersion(
    await Deno.readTextFile(`${root}deno.json`),
    await Deno.readTextFile(`${root}deno.lock`),
  );
  const js = await Deno.readTextFile(`${root}vendor/yaml.js`);
  assert.equal(vendoredYamlVersion(js), locked, "run `deno task vendor-yaml`");
  assert.match(js, /^\/\/ @ts-self-types="yaml-npm"\n/);
  assert.match(js, /Copyright Eemeli Aro/);
  assert.doesNotMatch(js, /registry\.npmjs\.org/, "no path of the machine that bundled it");
});

Deno.test("vendor/yaml.js exports what npm:yaml exports", () => {
  // The CommonJS build's namespace also has deno's interop keys.
  const cjs = ["default", "module.exports"];
  assert.deepEqual(
    Object.keys(vendored).sort(),
    Object.keys(npm).filter((k) => !cjs.includes(k)).sort(),
  );
});

const DOCS = [
  "a: 1\nb: [x, y]\nc: {d: 2.5, e: null}\n",
  "base: &b {cpu: 1, mem: 2Gi}\nweb:\n  <<: *b\n  cpu: 2\nlist: [*b, *b]\n",
  "# comment\nk8s:\n  application:\n    components:\n      web/app:\n        settings:\n          replicas: {min: 1, max: 8, step: 1}\n",
  "s: 'single'\nd: \"double\\n\"\nblock: |\n  line1\n  line2\nfolded: >\n  a\n  b\n",
  "t: true\nf: no\nn: ~\noct: 0o17\nhex: 0x1f\nexp: 1e3\ninf: .inf\ndate: 2026-11-27\n",
  "key: [unclosed\n",
  "a: 1\na: 2\n",
  "a:\n  - b\n - c\n",
  "x: *missing\n",
  "\t tab: 1\n",
  "--- a\n--- b\n",
];

/** A call's result, or its error's class and message. */
function outcome(fn: () => unknown): unknown {
  try {
    return { value: fn() };
  } catch (err) {
    return { error: (err as Error).constructor.name, message: (err as Error).message };
  }
}

Deno.test("vendor/yaml.js parses, reports errors and edits like npm:yaml", () => {
  for (const text of DOCS) {
    const v = vendored.parseDocument(text, { prettyErrors: true });
    const n = npm.parseDocument(text, { prettyErrors: true });
    const errs = (d: typeof v) =>
      d.errors.map((e) => ({ code: e.code, message: e.message, linePos: e.linePos }));
    assert.deepEqual(errs(v), errs(n), text);
    assert.deepEqual(v.warnings.map((w) => w.message), n.warnings.map((w) => w.message), text);
    if (v.errors.length === 0) {
      // The value, the text, and the text after an edit (the gitops driver's use).
      const use = (d: typeof v) => () => {
        const js = d.toJS();
        const before = d.toString();
        d.setIn(["added", "value"], 3);
        return { js, before, after: d.toString() };
      };
      assert.deepEqual(outcome(use(v)), outcome(use(n)), text);
    }
    assert.deepEqual(
      vendored.parseAllDocuments(text).length,
      npm.parseAllDocuments(text).length,
      text,
    );
  }
  const data = { a: [1, "two", { three: null }], "b c": "multi\nline", d: true };
  assert.equal(vendored.stringify(data), npm.stringify(data));
});

Deno.test("vendorText: a header with types, origin and license; cache paths made relative", () => {
  const bundle = [
    "var x = 1;",
    "// ../../../root/.cache/deno/npm/registry.npmjs.org/yaml/2.9.1/browser/dist/doc/Document.js",
    "export { x };",
  ].join("\n");
  const text = vendorText(bundle, "2.9.1", "Copyright Someone\n\nPermission granted.\n");
  const lines = text.split("\n");
  assert.equal(lines[0], '// @ts-self-types="yaml-npm"');
  assert.equal(vendoredYamlVersion(text), "2.9.1");
  assert.ok(lines.includes("// Copyright Someone"));
  assert.ok(lines.includes("//"), "blank license lines stay comments");
  assert.ok(lines.includes("// yaml/browser/dist/doc/Document.js"));
  assert.ok(text.endsWith("export { x };"));
});
