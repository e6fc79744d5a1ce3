/**
 * e2e: `servo demo` with a small budget runs service, agent and target in
 * one process tree, prints progress and the result, and exits (--exit).
 */
import assert from "node:assert/strict";
import { selfCommand } from "../lib/self.ts";
import { runCommand, spawnGroup } from "../lib/process.ts";

Deno.test("servo demo --exit --json optimizes the bundled target and reports baseline vs best", async () => {
  const [cmd, ...rest] = selfCommand();
  const r = await runCommand(cmd, [
    ...rest,
    "demo",
    "--budget",
    "3",
    "--duration",
    "1",
    "--warmup",
    "0",
    "--clients",
    "8",
    "--exit",
    "--json",
  ], { timeout: 55 });
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stderr}`);
  assert.match(r.stderr, /servo demo: dashboard at http:\/\/127\.0\.0\.1:\d+\//);
  assert.match(r.stderr, /baseline {2}perf \d+/);
  assert.match(r.stderr, /trial {2}3\/3 {2}/);
  const out = JSON.parse(r.stdout);
  assert.equal(out.app, "demo/web");
  assert.equal(out.trialsDone, 3);
  assert.equal(out.trials.length, 4);
  assert.deepEqual(out.baseline.settings, {
    app: { workers: 1, cache_size: 0, algorithm: "trial-division", logging: "info" },
  });
  assert.ok(out.baseline.metrics.throughput > 0);
  assert.ok(out.best.perf >= out.baseline.perf);
  assert.equal(typeof out.improvementPct, "number");
  for (const m of ["throughput", "latency_p50", "latency_p99", "error_rate"]) {
    assert.equal(typeof out.best.metrics[m], "number", m);
  }
});

Deno.test("servo demo prints the table without --json", async () => {
  const [cmd, ...rest] = selfCommand();
  const r = await runCommand(cmd, [
    ...rest,
    "demo",
    "--budget",
    "1",
    "--duration",
    "0.5",
    "--warmup",
    "0",
    "--clients",
    "4",
    "--exit",
  ], { timeout: 40 });
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stderr}\n${r.stdout}`);
  assert.match(r.stdout, /baseline \(trial 0\)/);
  assert.match(r.stdout, /algorithm( \*)? +trial-division/);
  assert.match(r.stdout, /improvement: [+-]?\d+\.\d%/);
});

Deno.test("servo demo keeps serving the dashboard after the run until Ctrl-C", async () => {
  const [cmd, ...rest] = selfCommand();
  const child = spawnGroup(cmd, [
    ...rest,
    "demo",
    "--budget",
    "0",
    "--duration",
    "0.5",
    "--warmup",
    "0",
    "--clients",
    "2",
  ]);
  const stderr = new Response(child.process.stderr).text();
  const reader = child.process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const url = await Promise.race([
      (async () => {
        while (true) {
          const m = /Dashboard: (http:\/\/\S+)/.exec(out);
          if (m) return m[1];
          const { done, value } = await reader.read();
          if (done) throw new Error(`the demo ended early:\n${out}`);
          out += value;
        }
      })(),
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new Error(`no dashboard line:\n${out}`)), 40000);
      }),
    ]);
    assert.match(out, /servo demo: dashboard at http/);
    assert.match(out, /improvement: /);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
    const api = await fetch(`${url}api/apps/demo%2Fweb`);
    assert.equal((await api.json()).state, "done");
    child.kill("SIGINT");
    const status = await child.status;
    assert.equal(status.code, 0, await stderr);
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
    await child.stop(3000);
    await stderr;
  }
});
