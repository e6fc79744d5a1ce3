import assert from "node:assert/strict";
import { drive, servoDir } from "../../tests/fixtures/drive.ts";
import { startTarget } from "../../lib/demo/target.ts";
import { driver } from "./mod.ts";

const req = (settings: Record<string, unknown>, component = "app") => ({
  state: { application: { components: { [component]: { settings } } } },
});

Deno.test("demo-target: query and adjust the demo app over its admin API", async () => {
  const target = await startTarget();
  const { dir, cleanup } = await servoDir({
    "config.yaml": `demo-target:\n  url: ${target.url}\n`,
  });
  try {
    const q = await drive(driver, ["--query", "app"], { cwd: dir });
    assert.equal(q.code, 0);
    const settings = (q.result.application as {
      components: { app: { settings: Record<string, { value: unknown }> } };
    })
      .components.app.settings;
    assert.deepEqual(
      Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, v.value])),
      { workers: 1, cache_size: 0, algorithm: "trial-division", logging: "info" },
    );
    const want = JSON.parse(
      await Deno.readTextFile(new URL("./testdata/settings.json", import.meta.url)),
    );
    const a = await drive(driver, ["app"], {
      cwd: dir,
      stdin: req(Object.fromEntries(Object.entries(want).map(([k, v]) => [k, { value: v }]))),
    });
    assert.deepEqual(a.result, { status: "ok", reason: "success" });
    assert.deepEqual(target.settings(), want);
    const bad = await drive(driver, ["app"], { cwd: dir, stdin: req({ workers: { value: 99 } }) });
    assert.deepEqual([bad.result.status, bad.result.reason], ["rejected", "invalid-input"]);
    const other = await drive(driver, ["app"], { cwd: dir, stdin: req({ x: { value: 1 } }, "db") });
    assert.equal(other.result.status, "rejected");
  } finally {
    await cleanup();
    await target.close();
  }
});

Deno.test("demo-target: no URL is a config error; an unreachable app fails", async () => {
  const { dir, cleanup } = await servoDir({});
  try {
    const q = await drive(driver, ["--query", "app"], { cwd: dir });
    assert.deepEqual([q.result.status, q.result.reason], ["failed", "config-error"]);
    const u = await drive(driver, ["--query", "app"], {
      cwd: dir,
      env: { DEMO_TARGET_URL: "http://127.0.0.1:1" },
    });
    assert.deepEqual([u.result.status, u.result.reason], ["failed", "app-unavailable"]);
  } finally {
    await cleanup();
  }
});
