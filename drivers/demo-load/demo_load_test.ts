import assert from "node:assert/strict";
import { drive, servoDir } from "../../tests/fixtures/drive.ts";
import { startTarget } from "../../lib/demo/target.ts";
import { drawKey, quantile, zipfCdf } from "../../lib/demo/load.ts";
import { driver } from "./mod.ts";

Deno.test("demo-load: measures throughput and latency of the demo app", async () => {
  const target = await startTarget();
  const { dir, cleanup } = await servoDir({
    "config.yaml": `demo-load:\n  url: ${target.url}\n  clients: 4\n`,
  });
  try {
    const input = JSON.parse(
      await Deno.readTextFile(new URL("./testdata/measure.json", import.meta.url)),
    );
    const m = await drive(driver, ["app"], { cwd: dir, stdin: input });
    assert.equal(m.code, 0, JSON.stringify(m.result));
    const metrics = m.result.metrics as Record<string, { value: number }>;
    assert.ok(metrics.throughput.value > 10, `throughput ${metrics.throughput.value}`);
    assert.ok(metrics.latency_p50.value > 0);
    assert.ok(metrics.latency_p99.value >= metrics.latency_p50.value);
    assert.equal(metrics.error_rate.value, 0);
    assert.ok(m.progress.length >= 1);
    const d = await drive(driver, ["--describe", "app"], { cwd: dir });
    assert.ok("throughput" in (d.result.metrics as object));
  } finally {
    await cleanup();
    await target.close();
  }
});

Deno.test("demo-load: cancel stops the clients; a missing target aborts", async () => {
  const target = await startTarget();
  const { dir, cleanup } = await servoDir({ "config.yaml": `demo-load:\n  url: ${target.url}\n` });
  try {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 500);
    const t0 = Date.now();
    const m = await drive(driver, ["app"], {
      cwd: dir,
      stdin: { control: { duration: 20 } },
      cancel: ac.signal,
    });
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(m.result.status, "cancelled");
  } finally {
    await cleanup();
    await target.close();
  }
  const { dir: d2, cleanup: c2 } = await servoDir({
    "config.yaml": "demo-load:\n  url: http://127.0.0.1:1\n",
  });
  try {
    const r = await drive(driver, ["app"], { cwd: d2, stdin: { control: { duration: 1 } } });
    assert.deepEqual([r.result.status, r.result.reason], ["aborted", "app-unavailable"]);
  } finally {
    await c2();
  }
});

Deno.test("load generator helpers: zipf keys are skewed, quantiles are exact", () => {
  const cdf = zipfCdf(100, 1);
  assert.equal(drawKey(cdf, 0), 0);
  assert.equal(drawKey(cdf, 0.9999999), 99);
  let zeros = 0;
  for (let i = 0; i < 1000; i++) if (drawKey(cdf, (i + 0.5) / 1000) === 0) zeros++;
  assert.ok(zeros > 150 && zeros < 250, `key 0 drawn ${zeros} times`);
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2);
  assert.equal(quantile([1, 2, 3, 4], 0.99), 4);
  assert.equal(quantile([], 0.5), 0);
});
