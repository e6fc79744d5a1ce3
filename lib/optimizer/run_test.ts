import assert from "node:assert/strict";
import { AppRun, type Reply } from "./run.ts";
import { Store } from "./store.ts";
import { type AppConfig, DEFAULT_APP_CONFIG } from "./config.ts";
import { parseGuardrail } from "./guardrails.ts";
import type { Engine, Observation, ParamSpec, Point } from "./engine/types.ts";

/** A scripted engine: returns the points in order and records what it saw. */
class ScriptEngine implements Engine {
  calls: { space: ParamSpec[]; history: Observation[] }[] = [];
  constructor(private points: Point[]) {}
  suggest(space: ParamSpec[], history: Observation[]): Point {
    this.calls.push({ space, history: structuredClone(history) });
    return this.points[Math.min(this.calls.length - 1, this.points.length - 1)];
  }
}

const DESCRIPTOR = {
  application: {
    components: {
      web: {
        settings: {
          cpu: { type: "range", min: 0.5, max: 4, step: 0.5, value: 1 },
          gc: { type: "enum", values: ["G1", "Parallel"], value: "G1" },
          replicas: { type: "range", min: 1, max: 4, step: 1, value: 2, pinned: true },
        },
      },
    },
  },
  measurement: { metrics: { rps: { unit: "rps" }, p99: { unit: "ms" } } },
  optimization: { perf: "rps" },
};

const P1 = { "web.cpu": 2, "web.gc": "Parallel", "web.replicas": 4 };
const P2 = { "web.cpu": 3.5, "web.gc": "G1", "web.replicas": 2 };
const P3 = { "web.cpu": 0.5, "web.gc": "G1", "web.replicas": 2 };

function setup(cfg: Partial<AppConfig> = {}, points: Point[] = [P1, P2, P3]) {
  const store = Store.open(":memory:");
  const engine = new ScriptEngine(points);
  const config: AppConfig = { ...DEFAULT_APP_CONFIG, budget: 2, ...cfg };
  const run = new AppRun({ name: "t", store, config, engine });
  run.save();
  const send = (event: string, param: Record<string, unknown> | null = null): Reply =>
    run.handle(event, param);
  return { store, engine, run, send, config };
}

function measured(rps: number, p99 = 10) {
  return { metrics: { rps: { value: rps }, p99: { value: p99 } } };
}

/** Drive through DESCRIBE and the baseline (rps 100). */
function toOptimizing(send: (e: string, p?: Record<string, unknown> | null) => Reply) {
  assert.deepEqual(send("HELLO", { agent: "test" }), { status: "ok" });
  assert.equal(send("WHATS_NEXT").cmd, "DESCRIBE");
  assert.deepEqual(send("DESCRIPTION", { status: "ok", descriptor: DESCRIPTOR }), {
    status: "ok",
  });
  const m = send("WHATS_NEXT");
  assert.equal(m.cmd, "MEASURE");
  assert.deepEqual((m.param as Record<string, unknown>).metrics, ["rps", "p99"]);
  send("MEASUREMENT", measured(100));
}

Deno.test("a whole run: describe, baseline, trials, best, sleep", () => {
  const { run, send, engine } = setup({ measure: { duration: 5, warmup: 1 } });
  assert.equal(run.state, "idle");
  send("HELLO", { agent: "test" });
  assert.equal(run.state, "describing");
  const d = send("WHATS_NEXT");
  assert.equal(d.cmd, "DESCRIBE");
  assert.deepEqual(d.param, {});
  assert.equal(typeof d.cmd_uid, "string");
  send("DESCRIPTION", { status: "ok", descriptor: DESCRIPTOR });
  assert.equal(run.state, "baseline");
  const m0 = send("WHATS_NEXT");
  assert.equal(m0.cmd, "MEASURE");
  assert.deepEqual((m0.param as Record<string, unknown>).control, { duration: 5, warmup: 1 });
  assert.deepEqual(send("MEASUREMENT", { progress: 50, runtime: 2, message: "half" }), {
    status: "ok",
  });
  assert.equal(run.current?.progress, 50);
  assert.equal(run.current?.message, "half");
  send("MEASUREMENT", measured(100));
  assert.equal(run.state, "optimizing");
  assert.equal(run.summary().baselinePerf, 100);

  // trial 1: ADJUST without the pinned setting (engine wanted replicas=4: ignored)
  const a1 = send("WHATS_NEXT");
  assert.equal(a1.cmd, "ADJUST");
  assert.deepEqual(a1.param, {
    state: {
      application: {
        components: { web: { settings: { cpu: { value: 2 }, gc: { value: "Parallel" } } } },
      },
    },
    control: {},
  });
  assert.equal(engine.calls[0].history.length, 1);
  assert.deepEqual(engine.calls[0].history[0], {
    x: { "web.cpu": 1, "web.gc": "G1", "web.replicas": 2 },
    y: 100,
  });
  assert.deepEqual(send("ADJUSTMENT", { progress: 10 }), { status: "ok" });
  send("ADJUSTMENT", { state: (a1.param as Record<string, unknown>).state, cmd_uid: a1.cmd_uid });
  assert.equal(send("WHATS_NEXT").cmd, "MEASURE");
  send("MEASUREMENT", measured(150));
  // trial 2
  assert.equal(send("WHATS_NEXT").cmd, "ADJUST");
  send("ADJUSTMENT", { status: "ok", reason: "success" });
  assert.equal(send("WHATS_NEXT").cmd, "MEASURE");
  send("MEASUREMENT", measured(120));
  assert.equal(run.state, "finishing");
  // final: ADJUST to the best (trial 1)
  const fin = send("WHATS_NEXT");
  assert.equal(fin.cmd, "ADJUST");
  assert.deepEqual(
    (fin.param as Record<string, unknown>).state as Record<string, unknown>,
    {
      application: {
        components: { web: { settings: { cpu: { value: 2 }, gc: { value: "Parallel" } } } },
      },
    },
  );
  send("ADJUSTMENT", {});
  assert.equal(run.state, "done");
  const sl = send("WHATS_NEXT");
  assert.equal(sl.cmd, "SLEEP");
  assert.equal((sl.param as Record<string, unknown>).duration, 300);
  const det = run.detail();
  assert.equal(det.trials.length, 3);
  assert.deepEqual(det.trials.map((t) => t.status), ["ok", "ok", "ok"]);
  assert.deepEqual(det.best?.settings, { web: { cpu: 2, gc: "Parallel", replicas: 2 } });
  assert.equal(det.best?.perf, 150);
  assert.equal(det.improvementPct, 50);
  assert.equal(det.trialsDone, 2);
  send("GOODBYE", { reason: "SIGTERM" });
  assert.equal(run.state, "done");
});

Deno.test("a rejected adjustment is a failure taught to the engine, then back to the best", () => {
  const { run, send, engine } = setup({ budget: 3 });
  toOptimizing(send);
  send("WHATS_NEXT"); // ADJUST P1
  send("ADJUSTMENT", { status: "rejected", reason: "start-failed", message: "crashloop" });
  const t1 = run.detail().trials[1];
  assert.equal(t1.status, "rejected");
  assert.equal(t1.reason, "start-failed");
  assert.match(t1.message!, /crashloop/);
  // back to the best known settings (the baseline) before the next trial
  const r = send("WHATS_NEXT");
  assert.equal(r.cmd, "ADJUST");
  assert.deepEqual(
    ((r.param as Record<string, unknown>).state as Record<string, Record<string, unknown>>)
      .application,
    { components: { web: { settings: { cpu: { value: 1 }, gc: { value: "G1" } } } } },
  );
  assert.match(run.current!.message!, /best known/);
  send("ADJUSTMENT", {});
  const a2 = send("WHATS_NEXT");
  assert.equal(a2.cmd, "ADJUST");
  assert.deepEqual(engine.calls[1].history.map((h) => h.y), [100, null]);
});

Deno.test("a failed measurement and a broken guardrail count as failed trials", () => {
  const { run, send, engine } = setup({
    budget: 3,
    guardrails: [parseGuardrail("p99 <= 50")],
  });
  toOptimizing(send);
  send("WHATS_NEXT");
  send("ADJUSTMENT", {});
  send("WHATS_NEXT");
  send("MEASUREMENT", { status: "failed", message: "load generator died", reason: "unknown" });
  assert.equal(run.detail().trials[1].status, "failed");
  assert.equal(send("WHATS_NEXT").cmd, "ADJUST"); // restore
  send("ADJUSTMENT", {});
  send("WHATS_NEXT"); // trial 2
  send("ADJUSTMENT", {});
  send("WHATS_NEXT");
  send("MEASUREMENT", measured(500, 80)); // fast but breaks p99 <= 50
  const t2 = run.detail().trials[2];
  assert.equal(t2.status, "guardrail");
  assert.equal(t2.perf, 500);
  assert.match(t2.message!, /p99 = 80 breaks guardrail p99 <= 50/);
  assert.equal(run.summary().bestPerf, 100, "a guardrail trial is never the best");
  assert.equal(send("WHATS_NEXT").cmd, "ADJUST"); // restore
  send("ADJUSTMENT", {});
  send("WHATS_NEXT");
  assert.deepEqual(engine.calls[2].history.map((h) => h.y), [100, null, null]);
});

Deno.test("transient failures retry the same step, a bad perf fails the trial", () => {
  const { run, send } = setup({ budget: 2 });
  toOptimizing(send);
  const a = send("WHATS_NEXT");
  send("ADJUSTMENT", { status: "transient-failure", message: "app restarted" });
  const again = send("WHATS_NEXT");
  assert.equal(again.cmd, "ADJUST");
  assert.deepEqual(again.param, a.param);
  send("ADJUSTMENT", {});
  send("WHATS_NEXT");
  send("MEASUREMENT", { metrics: { p99: { value: 3 } } }); // no rps
  const t1 = run.detail().trials[1];
  assert.equal(t1.status, "failed");
  assert.match(t1.message!, /rps/);
});

Deno.test("time series metrics are reduced by their mean", () => {
  const { run, send } = setup();
  send("HELLO", {});
  send("WHATS_NEXT");
  send("DESCRIPTION", { descriptor: DESCRIPTOR });
  send("WHATS_NEXT");
  send("MEASUREMENT", {
    metrics: {
      rps: { values: [{ id: "a", data: [[1, 10], [2, 20]] }, { id: "b", data: [[1, 30]] }] },
      p99: { value: "12.5" },
    },
  });
  const b = run.detail().baseline!;
  assert.equal(b.perf, 20);
  assert.deepEqual(b.metrics, { rps: 20, p99: 12.5 });
});

Deno.test("operator stop cancels the running measurement; resume re-runs the trial", () => {
  const { run, send, engine } = setup({ budget: 2 });
  toOptimizing(send);
  const a = send("WHATS_NEXT");
  send("ADJUSTMENT", {});
  const m = send("WHATS_NEXT");
  assert.equal(m.cmd, "MEASURE");
  assert.deepEqual(send("MEASUREMENT", { progress: 20, cmd_uid: m.cmd_uid }), { status: "ok" });
  run.stop("maintenance window");
  assert.equal(run.state, "stopped");
  assert.deepEqual(send("MEASUREMENT", { progress: 40 }), {
    status: "cancel",
    reason: "maintenance window",
  });
  // v1 reports a cancel as failed; it is still a cancel, not a failure of the settings
  send("MEASUREMENT", { status: "failed", message: "Exiting due to signal: 10" });
  const t1 = run.detail().trials[1];
  assert.equal(t1.status, "cancelled");
  const sl = send("WHATS_NEXT");
  assert.equal(sl.cmd, "SLEEP");
  assert.deepEqual((sl.param as Record<string, unknown>).data, {
    status: "stopped",
    reason: "maintenance window",
  });
  assert.equal(run.detail().stopReason, "maintenance window");
  run.resume();
  assert.equal(run.state, "optimizing");
  const again = send("WHATS_NEXT");
  assert.equal(again.cmd, "ADJUST", "the cancelled trial starts over");
  assert.deepEqual(again.param, a.param);
  assert.equal(engine.calls.length, 1, "no new suggestion for a re-run");
  send("ADJUSTMENT", {});
  send("WHATS_NEXT");
  send("MEASUREMENT", measured(130));
  assert.equal(run.detail().trials[1].status, "ok");
  assert.equal(run.trialsDone, 1);
});

Deno.test("stop between commands, and a cancelled status, also work", () => {
  const { run, send } = setup({ budget: 2 });
  toOptimizing(send);
  send("WHATS_NEXT");
  send("ADJUSTMENT", { status: "cancelled", reason: "API STOP" });
  assert.equal(run.detail().trials[1].status, "cancelled");
  run.stop();
  assert.equal(send("WHATS_NEXT").cmd, "SLEEP");
  assert.deepEqual(send("ADJUSTMENT", { progress: 1 }), {
    status: "cancel",
    reason: "stopped by operator",
  });
  run.resume();
  assert.equal(send("WHATS_NEXT").cmd, "ADJUST");
});

Deno.test("unexpected events get a 200 reply that says so, and change nothing", () => {
  const { run, send } = setup();
  // before anything
  assert.equal(send("MEASUREMENT", measured(1)).status, "unexpected-event");
  assert.equal(send("ADJUSTMENT", {}).status, "unexpected-event");
  assert.equal(send("MEASUREMENT", { progress: 1 }).status, "unexpected-event");
  toOptimizing(send);
  // a second DESCRIPTION is not accepted
  assert.equal(send("DESCRIPTION", { descriptor: DESCRIPTOR }).status, "unexpected-event");
  const a = send("WHATS_NEXT"); // ADJUST pending
  assert.equal(send("MEASUREMENT", measured(1)).status, "unexpected-event");
  assert.equal(send("MEASUREMENT", { progress: 5 }).status, "unexpected-event");
  assert.deepEqual(send("ADJUSTMENT", { progress: 5, cmd_uid: "nope" }), {
    status: "invalid",
    reason: "unexpected cmd_uid",
  });
  assert.deepEqual(send("ADJUSTMENT", { cmd_uid: "nope" }), {
    status: "invalid",
    reason: "unexpected cmd_uid",
  });
  assert.equal(run.current?.cmd, "ADJUST");
  send("ADJUSTMENT", { cmd_uid: a.cmd_uid });
  assert.equal(run.current, null);
  assert.equal(run.detail().trials[1].status, "running");
});

Deno.test("a restarted agent (HELLO) or a repeated WHATS_NEXT re-issues the lost step", () => {
  const { run, send } = setup();
  toOptimizing(send);
  const a = send("WHATS_NEXT");
  send("HELLO", { agent: "restarted" });
  assert.equal(run.current, null);
  const a2 = send("WHATS_NEXT");
  assert.equal(a2.cmd, "ADJUST");
  assert.deepEqual(a2.param, a.param);
  assert.notEqual(a2.cmd_uid, a.cmd_uid);
  const a3 = send("WHATS_NEXT");
  assert.deepEqual(a3.param, a.param);
  assert.equal(run.detail().trials.length, 2);
});

Deno.test("DESCRIBE failures and unusable descriptors fail the run; resume retries", () => {
  const { run, send } = setup();
  send("HELLO", {});
  send("WHATS_NEXT");
  send("DESCRIPTION", { status: "failed", message: "adjust driver crashed" });
  assert.equal(run.state, "failed");
  assert.match(run.failure!, /adjust driver crashed/);
  const sl = send("WHATS_NEXT");
  assert.equal(sl.cmd, "SLEEP");
  assert.equal(
    ((sl.param as Record<string, unknown>).data as Record<string, unknown>).status,
    "failed",
  );
  run.resume();
  assert.equal(send("WHATS_NEXT").cmd, "DESCRIBE");
  send("DESCRIPTION", {
    descriptor: { application: { components: {} }, measurement: { metrics: {} } },
  });
  assert.equal(run.state, "failed");
  assert.match(run.failure!, /no settings/);
  run.resume();
  send("WHATS_NEXT");
  send("DESCRIPTION", {
    descriptor: {
      application: {
        components: { a: { settings: { x: { min: 0, max: 1, step: 1, value: 0 } } } },
      },
      measurement: { metrics: { a: {}, b: {} } },
    },
  });
  assert.match(run.failure!, /no perf formula/);
  run.resume();
  send("WHATS_NEXT");
  send("DESCRIPTION", {
    descriptor: { ...DESCRIPTOR, optimization: { perf: "rps +" } },
  });
  assert.match(run.failure!, /does not parse/);
});

Deno.test("the baseline is measured again after a failure, the run fails after three", () => {
  const { run, send } = setup();
  send("HELLO", {});
  send("WHATS_NEXT");
  send("DESCRIPTION", { descriptor: DESCRIPTOR });
  for (let i = 0; i < 3; i++) {
    assert.equal(send("WHATS_NEXT").cmd, "MEASURE");
    send("MEASUREMENT", { status: "failed", message: `boom ${i}` });
  }
  assert.equal(run.state, "failed");
  assert.match(run.failure!, /baseline measurement failed 3 times: measurement failed: boom 2/);
});

Deno.test("the config's perf can override the descriptor's; goal minimize", () => {
  const { run, send } = setup({ perf: "p99", perfOverride: true, goal: "minimize", budget: 1 });
  send("HELLO", {});
  send("WHATS_NEXT");
  send("DESCRIPTION", { descriptor: DESCRIPTOR });
  send("WHATS_NEXT");
  send("MEASUREMENT", measured(100, 40));
  send("WHATS_NEXT");
  send("ADJUSTMENT", {});
  send("WHATS_NEXT");
  send("MEASUREMENT", measured(100, 30));
  const s = run.summary();
  assert.equal(s.bestPerf, 30);
  assert.equal(s.improvementPct, 25);
  assert.equal(run.detail().perf, "p99");
});

Deno.test("the run is rebuilt from the store: pending command, trials, counters", () => {
  const { store, send, config } = setup({ budget: 2 });
  toOptimizing(send);
  const a = send("WHATS_NEXT");
  const row = store.listApps().find((r) => r.name === "t")!;
  const engine2 = new ScriptEngine([P2, P3]);
  const run2 = new AppRun({ name: "t", store, config, engine: engine2 }, row);
  assert.equal(run2.state, "optimizing");
  assert.equal(run2.current?.cmd, "ADJUST");
  assert.deepEqual(run2.handle("ADJUSTMENT", { cmd_uid: a.cmd_uid }), { status: "ok" });
  assert.equal(run2.handle("WHATS_NEXT", null).cmd, "MEASURE");
  run2.handle("MEASUREMENT", measured(140));
  assert.equal(run2.summary().bestPerf, 140);
  const next = run2.handle("WHATS_NEXT", null);
  assert.equal(next.cmd, "ADJUST");
  assert.equal(engine2.calls[0].history.length, 2);
  // every event was stored, with its trial
  const ev1 = store.events("t", 1);
  assert.deepEqual(ev1.map((e) => e.event), [
    "WHATS_NEXT",
    "ADJUSTMENT",
    "WHATS_NEXT",
    "MEASUREMENT",
  ]);
  assert.equal((ev1[0].response as Record<string, unknown>).cmd, "ADJUST");
  assert.ok(store.decisions("t").length >= 4);
});

Deno.test("a stored descriptor that no longer fits the config is described again", () => {
  // the app's perf formula came from the service config; the config lost it
  const { store, send } = setup({ perf: "rps" });
  const { optimization: _, ...noPerf } = DESCRIPTOR;
  send("HELLO", {});
  send("WHATS_NEXT");
  send("DESCRIPTION", { descriptor: noPerf });
  assert.equal(send("WHATS_NEXT").cmd, "MEASURE");
  const row = store.listApps().find((r) => r.name === "t")!;
  const config = { ...DEFAULT_APP_CONFIG, budget: 2 };
  const run2 = new AppRun({ name: "t", store, config, engine: new ScriptEngine([P1]) }, row);
  const d = run2.handle("WHATS_NEXT", null);
  assert.equal(d.cmd, "DESCRIBE");
  // describing again with a formula carries on
  assert.deepEqual(run2.handle("DESCRIPTION", { cmd_uid: d.cmd_uid, descriptor: DESCRIPTOR }), {
    status: "ok",
  });
  assert.equal(run2.handle("WHATS_NEXT", null).cmd, "MEASURE");
});

Deno.test("every event in every state answers without throwing", () => {
  const events: [string, Record<string, unknown> | null][] = [
    ["HELLO", { agent: "x" }],
    ["HELLO", null],
    ["WHATS_NEXT", null],
    ["DESCRIPTION", { descriptor: DESCRIPTOR }],
    ["DESCRIPTION", { status: "failed", message: "x" }],
    ["MEASUREMENT", { progress: 10 }],
    ["MEASUREMENT", { progress: null }],
    ["MEASUREMENT", measured(10)],
    ["MEASUREMENT", { status: "nodata" }],
    ["MEASUREMENT", {}],
    ["ADJUSTMENT", { progress: 10 }],
    ["ADJUSTMENT", {}],
    ["ADJUSTMENT", { status: "rejected" }],
    ["GOODBYE", { reason: "SIGTERM" }],
    ["GOODBYE", null],
  ];
  // Reach each state by a prefix of a run, then try every event there.
  const prefixes: ((s: ReturnType<typeof setup>) => void)[] = [
    () => {},
    ({ send }) => send("HELLO", {}),
    ({ send }) => (send("HELLO", {}), send("WHATS_NEXT")),
    ({ send }) => toOptimizing(send),
    ({ send }) => (toOptimizing(send), send("WHATS_NEXT")),
    (
      { send },
    ) => (toOptimizing(send), send("WHATS_NEXT"), send("ADJUSTMENT", {}), send("WHATS_NEXT")),
    ({ run, send }) => (toOptimizing(send), send("WHATS_NEXT"), run.stop()),
    (
      { send },
    ) => (send("HELLO", {}), send("WHATS_NEXT"), send("DESCRIPTION", { status: "failed" })),
    ({ send }) => {
      toOptimizing(send);
      for (let i = 0; i < 2; i++) {
        send("WHATS_NEXT");
        send("ADJUSTMENT", {});
        send("WHATS_NEXT");
        send("MEASUREMENT", measured(100 + i));
      }
      send("WHATS_NEXT");
    },
  ];
  for (const prefix of prefixes) {
    for (const [event, param] of events) {
      const s = setup();
      prefix(s);
      const before = s.run.state;
      const r = s.run.handle(event, param);
      assert.ok(
        typeof r.cmd === "string" || typeof r.status === "string",
        `${before} + ${event}: ${JSON.stringify(r)}`,
      );
      // the service keeps answering afterwards
      const n = s.run.handle("WHATS_NEXT", null);
      assert.ok(typeof n.cmd === "string", `${before} + ${event} then WHATS_NEXT`);
      assert.ok(s.store.eventCount("t") >= 2);
    }
  }
});

Deno.test("a raised budget (config change + restart) continues a finished run", () => {
  const { store, send, config } = setup({ budget: 1 });
  toOptimizing(send);
  send("WHATS_NEXT");
  send("ADJUSTMENT", {});
  send("WHATS_NEXT");
  send("MEASUREMENT", measured(120));
  send("WHATS_NEXT"); // final adjust
  send("ADJUSTMENT", {});
  const row = store.listApps()[0];
  const done = new AppRun({ name: "t", store, config, engine: new ScriptEngine([P2]) }, row);
  assert.equal(done.state, "done");
  const more = new AppRun(
    { name: "t", store, config: { ...config, budget: 2 }, engine: new ScriptEngine([P2]) },
    row,
  );
  assert.equal(more.state, "optimizing");
  assert.equal(more.handle("WHATS_NEXT", null).cmd, "ADJUST");
  more.handle("ADJUSTMENT", {});
  more.handle("WHATS_NEXT", null);
  more.handle("MEASUREMENT", measured(90));
  assert.equal(more.state, "finishing");
  more.handle("WHATS_NEXT", null);
  more.handle("ADJUSTMENT", {});
  assert.equal(more.state, "done");
  assert.equal(more.trialsDone, 2);
});

Deno.test("a cancelled return to the best settings is done after the resume", () => {
  const { run, send } = setup({ budget: 3 });
  toOptimizing(send);
  send("WHATS_NEXT");
  send("ADJUSTMENT", { status: "rejected" });
  const r = send("WHATS_NEXT"); // restore
  run.stop();
  assert.equal(send("ADJUSTMENT", { progress: 5 }).status, "cancel");
  send("ADJUSTMENT", { status: "failed", message: "signal" });
  run.resume();
  const again = send("WHATS_NEXT");
  assert.deepEqual(again.param, r.param);
  assert.match(run.current!.message!, /best known/);
});
