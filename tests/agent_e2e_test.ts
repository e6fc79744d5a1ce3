/**
 * The agent end to end: main.ts run through selfCommand() (the shipped
 * permission set) against a fake service on 127.0.0.1 and fake drivers.
 */
import assert from "node:assert/strict";
import { type Answer, FakeService, type Handler, type Received, scripted } from "./fake_service.ts";
import { type AgentProcess, readPid, startAgent, waitGone, writeFakeDriver } from "./helpers.ts";

const TOKEN = "tok-SECRET-e2e-4711";

interface Ctx {
  dir: string;
  svc: FakeService;
  agent: AgentProcess;
}

/** Set up a temp dir with drivers, a fake service and the agent; clean up after `fn`. */
async function withAgent(
  opts: {
    handler: Handler;
    measure?: string;
    adjust?: string;
    environment?: string;
    driverEnv?: Record<string, string>;
    env?: Record<string, string>;
    args?: string[];
    config?: string;
    stdin?: "piped" | "null";
  },
  fn: (c: Ctx) => Promise<void>,
): Promise<{ code: number; stderr: string; stdout: string }> {
  const dir = await Deno.makeTempDir({ prefix: "servo-e2e-" });
  const svc = new FakeService(opts.handler);
  let agent: AgentProcess | undefined;
  try {
    await writeFakeDriver(dir, "measure", opts.measure ?? "ok", opts.driverEnv);
    await writeFakeDriver(dir, "adjust", opts.adjust ?? "adjustok", opts.driverEnv);
    await writeFakeDriver(dir, "environment", opts.environment ?? "envok", opts.driverEnv);
    await Deno.writeTextFile(`${dir}/token`, `  ${TOKEN}\n`);
    if (opts.config !== undefined) await Deno.writeTextFile(`${dir}/config.yaml`, opts.config);
    agent = startAgent(
      opts.args ?? ["--url", svc.url, "--auth-token", `${dir}/token`, "app1"],
      { cwd: dir, env: opts.env, stdin: opts.stdin },
    );
    await fn({ dir, svc, agent });
    const res = await withTimeout(agent.done, 20000, "agent exit");
    assert.ok(!res.stderr.includes(TOKEN), "the token never appears in the output");
    assert.ok(!res.stdout.includes(TOKEN));
    return res;
  } catch (err) {
    if (agent) {
      try {
        agent.child.kill("SIGKILL");
      } catch {
        // gone
      }
      const res = await agent.done;
      console.error(`agent stderr:\n${res.stderr}`);
    }
    throw err;
  } finally {
    await svc.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((
        _,
        rej,
      ) => (t = setTimeout(() => rej(new Error(`timeout: ${what}`)), ms))),
    ]);
  } finally {
    clearTimeout(t);
  }
}

/** The log messages of a JSON-lines stderr, with the quotes LogTape puts around values removed. */
function messages(stderr: string): string {
  return stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => {
    try {
      return String(JSON.parse(l).message).replaceAll('"', "");
    } catch {
      return l;
    }
  }).join("\n");
}

const has = (name: string, n = 1) => (r: Received[]) =>
  r.filter((e) => e.event === name).length >= n;
const completion = (name: string) => (r: Received[]) =>
  r.some((e) => e.event === name && e.param !== null && !("progress" in e.param));
const completions = (svc: FakeService, name: string) =>
  svc.events(name).filter((e) => e.param && !("progress" in e.param));

Deno.test("agent: HELLO, DESCRIBE, MEASURE, ADJUST, SIGTERM -> GOODBYE: full protocol shapes", async () => {
  const state = { application: { components: { web: { settings: { cpu: { value: 2 } } } } } };
  let svcRef: FakeService | undefined;
  const res = await withAgent({
    handler: scripted([
      { cmd: "DESCRIBE", param: {}, cmd_uid: "u1" },
      { cmd: "MEASURE", param: { metrics: ["latency"], control: { duration: 1 } }, cmd_uid: "u2" },
      { cmd: "ADJUST", param: { state, control: { settlement: 5 } } },
    ]),
    env: { OPTUNE_PERF: "requests_throughput / latency" },
  }, async ({ svc, agent }) => {
    svcRef = svc;
    await svc.waitFor(completion("ADJUSTMENT"), 15000, "ADJUSTMENT");
    agent.child.kill("SIGTERM");
    await svc.waitFor(has("GOODBYE"), 10000, "GOODBYE");
  });
  const svc = svcRef!;
  assert.equal(res.code, 0);
  const hello = svc.events("HELLO")[0];
  assert.deepEqual(hello.param, { agent: "github.com/opsani/servo" });
  assert.equal(hello.auth, `Bearer ${TOKEN}`, "token read from the file, whitespace stripped");

  const desc = svc.events("DESCRIPTION")[0].param!;
  assert.equal(desc.status, "ok");
  assert.equal(desc.cmd_uid, "u1");
  const d = desc.descriptor as Record<string, Record<string, unknown>>;
  assert.deepEqual(Object.keys(d.application), ["components"], "application passed unchanged");
  const metrics = (d.measurement as Record<string, Record<string, unknown>>).metrics;
  assert.deepEqual(metrics.perf, { unit: "rps" }, "perf alias of requests throughput");
  assert.deepEqual(d.optimization, { perf: "requests_throughput / latency" });
  assert.ok(!("monitoring" in d));

  const meas = svc.events("MEASUREMENT");
  assert.deepEqual(meas[0].param, {
    progress: 0,
    runtime: 0,
    message: "starting driver",
    cmd_uid: "u2",
  });
  assert.equal(meas[1].param!.progress, 50);
  assert.equal(meas[1].param!.message, "half way");
  assert.equal(typeof meas[1].param!.runtime, "number");
  assert.equal(meas[1].param!.cmd_uid, "u2");
  const mdone = meas[2].param!;
  assert.equal(mdone.status, undefined, "MEASUREMENT success has no status (v1)");
  assert.equal(mdone.cmd_uid, "u2");
  assert.deepEqual((mdone.metrics as Record<string, unknown>).perf, { value: 123.5, unit: "rps" });
  assert.deepEqual(mdone.annotations, { cmd: "fake" });

  const adj = completions(svc, "ADJUSTMENT")[0].param!;
  assert.deepEqual(adj, { state, status: "ok", reason: "success" });
  assert.deepEqual(svc.events("GOODBYE")[0].param, { reason: "SIGTERM" });
});

Deno.test("agent: adjust driver gets state + control on stdin; failures carry stderr", async () => {
  const dir0 = await Deno.makeTempDir();
  const input = `${dir0}/adjust-in.json`;
  let svcRef: FakeService | undefined;
  const state = { application: { components: { web: { settings: { cpu: { value: 1.5 } } } } } };
  try {
    await withAgent({
      handler: scripted([
        { cmd: "MEASURE" },
        { cmd: "ADJUST", param: { state, control: { timeout: 30 } } },
        { cmd: "ADJUST", param: { state } },
      ]),
      adjust: "adjustok",
      measure: "crash",
      driverEnv: { FAKE_INPUT_FILE: input },
      env: { OPTUNE_VERBOSE_STDERR: "minimal" },
    }, async ({ svc, agent }) => {
      svcRef = svc;
      await svc.waitFor(() => completions(svc, "ADJUSTMENT").length >= 2, 15000, "ADJUSTMENTs");
      agent.child.kill("SIGINT");
      await svc.waitFor(has("GOODBYE"), 10000, "GOODBYE");
    });
    const svc = svcRef!;
    // the last ADJUST had no control: {} is sent
    assert.deepEqual(JSON.parse(await Deno.readTextFile(input)), { ...state, control: {} });
    assert.equal(completions(svc, "ADJUSTMENT").length, 2);
    const m = completions(svc, "MEASUREMENT")[0].param!;
    assert.equal(m.status, "nodata");
    assert.equal(m.reason, "undefined");
    assert.match(
      m.message as string,
      /^DriverError: Measurement driver failed with status "nodata" and message:\n.*\nstderr:\nTraceback \(most recent call last\):\n {2}boom line 1$/s,
    );
    assert.deepEqual(svc.events("GOODBYE")[0].param, { reason: "SIGINT" });
  } finally {
    await Deno.remove(dir0, { recursive: true });
  }
});

Deno.test("agent: cancel from a progress reply is reported cancelled with the reason", async () => {
  let svcRef: FakeService | undefined;
  await withAgent({
    handler: scripted([{ cmd: "MEASURE", param: {} }], {
      progressReply: (ev) =>
        (ev.param!.progress as number) >= 10
          ? { status: "cancel", reason: "optimization stopped" }
          : { status: "ok" },
    }),
    measure: "slow",
    driverEnv: { FAKE_STEPS: "100" },
  }, async ({ svc, agent }) => {
    svcRef = svc;
    await svc.waitFor(completion("MEASUREMENT"), 15000, "MEASUREMENT");
    agent.child.kill("SIGTERM");
  });
  const m = completions(svcRef!, "MEASUREMENT")[0].param!;
  assert.equal(m.status, "cancelled");
  assert.equal(m.reason, "optimization stopped");
  assert.equal(m.message, "Exiting due to signal: 10");
});

Deno.test("agent: SIGTERM during a hanging driver stops its group, no completion", async () => {
  const dir0 = await Deno.makeTempDir();
  const pidfile = `${dir0}/pid`;
  let svcRef: FakeService | undefined;
  try {
    const res = await withAgent({
      handler: scripted([{ cmd: "MEASURE", param: {} }]),
      measure: "hang",
      driverEnv: { FAKE_PIDFILE: pidfile },
    }, async ({ svc, agent }) => {
      svcRef = svc;
      await svc.waitFor(has("MEASUREMENT", 2), 15000, "driver progress");
      const pid = await readPid(pidfile);
      const t0 = Date.now();
      agent.child.kill("SIGTERM");
      await svc.waitFor(has("GOODBYE"), 10000, "GOODBYE");
      assert.ok(Date.now() - t0 < 5000);
      assert.ok(await waitGone(pid), "the driver's group was stopped");
    });
    assert.equal(res.code, 0);
    assert.equal(completions(svcRef!, "MEASUREMENT").length, 0);
    assert.deepEqual(svcRef!.events("GOODBYE")[0].param, { reason: "SIGTERM" });
  } finally {
    await Deno.remove(dir0, { recursive: true });
  }
});

Deno.test("agent: OPTUNE_IO_TIMEOUT stops a silent driver and reports failed", async () => {
  let svcRef: FakeService | undefined;
  await withAgent({
    handler: scripted([{ cmd: "MEASURE", param: {} }]),
    measure: "hang",
    env: { OPTUNE_IO_TIMEOUT: "1" },
  }, async ({ svc, agent }) => {
    svcRef = svc;
    await svc.waitFor(completion("MEASUREMENT"), 15000, "MEASUREMENT");
    agent.child.kill("SIGTERM");
  });
  const m = completions(svcRef!, "MEASUREMENT")[0].param!;
  assert.equal(m.status, "failed");
  assert.match(
    m.message as string,
    /^timed out waiting for child process \(.*measure app1\) output/,
  );
});

Deno.test("agent: SIGUSR1 finishes the current command, then GOODBYE exit", async () => {
  let svcRef: FakeService | undefined;
  const res = await withAgent({
    handler: scripted([{ cmd: "MEASURE", param: {} }]),
    measure: "slow",
    driverEnv: { FAKE_STEPS: "6" },
  }, async ({ svc, agent }) => {
    svcRef = svc;
    await svc.waitFor(has("MEASUREMENT", 2), 15000, "progress");
    agent.child.kill("SIGUSR1");
    await svc.waitFor(has("GOODBYE"), 10000, "GOODBYE");
  });
  assert.equal(res.code, 0);
  const svc = svcRef!;
  const done = completions(svc, "MEASUREMENT");
  assert.equal(done.length, 1);
  assert.deepEqual(done[0].param, { metrics: { perf: { value: 1 } } });
  assert.deepEqual(svc.events("GOODBYE")[0].param, { reason: "exit" });
  assert.equal(svc.events("WHATS_NEXT").length, 1, "no command after the stop");
});

Deno.test("agent: the debugger Deno opens on SIGUSR1 is closed at once", async () => {
  // Deno >= 2.9.2 starts its inspector on 127.0.0.1:9229 at SIGUSR1 (after a
  // 500 ms grace period from start); the agent closes it.
  const refused = async () => {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port: 9229 })).close();
      return false;
    } catch {
      return true;
    }
  };
  const res = await withAgent({
    handler: scripted([{ cmd: "MEASURE", param: {} }]),
    measure: "slow",
    driverEnv: { FAKE_STEPS: "15" },
  }, async ({ svc, agent }) => {
    await svc.waitFor(has("MEASUREMENT", 2), 15000, "progress");
    await new Promise((r) => setTimeout(r, 800));
    agent.child.kill("SIGUSR1");
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(await refused(), "nothing listens on 127.0.0.1:9229 while the command finishes");
    await svc.waitFor(has("GOODBYE"), 10000, "GOODBYE");
  });
  assert.equal(res.code, 0);
  if (/Debugger listening/.test(res.stderr)) {
    assert.match(res.stderr, /SIGUSR1 made the Deno runtime open its debugger .*: closed it/);
  }
});

Deno.test("agent: SIGHUP -> GOODBYE restart, config reloaded, HELLO again", async () => {
  let svcRef: FakeService | undefined;
  const res = await withAgent({
    handler: scripted([], { idle: { cmd: "SLEEP", param: { duration: 60 } } }),
    config: "servo:\n  agent: first\n  verbose: true\n  log_format: text\n",
  }, async ({ svc, agent, dir }) => {
    svcRef = svc;
    await svc.waitFor(has("WHATS_NEXT"), 15000, "WHATS_NEXT");
    await Deno.writeTextFile(`${dir}/config.yaml`, "servo:\n  agent: second\n");
    agent.child.kill("SIGHUP");
    await svc.waitFor(has("HELLO", 2), 10000, "second HELLO");
    await svc.waitFor(has("WHATS_NEXT", 2), 10000, "WHATS_NEXT after restart");
    agent.child.kill("SIGTERM");
    await svc.waitFor(has("GOODBYE", 2), 10000, "GOODBYE");
  });
  const ev = svcRef!.received.map((r) => r.event);
  assert.deepEqual(ev, ["HELLO", "WHATS_NEXT", "GOODBYE", "HELLO", "WHATS_NEXT", "GOODBYE"]);
  const r = svcRef!.received;
  assert.deepEqual(r[0].param, { agent: "first" });
  assert.deepEqual(r[2].param, { reason: "restart" });
  assert.deepEqual(r[3].param, { agent: "second" });
  assert.deepEqual(r[5].param, { reason: "SIGTERM" });
  // the reloaded config turned verbose text logging back off: JSON lines, no debug
  const [before, after] = res.stderr.split("Configuration and token reloaded");
  assert.match(before, /\[DBG\].*Effective settings/);
  assert.ok(after !== undefined, res.stderr);
  const later = after.split("\n").slice(1).filter((l) => l.trim() !== "");
  assert.ok(later.length > 0);
  for (const line of later) assert.equal(JSON.parse(line).level === "DEBUG", false, line);
});

Deno.test("agent: SIGTERM while the restart GOODBYE hangs ends the agent (no second HELLO)", async () => {
  let svcRef: FakeService | undefined;
  const base = scripted([], { idle: { cmd: "SLEEP", param: { duration: 60 } } });
  let exitMs = Infinity;
  const res = await withAgent({
    // the service takes 4 s to answer GOODBYE
    handler: (ev, all) =>
      ev.event === "GOODBYE"
        ? new Promise((r) => setTimeout(() => r({ status: "ok" }), 4000))
        : base(ev, all),
  }, async ({ svc, agent }) => {
    svcRef = svc;
    await svc.waitFor(has("WHATS_NEXT"), 15000, "WHATS_NEXT");
    agent.child.kill("SIGHUP");
    await svc.waitFor(has("GOODBYE"), 10000, "GOODBYE restart");
    const t0 = Date.now();
    agent.child.kill("SIGTERM");
    await withTimeout(agent.done, 8000, "exit after SIGTERM").catch(() => {});
    exitMs = Date.now() - t0;
    try {
      agent.child.kill("SIGKILL"); // when it did not exit
    } catch { /* exited */ }
  });
  assert.equal(res.code, 0);
  assert.ok(exitMs < 3000, `did not wait for the slow GOODBYE (exited after ${exitMs} ms)`);
  assert.deepEqual(svcRef!.received.map((r) => r.event), ["HELLO", "WHATS_NEXT", "GOODBYE"]);
  assert.deepEqual(svcRef!.received[2].param, { reason: "restart" });
});

Deno.test("agent: service failures (503, non-JSON, slow) are retried and the agent carries on", async () => {
  let n = 0;
  let svcRef: FakeService | undefined;
  const handler: Handler = async (ev): Promise<Answer> => {
    n++;
    if (ev.event === "HELLO" && n === 1) {
      return new Response(JSON.stringify({ message: "maintenance" }), { status: 503 });
    }
    if (ev.event === "WHATS_NEXT" && n === 3) return new Response("<html>oops</html>");
    if (ev.event === "WHATS_NEXT" && n === 4) {
      await new Promise((r) => setTimeout(r, 1500)); // longer than http_timeout
      return { cmd: "SLEEP", param: { duration: 0 } };
    }
    if (ev.event === "WHATS_NEXT" && n === 5) return { cmd: "MEASURE", param: {} };
    if (ev.event === "WHATS_NEXT") return { cmd: "SLEEP", param: { duration: 60 } };
    if (ev.event === "MEASUREMENT" && ev.param && !("progress" in ev.param) && n < 10) {
      return new Response("bad gateway", { status: 502 });
    }
    return { status: "ok" };
  };
  const res = await withAgent(
    { handler, config: "servo:\n  http_timeout: 1\n" },
    async ({ svc, agent }) => {
      svcRef = svc;
      await svc.waitFor(
        () => completions(svc, "MEASUREMENT").length >= 2,
        20000,
        "MEASUREMENT retried",
      );
      agent.child.kill("SIGTERM");
      await svc.waitFor(has("GOODBYE"), 10000, "GOODBYE");
    },
  );
  assert.equal(res.code, 0);
  const done = completions(svcRef!, "MEASUREMENT");
  assert.deepEqual(done[0].param, done[1].param, "the same completion was retried after a 502");
  assert.ok(done[0].param!.metrics, "the MEASURE itself succeeded");
  assert.match(
    messages(res.stderr),
    /HELLO failed: HTTP 503: maintenance\. Waiting 0\.1 seconds to retry/,
  );
  assert.match(messages(res.stderr), /WHATS_NEXT failed: the response to WHATS_NEXT is not JSON/);
  assert.match(messages(res.stderr), /no answer from .* within 1 s/);
  assert.match(messages(res.stderr), /MEASUREMENT failed: HTTP 502: bad gateway/);
});

Deno.test("agent: connection refused at start is retried until the service comes up", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const dir = await Deno.makeTempDir();
  const agent = startAgent(["--url", `http://127.0.0.1:${port}/servo`, "--no-auth", "app"], {
    cwd: dir,
  });
  let server: Deno.HttpServer | undefined;
  try {
    await new Promise((r) => setTimeout(r, 1500));
    const seen: string[] = [];
    let got!: () => void;
    const hello = new Promise<void>((r) => (got = r));
    server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
      const b = await req.json();
      seen.push(b.event);
      assert.equal(req.headers.get("authorization"), null, "--no-auth sends no header");
      if (b.event === "HELLO") got();
      return Response.json(
        b.event === "WHATS_NEXT" ? { cmd: "SLEEP", param: { duration: 60 } } : {},
      );
    });
    await withTimeout(hello, 15000, "HELLO after the service came up");
    agent.child.kill("SIGTERM");
    const res = await withTimeout(agent.done, 15000, "exit");
    assert.equal(res.code, 0);
    assert.match(messages(res.stderr), /HELLO failed: cannot connect to/);
    assert.equal(seen[seen.length - 1], "GOODBYE");
  } finally {
    try {
      agent.child.kill("SIGKILL");
    } catch { /* gone */ }
    await agent.done;
    await server?.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("agent: missing cmd and unknown cmd are logged and paused, missing param is {}", async () => {
  let svcRef: FakeService | undefined;
  const res = await withAgent({
    handler: scripted([{ nothing: true }, { cmd: "DANCE" }, { cmd: "MEASURE" }]),
    env: { SERVO_RETRY_DELAY_SEC: "0.3" },
  }, async ({ svc, agent }) => {
    svcRef = svc;
    await svc.waitFor(completion("MEASUREMENT"), 15000, "MEASUREMENT");
    agent.child.kill("SIGTERM");
  });
  const svc = svcRef!;
  const wn = svc.events("WHATS_NEXT");
  assert.ok(wn[1].time - wn[0].time >= 250, "a pause after a missing cmd");
  assert.ok(wn[2].time - wn[1].time >= 250, "a pause after an unknown cmd");
  assert.ok(completions(svc, "MEASUREMENT")[0].param!.metrics, "MEASURE without param ran");
  assert.match(messages(res.stderr), /Unexpected response to WHATS_NEXT/);
  assert.match(messages(res.stderr), /Unknown command/);
});

Deno.test("agent: a WHATS_NEXT answer that is not an object is logged as it was", async () => {
  const base = scripted([{ cmd: "MEASURE" }]);
  let n = 0;
  const res = await withAgent({
    handler: (ev, all) =>
      ev.event === "WHATS_NEXT" && n++ === 0
        ? Response.json(["not", "an", "object"])
        : base(ev, all),
    env: { SERVO_RETRY_DELAY_SEC: "0.3" },
  }, async ({ svc, agent }) => {
    await svc.waitFor(completion("MEASUREMENT"), 15000, "MEASUREMENT");
    agent.child.kill("SIGTERM");
  });
  assert.match(
    messages(res.stderr),
    /The response to WHATS_NEXT is not a JSON object: \[.*not.*an.*object.*\]/,
  );
  assert.match(messages(res.stderr), /Unexpected response to WHATS_NEXT/);
});

Deno.test("agent: environment pre-flight mismatch skips the command", async () => {
  let svcRef: FakeService | undefined;
  await withAgent({
    handler: scripted([
      { cmd: "MEASURE", param: { control: { environment: { mode: "canary" } } } },
      { cmd: "ADJUST", param: { state: {}, control: { environment: null } } },
    ]),
    environment: "envbad",
  }, async ({ svc, agent }) => {
    svcRef = svc;
    await svc.waitFor(completion("ADJUSTMENT"), 15000, "ADJUSTMENT");
    agent.child.kill("SIGTERM");
  });
  const svc = svcRef!;
  const m = completions(svc, "MEASUREMENT")[0].param!;
  assert.equal(m.status, "environment-mismatch");
  assert.match(m.message as string, /mode is canary/);
  assert.equal(svc.events("MEASUREMENT").length, 1, "the driver was not run");
  assert.equal(completions(svc, "ADJUSTMENT")[0].param!.status, "ok", "null environment: no check");
});

Deno.test("agent: a bad OPTUNE_PERF stops before any request", async () => {
  const res = await withAgent({
    handler: scripted([]),
    env: { OPTUNE_PERF: "throughput /" },
  }, async () => {});
  assert.equal(res.code, 3);
  const lines = res.stderr.trim().split("\n");
  assert.equal(lines.length, 1, res.stderr);
  assert.match(lines[0], /^servo: OPTUNE_PERF does not parse/);
});

Deno.test("agent: an OPTUNE_PERF only the service evaluates (PROTOCOL 1.10's example) is sent, with a warning", async () => {
  const perf = "opsani.time_slo(canary_median_response_time, target=100)";
  let svcRef: FakeService | undefined;
  const res = await withAgent({
    handler: scripted([{ cmd: "DESCRIBE", param: {} }]),
    env: { OPTUNE_PERF: perf },
  }, async ({ svc, agent }) => {
    svcRef = svc;
    await svc.waitFor(has("DESCRIPTION"), 15000, "DESCRIPTION");
    agent.child.kill("SIGTERM");
  });
  assert.equal(res.code, 0);
  const desc = svcRef!.events("DESCRIPTION")[0].param!;
  assert.deepEqual((desc.descriptor as Record<string, unknown>).optimization, { perf });
  assert.match(res.stderr, /OPTUNE_PERF goes beyond servo's numeric formulas \(unexpected/);
  assert.match(res.stderr, /member access is not permitted\): servo cannot evaluate it/);
});

Deno.test("agent: start-up errors: token file, config.yaml syntax, usage, 401", async () => {
  const dir = await Deno.makeTempDir();
  const svc = new FakeService(() => new Response('{"message":"bad token"}', { status: 401 }));
  try {
    const run = async (args: string[]) => await startAgent(args, { cwd: dir }).done;
    let r = await run(["--url", svc.url, "--auth-token", `${dir}/nope`, "app"]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, new RegExp(`^servo: ${dir}/nope: cannot read the auth token file`));
    assert.ok(!r.stderr.includes("    at "), "no stack trace");

    r = await run(["app"]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /Optune account is not specified/);

    r = await run(["--bogus"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^usage: servo \[-h\]/);

    r = await run(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--auth-token AUTH_TOKEN/);

    await Deno.writeTextFile(`${dir}/token`, TOKEN);
    r = await run(["--url", svc.url, "--auth-token", `${dir}/token`, "app"]);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /rejected the credentials for HELLO \(HTTP 401: bad token\)/);
    assert.ok(!r.stderr.includes(TOKEN));

    await Deno.writeTextFile(`${dir}/config.yaml`, "servo:\n  url: [unclosed\n");
    r = await run(["--no-auth", "--account", "a", "app"]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /config\.yaml:\d+:\d+: invalid YAML/);
  } finally {
    await svc.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("agent: --verbose logs the effective settings with the token redacted", async () => {
  const dir = await Deno.makeTempDir();
  const svc = new FakeService(scripted([], { idle: { cmd: "SLEEP", param: { duration: 60 } } }));
  try {
    await Deno.writeTextFile(`${dir}/token`, TOKEN);
    const a = startAgent(
      ["-v", "--url", svc.url, "--auth-token", `${dir}/token`, "--log-format", "json", "app"],
      { cwd: dir },
    );
    await svc.waitFor(has("WHATS_NEXT"), 15000, "WHATS_NEXT");
    a.child.kill("SIGTERM");
    const r = await a.done;
    assert.equal(r.code, 0);
    const settings = r.stderr.split("\n").filter((l) => l.includes("Effective settings"));
    assert.equal(settings.length, 1);
    const rec = JSON.parse(settings[0]);
    assert.equal(rec.properties.settings.url, svc.url);
    assert.match(rec.properties.settings.auth, /\(redacted\)/);
    assert.ok(!r.stderr.includes(TOKEN));
    assert.match(messages(r.stderr), /Sending HELLO/);
  } finally {
    await svc.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("agent: --interactive with stdin closed warns and honours SLEEP (no tight loop)", async () => {
  let svcRef: FakeService | undefined;
  const res = await withAgent({
    handler: scripted([], { idle: { cmd: "SLEEP", param: { duration: 1 } } }),
    config: "servo:\n  interactive: true\n", // like -i; stdin is /dev/null
  }, async ({ svc, agent }) => {
    svcRef = svc;
    await svc.waitFor(has("WHATS_NEXT"), 15000, "WHATS_NEXT");
    await new Promise((r) => setTimeout(r, 2500));
    agent.child.kill("SIGTERM");
  });
  assert.equal(res.code, 0);
  const n = svcRef!.events("WHATS_NEXT").length;
  assert.ok(n >= 2 && n <= 5, `one WHATS_NEXT per SLEEP of 1 s, got ${n} in 2.5 s`);
  assert.match(res.stderr, /stdin is closed: --interactive goes on without prompts/);
});

Deno.test("agent: --interactive waits for Enter before HELLO, after a skipped SLEEP and before each reply", async () => {
  const dir = await Deno.makeTempDir();
  const svc = new FakeService(
    scripted([{ cmd: "SLEEP", param: { duration: 600 } }, { cmd: "MEASURE" }]),
  );
  await writeFakeDriver(dir, "measure", "ok");
  const a = startAgent(["-i", "--url", svc.url, "--no-auth", "app"], { cwd: dir, stdin: "piped" });
  const w = a.child.stdin.getWriter();
  try {
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(svc.received.length, 0, "nothing sent before Enter");
    await w.write(new TextEncoder().encode("\n"));
    await svc.waitFor(has("HELLO"), 10000, "HELLO");
    await svc.waitFor(has("WHATS_NEXT"), 10000, "WHATS_NEXT");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(
      svc.events("WHATS_NEXT").length,
      1,
      "the skipped SLEEP is followed by a prompt (v1)",
    );
    await w.write(new TextEncoder().encode("\n"));
    await svc.waitFor(has("MEASUREMENT", 2), 10000, "MEASURE after a skipped SLEEP");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(completions(svc, "MEASUREMENT").length, 0, "reply waits for Enter");
    await w.write(new TextEncoder().encode("\n"));
    await svc.waitFor(completion("MEASUREMENT"), 10000, "MEASUREMENT");
    a.child.kill("SIGTERM");
    const r = await a.done;
    assert.match(r.stdout, /Press <Enter> to continue\.\.\./);
  } finally {
    await w.close().catch(() => {});
    try {
      a.child.kill("SIGKILL");
    } catch { /* gone */ }
    await a.done;
    await svc.close();
    await Deno.remove(dir, { recursive: true });
  }
});
