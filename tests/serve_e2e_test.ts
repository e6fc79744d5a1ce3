/**
 * e2e: our agent (`servo run`) against `servo serve`, both child processes,
 * with the `fn` test target (a known function with its optimum at
 * x=7, y=60, mode=fast = 110; the start values give 48).
 */
import assert from "node:assert/strict";
import { api, fnServoDir, startAgent, startServe, waitApp } from "./serve_helpers.ts";
import type { AppSummary } from "../lib/optimizer/api_types.ts";

Deno.test("the agent and servo serve find the optimum of a known function within the budget", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "servo-e2e-" });
  const dir = `${tmp}/servo`;
  await Deno.mkdir(dir);
  await fnServoDir(dir);
  const token = "e2e-token-123";
  await Deno.writeTextFile(`${tmp}/token`, `${token}\n`);
  await Deno.writeTextFile(
    `${tmp}/serve.yaml`,
    "defaults:\n  budget: 16\n  seed: 3\n  sleep: {done: 60}\napps:\n  acme/app1:\n    perf: perf\n    guardrails: ['calls >= 1']\n",
  );
  const serve = await startServe([
    "--listen",
    "127.0.0.1:0",
    "--data",
    `${tmp}/data`,
    "--config",
    `${tmp}/serve.yaml`,
    "--token-file",
    `${tmp}/token`,
  ]);
  const agent = startAgent(
    dir,
    `${serve.url}/accounts/acme/applications/app1/servo`,
    `${tmp}/token`,
  );
  try {
    const d = await waitApp(
      serve.url,
      "acme/app1",
      (d) => d.state === "done" || d.state === "failed",
      55,
      token,
    );
    assert.equal(d.state, "done", d.failure ?? "");
    assert.equal(d.trialsDone, 16);
    assert.equal(d.trials.length, 17);
    assert.equal(d.baselinePerf, 48);
    assert.ok(d.bestPerf! >= 100, `best perf ${d.bestPerf} is not near the optimum 110`);
    assert.ok(d.improvementPct! > 100);
    for (const t of d.trials) {
      const s = t.settings.web as Record<string, number | string>;
      assert.ok(Number.isInteger((s.x as number) * 2), `x=${s.x} is off the 0.5 grid`);
      assert.ok(Number.isInteger((s.y as number) / 5), `y=${s.y} is off the 5 grid`);
      assert.ok(["slow", "medium", "fast"].includes(s.mode as string));
      assert.equal(t.status, "ok");
    }
    // the app was left on the best settings
    const state = JSON.parse(await Deno.readTextFile(`${dir}/fn-state.json`));
    assert.deepEqual(state.values, d.best!.settings.web);
    const list = await api(serve.url, "/api/apps", token) as { apps: AppSummary[] };
    assert.deepEqual(list.apps.map((a) => a.app), ["acme/app1"]);
    // the raw events of a trial are there
    const ev = await api(serve.url, "/api/apps/acme%2Fapp1/trials/3/events", token) as {
      events: { event: string }[];
    };
    assert.deepEqual(
      [...new Set(ev.events.map((e) => e.event))].sort(),
      ["ADJUSTMENT", "MEASUREMENT", "WHATS_NEXT"],
    );
    // without the token: 401
    const res = await fetch(`${serve.url}/api/apps`);
    assert.equal(res.status, 401);
    await res.body?.cancel();
  } finally {
    await agent.stop(5000);
    await serve.child.stop(5000);
    await Deno.remove(tmp, { recursive: true });
  }
});
