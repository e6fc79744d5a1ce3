// deno-lint-ignore-file no-explicit-any
/**
 * The README's example is tested: the YAML snippets in testdata/readme/ are
 * parsed, the RBAC Role is checked against the API calls the driver makes,
 * and the driver runs in-cluster style (service account token, CA and
 * namespace; OPTUNE_USE_DEFAULT_NAMESPACE=1 from servo's Deployment) with the
 * config from servo's ConfigMap against the fake API serving web's Deployment.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { MemorySink } from "../../lib/sdk/output.ts";
import { runDriver } from "../../lib/sdk/run.ts";
import { driver } from "./mod.ts";
import { parseK8sConfig } from "./config.ts";
import { FakeK8s } from "./testdata/fake_k8s.ts";

const DIR = new URL("./testdata/readme/", import.meta.url).pathname;
const TLS = new URL("./testdata/tls/", import.meta.url).pathname;

function docs(file: string): any[] {
  return parseAllDocuments(Deno.readTextFileSync(DIR + file)).map((d) => {
    assert.equal(d.errors.length, 0, `${file}: ${d.errors[0]?.message}`);
    return d.toJS();
  });
}

/** Every API call the driver makes: [apiGroup, resource, verb]. */
const CALLS: [string, string, string][] = [
  ["apps", "deployments", "list"],
  ["apps", "deployments", "get"],
  ["apps", "deployments", "patch"],
  ["apps", "replicasets", "list"],
  ["", "pods", "list"],
];

Deno.test("README example: RBAC covers every call, servo's Deployment is set up right", () => {
  const [sa, role, binding] = docs("rbac.yaml");
  const [cm, servo] = docs("servo-deployment.yaml");
  for (const [group, resource, verb] of CALLS) {
    assert.ok(
      role.rules.some((r: any) =>
        r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb)
      ),
      `the Role allows ${verb} ${resource}`,
    );
  }
  assert.equal(binding.roleRef.name, role.metadata.name);
  assert.deepEqual(binding.subjects[0], {
    kind: "ServiceAccount",
    name: sa.metadata.name,
    namespace: sa.metadata.namespace,
  });
  assert.equal(servo.spec.template.spec.serviceAccountName, sa.metadata.name);
  assert.equal(servo.metadata.labels["optune.ai/exclude"], "1");
  const env = servo.spec.template.spec.containers[0].env;
  assert.ok(env.some((e: any) => e.name === "OPTUNE_USE_DEFAULT_NAMESPACE" && e.value === "1"));
  const fromCm = parseAllDocuments(cm.data["config.yaml"])[0].toJS();
  assert.deepEqual(fromCm.k8s, docs("config.yaml")[0].k8s, "README config.yaml = the ConfigMap's");
  assert.match(cm.data.adjust, /exec servo driver k8s "\$@"/);
});

Deno.test("README example: query and adjust in-cluster against the fake API", async () => {
  const [web] = docs("web-deployment.yaml");
  const [cm, servo] = docs("servo-deployment.yaml");
  const fake = new FakeK8s({
    cert: Deno.readTextFileSync(TLS + "server.crt"),
    key: Deno.readTextFileSync(TLS + "server.key"),
    token: "sa-token",
  }).start();
  const dir = await Deno.makeTempDir();
  try {
    fake.addDeployment("shop", web.metadata.name, {
      replicas: web.spec.replicas,
      labels: web.metadata.labels,
      selector: web.spec.selector.matchLabels,
      containers: web.spec.template.spec.containers,
    });
    fake.addDeployment("shop", servo.metadata.name, {
      labels: servo.metadata.labels,
      selector: servo.spec.selector.matchLabels,
      containers: servo.spec.template.spec.containers,
    });
    const sa = `${dir}/sa`;
    await Deno.mkdir(sa);
    await Deno.writeTextFile(`${sa}/token`, "sa-token");
    await Deno.writeTextFile(`${sa}/namespace`, "shop");
    await Deno.copyFile(TLS + "ca.crt", `${sa}/ca.crt`);
    await Deno.writeTextFile(`${dir}/config.yaml`, cm.data["config.yaml"]);
    const env: Record<string, string> = {
      HOME: dir,
      KUBERNETES_SERVICE_HOST: "127.0.0.1",
      KUBERNETES_SERVICE_PORT: new URL(fake.url).port,
      SERVO_K8S_SERVICE_ACCOUNT_DIR: sa,
    };
    for (const e of servo.spec.template.spec.containers[0].env) env[e.name] = e.value;
    const run = async (args: string[], stdin = "") => {
      const sink = new MemorySink();
      const rc = await runDriver(driver, args, {
        sink,
        env,
        cwd: dir,
        stdin,
        setupLogging: false,
        handleSignals: false,
      });
      return { rc, last: sink.lines.at(-1) as any };
    };
    const q = await run(["--query", "not-the-namespace"]);
    assert.equal(q.rc, 0, JSON.stringify(q.last));
    assert.deepEqual(q.last.application.components, {
      web: {
        settings: {
          cpu: { type: "range", value: 0.5, min: 0.25, max: 2, step: 0.125, unit: "cores" },
          mem: { type: "range", value: 0.75, min: 0.25, max: 4, step: 0.25, unit: "GiB" },
          replicas: { type: "range", value: 2, min: 1, max: 6, step: 1 },
          WORKERS: { type: "range", min: 1, max: 16, step: 1, value: 8 },
        },
      },
    });
    const a = await run(
      ["not-the-namespace"],
      JSON.stringify({
        application: {
          components: { web: { settings: { cpu: { value: 1 }, mem: { value: 0.5 } } } },
        },
        control: { settlement: 0 },
      }),
    );
    assert.equal(a.rc, 0, JSON.stringify(a.last));
    const main = fake.get("shop", "web")!.spec.template.spec.containers[0];
    assert.deepEqual(main.resources, {
      requests: { cpu: "1", memory: "512Mi" },
      limits: { cpu: "1", memory: "1Gi" },
    });
    assert.ok(fake.requests.every((r) => r.authorization === "Bearer sa-token"));
    assert.ok(fake.requests.every((r) => r.path.includes("/namespaces/shop/")));
  } finally {
    await fake.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("README shows the tested snippets verbatim; config.sample.yaml is valid", () => {
  const readme = Deno.readTextFileSync(new URL("./README.md", import.meta.url));
  for (const f of ["config.yaml", "rbac.yaml", "servo-deployment.yaml"]) {
    assert.ok(readme.includes("```yaml\n" + Deno.readTextFileSync(DIR + f) + "```"), f);
  }
  const sample = parseAllDocuments(
    Deno.readTextFileSync(new URL("./config.sample.yaml", import.meta.url)),
  )[0].toJS();
  const cfg = parseK8sConfig(sample.k8s, "config.sample.yaml");
  assert.equal(cfg.components[0].deployment, "web");
  assert.equal(cfg.components[0].container, "main");
  assert.equal(cfg.components[0].encoders.length, 2);
  assert.equal(
    cfg.adjustOn?.evaluate({ data: { control: { userdata: { deploy_to: "canary" } } } }),
    true,
  );
});
