/**
 * magg with real child processes: sh measure drivers and `servo driver exec`,
 * run through `servo driver magg`.
 */
import assert from "node:assert/strict";
import { childControl, maggConfig, windowSeconds } from "./mod.ts";
import { runDriverProcess, servoDriverScript, waitNoProcess } from "../../lib/sdk/testing.ts";

const SH = new URL("./testdata/sh_measure.sh", import.meta.url).pathname;

async function setup(children: string[], config = "") {
  const dir = await Deno.makeTempDir({ prefix: "servo-magg-" });
  const state = `${dir}/state`;
  await Deno.mkdir(`${dir}/measure.d`);
  await Deno.mkdir(state);
  for (const c of children) {
    await Deno.copyFile(SH, `${dir}/measure.d/${c}`);
    await Deno.chmod(`${dir}/measure.d/${c}`, 0o755);
  }
  if (config) await Deno.writeTextFile(`${dir}/config.yaml`, config);
  const env = { MAGG_TEST_DIR: state };
  return {
    dir,
    state,
    write: (name: string, text: string) => Deno.writeTextFile(`${state}/${name}`, text),
    run: (args: string[], input?: unknown, opts: Parameters<typeof runDriverProcess>[1] = {}) =>
      runDriverProcess(["driver", "magg", ...args], { cwd: dir, env, input, ...opts }),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}

Deno.test("magg helpers: child control, window, config", () => {
  const control = {
    duration: 10,
    warmup: 2,
    userdata: { "01a": { control: { duration: 20, load: { n: 1 } } }, other: 1 },
  };
  assert.deepEqual(childControl(control, "01a"), { duration: 20, warmup: 2, load: { n: 1 } });
  assert.deepEqual(childControl(control, "02b"), { duration: 10, warmup: 2 });
  assert.deepEqual(control.userdata["01a"].control.duration, 20, "the input is not changed");
  assert.equal(windowSeconds({ warmup: 1, duration: 2, delay: 3, past: 4 }), 10);
  assert.deepEqual(maggConfig(undefined), {
    grace_period: 0,
    force_cancel: false,
    cleanup_grace_period: 300,
  });
  assert.throws(() => maggConfig({ grace: 1 }), /Unknown key "grace"/);
  assert.throws(() => maggConfig({ grace_period: -1 }), /grace_period/);
});

Deno.test("magg: the sample config is valid", async () => {
  const { parseYaml } = await import("../../lib/yaml_file.ts");
  const file = new URL("./config.sample.yaml", import.meta.url).pathname;
  const data = parseYaml(await Deno.readTextFile(file), file) as { magg: Record<string, unknown> };
  assert.deepEqual(maggConfig(data.magg), {
    grace_period: 0,
    force_cancel: false,
    cleanup_grace_period: 300,
  });
});

Deno.test("magg: --info and --describe merge the children", async () => {
  const s = await setup(["01a", "02b"]);
  try {
    let r = await s.run(["--info", "app"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.result, {
      version: "1.0.0",
      has_cancel: true,
      drivers: {
        "01a": { version: "shm 1.0", has_cancel: true },
        "02b": { version: "shm 1.0", has_cancel: true },
      },
    });
    await s.write("02b.info", '{"version":"x","has_cancel":false}');
    r = await s.run(["--info", "app"]);
    assert.equal(r.result.has_cancel, false);
    await Deno.writeTextFile(`${s.dir}/config.yaml`, "magg:\n  force_cancel: true\n");
    r = await s.run(["--info", "app"]);
    assert.equal(r.result.has_cancel, true);

    r = await s.run(["--describe", "app"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.result, {
      status: "ok",
      metrics: { "01a_m": { unit: "count" }, "02b_m": { unit: "count" } },
    });
    await s.write("02b.describe", '{"status":"ok","metrics":{"01a_m":{}}}');
    r = await s.run(["--describe", "app"]);
    assert.equal(r.code, 3);
    assert.match(
      String(r.result.message),
      /Metric "01a_m" is reported by two drivers: 01a and 02b/,
    );
  } finally {
    await s.cleanup();
  }
});

Deno.test("magg: children run in parallel with their own control; metrics merged", async () => {
  const s = await setup(["01a", "02b", "03c"]);
  try {
    await s.write("01a.sleep", "1.5");
    await s.write("02b.sleep", "1.5");
    const t0 = Date.now();
    const r = await s.run(["app"], {
      metrics: ["01a_m", "02b_m"],
      control: { duration: 1, userdata: { "02b": { control: { duration: 2, load: { c: 3 } } } } },
    });
    const took = Date.now() - t0;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(took < 2900, `parallel: took ${took} ms`);
    assert.deepEqual(r.result, {
      status: "ok",
      metrics: {
        "01a_m": { value: 1, unit: "count" },
        "02b_m": { value: 1, unit: "count" },
        "03c_m": { value: 1, unit: "count" },
      },
      annotations: { "01a": "done", "02b": "done", "03c": "done" },
    });
    const inp = async (n: string) => JSON.parse(await Deno.readTextFile(`${s.state}/${n}.in`));
    assert.deepEqual(await inp("01a"), { metrics: ["01a_m"], control: { duration: 1 } });
    assert.deepEqual(await inp("02b"), {
      metrics: ["02b_m"],
      control: { duration: 2, load: { c: 3 } },
    });
    assert.deepEqual(await inp("03c"), { control: { duration: 1 } });
    // progress is the minimum over the children, messages name the driver
    assert.ok(
      r.progress.every((l) =>
        typeof l.message !== "string" || /^Driver 0[123][abc]: /.test(l.message)
      ),
    );
    assert.equal(r.progress[0].progress, 0);
    assert.ok(r.progress.some((l) => l.progress === 10));
  } finally {
    await s.cleanup();
  }
});

Deno.test("magg: a failing child fails the measurement and stops the others", async () => {
  const s = await setup(["01a", "02b"]);
  const marker = `3${Math.floor(Math.random() * 1e6)}.5`;
  try {
    await s.write("01a.sleep", marker);
    await s.write("02b.sleep", "0.3");
    await s.write(
      "02b.result",
      '{"status":"aborted","reason":"app-unavailable","message":"no web"}',
    );
    await s.write("02b.rc", "3");
    const t0 = Date.now();
    const r = await s.run(["app"], { control: { duration: 1 } });
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal(r.code, 3);
    assert.equal(r.result.status, "aborted");
    assert.match(String(r.result.message), /02b: aborted: no web/);
    assert.match(String(r.result.message), /01a: cancelled: Exiting due to signal: 10/);
    assert.deepEqual(await waitNoProcess(`sleep ${marker}`), []);
  } finally {
    await s.cleanup();
  }
});

Deno.test("magg: the overall timeout stops the children", async () => {
  const s = await setup(["01a"], "magg:\n  grace_period: 1\n  cleanup_grace_period: 1\n");
  try {
    await s.write("01a.sleep", "30");
    const t0 = Date.now();
    const r = await s.run(["app"], { control: { duration: 0.5 } });
    assert.ok(Date.now() - t0 < 8000);
    assert.equal(r.code, 3);
    assert.equal(r.result.reason, "timeout");
    assert.match(String(r.result.message), /longer than 1\.5 s/);
  } finally {
    await s.cleanup();
  }
});

Deno.test("magg: cancel is forwarded; `servo driver exec` child with its own section stops its load", async () => {
  const marker = `servo-magg-load-${crypto.randomUUID().slice(0, 8)}`;
  const s = await setup(
    ["01a"],
    `"10-exec":\n  start:\n    - name: load\n      async: true\n      shell_exec: "exec -a ${marker} sleep 60"\n`,
  );
  try {
    await Deno.writeTextFile(`${s.dir}/measure.d/10-exec`, servoDriverScript("exec"));
    await Deno.chmod(`${s.dir}/measure.d/10-exec`, 0o755);
    const sleepMarker = `3${Math.floor(Math.random() * 1e6)}.25`;
    await s.write("01a.sleep", sleepMarker);
    const r = await s.run(["app"], { control: { duration: 30 } }, {
      signal: "SIGUSR1",
      signalWhen: (l) => String(l.message ?? "").startsWith("Driver 10-exec: servo-exec: Waiting"),
    });
    assert.equal(r.code, 3, r.stderr);
    assert.deepEqual(r.result, {
      status: "cancelled",
      reason: "cancelled",
      message: "Exiting due to signal: 10",
    });
    assert.deepEqual(await waitNoProcess(marker), [], "the exec load generator was stopped");
    assert.deepEqual(
      await waitNoProcess(`sleep ${sleepMarker}`),
      [],
      "the sh child's sleep was stopped",
    );
  } finally {
    await s.cleanup();
  }
});

/** A measure.d child that says has_cancel but ignores SIGUSR1, and sleeps `marker` seconds. */
function stubbornChild(marker: string, hangIn: "--describe" | "run"): string {
  return `#!/bin/sh
case "$1" in
  --info) echo '{"version":"1","has_cancel":true}'; exit 0 ;;
  --describe) ${
    hangIn === "--describe" ? `sleep ${marker}` : "true"
  }; echo '{"status":"ok","metrics":{"s":{}}}'; exit 0 ;;
esac
cat > /dev/null
trap '' USR1
echo '{"progress": 1}'
sleep ${marker}
`;
}

Deno.test("magg: SIGTERM stops every child at once, before the agent's SIGKILL 3 s later", async () => {
  // A cancel (SIGUSR1) gives children a grace period; a SIGTERM from the
  // agent does not: the agent kills magg's group 3 s after it, and magg's
  // children lead their own groups.
  const marker = `4${Math.floor(Math.random() * 1e6)}.5`;
  const s = await setup(["01a"]);
  try {
    await Deno.writeTextFile(`${s.dir}/measure.d/20stubborn`, stubbornChild(marker, "run"));
    await Deno.chmod(`${s.dir}/measure.d/20stubborn`, 0o755);
    await s.write("01a.sleep", "30");
    const start = Date.now();
    const r = await s.run(["app"], { control: { duration: 30 } }, {
      signal: "SIGTERM",
      signalAfterMs: 2000,
    });
    const ms = Date.now() - start - 2000;
    assert.ok(ms < 3000, `magg took ${ms} ms after SIGTERM`);
    assert.equal(r.result.message, "Exiting due to signal: 15", r.stdout);
    assert.deepEqual(await waitNoProcess(`sleep ${marker}`), [], "the stubborn child was stopped");
  } finally {
    await s.cleanup();
  }
});
Deno.test("magg: SIGTERM during --describe stops the children it queries", async () => {
  const marker = `5${Math.floor(Math.random() * 1e6)}.5`;
  const s = await setup([]);
  try {
    await Deno.writeTextFile(`${s.dir}/measure.d/20stubborn`, stubbornChild(marker, "--describe"));
    await Deno.chmod(`${s.dir}/measure.d/20stubborn`, 0o755);
    const r = await s.run(["--describe", "app"], undefined, {
      signal: "SIGTERM",
      signalAfterMs: 1500,
    });
    assert.notEqual(r.code, 0);
    assert.deepEqual(await waitNoProcess(`sleep ${marker}`), [], "the queried child was stopped");
  } finally {
    await s.cleanup();
  }
});
