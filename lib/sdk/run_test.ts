import assert from "node:assert/strict";
import { MemorySink } from "./output.ts";
import { EXIT_CRASH, EXIT_REPORTED, EXIT_USAGE, runDriver, type RunDriverOptions } from "./run.ts";
import {
  type AdjustDriver,
  type DriverContext,
  DriverFailure,
  type EnvironmentDriver,
  type MeasureDriver,
} from "./types.ts";
import { sleep } from "./util.ts";
import { FakeSignals } from "../signals.ts";

const measureDriver = (over: Partial<MeasureDriver> = {}): MeasureDriver => ({
  kind: "measure",
  name: "m",
  version: "1.2.3",
  canCancel: true,
  describe: () => ({ answer: { unit: "count" } }),
  measure: () => Promise.resolve({ metrics: { answer: { value: 42, unit: "count" } } }),
  ...over,
});

const adjustDriver = (over: Partial<AdjustDriver> = {}): AdjustDriver => ({
  kind: "adjust",
  name: "a",
  version: "0.1",
  query: () => ({
    components: { web: { settings: { cpu: { value: 1, min: 0, max: 2, step: 1 } } } },
  }),
  adjust: () => {},
  ...over,
});

async function run(
  def: MeasureDriver | AdjustDriver | EnvironmentDriver,
  argv: string[],
  opts: RunDriverOptions = {},
) {
  const sink = new MemorySink();
  const usage: string[] = [];
  const code = await runDriver(def, argv, {
    sink,
    stdin: "",
    env: {},
    cwd: "/nonexistent-servo-dir",
    setupLogging: false,
    handleSignals: false,
    usageOut: (t) => usage.push(t),
    ...opts,
  });
  return { code, lines: sink.lines as Record<string, unknown>[], usage: usage.join("\n") };
}

Deno.test("--info and --version", async () => {
  let r = await run(measureDriver(), ["--info", "app"]);
  assert.equal(r.code, 0);
  assert.deepEqual(r.lines, [{ version: "1.2.3", has_cancel: true }]);
  r = await run(adjustDriver(), ["--info"]);
  assert.deepEqual(r.lines, [{ version: "0.1", has_cancel: false }]);
  r = await run(adjustDriver(), ["--version"]);
  assert.deepEqual(r.lines, ["0.1"]);
});

Deno.test("usage errors exit 2 and print nothing on stdout", async () => {
  for (
    const [def, argv] of [
      [measureDriver(), ["--info", "--describe"]],
      [measureDriver(), ["--bogus"]],
      [measureDriver(), ["a", "b"]],
      [measureDriver(), ["--query", "app"]],
      [adjustDriver(), []],
      [adjustDriver(), ["--query"]],
    ] as const
  ) {
    const r = await run(def, [...argv]);
    assert.equal(r.code, EXIT_USAGE, argv.join(" "));
    assert.deepEqual(r.lines, []);
    assert.match(r.usage, /^usage: /);
  }
  const r = await run(measureDriver({ description: "Test driver." }), ["--help"]);
  assert.equal(r.code, 0);
  assert.match(r.usage, /Test driver\./);
});

Deno.test("describe and query", async () => {
  let r = await run(measureDriver(), ["--describe", "app"]);
  assert.deepEqual(r.lines, [{ status: "ok", metrics: { answer: { unit: "count" } } }]);
  r = await run(adjustDriver(), ["--query", "app"]);
  assert.equal(r.code, 0);
  // a bare application is wrapped
  assert.deepEqual(Object.keys(r.lines[0]), ["status", "application"]);
  r = await run(
    adjustDriver({ query: () => ({ application: { components: {} }, monitoring: { a: 1 } }) }),
    ["--describe", "app"],
  );
  assert.deepEqual(r.lines, [{
    status: "ok",
    application: { components: {} },
    monitoring: { a: 1 },
  }]);
});

Deno.test("adjust: the input (state wrapper removed), ok result with defaults", async () => {
  let seen: unknown;
  const def = adjustDriver({
    adjust: (_ctx, input) => {
      seen = input;
    },
  });
  const body = { application: { components: { web: { settings: { cpu: { value: 2 } } } } } };
  let r = await run(def, ["app"], { stdin: JSON.stringify({ state: body, control: { a: 1 } }) });
  assert.equal(r.code, 0);
  assert.deepEqual(seen, { ...body, control: { a: 1 } });
  assert.deepEqual(r.lines, [{ status: "ok", reason: "success" }]);
  r = await run(def, ["app"], { stdin: JSON.stringify(body) });
  assert.deepEqual(seen, { ...body, control: {} });

  r = await run(adjustDriver({ adjust: () => ({ status: "rejected", reason: "unstable" }) }), [
    "app",
  ]);
  assert.equal(r.code, EXIT_REPORTED);
  assert.deepEqual(r.lines, [{ status: "rejected", reason: "unstable" }]);
});

Deno.test("bad request: not JSON, or not an object", async () => {
  for (const stdin of ["{nope", "[1,2]", '"x"']) {
    const r = await run(measureDriver(), ["app"], { stdin });
    assert.equal(r.code, EXIT_REPORTED);
    assert.equal(r.lines.length, 1);
    assert.equal(r.lines[0].status, "bad-request");
    assert.match(String(r.lines[0].message), /^failed to parse input: /);
  }
});

Deno.test("measure: ok, annotations only when present", async () => {
  let r = await run(measureDriver(), ["app"], { stdin: '{"metrics":["answer"],"control":{}}' });
  assert.equal(r.code, 0);
  assert.deepEqual(r.lines, [{ status: "ok", metrics: { answer: { value: 42, unit: "count" } } }]);
  r = await run(
    measureDriver({ measure: () => Promise.resolve({ metrics: {}, annotations: { a: "b" } }) }),
    ["app"],
  );
  assert.deepEqual(r.lines, [{ status: "ok", metrics: {}, annotations: { a: "b" } }]);
});

Deno.test("errors: DriverFailure exits 3, anything else 1, both as JSON", async () => {
  let r = await run(
    measureDriver({
      measure: () =>
        Promise.reject(
          new DriverFailure("no server", { status: "aborted", reason: "app-unavailable" }),
        ),
    }),
    ["app"],
  );
  assert.equal(r.code, EXIT_REPORTED);
  assert.deepEqual(r.lines, [{
    status: "aborted",
    reason: "app-unavailable",
    message: "no server",
  }]);
  r = await run(measureDriver({ measure: () => Promise.reject(new TypeError("x is undefined")) }), [
    "app",
  ]);
  assert.equal(r.code, EXIT_CRASH);
  assert.deepEqual(r.lines, [{ status: "failed", reason: "unknown", message: "x is undefined" }]);
  r = await run(
    measureDriver({ measure: () => Promise.resolve({} as never) }),
    ["app"],
  );
  assert.equal(r.code, EXIT_CRASH);
  assert.match(String(r.lines[0].message), /metrics object/);
  r = await run(adjustDriver({ query: () => Promise.reject(new Error("down")) }), ["--query", "a"]);
  assert.equal(r.code, EXIT_CRASH);
  assert.deepEqual(r.lines, [{ status: "failed", reason: "unknown", message: "down" }]);
});

Deno.test("progress: explicit lines with message and stage, ticker repeats the last one", async () => {
  const r = await run(
    measureDriver({
      progressInterval: 0.03,
      async measure(ctx: DriverContext) {
        ctx.stage("warmup", 10);
        ctx.progress(12.345, "warming up");
        await sleep(100);
        ctx.message("measuring");
        await sleep(100);
        return { metrics: {} };
      },
    }),
    ["app"],
  );
  assert.equal(r.code, 0);
  assert.deepEqual(r.lines[0], {
    progress: 12.3,
    message: "warming up",
    stage: "warmup",
    stageprogress: 10,
  });
  const ticks = r.lines.slice(1, -1);
  assert.ok(ticks.length >= 3, `ticker lines: ${ticks.length}`);
  assert.ok(ticks.every((l) => l.progress === 12.3));
  assert.ok(ticks.some((l) => l.message === "measuring"));
  assert.deepEqual(r.lines.at(-1), { status: "ok", metrics: {} });
});

Deno.test("cancel: the signal aborts, cleanup runs, one cancelled line, exit 3", async () => {
  const cancel = new AbortController();
  let cleaned = false;
  let lateProgress = false;
  const def = measureDriver({
    async measure(ctx) {
      ctx.progress(10, "measuring");
      try {
        await sleep(10_000, ctx.signal);
      } finally {
        await sleep(50);
        cleaned = true;
        ctx.progress(99, "cleaning");
        lateProgress = true;
      }
      return { metrics: {} };
    },
  });
  setTimeout(() => cancel.abort(), 50);
  const r = await run(def, ["app"], { cancel: cancel.signal });
  assert.equal(r.code, EXIT_REPORTED);
  assert.ok(cleaned, "the driver's finally ran before the result");
  assert.ok(lateProgress);
  assert.deepEqual(r.lines.at(-1), {
    status: "cancelled",
    reason: "cancelled",
    message: "Exiting due to signal: 10",
  });
  assert.equal(r.lines.filter((l) => "status" in l).length, 1);
});

Deno.test("cancel: a driver that ignores the signal is cut off after the grace period", async () => {
  const cancel = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const def = measureDriver({
    measure: () =>
      new Promise((resolve) => {
        timer = setTimeout(() => resolve({ metrics: {} }), 2000);
      }),
  });
  setTimeout(() => cancel.abort(), 20);
  const t0 = performance.now();
  const r = await run(def, ["app"], { cancel: cancel.signal, cancelGraceMs: 100 });
  clearTimeout(timer);
  assert.ok(performance.now() - t0 < 1000);
  assert.equal(r.code, EXIT_REPORTED);
  assert.equal(r.lines.at(-1)?.status, "cancelled");
});

Deno.test("signals: SIGUSR1 only with canCancel; SIGTERM always stops the work", async () => {
  for (
    const [canCancel, sig, expect] of [
      [true, "SIGUSR1", "cancelled"],
      [true, "SIGTERM", "failed"],
      [false, "SIGTERM", "failed"],
    ] as const
  ) {
    const signals = new FakeSignals();
    const def = measureDriver({
      canCancel,
      async measure(ctx) {
        await sleep(5000, ctx.signal);
        return { metrics: {} };
      },
    });
    setTimeout(() => signals.emit(sig), 30);
    const r = await run(def, ["app"], { handleSignals: true, signals });
    assert.equal(r.code, EXIT_REPORTED);
    assert.equal(r.lines.at(-1)?.status, expect, `${canCancel} ${sig}`);
    if (sig === "SIGTERM") assert.equal(r.lines.at(-1)?.message, "Exiting due to signal: 15");
  }
  // Without canCancel, SIGUSR1 is not handled by the SDK.
  const signals = new FakeSignals();
  let done = false;
  const def = measureDriver({
    canCancel: false,
    async measure() {
      await sleep(100);
      done = true;
      return { metrics: {} };
    },
  });
  setTimeout(() => signals.emit("SIGUSR1"), 10);
  const r = await run(def, ["app"], { handleSignals: true, signals });
  assert.equal(r.code, 0);
  assert.ok(done);
});

Deno.test("environment driver: the status it returns is kept", async () => {
  const def: EnvironmentDriver = {
    kind: "environment",
    name: "env",
    version: "1",
    query: () => ({ status: "environment-mismatch" }),
  };
  const r = await run(def, [], { stdin: '{"control":{"environment":{"mode":"x"}}}' });
  assert.equal(r.code, EXIT_REPORTED);
  assert.deepEqual(r.lines, [{ status: "environment-mismatch" }]);
});

Deno.test("config: the section, renamed under an aggregator, with fallback", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      "m:\n  who: plain\n01m:\n  who: renamed\nother: 1\n",
    );
    const seen: [string, unknown][] = [];
    const def = measureDriver({
      describe(ctx) {
        seen.push([ctx.section, ctx.config?.who]);
        return {};
      },
    });
    await run(def, ["--describe", "x"], { cwd: dir });
    await run(def, ["--describe", "x"], { cwd: dir, env: { OPTUNE_DRIVER_NAME: "measure.d/01m" } });
    await run(def, ["--describe", "x"], {
      cwd: dir,
      env: { OPTUNE_DRIVER_NAME: "/s/measure.d/02m" },
    });
    assert.deepEqual(seen, [["m", "plain"], ["01m", "renamed"], ["m", "plain"]]);

    await Deno.writeTextFile(`${dir}/bad.yaml`, "m: [1, 2\n");
    const r = await run(def, ["--describe", "x"], { env: { OPTUNE_CONFIG: `${dir}/bad.yaml` } });
    assert.equal(r.code, EXIT_REPORTED);
    assert.equal(r.lines[0].status, "failed");
    assert.equal(r.lines[0].reason, "config-error");
    assert.match(String(r.lines[0].message), /bad\.yaml/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("info hook: extra keys and overrides; its failure is a JSON error", async () => {
  let r = await run(
    measureDriver({ info: (ctx) => ({ drivers: { a: ctx.appId }, has_cancel: false }) }),
    ["--info", "app7"],
  );
  assert.equal(r.code, 0);
  assert.deepEqual(r.lines, [{ version: "1.2.3", has_cancel: false, drivers: { a: "app7" } }]);
  r = await run(
    measureDriver({
      info: () => {
        throw new DriverFailure("child 01 broken", { reason: "start-failed" });
      },
    }),
    ["--info"],
  );
  assert.equal(r.code, EXIT_REPORTED);
  assert.deepEqual(r.lines, [{
    status: "failed",
    reason: "start-failed",
    message: "child 01 broken",
  }]);
});

Deno.test("ticker: shortened to half of OPTUNE_IO_TIMEOUT", async () => {
  const r = await run(
    measureDriver({
      progressInterval: 30,
      async measure() {
        await sleep(1300);
        return { metrics: {} };
      },
    }),
    ["app"],
    { env: { OPTUNE_IO_TIMEOUT: "1" } },
  );
  assert.equal(r.code, 0);
  assert.ok(r.lines.length >= 3, `ticks: ${r.lines.length - 1}`);
});

Deno.test("the driver function runs exactly once", async () => {
  let calls = 0;
  const r = await run(
    measureDriver({
      measure: () => {
        calls++;
        return Promise.resolve({ metrics: {} });
      },
    }),
    ["app"],
  );
  assert.equal(r.code, 0);
  assert.equal(calls, 1);
  let adjusts = 0;
  await run(adjustDriver({ adjust: () => void adjusts++ }), ["app"]);
  assert.equal(adjusts, 1);
});
