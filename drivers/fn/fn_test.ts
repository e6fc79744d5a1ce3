import assert from "node:assert/strict";
import { drive, type DriveResult, servoDir } from "../../tests/fixtures/drive.ts";
import { driver as adjust } from "./mod.ts";
import { driver as measure } from "./measure.ts";

const perfOf = (r: DriveResult) =>
  (r.result.metrics as Record<string, { value: number }>).perf.value;

const req = (settings: Record<string, unknown>, component = "web") => ({
  application: { components: { [component]: { settings } } },
  control: {},
});

Deno.test("fn: query, adjust and measure the default function", async () => {
  const { dir, cleanup } = await servoDir({});
  try {
    const q = await drive(adjust, ["--query", "app"], { cwd: dir });
    assert.equal(q.code, 0);
    const s = (q.result.application as {
      components: { web: { settings: Record<string, { value: unknown }> } };
    }).components.web.settings;
    assert.deepEqual([s.x.value, s.y.value, s.mode.value], [1, 20, "slow"]);
    let m = await drive(measure, ["app"], { cwd: dir, stdin: {} });
    assert.equal(m.code, 0);
    assert.equal(perfOf(m), 48);
    const a = await drive(adjust, ["app"], {
      cwd: dir,
      stdin: { state: req({ x: { value: 7 }, y: { value: 60 }, mode: { value: "fast" } }) },
    });
    assert.deepEqual(a.result, { status: "ok", reason: "success" });
    m = await drive(measure, ["app"], { cwd: dir, stdin: { control: { duration: 1.2 } } });
    assert.equal(perfOf(m), 110);
    assert.equal(m.progress.length, 2);
    const d = await drive(measure, ["--describe", "app"], { cwd: dir });
    assert.deepEqual(Object.keys(d.result.metrics as object), ["perf", "calls"]);
  } finally {
    await cleanup();
  }
});

Deno.test("fn: off-grid values are bad requests; the failure region is rejected", async () => {
  const { dir, cleanup } = await servoDir({
    "config.yaml": await Deno.readTextFile(new URL("./testdata/config.yaml", import.meta.url)),
  });
  try {
    let a = await drive(adjust, ["app"], {
      cwd: dir,
      stdin: req({ threads: { value: 2.5 } }, "svc"),
    });
    assert.equal(a.result.status, "bad-request");
    a = await drive(adjust, ["app"], { cwd: dir, stdin: req({ codec: { value: "gzip" } }, "svc") });
    assert.equal(a.result.status, "bad-request");
    a = await drive(adjust, ["app"], { cwd: dir, stdin: req({ nope: { value: 1 } }, "svc") });
    assert.equal(a.result.status, "rejected");
    a = await drive(adjust, ["app"], { cwd: dir, stdin: req({ threads: { value: 15 } }, "svc") });
    assert.deepEqual([a.result.status, a.result.reason], ["rejected", "start-failed"]);
    a = await drive(adjust, ["app"], {
      cwd: dir,
      stdin: req({ threads: { value: 12 }, codec: { value: "lz4" } }, "svc"),
    });
    assert.equal(a.result.status, "ok");
    const m = await drive(measure, ["app"], { cwd: dir, stdin: {} });
    assert.equal(perfOf(m), 140);
  } finally {
    await cleanup();
  }
});

Deno.test("fn-measure: cancel ends a running measurement as cancelled; fail_at measure fails", async () => {
  const { dir, cleanup } = await servoDir({
    "config.yaml": 'fn:\n  fail_when: "x > 9"\n  noise: 0.5\n',
  });
  try {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const t0 = Date.now();
    const m = await drive(measure, ["app"], {
      cwd: dir,
      stdin: { control: { duration: 10 } },
      cancel: ac.signal,
    });
    assert.ok(Date.now() - t0 < 3000);
    assert.equal(m.result.status, "cancelled");
    await drive(adjust, ["app"], { cwd: dir, stdin: { state: req({ x: { value: 9.5 } }) } });
    const f = await drive(measure, ["app"], { cwd: dir, stdin: {} });
    assert.deepEqual([f.result.status, f.result.reason], ["failed", "app-unavailable"]);
    await drive(adjust, ["app"], { cwd: dir, stdin: { state: req({ x: { value: 7 } }) } });
    const values = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const r = await drive(measure, ["app"], { cwd: dir, stdin: {} });
      values.add(perfOf(r));
    }
    assert.ok(values.size > 1, "noise makes measurements differ");
  } finally {
    await cleanup();
  }
});
