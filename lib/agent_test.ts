import assert from "node:assert/strict";
import { Agent, type AgentOptions, sleepSeconds, withPerfAlias } from "./agent.ts";
import type { DriverRole, DriverSpec } from "./config.ts";
import type { DriverOutcome, DriverRunner, DriverRunOptions } from "./driver.ts";
import { compileFormula } from "./formula.ts";
import type { EventName } from "./protocol.ts";
import type { RequestOptions, Service } from "./service.ts";

const spec = (role: DriverRole): DriverSpec => ({ role, name: `./${role}`, argv: [`./${role}`] });

function outcome(o: Partial<DriverOutcome> = {}): DriverOutcome {
  return {
    name: "./d",
    argv: ["./d"],
    response: { status: "nodata" },
    exitCode: 0,
    exitSignal: null,
    stderr: "",
    stderrTruncated: false,
    timedOut: false,
    killedStuck: false,
    aborted: false,
    ...o,
  };
}

interface Sent {
  event: EventName;
  param: Record<string, unknown> | null;
  kind: string;
}

class FakeService implements Service {
  sent: Sent[] = [];
  constructor(
    public answer: (s: Sent) => Record<string, unknown> | Promise<Record<string, unknown>> =
      () => ({}),
  ) {}
  async request(event: EventName, param: Record<string, unknown> | null, opts: RequestOptions) {
    const s = { event, param, kind: opts.kind };
    this.sent.push(s);
    return await this.answer(s);
  }
}

class FakeDrivers implements DriverRunner {
  runs: DriverRunOptions[] = [];
  constructor(public script: (o: DriverRunOptions) => DriverOutcome | Promise<DriverOutcome>) {}
  info() {
    return Promise.resolve({ version: "1", has_cancel: true });
  }
  async run(o: DriverRunOptions) {
    this.runs.push(o);
    return await this.script(o);
  }
}

function makeAgent(
  svc: Service,
  drivers: DriverRunner,
  extra: Partial<Omit<AgentOptions, "config">> & { config?: Partial<AgentOptions["config"]> } = {},
) {
  let t = 1_000_000;
  return new Agent({
    service: svc,
    drivers,
    now: () => (t += 1500),
    sleep: () => Promise.resolve(),
    ...extra,
    config: {
      appId: "app",
      agent: "tester",
      interactive: false,
      delay: 0,
      verboseStderr: "all",
      retryDelay: 1,
      perf: undefined,
      drivers: {
        adjust: spec("adjust"),
        measure: spec("measure"),
        environment: spec("environment"),
      },
      ...extra.config,
    },
  });
}

const QUERY = {
  application: {
    components: { web: { settings: { cpu: { value: 1, min: 0, max: 2, step: 1 } } } },
  },
  monitoring: { x: 1 },
};

Deno.test("describe merges query and describe; perf alias; optimization.perf", async () => {
  const drivers = new FakeDrivers((o) =>
    outcome({
      response: o.args[0] === "--query"
        ? QUERY
        : { status: "ok", metrics: { "requests throughput": { unit: "rps" } } },
    })
  );
  const agent = makeAgent(new FakeService(), drivers, {
    config: { perf: "perf / 2" },
    formula: compileFormula("perf / 2"),
  });
  const r = await agent.describe({});
  assert.deepEqual(r, {
    status: "ok",
    descriptor: {
      application: QUERY.application,
      measurement: {
        metrics: { "requests throughput": { unit: "rps" }, perf: { unit: "rps" } },
      },
      optimization: { perf: "perf / 2" },
    },
  });
  assert.deepEqual(drivers.runs.map((r) => r.args), [["--query", "app"], ["--describe", "app"]]);
});

Deno.test("describe failures name the driver, status and message", async () => {
  let drivers = new FakeDrivers(() =>
    outcome({ exitCode: 1, response: { status: "failed", message: "no kube" } })
  );
  let r = await makeAgent(new FakeService(), drivers, { config: { verboseStderr: "none" } })
    .describe();
  assert.deepEqual(r, {
    status: "failed",
    message: 'Adjust driver failed with status "failed" and message "no kube"',
  });
  drivers = new FakeDrivers((o) =>
    o.args[0] === "--query"
      ? outcome({ response: QUERY })
      : outcome({ response: { status: "failed", message: "no prom" } })
  );
  r = await makeAgent(new FakeService(), drivers).describe();
  assert.equal(r.message, 'Measure driver failed with status "failed" and message "no prom"');
});

Deno.test("measure: synthetic start, progress with runtime and cmd_uid, result shape", async () => {
  const svc = new FakeService();
  const drivers = new FakeDrivers(async (o) => {
    await o.onProgress!({ progress: 40, message: "warming", stage: "x" });
    await o.onProgress!({ progress: 60, message: null });
    return outcome({
      response: { status: "ok", metrics: { "requests throughput": { value: 5 } }, annotations: {} },
    });
  });
  const agent = makeAgent(svc, drivers);
  const reply = await agent.measure({ metrics: ["a"], control: { duration: 1 } }, "c-9");
  assert.deepEqual(reply, {
    metrics: { "requests throughput": { value: 5 }, perf: { value: 5 } },
  });
  assert.equal(drivers.runs[0].input, '{"metrics":["a"],"control":{"duration":1}}');
  assert.deepEqual(drivers.runs[0].args, ["app"]);
  assert.equal(drivers.runs[0].hasCancel, true);
  assert.equal(drivers.runs[0].fileChecked, true, "info() has just looked at the driver's file");
  assert.deepEqual(svc.sent.map((s) => s.param), [
    { progress: 0, runtime: 0, message: "starting driver", cmd_uid: "c-9" },
    { progress: 40, runtime: 1, message: "warming", cmd_uid: "c-9" },
    { progress: 60, runtime: 3, cmd_uid: "c-9" },
  ]);
  assert.ok(svc.sent.every((s) => s.kind === "progress" && s.event === "MEASUREMENT"));
});

Deno.test("measure: driver failure, no metrics, and cancel", async () => {
  let r = await makeAgent(
    new FakeService(),
    new FakeDrivers(() => outcome({ response: { status: "aborted", message: "slo" } })),
  ).measure({});
  assert.deepEqual(r, {
    status: "aborted",
    message: 'DriverError: Measurement driver failed with status "aborted" and message:\nslo',
    reason: "undefined",
  });
  r = await makeAgent(
    new FakeService(),
    new FakeDrivers(() => outcome({ response: { status: "ok", metrics: {} } })),
  ).measure({});
  assert.deepEqual(r, { status: "failed", message: "Measurement driver returned no metrics" });

  const svc = new FakeService((s) =>
    (s.param?.progress as number) > 0 ? { status: "cancel", reason: "enough" } : { status: "ok" }
  );
  const drivers = new FakeDrivers(async (o) => {
    const rep = await o.onProgress!({ progress: 10 });
    assert.deepEqual(rep, { cancel: true, status: "cancelled", reason: "enough" });
    return outcome({
      exitCode: 3,
      cancelled: { status: "cancelled", reason: "enough" },
      response: { status: "failed", message: "Exiting due to signal: 10" },
    });
  });
  r = await makeAgent(svc, drivers).measure({});
  assert.deepEqual(r, {
    status: "cancelled",
    reason: "enough",
    message: "Exiting due to signal: 10",
  });
});

Deno.test("a cancel reply without reason uses the v1 default; invalid aborts", async () => {
  const replies = [{ status: "ok" }, { status: "cancel" }, {
    status: "invalid",
    reason: "unexpected cmd_uid",
  }];
  const svc = new FakeService(() => replies.shift() ?? {});
  const got: unknown[] = [];
  const drivers = new FakeDrivers(async (o) => {
    got.push(await o.onProgress!({ progress: 1 }));
    got.push(await o.onProgress!({ progress: 2 }));
    return outcome({ response: { status: "ok", metrics: { a: { value: 1 } } } });
  });
  await makeAgent(svc, drivers).measure({});
  assert.deepEqual(got, [
    { cancel: true, status: "cancelled", reason: "API STOP command issued" },
    { cancel: true, status: "aborted", reason: "unexpected cmd_uid" },
  ]);
});

Deno.test("adjust: input is state + control; success echoes the state with status ok", async () => {
  const drivers = new FakeDrivers(() => outcome({ response: { status: "ok", monitoring: {} } }));
  const state = { application: { components: { web: { settings: { cpu: { value: 2 } } } } } };
  const agent = makeAgent(new FakeService(), drivers);
  assert.deepEqual(await agent.adjust({ state, control: { timeout: 5 } }), {
    state,
    status: "ok",
    reason: "success",
  });
  assert.deepEqual(JSON.parse(drivers.runs[0].input!), { ...state, control: { timeout: 5 } });
  await agent.adjust({ state });
  assert.deepEqual(JSON.parse(drivers.runs[1].input!).control, {});
  assert.deepEqual(await agent.adjust({}), {
    status: "failed",
    message: "KeyError: 'state' (the ADJUST param has no state)",
  });
});

Deno.test("adjust failure carries status, reason and the driver message", async () => {
  const drivers = new FakeDrivers(() =>
    outcome({
      exitCode: 3,
      stderr: "oops\n",
      response: { status: "rejected", reason: "start-failed", message: "m" },
    })
  );
  assert.deepEqual(await makeAgent(new FakeService(), drivers).adjust({ state: {} }), {
    status: "rejected",
    reason: "start-failed",
    message:
      'DriverError: Adjustment driver failed with status "rejected" and message:\nm\nstderr:\noops\n',
  });
});

Deno.test("environment pre-flight: mismatch skips the command", async () => {
  const drivers = new FakeDrivers((o) =>
    o.spec.role === "environment"
      ? outcome({ response: { status: "environment-mismatch", message: "canary" } })
      : outcome({ response: { status: "ok" } })
  );
  const r = await makeAgent(new FakeService(), drivers).adjust({
    state: {},
    control: { environment: { mode: "canary" } },
  });
  assert.equal(r.status, "environment-mismatch");
  assert.match(r.message as string, /canary/);
  assert.equal(drivers.runs.length, 1);
  assert.equal(drivers.runs[0].whole, true);
  assert.deepEqual(drivers.runs[0].args, []);
  assert.equal(drivers.runs[0].ioTimeout, 0, "no IO timeout for ./environment (PROTOCOL 1.8)");
  assert.equal(drivers.runs[0].fileChecked, undefined, "no info() before ./environment");
});

Deno.test("environment pre-flight: a non-zero exit is a mismatch even with status ok (PROTOCOL 1.8)", async () => {
  const drivers = new FakeDrivers((o) =>
    o.spec.role === "environment"
      ? outcome({ exitCode: 1, response: { status: "ok" } })
      : outcome({ response: { status: "ok", metrics: { a: { value: 1 } } } })
  );
  const r = await makeAgent(new FakeService(), drivers).measure({
    control: { environment: { mode: "canary" } },
  });
  assert.equal(r.status, "environment-mismatch");
  assert.equal(drivers.runs.length, 1, "the measure driver did not run");
});

Deno.test("run: HELLO, commands, cmd_uid echo, missing/unknown cmd, SLEEP, stop exit", async () => {
  const cmds: Record<string, unknown>[] = [
    { cmd: "MEASURE", cmd_uid: 42 }, // a number is echoed as it is
    { nothing: 1 },
    { cmd: "FLY" },
    { cmd: "SLEEP", param: { duration: "7" } },
  ];
  const sleeps: number[] = [];
  // deno-lint-ignore prefer-const
  let agent!: Agent;
  const svc = new FakeService((s) => {
    if (s.event !== "WHATS_NEXT") return { status: "ok" };
    const c = cmds.shift();
    if (!c) {
      agent.stop("exit");
      return { cmd: "SLEEP", param: { duration: 1000 } };
    }
    return c;
  });
  const drivers = new FakeDrivers(() =>
    outcome({ response: { status: "ok", metrics: { a: { value: 1 } } } })
  );
  const between: number[] = [];
  agent = makeAgent(svc, drivers, {
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    betweenCommands: () => between.push(svc.sent.length),
  });
  assert.equal(await agent.run(), "exit");
  const events = svc.sent.map((s) => s.event);
  assert.deepEqual(events, [
    "HELLO",
    "WHATS_NEXT",
    "MEASUREMENT",
    "MEASUREMENT",
    "WHATS_NEXT",
    "WHATS_NEXT",
    "WHATS_NEXT",
    "WHATS_NEXT",
    "GOODBYE",
  ]);
  assert.deepEqual(svc.sent[0].param, { agent: "tester" });
  assert.equal(svc.sent[3].param!.cmd_uid, 42);
  assert.equal(svc.sent[3].kind, "completion");
  assert.deepEqual(svc.sent[8].param, { reason: "exit" });
  // a pause after the missing and the unknown cmd (min(2, retryDelay=1) s), SLEEP 7 s, the
  // last SLEEP was cut short by the stop (not run: stopped while it was the pending command)
  assert.deepEqual(sleeps.slice(0, 3), [1000, 1000, 7000]);
  // betweenCommands after each command, once its completion is posted, before the next WHATS_NEXT
  assert.deepEqual(between, [4, 5, 6, 7, 8]);
});

Deno.test("run: a stop at the --interactive prompt before HELLO sends nothing, not even GOODBYE", async () => {
  // deno-lint-ignore prefer-const
  let agent!: Agent;
  const svc = new FakeService(() => ({}));
  agent = makeAgent(svc, new FakeDrivers(() => outcome({})), {
    config: { interactive: true },
    prompt: (signal) =>
      new Promise<boolean>((_, reject) => {
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
        agent.stop("restart"); // SIGHUP while the prompt waits
      }),
  });
  assert.equal(await agent.run(), "restart");
  assert.deepEqual(svc.sent, []);
});

Deno.test("run: SIGTERM aborts the running driver and skips its completion", async () => {
  // deno-lint-ignore prefer-const
  let agent!: Agent;
  const svc = new FakeService((
    s,
  ) => (s.event === "WHATS_NEXT" ? { cmd: "MEASURE" } : { status: "ok" }));
  const drivers = new FakeDrivers((o) =>
    new Promise((resolve) => {
      o.signal!.addEventListener(
        "abort",
        () => resolve(outcome({ aborted: true, exitCode: null })),
      );
      agent.stop("SIGTERM");
    })
  );
  agent = makeAgent(svc, drivers);
  assert.equal(await agent.run(), "SIGTERM");
  assert.deepEqual(svc.sent.map((s) => s.event), ["HELLO", "WHATS_NEXT", "MEASUREMENT", "GOODBYE"]);
  assert.equal(svc.sent[2].param!.message, "starting driver");
  assert.deepEqual(svc.sent[3].param, { reason: "SIGTERM" });
});

Deno.test("run: SIGHUP during a command finishes it, then GOODBYE restart", async () => {
  // deno-lint-ignore prefer-const
  let agent!: Agent;
  const svc = new FakeService((
    s,
  ) => (s.event === "WHATS_NEXT" ? { cmd: "ADJUST", param: { state: {} } } : {}));
  const drivers = new FakeDrivers(() => {
    agent.stop("restart");
    return outcome({ response: { status: "ok" } });
  });
  agent = makeAgent(svc, drivers);
  assert.equal(await agent.run(), "restart");
  const last = svc.sent.slice(-2);
  assert.deepEqual(last.map((s) => [s.event, s.param]), [
    ["ADJUSTMENT", { state: {}, status: "ok", reason: "success" }],
    ["GOODBYE", { reason: "restart" }],
  ]);
});

Deno.test("run: SIGUSR1 after SIGHUP exits instead of restarting; SIGTERM cuts a graceful GOODBYE short", async () => {
  // deno-lint-ignore prefer-const
  let agent!: Agent;
  let goodbyeSignal: AbortSignal | undefined;
  const sent: [string, unknown][] = [];
  const svc: Service = {
    request(event, param, opts) {
      sent.push([event, param]);
      if (event === "WHATS_NEXT") return Promise.resolve({ cmd: "ADJUST", param: { state: {} } });
      if (event !== "GOODBYE") return Promise.resolve({});
      goodbyeSignal = opts.signal;
      // a service that is down: GOODBYE would be retried for 20 s
      agent.stop("SIGTERM");
      return new Promise((_, reject) => {
        if (opts.signal?.aborted) reject(opts.signal.reason);
        opts.signal?.addEventListener("abort", () => reject(opts.signal!.reason), { once: true });
      });
    },
  };
  const drivers = new FakeDrivers(() => {
    agent.stop("restart");
    agent.stop("exit");
    agent.stop("restart");
    return outcome({ response: { status: "ok" } });
  });
  agent = makeAgent(svc, drivers);
  const t0 = Date.now();
  assert.equal(await agent.run(), "exit");
  assert.ok(Date.now() - t0 < 5000, "the GOODBYE was cut short");
  assert.equal(goodbyeSignal?.aborted, true);
  assert.deepEqual(sent.slice(-1), [["GOODBYE", { reason: "exit" }]]);
  assert.equal(agent.stopReason, "SIGTERM");
});

Deno.test("run: a second SIGINT/SIGTERM gives up on a GOODBYE the service does not take", async () => {
  // deno-lint-ignore prefer-const
  let agent!: Agent;
  const sent: string[] = [];
  const svc: Service = {
    request(event, _param, opts) {
      sent.push(event);
      if (event === "WHATS_NEXT") {
        agent.stop("SIGINT"); // Ctrl-C
        return Promise.reject(opts.signal?.reason);
      }
      if (event !== "GOODBYE") return Promise.resolve({});
      // the service is down: GOODBYE would be retried for 20 s; a second Ctrl-C
      setTimeout(() => agent.stop("SIGINT"), 50);
      return new Promise((_, reject) => {
        opts.signal?.addEventListener("abort", () => reject(opts.signal!.reason), { once: true });
      });
    },
  };
  agent = makeAgent(svc, new FakeDrivers(() => outcome({})));
  const t0 = Date.now();
  assert.equal(await agent.run(), "SIGINT");
  assert.ok(Date.now() - t0 < 2000, `ended ${Date.now() - t0} ms after the second SIGINT`);
  assert.deepEqual(sent, ["HELLO", "WHATS_NEXT", "GOODBYE"]);
});

Deno.test("run: --delay waits before HELLO, each reply and after SLEEP (v1); --interactive prompts there and skips SLEEP", async () => {
  const sleeps: number[] = [];
  let n = 0;
  let agent!: Agent;
  const answer = (s: Sent) => {
    if (s.event !== "WHATS_NEXT") return {};
    if (++n === 3) agent.stop("exit");
    return n === 1
      ? { cmd: "SLEEP", param: { duration: 50 } }
      : { cmd: "ADJUST", param: { state: {} } };
  };
  const drivers = new FakeDrivers(() => outcome({ response: { status: "ok" } }));
  agent = makeAgent(new FakeService(answer), drivers, {
    config: { delay: 2.5 },
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
  });
  await agent.run();
  assert.deepEqual(sleeps, [2500, 50000, 2500, 2500, 2500]);

  n = 0;
  sleeps.length = 0;
  let prompts = 0;
  agent = makeAgent(new FakeService(answer), drivers, {
    config: { delay: 2.5, interactive: true },
    prompt: () => {
      prompts++;
      return Promise.resolve();
    },
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
  });
  await agent.run();
  assert.deepEqual(sleeps, [], "no delay and no SLEEP in interactive mode");
  assert.equal(prompts, 4, "HELLO, after the skipped SLEEP, and the two replies");
});

Deno.test("run: --interactive with stdin closed goes on without prompts and honours SLEEP", async () => {
  const sleeps: number[] = [];
  let n = 0;
  let prompts = 0;
  // deno-lint-ignore prefer-const
  let agent!: Agent;
  const svc = new FakeService((s) => {
    if (s.event !== "WHATS_NEXT") return {};
    if (++n === 3) agent.stop("exit");
    return { cmd: "SLEEP", param: { duration: 5 } };
  });
  agent = makeAgent(svc, new FakeDrivers(() => outcome()), {
    config: { interactive: true, delay: 1 },
    prompt: () => {
      prompts++;
      return Promise.resolve(false);
    },
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
  });
  await agent.run();
  assert.equal(prompts, 1, "asked once (before HELLO), then never again");
  assert.deepEqual(sleeps, [5000, 5000, 5000], "each SLEEP is slept, with no --delay (-i given)");
});

Deno.test("sleepSeconds and withPerfAlias", () => {
  assert.equal(sleepSeconds(30), 30);
  assert.equal(sleepSeconds(2.9), 2);
  assert.equal(sleepSeconds("15"), 15);
  assert.equal(sleepSeconds("1.5"), 120);
  assert.equal(sleepSeconds(undefined), 120);
  assert.equal(sleepSeconds(-4), 0);
  const m = { "requests throughput": { v: 1 } };
  assert.equal(withPerfAlias(m).perf, m["requests throughput"]);
  assert.deepEqual(withPerfAlias({ perf: 1, "requests throughput": 2 }), {
    perf: 1,
    "requests throughput": 2,
  });
});

Deno.test("measure: the synthetic start gates the driver; cancel or failure before start", async () => {
  // The driver starts while the start is posted, but is gated on it; its
  // progress goes out only after the start.
  let release!: () => void;
  const svc = new FakeService(async (s) => {
    if (s.param?.message === "starting driver") await new Promise<void>((r) => (release = r));
    return { status: "ok" };
  });
  let gate: Promise<boolean> | undefined;
  const drivers = new FakeDrivers(async (o) => {
    gate = o.startGate;
    const p = o.onProgress!({ progress: 50 });
    assert.equal(svc.sent.length, 1); // only the start so far
    release();
    await p;
    return outcome({ response: { status: "ok", metrics: { a: { value: 1 } } } });
  });
  const r = await makeAgent(svc, drivers).measure({}, "c1");
  assert.deepEqual(r, { metrics: { a: { value: 1 } } });
  assert.equal(await gate, true);
  assert.deepEqual(svc.sent.map((s) => s.param?.progress), [0, 50]);

  // Cancelled at the start: the gate closes and the reply says so.
  const cancelSvc = new FakeService(() => ({ status: "cancel", reason: "stop it" }));
  let closed: boolean | undefined;
  const cancelled = await makeAgent(
    cancelSvc,
    new FakeDrivers(async (o) => {
      closed = await o.startGate;
      return outcome({ exitCode: null, exitSignal: "SIGTERM" });
    }),
  ).adjust({ state: { application: {} } }, "c2");
  assert.equal(closed, false);
  assert.deepEqual(cancelled, {
    status: "cancelled",
    reason: "stop it",
    message: "cancelled before start",
  });
  assert.equal(cancelSvc.sent.length, 1);

  // The start cannot be posted: failed, driver gated off.
  const failed = await makeAgent(
    new FakeService(() => Promise.reject(new Error("no service"))),
    new FakeDrivers(async (o) => {
      assert.equal(await o.startGate, false);
      return outcome({ exitCode: null, exitSignal: "SIGTERM" });
    }),
  ).measure({});
  assert.deepEqual(failed, { status: "failed", message: "no service" });
});
