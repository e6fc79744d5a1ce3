// deno-lint-ignore-file no-explicit-any
/**
 * The k8s driver in-process (runDriver with a memory sink) against the fake
 * API server: query shapes, selectors, env and encoder settings, patches,
 * namespaces, annotations, config errors and settlement.
 */
import assert from "node:assert/strict";
import { MemorySink } from "../../lib/sdk/output.ts";
import { runDriver } from "../../lib/sdk/run.ts";
import { driver } from "./mod.ts";
import { container, FakeK8s } from "./testdata/fake_k8s.ts";

interface Out {
  rc: number;
  lines: any[];
  last: any;
}

async function withFake(fn: (fake: FakeK8s, dir: string) => Promise<void>): Promise<void> {
  const fake = new FakeK8s().start();
  const dir = await Deno.makeTempDir({ prefix: "k8s_test_" });
  try {
    await fn(fake, dir);
  } finally {
    await fake.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

async function drive(
  fake: FakeK8s,
  dir: string,
  config: string,
  args: string[],
  input?: unknown,
  env: Record<string, string> = {},
): Promise<Out> {
  await Deno.writeTextFile(`${dir}/config.yaml`, config);
  const sink = new MemorySink();
  const rc = await runDriver(driver, args, {
    sink,
    env: { OPTUNE_K8S_SERVER: fake.url, HOME: dir, ...env },
    cwd: dir,
    setupLogging: false,
    handleSignals: false,
    stdin: input === undefined ? "" : JSON.stringify(input),
  });
  const lines = sink.lines as any[];
  return { rc, lines, last: lines.at(-1) };
}

const TIMING = `
  poll_interval: 0.02
  observe_timeout: 1
  timeout: 2
  request_timeout: 2
  settlement_interval: 0.05`;

function cfg(components: string, extra = ""): string {
  return `k8s:${TIMING}${extra}\n  application:\n    components:\n${components}`;
}

function adjustInput(comp: string, settings: Record<string, unknown>, control = {}) {
  return { application: { components: { [comp]: { settings } } }, control };
}

Deno.test("query reads cpu/mem by selector, replicas, env and exact quantities", async () => {
  await withFake(async (fake, dir) => {
    fake.addDeployment("app1", "web", {
      replicas: 3,
      containers: [
        container("sidecar", { cpu: "100m" }),
        container("main", {
          cpu: "1500m",
          mem: "1536Mi",
          limits: { cpu: "2", memory: "2Gi" },
          env: { MODE: "b", DELAY: "7" },
        }),
      ],
    });
    fake.addDeployment("app1", "api", {
      containers: [{
        name: "api",
        image: "example/api:2",
        resources: { limits: { cpu: "250m", memory: "256Mi" } },
      }],
    });
    fake.addDeployment("app1", "bare", { containers: [container("bare", { noResources: true })] });
    const out = await drive(
      fake,
      dir,
      cfg(`      web:
        deployment: web/main
        settings:
          cpu: {min: 0.5, max: 4, step: 0.5, selector: limit}
          mem: {min: 0.5, max: 4, step: 0.5, selector: request_min_limit, limit_min: 1}
          replicas: {min: 1, max: 6, step: 1}
        env:
          MODE: {type: enum, values: [a, b], default: a}
          DELAY: {type: range, min: 1, max: 10, step: 1, default: 3}
          UNSET: {type: range, min: 1, max: 10, step: 1, default: 4}
      api:
        settings:
          cpu: {min: 0.125, max: 1, step: 0.125, selector: request}
          mem: {min: 0.125, max: 1, step: 0.125, pinned: true}
      bare:
        settings:
          cpu: {}
`),
      ["--query", "app1"],
    );
    assert.equal(out.rc, 0, JSON.stringify(out.last));
    const c = out.last.application.components;
    assert.deepEqual(c.web.settings.cpu, {
      type: "range",
      value: 2,
      min: 0.5,
      max: 4,
      step: 0.5,
      unit: "cores",
    });
    assert.equal(c.web.settings.mem.value, 1.5);
    assert.equal(c.web.settings.mem.selector, undefined);
    assert.equal(c.web.settings.mem.limit_min, undefined);
    assert.deepEqual(c.web.settings.replicas, { type: "range", value: 3, min: 1, max: 6, step: 1 });
    assert.deepEqual(c.web.settings.MODE, { type: "enum", values: ["a", "b"], value: "b" });
    assert.equal(c.web.settings.DELAY.value, 7);
    assert.equal(c.web.settings.UNSET.value, 4, "the default when the container does not set it");
    assert.equal(c.api.settings.cpu.value, 0.25, "request selector falls back to the limit");
    assert.equal(c.api.settings.mem.value, 0.25);
    assert.equal(c.api.settings.mem.pinned, true);
    assert.equal(c.api.settings.replicas, undefined, "replicas only when configured");
    assert.equal(c.bare.settings.cpu.value, null, "no resources at all");
    assert.deepEqual(Object.keys(out.last.monitoring).sort(), [
      "runtime_id",
      "spec_id",
      "version_id",
    ]);
    assert.equal(out.last.status, "ok");
  });
});

Deno.test("query: component without settings reports replicas; exclude label; monitoring ids", async () => {
  await withFake(async (fake, dir) => {
    fake.addDeployment("app1", "web", {
      replicas: 2,
      containers: [container("main", { cpu: "1" })],
    });
    fake.addDeployment("app1", "servo", {
      labels: { "optune.ai/exclude": "1" },
      containers: [container("servo", { cpu: "1" })],
    });
    const config = cfg(
      `      web: {}
      servo:
        settings:
          cpu: {min: 0.5, max: 2, step: 0.5}
`,
      "\n  on_fail: nop\n  namespace: app1",
    );
    const a = await drive(fake, dir, config, ["--query", "other"]);
    assert.equal(a.rc, 0, JSON.stringify(a.last));
    const comps = a.last.application.components;
    assert.deepEqual(comps.web.settings.replicas, {
      type: "range",
      value: 2,
      min: 2,
      max: 2,
      step: 1,
    });
    assert.equal(comps.servo.settings.cpu.value, null, "excluded: settings without values");
    assert.equal(a.last.on_fail, "nop", "other config keys are echoed");
    assert.equal(a.last.namespace, "app1");
    const b = await drive(fake, dir, config, ["--query", "other"]);
    assert.deepEqual(b.last.monitoring, a.last.monitoring, "ids are stable");
    fake.replacePods("app1", "web");
    const c = await drive(fake, dir, config, ["--query", "other"]);
    assert.notEqual(c.last.monitoring.runtime_id, a.last.monitoring.runtime_id);
    assert.equal(c.last.monitoring.spec_id, a.last.monitoring.spec_id);
  });
});

Deno.test("query failures: empty namespace, missing deployment/container, no selector", async () => {
  await withFake(async (fake, dir) => {
    const one = cfg(`      web:\n        settings:\n          cpu: {}\n`);
    let out = await drive(fake, dir, one, ["--query", "app1"]);
    assert.equal(out.rc, 3);
    assert.equal(out.last.status, "aborted");
    assert.equal(out.last.reason, "app-unavailable");
    assert.match(out.last.message, /application 'app1' does not exist or has no components/);

    fake.addDeployment("app1", "api", { containers: [container("api")] });
    out = await drive(fake, dir, one, ["--query", "app1"]);
    assert.equal(out.last.status, "failed");
    assert.match(
      out.last.message,
      /deployment "web" of component "web" not found in namespace "app1"; deployments there: "api"/,
    );

    out = await drive(fake, dir, cfg(`      web:\n        deployment: api/nope\n`), [
      "--query",
      "app1",
    ]);
    assert.match(
      out.last.message,
      /container "nope" .* not found in deployment "api"; its containers are "api"/,
    );

    fake.addDeployment("app1", "nosel", { containers: [container("x")], selector: null });
    out = await drive(fake, dir, cfg(`      nosel: {}\n`), ["--query", "app1"]);
    assert.equal(out.last.status, "aborted");
    assert.match(out.last.message, /no spec.selector.matchLabels/);
  });
});

Deno.test("config errors", async () => {
  await withFake(async (fake, dir) => {
    fake.addDeployment("app1", "web", { containers: [container("main", { cpu: "1" })] });
    const cases: [string, RegExp, string][] = [
      ["k8s: {}\n", /application.components" is missing or empty/, "unknown"],
      ["other: {}\n", /no "k8s" section/, "unknown"],
      [
        cfg(`      web:\n        settings:\n          mem: {selector: request_min_limit}\n`),
        /needs limit_min > 0/,
        "config-error",
      ],
      [
        cfg(`      web:\n        settings:\n          cpu: {min: 0.0125, max: 1, step: 0.0125}\n`),
        /whole millicores/,
        "config-error",
      ],
      [
        cfg(
          `      web:\n        settings:\n          replicas: {}\n      web2:\n        deployment: web\n        settings:\n          replicas: {}\n`,
        ),
        /both set replicas of deployment "web"/,
        "config-error",
      ],
      [
        cfg(`      web:\n        settings:\n          gpu: {}\n`),
        /unknown setting "gpu"/,
        "config-error",
      ],
      [
        cfg(`      web: {}\n`, `\n  adjust_on: data["x"] ==`),
        /adjust_on: unexpected end/,
        "config-error",
      ],
      [
        cfg(`      web: {}\n`, `\n  on_fail: explode`),
        /on_fail must be rollback, destroy or nop/,
        "config-error",
      ],
    ];
    for (const [config, re, reason] of cases) {
      const out = await drive(fake, dir, config, ["--query", "app1"]);
      assert.equal(out.last.status, "failed", config);
      assert.equal(out.last.reason, reason, config);
      assert.match(out.last.message, re);
    }
  });
});

Deno.test("adjust writes requests/limits by selector, as exact quantities", async () => {
  await withFake(async (fake, dir) => {
    for (const n of ["a", "b", "c", "d"]) {
      fake.addDeployment("app1", n, { containers: [container("main", { cpu: "1", mem: "1Gi" })] });
    }
    const config = cfg(
      `      a:
        settings:
          cpu: {min: 0.1, max: 2, step: 0.1, selector: request}
          mem: {min: 0.25, max: 4, step: 0.25, selector: limit}
      b:
        settings:
          cpu: {min: 0.125, max: 2, step: 0.125, selector: request_min_limit, limit_min: 1}
          mem: {min: 0.25, max: 4, step: 0.25, selector: request_min_limit, limit_min: 2}
      c:
        settings:
          replicas: {min: 1, max: 5, step: 1}
      d:
        settings:
          cpu: {min: 0.125, max: 2, step: 0.125}
`,
      `\n  force_restart: "1"\n  update_annotation: opsani.com/last-update`,
    );
    const out = await drive(fake, dir, config, ["app1"], {
      application: {
        components: {
          a: { settings: { cpu: { value: 0.3 }, mem: 1.25 } },
          b: { settings: { cpu: 0.25, mem: { value: 3 } } },
          c: { settings: { replicas: { value: 4 } } },
          d: { settings: { cpu: { value: null } } },
        },
      },
      control: {},
    });
    assert.equal(out.rc, 0, JSON.stringify(out.last));
    assert.equal(out.last.reason, "success");
    const res = (n: string) => fake.get("app1", n)!.spec.template.spec.containers[0].resources;
    assert.deepEqual(res("a"), { requests: { cpu: "300m" }, limits: { memory: "1280Mi" } });
    assert.deepEqual(res("b"), {
      requests: { cpu: "250m", memory: "3Gi" },
      limits: { cpu: "1", memory: "3Gi" },
    });
    assert.deepEqual(res("d"), { requests: { memory: "1Gi" }, limits: { memory: "1Gi" } });
    const c = fake.get("app1", "c")!;
    assert.equal(c.spec.replicas, 4);
    const patchC = fake.patches().find((p) => p.path.endsWith("/c"))!.body as any;
    assert.equal(patchC.spec.template.spec, undefined, "replicas only: no container patch");
    const ann = fake.get("app1", "a")!.spec.template.metadata.annotations;
    assert.match(ann["servo.opsani.com/forceRestartAt"], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(
      ann["opsani.com/last-update"],
      undefined,
      "several deployments: no update annotation",
    );
  });
});

Deno.test("adjust: update_annotation, env, state wrapper, namespaces", async () => {
  await withFake(async (fake, dir) => {
    fake.addDeployment("prod", "web", {
      containers: [container("main", { cpu: "1", env: { MODE: "a", KEEP: "x" } })],
    });
    const config = cfg(
      `      web:
        settings:
          cpu: {min: 0.5, max: 2, step: 0.5}
        env:
          MODE: {type: enum, values: [a, b], default: a}
          DELAY: {type: range, min: 1, max: 10, step: 1, default: 3}
`,
      `\n  update_annotation: opsani.com/last-update\n  namespace: wrong`,
    );
    const out = await drive(fake, dir, config, ["app1"], {
      state: adjustInput("web", { cpu: { value: 1.5 }, MODE: { value: "b" }, DELAY: 5 }),
      control: {},
    }, { OPTUNE_NAMESPACE: "prod" });
    assert.equal(out.rc, 0, JSON.stringify(out.last));
    const dep = fake.get("prod", "web")!;
    assert.deepEqual(dep.spec.template.spec.containers[0].env, [
      { name: "MODE", value: "b" },
      { name: "KEEP", value: "x" },
      { name: "DELAY", value: "5" },
    ]);
    const ann = JSON.parse(dep.spec.template.metadata.annotations["opsani.com/last-update"]);
    assert.deepEqual(ann.settings, { cpu: 1.5, MODE: "b", DELAY: 5 });
    assert.match(ann.time, /Z$/);

    // Out of range and unknown names are refused before anything is patched.
    const n = fake.patches().length;
    let bad = await drive(fake, dir, config, ["app1"], adjustInput("web", { cpu: 9 }), {
      OPTUNE_NAMESPACE: "prod",
    });
    assert.equal(bad.last.status, "bad-request");
    assert.match(bad.last.message, /web.cpu.*outside the range/);
    bad = await drive(fake, dir, config, ["app1"], adjustInput("nope", { cpu: 1 }), {
      OPTUNE_NAMESPACE: "prod",
    });
    assert.equal(bad.last.status, "failed");
    assert.match(bad.last.message, /component "nope" is not in the k8s config/);
    assert.equal(fake.patches().length, n);

    // OPTUNE_USE_DEFAULT_NAMESPACE=1 takes the kubeconfig context's namespace.
    await Deno.writeTextFile(
      `${dir}/kubeconfig`,
      `apiVersion: v1
kind: Config
current-context: c1
contexts: [{name: c1, context: {cluster: k1, user: u1, namespace: prod}}]
clusters: [{name: k1, cluster: {server: "${fake.url}"}}]
users: [{name: u1, user: {token: abc}}]
`,
    );
    const q = await drive(fake, dir, config, ["--query", "ignored"], undefined, {
      OPTUNE_K8S_SERVER: "",
      KUBECONFIG: `${dir}/kubeconfig`,
      OPTUNE_USE_DEFAULT_NAMESPACE: "1",
    });
    assert.equal(q.rc, 0, JSON.stringify(q.last));
    assert.equal(q.last.application.components.web.settings.cpu.value, 1.5);
    assert.equal(fake.requests.at(-1)!.authorization, "Bearer abc");
  });
});

Deno.test("encoder-backed env var and command (jvm)", async () => {
  await withFake(async (fake, dir) => {
    fake.addDeployment("app1", "web", {
      containers: [container("main", {
        cpu: "1",
        env: { JAVA_OPTS: "-XX:MaxHeapSize=1024m -XX:GCTimeRatio=19" },
        command: ["java", "-server", "-XX:MaxHeapSize=2048m", "-jar", "/app.jar"],
      })],
    });
    const config = cfg(`      web:
        env:
          JAVA_OPTS:
            encoder:
              name: jvm
              setting_prefix: opts_
              settings:
                MaxHeapSize: {min: 0.5, max: 4, step: 0.5}
                GCTimeRatio: {min: 9, max: 99, step: 10}
        command:
          encoder:
            name: jvm
            before: [java, -server]
            after: [-jar, /app.jar]
            settings:
              MaxHeapSize: {min: 1, max: 4, step: 0.25}
`);
    const q = await drive(fake, dir, config, ["--query", "app1"]);
    assert.equal(q.rc, 0, JSON.stringify(q.last));
    const s = q.last.application.components.web.settings;
    assert.equal(s.opts_MaxHeapSize.value, 1);
    assert.equal(s.opts_GCTimeRatio.value, 19);
    assert.equal(s.MaxHeapSize.value, 2);
    assert.equal(s.MaxHeapSize.unit, "GiB");

    const out = await drive(
      fake,
      dir,
      config,
      ["app1"],
      adjustInput("web", {
        opts_GCTimeRatio: { value: 29 },
        MaxHeapSize: { value: 3 },
      }),
    );
    assert.equal(out.rc, 0, JSON.stringify(out.last));
    const c = fake.get("app1", "web")!.spec.template.spec.containers[0];
    assert.deepEqual(c.env, [{
      name: "JAVA_OPTS",
      value: "-XX:MaxHeapSize=1024m -XX:GCTimeRatio=29",
    }]);
    assert.deepEqual(c.command, ["java", "-server", "-XX:MaxHeapSize=3072m", "-jar", "/app.jar"]);
  });
});

Deno.test("settlement: a restart during settlement is rejected/unstable and rolled back", async () => {
  await withFake(async (fake, dir) => {
    fake.addDeployment("app1", "web", { containers: [container("main", { cpu: "1" })] });
    fake.behave = (t) =>
      t.spec.containers[0].resources.limits.cpu === "500m" ? "crash-later" : "ok";
    fake.crashEveryMs = 150;
    const config = cfg(
      `      web:\n        settings:\n          cpu: {min: 0.5, max: 2, step: 0.5}\n`,
    );
    const out = await drive(
      fake,
      dir,
      config,
      ["app1"],
      adjustInput("web", { cpu: 0.5 }, {
        settlement: 1,
      }),
    );
    assert.equal(out.last.status, "rejected", JSON.stringify(out.last));
    assert.equal(out.last.reason, "unstable");
    assert.match(
      out.last.message,
      /unstable during settlement: pod .* restarted 1 time\(s\); last exit: OOMKilled code 137/,
    );
    assert.match(out.last.message, /Rollback succeeded/);
    assert.equal(
      fake.get("app1", "web")!.spec.template.spec.containers[0].resources.limits.cpu,
      "1",
    );
    assert.ok(
      out.lines.some((l) => l.message === "waiting for k8s settlement" && l.progress === 99),
    );
  });
});

Deno.test("a patch that changes nothing does not wait; ReplicaFailure; a paused deployment", async () => {
  await withFake(async (fake, dir) => {
    fake.addDeployment("app1", "web", { containers: [container("main", { cpu: "1" })] });
    const config = cfg(
      `      web:\n        settings:\n          cpu: {min: 0.5, max: 2, step: 0.5}\n`,
      "\n  on_fail: nop",
    );
    const same = await drive(fake, dir, config, ["app1"], adjustInput("web", { cpu: 1 }));
    assert.equal(same.rc, 0, JSON.stringify(same.last));
    assert.equal(fake.replicaSetsOf("app1", "web").length, 1);

    fake.behave = () => "never-ready";
    fake.replicaFailure = 'pods "web-x" is forbidden: exceeded quota: compute, requested: cpu=2';
    const out = await drive(fake, dir, config, ["app1"], adjustInput("web", { cpu: 2 }));
    assert.equal(out.last.status, "rejected", JSON.stringify(out.last));
    assert.equal(out.last.reason, "start-failed");
    assert.match(out.last.message, /cannot create pods \(FailedCreate: .*exceeded quota/);
    assert.ok(!/Rollback/.test(out.last.message), "on_fail nop");

    fake.replicaFailure = undefined;
    fake.get("app1", "web")!.spec.paused = true;
    const paused = await drive(fake, dir, config, ["app1"], adjustInput("web", { cpu: 1.5 }));
    assert.equal(paused.last.status, "failed");
    assert.equal(paused.last.reason, "adjust-failed");
    assert.match(
      paused.last.message,
      /deployment "web" is paused.*kubectl rollout resume deployment\/web -n app1/,
    );
  });
});

Deno.test("reference app: ref_* ids, ref-app-unavailable, ref-app-scale during settlement", async () => {
  await withFake(async (fake, dir) => {
    fake.addDeployment("app1", "web", { containers: [container("main", { cpu: "1" })] });
    fake.addDeployment("app1", "web-ref", {
      replicas: 2,
      containers: [container("main", { cpu: "1" })],
    });
    const config = cfg(
      `      web:\n        settings:\n          cpu: {min: 0.5, max: 2, step: 0.5}\n`,
      "\n  control: {userdata: {deployment: web-ref}}",
    );
    const q = await drive(fake, dir, config, ["--query", "app1"]);
    assert.equal(q.rc, 0, JSON.stringify(q.last));
    const m = q.last.monitoring;
    assert.equal(m.ref_runtime_count, 2);
    assert.equal(m.ref_version_id, m.version_id, "same image");
    assert.match(m.ref_spec_id, /^[0-9a-f]{32}$/);
    assert.match(m.ref_runtime_id, /^[0-9a-f]{32}$/);

    fake.onPatch = () => {
      fake.onPatch = undefined;
      fake.afterRollout("app1", "web", 100, () =>
        fake.edit("app1", "web-ref", (d) => {
          d.spec.replicas = 3;
        }));
    };
    const a = await drive(
      fake,
      dir,
      config,
      ["app1"],
      adjustInput("web", { cpu: 1.5 }, {
        settlement: 1,
      }),
    );
    assert.equal(a.last.status, "transient-failure", JSON.stringify(a.last));
    assert.equal(a.last.reason, "ref-app-scale");

    const gone = await drive(
      fake,
      dir,
      config,
      ["app1"],
      adjustInput("web", { cpu: 1 }, {
        userdata: { deployment: "nope" },
      }),
    );
    assert.equal(gone.last.status, "aborted");
    assert.equal(gone.last.reason, "ref-app-unavailable");
    assert.match(gone.last.message, /reference deployment "nope" not found in namespace "app1"/);
  });
});

Deno.test("an edit by someone else that keeps servo's values does not fail the rollout", async () => {
  await withFake(async (fake, dir) => {
    fake.addDeployment("app1", "web", { containers: [container("main", { cpu: "1" })] });
    fake.podReadyMs = 200;
    fake.onPatch = (ns, name) => {
      fake.onPatch = undefined;
      fake.after(10, () =>
        fake.edit(ns, name, (d) => {
          d.spec.template.spec.containers[0].image = "example/main:1.1";
        }));
    };
    const config = cfg(
      `      web:\n        settings:\n          cpu: {min: 0.5, max: 2, step: 0.5}\n`,
    );
    const out = await drive(fake, dir, config, ["app1"], adjustInput("web", { cpu: 1.5 }));
    assert.equal(out.rc, 0, JSON.stringify(out.last));
    const c = fake.get("app1", "web")!.spec.template.spec.containers[0];
    assert.equal(c.image, "example/main:1.1");
    assert.equal(c.resources.limits.cpu, "1500m");
  });
});

Deno.test("rollback of a replicas-only change restores the count, not an older template", async () => {
  await withFake(async (fake, dir) => {
    fake.addDeployment("app1", "web", {
      replicas: 2,
      containers: [container("main", { cpu: "1" })],
    });
    const config = cfg(
      `      web:\n        settings:\n          cpu: {min: 0.5, max: 2, step: 0.5}\n          replicas: {min: 1, max: 4, step: 1}\n`,
    );
    const ok = await drive(fake, dir, config, ["app1"], adjustInput("web", { cpu: 1.5 }));
    assert.equal(ok.rc, 0, JSON.stringify(ok.last));
    fake.behave = (_t, d) => d.spec.replicas === 3 ? "crash" : "ok";
    const out = await drive(fake, dir, config, ["app1"], adjustInput("web", { replicas: 3 }));
    assert.equal(out.last.status, "rejected", JSON.stringify(out.last));
    assert.equal(out.last.reason, "unstable");
    assert.match(out.last.message, /Rollback succeeded/);
    const dep = fake.get("app1", "web")!;
    assert.equal(dep.spec.replicas, 2);
    assert.equal(dep.spec.template.spec.containers[0].resources.limits.cpu, "1500m");
    assert.ok(
      !fake.patches().some((p) => p.contentType === "application/json-patch+json"),
      "no rollout undo",
    );
  });
});
