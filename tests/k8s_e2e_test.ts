// deno-lint-ignore-file no-explicit-any
/**
 * The k8s driver end to end, through the real agent: for each scenario a
 * fake Kubernetes API (drivers/k8s/testdata/fake_k8s.ts) and a tiny fake
 * optimizer (Deno.serve) are started, `servo run --url URL --no-auth APP`
 * runs in a temp servo dir whose `./adjust` execs `servo driver k8s`, the
 * optimizer sends DESCRIBE and ADJUST, records the completions, and the
 * agent is stopped with SIGTERM. The scenarios run concurrently (each has its
 * own servers and agent) and are then checked one by one.
 */
import assert from "node:assert/strict";
import { selfCommand } from "../lib/self.ts";
import { container, FakeK8s, type PodMode } from "../drivers/k8s/testdata/fake_k8s.ts";

const NS = "shop";
/** Agents run at the same time. */
const CONCURRENCY = 4;

/** A command the fake optimizer sends. */
interface Cmd {
  cmd: string;
  param: Record<string, unknown>;
  /** Run just before the command is handed out (set up the scenario). */
  before?: () => void;
}

/** What an agent run produced. */
interface RunResult {
  events: { event: string; param: Record<string, unknown> | null }[];
  completions: Record<string, unknown>[];
  progress: Record<string, unknown>[];
  stderr: string;
  code: number;
  ms: number;
  /** Commands sent. */
  sent: number;
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

const BASE_CONFIG = `
k8s:
  poll_interval: 0.05
  observe_timeout: 2
  request_timeout: 2
  timeout: 3
  settlement_interval: 0.1
  on_fail: rollback
  application:
    components:
      web:
        settings:
          cpu: {min: 0.125, max: 2, step: 0.125}
          mem: {min: 0.25, max: 4, step: 0.25}
          replicas: {min: 1, max: 4, step: 1}
        env:
          COMMIT_DELAY: {type: range, min: 1, max: 100, step: 1, default: 20}
`;

async function servoDir(config: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "servo_k8s_e2e_" });
  const self = selfCommand().map(shellQuote).join(" ");
  await Deno.writeTextFile(`${dir}/adjust`, `#!/bin/sh\nexec ${self} driver k8s "$@"\n`);
  await Deno.writeTextFile(
    `${dir}/measure`,
    `#!/bin/sh
case "$1" in
  --info) echo '{"version":"1.0","has_cancel":false}';;
  --describe) echo '{"status":"ok","metrics":{"perf":{"unit":"rps"}}}';;
  *) cat >/dev/null; echo '{"status":"ok","metrics":{"perf":{"value":1,"unit":"rps"}}}';;
esac
`,
  );
  await Deno.chmod(`${dir}/adjust`, 0o755);
  await Deno.chmod(`${dir}/measure`, 0o755);
  await Deno.writeTextFile(`${dir}/config.yaml`, config);
  return dir;
}

/** Run the agent against `fake` with `cmds`; resolves after all completions (or the deadline). */
async function runAgent(
  fake: FakeK8s,
  cmds: Cmd[],
  opts: { config?: string; env?: Record<string, string>; deadlineMs?: number } = {},
): Promise<RunResult> {
  const dir = await servoDir(opts.config ?? BASE_CONFIG);
  const t0 = Date.now();
  const res: RunResult = {
    events: [],
    completions: [],
    progress: [],
    stderr: "",
    code: -1,
    ms: 0,
    sent: cmds.length,
  };
  const queue = [...cmds];
  const { promise: allDone, resolve } = Promise.withResolvers<void>();
  const optimizer = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const body = await req.json();
      res.events.push(body);
      if (body.event === "WHATS_NEXT") {
        const c = queue.shift();
        if (!c) return Response.json({ cmd: "SLEEP", param: { duration: 30 } });
        c.before?.();
        return Response.json({ cmd: c.cmd, param: c.param });
      }
      if (["DESCRIPTION", "ADJUSTMENT", "MEASUREMENT"].includes(body.event)) {
        if (body.param && "progress" in body.param) res.progress.push(body.param);
        else {
          res.completions.push({ event: body.event, ...body.param });
          if (res.completions.length === cmds.length) resolve();
        }
      }
      return Response.json({ status: "ok" });
    },
  );
  const url = `http://127.0.0.1:${optimizer.addr.port}/servo`;
  const child = new Deno.Command(selfCommand()[0], {
    args: [...selfCommand().slice(1), "run", "--url", url, "--no-auth", NS],
    cwd: dir,
    env: {
      OPTUNE_K8S_SERVER: fake.url,
      HOME: dir,
      KUBECONFIG: "",
      KUBERNETES_SERVICE_HOST: "",
      OPTUNE_NAMESPACE: "",
      OPTUNE_USE_DEFAULT_NAMESPACE: "",
      SERVO_RETRY_DELAY_SEC: "1",
      ...opts.env,
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const deadline = setTimeout(resolve, opts.deadlineMs ?? 40_000);
  await allDone;
  clearTimeout(deadline);
  child.kill("SIGTERM");
  const status = await child.status;
  res.code = status.code;
  res.stderr = await stderr;
  res.ms = Date.now() - t0;
  await optimizer.shutdown();
  await Deno.remove(dir, { recursive: true });
  return res;
}

function adjustCmd(settings: Record<string, unknown>, control: Record<string, unknown> = {}): Cmd {
  const s: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(settings)) s[k] = { value: v };
  return {
    cmd: "ADJUST",
    param: { state: { application: { components: { web: { settings: s } } } }, control },
  };
}

function webApp(fake: FakeK8s, replicas = 2) {
  fake.addDeployment(NS, "web", {
    replicas,
    containers: [container("main", { cpu: "250m", mem: "512Mi", env: { COMMIT_DELAY: "20" } })],
  });
}

/** One scenario: set up a fake, run the agent, check. */
interface Scenario {
  name: string;
  setup(fake: FakeK8s): void;
  cmds(fake: FakeK8s): Cmd[];
  config?: string;
  env?: Record<string, string>;
  check(r: RunResult, fake: FakeK8s): void;
}

const DESCRIBE: Cmd = { cmd: "DESCRIBE", param: {} };

/** The completion of the n-th command. */
function nth(r: RunResult, n: number): Record<string, any> {
  return r.completions[n] as Record<string, any>;
}

/** The pods of a template with this cpu limit behave like `mode`, all others are fine. */
function whenCpu(fake: FakeK8s, cpu: string, mode: PodMode) {
  fake.behave = (t) => t.spec.containers[0].resources?.limits?.cpu === cpu ? mode : "ok";
}

function cpuOf(fake: FakeK8s, name = "web"): string {
  return fake.get(NS, name)!.spec.template.spec.containers[0].resources.limits.cpu;
}

const scenarios: Scenario[] = [
  {
    name: "success: describe, adjust cpu/mem/replicas/env, rollout completes",
    setup: (f) => webApp(f),
    cmds: () => [DESCRIBE, adjustCmd({ cpu: 0.5, mem: 1.5, replicas: 3, COMMIT_DELAY: 30 })],
    check(r, f) {
      const [desc, adj] = [nth(r, 0), nth(r, 1)];
      assert.equal(desc.status, "ok");
      const settings = desc.descriptor.application.components.web.settings;
      assert.equal(settings.cpu.value, 0.25);
      assert.equal(settings.mem.value, 0.5);
      assert.equal(settings.replicas.value, 2);
      assert.equal(settings.COMMIT_DELAY.value, 20);
      assert.equal(adj.status ?? "ok", "ok", JSON.stringify(adj));
      assert.deepEqual(adj.state.application.components.web.settings.cpu, { value: 0.5 });
      const dep = f.get(NS, "web")!;
      const c = dep.spec.template.spec.containers[0];
      assert.deepEqual(c.resources, {
        requests: { cpu: "500m", memory: "1536Mi" },
        limits: { cpu: "500m", memory: "1536Mi" },
      });
      assert.equal(dep.spec.replicas, 3);
      assert.deepEqual(c.env, [{ name: "COMMIT_DELAY", value: "30" }]);
      assert.equal(f.patches().length, 1);
      assert.equal(f.patches()[0].contentType, "application/strategic-merge-patch+json");
      assert.equal(f.replicaSetsOf(NS, "web").length, 2);
      assert.ok(
        r.progress.some((p) => String(p.message).includes("waiting for progress from k8s web")),
      );
    },
  },
  {
    name: "a rollout that never becomes available: rejected/start-failed, rolled back",
    setup(f) {
      webApp(f);
      whenCpu(f, "1", "never-ready");
    },
    cmds: () => [adjustCmd({ cpu: 1 }, { timeout: 1 })],
    check(r, f) {
      const c = nth(r, 0);
      assert.equal(c.status, "rejected");
      assert.equal(c.reason, "start-failed");
      assert.match(c.message, /timed out waiting for replicas to come up: deployment "web"/);
      assert.match(c.message, /running but not ready/);
      assert.match(c.message, /Rollback succeeded/);
      assert.equal(cpuOf(f), "250m");
      assert.equal(f.patches().at(-1)!.contentType, "application/json-patch+json");
    },
  },
  {
    name: "Progressing=False (ProgressDeadlineExceeded): rejected/start-failed",
    setup(f) {
      webApp(f);
      whenCpu(f, "1", "never-ready");
      f.progressDeadlineMs = 300;
    },
    cmds: () => [adjustCmd({ cpu: 1 })],
    check(r, f) {
      const c = nth(r, 0);
      assert.equal(c.status, "rejected");
      assert.equal(c.reason, "start-failed");
      assert.match(c.message, /stopped progressing \(ProgressDeadlineExceeded/);
      assert.match(c.message, /Rollback succeeded/);
      assert.equal(cpuOf(f), "250m");
    },
  },
  {
    name: "CrashLoopBackOff restarts: rejected/unstable, rolled back",
    setup(f) {
      webApp(f);
      whenCpu(f, "125m", "crash");
    },
    cmds: () => [adjustCmd({ cpu: 0.125 })],
    check(r, f) {
      const c = nth(r, 0);
      assert.equal(c.status, "rejected");
      assert.equal(c.reason, "unstable");
      assert.match(c.message, /pod web-[0-9a-f]+-[0-9a-f]+ container main restarted/);
      assert.match(c.message, /CrashLoopBackOff/);
      assert.match(c.message, /Rollback succeeded/);
      assert.equal(cpuOf(f), "250m");
    },
  },
  {
    name: "ImagePullBackOff: failed/image-pull-failed, destroy (scale to 0) on_fail",
    config: BASE_CONFIG.replace("on_fail: rollback", "on_fail: destroy"),
    setup(f) {
      webApp(f);
      whenCpu(f, "750m", "image-pull");
    },
    cmds: () => [adjustCmd({ cpu: 0.75 })],
    check(r, f) {
      const c = nth(r, 0);
      assert.equal(c.status, "failed");
      assert.equal(c.reason, "image-pull-failed");
      assert.match(c.message, /cannot pull image example\/main:1.0 \(ImagePullBackOff/);
      assert.match(c.message, /Destroy succeeded/);
      assert.equal(f.get(NS, "web")!.spec.replicas, 0);
    },
  },
  {
    name: "someone else edits the deployment during the rollout: failed/overwritten",
    setup(f) {
      webApp(f);
      f.podReadyMs = 400;
      f.onPatch = (ns, name) => {
        f.onPatch = undefined;
        f.after(20, () =>
          f.edit(ns, name, (d) => {
            d.spec.template.spec.containers[0].resources.limits.cpu = "1500m";
          }));
      };
    },
    cmds: () => [adjustCmd({ cpu: 0.5 })],
    check(r, f) {
      const c = nth(r, 0);
      assert.equal(c.status, "failed");
      assert.equal(c.reason, "overwritten");
      assert.match(c.message, /deployment "web" was changed by someone else during the rollout/);
      assert.match(c.message, /cpu limit is 1500m, servo set 500m/);
      assert.equal(cpuOf(f), "1500m", "the other edit is left alone");
    },
  },
  {
    name: "the deployment is deleted during the rollout: aborted/app-unavailable",
    setup(f) {
      webApp(f);
      f.podReadyMs = 400;
      f.onPatch = (ns, name) => {
        f.onPatch = undefined;
        f.after(20, () => f.delete(ns, name));
      };
    },
    cmds: () => [adjustCmd({ cpu: 0.5 })],
    check(r) {
      const c = nth(r, 0);
      assert.equal(c.status, "aborted");
      assert.equal(c.reason, "app-unavailable");
      assert.match(c.message, /deployment "web" in namespace "shop" was deleted/);
    },
  },
  {
    name: "401 Unauthorized: describe and adjust fail naming the credentials",
    setup(f) {
      webApp(f);
      f.token = "the-right-token";
    },
    env: { OPTUNE_K8S_TOKEN: "wrong-token" },
    cmds: () => [DESCRIBE, adjustCmd({ cpu: 0.5 })],
    check(r, f) {
      assert.equal(nth(r, 1).reason, "adjust-failed");
      for (const c of [nth(r, 0), nth(r, 1)]) {
        assert.equal(c.status, "failed");
        assert.match(c.message, /rejected the credentials \(401 Unauthorized\)/);
        assert.ok(!String(c.message).includes("wrong-token"), "the token is never printed");
      }
      assert.equal(f.requests[0].authorization, "Bearer wrong-token");
      assert.equal(f.patches().length, 0);
    },
  },
  {
    name: "403 Forbidden on PATCH: failed/adjust-failed naming the RBAC fix",
    setup(f) {
      webApp(f);
      f.inject({
        method: "PATCH",
        status: 403,
        reason: "Forbidden",
        message:
          'deployments.apps "web" is forbidden: User "system:serviceaccount:shop:servo" cannot patch resource "deployments" in API group "apps" in the namespace "shop"',
      });
    },
    cmds: () => [adjustCmd({ cpu: 0.5 })],
    check(r) {
      const c = nth(r, 0);
      assert.equal(c.status, "failed");
      assert.equal(c.reason, "adjust-failed");
      assert.match(c.message, /not allowed to patch deployment "web" in namespace "shop" \(403/);
      assert.match(c.message, /Role in drivers\/k8s\/README.md/);
    },
  },
  {
    name: "409 Conflict: retried once and applied; a lasting conflict is failed/adjust-failed",
    setup: (f) => webApp(f),
    cmds: (f) => [
      {
        ...adjustCmd({ cpu: 0.5 }),
        before: () => f.inject({ method: "PATCH", status: 409, reason: "Conflict", times: 1 }),
      },
      {
        ...adjustCmd({ cpu: 0.75 }),
        before: () =>
          f.inject({
            method: "PATCH",
            status: 409,
            reason: "Conflict",
            message:
              'Operation cannot be fulfilled on deployments.apps "web": the object has been modified',
          }),
      },
    ],
    check(r, f) {
      assert.equal(nth(r, 0).status ?? "ok", "ok", JSON.stringify(nth(r, 0)));
      const c = nth(r, 1);
      assert.equal(c.status, "failed");
      assert.equal(c.reason, "adjust-failed");
      assert.match(c.message, /conflict \(409\).*the object has been modified.*tried 4 times/);
      assert.equal(cpuOf(f), "500m");
    },
  },
  {
    name: "a slow API: slow answers still succeed, one over request_timeout fails clearly",
    config: BASE_CONFIG.replace("request_timeout: 2", "request_timeout: 0.4"),
    setup: (f) => webApp(f),
    cmds: (f) => [
      { ...adjustCmd({ cpu: 0.5 }), before: () => f.inject({ delayMs: 150, times: 100 }) },
      {
        ...adjustCmd({ cpu: 0.75 }),
        before: () => {
          f.injections.length = 0;
          f.inject({ method: "GET", match: /deployments\/web$/, delayMs: 700 });
        },
      },
    ],
    check(r) {
      assert.equal(nth(r, 0).status ?? "ok", "ok", JSON.stringify(nth(r, 0)));
      const c = nth(r, 1);
      assert.equal(c.status, "failed");
      assert.equal(c.reason, "adjust-failed");
      assert.match(
        c.message,
        /did not answer "get deployment "web" in namespace "shop"" within 0.4 s/,
      );
    },
  },
  {
    name: "reference app on another version: aborted/version-mismatch",
    config: BASE_CONFIG.replace("on_fail: rollback", "control: {userdata: {deployment: web-ref}}"),
    setup(f) {
      webApp(f);
      f.addDeployment(NS, "web-ref", {
        containers: [container("main", { image: "example/main:0.9", cpu: "250m" })],
      });
    },
    cmds: () => [DESCRIBE, adjustCmd({ cpu: 0.5 })],
    check(r) {
      assert.equal(nth(r, 0).status, "ok");
      const c = nth(r, 1);
      assert.equal(c.status, "aborted");
      assert.equal(c.reason, "version-mismatch");
      assert.match(c.message, /example\/main:1.0.*"web-ref" runs example\/main:0.9/);
    },
  },
  {
    name: "adjust_on false: skipped without touching the cluster",
    config: BASE_CONFIG.replace(
      "on_fail: rollback",
      `adjust_on: data["control"]["userdata"]["deploy_to"] == "canary"`,
    ),
    setup: (f) => webApp(f),
    cmds: () => [
      adjustCmd({ cpu: 0.5 }, { userdata: { deploy_to: "main" } }),
      adjustCmd({ cpu: 0.75 }, { userdata: { deploy_to: "canary" } }),
    ],
    check(r, f) {
      assert.equal(nth(r, 0).status ?? "ok", "ok");
      assert.equal(nth(r, 1).status ?? "ok", "ok");
      assert.equal(f.patches().length, 1);
      assert.equal(cpuOf(f), "750m");
    },
  },
  {
    name: "pods replaced during settlement: transient-failure/app-restart",
    setup(f) {
      webApp(f);
      f.onPatch = (ns, name) => {
        f.onPatch = undefined;
        f.afterRollout(ns, name, 300, () => f.replacePods(ns, name));
      };
    },
    cmds: () => [adjustCmd({ cpu: 0.5 }, { settlement: 1.5 })],
    check(r, f) {
      const c = nth(r, 0);
      assert.equal(c.status, "transient-failure");
      assert.equal(c.reason, "app-restart");
      assert.ok(r.progress.some((p) => p.message === "waiting for k8s settlement"));
      assert.equal(cpuOf(f), "500m", "no rollback for a transient failure");
    },
  },
];

Deno.test("k8s driver scenarios through the agent", async (t) => {
  // A few agents at a time: each one starts several deno processes.
  const runs: { s: Scenario; r: RunResult; fake: FakeK8s }[] = [];
  const todo = [...scenarios];
  const worker = async () => {
    for (let s = todo.shift(); s; s = todo.shift()) {
      const fake = new FakeK8s().start();
      try {
        s.setup(fake);
        const r = await runAgent(fake, s.cmds(fake), { config: s.config, env: s.env });
        runs.push({ s, r, fake });
      } finally {
        await fake.stop();
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  runs.sort((a, b) => scenarios.indexOf(a.s) - scenarios.indexOf(b.s));
  for (const { s, r, fake } of runs) {
    await t.step(s.name, () => {
      try {
        assert.equal(
          r.completions.length,
          r.sent,
          `the agent completed ${r.completions.length} of ${r.sent} commands in ${r.ms} ms`,
        );
        s.check(r, fake);
      } catch (err) {
        console.error(`--- ${s.name}: completions`, JSON.stringify(r.completions, null, 1));
        console.error(`--- agent stderr (${r.ms} ms)\n${r.stderr.slice(-4000)}`);
        throw err;
      }
    });
  }
});
