/**
 * e2e: `servo serve` survives kill -9 mid-run (no finished trial lost, the
 * run carries on), and an operator stop cancels a running measurement of a
 * real agent, which resumes later.
 */
import assert from "node:assert/strict";
import { fnServoDir, startAgent, startServe, waitApp } from "./serve_helpers.ts";
import type { RawEvent } from "../lib/optimizer/api_types.ts";

Deno.test("kill -9 of servo serve mid-run loses no finished trial and the run completes", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "servo-restart-" });
  const dir = `${tmp}/servo`;
  await Deno.mkdir(dir);
  await fnServoDir(dir);
  await Deno.writeTextFile(
    `${tmp}/serve.yaml`,
    "defaults:\n  budget: 8\n  seed: 5\n  measure: {duration: 1}\n",
  );
  const args = ["--data", `${tmp}/data`, "--config", `${tmp}/serve.yaml`, "--no-auth"];
  let serve = await startServe(["--listen", "127.0.0.1:0", ...args]);
  const port = serve.port;
  const agent = startAgent(dir, `${serve.url}/servo`);
  try {
    const before = await waitApp(serve.url, "default", (d) => d.trialsDone >= 3, 40);
    serve.child.kill("SIGKILL");
    await serve.child.status;
    await new Promise((r) => setTimeout(r, 1500)); // the agent retries meanwhile
    serve = await startServe(["--listen", `127.0.0.1:${port}`, ...args]);
    const after = await waitApp(serve.url, "default", (d) => d.state === "done", 45);
    assert.equal(after.trialsDone, 8);
    assert.equal(after.trials.length, 9);
    for (const t of before.trials.filter((t) => t.status !== "running")) {
      const again = after.trials[t.n];
      assert.deepEqual(
        { n: again.n, settings: again.settings, perf: again.perf, startedAt: again.startedAt },
        { n: t.n, settings: t.settings, perf: t.perf, startedAt: t.startedAt },
      );
    }
    // An adjustment or a measurement running while the service was down may
    // fail (the agent gives up posting its progress after two tries): the
    // trial is then finished as rejected or failed, with the reason.
    const trials = JSON.stringify(after.trials.map((t) => [t.n, t.status, t.message]));
    for (const t of after.trials) {
      if (t.status === "ok") continue;
      assert.ok(t.status === "failed" || t.status === "rejected", trials);
      assert.match(t.message ?? "", /cannot connect|No more retries/, trials);
    }
    assert.ok(after.trials.filter((t) => t.status === "ok").length >= 7);
  } finally {
    await agent.stop(5000);
    await serve.child.stop(5000);
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("an operator stop cancels the running measurement; resume finishes the run", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "servo-cancel-" });
  const dir = `${tmp}/servo`;
  await Deno.mkdir(dir);
  await fnServoDir(dir);
  await Deno.writeTextFile(
    `${tmp}/serve.yaml`,
    "defaults:\n  budget: 2\n  measure: {duration: 4}\n  sleep: {stopped: 1}\n",
  );
  const serve = await startServe([
    "--listen",
    "127.0.0.1:0",
    "--data",
    `${tmp}/data`,
    "--config",
    `${tmp}/serve.yaml`,
    "--no-auth",
  ]);
  const agent = startAgent(dir, `${serve.url}/servo`);
  try {
    await waitApp(
      serve.url,
      "default",
      (d) => d.current?.cmd === "MEASURE" && d.current.trial === 1 && d.current.progress !== null,
      40,
    );
    const res = await fetch(`${serve.url}/api/apps/default/stop`, {
      method: "POST",
      body: JSON.stringify({ reason: "e2e stop" }),
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const stopped = await waitApp(
      serve.url,
      "default",
      (d) => d.state === "stopped" && d.current === null && d.trials[1]?.status === "cancelled",
      20,
    );
    assert.equal(stopped.trialsDone, 0);
    const ev = await fetch(`${serve.url}/api/apps/default/trials/1/events`).then((r) =>
      r.json()
    ) as {
      events: RawEvent[];
    };
    assert.ok(
      ev.events.some((e) => (e.response as Record<string, unknown>)?.status === "cancel"),
      "a progress reply was a cancel",
    );
    const last = ev.events[ev.events.length - 1];
    assert.equal(last.event, "MEASUREMENT");
    assert.ok(!("progress" in (last.param as Record<string, unknown>)), "the completion came");
    const r2 = await fetch(`${serve.url}/api/apps/default/resume`, { method: "POST" });
    assert.equal(r2.status, 200);
    await r2.body?.cancel();
    const done = await waitApp(serve.url, "default", (d) => d.state === "done", 40);
    assert.equal(done.trialsDone, 2);
    assert.deepEqual(done.trials.map((t) => t.status), ["ok", "ok", "ok"]);
  } finally {
    await agent.stop(5000);
    await serve.child.stop(5000);
    await Deno.remove(tmp, { recursive: true });
  }
});
