/** The local verbs for driver authors, run as `servo <verb>` child processes. */
import assert from "node:assert/strict";
import { selfCommand } from "../lib/self.ts";
import { FakeService } from "./fake_service.ts";
import { readPid, waitGone, writeFakeDriver } from "./helpers.ts";

async function servo(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const [cmd, ...rest] = selfCommand();
  const out = await new Deno.Command(cmd, { args: [...rest, ...args], cwd, env, stdin: "null" })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function servoDir(measure = "ok", adjust = "adjustok"): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "servo-verbs-" });
  await writeFakeDriver(dir, "measure", measure);
  await writeFakeDriver(dir, "adjust", adjust);
  return dir;
}

Deno.test("servo describe --json prints the DESCRIPTION param", async () => {
  const dir = await servoDir();
  try {
    const r = await servo(["describe", "--json"], dir, { OPTUNE_PERF: "perf" });
    assert.equal(r.code, 0, r.stderr);
    const reply = JSON.parse(r.stdout);
    assert.equal(reply.status, "ok");
    assert.deepEqual(Object.keys(reply.descriptor.application.components), ["web"]);
    assert.deepEqual(reply.descriptor.measurement.metrics.perf, { unit: "rps" });
    assert.deepEqual(reply.descriptor.optimization, { perf: "perf" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("servo measure --json and the table output", async () => {
  const dir = await servoDir();
  try {
    let r = await servo(["measure", "--duration", "1", "--json"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).metrics.latency.value, 7);
    assert.match(
      r.stderr,
      /measurement: \[ +50%\] \d+s half way/,
      "progress on stderr with --json",
    );
    r = await servo(["measure", "--duration", "1"], dir, {
      OPTUNE_PERF: "requests_throughput / latency",
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^requests throughput\s+123\.5 rps$/m);
    assert.match(r.stdout, /^perf\s+17\.64\d* \(OPTUNE_PERF\)$/m);
    assert.match(r.stderr, /measurement: \[ +50%\] \d+s half way/, "progress shown");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("servo measure with a failing driver exits 5 with the message", async () => {
  const dir = await servoDir("crash");
  try {
    const r = await servo(["measure"], dir);
    assert.equal(r.code, 5);
    assert.match(r.stderr, /servo measure: nodata.*ValueError: crashed/s);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("servo adjust comp.setting=value sends the state", async () => {
  const dir = await servoDir();
  try {
    const r = await servo(["adjust", "--json", "myapp", "web.cpu=1.5", "web.gc=G1GC"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      state: {
        application: {
          components: { web: { settings: { cpu: { value: 1.5 }, gc: { value: "G1GC" } } } },
        },
      },
      status: "ok",
      reason: "success",
    });
    const bad = await servo(["adjust", "myapp"], dir);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^usage: servo adjust/);
    const notObject = await servo(["adjust", "--control", "5", "web.cpu=1"], dir);
    assert.equal(notObject.code, 2);
    assert.match(notObject.stderr, /--control must be a JSON object/);
    // checked against the driver's --query first; the driver is not run
    await writeFakeDriver(dir, "adjust", "adjustok", { FAKE_INPUT_FILE: `${dir}/input` });
    const off = await servo(["adjust", "web.cpu=100", "web.bogus=1"], dir);
    assert.equal(off.code, 2, off.stderr);
    assert.match(off.stderr, /^servo adjust: web\.cpu=100: 100 is outside the range 0\.5\.\.4$/m);
    assert.match(
      off.stderr,
      /^servo adjust: web\.bogus=1: component "web" has no setting "bogus"/m,
    );
    assert.match(off.stderr, /nothing was changed/);
    const offJson = await servo(["adjust", "--json", "web.cpu=100"], dir);
    assert.equal(offJson.code, 2);
    assert.equal(JSON.parse(offJson.stdout).status, "bad-request");
    assert.equal(await exists(`${dir}/input`), false, "the adjust driver was not run");
    const unchecked = await servo(["adjust", "--no-check", "web.cpu=100"], dir);
    assert.equal(unchecked.code, 0, unchecked.stderr);
    assert.match(await Deno.readTextFile(`${dir}/input`), /"cpu":\{"value":100\}/);
    const stray = await servo(["adjust", "myapp", "web.cpu=1", "oops"], dir);
    assert.equal(stray.code, 2);
    assert.match(stray.stderr, /not COMPONENT\.SETTING=VALUE: oops \(the app id is myapp\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("servo check: a table of pass/fail, exit 1 on a failure", async () => {
  const dir = await servoDir();
  const svc = new FakeService(() => ({ status: "ok" }));
  try {
    let r = await servo(["check", "--no-auth", "--url", svc.url], dir, {
      OPTUNE_PERF: "requests_throughput / latency",
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^PASS {2}adjust --info/m);
    assert.match(r.stdout, /^PASS {2}describe +1 component\(s\), 2 setting\(s\), 3 metric\(s\)/m);
    assert.match(
      r.stdout,
      /^PASS {2}service +.* answers \(HTTP \d+ to a POST: credentials accepted\)/m,
    );
    assert.match(r.stdout, /all checks passed/);

    await Deno.remove(`${dir}/adjust`);
    r = await servo(["check", "--json", "--no-auth", "--url", svc.url], dir, {
      OPTUNE_PERF: "cost",
    });
    assert.equal(r.code, 1);
    const rep = JSON.parse(r.stdout);
    assert.equal(rep.ok, false);
    const byName = Object.fromEntries(
      rep.results.map((x: { check: string }) => [x.check, x]),
    );
    assert.equal(byName["adjust --info"].ok, false);
    assert.match(byName["adjust --info"].detail, /not found/);
    assert.equal(byName["measure --info"].ok, true);
    assert.deepEqual(byName.describe, {
      check: "describe",
      ok: false,
      detail: "not run: a driver's --info failed",
    });

    // what the agent would refuse or quietly change fails the check too
    await writeFakeDriver(dir, "adjust", "adjustok");
    await Deno.writeTextFile(`${dir}/environment`, "#!/bin/sh\necho '{}'\n");
    r = await servo(["check", "--no-auth", "--url", svc.url], dir, {
      OPTUNE_VERBOSE_STDERR: "Minimal",
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /^FAIL {2}environment +\.\/environment is not executable: run chmod \+x/m,
    );
    assert.match(r.stdout, /^FAIL {2}config +OPTUNE_VERBOSE_STDERR="Minimal" is not none/m);
  } finally {
    await svc.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("servo check: the service row fails on a wrong token behind a POST-only endpoint, on 404 and on 5xx", async () => {
  const dir = await servoDir();
  // as servo serve: a GET is 405 before the token is looked at; a POST checks it first
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/missing") return new Response("nothing here", { status: 404 });
    if (path === "/down") return new Response("maintenance", { status: 503 });
    if (req.method !== "POST") return new Response("use POST", { status: 405 });
    if (req.headers.get("authorization") !== "Bearer good") {
      return new Response("bad token", { status: 401 });
    }
    return new Response('{"message":"not an event"}', { status: 400 });
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    const row = async (url: string, token: string) => {
      await Deno.writeTextFile(`${dir}/token`, token);
      const r = await servo(["check", "--json", "--auth-token", `${dir}/token`, "--url", url], dir);
      return JSON.parse(r.stdout).results.find((x: { check: string }) => x.check === "service");
    };
    let s = await row(`${base}/servo`, "good\n");
    assert.equal(s.ok, true, s.detail);
    assert.match(s.detail, /answers \(HTTP 400 to a POST: credentials accepted\)/);
    s = await row(`${base}/servo`, "wrong\n");
    assert.equal(s.ok, false);
    assert.match(s.detail, /rejected the credentials \(HTTP 401\)/);
    s = await row(`${base}/missing`, "good\n");
    assert.equal(s.ok, false);
    assert.match(s.detail, /^nothing at .* \(HTTP 404\)/);
    s = await row(`${base}/down`, "good\n");
    assert.equal(s.ok, false);
    assert.match(s.detail, /answers HTTP 503: the service has a problem/);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Start `servo ARGS` in dir; returns the child (stdout/stderr piped). */
function spawnServo(args: string[], cwd: string, env: Record<string, string> = {}) {
  const [cmd, ...rest] = selfCommand();
  return new Deno.Command(cmd, {
    args: [...rest, ...args],
    cwd,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

Deno.test("local verbs stopped by a signal stop the driver's process group, exit 128+n", async () => {
  // Drivers lead their own process groups, so a Ctrl-C or a closed terminal
  // never reaches them: the verb has to stop them.
  const cases: [string, string[], "adjust" | "measure", string, Deno.Signal, number][] = [
    ["measure", ["measure"], "measure", "hang", "SIGHUP", 129],
    [
      "check",
      ["check", "--no-auth", "--url", "http://127.0.0.1:9/"],
      "adjust",
      "infohang",
      "SIGINT",
      130,
    ],
    ["adjust", ["adjust", "web.cpu=1"], "adjust", "hang", "SIGTERM", 143],
  ];
  for (const [verb, args, role, mode, signal, code] of cases) {
    const dir = await servoDir();
    try {
      const pidfile = `${dir}/pid`;
      await writeFakeDriver(dir, role, mode, { FAKE_PIDFILE: pidfile });
      const child = spawnServo(args, dir);
      const pid = await readPid(pidfile, 20_000);
      child.kill(signal);
      const out = await child.output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, code, `${verb}: ${stderr}`);
      assert.match(
        stderr,
        new RegExp(`servo ${verb}: interrupted by ${signal}; the driver was stopped`),
      );
      assert.ok(await waitGone(pid), `${verb}: the driver's group was stopped`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});
