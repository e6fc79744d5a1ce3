import assert from "node:assert/strict";
import { parse } from "yaml";
import { parseKeyPath } from "./keypath.ts";
import { detectStyle, Manifest, ManifestError, plainIsSafe } from "./manifest.ts";

const dir = new URL("./testdata/", import.meta.url);
const deployment = await Deno.readTextFile(new URL("deployment.yaml", dir));
const multi = await Deno.readTextFile(new URL("multi.yaml", dir));

/** Lines that differ between two texts of the same line count. */
function changedLines(a: string, b: string): [string, string][] {
  const x = a.split("\n");
  const y = b.split("\n");
  assert.equal(y.length, x.length, "the line count changed");
  return x.flatMap((line, i) => (line === y[i] ? [] : [[line, y[i]] as [string, string]]));
}

Deno.test("edits keep comments, blank lines, quoting and key order", () => {
  const m = Manifest.parse("deployment.yaml", deployment);
  const doc = m.selectDocument(undefined);
  const web = "spec.template.spec.containers[name=web]";
  assert.deepEqual(m.write(doc, parseKeyPath("spec.replicas"), 3), { old: 2, changed: true });
  m.write(doc, parseKeyPath(`${web}.resources.limits.cpu`), "0.75");
  m.write(doc, parseKeyPath(`${web}.resources.requests.cpu`), 0.5);
  m.write(doc, parseKeyPath(`${web}.env[name=GOGC].value`), "150");
  m.write(doc, parseKeyPath(`${web}.env[name=WORKERS].value`), "8");
  m.write(doc, parseKeyPath("spec.template.spec.containers[0].resources.limits.cpu"), "200m");
  const out = m.toString();
  assert.deepEqual(changedLines(deployment, out), [
    ["  replicas: 2", "  replicas: 3"],
    ["          limits: {cpu: 100m, memory: 64Mi}", "          limits: {cpu: 200m, memory: 64Mi}"],
    ['            value: "100"      # tuned', '            value: "150"      # tuned'],
    ["            value: '4'", "            value: '8'"],
    ['            cpu: "0.5"        # cores', '            cpu: "0.75"        # cores'],
    ["            cpu: 0.25", "            cpu: 0.5"],
  ]);
  const data = parse(out);
  assert.equal(data.spec.template.spec.containers[1].resources.limits.cpu, "0.75");
  assert.equal(data.spec.template.spec.containers[1].resources.requests.cpu, 0.5);
});

Deno.test("an unchanged value is not an edit and the text is returned as is", () => {
  const m = Manifest.parse("deployment.yaml", deployment);
  assert.deepEqual(m.write(0, ["spec", "replicas"], 2), { old: 2, changed: false });
  assert.equal(m.changed, false);
  assert.equal(m.toString(), deployment);
});

Deno.test("a string that would read as another type is quoted", () => {
  const m = Manifest.parse("x.yaml", "a: plain # c\nb: x\nc: y\n");
  m.write(0, ["a"], "1.5");
  m.write(0, ["b"], "yes");
  m.write(0, ["c"], "two words");
  assert.equal(m.toString(), 'a: "1.5" # c\nb: "yes"\nc: two words\n');
  assert.equal(plainIsSafe("300Mi"), true);
  assert.equal(plainIsSafe("on"), false);
  assert.equal(plainIsSafe("a: b"), false);
  assert.equal(plainIsSafe(""), false);
});

Deno.test("multi-document files: select by index or by fields", () => {
  const m = Manifest.parse("multi.yaml", multi);
  assert.equal(m.documentCount, 3);
  assert.throws(() => m.selectDocument(undefined), /has 3 YAML documents; set "document"/);
  const dep = m.selectDocument({ kind: "Deployment", "metadata.name": "web" });
  assert.equal(dep, 1);
  assert.equal(m.selectDocument(2), 2);
  assert.equal(m.selectDocument(-1), 2);
  assert.throws(() => m.selectDocument(3), /document 3 does not exist/);
  assert.throws(() => m.selectDocument({ kind: "Ingress" }), /no document has kind=Ingress/);
  assert.throws(() => m.selectDocument({ "metadata.name": "web" }), /3 documents have/);
  assert.equal(m.read(dep, ["spec", "replicas"]), 1);
  m.write(dep, ["spec", "replicas"], 4);
  m.write(2, ["spec", "maxReplicas"], 12);
  const out = m.toString();
  assert.deepEqual(changedLines(multi, out), [
    ["  replicas: 1 # servo", "  replicas: 4 # servo"],
    ["  maxReplicas: 10    # upper bound", "  maxReplicas: 12    # upper bound"],
  ]);
});

Deno.test("a missing last key is added through the Document API", () => {
  const m = Manifest.parse("multi.yaml", multi);
  m.write(1, parseKeyPath("spec.template.spec.containers[0].resources.limits.memory"), "512Mi");
  const out = m.toString();
  assert.match(out, /# Several objects in one file\./);
  assert.match(out, /replicas: 1 # servo/);
  assert.match(out, /cpu: 1\n\s+memory: 512Mi\n/);
  assert.equal(out.split("\n---\n").length, 4);
  assert.match(out, /\.\.\.\n$/);
});

Deno.test("key path errors name the file, document and path", () => {
  const m = Manifest.parse("deployment.yaml", deployment);
  assert.throws(
    () => m.read(0, parseKeyPath("spec.template.spec.containers[name=db].image")),
    /deployment\.yaml: document 0: key path .*: no list item matches \[name=db\]/,
  );
  assert.throws(
    () => m.read(0, parseKeyPath("spec.template.spec.containers[5].image")),
    /index 5 is out of range .* \(the list has 2 items\)/,
  );
  assert.throws(() => m.read(0, parseKeyPath("spec.nope.x")), /no key "nope" at spec/);
  assert.throws(() => m.read(0, parseKeyPath("spec.nope")), /the key does not exist/);
  assert.throws(
    () => m.read(0, parseKeyPath("spec.selector")),
    /expected a value, found a mapping/,
  );
  assert.throws(
    () => m.read(0, parseKeyPath("spec.replicas.x")),
    /expected a mapping with the key "x"/,
  );
  assert.throws(() => m.write(0, parseKeyPath("spec.template"), 1), /found a mapping/);
});

Deno.test("aliases are not followed", () => {
  const m = Manifest.parse("a.yaml", "base: &b {cpu: 1}\nweb: *b\n");
  assert.throws(() => m.read(0, ["web", "cpu"]), /is an alias \(\*b\)/);
  assert.equal(m.read(0, ["base", "cpu"]), 1);
});

Deno.test("invalid YAML is reported with line and column", () => {
  assert.throws(
    () => Manifest.parse("bad.yaml", "a: 1\nb: [1, 2\n"),
    (err) => err instanceof ManifestError && /^bad\.yaml:\d+:\d+: invalid YAML/.test(err.message),
  );
});

Deno.test("adding a key follows the file's indentation and flow style", () => {
  assert.deepEqual(detectStyle(deployment), {
    lineWidth: 0,
    minContentWidth: 0,
    indent: 2,
    indentSeq: false,
    flowCollectionPadding: false,
  });
  assert.equal(detectStyle(multi).indentSeq, true);
  assert.equal(detectStyle("a:\n    b:\n        c: [ 1, 2 ]\n").indent, 4);
  assert.equal(detectStyle("a: [ 1, 2 ]\n").flowCollectionPadding, true);

  const m = Manifest.parse("deployment.yaml", deployment);
  m.write(
    0,
    parseKeyPath("spec.template.spec.containers[name=web].resources.limits.ephemeral"),
    "1Gi",
  );
  const out = m.toString();
  const before = deployment.split("\n");
  const after = out.split("\n");
  // Only comment spacing and blank lines inside the block may differ, plus the new line.
  assert.ok(after.includes("            ephemeral: 1Gi"), out);
  assert.ok(after.includes("      - name: sidecar"), out);
  assert.ok(after.includes("  labels: {app: web, tier: frontend}"), out);
  assert.ok(after.includes("          limits: {cpu: 100m, memory: 64Mi}"), out);
  const kept = before.filter((l) => after.includes(l)).length;
  assert.ok(kept >= before.length - 6, `only ${kept} of ${before.length} lines kept:\n${out}`);
});
