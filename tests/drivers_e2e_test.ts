/**
 * The built-in drivers ab, prom, redis, redis-benchmark (and agg/magg over
 * them) end to end THROUGH THE REAL AGENT: main.ts `run` (selfCommand, the
 * shipped permissions) in a temp servo dir whose `adjust`/`measure` are
 * two-line scripts exec'ing `servo driver NAME`, against the fake service
 * and real systems on 127.0.0.1 (ab, redis-server, Prometheus).
 */
import assert from "node:assert/strict";
import { selfCommand } from "../lib/self.ts";
import { FakeService, type Handler, type Received, scripted } from "./fake_service.ts";
import { startAgent } from "./helpers.ts";
import {
  redisCli,
  requireBinary,
  startExporter,
  startHttpTarget,
  startPrometheus,
  startRedis,
  waitForSamples,
  waitUntil,
} from "./fixtures/systems.ts";

const sq = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** The two-line script that runs a built-in driver. */
function driverScript(name: string): string {
  return `#!/bin/sh\nexec ${selfCommand().map(sq).join(" ")} driver ${name} "$@"\n`;
}

async function writeExec(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text);
  await Deno.chmod(path, 0o755);
}

const completion = (name: string) => (r: Received[]) =>
  r.some((e) => e.event === name && e.param !== null && !("progress" in e.param));
const completions = (svc: FakeService, name: string) =>
  svc.events(name).filter((e) => e.param && !("progress" in e.param));

/**
 * A servo dir (`files`: relative path -> text; values starting with
 * "driver:" become executable driver scripts), the fake service with
 * `handler`, and the agent. `fn` waits for what it needs; then the agent
 * gets SIGTERM and must say GOODBYE and exit 0.
 */
async function withServo(
  files: Record<string, string>,
  handler: Handler,
  fn: (svc: FakeService, dir: string) => Promise<void>,
): Promise<FakeService> {
  const dir = await Deno.makeTempDir({ prefix: "servo-drv-e2e-" });
  const svc = new FakeService(handler);
  let agent: ReturnType<typeof startAgent> | undefined;
  try {
    for (const [name, text] of Object.entries(files)) {
      const path = `${dir}/${name}`;
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      if (text.startsWith("driver:")) await writeExec(path, driverScript(text.slice(7)));
      else if (text.startsWith("#!")) await writeExec(path, text);
      else await Deno.writeTextFile(path, text);
    }
    agent = startAgent(["run", "--url", svc.url, "--no-auth", "app1"], { cwd: dir });
    await fn(svc, dir);
    agent.child.kill("SIGTERM");
    await svc.waitFor((r) => r.some((e) => e.event === "GOODBYE"), 10000, "GOODBYE");
    const res = await agent.done;
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(svc.events("GOODBYE")[0].param, { reason: "SIGTERM" });
    return svc;
  } catch (err) {
    if (agent) {
      try {
        agent.child.kill("SIGKILL");
      } catch {
        // gone
      }
      console.error(`agent stderr:\n${(await agent.done).stderr}`);
    }
    throw err;
  } finally {
    await svc.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** PIDs of live processes whose command line contains every one of `parts` (via ps). */
async function processesWith(...parts: string[]): Promise<number[]> {
  const out = await new Deno.Command("ps", { args: ["-eo", "pid=,args="], stdin: "null" }).output();
  return new TextDecoder().decode(out.stdout).split("\n")
    .filter((l) => parts.every((p) => l.includes(p)))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

type Metrics = Record<string, { value?: number; values?: { id?: string; data: number[][] }[] }>;

Deno.test("e2e ab: the agent measures a local HTTP server with ab", async () => {
  requireBinary("ab", "apache2-utils");
  const target = startHttpTarget();
  try {
    const svc = await withServo(
      { measure: "driver:ab" },
      scripted([{
        cmd: "MEASURE",
        param: {
          metrics: ["requests throughput", "time per request"],
          control: { warmup: 0, duration: 2, load: { test_url: target.url, n_threads: 2 } },
        },
        cmd_uid: "m1",
      }]),
      (svc) => svc.waitFor(completion("MEASUREMENT"), 20000, "MEASUREMENT"),
    );
    const m = completions(svc, "MEASUREMENT")[0].param!;
    assert.equal(m.status, undefined, JSON.stringify(m));
    const metrics = m.metrics as Metrics;
    assert.ok(metrics["requests throughput"].value! > 10);
    assert.ok(metrics["time taken"].value! >= 1.9 && metrics["time taken"].value! < 4);
    assert.equal(metrics["number of errors"].value, 0);
    assert.deepEqual(metrics.perf, metrics["requests throughput"], "the ab -> perf alias");
    assert.ok(target.count >= metrics["complete requests"].value!);
    assert.match(String((m.annotations as Record<string, string>).command), /^ab -l -c 2 -t 2 /);
  } finally {
    await target.stop();
  }
});

Deno.test("e2e ab: a cancel from the service stops ab (no process left behind)", async () => {
  requireBinary("ab", "apache2-utils");
  const target = startHttpTarget();
  const base = scripted([{
    cmd: "MEASURE",
    param: { control: { warmup: 0, duration: 60, load: { test_url: target.url, n_threads: 2 } } },
  }]);
  let running: number[] = [];
  try {
    const svc = await withServo(
      { measure: "driver:ab" },
      async (ev, all) => {
        // Cancel once ab is really sending requests.
        if (ev.event === "MEASUREMENT" && ev.param?.message === "measuring for 60 s") {
          await waitUntil(() => target.count > 20, 5000, "ab requests");
          running = await processesWith("ab", target.url);
          return { status: "cancel", reason: "stop now" };
        }
        return await base(ev, all);
      },
      (svc) => svc.waitFor(completion("MEASUREMENT"), 20000, "MEASUREMENT"),
    );
    const m = completions(svc, "MEASUREMENT")[0].param!;
    assert.equal(m.status, "cancelled");
    assert.equal(m.reason, "stop now");
    assert.equal(running.length, 1, "ab was running when the cancel came");
    assert.deepEqual(await processesWith("ab", target.url), [], "ab was stopped");
    const n = target.count;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(target.count, n, "no requests after the cancel");
  } finally {
    await target.stop();
  }
});

Deno.test("e2e prom + magg: a real Prometheus scraping an exporter; magg merges ab and prom", async (t) => {
  const exporter = startExporter();
  const target = startHttpTarget();
  const prom = await startPrometheus([`127.0.0.1:${exporter.port}`]);
  try {
    const config = `prom:
  prometheus_endpoint: http://127.0.0.1:${prom.port}
  metrics:
    requests:
      query: demo_requests_total
      period: 1
    queue:
      query: demo_queue_depth
      unit: items
      period: 1
      aggregate: avg
`;
    await waitForSamples(prom.port, "demo_requests_total", 2);

    await t.step("prom through the agent", async () => {
      const svc = await withServo(
        { "config.yaml": config, measure: "driver:prom" },
        scripted([
          { cmd: "MEASURE", param: { metrics: ["requests", "queue"], control: { duration: 2 } } },
        ]),
        (svc) => svc.waitFor(completion("MEASUREMENT"), 20000, "MEASUREMENT"),
      );
      const m = completions(svc, "MEASUREMENT")[0].param!;
      assert.equal(m.status, undefined, JSON.stringify(m));
      const metrics = m.metrics as Metrics;
      assert.equal(metrics.requests.values!.length, 2, "one instance per path label");
      assert.ok(metrics.requests.values!.every((v) => v.data.length >= 2));
      assert.ok(
        metrics.requests.values!.some((v) => v.id!.endsWith("path:/a")),
        JSON.stringify(metrics.requests.values),
      );
      assert.equal(metrics.queue.value, 7);
    });

    await t.step("magg merges ab and prom, run in parallel", async () => {
      const t0 = Date.now();
      const svc = await withServo(
        {
          "config.yaml": config,
          adjust: SH_ADJUST,
          measure: "driver:magg",
          "measure.d/ab": "driver:ab",
          "measure.d/prom": "driver:prom",
        },
        scripted([
          {
            cmd: "DESCRIBE",
            param: {},
          },
          {
            cmd: "MEASURE",
            param: {
              metrics: ["requests throughput", "queue"],
              control: {
                warmup: 0,
                duration: 2,
                load: { test_url: target.url, n_threads: 2 },
              },
            },
          },
        ]),
        (svc) => svc.waitFor(completion("MEASUREMENT"), 25000, "MEASUREMENT"),
      );
      const desc = completions(svc, "DESCRIPTION")[0].param!;
      assert.equal(desc.status, "ok", JSON.stringify(desc));
      const described = (desc.descriptor as { measurement: { metrics: Record<string, unknown> } })
        .measurement.metrics;
      assert.ok("requests throughput" in described && "queue" in described, "merged describe");
      const m = completions(svc, "MEASUREMENT")[0].param!;
      assert.equal(m.status, undefined, JSON.stringify(m));
      const metrics = m.metrics as Metrics;
      assert.ok(metrics["requests throughput"].value! > 10, "from ab");
      assert.equal(metrics.queue.value, 7, "from prom");
      assert.ok(Date.now() - t0 < 20000);
    });
  } finally {
    await prom.stop();
    await exporter.stop();
    await target.stop();
  }
});

const REDIS_CONFIG = (port: number, section = "redis") =>
  `${section}:
  port: ${port}
  settings:
    maxmemory: {min: 1, max: 64, step: 1}
    maxmemory-policy: {values: [noeviction, allkeys-lru, allkeys-lfu]}
redis-benchmark:
  port: ${port}
  posts: 1000
  post_size: 2048
  posts_per_user: 100
  samples: 3
  fill_patterns: 200
  stable_window: 10
  stable_stdev: 8
`;

Deno.test("e2e redis + redis-benchmark: describe, adjust (redis-cli confirms), measure", async () => {
  requireBinary("redis-cli", "redis-tools");
  const redis = await startRedis();
  try {
    const state = {
      application: {
        components: {
          redis: {
            settings: { maxmemory: { value: 2 }, "maxmemory-policy": { value: "allkeys-lru" } },
          },
        },
      },
    };
    const svc = await withServo(
      {
        "config.yaml": REDIS_CONFIG(redis.port),
        adjust: "driver:redis",
        measure: "driver:redis-benchmark",
      },
      scripted([
        { cmd: "DESCRIBE", param: {} },
        { cmd: "ADJUST", param: { state, control: {} } },
        { cmd: "MEASURE", param: { metrics: ["hits", "perf"], control: {} } },
      ]),
      (svc) => svc.waitFor(completion("MEASUREMENT"), 25000, "MEASUREMENT"),
    );
    const desc = completions(svc, "DESCRIPTION")[0].param!;
    assert.equal(desc.status, "ok", JSON.stringify(desc));
    const d = desc.descriptor as {
      application: { components: { redis: { settings: Record<string, Record<string, unknown>> } } };
      measurement: { metrics: Record<string, unknown> };
    };
    assert.equal(d.application.components.redis.settings.maxmemory.value, 0);
    assert.equal(d.application.components.redis.settings["maxmemory-policy"].value, "noeviction");
    assert.ok("hit rate" in d.measurement.metrics);

    const adj = completions(svc, "ADJUSTMENT")[0].param!;
    assert.equal(adj.status, "ok", JSON.stringify(adj));
    assert.deepEqual(await redisCli(redis.port, "CONFIG", "GET", "maxmemory"), [
      "maxmemory",
      String(2 * 1024 * 1024),
    ]);
    assert.deepEqual(await redisCli(redis.port, "CONFIG", "GET", "maxmemory-policy"), [
      "maxmemory-policy",
      "allkeys-lru",
    ]);

    const m = completions(svc, "MEASUREMENT")[0].param!;
    assert.equal(m.status, undefined, JSON.stringify(m));
    const metrics = m.metrics as Metrics;
    assert.equal(metrics.hits.values![0].data.length, 3);
    assert.ok(metrics.perf.value! > 0 && metrics.perf.value! < 100, "the 2 MB cache misses some");
  } finally {
    await redis.stop();
  }
});

Deno.test("e2e redis errors: an off-grid value and a value Redis rejects reach the service", async () => {
  const redis = await startRedis();
  try {
    const adjust = (settings: Record<string, unknown>) => ({
      cmd: "ADJUST",
      param: { state: { application: { components: { redis: { settings } } } }, control: {} },
    });
    const config = REDIS_CONFIG(redis.port).replace("allkeys-lfu]", "allkeys-lfu, not-a-policy]");
    const svc = await withServo(
      { "config.yaml": config, adjust: "driver:redis", measure: "driver:redis-benchmark" },
      scripted([
        adjust({ maxmemory: { value: 2.5 } }),
        adjust({ maxmemory: { value: 3 }, "maxmemory-policy": { value: "not-a-policy" } }),
      ]),
      (svc) =>
        svc.waitFor(() => completions(svc, "ADJUSTMENT").length >= 2, 20000, "2 ADJUSTMENTs"),
    );
    const [offGrid, rejected] = completions(svc, "ADJUSTMENT").map((e) => e.param!);
    assert.equal(offGrid.status, "bad-request");
    assert.match(String(offGrid.message), /maxmemory.*not on the step grid/);
    assert.ok(!String(offGrid.message).includes("    at "), "no stack trace");
    assert.equal(rejected.status, "rejected");
    assert.match(String(rejected.message), /Redis rejected maxmemory-policy=not-a-policy/);
    assert.deepEqual(await redisCli(redis.port, "CONFIG", "GET", "maxmemory"), ["maxmemory", "0"]);
  } finally {
    await redis.stop();
  }
});

const SH_ADJUST = `#!/bin/sh
# A second adjust driver for agg: one component "app" with a "knob".
case "$1" in
  --info) echo '{"version": "sh 1.0", "has_cancel": false}'; exit 0 ;;
  --query|--describe)
    echo '{"application": {"components": {"app": {"settings": {"knob": {"type": "range", "min": 1, "max": 10, "step": 1, "value": 3}}}}}}'
    exit 0 ;;
esac
cat > "$PWD/knob.json"
echo '{"progress": 50, "message": "turning the knob"}'
echo '{"status": "ok", "reason": "success"}'
`;

Deno.test("e2e agg: redis and a shell adjust driver under one agg", async () => {
  const redis = await startRedis();
  try {
    const state = {
      application: {
        components: {
          redis: { settings: { "maxmemory-policy": { value: "allkeys-lfu" }, maxmemory: 8 } },
          app: { settings: { knob: { value: 7 } } },
        },
      },
    };
    let knob = "";
    const svc = await withServo(
      {
        // agg runs adjust.d/01redis with OPTUNE_DRIVER_NAME=01redis: it reads section "01redis"
        "config.yaml": REDIS_CONFIG(redis.port, "01redis"),
        adjust: "driver:agg",
        "adjust.d/01redis": "driver:redis",
        "adjust.d/02sh": SH_ADJUST,
        measure: "driver:redis-benchmark",
      },
      scripted([
        { cmd: "DESCRIBE", param: {} },
        { cmd: "ADJUST", param: { state, control: { userdata: { note: "x" } } } },
      ]),
      async (svc, dir) => {
        await svc.waitFor(completion("ADJUSTMENT"), 20000, "ADJUSTMENT");
        knob = await Deno.readTextFile(`${dir}/knob.json`);
      },
    );
    const d = completions(svc, "DESCRIPTION")[0].param!;
    assert.equal(d.status, "ok", JSON.stringify(d));
    const comps = (d.descriptor as { application: { components: Record<string, unknown> } })
      .application.components;
    assert.deepEqual(Object.keys(comps).sort(), ["app", "redis"]);

    const adj = completions(svc, "ADJUSTMENT")[0].param!;
    assert.equal(adj.status, "ok", JSON.stringify(adj));
    assert.deepEqual(await redisCli(redis.port, "CONFIG", "GET", "maxmemory-policy"), [
      "maxmemory-policy",
      "allkeys-lfu",
    ]);
    assert.deepEqual(await redisCli(redis.port, "CONFIG", "GET", "maxmemory"), [
      "maxmemory",
      String(8 * 1024 * 1024),
    ]);
    const shInput = JSON.parse(knob);
    assert.deepEqual(shInput.application.components, { app: { settings: { knob: { value: 7 } } } });
    const progress = svc.events("ADJUSTMENT").filter((e) => e.param && "progress" in e.param);
    assert.ok(progress.length >= 2, "agg relayed its children's progress");
  } finally {
    await redis.stop();
  }
});
