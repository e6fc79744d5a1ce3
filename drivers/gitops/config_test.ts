import assert from "node:assert/strict";
import { parse } from "yaml";
import { DriverFailure } from "../../lib/sdk/types.ts";
import { parseConfig } from "./config.ts";

const sample = parse(await Deno.readTextFile(new URL("./config.sample.yaml", import.meta.url)));

Deno.test("config.sample.yaml is a valid configuration", () => {
  const cfg = parseConfig(sample.gitops, "gitops", "config.sample.yaml");
  assert.equal(cfg.gitUrl, "ssh://git@git.example.com/platform/manifests.git");
  assert.deepEqual(cfg.author, { name: "Optune servo", email: "servo@example.com" });
  assert.equal(cfg.postCmdTout, 600);
  assert.equal(cfg.checkCmdTout, 60);
  assert.deepEqual(cfg.components.map((c) => c.name), ["web", "autoscaler"]);
  const web = cfg.components[0];
  assert.deepEqual(web.settings.map((s) => s.name), ["replicas", "cpu", "gogc"]);
  assert.deepEqual(web.dependencies[0].formula.variables, ["cpu"]);
  const policy = cfg.components[1].settings[1];
  assert.equal(policy.gitFile, "apps/web/rollout.yaml");
  assert.equal(policy.setting.type, "enum");
});

Deno.test("two values may not write the same place", () => {
  const raw = structuredClone(sample.gitops);
  raw.components.web.dependencies.memory.key_path = [
    "spec",
    "template",
    "spec",
    "containers",
    { name: "web" },
    "resources",
    "limits",
    "cpu",
  ];
  assert.throws(
    () => parseConfig(raw, "gitops", "c.yaml"),
    (e) =>
      e instanceof DriverFailure && e.reason === "config-error" &&
      /web\.memory and web\.cpu both write apps\/web\/deployment\.yaml/.test(e.message),
  );
});

Deno.test("git_author and document selectors are checked", () => {
  const bad = (patch: Record<string, unknown>, re: RegExp) =>
    assert.throws(() => parseConfig({ ...sample.gitops, ...patch }, "gitops", "c.yaml"), re);
  bad({ git_author: "nobody" }, /git_author must be "Name <email>"/);
  bad({ git_author: { name: "x" } }, /git_author must be/);
  const comps = structuredClone(sample.gitops.components);
  comps.web.document = [1];
  bad({ components: comps }, /components\.web\.document must be a 0-based index/);
});
